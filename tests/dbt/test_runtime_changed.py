"""Tests and publish of what changed (dbt_project/macros/changed_since.sql, transform.publish).

An incremental model records the watermark of each run; its generic tests (``where:
"__changed_rows__"``) and its publish then look at its rows from there on, until it passed its
tests and was published. A bad row in a new batch still fails its test and blocks the publish,
and the next build tests it again; a changed old row is still published.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from runtime_support import REPO, append_bronze, bronze_sources, project_settings, write_project

from lakehouse import Settings, table_path
from lakehouse.storage import arrow_dataset
from transform import DbtSession, dbt_plugin

PROJECT_YML = """
name: lakehouse
version: "1.0.0"
config-version: 2
profile: lakehouse
model-paths: ["models"]
macro-paths: ["macros"]
data_tests:
  lakehouse:
    +where: "__changed_rows__"
models:
  lakehouse:
    staging:
      +materialized: table
      +meta:
        publish: silver
"""

FILES = {
    "models/staging/_sources.yml": bronze_sources("orders"),
    "models/staging/stg_orders.sql": """
        {{ config(materialized='incremental', unique_key='order_id',
                  incremental_strategy='merge') }}
        select order_id, status, _ingested_at
        from {{ source('bronze', 'orders') }}
        {% if is_incremental() %} where {{ bronze_watermark() }} {% endif %}
        qualify row_number() over (partition by order_id order by _ingested_at desc) = 1
    """,
    "models/staging/_models.yml": """
        version: 2
        models:
          - name: stg_orders
            columns:
              - name: order_id
                data_tests: [unique, not_null]
              - name: status
                data_tests:
                  - accepted_values:
                      arguments:
                        values: [ok, late]
    """,
}

START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    files = {"dbt_project.yml": PROJECT_YML, **FILES}
    for name in ("bronze_watermark.sql", "changed_since.sql"):
        files[f"macros/{name}"] = (REPO / "dbt_project" / "macros" / name).read_text()
    yield project_settings(tmp_path, write_project(tmp_path / "project", files))
    # dbt-duckdb's environment is process-wide: the next module's plain dbt opens its own file
    from transform import _dbt_duckdb_internals

    _dbt_duckdb_internals.drop_environment()


def _batch(settings: Settings, rows: dict[int, str], minutes: int) -> None:
    """Orders ``{order_id: status}`` into bronze, ingested ``minutes`` after START."""
    ids = list(rows)
    append_bronze(
        settings,
        "orders",
        pa.table(
            {
                "order_id": pa.array(ids, pa.int64()),
                "status": pa.array([rows[i] for i in ids], pa.string()),
                "_ingested_at": pa.array(
                    [START + timedelta(minutes=minutes)] * len(ids), pa.timestamp("us", tz="UTC")
                ),
            }
        ),
    )


def _published(settings: Settings) -> dict[int, str]:
    table = DeltaTable(str(table_path(settings, "silver", "stg_orders")))
    rows = arrow_dataset(table).to_table().to_pylist()
    return {int(r["order_id"]): str(r["status"]) for r in rows}


def _entries() -> int:
    conn = dbt_plugin.connection()
    assert conn is not None
    return int(conn.execute("select count(*) from _lakehouse_changed.since").fetchall()[0][0])


def _compiled_test(settings: Settings) -> str:
    found = list((settings.dbt_project_dir / "target" / "run").rglob("accepted_values_*.sql"))
    assert len(found) == 1, found
    return found[0].read_text()


@pytest.mark.slow
def test_tests_and_publish_look_at_what_changed_and_a_bad_new_row_still_blocks(
    settings: Settings,
) -> None:
    session = DbtSession(settings)
    _batch(settings, dict.fromkeys(range(1, 101), "ok"), minutes=0)
    first = session.build()
    assert first.success, first.failures
    assert _published(settings) == dict.fromkeys(range(1, 101), "ok")
    assert _entries() == 0  # published: nothing changed since

    # new orders and a change to an old one (order 1, ingested again)
    _batch(settings, {101: "ok", 102: "ok", 1: "late"}, minutes=30)
    second = session.build()
    assert second.success, second.failures
    assert "_ingested_at >= coalesce(" in _compiled_test(settings)  # the test was scoped
    assert _published(settings) == {**dict.fromkeys(range(1, 103), "ok"), 1: "late"}
    assert _entries() == 0

    # a bad status in a new batch fails its test: nothing published, the watermark kept
    _batch(settings, {103: "bogus", 104: "ok"}, minutes=60)
    bad = session.build()
    assert not bad.success and any("accepted_values" in f for f in bad.failures), bad.failures
    assert "silver/stg_orders" not in bad.published
    assert 103 not in _published(settings)
    assert _entries() > 0

    # later batches that do not touch order 103, the second one past its own look-back
    # window of order 103 (10 minutes): the failed rows are tested again, every time
    for order, minutes in ((105, 90), (106, 120)):
        _batch(settings, {order: "ok"}, minutes=minutes)
        again = session.build()
        assert not again.success and any("accepted_values" in f for f in again.failures)
        assert order not in _published(settings)

    # fixed: order 103 sent again; everything since the failure is published, and forgotten
    _batch(settings, {103: "late"}, minutes=150)
    fixed = session.build()
    assert fixed.success, fixed.failures
    assert _published(settings) == {
        **dict.fromkeys(range(1, 107), "ok"),
        1: "late",
        103: "late",
    }
    assert _entries() == 0

    # a full refresh rebuilds the table (a new one): tested and published whole, the same rows
    refreshed = session.build(full_refresh=True)
    assert refreshed.success, refreshed.failures
    assert _published(settings)[103] == "late" and len(_published(settings)) == 106


def _since_values() -> set[datetime]:
    conn = dbt_plugin.connection()
    assert conn is not None
    return {row[0] for row in conn.execute("select since from _lakehouse_changed.since").fetchall()}


@pytest.mark.slow
def test_a_restart_forgets_what_the_last_process_recorded(settings: Settings) -> None:
    from transform import _dbt_duckdb_internals

    session = DbtSession(settings)
    _batch(settings, dict.fromkeys(range(1, 11), "ok"), minutes=0)
    assert session.build().success
    _batch(settings, {11: "bogus"}, minutes=30)
    assert not session.build().success
    before = _since_values()
    assert before  # the failed build's watermark is kept while the model is not published

    # a new process: dbt-duckdb opens the DuckDB file again, whose tables DuckDB numbers anew
    _dbt_duckdb_internals.drop_environment()
    _batch(settings, {12: "ok"}, minutes=120)
    again = DbtSession(settings).build()
    assert not again.success  # order 11 is still bogus and still tested
    after = _since_values()
    assert not after & before, (before, after)


def test_a_publish_state_from_before_newest_was_recorded_is_rebuilt_not_failed(
    settings: Settings,
) -> None:
    """A warehouse kept across an upgrade holds the publish state as the older runtime wrote
    it, ``(seq, keys)``: it is out of sync (rebuilt from the published table), never updated
    after the Delta commit into a failed build (found in review)."""
    session = DbtSession(settings)
    _batch(settings, dict.fromkeys(range(1, 101), "ok"), minutes=0)
    assert session.build().success
    conn = dbt_plugin.connection()
    assert conn is not None
    state = '_lakehouse_publish."silver__stg_orders__state"'
    conn.execute(f"create or replace table {state} as select seq, keys from {state}")
    for n, minutes in enumerate((30, 60)):
        _batch(settings, {200 + n: "ok"}, minutes=minutes)
        result = session.build()
        assert result.success, result.failures
        assert _published(settings) == {**dict.fromkeys(range(1, 101), "ok"), 200: "ok"} | (
            {201: "ok"} if n else {}
        )
