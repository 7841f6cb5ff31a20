"""The loader's and the dbt builder's DuckDB databases get Settings' memory limit and spill
folder (lakehouse.duckdb_config; docs/operations.md, Memory)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from runtime_support import append_bronze, orders, project_settings, write_project

from loader.loading import Loader
from transform import DbtSession, dbt_plugin

MODELS = {
    "models/probe/orders_seen.sql": """
        {{ config(materialized='table') }}
        select count(*) as n from {{ source('bronze', 'orders') }}
    """,
}


def test_the_loader_and_the_builder_get_the_limits(tmp_path: Path) -> None:
    settings = project_settings(tmp_path, write_project(tmp_path / "p", MODELS), target="dev")
    settings = settings.model_copy(update={"duckdb_memory_limit": "300MiB"})
    append_bronze(settings, "orders", orders(1, 3))
    result = DbtSession(settings).build(["orders_seen"])
    assert result.success, result.failures
    conn = dbt_plugin.connection()
    assert conn is not None
    cursor = conn.cursor()
    try:
        found = cursor.execute(
            "select current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone()
    finally:
        cursor.close()
    assert found is not None
    assert found[0] == "300.0 MiB"
    assert Path(found[1]).parent == settings.duckdb_temp_dir
    assert Path(found[1]).name.startswith("dbt-")

    loader = Loader(settings)
    db = loader._database()  # the loader's own database, as loading uses it
    got = db.execute(
        "select current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchone()
    assert got is not None and got[0] == "300.0 MiB"
    assert Path(got[1]).name.startswith("loader-")


@pytest.mark.slow
def test_a_re_parse_lets_the_frozen_manifest_go(tmp_path: Path) -> None:
    """After a warm build the session freezes what is alive (transform.session, the collector
    skips it); a changed project is parsed again, and the manifest it replaces is collected."""
    settings = project_settings(tmp_path, write_project(tmp_path / "p", MODELS), target="dev")
    append_bronze(settings, "orders", orders(1, 3))
    session = DbtSession(settings)
    session.invoke(["parse"])
    assert session.build(["orders_seen"]).success
    assert session._kept is not None
    first = weakref.ref(session._kept[1])
    assert gc.get_freeze_count() > 0
    model = settings.dbt_project_dir / "models" / "probe" / "orders_seen.sql"
    model.write_text(model.read_text() + "\n-- changed\n")
    assert session.build(["orders_seen"]).success  # parsed again, then built on the new one
    assert session._kept is not None and session._kept[1] is not first()
    gc.collect()
    assert first() is None  # not kept alive by the freeze
    assert gc.get_freeze_count() > 0  # the new manifest's objects are frozen in turn
