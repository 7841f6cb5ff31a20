"""A folder of ``raw/`` whose name is no table name (``raw/Bad-Name/x.csv``), or a file directly
in ``raw/``, is never loaded: ``lakehouse status`` says so and why, in
``layout.check_table_name``'s words (the API refuses the name by the same pattern), and does not
count its files as pending; the loader logs the same words. *Before:* the loader ignored them (a
log line at each scan) and ``lakehouse status`` listed them as pending files, for ever (review
finding revl 05)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from loader_support import drop

from ingest import create_app
from lakehouse import Settings
from lakehouse.layout import TABLE_NAME
from lakehouse.status import collect_status, print_status
from loader import Loader

REASON = (
    "raw/Bad-Name/ is not read: invalid table name 'Bad-Name': must match ^[a-z][a-z0-9_]{0,62}$ "
    "(lowercase letter, then lowercase letters, digits or '_', at most 63 characters)"
)


def test_a_folder_that_is_no_table_is_reported_not_pending(
    settings: Settings, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = settings.raw_dir / "Bad-Name"
    (bad / "sub").mkdir(parents=True)
    (bad / "x.csv").write_text("id\n1\n")
    (bad / "sub" / "y.csv").write_text("id\n2\n")
    (settings.raw_dir / "loose.csv").write_text("id\n3\n")
    drop(settings, "t", "a.csv", "id\n4\n")

    with caplog.at_level(logging.WARNING, logger="loader.landing"):
        summary = Loader(settings).load_pending()

    assert [f.file for f in summary.loaded] == ["a.csv"]
    assert REASON in caplog.messages
    assert (bad / "x.csv").exists() and (settings.raw_dir / "loose.csv").exists()
    status = collect_status(settings)
    assert status["pending_files"] == []
    assert status["unread_in_landing"] == [
        {"path": "Bad-Name", "files": 2, "reason": REASON},
        {
            "path": "loose.csv",
            "files": 1,
            "reason": "raw/loose.csv is not read: files go in raw/<table>/",
        },
    ]
    print_status(settings)
    out = capsys.readouterr().out
    assert f"Pending files: 0\n  {REASON} (2 file(s))\n" in out

    # the API refuses that name by the same rule (FastAPI's words for its path pattern)
    api_settings = settings.model_copy(update={"api_ready_requires_loader": False})
    with TestClient(create_app(api_settings)) as api:
        answer = api.post("/v1/tables/Bad-Name/records", json=[{"id": 1}])
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["ctx"]["pattern"] == TABLE_NAME.pattern
    assert TABLE_NAME.pattern in REASON
