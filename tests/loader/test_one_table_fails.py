"""One table's unexpected failure (its bronze table unreadable) does not keep the other
tables' files from loading: its files stay in the landing zone, held with the true reason,
and load once the table is readable again. *Before:* ``load_pending`` stopped at the first
table that raised, and no later table's file was loaded."""

from __future__ import annotations

import pytest
from loader_support import bronze, drop

from app.service import run_load
from lakehouse import Settings
from lakehouse.layout import table_path
from loader import Loader


def test_a_table_whose_bronze_is_corrupt_does_not_stop_the_others(settings: Settings) -> None:
    drop(settings, "a", "first.csv", "id\n1\n")
    Loader(settings).load_pending()
    log = table_path(settings, "bronze", "a") / "_delta_log" / "00000000000000000000.json"
    good = log.read_bytes()
    log.write_bytes(b"this is no Delta log\n")  # a real failure: delta-rs cannot read the table
    waiting = drop(settings, "a", "second.csv", "id\n2\n")
    for table in ("b", "c"):  # tables sorted after "a": they come after it in the pass
        drop(settings, table, "x.csv", "id\n3\n")

    summary = Loader(settings).load_pending()

    assert sorted((f.table, f.file) for f in summary.loaded) == [("b", "x.csv"), ("c", "x.csv")]
    assert [(h.table, h.file) for h in summary.held] == [("a", "second.csv")]
    reason = summary.held[0].reason
    assert reason.startswith("loading bronze 'a' failed; left for the next pass: ")
    assert len(reason) > len("loading bronze 'a' failed; left for the next pass: ")
    assert waiting.exists() and not summary.quarantined
    assert bronze(settings, "b")["id"].to_pylist() == [3]

    log.write_bytes(good)  # the table readable again: the held file loads
    again = Loader(settings).load_pending()
    assert [(f.table, f.file) for f in again.loaded] == [("a", "second.csv")]
    assert sorted(bronze(settings, "a")["id"].to_pylist()) == [1, 2]


def test_lakehouse_load_exits_1_when_a_table_failed(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lakehouse load`` (with its build) exits 1 and names the held file when the only
    table with files failed, as when the contracts do not parse. *Before:* a pass that loaded
    nothing exited 0 whatever it held."""
    log = table_path(settings, "bronze", "a") / "_delta_log" / "00000000000000000000.json"
    log.parent.mkdir(parents=True)
    log.write_bytes(b"this is no Delta log\n")  # no batch of it in the ledger: no build owed
    drop(settings, "a", "second.csv", "id\n2\n")

    assert run_load(settings, build=True) == 1
    out = " ".join(capsys.readouterr().out.split())  # as one line, whatever the wrapping
    assert "1 file(s) held in the landing zone (a)" in out
    assert "loading bronze 'a' failed; left for the next pass: " in out
