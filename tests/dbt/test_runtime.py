"""The dbt runtime for real: pinned bronze sources, threads, publishing after tests pass.

Each test has its own small project, bronze tables and :class:`transform.session.DbtSession`
(dbt's import is paid once per process; a new session costs a parse), and builds what it needs
first: any test passes alone (``-k``) and in any order (``-p random_order --random-order``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from runtime_support import append_bronze, customers, orders, project_settings, write_project

from lakehouse import Settings
from lakehouse.catalog import table_history
from transform import DbtSession, dbt_plugin

MODELS = {
    "models/staging/stg_orders.sql": """
        select order_id, customer_id, amount_cents, ordered_at
        from {{ source('bronze', 'orders') }}
    """,
    "models/staging/stg_customers.sql": """
        select customer_id, name from {{ source('bronze', 'customers') }}
    """,
    "models/intermediate/int_orders_enriched.sql": """
        select o.*, c.name
        from {{ ref('stg_orders') }} as o
        left join {{ ref('stg_customers') }} as c using (customer_id)
    """,
    "models/marts/customer_revenue.sql": """
        select
            customer_id,
            sum(amount_cents) as revenue_cents,
            count(*) as order_count,
            max(ordered_at)::timestamp as last_ordered_at
        from {{ ref('int_orders_enriched') }}
        group by customer_id
    """,
    "models/marts/order_book.sql": """
        {{ config(materialized='incremental', unique_key='order_id') }}
        select order_id, max(amount_cents) as amount_cents
        from {{ ref('stg_orders') }}
        group by order_id
    """,
    "models/marts/_marts.yml": """
        version: 2
        models:
          - name: order_book
            columns:
              - name: order_id
                data_tests: [unique, not_null]
              - name: amount_cents
                data_tests: [not_null]
    """,
    "models/marts/order_book_summary.sql": """
        select count(*) as orders from {{ ref('order_book') }}
    """,
    # probe/: not published; shows that a write to bronze during a build is not seen by it
    "models/probe/orders_seen_first.sql": """
        {{ config(materialized='table') }}
        select count(*) as n from {{ source('bronze', 'orders') }}
    """,
    "models/probe/bronze_writer.py": """
        import asyncio

        from deltalake import DeltaTable, write_deltalake

        from transform import dbt_plugin


        def model(dbt, session):
            dbt.config(materialized="table")
            dbt.ref("orders_seen_first")
            # in-process: the build's own settings say where bronze is
            path = str(dbt_plugin.current_pins().settings.dados / "bronze" / "orders")
            row = DeltaTable(path).to_pyarrow_table().slice(0, 1)
            write_deltalake(path, row, mode="append")
            # dbt-duckdb opened an event loop for this thread and never closes it
            asyncio.get_event_loop().close()
            return session.sql("select 1 as written")
    """,
    "models/probe/orders_seen_after.sql": """
        -- depends_on: {{ ref('bronze_writer') }}
        {{ config(materialized='table') }}
        select count(*) as n from {{ source('bronze', 'orders') }}
    """,
}


@pytest.fixture
def project(tmp_path: Path) -> tuple[Settings, DbtSession]:
    """Bronze ``orders`` (30 rows, v0) and ``customers`` (3, v0); nothing built yet."""
    settings = project_settings(tmp_path, write_project(tmp_path / "project", MODELS), target="dev")
    append_bronze(settings, "orders", orders(1, 30))
    # partitioned: served through an Arrow dataset; orders through DuckDB's Parquet reader
    append_bronze(settings, "customers", customers(3), partition_by=["name"])
    return settings, DbtSession(settings)


def built(project: tuple[Settings, DbtSession]) -> tuple[Settings, DbtSession]:
    """``project`` after a first build of every published model."""
    _, session = project
    result = session.build(["staging", "intermediate", "marts"])
    assert result.success, result.failures
    return project


def delta(settings: Settings, target: str) -> DeltaTable:
    return DeltaTable(str(settings.dados / target))


def model_rows(relation: str, order_by: str) -> list[dict[str, object]]:
    conn = dbt_plugin.connection()
    assert conn is not None
    cursor = conn.cursor()
    try:
        return (
            cursor.sql(f"select * from {relation} order by {order_by}").to_arrow_table().to_pylist()
        )
    finally:
        cursor.close()


@pytest.mark.slow
def test_build_with_threads_publishes_silver_and_gold(project: tuple[Settings, DbtSession]) -> None:
    settings, session = project
    result = session.build(["staging", "intermediate", "marts"])
    assert result.success, result.failures
    assert result.read_versions == {"customers": 0, "orders": 0}
    assert set(result.published) == {
        "silver/stg_orders",
        "silver/stg_customers",
        "gold/customer_revenue",
        "gold/order_book",
        "gold/order_book_summary",
    }
    assert not (settings.dados / "silver" / "int_orders_enriched").exists()  # intermediate
    revenue = delta(settings, "gold/customer_revenue")
    schema = pa.schema(revenue.schema().to_arrow())
    assert schema.field("revenue_cents").type == pa.int64()  # sum(bigint) is HUGEINT in DuckDB
    assert schema.field("last_ordered_at").type == pa.timestamp("us", tz="UTC")
    protocol = revenue.protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
    assert revenue.to_pyarrow_table()["revenue_cents"].to_pylist() != []
    assert sum(revenue.to_pyarrow_table()["order_count"].to_pylist()) == 30


def test_each_bronze_table_is_served_the_fastest_exact_way(
    project: tuple[Settings, DbtSession],
) -> None:
    settings, _ = built(project)
    pins = dbt_plugin.begin_build(settings)
    orders_pin, customers_pin = pins.get("orders"), pins.get("customers")
    assert orders_pin.files and all(Path(f).is_file() for f in orders_pin.files)
    assert "read_parquet" in orders_pin.relation
    assert customers_pin.files == ()  # partition values live in paths: Arrow reads them
    table_id = delta(settings, "bronze/customers").metadata().id.replace("-", "")
    assert customers_pin.relation == f"__lakehouse_bronze__customers__{table_id}__v0"
    assert model_rows("stg_customers", "customer_id")[0] == {"customer_id": 1, "name": "customer 1"}


def test_a_repeated_build_commits_nothing(project: tuple[Settings, DbtSession]) -> None:
    settings, session = built(project)
    before = {t: delta(settings, t).version() for t in ("silver/stg_orders", "gold/order_book")}
    result = session.build(["staging", "marts"])
    assert result.success, result.failures
    assert set(result.unchanged) == set(result.published)
    assert {t: delta(settings, t).version() for t in before} == before


def test_a_warm_build_writes_its_run_results_and_keeps_the_manifest(
    project: tuple[Settings, DbtSession],
) -> None:
    settings, session = built(project)
    target = settings.dbt_project_dir / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    assert "model.lakehouse.order_book" in manifest["nodes"]
    (target / "run_results.json").unlink()
    result = session.build(["marts"])
    assert result.success, result.failures
    ran = json.loads((target / "run_results.json").read_text())
    ids = {r["unique_id"] for r in ran["results"]}
    assert "model.lakehouse.order_book" in ids and "model.lakehouse.stg_orders" not in ids
    assert json.loads((target / "manifest.json").read_text())["nodes"].keys() == (
        manifest["nodes"].keys()
    )


def test_new_bronze_rows_reach_the_incremental_model_as_appends_and_merges(
    project: tuple[Settings, DbtSession],
) -> None:
    settings, session = built(project)
    append_bronze(settings, "orders", orders(31, 2))
    book_version = delta(settings, "gold/order_book").version()
    result = session.build(["source:bronze.orders+"])
    assert result.success, result.failures
    assert result.read_versions == {"orders": 1}  # stg_customers was not selected
    book = delta(settings, "gold/order_book")
    assert book.version() == book_version + 1
    last = table_history(book, 1)[0]  # an append of DuckDB's file says what it added there
    assert (last["operation"], last["operationParameters"]["mode"]) == ("WRITE", "Append")
    assert last["operationMetrics"]["num_added_rows"] == 2  # only the new orders

    resent = orders(31, 1).set_column(2, "amount_cents", pa.array([999_999], pa.int64()))
    append_bronze(settings, "orders", resent)  # an order sent again, changed
    result = session.build(["source:bronze.orders+"])
    assert result.success, result.failures
    book = delta(settings, "gold/order_book")
    last = book.history(1)[0]
    assert last["operation"] == "MERGE"
    assert last["operationMetrics"]["num_source_rows"] == 1
    published = book.to_pyarrow_table().sort_by("order_id").to_pylist()
    assert published == model_rows("order_book", "order_id")
    assert published[30] == {"order_id": 31, "amount_cents": 999_999}


def test_table_models_publish_only_their_new_rows(project: tuple[Settings, DbtSession]) -> None:
    settings, session = built(project)
    silver = delta(settings, "silver/stg_orders")
    rows_before, version_before = silver.count(), silver.version()
    append_bronze(settings, "orders", orders(40, 3))
    result = session.build(["stg_orders"])
    assert result.success, result.failures
    silver = delta(settings, "silver/stg_orders")  # a table model, rebuilt whole by dbt
    assert silver.version() == version_before + 1
    last = table_history(silver, 1)[0]
    assert (last["operation"], last["operationParameters"]["mode"]) == ("WRITE", "Append")
    assert last["operationMetrics"]["num_added_rows"] == 3  # not the whole table again
    assert silver.count() == rows_before + 3
    again = session.build(["stg_orders"])  # the same content, rebuilt: no commit
    assert again.success, again.failures
    assert delta(settings, "silver/stg_orders").version() == silver.version()


def test_a_build_reads_one_snapshot_while_bronze_changes(
    project: tuple[Settings, DbtSession],
) -> None:
    settings, session = project
    rows_before = delta(settings, "bronze/orders").count()
    version_before = delta(settings, "bronze/orders").version()
    result = session.build(["probe"])
    assert result.success, result.failures
    assert delta(settings, "bronze/orders").count() == rows_before + 1  # written mid-build
    first = model_rows("orders_seen_first", "n")
    after = model_rows("orders_seen_after", "n")
    assert first == after == [{"n": rows_before}]
    assert result.read_versions == {"orders": version_before}
    assert result.published == {}  # probe/ is not a published folder


def test_a_failed_publish_is_redone_by_the_next_build(
    project: tuple[Settings, DbtSession],
) -> None:
    settings, session = built(project)
    append_bronze(settings, "customers", customers(4).slice(3), partition_by=["name"])
    location = settings.dados / "gold" / "customer_revenue"
    shutil.move(location, settings.root / "customer_revenue.moved")
    location.write_text("in the way")  # the publish of this model fails
    result = session.build(["source:bronze.customers+"])
    assert not result.success
    assert any("customer_revenue" in f for f in result.failures)
    assert "gold/customer_revenue" not in result.published
    location.unlink()
    result = session.build(["stg_customers"])  # a build that does not even select it
    assert result.success, result.failures
    assert result.published["gold/customer_revenue"] == 0  # a new table, written again
    revenue = delta(settings, "gold/customer_revenue").to_pyarrow_table()
    assert sorted(revenue["customer_id"].to_pylist()) == [1, 2, 3]  # 4 has no orders yet


def test_a_model_whose_tests_fail_is_not_published(project: tuple[Settings, DbtSession]) -> None:
    settings, session = built(project)
    bad = orders(100, 1).set_column(2, "amount_cents", pa.array([None], pa.int64()))
    append_bronze(settings, "orders", bad)
    book_version = delta(settings, "gold/order_book").version()
    result = session.build(["source:bronze.orders+"])
    assert not result.success
    assert any("not_null_order_book_amount_cents" in f for f in result.failures)
    assert "model.lakehouse.order_book" in result.not_published
    assert "gold/order_book" not in result.published
    assert delta(settings, "gold/order_book").version() == book_version
    assert result.not_published["model.lakehouse.order_book_summary"] == "skipped"
    assert "silver/stg_orders" in result.published  # its own tests passed


def test_source_tests_and_freshness_run_on_the_pinned_tables(
    project: tuple[Settings, DbtSession],
) -> None:
    settings, session = project
    dbt_plugin.begin_build(settings)  # what a build does first: pin this lakehouse's bronze
    outcome = session.invoke(["test", "--select", "source:bronze"])
    assert outcome.success
    statuses = {str(r.status) for r in outcome.result.results}
    assert statuses == {"pass"}


@pytest.mark.slow
def test_a_warm_session_sees_a_model_edited_between_builds(tmp_path: Path) -> None:
    """Builds reuse the last parse's manifest while the project is unchanged; an edited model
    is parsed again before the next build, never built from the stale manifest."""
    project = write_project(
        tmp_path / "project",
        {"models/marts/answer.sql": "select 41 as answer"},
    )
    settings = project_settings(tmp_path, project, target="dev")
    append_bronze(settings, "orders", orders(1, 3))
    session = DbtSession(settings)
    first = session.build(["answer"])
    assert first.success, first.failures
    assert delta(settings, "gold/answer").to_pyarrow_table().to_pylist() == [{"answer": 41}]
    assert session.build(["answer"]).success  # the kept manifest, unchanged project
    (project / "models" / "marts" / "answer.sql").write_text("select 42 as answer, 1 as more")
    edited = session.build(["answer"])
    assert edited.success, edited.failures
    table = delta(settings, "gold/answer").to_pyarrow_table().to_pylist()
    assert table == [{"answer": 42, "more": 1}]
