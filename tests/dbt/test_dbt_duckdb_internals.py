"""dbt-duckdb's private internals we rely on (transform/_dbt_duckdb_internals.py) are still there.

An upgrade of dbt-duckdb that moves or reshapes them fails here, by name, before it can make a
build read the wrong database or race on source views. Then re-read the module's docstring
against the new version and add it to ``CHECKED_VERSIONS``.
"""

from __future__ import annotations

import inspect
import os
import threading
from importlib.metadata import version
from pathlib import Path

import pytest
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.duckdb.environments import Environment
from dbt.adapters.duckdb.relation import DuckDBRelation
from runtime_support import append_bronze, orders, project_settings, write_project

from lakehouse import Settings
from transform import DbtSession
from transform import _dbt_duckdb_internals as internals

INSTALLED = version("dbt-duckdb")
UPGRADE = (
    f"dbt-duckdb {INSTALLED} (checked: {', '.join(internals.CHECKED_VERSIONS)}) changed "
    "an internal transform/_dbt_duckdb_internals.py relies on"
)


def test_the_connection_manager_still_holds_one_environment_under_a_lock() -> None:
    assert "_ENV" in vars(DuckDBConnectionManager), UPGRADE
    assert isinstance(DuckDBConnectionManager._LOCK, type(threading.RLock())), UPGRADE
    opening = inspect.getsource(DuckDBConnectionManager.open)
    # the environment is replaced only when the credentials change (why we drop it ourselves)
    assert "with cls._LOCK" in opening, UPGRADE
    assert "cls._ENV.creds != credentials" in opening, UPGRADE


def test_sources_of_a_plugin_still_go_through_the_environments_load_source() -> None:
    params = list(inspect.signature(Environment.load_source).parameters)
    assert params == ["self", "plugin_name", "source_config"], UPGRADE
    source = inspect.getsource(DuckDBRelation.create_from_source)
    assert "DuckDBConnectionManager.env().load_source(plugin_name, source_config)" in source, (
        UPGRADE
    )


def test_a_session_routes_load_source_reads_no_environment_and_survives_a_dropped_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(key)
    project = write_project(
        tmp_path / "project",
        {
            "models/staging/stg_orders.sql": "select * from {{ source('bronze', 'orders') }}",
            # what a dbt model run by the session sees of the process environment
            "models/staging/seen_env.py": (
                "import asyncio\nimport os\n\n\n"
                "def model(dbt, session):\n"
                "    value = os.environ.get('LAKEHOUSE_DADOS', 'unset')\n"
                "    # dbt-duckdb opened an event loop for this thread and never closes it\n"
                "    asyncio.get_event_loop().close()\n"
                '    return session.sql("select \'" + value.replace("\'", "\'\'") + "\' as v")\n'
            ),
        },
    )
    settings: Settings = project_settings(tmp_path, project, target="dev")
    append_bronze(settings, "orders", orders(1, 5))
    session = DbtSession(settings)
    before = dict(os.environ)

    first = session.build(["staging"])
    assert first.success, first.failures
    assert dict(os.environ) == before  # nothing rewritten, not even for the run
    assert (settings.dados / "warehouse.duckdb").exists()  # the profile's path came as a var
    env = internals.environment()
    assert env is not None and internals.is_routed(env)
    rows = session_rows(session, "select v from main.seen_env")
    assert rows == [("unset",)]

    internals.drop_environment()
    assert internals.environment() is None
    append_bronze(settings, "orders", orders(6, 5))
    second = session.build(["staging"])
    assert second.success, second.failures
    assert second.read_versions == {"orders": 1}
    assert internals.is_routed(internals.environment())
    assert session_rows(session, "select count(*) from main.stg_orders") == [(10,)]


def session_rows(session: DbtSession, sql: str) -> list[tuple[object, ...]]:
    from transform import dbt_plugin

    conn = dbt_plugin.connection()
    assert conn is not None, "dbt has not opened its DuckDB connection"
    cursor = conn.cursor()
    try:
        return cursor.execute(sql).fetchall()
    finally:
        cursor.close()
