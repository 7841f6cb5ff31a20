"""The warm test fast path and a project's own ``get_where_subquery``.

A kept compiled test SQL is used again only while nothing compiled into it can have changed.
The lakehouse's own ``__changed_rows__`` scoping (dbt_project/macros/changed_since.sql) reads
nothing at compile time but the relation's columns, so it keeps the path; a project's variant
may read a value at compile time (here: the newest batch), which a kept SQL would repeat, so
it turns the path off (a review found a failing test reported as passed that way).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from runtime_support import REPO, append_bronze, bronze_sources, project_settings, write_project

from transform import DbtSession
from transform.fast_tests import KNOWN_MACROS, macro_digest

SOURCES = bronze_sources("orders")
MODELS = """
version: 2
models:
  - name: stg_orders
    columns:
      - name: note
        data_tests:
          - not_null:
              config: {where: "%s"}
"""
OWN_WHERE = """
{% macro duckdb__get_where_subquery(relation) %}
    {%- set where = config.get('where', '') -%}
    {%- if '__current_batch__' in where and execute -%}
        {%- set b = run_query('select max(batch) from ' ~ relation).columns[0].values()[0] -%}
        {%- set where = where | replace('__current_batch__', b) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}
"""


def _rows(ids: list[int], note: str | None, batch: str) -> pa.Table:
    return pa.table(
        {
            "order_id": pa.array(ids, pa.int64()),
            "note": pa.array([note] * len(ids), pa.string()),
            "batch": pa.array([batch] * len(ids), pa.string()),
        }
    )


def _project(root: Path, where: str, macros: str) -> Any:
    files = {
        "models/staging/_sources.yml": SOURCES,
        "models/stg_orders.sql": "select * from {{ source('bronze', 'orders') }}",
        "models/_models.yml": MODELS % where,
        "macros/where.sql": macros,
    }
    return project_settings(root, write_project(root / "project", files))


def _test_statuses(settings: Any) -> list[str]:
    results = json.loads((settings.dbt_project_dir / "target" / "run_results.json").read_text())
    return [r["status"] for r in results["results"] if "not_null_stg_orders_note" in r["unique_id"]]


@pytest.mark.slow
def test_a_projects_own_where_macro_is_never_served_from_a_kept_sql(tmp_path: Path) -> None:
    settings = _project(tmp_path, "batch = '__current_batch__'", OWN_WHERE)
    session = DbtSession(settings)
    append_bronze(settings, "orders", _rows([1, 2], "ok", "b1"))
    assert session.build().success
    assert session.build().success  # dbt ran the test under this manifest: it would be kept
    append_bronze(settings, "orders", _rows([3, 4], None, "b2"))
    result = session.build()
    assert not result.success  # the newest batch has null notes: dbt's verdict
    assert _test_statuses(settings) == ["fail"]
    assert session._fast is None or not session._fast.served


def test_the_lakehouse_scoping_keeps_the_fast_path(tmp_path: Path) -> None:
    shipped = (REPO / "dbt_project" / "macros" / "changed_since.sql").read_text()
    settings = _project(tmp_path, "__changed_rows__", shipped)
    session = DbtSession(settings)
    append_bronze(settings, "orders", _rows([1, 2], "ok", "b1"))
    assert session.build().success
    assert session.build().success
    assert session._fast is not None and session._fast.served  # served from the kept SQL
    append_bronze(settings, "orders", _rows([3], None, "b2"))
    result = session.build()
    assert not result.success and _test_statuses(settings) == ["fail"]


def test_the_known_digests_are_the_shipped_macros() -> None:
    """dbt keeps a macro's text from ``{%`` to ``%}`` (``macro_sql``); the digests must be of
    the sample project's current macros, or the sample loses the fast path (never the reverse)."""
    import re

    text = (REPO / "dbt_project" / "macros" / "changed_since.sql").read_text()
    found = {
        m.group(1): macro_digest(m.group(0))
        for m in re.finditer(r"\{%-?\s*macro\s+(\w+)\(.*?\{%-?\s*endmacro\s*-?%\}", text, re.S)
    }
    assert {name: found.get(name) for name in KNOWN_MACROS} == KNOWN_MACROS


def test_a_groups_scopes_are_computed_once_and_agree(tmp_path: Path) -> None:
    """The group's query reads each relation's ``__changed_rows__`` scope from one CTE
    (fast_tests.hoist_scopes) instead of a ``duckdb_tables()`` join per test; on data where
    the scope matters (entries of the table as it is, and of a table since rebuilt), every
    test counts the same failures as its own SQL does."""
    import duckdb
    import jinja2

    from transform.fast_tests import hoist_scopes, wrap
    from transform.publish import CHANGED_SINCE_DDL

    text = (REPO / "dbt_project" / "macros" / "changed_since.sql").read_text()
    macros: Any = jinja2.Environment(extensions=["jinja2.ext.do"]).from_string(text).module

    class Relation:
        def __init__(self, name: str) -> None:
            self.database, self.schema, self.identifier = "memory", "main", name

        def __str__(self) -> str:
            return f'"memory"."main"."{self.identifier}"'

    con = duckdb.connect()
    con.execute(CHANGED_SINCE_DDL)
    for name in ("a", "b"):
        con.execute(f"create table {name} (k int, _ingested_at timestamptz)")
        con.execute(
            f"insert into {name} select i % 7, timestamptz '2026-01-01' + i * interval 1 hour"
            " from range(100) t(i)"
        )
    con.execute(
        "insert into _lakehouse_changed.since select database_name, schema_name, table_name,"
        " table_oid, timestamptz '2026-01-03' from duckdb_tables() where table_name = 'a'"
    )
    con.execute("create or replace table b as select * from b")  # its entry no longer counts
    con.execute(
        "insert into _lakehouse_changed.since"
        " values ('memory', 'main', 'b', -1, timestamptz '2026-01-04')"
    )

    class Config:
        limit = None
        fail_calc = "count(*)"
        warn_if = "!= 0"
        error_if = "!= 0"

    tests = [
        f"select k from (select * from {r} where _ingested_at >= {macros.changed_since(r)}) s"
        f" where {cond}"
        for r in (Relation("a"), Relation("b"))
        for cond in ("k = 3", "k is not null", "k > 5")
    ]
    one_by_one = [_one(con, wrap(sql, Config)) for sql in tests]
    assert one_by_one[:3] != one_by_one[3:]  # the scopes differ: a's is narrower
    scopes: dict[str, str] = {}
    hoisted = [hoist_scopes(sql, scopes) for sql in tests]
    assert len(scopes) == 2 and all("duckdb_tables" not in sql for sql in hoisted)
    ctes = ", ".join(f"{n} as materialized (select {t} as since)" for t, n in scopes.items())
    sources = ", ".join(f"({wrap(sql, Config)}) as t{i}" for i, sql in enumerate(hoisted))
    selects = ", ".join(f"t{i}.failures" for i in range(len(tests)))
    together = con.execute(f"with {ctes} select {selects} from {sources}").fetchall()
    assert list(together[0]) == one_by_one


def _one(con: Any, sql: str) -> Any:
    rows = con.execute(sql).fetchall()
    assert len(rows) == 1
    return rows[0][0]
