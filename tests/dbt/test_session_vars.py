"""A command's own ``--vars`` reach dbt (``lakehouse build --vars``, docs/dbt.md).

The session passes dbt its own ``--vars`` (where the DuckDB file and dados are); dbt keeps only
the last of two ``--vars``, so a build's ``--vars`` was silently dropped: a model reading
``var('x', 0)`` built with ``--vars '{x: 5}'`` got 0. Now both go in one mapping.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_support import append_bronze, orders, project_settings, write_project

from transform import DbtSession, dbt_plugin
from transform.session import BuildRequest, DbtVarsError, _take_vars


def test_a_builds_vars_reach_its_models(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "project",
        {
            "models/staging/stg_x.sql": (
                "select {{ var('x', 0) }} as x, count(*) as n from {{ source('bronze', 'orders') }}"
            )
        },
    )
    settings = project_settings(tmp_path, project)
    append_bronze(settings, "orders", orders(1, 3))
    session = DbtSession(settings)
    for vars, expected in (('{"x": 5}', 5), ("x: 7", 7), (None, 0)):
        result = session.build(BuildRequest(select=["stg_x"], vars=vars))
        assert result.success, result.failures
        conn = dbt_plugin.connection()
        assert conn is not None
        assert conn.execute("select x, n from main.stg_x").fetchall() == [(expected, 3)], vars
    from transform import _dbt_duckdb_internals

    _dbt_duckdb_internals.drop_environment()


def test_vars_are_taken_out_of_the_arguments_or_refused() -> None:
    assert _take_vars(["build", "--vars", "{a: 1}", "-s", "m"]) == (
        ["build", "-s", "m"],
        {"a": 1},
    )
    assert _take_vars(["build", "--vars={b: 2}"]) == (["build"], {"b": 2})
    assert _take_vars(["build"]) == (["build"], None)
    for bad in ("[1, 2]", "{a: [", "{lakehouse_dados: /elsewhere}"):
        with pytest.raises(DbtVarsError):
            _take_vars(["build", "--vars", bad])
    with pytest.raises(DbtVarsError):
        _take_vars(["build", "--vars"])
