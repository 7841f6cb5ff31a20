"""The version watermark downstream of an input read another way (docs/dbt.md).

``enriched`` reads an input that records its runs (``stg_orders``, through ``bronze_since``)
and one that does not (``stg_customers``, a table model: ``input_since`` falls back to the
time watermark). A customer renamed changes ``enriched`` although nothing new came through
``stg_orders``; ``downstream`` reads ``enriched`` through ``input_since`` and must hold what
``enriched`` holds after every build (a review found it one name behind: the run's bound
counted the recorded input only).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from runtime_support import append_bronze, bronze_sources, watermark_settings

from lakehouse import Settings
from transform import DbtSession, dbt_plugin

FILES = {
    "models/staging/_sources.yml": bronze_sources("orders", "customers"),
    "models/stg_orders.sql": """
        {{ config(materialized='incremental', incremental_strategy='append') }}
        select order_id, customer_id, _ingested_at
        from {{ bronze_since(source('bronze', 'orders')) }}
    """,
    "models/stg_customers.sql": """
        select customer_id, name, _ingested_at from {{ source('bronze', 'customers') }}
        qualify row_number() over (partition by customer_id order by _ingested_at desc) = 1
    """,
    "models/enriched.sql": """
        {{ config(materialized='incremental', unique_key='order_id') }}
        select o.order_id, c.name, greatest(o._ingested_at, c._ingested_at) as _ingested_at
        from {{ ref('stg_orders') }} as o
        inner join {{ ref('stg_customers') }} as c using (customer_id)
        {% if is_incremental() %}
        where o._ingested_at >= {{ input_since(ref('stg_orders')) }}
            or c._ingested_at >= {{ input_since(ref('stg_customers')) }}
        {% endif %}
    """,
    "models/downstream.sql": """
        {{ config(materialized='incremental', unique_key='order_id') }}
        select order_id, name, _ingested_at from {{ ref('enriched') }}
        {% if is_incremental() %}
        where _ingested_at >= {{ input_since(ref('enriched')) }}
        {% endif %}
    """,
}
T0 = datetime(2026, 3, 1, tzinfo=UTC)


#: ``enriched`` reading both inputs' bounds in one look-up (``inputs_since``, what
#: ``changed_keys`` does): the same rows as one by one
TOGETHER = FILES["models/enriched.sql"].replace(
    """        where o._ingested_at >= {{ input_since(ref('stg_orders')) }}
            or c._ingested_at >= {{ input_since(ref('stg_customers')) }}""",
    """        {% set since = inputs_since([ref('stg_orders'), ref('stg_customers')]) %}
        where o._ingested_at >= {{ since[0] }} or c._ingested_at >= {{ since[1] }}""",
)
assert TOGETHER != FILES["models/enriched.sql"]


@pytest.fixture(params=["one by one", "together"])
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Settings]:
    files = FILES if request.param == "one by one" else {**FILES, "models/enriched.sql": TOGETHER}
    yield watermark_settings(tmp_path, files)
    from transform import _dbt_duckdb_internals

    _dbt_duckdb_internals.drop_environment()


def _stamp(minute: int) -> pa.Array:
    return pa.array([T0 + timedelta(minutes=minute)], pa.timestamp("us", tz="UTC"))


def _customer(settings: Settings, name: str, minute: int) -> None:
    data = {
        "customer_id": pa.array([7], pa.int64()),
        "name": [name],
        "_ingested_at": _stamp(minute),
    }
    append_bronze(settings, "customers", pa.table(data))


def _names(model: str) -> list[tuple[int, str]]:
    conn = dbt_plugin.connection()
    assert conn is not None
    rows = conn.execute(f"select order_id, name from main.{model} order by order_id").fetchall()
    return [(int(i), str(n)) for i, n in rows]


def test_a_change_through_an_unrecorded_input_reaches_downstream(settings: Settings) -> None:
    session = DbtSession(settings)
    order = {
        "order_id": pa.array([1], pa.int64()),
        "customer_id": pa.array([7], pa.int64()),
        "_ingested_at": _stamp(0),
    }
    append_bronze(settings, "orders", pa.table(order))
    _customer(settings, "a", 0)
    assert session.build().success
    for name, minute in (("b", 5), ("c", 10), ("d", 11)):
        _customer(settings, name, minute)  # no new order: only the customer changed
        result = session.build()
        assert result.success, result.failures
        assert _names("enriched") == [(1, name)]
        assert _names("downstream") == _names("enriched")
