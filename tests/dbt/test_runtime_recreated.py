"""A bronze table deleted and re-created between two builds of one warm dbt session.

The re-created table's versions start again at 0, so a view cached by table and version would
still select the old table's files: the second build must read the new table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from runtime_support import append_bronze, orders, project_settings, write_project

from lakehouse import table_path
from transform import DbtSession, dbt_plugin

MODELS = {
    "models/probe/orders_total.sql": """
        {{ config(materialized='table') }}
        select count(*) as n, sum(amount_cents) as cents from {{ source('bronze', 'orders') }}
    """,
}


def total() -> tuple[int, int]:
    conn = dbt_plugin.connection()
    assert conn is not None
    cursor = conn.cursor()
    try:
        row = cursor.execute("select n, cents from orders_total").fetchone()
    finally:
        cursor.close()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("removed", ["table folder", "delta log only"])
def test_a_re_created_table_is_read_anew(tmp_path: Path, removed: str) -> None:
    settings = project_settings(tmp_path, write_project(tmp_path / "p", MODELS), target="dev")
    session = DbtSession(settings)
    assert append_bronze(settings, "orders", orders(1, 10)) == 0
    first = session.build(["orders_total"])
    assert first.success, first.failures
    assert total() == (10, sum(i * 100 for i in range(1, 11)))

    # deleted and re-created under the same name: its versions start again at 0 ("delta log
    # only" leaves the old table's Parquet files in the folder, as `rm -rf _delta_log` does)
    path = table_path(settings, "bronze", "orders")
    shutil.rmtree(path if removed == "table folder" else path / "_delta_log")
    assert append_bronze(settings, "orders", orders(100, 3)) == 0

    second = session.build(["orders_total"])
    assert second.success, second.failures
    assert second.read_versions == {"orders": 0}
    assert total() == (3, sum(i * 100 for i in range(100, 103)))
