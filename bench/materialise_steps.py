"""What a model's table costs the build, beside what its publish costs (``stg_orders``, 10M).

    uv run python -m bench.ab_scale --before <tree> --rounds 1 --variants plain --keep
    uv run python -m bench.materialise_steps [--rounds 3]

``publish_vs_build`` divides a build + publish by a plain build; both write each model as a
DuckDB table of the warehouse, and the publish then reads that table again to write its
Parquet files. This measures, on ``bench.ab_scale``'s bronze (read as a build reads it: the
pinned files, :class:`transform.dbt_plugin.BuildPins`), in one process, steps alternated
within each round (a fresh warehouse file a round), each in process CPU seconds (every
thread) and wall:

* ``table``: the model's ``create table as`` into the warehouse file (what dbt's table and
  incremental materialisations do), and the same into an in-memory database and with
  DuckDB's compression off (where the persistent table's CPU goes);
* ``copy table``: the publish's write, a ``COPY`` of that table to Parquet with the
  publisher's options (Snappy, its ``parquet_version``, the dictionary limit it picks here);
* ``copy select``: the same ``COPY`` straight from the model's ``select`` over bronze (a
  materialisation that *is* the Parquet write, the model then a view over the files);
* the marts (``customer_revenue``, ``daily_revenue``) and the fingerprint's row hash, each
  read from the table and from those Parquet files;
* the model's table made again, from bronze and from those Parquet files (what an incremental
  model's next run would pay for its DuckDB table if its full build wrote only the files).

The sums say what each way of materialising costs a build + publish (docs: RESULTS-dbt.md,
session 14). The files are written under ``bench/out/materialise-steps`` and deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from bench import bench_build

HERE = Path(__file__).resolve().parents[1]
SCALE = HERE / "bench" / "out" / "build" / "ab-scale"
WORK = HERE / "bench" / "out" / "materialise-steps"
SILVER = SCALE / "dados" / "silver" / "stg_orders"
COLUMNS = "order_id, customer_id, amount_cents, ordered_at, status, _ingested_at"
MARTS = (
    "select customer_id, count(*) as orders, sum(amount_cents)::bigint as revenue_cents,"
    " max(ordered_at) as last_ordered_at from {src} group by customer_id",
    "select cast(ordered_at as date) as order_date, count(*) as orders,"
    " sum(amount_cents)::bigint as revenue_cents, max(_ingested_at) as _ingested_at"
    " from {src} where status <> 'cancelled' group by 1",
)


def _timed(con: duckdb.DuckDBPyConnection, sqls: list[str]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for sql in sqls:
        con.execute(sql).fetchall()
    return time.process_time() - cpu, time.perf_counter() - wall


def one_round(
    bronze: str, options: str, folder: Path, order: int
) -> dict[str, tuple[float, float]]:
    """Every step once, on a fresh warehouse file in ``folder``; ``order`` flips the pairs."""
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "from-table").mkdir(parents=True)
    (folder / "from-select").mkdir()
    con = duckdb.connect(str(folder / "warehouse.duckdb"))
    con.execute("set TimeZone = 'UTC'")
    con.execute("set memory_limit = '1500MB'")  # as a bench child's, bounded
    select = f"select {COLUMNS} from {bronze}"
    files = f"'{folder / 'from-select'}/*.parquet'"
    copy = f"({options}, filename_pattern 'part-{{uuid}}', file_size_bytes '128MB')"
    hashed = f"select count(*), sum(hash({COLUMNS})) from {{src}}"
    steps: list[tuple[str, list[str]]] = [
        ("table", [f"create table stg_orders as {select}"]),
        ("table, in memory", [f"create table mem.stg_orders as {select}"]),
        (
            "table, compression off",
            [
                "set force_compression = 'uncompressed'",
                f"create table stg_plain as {select}",
                "reset force_compression",
            ],
        ),
        ("copy table", [f"copy (select * from stg_orders) to '{folder / 'from-table'}' {copy}"]),
        ("copy select", [f"copy ({select}) to '{folder / 'from-select'}' {copy}"]),
        (
            "marts from table",
            [
                f"create or replace table m{i} as {m.format(src='stg_orders')}"
                for i, m in enumerate(MARTS)
            ],
        ),
        (
            "marts from Parquet",
            [f"create or replace table p{i} as {m.format(src=files)}" for i, m in enumerate(MARTS)],
        ),
        ("row hash from table", [hashed.format(src="stg_orders")]),
        ("row hash from Parquet", [hashed.format(src=files)]),
        # what an incremental model's next run would pay for its DuckDB table back if its full
        # build wrote only the Parquet files (the table made from them, lazily): the same rows
        # from bronze again, and from those files
        ("table again, from bronze", [f"create table stg_again as {select}"]),
        ("table from Parquet", [f"create table stg_from_files as select * from {files}"]),
    ]
    con.execute("attach ':memory:' as mem")
    out: dict[str, tuple[float, float]] = {}
    # the table first (the others read it); then each pair in this round's order
    head, pairs = steps[:1], [steps[i : i + 2] for i in range(1, len(steps), 2)]
    for name, sqls in head + [s for pair in pairs for s in (pair[::-1] if order else pair)]:
        out[name] = _timed(con, sqls)
        if name == "table, in memory":
            con.execute("drop table mem.stg_orders")  # its memory back before the next step
    con.close()
    out["_MB from table"] = (_megabytes(folder / "from-table"), 0.0)
    out["_MB from select"] = (_megabytes(folder / "from-select"), 0.0)
    shutil.rmtree(folder, ignore_errors=True)
    return out


#: the prototype materialisation of ``--builds``: the model's rows written by one ``COPY`` to
#: ``location`` (the options a publish writes with), the model a view over the files
PARQUET_FILES = """
{% materialization parquet_files, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set existing = load_cached_relation(this) -%}
  {% if existing is not none %}{{ adapter.drop_relation(existing) }}{% endif %}
  {% call statement('main') -%}
    copy ({{ sql }}) to '{{ config.get('location') }}' ({{ config.get('options') }},
      file_size_bytes '128MB', overwrite true, filename_pattern 'part-{uuid}')
  {%- endcall %}
  {% call statement('view') -%}
    create view {{ target_relation }} as
    select * from read_parquet('{{ config.get('location') }}/*.parquet')
  {%- endcall %}
  {{ adapter.commit() }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
"""


def builds(rounds: int, options: str) -> None:
    """``bench_build.py scale-variant`` children, interleaved: the plain build (``stg_orders`` a
    table), the same project with ``stg_orders`` materialised as :data:`PARQUET_FILES`, and
    the build + publish; then the Delta commit of the prototype's files (add actions)."""
    from deltalake import DeltaTable
    from deltalake import Schema as DeltaSchema
    from deltalake.transaction import create_table_with_add_actions

    from lakehouse.delta_adds import add_action

    location = WORK / "stg_orders"
    project = WORK / "project-parquet-files"
    shutil.rmtree(WORK, ignore_errors=True)
    location.mkdir(parents=True)
    models = dict(bench_build.SCALE_MODELS)
    config = "{{ config(materialized='incremental', unique_key='order_id') }}"
    assert config in models["models/staging/stg_orders.sql"]
    models["models/staging/stg_orders.sql"] = models["models/staging/stg_orders.sql"].replace(
        config,
        f"{{{{ config(materialized='parquet_files', location='{location}',"
        f' options="{options}") }}}}',
    )
    models["macros/parquet_files.sql"] = PARQUET_FILES
    bench_build.write_project(project, models)
    table_project = WORK / "project-table"
    bench_build.write_project(table_project, bench_build.SCALE_MODELS)
    arms = [
        ("plain build, stg_orders a table", "plain", table_project),
        ("plain build, stg_orders the Parquet write", "plain", project),
        ("build + publish (main)", "publish", table_project),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    runs: dict[str, list[dict[str, float]]] = {}
    published: tuple[object, ...] = ()
    for r in range(rounds):
        for name, variant, proj in arms[r % len(arms) :] + arms[: r % len(arms)]:
            load = os.getloadavg()[0]
            script = str(HERE / "bench" / "bench_build.py")
            done = subprocess.run(
                [sys.executable, script, "scale-variant", variant, str(SCALE), str(proj)],
                check=True,
                capture_output=True,
                text=True,
                env=env,
                cwd=HERE,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["load"] = load
            print(name, {k: round(v, 3) for k, v in result.items() if isinstance(v, float)})
            runs.setdefault(name, []).append(result)
            if variant == "publish":
                uris = DeltaTable(str(SILVER)).file_uris()
                silver = [u.removeprefix("file://") for u in uris]
                published = _signature(duckdb.connect(), f"read_parquet({silver!r})")
    print("| build | CPU s, median (min-max) | wall s, median | cores wanted | load |")
    print("|---|---:|---:|---:|---|")
    for name, results in runs.items():
        cpu_s = [r["cpu_s"] for r in results]
        loads = [r["load"] for r in results]
        print(
            f"| {name} | {statistics.median(cpu_s):.2f} ({min(cpu_s):.2f}-{max(cpu_s):.2f}) |"
            f" {statistics.median(r['seconds'] for r in results):.2f} |"
            f" {statistics.median(r['cores_wanted'] for r in results):.2f} |"
            f" {min(loads):.1f}-{max(loads):.1f} |"
        )
    # what a publish would still do with the prototype's files: commit them as add actions
    files = sorted(location.glob("*.parquet"))
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")  # Delta's timestamp zone, as the publisher reads
    schema = con.sql(f"select * from read_parquet('{location}/*.parquet') limit 0").arrow().schema
    cpu = time.process_time()
    actions = [add_action(location, path, schema) for path in files]
    create_table_with_add_actions(str(location), DeltaSchema.from_arrow(schema), actions)
    commit = time.process_time() - cpu
    print(f"Delta commit of the prototype's {len(files)} files (add actions): {commit:.3f} CPU s")
    # the same rows and types as the publish wrote (its silver table, read after its child)
    mine = _signature(con, f"read_parquet({[str(p) for p in files]!r})")
    print("the prototype's files hold the published rows and types:", mine == published, mine)
    shutil.rmtree(WORK, ignore_errors=True)


def _signature(con: duckdb.DuckDBPyConnection, source: str) -> tuple[object, ...]:
    """Rows, the sum of their hashes and the column types of ``source``."""
    con.execute("set TimeZone = 'UTC'")
    [(rows, hashed)] = con.sql(f"select count(*), sum(hash({COLUMNS})) from {source}").fetchall()
    return rows, hashed, tuple(str(t) for t in con.sql(f"select * from {source} limit 0").types)


def _megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.parquet")) / 1e6


def main() -> int:
    from transform import delta_files
    from transform.dbt_plugin import BuildPins

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--builds", type=int, default=0, help="then this many rounds of whole builds (children)"
    )
    args = parser.parse_args()
    settings = bench_build.settings_for(SCALE, SCALE / "project")
    bronze = BuildPins(settings).get("orders").relation
    options = delta_files.parquet_options(
        "snappy",
        1,
        settings.publish_parquet_version if settings.publish_parquet_version != "auto" else "v1",
        delta_files.TINY_DICTIONARY_LIMIT,
    )
    runs: dict[str, list[tuple[float, float]]] = {}
    loads = []
    for r in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for name, figure in one_round(bronze, options, WORK, r % 2).items():
            runs.setdefault(name, []).append(figure)
    loads.append(os.getloadavg()[0])
    print(f"{args.rounds} rounds, load (1 min) {min(loads):.1f}-{max(loads):.1f}; {options}")
    print("| step | CPU s, median (min-max) | wall s, median |")
    print("|---|---:|---:|")
    for name, figures in runs.items():
        cpu = [c for c, _ in figures]
        if name.startswith("_"):
            print(f"| {name[1:]} | {statistics.median(cpu):.1f} MB | |")
            continue
        wall = statistics.median(w for _, w in figures)
        print(
            f"| {name} | {statistics.median(cpu):.3f} ({min(cpu):.3f}-{max(cpu):.3f}) |"
            f" {wall:.3f} |"
        )
    if args.builds:
        builds(args.builds, options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
