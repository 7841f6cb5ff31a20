"""What each column of ``bench_build.scale``'s ``stg_orders`` costs the publish's ``COPY``.

    uv run python -m bench.ab_scale --before <tree> --rounds 1 --variants plain --keep
    uv run python -m bench.copy_columns [--rounds 3]

The warehouse the last ``ab_scale`` child left (``bench/out/build/ab-scale``) is copied aside
and opened read-only, the table warmed by one scan. Each round alternates, in this process:
the ``COPY`` of the whole row with the publisher's options at 10M rows (Snappy, Parquet v1,
dictionary limit 256, ``file_size_bytes`` 128MB, as ``transform.delta_files.write_files``),
the same ``COPY`` of each column alone, and for each text column of few values: a scan that
hashes it (what reading it costs) and its ``COPY`` cast to an ``ENUM`` of its values (DuckDB
then writes the dictionary it has; other file bytes: no bloom filter). Printed: process CPU
seconds (every thread), median (min-max), and the bytes written.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parents[1]
SCALE = HERE / "bench" / "out" / "build" / "ab-scale" / "dados" / "warehouse.duckdb"
WORK = HERE / "bench" / "out" / "copy-columns"
RELATION = '"warehouse"."main"."stg_orders"'
OPTIONS = (
    "format parquet, compression snappy, parquet_version v1, dictionary_size_limit 256,"
    " file_size_bytes '128MB', filename_pattern 'part-{uuid}'"
)


def steps(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, bool]]:
    """Each step's query, and whether it is ``COPY``'d (else only run)."""
    probe = con.sql(f"select * from {RELATION} limit 0")
    out = {"whole row": (f"select * from {RELATION}", True)}
    for column, dtype in zip(probe.columns, probe.types, strict=True):
        name = '"' + column.replace('"', '""') + '"'
        out[column] = (f"select {name} from {RELATION}", True)
        if str(dtype) != "VARCHAR":
            continue
        values = con.execute(f"select distinct {name} from {RELATION} limit 257").fetchall()
        if len(values) > 256 or any(v is None for (v,) in values):
            continue
        members = ", ".join("'" + str(v).replace("'", "''") + "'" for (v,) in values)
        out[f"{column}: hashed"] = (f"select sum(hash({name})) from {RELATION}", False)
        out[f"{column}: as ENUM"] = (
            f"select {name}::enum({members}) as {name} from {RELATION}",
            True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    shutil.copy(SCALE, WORK / "warehouse.duckdb")
    con = duckdb.connect(str(WORK / "warehouse.duckdb"), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"select count(*), sum(hash(t)) from {RELATION} as t").fetchall()  # warm
    todo = steps(con)
    cpu: dict[str, list[float]] = {name: [] for name in todo}
    written: dict[str, int] = {}
    for _ in range(args.rounds):
        for i, (name, (query, copied)) in enumerate(todo.items()):
            folder = WORK / f"step-{i}"
            shutil.rmtree(folder, ignore_errors=True)
            started = time.process_time()
            if copied:
                con.execute(f"copy ({query}) to '{folder}' ({OPTIONS})").fetchall()
            else:
                con.execute(query).fetchall()
            cpu[name].append(time.process_time() - started)
            written[name] = sum(f.stat().st_size for f in folder.glob("*.parquet"))
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{RELATION}: medians of {args.rounds} rounds, CPU s (min-max), MB written")
    for name, spent in cpu.items():
        mb = f"{written[name] / 1e6:.1f}" if written[name] else "-"
        print(
            f"  {name:28s} {statistics.median(spent):.3f} ({min(spent):.3f}-{max(spent):.3f})  {mb}"
        )
    con.close()
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
