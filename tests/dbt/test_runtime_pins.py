"""Two dbt sessions in one process (``lakehouse docs`` or ``build`` beside a running builder).

The bronze pins live in the plugin, process-wide: a second session must not replace them while
the first one's build is still reading bronze.
"""

from __future__ import annotations

import linecache
import sys
import threading
from pathlib import Path

from deltalake import DeltaTable
from runtime_support import append_bronze, orders, project_settings, write_project
from waiting import wait_for

from transform import BuildResult, DbtSession, dbt_plugin

MODELS = {
    "models/probe/orders_seen_first.sql": """
        {{ config(materialized='table') }}
        select count(*) as n from {{ source('bronze', 'orders') }}
    """,
    # holds the build between two reads of bronze until the test lets it go
    "models/probe/gate.py": """
        import asyncio
        import os
        import time

        from transform import dbt_plugin


        def model(dbt, session):
            dbt.config(materialized="table")
            dbt.ref("orders_seen_first")
            root = str(dbt_plugin.current_pins().settings.root)  # the build's own settings
            open(os.path.join(root, "gate-started"), "w").close()
            deadline = time.monotonic() + 120
            while not os.path.exists(os.path.join(root, "gate-go")):
                if time.monotonic() > deadline:
                    raise RuntimeError("the test never opened the gate")
                time.sleep(0.01)
            # dbt-duckdb opened an event loop for this thread and never closes it
            asyncio.get_event_loop().close()
            return session.sql("select 1 as passed")
    """,
    "models/probe/orders_seen_after.sql": """
        -- depends_on: {{ ref('gate') }}
        {{ config(materialized='table') }}
        select count(*) as n from {{ source('bronze', 'orders') }}
    """,
}


def waits_for_the_dbt_lock(thread: threading.Thread) -> bool:
    """Whether ``thread`` is blocked on ``DBT_LOCK`` as ``DbtSession.build`` begins.

    Its innermost Python frame is then ``build`` at the ``with DBT_LOCK`` line (the wait itself
    is in C): it has not pinned anything yet.
    """
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return False
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
    return frame.f_code.co_qualname == "DbtSession.build" and "DBT_LOCK" in line


def seen(relation: str) -> int:
    conn = dbt_plugin.connection()
    assert conn is not None
    cursor = conn.cursor()
    try:
        row = cursor.execute(f"select n from {relation}").fetchone()
    finally:
        cursor.close()
    assert row is not None
    return int(row[0])


def test_a_second_session_does_not_repin_a_running_build(tmp_path: Path) -> None:
    settings = project_settings(tmp_path, write_project(tmp_path / "p", MODELS), target="dev")
    first_version = append_bronze(settings, "orders", orders(1, 30))
    results: dict[str, BuildResult] = {}

    def build(name: str, select: list[str]) -> None:
        results[name] = DbtSession(settings).build(select)

    running = threading.Thread(target=build, args=("running", ["probe"]))
    running.start()
    other: threading.Thread | None = None
    try:
        wait_for((tmp_path / "gate-started").exists, 120, "the running build to reach its gate")
        pins = dbt_plugin.current_pins()
        second_version = append_bronze(settings, "orders", orders(31, 5))
        other = threading.Thread(target=build, args=("other", ["orders_seen_first"]))
        other.start()
        # the other session waits for the running build, before pinning anything
        wait_for(lambda: waits_for_the_dbt_lock(other), 60, "the other session to wait")
        assert dbt_plugin.current_pins() is pins and other.is_alive()
    finally:
        (tmp_path / "gate-go").touch()
        running.join(120)
        if other is not None:
            other.join(120)
    assert results["running"].success, results["running"].failures
    assert results["running"].read_versions == {"orders": first_version}
    assert seen("orders_seen_after") == 30  # the running build's snapshot, all the way
    assert results["other"].success, results["other"].failures
    assert results["other"].read_versions == {"orders": second_version}
    assert seen("orders_seen_first") == 35
    assert DeltaTable(str(settings.dados / "bronze" / "orders")).version() == second_version
