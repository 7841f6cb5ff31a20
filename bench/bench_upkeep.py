"""Upkeep after many small appends: what a steady trickle of tiny batches leaves behind.

    uv run python -m bench.bench_upkeep --appends 1000,3000,10000

A bronze table receives one-row appends (one Delta commit and one Parquet file each, as a
loader committing tiny files one by one would); at each count the table is copied and, on the
copy: a read of the whole table (open + DuckDB scan of the snapshot's files) before upkeep, the
product's upkeep (:func:`lakehouse.maintenance.maintain_table`: compact, checkpoint, vacuum),
and the same read after. Data under bench/out/upkeep (gitignored).

The appends are made the way delta-rs leaves them (its first commit by ``write_deltalake``; then
per append one snappy Parquet file by pyarrow and one commit file with its ``add`` action and
statistics; a checkpoint every 100 versions, delta-rs' default interval), not by
``write_deltalake`` itself: its appends slow down with the table's length (4 s for the first 300,
264 s for 3,000), so 10,000 of them would take half an hour before anything is measured.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from bench.harness import REPO, timed


def _read(path: Path) -> dict[str, float]:
    """Open the table at its latest version and count its rows through its files."""
    with timed() as t:
        table = DeltaTable(str(path))
        files = table.file_uris()
        con = duckdb.connect()
        rows = con.execute(f"select count(*) from read_parquet({files!r})").fetchall()[0][0]
        con.close()
    return {**t, "rows": float(rows), "files": float(len(files))}


CHECKPOINT_INTERVAL = 100  # delta-rs' default ``delta.checkpointInterval``


def _row(i: int) -> pa.Table:
    return pa.table(
        {
            "order_id": pa.array([i], pa.int64()),
            "amount": pa.array([i * 1.5], pa.float64()),
            "status": pa.array(["placed"], pa.string()),
        }
    )


def _append(source: Path, version: int, i: int) -> None:
    """Commit ``version``: one Parquet file holding row ``i``, as a one-row append leaves it."""
    name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
    pq.write_table(_row(i), source / name, compression="snappy")
    now = int(time.time() * 1000)
    values = {"order_id": i, "amount": i * 1.5, "status": "placed"}
    stats = {
        "numRecords": 1,
        "minValues": values,
        "maxValues": values,
        "nullCount": dict.fromkeys(values, 0),
    }
    actions = [
        {
            "commitInfo": {
                "timestamp": now,
                "operation": "WRITE",
                "operationParameters": {"mode": "Append"},
            }
        },
        {
            "add": {
                "path": name,
                "partitionValues": {},
                "size": (source / name).stat().st_size,
                "modificationTime": now,
                "dataChange": True,
                "stats": json.dumps(stats),
            }
        },
    ]
    log = source / "_delta_log" / f"{version:020d}.json"
    tmp = log.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(a) + "\n" for a in actions))
    tmp.rename(log)  # a commit file appears whole, as an object store's put
    if version % CHECKPOINT_INTERVAL == 0:
        DeltaTable(str(source), version=version).create_checkpoint()


def upkeep(out: Path, counts: list[int]) -> list[dict[str, Any]]:
    from lakehouse import Settings
    from lakehouse.maintenance import maintain_table

    work = out / "upkeep"
    shutil.rmtree(work, ignore_errors=True)
    source = work / "trickle"
    results = []
    done = 0
    append_s = 0.0
    for count in sorted(counts):
        started = time.perf_counter()
        for i in range(done, count):
            if i == 0:
                write_deltalake(str(source), _row(0), mode="append")
            else:
                _append(source, i, i)
        append_s += time.perf_counter() - started
        done = count
        root = work / f"at-{count}"
        copy = root / "dados" / "bronze" / "orders"
        shutil.copytree(source, copy)
        before = _read(copy)
        assert DeltaTable(str(copy)).version() == count - 1, count
        settings = Settings(root=root)
        with timed() as t:
            kept = maintain_table(settings, "bronze", "orders")
        after = _read(copy)
        assert after["rows"] == before["rows"] == count, (before, after, count)
        results.append(
            {
                "appends": count,
                "append_s_total": append_s,
                "read_before_s": before["wall_s"],
                "files_before": before["files"],
                "upkeep_s": t["wall_s"],
                "upkeep_cpu_s": t["cpu_s"],
                "files_removed": kept.files_removed,
                "read_after_s": after["wall_s"],
                "files_after": after["files"],
            }
        )
        shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", default="1000,3000,10000")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args()
    counts = [int(c) for c in args.appends.split(",")]
    print(json.dumps(upkeep(args.out, counts), indent=2))


if __name__ == "__main__":
    main()
