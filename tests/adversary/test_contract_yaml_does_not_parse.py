"""A dbt YAML file that does not parse and may declare the ``bronze`` source leaves every table's
contract unknown (its tables may be past the error): the API refuses writes (503, naming the
file and the parser's words), the loader holds the files (left in the landing zone, neither
loaded nor quarantined) and ``lakehouse status`` says why, until it parses. *Before:* (until
session 12) such a file was skipped without a word: its ``not_null`` checks and declared types
vanished, the API took (202) and the loader loaded what the contract forbids
(``lakehouse.contracts.ContractsUnreadable``; fixn.md 1).
"""

from __future__ import annotations

import logging
import threading

import httpx
import pytest
from adversary_support import declare
from waiting import wait_for

from lakehouse.contracts import load_contracts
from lakehouse.layout import raw_dir, table_path
from lakehouse.settings import Settings
from lakehouse.status import collect_status
from loader import Loader

#: the contract of ``t`` (``n bigint not null``, quarantine) with a second table whose columns'
#: list is never closed: the whole file does not parse
BROKEN = (
    "version: 2\nsources:\n  - name: bronze\n    tables:\n"
    "      - name: t\n        meta: {on_mismatch: quarantine}\n"
    "        columns:\n          - {name: n, data_type: bigint, tests: [not_null]}\n"
    "      - name: u\n        columns: [unclosed\n"
)


def _write(settings: Settings, text: str, name: str = "t.yml") -> None:
    (settings.dbt_project_dir / "models" / name).write_text(text)


def _drop(settings: Settings, table: str, name: str, data: bytes) -> None:
    folder = raw_dir(settings, table)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def _post(api: httpx.Client, table: str, body: bytes) -> httpx.Response:
    return api.post(
        f"/v1/tables/{table}/records",
        content=body,
        headers={"content-type": "application/x-ndjson"},
    )


def test_a_broken_contract_refuses_writes_and_holds_files(
    one_lakehouse: Settings, api: httpx.Client
) -> None:
    settings = one_lakehouse
    _write(settings, BROKEN)
    # what the contract forbids: a text in the bigint, a missing required column
    for table, body in (("t", b'{"n": "x"}\n'), ("t", b'{"m": 1}\n'), ("other", b'{"a": 1}\n')):
        r = _post(api, table, body)
        assert r.status_code == 503, (table, r.status_code, r.text)
        detail = r.json()["detail"]
        assert "t.yml does not parse" in detail, detail
        assert "line 11, column 1" in detail, detail  # the parser's place: past the last line
        assert r.headers["retry-after"]
    r = api.post(
        "/v1/tables/t/files?filename=a.csv",
        content=b"n\nx\n",
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == 503, r.text
    listed = api.get("/v1/tables").json()
    assert len(listed["unreadable_contracts"]) == 1, listed
    assert "t.yml does not parse" in listed["unreadable_contracts"][0]

    _drop(settings, "t", "a.csv", b"n\nx\n")
    _drop(settings, "t", "b.csv", b"m\n1\n")
    summary = Loader(settings).load_pending()
    assert sorted(h.file for h in summary.held) == ["a.csv", "b.csv"], summary
    assert "t.yml does not parse" in summary.held[0].reason
    assert not summary.loaded and not summary.quarantined
    assert sorted(p.name for p in raw_dir(settings, "t").iterdir()) == ["a.csv", "b.csv"]
    assert not (table_path(settings, "bronze", "t") / "_delta_log").exists()
    assert not (settings.quarantine_dir / "t").exists()
    status = collect_status(settings)
    assert sorted(status["pending_files"]) == ["t/a.csv", "t/b.csv"]
    assert [u.split(" does not parse")[0] for u in status["unreadable_contracts"]] == [
        "dbt_project/models/t.yml"
    ], status["unreadable_contracts"]

    # fixed: the contract holds again, for the API and for the held files
    _write(settings, BROKEN.replace("[unclosed\n", "[{name: k}]\n"))
    assert set(load_contracts(settings)) == {"t", "u"}
    summary = Loader(settings).load_pending()
    assert sorted((q.file, q.kind) for q in summary.quarantined) == [
        ("a.csv", "type_conflict"),
        ("b.csv", "required"),
    ], summary


def test_held_files_load_once_the_yaml_parses(
    one_lakehouse: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A running loader holds the files, then loads them once the file parses (without
    waiting for its periodic rescan of the landing zone)."""
    settings = one_lakehouse
    _write(settings, BROKEN)
    _held_then_loaded(settings, caplog, drop=("a.csv", b"n\n7\n"))


def _held_then_loaded(
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    *,
    drop: tuple[str, bytes] | None = None,
    refresh_s: float | None = None,
) -> None:
    """A running loader holds table t's file (``drop``, else one in its raw folder already),
    then loads it once the YAML parses again, under the rescan's 60 s: only the held files'
    retry (each second) can load it so soon. ``refresh_s``: how soon the contracts' store
    sees a change."""
    stop = threading.Event()
    loader = Loader(settings)
    if refresh_s is not None:
        loader._contracts.refresh_s = refresh_s
    worker = threading.Thread(target=loader.run, args=(stop,), daemon=True)
    caplog.set_level(logging.WARNING, logger="loader.loading")
    caplog.clear()  # words of an earlier part of the test
    worker.start()
    try:
        if drop is not None:
            _drop(settings, "t", *drop)
        wait_for(lambda: "held in the landing zone" in caplog.text, 30, "the file held")
        assert any(raw_dir(settings, "t").iterdir())
        _write(settings, BROKEN.replace("[unclosed\n", "[{name: k}]\n"))
        log = table_path(settings, "bronze", "t") / "_delta_log"
        wait_for(log.is_dir, 30, "the held file loaded")
    finally:
        stop.set()
        worker.join(timeout=30)


def test_a_broken_yaml_that_names_no_bronze_source_holds_nothing(
    one_lakehouse: Settings, api: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A model's YAML that does not parse and cannot name the source (no ``bronze``, no
    escape that could spell it) declares no contract: it is logged, nothing is held."""
    settings = one_lakehouse
    declare(settings, "t", {"n": "bigint"})
    _write(settings, "version: 2\nmodels:\n  - name: stg_t\n    columns: [unclosed\n", "m.yml")
    with caplog.at_level(logging.WARNING, logger="lakehouse.contracts"):
        assert set(load_contracts(settings)) == {"t"}
    assert "m.yml does not parse" in caplog.text
    assert _post(api, "t", b'{"n": "x"}\n').status_code == 422
    assert _post(api, "t", b'{"n": 1}\n').status_code == 202


def test_a_yaml_broken_during_a_pass_holds_its_files(
    one_lakehouse: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The YAML stops parsing after a pass has begun (its first look found the contracts
    readable), before the file's reading asks for them: the file is held as at a pass's start
    (named in the summary, tried again each second), not merely left for the loader's periodic
    rescan a minute later. *Before:* (until session 13) it was left without a word in the
    summary, and a running loader took it again only at its next rescan (60 s)."""
    settings = one_lakehouse
    declare(settings, "t", {"n": "bigint"})
    _drop(settings, "t", "a.csv", b"n\n7\n")
    reading = Loader._reading
    broken = threading.Event()

    def break_first(self: Loader, table: str):  # type: ignore[no-untyped-def]
        if not broken.is_set():
            broken.set()
            _write(settings, BROKEN)
        return reading(self, table)

    monkeypatch.setattr(Loader, "_reading", break_first)
    loader = Loader(settings)
    loader._contracts.refresh_s = 0.0  # the change seen at once (a pass longer than 2 s)
    summary = loader.load_pending()
    assert broken.is_set()
    assert [(h.table, h.file) for h in summary.held] == [("t", "a.csv")], summary
    assert "t.yml does not parse" in summary.held[0].reason
    assert not summary.loaded and not summary.quarantined
    assert (raw_dir(settings, "t") / "a.csv").exists()

    # a running loader: held, then loaded within seconds of the YAML parsing again
    declare(settings, "t", {"n": "bigint"})  # readable again; broken anew by the next reading
    broken.clear()
    _held_then_loaded(settings, caplog, refresh_s=0.0)


_DECLARING = (
    "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n        columns:\n"
    "          - {name: n, data_type: bigint, tests: [not_null]}\n"
)


@pytest.mark.parametrize(
    ("encoding", "said"),
    [("utf-16", "UTF-16 text"), ("utf-32", "UTF-32 text"), ("utf-16-be", "#x0000")],
)
def test_a_utf16_yaml_declaring_the_source_holds_the_files(
    one_lakehouse: Settings, api: httpx.Client, encoding: str, said: str
) -> None:
    """A dbt YAML saved as UTF-16 or UTF-32 (PowerShell 5's ``>``, Notepad's "Unicode") that
    declares the ``bronze`` source does not parse (dbt reads YAML as UTF-8), and may declare
    any table: held like any such file, its encoding named when its byte-order mark says it.
    *Before:* (until session 13) its letters, NULs apart (``b\\0r\\0o...``), were taken for a
    file naming no source: the contract vanished without a word, a text in the ``bigint`` and a
    row without the ``not_null`` column got 202 and loaded (review finding revl 07)."""
    settings = one_lakehouse
    (settings.dbt_project_dir / "models" / "t.yml").write_bytes(_DECLARING.encode(encoding))
    r = _post(api, "t", b'{"n": "x"}\n')
    assert r.status_code == 503, (r.status_code, r.text)
    assert "t.yml" in r.json()["detail"] and said in r.json()["detail"], r.json()["detail"]
    _drop(settings, "t", "a.csv", b"m\n1\n")
    summary = Loader(settings).load_pending()
    assert [h.file for h in summary.held] == ["a.csv"], summary
    assert not summary.loaded and not summary.quarantined
