"""Benchmarks of the dbt runtime (results: bench/RESULTS-dbt.md, "Runtime" sections).

    uv run python bench/bench_build.py latency [--batches 50] [--project small|sample]
        End-to-end latency with the real Loader (watchdog) and a warm Builder: a file closed in
        landing_zone/data/raw/orders/ → the gold Delta commit that contains it (the commit's own
        timestamp), p50/p95; then a cold ``dbt build`` CLI of the same project. ``small`` is a
        3-model project (CSV batches of 10 orders); ``sample`` the sample shop in dbt_project/
        (wave 1 preloaded, then JSON batches of 5 orders; every model and test downstream).
    uv run python bench/bench_build.py scale [--rows 10000000] [--repeat 3]
        One build of a 3-model project on N bronze rows, each variant in its own process (time,
        peak RSS; medians of --repeat interleaved runs): plain ``dbt build`` (no publish),
        build + publish, the compiled SQL run directly in DuckDB; then an incremental 1% batch
        absorbed (build + publish) vs a full refresh.

Everything lives under bench/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "build"
sys.path.insert(0, str(REPO))

SOURCES = """
version: 2
sources:
  - name: bronze
    meta: {plugin: lakehouse_bronze}
    tables:
      - name: orders
"""
PROJECT = """
name: lakehouse
version: "1.0.0"
config-version: 2
profile: lakehouse
models:
  lakehouse:
    staging: {+materialized: table}
    marts: {+materialized: table}
"""
LATENCY_MODELS = {
    "models/staging/stg_orders.sql": """
        select cast(order_id as bigint) as order_id, cast(customer_id as bigint) as customer_id,
               cast(amount_cents as bigint) as amount_cents, _ingested_at
        from {{ source('bronze', 'orders') }}
    """,
    "models/marts/customer_revenue.sql": """
        select customer_id, count(*) as orders, sum(amount_cents)::bigint as revenue_cents
        from {{ ref('stg_orders') }} group by customer_id
    """,
    "models/marts/revenue.sql": """
        select count(*) as orders, sum(amount_cents)::bigint as revenue_cents,
               max(_ingested_at) as last_ingested_at
        from {{ ref('stg_orders') }}
    """,
}
#: daily_revenue's guard (apart: tests/dbt/test_daily_incremental.py shows the model needs it)
DAILY_REVENUE_GUARD = """
          "{% if is_incremental() %}
           set variable daily_revenue_since = (
             select case when
               (select coalesce(sum(orders), 0) from {{ this }}
                where order_date < getvariable('daily_revenue_since'))
               = (select count(*) from {{ ref('stg_orders') }}
                  where status <> 'cancelled'
                    and ordered_at < getvariable('daily_revenue_since')::timestamptz)
             then getvariable('daily_revenue_since') else '-infinity'::date end)
           {% endif %}",
"""
DAILY_REVENUE = """
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook=[
          "{% if is_incremental() %}
           set variable daily_revenue_mark = (
             select coalesce(max(_ingested_at), '-infinity'::timestamptz) from {{ this }})
           {% endif %}",
          "{% if is_incremental() %}
           set variable daily_revenue_since = (
             select coalesce(cast(min(ordered_at) as date), 'infinity'::date)
             from {{ ref('stg_orders') }}
             where _ingested_at > getvariable('daily_revenue_mark'))
           {% endif %}",
GUARD
          "{% if is_incremental() %}
           delete from {{ this }}
           where order_date >= getvariable('daily_revenue_since') or order_date is null
           {% endif %}",
        ],
    ) }}
    select cast(ordered_at as date) as order_date, count(*) as orders,
           sum(amount_cents)::bigint as revenue_cents, max(_ingested_at) as _ingested_at
    from {{ ref('stg_orders') }}
    where status <> 'cancelled'
    {% if is_incremental() %}
      and (ordered_at >= getvariable('daily_revenue_since')::timestamptz or ordered_at is null)
    {% endif %}
    group by 1
""".replace("GUARD\n", DAILY_REVENUE_GUARD.lstrip("\n"))
SCALE_MODELS = {
    "models/staging/stg_orders.sql": """
        {{ config(materialized='incremental', unique_key='order_id') }}
        select order_id, customer_id, amount_cents, ordered_at, status, _ingested_at
        from {{ source('bronze', 'orders') }}
        {% if is_incremental() %}
        where _ingested_at > (select max(_ingested_at) from {{ this }})
        {% endif %}
    """,
    # incremental by day, exact (docs/dbt.md, "An aggregate by day, incremental"): the days from
    # the earliest `ordered_at` among stg_orders' rows newer than this model's watermark are
    # replaced wholesale (a day left empty goes too); the days before it are kept only if they
    # still count every order stg_orders has there (orders only leave such days), else every
    # day is recomputed. tests/dbt/test_daily_incremental.py: equal to a full refresh
    "models/marts/daily_revenue.sql": DAILY_REVENUE,
    "models/marts/customer_revenue.sql": """
        select customer_id, count(*) as orders, sum(amount_cents)::bigint as revenue_cents,
               max(ordered_at) as last_ordered_at
        from {{ ref('stg_orders') }} group by customer_id
    """,
}


def write_project(root: Path, models: dict[str, str]) -> Path:
    files = {"dbt_project.yml": PROJECT, "models/staging/_sources.yml": SOURCES, **models}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def settings_for(root: Path, project: Path) -> Any:
    from lakehouse import Settings

    return Settings(
        root=root, dbt_project_dir=project, profiles_dir=REPO, dbt_target="dev", batch_window_ms=0
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine() -> str:
    import platform

    import duckdb
    import psutil

    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
        f"Python {platform.python_version()}, duckdb {duckdb.__version__}"
    )


# -- latency ---------------------------------------------------------------------------------


def latency(
    batches: int, project_name: str, *, preload: int = 200, cli_runs: int = 3
) -> dict[str, Any]:
    from deltalake import DeltaTable

    from loader import Loader
    from transform import Builder

    root = OUT / f"latency-{project_name}"
    shutil.rmtree(root, ignore_errors=True)
    if project_name == "sample":  # the sample shop (dbt_project/), all its models and tests
        project = REPO / "dbt_project"
        drop, gold, column = _sample_batches(preload), "orders", "order_id"
    else:
        project = write_project(root / "project", LATENCY_MODELS)
        drop, gold, column = _small_batches, "revenue", "orders"
    settings = settings_for(root, project)
    builder = Builder(settings)
    loader = Loader(settings, on_event=builder.submit)
    builder.busy = loader.holds_files  # as `lakehouse up` wires them
    builder.start()
    stop = threading.Event()
    loader_thread = threading.Thread(target=loader.run, args=(stop,), daemon=True)
    loader_thread.start()
    gold_path = settings.dados / "gold" / gold
    results: list[float] = []
    to_bronze: list[float] = []
    dbt_s: list[float] = []
    build_s: list[float] = []
    publish_s: list[float] = []
    builds_before = 0
    try:
        if project_name == "sample":
            _preload_sample(settings, builder, preload)
        for i in range(batches + 3):  # the first three warm the builder up
            expected = drop(settings, i)
            closed = time.time()
            committed = _wait_for_gold(gold_path, column, expected, deadline=time.time() + 120)
            bronze = DeltaTable(str(settings.dados / "bronze" / "orders")).history(1)[0]
            if i == 2:
                builds_before = builder.builds
            if i >= 3:
                results.append(committed - closed)
                to_bronze.append(bronze["timestamp"] / 1000 - closed)
                last = builder.last_result
                if last is not None:
                    dbt_s.append(last.dbt_seconds)
                    build_s.append(last.seconds)
                    publish_s.append(last.publish_seconds)
        assert builder.wait_idle(120)
        builds = builder.builds - builds_before
    finally:
        stop.set()
        loader_thread.join(30)
        builder.stop()
    select = "source:bronze.orders+"
    cold = _cold_cli(settings, project, drop, batches + 3, cli_runs, select)
    return {
        "project": project_name,
        "preload_orders": preload if project_name == "sample" else 0,
        "batches": len(results),
        "p50_s": statistics.median(results),
        "p95_s": pct(results, 0.95),
        "max_s": max(results),
        "min_s": min(results),
        "builds": builds,
        "p50_closed_to_bronze_commit_s": statistics.median(to_bronze),
        "p50_dbt_build_s": statistics.median(dbt_s),
        "p50_publish_s": statistics.median(publish_s),
        # pin + dbt + publish; the rest of closed → gold is detection, the bronze commit and
        # the builder's settle window (the defaults: build_settle_ms, cut short by
        # build_settle_early once the loader let go of the file and nothing else is landing)
        "p50_build_s": statistics.median(build_s),
        "settle_ms": settings.build_settle_ms,
        "settle_early": settings.build_settle_early,
        "gold_version": DeltaTable(str(gold_path)).version(),
        "cold_cli_s": statistics.median(cold),
        "cold_cli_min_s": min(cold),
        "cold_cli_max_s": max(cold),
        "cold_cli_runs": [round(c, 3) for c in cold],
        "cold_cli_command": f"dbt build --select {select}",
    }


def _small_batches(settings: Any, i: int) -> int:
    """Batch ``i`` of 10 orders as a CSV file closed in the landing zone; gold's order count."""
    raw = settings.raw_dir / "orders"
    raw.mkdir(parents=True, exist_ok=True)
    lines = ["order_id,customer_id,amount_cents"]
    lines += [f"{i * 10 + k},{k % 7},{100 + k}" for k in range(10)]
    tmp = raw / f".batch-{i}.csv.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.rename(raw / f"batch-{i}.csv")
    return (i + 1) * 10


def _sample_batches(preload: int = 200) -> Any:
    """Batches of 5 new orders for the sample shop, as JSON files like its order system's."""
    from app import SampleFile, sample_files, write_file

    template = next(f for f in sample_files(preload) if f.table == "orders").records[0]

    def drop(settings: Any, i: int) -> int:
        first = 1_000_000 + i * 5
        records = [{**template, "order_id": first + k} for k in range(5)]
        write_file(SampleFile("orders", 9, f"orders_bench_{i:04d}.json", records), settings.raw_dir)
        return first + 4  # the newest order id gold must show

    return drop


def _preload_sample(settings: Any, builder: Any, rows: int = 200) -> None:
    """Wave 1 of the sample shop (``rows`` orders), loaded and built before measuring."""
    from app import sample_files, write_files

    write_files([f for f in sample_files(rows) if f.wave == 1], settings.raw_dir)
    deadline = time.time() + 300
    while time.time() < deadline:
        if builder.wait_idle(1) and (settings.dados / "gold" / "orders" / "_delta_log").is_dir():
            return
    raise TimeoutError("the sample shop was not built in 300 s")


def _wait_for_gold(path: Path, column: str, at_least: int, *, deadline: float) -> float:
    """The commit time (from the Delta log) of the first gold version where max(column) ≥ n.

    The table is read only when a new commit file appears in its log (a listing every 5 ms):
    reading it every 5 ms took 15% of the measured process's CPU on 2 cores (py-spy), time the
    builder being measured did not get.
    """
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    from lakehouse.storage import arrow_dataset

    log, seen = path / "_delta_log", ""
    while time.time() < deadline:
        newest = max((n for n in _names(log) if n.endswith(".json")), default="")
        if newest and newest != seen:
            seen = newest
            table = DeltaTable(str(path))
            values = arrow_dataset(table).to_table(columns=[column])[column]
            if len(values) and (pc.max(values).as_py() or 0) >= at_least:
                return float(table.history(1)[0]["timestamp"]) / 1000
        time.sleep(0.005)
    raise TimeoutError(f"gold never reached {column} >= {at_least}")


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []


def _cold_cli(
    settings: Any, project: Path, drop: Any, first: int, runs: int, select: str
) -> list[float]:
    """A cold ``dbt build`` CLI driven as a scheduler would: after each load, a new process.

    On a copy of the lakehouse the warm builder left (its bronze and its DuckDB warehouse, so
    incremental models stay incremental; the builder holds the DuckDB lock otherwise): a batch
    like the measured ones is loaded (``Loader.load_pending``, not timed), then ``dbt build
    --select <the builder's selection>`` runs in a new process, timed from start to exit. One
    unmeasured run first leaves dbt's partial-parse state in its target folder, the scheduler's
    best case (a fresh container would parse the whole project every time).
    """
    from loader import Loader

    copy = OUT / "latency-cli"
    shutil.rmtree(copy, ignore_errors=True)
    (copy / "dados").mkdir(parents=True)
    shutil.copytree(settings.dados / "bronze", copy / "dados" / "bronze")
    warehouse = Path(settings.warehouse_path)
    shutil.copy2(warehouse, copy / "dados" / "warehouse.duckdb")
    wal = Path(f"{warehouse}.wal")  # what the warm connection has not checkpointed yet
    if wal.exists():
        shutil.copy2(wal, copy / "dados" / "warehouse.duckdb.wal")
    copied = settings_for(copy, project)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")},
        "LAKEHOUSE_ROOT": str(copy),
        "LAKEHOUSE_DADOS": str(copy / "dados"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = [str(Path(sys.executable).parent / "dbt")]
    args = ["build", "--project-dir", str(project), "--profiles-dir", str(REPO), "--quiet"]
    args += ["--select", select, "--target-path", str(copy / "target")]
    args += ["--exclude-resource-type", "unit_test"]  # as the builder's event builds
    times = []
    for i in range(runs + 1):
        drop(copied, first + i)
        Loader(copied).load_pending()
        started = time.perf_counter()
        done = subprocess.run([*dbt, *args], env=env, cwd=copy, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"dbt build failed: {done.stdout[-3000:]} {done.stderr[-2000:]}")
        if i:
            times.append(time.perf_counter() - started)
    shutil.rmtree(copy, ignore_errors=True)
    return times


# -- scale -----------------------------------------------------------------------------------


def make_bronze(
    settings: Any,
    rows: int,
    *,
    first: int = 0,
    ingested: str | None = None,
    on_arrival: bool = False,
) -> None:
    """``rows`` orders appended to bronze, generated by DuckDB and streamed (no big list):
    ordered over 2025, or with ``on_arrival`` in the hour before they are ingested (a shop's new
    orders are today's)."""
    import duckdb
    from deltalake import write_deltalake

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    at = f"timestamptz '{ingested}'" if ingested else "now()"
    seconds = "(hash(i * 3) % 3600)::bigint" if on_arrival else "(hash(i * 3) % 31536000)::bigint"
    start = at if on_arrival else "timestamptz '2025-01-01'"
    sign = "-" if on_arrival else "+"
    reader = con.sql(
        f"select (i + {first})::bigint as order_id, (hash(i) % 100000)::bigint as customer_id,"
        " (hash(i * 7) % 100000)::bigint as amount_cents,"
        f" {start} {sign} to_seconds({seconds}) as ordered_at,"
        " ['paid', 'shipped', 'cancelled'][(i % 3) + 1] as status,"
        f" {at} as _ingested_at"
        f" from range({rows}) t(i)"
    ).to_arrow_reader(1_000_000)
    path = str(settings.dados / "bronze" / "orders")
    write_deltalake(path, reader, mode="append", schema_mode="merge")


def scale(
    rows: int,
    repeat: int,
    variants: tuple[str, ...] = ("plain", "publish", "direct"),
    *,
    incremental: bool = True,
) -> dict[str, Any]:
    root = OUT / "scale"
    shutil.rmtree(root, ignore_errors=True)
    project = write_project(root / "project", SCALE_MODELS)
    settings = settings_for(root, project)
    started = time.perf_counter()
    make_bronze(settings, rows, ingested="2026-01-01 00:00:00+00")
    generated = time.perf_counter() - started
    out: dict[str, Any] = {"rows": rows, "bronze_written_s": generated, "repeat": repeat}
    # each incremental run appends its 1% batch to bronze, last in its round: every variant of
    # a round reads the same bronze, which grows by 1% a round
    every = (*variants, "incremental") if incremental else variants
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in every}
    for _ in range(repeat):  # interleaved, so a noisy neighbour hits every variant alike
        for variant, results in runs.items():
            results.append(_in_child("scale-variant", variant, str(root), str(project)))
    for variant, results in runs.items():
        out[variant] = {
            key: statistics.median(r[key] for r in results)
            for key in results[0]
            if isinstance(results[0][key], float)
        }
        out[variant]["all_seconds"] = [round(r["seconds"], 2) for r in results]
    if incremental:
        for key in ("one_percent_s", "full_refresh_s", "one_percent_cpu_s", "full_refresh_cpu_s"):
            out["incremental"][f"all_{key}"] = [round(r[key], 3) for r in runs["incremental"]]
    return out


def latency_in_child(batches: int, preload: int, cli_runs: int) -> dict[str, Any]:
    """:func:`latency` of the sample shop in a fresh process: dbt-duckdb's connection and the
    bronze plugin's views are process-wide, so a second run in one process would read the first
    run's (deleted) files."""
    args = ["latency", "--project", "sample", "--batches", str(batches)]
    return _in_child(*args, "--preload", str(preload), "--cli-runs", str(cli_runs), "--json-line")


def _in_child(*args: str) -> dict[str, Any]:
    """Run ``args`` in a fresh process (its own peak RSS); its JSON result."""
    proc = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def scale_variant(variant: str, root: str, project: str) -> dict[str, Any]:
    """One variant, in this (child) process: a fresh warehouse, a warm-up parse, one build."""
    from transform import DbtSession, dbt_plugin

    settings = settings_for(Path(root), Path(project))
    warehouse = settings.dados / "warehouse.duckdb"
    for leftover in (warehouse, Path(f"{warehouse}.wal")):
        leftover.unlink(missing_ok=True)
    for layer in ("silver", "gold"):
        shutil.rmtree(settings.dados / layer, ignore_errors=True)
    session = DbtSession(settings)
    session.invoke(["parse"])  # warm: what a long-lived builder has already paid
    result: dict[str, Any] = {}
    from bench.harness import CoresWanted, own_peak_rss_mib

    with CoresWanted() as cores:
        started, cpu = time.perf_counter(), time.process_time()
        if variant == "plain":
            dbt_plugin.begin_build(settings)
            outcome = session.invoke(["build"])
            assert outcome.success, outcome.exception
        elif variant == "publish":
            built = session.build()
            assert built.success, built.failures
            result["published"] = built.published
            result["dbt_s"] = built.dbt_seconds
            result["publish_s"] = built.publish_seconds
        elif variant == "direct":
            result.update(_direct(settings, Path(project)))
        elif variant == "incremental":
            result.update(_incremental(settings, session))
        result["seconds"] = time.perf_counter() - started
        result["cpu_s"] = time.process_time() - cpu  # every thread of this process
    # cores the run kept busy or waiting for one, whatever the machine's load (CoresWanted)
    result["cores_wanted"] = cores.wanted
    result["peak_rss_mb"] = own_peak_rss_mib()
    return result


def _direct(settings: Any, project: Path) -> dict[str, Any]:
    """The compiled SQL of each model run directly in DuckDB (bronze through the same Arrow)."""
    import duckdb

    from transform.dbt_plugin import BuildPins

    compiled = project / "target" / "compiled" / "lakehouse" / "models"
    con = duckdb.connect(str(settings.dados / "direct.duckdb"))
    con.execute("set TimeZone = 'UTC'")
    pin = BuildPins(settings).get("orders")  # bronze read exactly as builds read it
    if not pin.files:
        con.register(pin.registered_name, pin.dataset)
    con.execute("create schema if not exists bronze")
    con.execute(f"create or replace view bronze.orders as select * from {pin.relation}")
    order = ["staging/stg_orders.sql", "marts/daily_revenue.sql", "marts/customer_revenue.sql"]
    for name in order:
        sql = (compiled / name).read_text()
        sql = sql.replace('"warehouse".', "").replace('"bronze"."orders"', "bronze.orders")
        model = Path(name).stem
        con.execute(f"create or replace table main.{model} as {sql}")
    con.close()
    return {"models": len(order)}


def _incremental(settings: Any, session: Any) -> dict[str, Any]:
    """Full build, then a 1% batch absorbed (build + merge publish), then a full refresh."""
    rows = bronze_rows(settings)
    first = session.build()
    assert first.success, first.failures
    # ingested now: newer than every earlier batch, so the model absorbs this one even when an
    # earlier run appended its own batch to the same bronze (bench.ab_scale's children do; one
    # fixed timestamp made every batch after the first invisible to `_ingested_at > max(...)`)
    make_bronze(settings, rows // 100, first=rows, on_arrival=True)
    from bench.harness import PeakRss

    rss_before = PeakRss().peak / 2**20
    started, cpu = time.perf_counter(), time.process_time()
    with PeakRss() as peak:
        inc = session.build(["source:bronze.orders+"])
    absorbed, absorbed_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert inc.success, inc.failures
    assert "silver/stg_orders" in inc.published and "silver/stg_orders" not in inc.unchanged
    after_batch = _gold(settings)
    started, cpu = time.perf_counter(), time.process_time()
    full = session.build(["source:bronze.orders+"], full_refresh=True)
    refreshed, refreshed_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert full.success, full.failures
    # the batch's gold, built incrementally and published, is the full refresh's, row for row
    refreshed_gold = _gold(settings)
    for name, rows in after_batch.items():
        assert rows == refreshed_gold[name], f"gold {name}: the 1% batch differs from a refresh"
    return {
        "first_build_s": first.seconds,
        "one_percent_s": absorbed,
        "one_percent_cpu_s": absorbed_cpu,
        "one_percent_dbt_s": inc.dbt_seconds,
        "one_percent_publish_s": inc.publish_seconds,
        "one_percent_rss_before_mib": rss_before,
        "one_percent_peak_rss_mib": peak.mib,
        "full_refresh_s": refreshed,
        "full_refresh_cpu_s": refreshed_cpu,
        "full_refresh_dbt_s": full.dbt_seconds,
        "full_refresh_publish_s": full.publish_seconds,
    }


def _gold(settings: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every gold model's rows, sorted: in DuckDB and as published (its Delta table)."""
    from deltalake import DeltaTable

    from lakehouse.storage import arrow_dataset
    from transform.dbt_plugin import connection

    conn = connection()
    assert conn is not None
    cursor = conn.cursor()
    out: dict[str, list[tuple[Any, ...]]] = {}
    try:
        for model in ("daily_revenue", "customer_revenue"):
            out[model] = cursor.execute(f"select * from main.{model} order by all").fetchall()
            published = arrow_dataset(DeltaTable(str(settings.dados / "gold" / model)))
            cursor.register("published", published)
            rows = cursor.execute(f"select {_columns(cursor, model)} from published order by all")
            out[f"gold/{model}"] = rows.fetchall()
            cursor.unregister("published")
    finally:
        cursor.close()
    return out


def _columns(cursor: Any, model: str) -> str:
    names = cursor.execute(
        "select column_name from information_schema.columns"
        f" where table_schema = 'main' and table_name = '{model}' order by ordinal_position"
    ).fetchall()
    return ", ".join(f'"{name}"' for (name,) in names)


def bronze_rows(settings: Any) -> int:
    from deltalake import DeltaTable

    return int(DeltaTable(str(settings.dados / "bronze" / "orders")).count())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    latency_args = sub.add_parser("latency")
    latency_args.add_argument("--batches", type=int, default=50)
    latency_args.add_argument("--project", choices=["small", "sample"], default="small")
    latency_args.add_argument("--preload", type=int, default=200)
    latency_args.add_argument("--cli-runs", type=int, default=3)
    latency_args.add_argument("--json-line", action="store_true", help=argparse.SUPPRESS)
    scale_args = sub.add_parser("scale")
    scale_args.add_argument("--rows", type=int, default=10_000_000)
    scale_args.add_argument("--repeat", type=int, default=3)
    child = sub.add_parser("scale-variant")
    child.add_argument("variant")
    child.add_argument("root")
    child.add_argument("project")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.command == "scale-variant":
        print(json.dumps(scale_variant(args.variant, args.root, args.project)))
        return 0
    if args.command == "latency":
        result = latency(args.batches, args.project, preload=args.preload, cli_runs=args.cli_runs)
        if args.json_line:
            print(json.dumps(result, default=str))
            return 0
    else:
        result = scale(args.rows, args.repeat)
    result["machine"] = machine()
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
