"""NDJSON → bronze: the work the loader cannot skip, stage by stage, beside the raw limit's.

    uv run python -m bench.json_floor --rows 1000000 --repeat 3

Each stage is run alone in this process (CPU seconds of all its threads, wall seconds), round
by round (every stage once, then again), on the bench's orders file (``bench_loader.generate``):

* the raw limit's two halves: DuckDB's typed ``read_json`` to Arrow, ``write_deltalake`` of it;
* what the loader must do for the same file: DuckDB's read of every value as JSON text (the
  product's ``readers._json_reading``, with its key sample and detection), the number prefilter
  (``readers._needs_literals``: Hyperscan; RE2 beside it), the content hash (``landing.identify``),
  both in one read of the file as the loader runs them on a big file (``Identifying.claim``)
  and the Delta write of bronze's own rows (the columns as the loader types them, with
  ``_ingested_at``, ``_batch_id``, ``_source_file``, read back from a loader run's table), by
  ``write_deltalake`` (a new table's first commit) and as the loader appends them to an existing
  table (``loader.own_files.append``: pyarrow's Parquet writer and one add action);
* the whole loader (``bench_loader.loader_run``) and the raw limit (``bench_loader.raw_limit``);
* other readers of the same file into typed Arrow columns, for the record (``--readers``):
  Arrow C++'s ``pyarrow.json.read_json`` (strings kept as strings by an explicit schema, so no
  timestamp is guessed) and polars' ``read_ndjson``.

The *floor* is the sum of the loader's unavoidable stages; raw / floor is the best share of the
raw limit the loader could reach by CPU if everything else it does (inference, typing, the
ledger, pieces) cost nothing. The *typed floor* puts the raw limit's own typed read in place of
the JSON text read (a reader that cost no more than DuckDB's typed one, and needed no typing
after it): what is left is the prefilter, the hash and bronze's write. Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, write_deltalake

from bench.bench_loader import generate, loader_run, raw_limit
from bench.harness import timed
from lakehouse import Settings
from lakehouse.layout import BATCH_ID_COLUMN, SOURCE_FILE
from loader import own_files, readers
from loader.landing import Identifying, identify


def _drain(reader: pa.RecordBatchReader) -> pa.Table:
    return reader.read_all()


def bronze_rows(path: Path, work: Path) -> pa.Table:
    """The rows a loader run writes to bronze for ``path`` (dictionary columns as written)."""
    root = work / "floor-lakehouse"
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings(root=root)
    inbox = settings.raw_dir / "orders"
    inbox.mkdir(parents=True)
    os.link(path, inbox / path.name)
    from loader import Loader

    Loader(settings).load_pending()
    files = sorted((settings.dados / "bronze" / "orders").glob("*.parquet"))
    table = pa.concat_tables(
        pq.read_table(f, read_dictionary=[BATCH_ID_COLUMN, SOURCE_FILE]) for f in files
    )
    shutil.rmtree(root, ignore_errors=True)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--readers", action="store_true", help="Arrow's and polars' reads too")
    args = parser.parse_args()
    out = args.out.resolve()
    path = generate(out, args.rows, "ndjson")
    batch_rows = Settings().read_batch_rows
    work = out / "floor"
    work.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    typed = _drain(con.sql(f"select * from read_json('{path}')").to_arrow_reader(batch_rows))
    bronze = bronze_rows(path, work)
    target = work / "delta"

    def write(table: pa.Table) -> Callable[[], object]:
        def run() -> object:
            shutil.rmtree(target, ignore_errors=True)
            reader = pa.RecordBatchReader.from_batches(
                table.schema, table.to_batches(max_chunksize=batch_rows)
            )
            write_deltalake(str(target), reader, mode="append")
            return None

        return run

    appended = work / "delta-own"  # an existing table the bronze rows are appended to
    shutil.rmtree(appended, ignore_errors=True)
    write_deltalake(str(appended), bronze.slice(0, 1), mode="append")

    def own_file() -> object:
        table = DeltaTable(str(appended))
        assert own_files.fits(table, bronze), "the bronze rows no longer fit own files"
        own_files.append(table, appended, bronze, CommitProperties())
        return None

    def search_and_hash() -> object:
        """The number search feeding the content hash, as the loader runs them on a big file:
        the file read once (``landing.Identifying.claim``, ``readers._feeding_needs_literals``)."""
        identifying = Identifying("orders", path)
        with path.open("rb", buffering=0) as f:
            feed = identifying.claim(f.fileno())
            assert feed is not None
            found = readers._feeding_needs_literals(f.fileno(), feed, readers._SCAN_THREADS)
        return found, identifying.result()

    def json_text() -> object:
        _keys, batches = readers._json_reading(con, path, "ndjson", batch_rows, False)
        return sum(b.num_rows for b in batches)

    stages: dict[str, Callable[[], object]] = {
        "raw: DuckDB typed read_json → Arrow": lambda: _drain(
            con.sql(f"select * from read_json('{path}')").to_arrow_reader(batch_rows)
        ),
        "raw: write_deltalake of it": write(typed),
        "loader: DuckDB read of every value as JSON text": json_text,
        "loader: number prefilter (Hyperscan)": lambda: readers._needs_literals(path),
        "loader: number prefilter (RE2, before)": lambda: readers._needs_literals_re2(path),
        "loader: content hash (BLAKE3)": lambda: identify(Settings(root=work), "orders", path),
        "loader: number prefilter + content hash, one read (as the loader runs them)": (
            search_and_hash
        ),
        "loader: write_deltalake of bronze's rows": write(bronze),
        "loader: bronze's rows appended as our own file": own_file,
        "raw limit, whole (bench_loader.raw_limit)": lambda: raw_limit(path, work, batch_rows),
        "loader, whole (bench_loader.loader_run)": lambda: loader_run(path, work),
    }
    if args.readers:
        strings = pa.schema(
            [
                pa.field(f.name, pa.string()) if pa.types.is_timestamp(f.type) else f
                for f in typed.schema
            ]
        )
        parse = pj.ParseOptions(explicit_schema=strings, unexpected_field_behavior="error")
        stages["other: Arrow C++ pyarrow.json.read_json (explicit schema)"] = lambda: pj.read_json(
            path, parse_options=parse
        )
        stages["other: polars read_ndjson → Arrow"] = lambda: pl.read_ndjson(path).to_arrow()
    cpu: dict[str, list[float]] = {name: [] for name in stages}
    wall: dict[str, list[float]] = {name: [] for name in stages}
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeat):
        for name, stage in stages.items():
            with timed() as t:
                stage()
            cpu[name].append(t["cpu_s"])
            wall[name].append(t["wall_s"])
        loads.append(os.getloadavg()[0])
    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(appended, ignore_errors=True)

    def med(name: str) -> float:
        return statistics.median(cpu[name])

    print(
        f"\nNDJSON orders, {args.rows:,} rows ({path.stat().st_size / 1e6:,.0f} MB), medians of"
        f" {args.repeat} rounds; load average {min(loads):.1f}-{max(loads):.1f}\n"
    )
    print("| stage | CPU s | wall s |")
    print("|---|---:|---:|")
    for name in stages:
        print(f"| {name} | {med(name):.3f} | {statistics.median(wall[name]):.3f} |")
    raw = med("raw: DuckDB typed read_json → Arrow") + med("raw: write_deltalake of it")
    floor = (
        med("loader: DuckDB read of every value as JSON text")
        + med("loader: number prefilter (Hyperscan)")
        + med("loader: content hash (BLAKE3)")
        + med("loader: write_deltalake of bronze's rows")
    )
    own_floor = (
        floor
        - med("loader: write_deltalake of bronze's rows")
        + med("loader: bronze's rows appended as our own file")
    )
    one_read = "loader: number prefilter + content hash, one read (as the loader runs them)"
    read_once_floor = (
        own_floor
        - med("loader: number prefilter (Hyperscan)")
        - med("loader: content hash (BLAKE3)")
        + med(one_read)
    )
    typed_floor = (
        med("raw: DuckDB typed read_json → Arrow")
        + med("loader: number prefilter (Hyperscan)")
        + med("loader: content hash (BLAKE3)")
        + med("loader: write_deltalake of bronze's rows")
    )
    whole = med("loader, whole (bench_loader.loader_run)")
    limit = med("raw limit, whole (bench_loader.raw_limit)")
    print(
        f"\nraw read + write {raw:.3f} CPU s; the loader's floor (JSON text read + prefilter +"
        f" hash + bronze write) {floor:.3f}: at best **{raw / floor:.0%}** of the raw limit by"
        f" CPU. Whole runs: raw limit {limit:.3f}, loader {whole:.3f} ({limit / whole:.0%});"
        f" the loader's work beyond the floor {whole - floor:.3f} CPU s."
    )
    print(
        f"\nWith bronze's rows written as our own file (appends; a new table's first commit"
        f" too once it is written so) the floor is {own_floor:.3f}: at best"
        f" **{raw / own_floor:.0%}** of the raw limit by CPU; the loader's work beyond it"
        f" {whole - own_floor:.3f} CPU s."
    )
    print(
        f"\nWith the prefilter and the hash reading the file once (as the loader runs them on a"
        f" big file since session 9) and our own file: {read_once_floor:.3f}, at best"
        f" **{raw / read_once_floor:.0%}** of the raw limit by CPU; the loader's work beyond it"
        f" {whole - read_once_floor:.3f} CPU s."
    )
    print(
        f"\nThe typed floor (DuckDB's typed read in place of the JSON text read, + prefilter +"
        f" hash + bronze write) {typed_floor:.3f}: at best **{raw / typed_floor:.0%}** of the"
        " raw limit by CPU."
    )


if __name__ == "__main__":
    main()
