"""Upkeep after many small appends: what a steady trickle of tiny batches leaves behind.

    uv run python -m bench.bench_upkeep --appends 1000,3000,10000

A bronze table receives one-row appends (one Delta commit and one Parquet file each, as a
loader committing tiny files one by one would); at each count the table is copied and, on the
copy: a read of the whole table (open + DuckDB scan of the snapshot's files) before upkeep, the
product's upkeep (:func:`lakehouse.maintenance.maintain_table`: compact, checkpoint, vacuum),
and the same read after. Data under bench/out/upkeep (gitignored).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
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


def upkeep(out: Path, counts: list[int]) -> list[dict[str, Any]]:
    from lakehouse import Settings
    from lakehouse.maintenance import maintain_table

    work = out / "upkeep"
    shutil.rmtree(work, ignore_errors=True)
    source = work / "trickle"
    results = []
    done = 0
    append_s = 0.0
    table: DeltaTable | None = None
    for count in sorted(counts):
        started = time.perf_counter()
        for i in range(done, count):
            row = pa.table(
                {
                    "order_id": pa.array([i], pa.int64()),
                    "amount": pa.array([i * 1.5], pa.float64()),
                    "status": pa.array(["placed"], pa.string()),
                }
            )
            # one open table, brought up to date by each commit: no log replay per append
            write_deltalake(table if table is not None else str(source), row, mode="append")
            table = table or DeltaTable(str(source))
        append_s += time.perf_counter() - started
        done = count
        root = work / f"at-{count}"
        copy = root / "dados" / "bronze" / "orders"
        shutil.copytree(source, copy)
        before = _read(copy)
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
