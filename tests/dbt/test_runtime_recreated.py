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


def test_a_table_is_brought_up_to_date_not_opened_again(tmp_path: Path) -> None:
    """Between builds a local bronze table's Delta log is read from where the last pin left it
    (the log still holds that commit, byte for byte); the pin is the table's newest version."""
    settings = project_settings(tmp_path, write_project(tmp_path / "p", MODELS), target="dev")
    assert append_bronze(settings, "orders", orders(1, 10)) == 0
    uri = str(table_path(settings, "bronze", "orders"))
    assert dbt_plugin.begin_build(settings).pinned_versions == {"orders": 0}
    kept = dbt_plugin._OPENED[uri][0]
    assert append_bronze(settings, "orders", orders(11, 5)) == 1
    pins = dbt_plugin.begin_build(settings)
    assert pins.pinned_versions == {"orders": 1}
    assert dbt_plugin._OPENED[uri][0] is kept
    assert len(pins.pins["orders"].files) == 2
    assert pins.pins["orders"].dataset.count_rows() == 15  # made when asked for
