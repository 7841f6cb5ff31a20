"""A contract's ``data_type`` is read as DuckDB reads it (review findings revl 17 and 03,
session 14).

17: a type DuckDB refuses (its parser: ``bigint not null``, ``integer unsigned``, ``int primary
key``, ``int(11)``, ``timestamp(12)``; its binder: ``float(54)``, ``tinyint(1)``) is a misshapen
contract: the API answers 503 naming the column and DuckDB's words, the loader holds the files.
Before, it was "a type name not in the table", kept as text: ``abc`` under ``bigint not null``
202 and stored, the declared type gone without a word.

03: ``timestamp(p)``/``datetime(p)`` name DuckDB's type by ``p`` (0 ``TIMESTAMP_S``, 1-3
``TIMESTAMP_MS``, 4-6 ``TIMESTAMP``, 7-9 ``TIMESTAMP_NS``), as ``timestamp_ms`` does: one rule
for both spellings. Before, ``timestamp(3)`` was ``TIMESTAMP`` (microseconds): ``.123456``,
which no ``TIMESTAMP_MS`` holds, was taken as fitting it. Since session 15 (fixg)
``TIMESTAMP_S`` and ``_MS`` are timestamp columns of their own rule
(test_declared_timestamp_precision.py); ``TIMESTAMP_NS`` is kept as text.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from adversary_support import declare, held_as_misshapen, lakehouse, run

from lakehouse import dialect
from lakehouse.settings import Settings


def _duckdb_type(spelling: str) -> str:
    table = duckdb.connect().sql(f"select typeof(cast(NULL as {spelling})) t").to_arrow_table()
    return str(table.column(0)[0])


@pytest.mark.parametrize(
    ("declared", "words"),
    [
        ("bigint not null", 'syntax error at or near "not"'),
        ("integer unsigned", 'syntax error at or near "unsigned"'),
        ("int primary key", 'syntax error at or near "primary"'),
        ("timestamp not null", 'syntax error at or near "not"'),
        ("big int", 'syntax error at or near "int"'),
        ("int(11)", 'syntax error at or near "("'),
        ("timestamp(12)", "TIMESTAMP only supports until nano-second precision (9)"),
        ("float(54)", "precision for type float must be less than 54 bits"),
        ("tinyint(1)", 'Type "tinyint" does not take any type parameters'),
        ("varbinary(16)", 'Type "varbinary" does not take any type parameters'),
        ("int)) t; select 1 --", "it is not one type"),
        # a comment ending the query (before-stop read readA 04: taken as a type, then text)
        ("bigint)) t --", "it is not one type"),
        ("bigint)) t /* x */", 'syntax error at or near ")"'),
        # more than a type: bound, never run (run, error() would raise from contract reading)
        ("int)) t, error('boom') x, typeof(cast(NULL as int", "it is not one type"),
    ],
)
def test_a_type_duckdb_refuses_is_a_misshapen_contract(
    one_lakehouse: Settings, declared: str, words: str
) -> None:
    models = one_lakehouse.dbt_project_dir / "models"
    (models / "t.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n"
        f'        columns:\n          - {{name: n, data_type: "{declared}"}}\n'
    )
    detail = held_as_misshapen(one_lakehouse, "t", b"n\nabc\n")
    assert "t.yml" in detail and "'n'" in detail and words in detail, detail


@pytest.mark.parametrize("declared", ["money", "interval", "struct(a int)", "bigint[]"])
def test_a_type_duckdb_reads_or_does_not_know_is_no_misshapen_contract(
    tmp_path: Path, declared: str
) -> None:
    """A name DuckDB knows no type of (its catalog's error) stays a type name not in the
    table, kept as text; a type it reads keeps its rule."""
    settings = lakehouse(tmp_path)
    declare(settings, "t", {"n": declared}, "rescue")
    out = run(settings, [("t", "a.csv", b"n\nabc\n")])["t"]
    assert out.api_status == 202, (out.api_status, out.api_detail)


@pytest.mark.parametrize(
    "spelling",
    [
        "timestamp(0)",
        "timestamp(1)",
        "timestamp(3)",
        "datetime(3)",
        "timestamp (3) without time zone",
        "timestamp(4)",
        "timestamp(6)",
        "timestamp(7)",
        "timestamp(9)",
        "TIMESTAMP( 3 )",
    ],
)
def test_timestamp_precision_names_duckdbs_type(spelling: str) -> None:
    assert dialect.type_name(spelling) == _duckdb_type(spelling), spelling


@pytest.mark.parametrize(
    "spelling", ["timestamp(0)", "timestamp(3)", "timestamp_ms", "timestamp_s"]
)
def test_a_timestamp_of_another_precision_never_takes_microseconds(
    tmp_path: Path, spelling: str
) -> None:
    """``.123456`` is no value of TIMESTAMP_S/_MS: never stored as a timestamp there, whichever
    spelling named the type (a mismatch: API 422, the loader's quarantine)."""
    settings = lakehouse(tmp_path)
    declare(settings, "t", {"ts": spelling}, "quarantine")
    out = run(settings, [("t", "a.csv", b"ts\n2020-01-01 00:00:00.123456\n")])["t"]
    assert out.api_status == 422 and out.refused is not None, (out.api_status, out.refused)


def test_timestamp_6_is_a_timestamp(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    declare(settings, "t", {"ts": "timestamp(6)"}, "quarantine")
    out = run(settings, [("t", "a.csv", b"ts\n2020-01-01 00:00:00.123456\n")])["t"]
    stored = out.loaded_rows and [r["ts"] for r in out.loaded_rows]
    assert out.api_status == 202 and stored and stored[0].microsecond == 123456, stored
