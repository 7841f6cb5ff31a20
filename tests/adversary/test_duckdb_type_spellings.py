"""A contract's ``data_type`` in a spelling DuckDB reads as a typed column (its own aliases in
``duckdb_types()``, and SQL spellings its parser reads: PostgreSQL's ``double precision``,
``timestamp without time zone``) is that type to the API and the loader alike (review finding
revc 02, session 13). Before, ``float(53)`` (DuckDB's DOUBLE) was judged FLOAT, a float32:
``3.14159265`` got 422; ``double precision``, ``int64``, ``int32``, ``int16``, ``uint8``,
``uint64``, ``timestamp without time zone`` were names not in the type table, kept as text:
``abc`` got 202 and every value was stored as its text."""

from __future__ import annotations

import datetime as dt
import decimal

import duckdb
import pytest
from adversary_support import declare, run

from lakehouse import dialect
from lakehouse.settings import Settings

#: declared spelling -> (a value the type holds exactly, the Python type bronze gives it)
CASES = {
    "float(53)": ("3.14159265", float),
    "double precision": ("3.14159265", float),
    "int64": ("9000000000", int),
    "int32": ("70000", int),
    "int16": ("300", int),
    "uint8": ("200", int),
    "uint64": ("9000000000", decimal.Decimal),  # UBIGINT: decimal(20,0) in Delta
    "timestamp without time zone": ("2024-01-02 13:45:00", dt.datetime),
    "dec(10,2)": ("12.50", decimal.Decimal),
    "guid": ("4a2f1c3e-7b8d-4e9f-a0b1-c2d3e4f5a6b7", str),  # UUID: its text
}


@pytest.mark.parametrize("declared", CASES)
def test_a_duckdb_spelling_is_its_type_to_the_api_and_the_loader(
    one_lakehouse: Settings, declared: str
) -> None:
    good, kind = CASES[declared]
    table = "t_" + "".join(c if c.isalnum() else "_" for c in declared)
    declare(one_lakehouse, table, {"id": "bigint", "v": declared})
    outcome = run(one_lakehouse, [(table, "t.csv", f"id,v\n1,{good}\n".encode())])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None and outcome.loaded_rows, outcome.refused
    value = outcome.loaded_rows[0]["v"]
    assert isinstance(value, kind), (declared, value)
    (one_lakehouse.dbt_project_dir / "models" / f"{table}.yml").unlink()
    declare(one_lakehouse, "u_" + table, {"id": "bigint", "v": declared}, "quarantine")
    bad = run(one_lakehouse, [("u_" + table, "u.csv", b"id,v\n1,abc\n")])["u_" + table]
    assert bad.api_status == 422, (declared, bad.api_status, bad.api_detail)
    assert bad.refused is not None, "the API refused, the loader took it"


def _duckdb_types() -> list[tuple[str, str]]:
    """Every alias DuckDB knows and the type it names (``typeof``, the name a column gets)."""
    con = duckdb.connect()
    names = con.execute(
        "select distinct type_name from duckdb_types() where database_name = 'system'"
    ).fetchall()
    spellings = [n for (n,) in names] + [
        "double precision",
        "timestamp without time zone",
        "time without time zone",
        "character varying",
        "character",
        "float(1)",
        "float(24)",
        "float(25)",
        "float(53)",
        "dec(12,2)",
        "numeric(38,0)",
    ]
    found = []
    for spelling in spellings:
        try:
            row = con.execute(f"select typeof(null::{spelling})").fetchone()
        except duckdb.Error:  # a type that needs parameters (enum, struct, ...)
            continue
        assert row is not None
        found.append((spelling, str(row[0])))
    return found


#: DuckDB's names that are ours by another spelling
_OURS = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ", "TIME WITH TIME ZONE": "TIMETZ"}


@pytest.mark.parametrize(("spelling", "duck"), _duckdb_types())
def test_every_duckdb_alias_reads_as_duckdb_reads_it(spelling: str, duck: str) -> None:
    if duck == "JSON" or dialect.base_type(duck) in ("STRUCT", "LIST", "MAP", "UNION", "ARRAY"):
        pytest.skip("JSON and nested types: judged by their own rules, not by this alias table")
    assert dialect.type_name(spelling) == _OURS.get(duck, duck), spelling
