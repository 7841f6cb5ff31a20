"""A JSON string refused by a column that takes strings (date, timestamp, time, uuid) for its
shape was told "a JSON string fits text, date and timestamp columns only", untrue there: the
sender would send a number. The clause is for a number or boolean column only (review finding
auditi 02, LOW).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from adversary_support import declare, lakehouse
from fastapi.testclient import TestClient

from ingest.app import create_app
from lakehouse.settings import Settings

CLAUSE = "a JSON string fits text, date and timestamp columns only"
CASES = {  # column, declared type, body, whether the clause is true
    "date": ("d", "date", b'{"d": "2024-01-02 13:45:00"}\n', False),
    "timestamp": ("ts", "timestamp", b'{"ts": "2024-01-02T03:04:05Z"}\n', False),
    "time": ("tm", "time", b'{"tm": "25:99:00"}\n', False),
    "uuid": ("u", "uuid", b'{"u": "not-a-uuid"}\n', False),
    "bigint": ("n", "bigint", b'{"n": "5"}\n', True),
    "boolean": ("b", "boolean", b'{"b": "true"}\n', True),
}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    return lakehouse(tmp_path)


@pytest.mark.parametrize("case", list(CASES))
def test_the_misfit_reason_is_true_for_the_columns_type(settings: Settings, case: str) -> None:
    column, data_type, body, clause = CASES[case]
    declare(settings, "t", {column: data_type})
    with TestClient(create_app(settings)) as client:
        r = client.post(
            "/v1/tables/t/records", content=body, headers={"content-type": "application/x-ndjson"}
        )
    assert r.status_code == 422, r.text
    msg = r.json()["detail"][0]["msg"]
    assert "does not fit" in msg and (CLAUSE in msg) == clause, msg
