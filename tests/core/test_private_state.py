"""SQLite stores (the run ledger, the API's idempotency keys) are readable by their owner only
(0600): lakehouse.db.private_file."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from ingest.idempotency import IdempotencyStore
from lakehouse.ledger import Ledger


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_ledger_and_its_wal_are_private(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "_lakehouse" / "ledger.sqlite")
    reader = sqlite3.connect(ledger.path)  # held open: the WAL stays while it is there
    try:
        reader.execute("select count(*) from sqlite_master").fetchall()
        ledger.start_build("x")
        assert _mode(ledger.path) == 0o600
        wal = ledger.path.with_name("ledger.sqlite-wal")
        assert wal.exists() and _mode(wal) == 0o600
    finally:
        reader.close()


def test_an_existing_ledger_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path)
    path.chmod(0o644)
    Ledger(path)
    assert _mode(path) == 0o600


def test_the_idempotency_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "api_idempotency.sqlite"
    IdempotencyStore(path, ttl_s=60)
    assert _mode(path) == 0o600
