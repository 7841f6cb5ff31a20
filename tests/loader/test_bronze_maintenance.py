"""``lakehouse maintain``: compaction keeps rows and the loader's exactly-once watermarks."""

from __future__ import annotations

from deltalake import DeltaTable
from loader_support import bronze, csv_rows, drop

from lakehouse import Settings, maintain_all, run_maintain
from loader import Loader


def test_compact_checkpoint_vacuum_keep_rows_and_watermarks(settings: Settings) -> None:
    for i in range(5):
        drop(settings, "t", f"f{i}.csv", csv_rows(10, start=i * 10))
        Loader(settings).load_pending()  # one commit, one file each
    path = str(settings.dados / "bronze" / "t")
    assert len(DeltaTable(path).file_uris()) == 5

    assert run_maintain(settings) == 0

    table = DeltaTable(path)
    assert len(table.file_uris()) == 1
    log_dir = settings.dados / "bronze" / "t" / "_delta_log"
    checkpoints = sorted(log_dir.glob("*.checkpoint.parquet"))
    assert checkpoints
    # as if the log had been cleaned up: only the checkpoint knows the watermarks now
    upto = int(checkpoints[-1].name.split(".")[0])
    for entry in log_dir.glob("*.json"):
        if int(entry.name.split(".")[0]) <= upto:
            entry.unlink()
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == list(range(50))
    # the watermarks survived: the same content again is recognised, not loaded
    drop(settings, "t", "again.csv", csv_rows(10, start=20))
    summary = Loader(settings).load_pending()
    assert [s.file for s in summary.skipped] == ["again.csv"]
    assert bronze(settings, "t").num_rows == 50
    done, failed = maintain_all(settings)
    assert failed == [] and [u.name for u in done] == ["t"]
