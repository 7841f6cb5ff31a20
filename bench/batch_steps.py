"""The 1% batch of ``bench_build.scale``'s project, today's way and the redesign's (issue #10).

    uv run python -m bench.ab_scale --before <tree> --rounds 1 --variants incremental --keep
    uv run python -m bench.batch_steps [--rounds 3]

Session 18's plan for ``publish_vs_build`` (bench/RESULTS-dbt.md) makes an incremental model's
``{{ this }}`` a view over its published Parquet files and merges its new rows into Delta,
instead of into a DuckDB table. Its risk is ``incremental_vs_full``: every read of the model by
a later run (its watermark, the marts) then reads Parquet files instead of DuckDB's storage.
This measures the 1% batch's SQL both ways, in one process, on the bronze ``bench.ab_scale``'s
``incremental`` child left (its newest batch, the one with the highest ``_ingested_at``, is the
batch; everything before it is what the full build held), the arms alternated each round (a
fresh warehouse file and fresh files a round), each statement's process CPU seconds (every
thread) added to its step:

* ``table``: what the build does today: the watermark from the model's DuckDB table, the new
  rows from bronze, dbt-duckdb's ``delete+insert`` into the table, ``daily_revenue``'s
  incremental run (its hooks and its ``select``), ``customer_revenue`` rebuilt;
* ``files``: the redesign: the same from a view over the Parquet files the full build wrote
  (the publisher's options), the new rows a temp table ``__new``; the view is
  ``files anti join __new union all __new`` where a file's key range (its footer's
  ``order_id`` minimum and maximum) meets ``__new``'s keys, and the files alone where none
  does (``files, pruned``: what the add actions' statistics allow);
* both end with the ``COPY`` of the new rows that an append publish writes.

The files are written as a rewrite publish writes this model (Snappy, the dictionary limit
256, ``--parquet-version``: v1, the default of ``publish_parquet_version``, or v2).

The publishes of the marts (a shadow diff today, the same in the redesign) are left out:
equal both ways. Each round checks that both ways built the same marts. Files under
``bench/out/batch-steps``, deleted after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path

import duckdb

from bench import bench_build

HERE = Path(__file__).resolve().parents[1]
SCALE = HERE / "bench" / "out" / "build" / "ab-scale"
WORK = HERE / "bench" / "out" / "batch-steps"
COLUMNS = "order_id, customer_id, amount_cents, ordered_at, status, _ingested_at"
CUSTOMER = (
    "create or replace table {table} as select customer_id, count(*) as orders,"
    " sum(amount_cents)::bigint as revenue_cents, max(ordered_at) as last_ordered_at"
    " from {src} group by customer_id"
)
DAILY = (
    "select cast(ordered_at as date) as order_date, count(*) as orders,"
    " sum(amount_cents)::bigint as revenue_cents, max(_ingested_at) as _ingested_at"
    " from {src} where status <> 'cancelled'"
)


def _daily_incremental(src: str, table: str) -> list[tuple[str, str]]:
    """``bench_build.DAILY_REVENUE``'s incremental run into ``table`` (its pre-hooks, then
    dbt's append), each statement with its step's name."""
    return [
        (
            "daily_revenue: its watermark and since",
            "set variable daily_revenue_mark = (select coalesce(max(_ingested_at),"
            f" '-infinity'::timestamptz) from {table})",
        ),
        (
            "daily_revenue: its watermark and since",
            "set variable daily_revenue_since = (select coalesce(cast(min(ordered_at) as date),"
            f" 'infinity'::date) from {src}"
            " where _ingested_at > getvariable('daily_revenue_mark'))",
        ),
        (
            "daily_revenue: its guard (count of the days kept)",
            "set variable daily_revenue_since = (select case when (select coalesce(sum(orders), 0)"
            f" from {table} where order_date < getvariable('daily_revenue_since'))"
            f" = (select count(*) from {src} where status <> 'cancelled'"
            " and ordered_at < getvariable('daily_revenue_since')::timestamptz)"
            " then getvariable('daily_revenue_since') else '-infinity'::date end)",
        ),
        (
            "daily_revenue: delete + insert",
            f"delete from {table} where order_date >= getvariable('daily_revenue_since')"
            " or order_date is null",
        ),
        (
            "daily_revenue: delete + insert",
            f"insert into {table} "
            + DAILY.format(src=src)
            + " and (ordered_at >= getvariable('daily_revenue_since')::timestamptz"
            " or ordered_at is null) group by 1",
        ),
    ]


def _timed(
    con: duckdb.DuckDBPyConnection,
    sqls: list[tuple[str, str]],
    steps: dict[str, float],
) -> None:
    """Run ``sqls``, adding each one's process CPU seconds to its step in ``steps``."""
    for name, sql in sqls:
        cpu = time.process_time()
        con.execute(sql).fetchall()
        steps[name] = steps.get(name, 0.0) + time.process_time() - cpu


def _setup(
    bronze: str, options: str, folder: Path, mark: str
) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """A fresh warehouse as the full build left it: the model's table and its files (the rows
    ingested before ``mark``), the marts built from them."""
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "files").mkdir(parents=True)
    con = duckdb.connect(str(folder / "warehouse.duckdb"))
    con.execute("set TimeZone = 'UTC'")
    con.execute("set memory_limit = '1500MB'")  # as a bench child's, bounded
    old = f"select {COLUMNS} from {bronze} where _ingested_at < timestamptz '{mark}'"
    con.execute(f"create table stg_orders as {old}")
    copy = f"({options}, filename_pattern 'part-{{uuid}}', file_size_bytes '128MB')"
    con.execute(f"copy (select * from stg_orders) to '{folder / 'files'}' {copy}")
    con.execute(CUSTOMER.format(table="customer_revenue", src="stg_orders"))
    con.execute(f"create table daily_revenue as {DAILY.format(src='stg_orders')} group by 1")
    for name in ("customer_revenue", "daily_revenue"):  # the redesign's own marts
        con.execute(f"create table {name}_built as select * from {name}")
        con.execute(f"create table {name}_files as select * from {name}")
    con.execute("checkpoint")
    return con, sorted(str(p) for p in (folder / "files").glob("*.parquet"))


def _meeting(con: duckdb.DuckDBPyConnection, files: list[str], new: str) -> list[str]:
    """The files whose ``order_id`` range (footer statistics) meets ``new``'s keys."""
    [(low, high)] = con.execute(f"select min(order_id), max(order_id) from {new}").fetchall()
    if low is None:
        return []
    rows = con.execute(
        "select file_name, min(stats_min_value::bigint), max(stats_max_value::bigint)"
        f" from parquet_metadata({files!r}) where path_in_schema = 'order_id' group by 1"
    ).fetchall()
    return [name for name, lo, hi in rows if not (hi < low or lo > high)]


def one_round(bronze: str, options: str, mark: str, order: int) -> dict[str, dict[str, float]]:
    con, files = _setup(bronze, options, WORK, mark)
    appended = WORK / "appended"
    copy = f"({options}, filename_pattern 'part-{{uuid}}', file_size_bytes '128MB')"

    table = [
        ("the model's watermark", "set variable mark = (select max(_ingested_at) from stg_orders)"),
        (
            "the new rows from bronze",
            f"create or replace temp table new_t as select {COLUMNS} from {bronze}"
            " where _ingested_at > getvariable('mark')",
        ),
        (
            "the model's merge (delete + insert) / its view",
            "delete from stg_orders where order_id in (select order_id from new_t)",
        ),
        (
            "the model's merge (delete + insert) / its view",
            "insert into stg_orders select * from new_t",
        ),
        *_daily_incremental("stg_orders", "daily_revenue"),
        ("customer_revenue", CUSTOMER.format(table="customer_revenue", src="stg_orders")),
        ("the append's COPY", f"copy (select * from new_t) to '{appended}-t' {copy}"),
    ]

    def redesign(pruned: bool, steps: dict[str, float]) -> None:
        for name in ("customer_revenue", "daily_revenue"):  # the full build's marts again
            con.execute(f"create or replace table {name}_files as select * from {name}_built")
        listed = f"read_parquet({files!r})"
        _timed(
            con,
            [
                (
                    "the model's watermark",
                    f"set variable mark = (select max(_ingested_at) from {listed})",
                ),
                (
                    "the new rows from bronze",
                    f"create or replace temp table new_f as select {COLUMNS} from {bronze}"
                    " where _ingested_at > getvariable('mark')",
                ),
            ],
            steps,
        )
        # {{ this }}: the files meeting __new's keys anti-joined with it, the others as they are
        cpu = time.process_time()
        meeting = _meeting(con, files, "new_f") if pruned else files
        others = [f for f in files if f not in meeting]
        parts = [f"select * from read_parquet({others!r})"] if others else []
        if meeting:
            parts.append(
                f"select * from read_parquet({meeting!r}) anti join new_f using (order_id)"
            )
        parts.append("select * from new_f")
        con.execute("create or replace temp view stg_v as " + " union all ".join(parts))
        name = "the model's merge (delete + insert) / its view"
        steps[name] = steps.get(name, 0.0) + time.process_time() - cpu
        where = "pruned" if pruned else "f"
        _timed(
            con,
            [
                *_daily_incremental("stg_v", "daily_revenue_files"),
                (
                    "customer_revenue",
                    CUSTOMER.format(table="customer_revenue_files", src="stg_v"),
                ),
                ("the append's COPY", f"copy (select * from new_f) to '{appended}-{where}' {copy}"),
            ],
            steps,
        )

    out: dict[str, dict[str, float]] = {}
    arms = ["table", "files", "files, pruned"]
    for arm in reversed(arms) if order else arms:
        out[arm] = steps = {}
        cpu = time.process_time()
        if arm == "table":
            _timed(con, table, steps)
        else:
            redesign(arm.endswith("pruned"), steps)
        steps["the 1% batch's SQL, in all"] = time.process_time() - cpu
    # the same marts both ways (the redesign changes where rows are read from, not what)
    for name in ("customer_revenue", "daily_revenue"):
        a, b = (
            con.execute(f"select count(*), sum(hash(t)) from {n} t").fetchone()
            for n in (name, f"{name}_files")
        )
        assert a == b, (name, a, b)
    con.close()
    shutil.rmtree(WORK, ignore_errors=True)
    return out


def main() -> int:
    from transform import delta_files
    from transform.dbt_plugin import BuildPins

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--parquet-version",
        choices=("v1", "v2"),
        default="v1",
        help="of the model's files (the publisher's default v1; v2 under publish_parquet_version"
        " auto or v2)",
    )
    args = parser.parse_args()
    settings = bench_build.settings_for(SCALE, SCALE / "project")
    bronze = BuildPins(settings).get("orders").relation
    options = delta_files.parquet_options(
        "snappy", 1, args.parquet_version, delta_files.TINY_DICTIONARY_LIMIT
    )
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    [(mark, rows, batch)] = con.execute(
        f"select max(_ingested_at)::varchar, count(*), count(*) filter"
        f" (where _ingested_at = (select max(_ingested_at) from {bronze})) from {bronze}"
    ).fetchall()
    con.close()
    print(f"bronze {rows:,} rows, the batch {batch:,} (ingested {mark})")
    runs: dict[str, dict[str, list[float]]] = {}
    loads = []
    for r in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for arm, steps in one_round(bronze, options, mark, r % 2).items():
            for step, cpu in steps.items():
                runs.setdefault(step, {}).setdefault(arm, []).append(cpu)
        print(r, {arm: round(v[-1], 3) for arm, v in runs["the 1% batch's SQL, in all"].items()})
    loads.append(os.getloadavg()[0])
    print(f"{args.rounds} rounds, load (1 min) {min(loads):.1f}-{max(loads):.1f}; {options}")
    arms = ["table", "files", "files, pruned"]
    print("CPU s, median (min-max)\n\n| step | " + " | ".join(arms) + " |")
    print("|---|" + "---:|" * len(arms))
    for step, by_arm in runs.items():
        cells = []
        for arm in arms:
            cpu = by_arm.get(arm, [0.0])
            cells.append(f"{statistics.median(cpu):.3f} ({min(cpu):.3f}-{max(cpu):.3f})")
        print(f"| {step} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
