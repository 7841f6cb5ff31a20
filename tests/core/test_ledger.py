"""The run ledger's state machine, on a real SQLite file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lakehouse import Ledger


def test_a_batch_goes_from_accepted_to_published(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.accept("bat_a", "orders", source_file="bat_a.ndjson", records=3, bytes=10)
    assert ledger.get_batch("bat_a").state == "accepted"  # type: ignore[union-attr]
    ledger.mark_loaded("orders", 4, {"bat_a": ("bat_a.ndjson", 3)})
    build = ledger.start_build("source:bronze.orders+")
    assert ledger.mark_published(build, {"orders": 3}) == 0  # the build read an older version
    assert ledger.mark_published(build, {"orders": 4}) == 1
    batch = ledger.get_batch("bat_a")
    assert batch is not None
    assert (batch.state, batch.bronze_version, batch.build_id) == ("published", 4, build)


def test_a_failed_batch_is_healed_by_a_later_publish(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.mark_loaded("orders", 0, {"bat_a": ("a.csv", 1)})
    ledger.mark_failed("bat_a", "orders", "a.csv", {"reason": "build failed after 3 attempts"})
    assert ledger.get_batch("bat_a").state == "failed"  # type: ignore[union-attr]
    build = ledger.start_build(None)
    assert ledger.mark_published(build, {"orders": 0}) == 1
    batch = ledger.get_batch("bat_a")
    assert batch is not None
    assert (batch.state, batch.error) == ("published", None)


def test_a_quarantined_batch_is_never_published(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.accept("bat_q", "orders")
    ledger.mark_quarantined("bat_q", "orders", "q.csv", {"kind": "empty"})
    build = ledger.start_build(None)
    assert ledger.mark_published(build, {"orders": 10}) == 0
    batch = ledger.get_batch("bat_q")
    assert batch is not None
    assert (batch.state, batch.error) == ("quarantined", {"kind": "empty"})


def test_opening_the_ledger_again_keeps_another_process_off_its_wal(tmp_path: Path) -> None:
    """A second Ledger in a process that holds a connection (a service) must not drop that
    connection's locks: another process closing its own connection then deletes the WAL the
    service still writes to (seen as 'disk I/O error' under lakehouse up + lakehouse status)."""
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    keep = ledger.db.keep_open()  # what a running service holds
    assert keep is not None
    ledger.accept("bat_" + "1" * 32, "orders")
    Ledger(path)  # the same process opens the store again (a command, a metrics scrape)
    wal = path.with_name(path.name + "-wal")
    other = subprocess.run(
        [sys.executable, "-c", _READ_AND_CLOSE, str(path)], capture_output=True, text=True
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "1"
    assert wal.exists()  # not deleted under the service's open connection
    ledger.accept("bat_" + "2" * 32, "orders")  # the service writes on, no disk I/O error
    assert Ledger(path).count_by_state() == {"accepted": 2}
    keep.close()


_READ_AND_CLOSE = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
    " print(c.execute('select count(*) from batches').fetchone()[0]); c.close()"
)
