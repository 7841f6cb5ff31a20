"""What the loader's start deletes from bronze's folders (``loader.own_files.uncommitted``):
only files of its own writes that no commit took, never a file a version or a time travel
reads, nor another writer's."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from deltalake import DeltaTable
from loader_support import bronze, csv_rows, drop

from lakehouse import Settings
from lakehouse.ledger import Ledger
from loader import Loader, own_files


def _own_name() -> str:
    return f"{own_files.PREFIX}{uuid.uuid4()}-c000.snappy.parquet"


def _aged(path: Path, seconds: float) -> Path:
    path.write_bytes(b"PAR1 never committed PAR1")
    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


def _killed_before(settings: Settings) -> None:
    """The lock file as a loader killed while holding it leaves it: its pid in it (a loader
    that lets go empties it; the real kill: tests/loader/test_bronze_exactly_once.py)."""
    settings.meta_dir.mkdir(parents=True, exist_ok=True)
    (settings.meta_dir / "loader.lock").write_text("4242")


def _load_three(settings: Settings) -> Path:
    for i in range(3):
        drop(settings, "t", f"a{i}.csv", csv_rows(5, start=5 * i))
        Loader(settings).load_pending()
    return settings.dados / "bronze" / "t"


def test_only_uncommitted_own_files_go_tombstoned_ones_stay(settings: Settings) -> None:
    folder = _load_three(settings)
    committed = sorted(p.name for p in folder.glob(f"{own_files.PREFIX}*"))
    assert len(committed) == 3  # each load wrote one file of its own
    DeltaTable(str(folder)).optimize.compact()  # they leave the current version: tombstones
    orphan = _aged(folder / _own_name(), 60)
    theirs = _aged(folder / f"part-00000-{uuid.uuid4()}-c000.snappy.parquet", 60)  # delta-rs's
    too_old = _aged(folder / _own_name(), own_files.TOMBSTONE_RETENTION_S + 3600)
    written_later = _aged(folder / _own_name(), -3600)  # after the start: not the sweep's

    _killed_before(settings)
    Loader(settings).load_pending()  # nothing to load: the start's sweep alone

    assert not orphan.exists()
    assert all((folder / name).exists() for name in committed)  # version 2 reads them
    assert theirs.exists() and too_old.exists() and written_later.exists()
    old = DeltaTable(str(folder), version=2).to_pyarrow_table()  # before the compaction
    assert sorted(old.column("id").to_pylist()) == list(range(15))
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == list(range(15))


def test_a_folder_without_a_commit_loses_every_own_file(settings: Settings) -> None:
    """``kill -9`` during the write that makes a table: a folder, its file, no log."""
    folder = settings.dados / "bronze" / "fresh"
    folder.mkdir(parents=True)
    orphan = _aged(folder / _own_name(), 60)
    (folder / "_delta_log").mkdir()  # delta-rs may have made it, empty
    _killed_before(settings)
    Loader(settings).load_pending()
    assert not orphan.exists()


def test_after_a_loader_that_let_go_nothing_is_swept(settings: Settings) -> None:
    """A loader that lets go of the lock empties the lock file: its failed writes deleted their
    own files, so the next start does not read every table's log looking for any."""
    folder = _load_three(settings)
    assert (settings.meta_dir / "loader.lock").read_text() == ""
    placed = _aged(folder / _own_name(), 60)  # not a killed write's: no one left it so
    Loader(settings).load_pending()
    assert placed.exists()
    _killed_before(settings)
    Loader(settings).load_pending()
    assert not placed.exists()
    assert (settings.meta_dir / "loader.lock").read_text() == ""


def test_a_table_naming_a_retention_it_cannot_read_is_left_alone(settings: Settings) -> None:
    folder = _load_three(settings)
    table = DeltaTable(str(folder))
    table.alter.set_table_properties({"delta.deletedFileRetentionDuration": "interval 1 fortnight"})
    orphan = _aged(folder / _own_name(), 60)
    assert own_files.uncommitted(folder, time.time()) == []
    table.alter.set_table_properties({"delta.deletedFileRetentionDuration": "interval 2 hours"})
    assert own_files.uncommitted(folder, time.time()) == [orphan]
    _aged(orphan, 3 * 3600)  # past the table's tombstone retention: the vacuum's
    assert own_files.uncommitted(folder, time.time()) == []


def test_a_locking_loader_sweeps_nothing_while_leased_workers_hold_leases(
    settings: Settings,
) -> None:
    """Leased workers (``loader_lease_s > 0``) take no lock: a worker's file may be written and
    not yet committed when a locking loader starts after a killed one. Its sweep would delete
    that file (the worker's commit then names a file that is gone), so while the ledger holds
    any lease, live or never given back, the sweep deletes nothing; once the leases are given
    back it sweeps as before."""
    folder = _load_three(settings)
    in_flight = _aged(folder / _own_name(), 60)  # a worker's write, its commit to come
    ledger = Ledger.of(settings)
    assert ledger.take_lease("t", "host:99:abc", 30.0, now=time.time())
    _killed_before(settings)
    Loader(settings).load_pending()
    assert in_flight.exists()
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == list(range(15))

    ledger.release_lease("t", "host:99:abc")  # the worker stopped in good order
    _killed_before(settings)
    Loader(settings).load_pending()
    assert not in_flight.exists()  # a file no one will commit: swept as before
