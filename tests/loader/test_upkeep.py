"""Automatic upkeep (lakehouse.maintenance.AutoUpkeep): thresholds, a vacuum that keeps recent
versions readable, and watermark expiry that never lets a waiting file load twice."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from loader_support import bronze, csv_rows, drop
from waiting import wait_for

from lakehouse import Settings, table_path
from lakehouse.maintenance import TXN_KEEP, TXN_RETENTION, AutoUpkeep, commits_since_checkpoint
from lakehouse.storage import arrow_dataset
from loader import Loader
from loader.bronze import COMPLETE, Bronze


def _tuned(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


def _load_each(settings: Settings, table: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        drop(settings, table, f"f{i}.csv", csv_rows(10, start=i * 10))
        Loader(settings).load_pending()  # one commit, one small file each


def test_compaction_waits_for_its_threshold_and_keeps_every_row(settings: Settings) -> None:
    s = _tuned(settings, upkeep_small_files=4, txn_retention_days=0)
    _load_each(s, "t", 3)
    path = table_path(s, "bronze", "t")
    upkeep = AutoUpkeep(s)
    assert "compact" not in upkeep.upkeep_table("bronze", "t").actions  # 3 < 4
    _load_each(s, "t", 1, start=3)
    done = upkeep.upkeep_table("bronze", "t")
    assert "compact" in done.actions and done.files_compacted == 4
    assert len(DeltaTable(str(path)).file_uris()) == 1
    assert sorted(bronze(s, "t").column("id").to_pylist()) == list(range(40))


def test_checkpoint_after_enough_commits(settings: Settings) -> None:
    s = _tuned(settings, upkeep_checkpoint_commits=3, upkeep_small_files=100, txn_retention_days=0)
    _load_each(s, "t", 2)
    path = table_path(s, "bronze", "t")
    upkeep = AutoUpkeep(s)
    assert "checkpoint" not in upkeep.upkeep_table("bronze", "t").actions
    _load_each(s, "t", 1, start=2)
    assert commits_since_checkpoint(path, DeltaTable(str(path)).version()) == 3
    assert "checkpoint" in upkeep.upkeep_table("bronze", "t").actions
    assert commits_since_checkpoint(path, DeltaTable(str(path)).version()) == 0


def test_vacuum_is_scheduled_and_recent_versions_stay_readable(settings: Settings) -> None:
    s = _tuned(settings, upkeep_small_files=2, vacuum_every_hours=6, txn_retention_days=0)
    _load_each(s, "t", 3)
    path = str(table_path(s, "bronze", "t"))
    before = DeltaTable(path).version()
    now = [1_000_000.0]
    upkeep = AutoUpkeep(s, clock=lambda: now[0])
    done = upkeep.upkeep_table("bronze", "t")
    assert {"compact", "vacuum"} <= set(done.actions)
    assert done.vacuumed == 0  # the compacted files were unused for less than the retention
    # a reader of the version before the compaction still finds every file
    old = arrow_dataset(DeltaTable(path, version=before)).to_table()
    assert sorted(old.column("id").to_pylist()) == list(range(30))
    now[0] += 3600
    assert "vacuum" not in upkeep.upkeep_table("bronze", "t").actions  # not due yet
    now[0] += 6 * 3600
    assert "vacuum" in upkeep.upkeep_table("bronze", "t").actions


def _expire_soon(settings: Settings) -> Settings:
    return _tuned(settings, txn_retention_days=1 / 86400, upkeep_small_files=100)  # 1 second


def _older_than(seconds: float) -> None:
    start = time.time()
    wait_for(lambda: time.time() - start > seconds, seconds + 5, f"{seconds}s to pass")


def test_a_file_waiting_in_the_landing_zone_keeps_every_watermark(settings: Settings) -> None:
    s = _expire_soon(settings)
    _load_each(s, "t", 1)
    _older_than(1.5)  # the watermark is older than the retention now
    waiting = drop(s, "t", "waiting.csv", csv_rows(10, start=500))  # not loaded yet
    done = AutoUpkeep(s).upkeep_table("bronze", "t")
    assert "expire-watermarks" not in done.actions
    waiting.unlink()
    # the loaded file's watermark is still there: the same content again is not loaded
    drop(s, "t", "again.csv", csv_rows(10, start=0))
    summary = Loader(s).load_pending()
    assert [x.file for x in summary.skipped] == ["again.csv"]
    assert bronze(s, "t").num_rows == 10


def test_old_final_watermarks_expire_but_recent_and_partial_ones_stay(settings: Settings) -> None:
    s = _expire_soon(settings)
    _load_each(s, "t", 1)  # f0: final watermark, soon old
    table = Bronze(s, "t")
    piece = pa.table({"id": [9000], "name": ["piece"], "amount": [1.0]})
    table.append(piece, {"bat_" + "a" * 32: 1})  # a big file's first piece: not final
    _older_than(1.5)
    _load_each(s, "t", 1, start=1)  # f1: loaded just now
    path = str(table_path(s, "bronze", "t"))
    done = AutoUpkeep(s).upkeep_table("bronze", "t")
    assert "expire-watermarks" in done.actions
    after = Bronze(s, "t")
    assert after.watermark("bat_" + "a" * 32) == 1  # a piece is never forgotten
    # readers' clocks expire nothing: the property is back to "keep"
    assert DeltaTable(path).metadata().configuration[TXN_RETENTION] == TXN_KEEP
    # f1 (recent) is still recognised; f0 (older than the retention) loads again, as documented
    drop(s, "t", "f1_again.csv", csv_rows(10, start=10))
    drop(s, "t", "f0_again.csv", csv_rows(10, start=0))
    summary = Loader(s).load_pending()
    assert [x.file for x in summary.skipped] == ["f1_again.csv"]
    assert [x.file for x in summary.loaded] == ["f0_again.csv"]


def test_an_interrupted_expiry_is_undone(settings: Settings) -> None:
    s = _tuned(settings, txn_retention_days=0, upkeep_small_files=100)
    _load_each(s, "t", 1)
    path = str(table_path(s, "bronze", "t"))
    DeltaTable(path).alter.set_table_properties({TXN_RETENTION: "interval 1 seconds"})
    done = AutoUpkeep(s).upkeep_table("bronze", "t")
    assert "keep-watermarks" in done.actions
    assert DeltaTable(path).metadata().configuration[TXN_RETENTION] == TXN_KEEP
    assert Bronze(s, "t").watermark(_batch_of(s)) == COMPLETE


def _batch_of(settings: Settings) -> str:
    batch_ids = bronze(settings, "t").column("_batch_id").unique().to_pylist()
    assert len(batch_ids) == 1
    return str(batch_ids[0])


def test_a_round_stops_between_tables_and_resumes_where_it_stopped(settings: Settings) -> None:
    s = _tuned(settings, upkeep_small_files=2, txn_retention_days=0, vacuum_every_hours=1e6)
    for name in ("a", "b", "c"):
        _load_each(s, name, 2)
    upkeep = AutoUpkeep(s)
    calls = [0]

    def after_one() -> bool:
        calls[0] += 1
        return calls[0] > 1

    first = upkeep.run_due(after_one)
    assert [d.name for d in first] == ["a"]
    second = upkeep.run_due()
    assert [d.name for d in second] == ["b", "c"]  # a is compacted already: nothing due


def _publish_versions(settings: Settings, n: int, start: int = 0) -> str:
    """``n`` rewrites of gold/m, as each build that changes a whole-table mart makes one."""
    path = str(table_path(settings, "gold", "m"))
    for i in range(start, start + n):
        write_deltalake(path, pa.table({"v": [i] * 5}), mode="overwrite")
    return path


def _parquet_files(path: str) -> int:
    return sum(1 for p in Path(path).iterdir() if p.suffix == ".parquet")


def test_published_tables_keep_their_last_versions_and_disk_stays_bounded(
    settings: Settings,
) -> None:
    s = _tuned(
        settings, published_versions_kept=3, published_retention_minutes=0, upkeep_small_files=100
    )
    path = _publish_versions(s, 12)  # versions 0..11, a file each
    upkeep = AutoUpkeep(s)
    done = upkeep.upkeep_table("gold", "m")
    assert "vacuum" in done.actions and done.vacuumed == 9
    assert _parquet_files(path) == 3
    for version in (9, 10, 11):  # the last three are whole
        assert (
            arrow_dataset(DeltaTable(path, version=version)).to_table().column("v").to_pylist()
            == [version] * 5
        )
    with pytest.raises(FileNotFoundError):  # an older one fails loudly, never other rows
        arrow_dataset(DeltaTable(path, version=8)).to_table()
    _publish_versions(s, 2, start=12)
    assert "vacuum" not in upkeep.upkeep_table("gold", "m").actions  # 2 < 3 versions since
    _publish_versions(s, 1, start=14)
    assert "vacuum" in upkeep.upkeep_table("gold", "m").actions
    assert _parquet_files(path) == 3  # bounded: 15 versions written, 3 kept
    writes = [c["version"] for c in DeltaTable(path).history() if c["operation"] == "WRITE"]
    # the last three writes (the vacuum's own commits not counted) are whole
    assert [
        arrow_dataset(DeltaTable(path, version=v)).to_table().column("v")[0].as_py()
        for v in writes[:3]
    ] == [14, 13, 12]


def test_a_version_current_a_moment_ago_keeps_its_files(settings: Settings) -> None:
    s = _tuned(
        settings, published_versions_kept=2, published_retention_minutes=10, upkeep_small_files=100
    )
    path = _publish_versions(s, 6)
    now = [time.time()]
    done = AutoUpkeep(s, clock=lambda: now[0]).upkeep_table("gold", "m")
    assert "vacuum" in done.actions and done.vacuumed == 0  # all were current minutes ago
    assert _parquet_files(path) == 6
    now[0] += 3600  # an hour on: only the last two versions are kept
    done = AutoUpkeep(s, clock=lambda: now[0]).upkeep_table("gold", "m")
    assert "vacuum" in done.actions and _parquet_files(path) == 2


def test_bronze_vacuum_removes_files_a_failed_write_left_once_older_than_the_retention(
    settings: Settings,
) -> None:
    """A write that fails after delta-rs wrote some Parquet (a streamed piece whose typing fails
    late) commits nothing but leaves its files: the bronze vacuum deletes such files once they
    are older than the retention (a write in flight is younger), and keeps every row."""
    import os

    s = _tuned(settings, upkeep_small_files=100, upkeep_checkpoint_commits=2, txn_retention_days=0)
    _load_each(s, "t", 3)
    path = table_path(s, "bronze", "t")
    AutoUpkeep(s).upkeep_table("bronze", "t")  # a checkpoint: the orphans come before it
    old = path / "part-00000-orphan-old.parquet"
    new = path / "part-00000-orphan-new.parquet"
    for orphan in (old, new):
        orphan.write_bytes(b"PAR1 not committed PAR1")
    week_ago = time.time() - (s.vacuum_retention_hours + 24) * 3600
    os.utime(old, (week_ago, week_ago))
    _load_each(s, "t", 1, start=3)
    AutoUpkeep(s).upkeep_table("bronze", "t")  # another checkpoint, after the orphans
    now = [time.time() + s.vacuum_every_hours * 3600 * 2]
    done = AutoUpkeep(s, clock=lambda: now[0]).upkeep_table("bronze", "t")
    assert "vacuum" in done.actions
    assert not old.exists()  # older than the retention, in no version: deleted
    assert new.exists()  # could be a write in flight: kept
    assert sorted(bronze(s, "t").column("id").to_pylist()) == list(range(40))
