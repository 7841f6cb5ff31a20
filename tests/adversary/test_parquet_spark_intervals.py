"""Spark (3.2 on) writes its ANSI intervals to Parquet as bare counts: ``INTERVAL YEAR TO
MONTH`` as its months in an unannotated ``INT32``, ``INTERVAL DAY TO SECOND`` as its
microseconds in an unannotated ``INT64``; the unit is only in the file's Spark row metadata
(``org.apache.spark.sql.parquet.row.metadata``). Before (review finding s13 revp 02, MED) bronze
stored the counts as integers: 1 year 2 months as 14, 90 s as 90000000, without a word. Now a
one, at any depth (a struct's field, a list's items, a map's keys or values), is stored as its
interval's text (the form of an Arrow interval and of a duration, which DuckDB casts with
``::INTERVAL``), by the API's check and the loader alike.

Files (tests/data/parquet-spark, tests/data/README.md): written by Spark 4.3.0
(``tools/gen_spark_intervals.py``)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import bronze_table, declare, run

from lakehouse.parquet import SPARK_ROW_KEY
from lakehouse.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "parquet-spark"
FLAT = (DATA / "spark_intervals.parquet").read_bytes()
NESTED = (DATA / "spark_intervals_nested.parquet").read_bytes()


def test_a_spark_interval_is_stored_as_its_interval(module_lakehouse: Settings) -> None:
    outcome = run(module_lakehouse, [("sp_iv", "f.parquet", FLAT)], rows=False)["sp_iv"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    bronze = bronze_table(module_lakehouse, "sp_iv")
    assert pa.types.is_string(bronze.schema.field("ym").type), bronze.schema
    rows = sorted(bronze.to_pylist(), key=lambda r: r["id"])
    # before: 14, 93784000005, 36, 90000000, -86400000001, -1
    assert {k: v for k, v in rows[0].items() if not k.startswith("_")} == {
        "id": 1,
        "ym": "14 months 0 days 0.000000000 seconds",
        "dt": "93784.000005 seconds",
        "y": "36 months 0 days 0.000000000 seconds",
        "s": "90.000000 seconds",
        "neg_dt": "-86400.000001 seconds",
        "neg_ym": "-1 months 0 days 0.000000000 seconds",
    }
    assert rows[1]["ym"] is None and rows[1]["dt"] is None
    # the texts are the intervals Spark wrote, as DuckDB reads them
    first = [rows[0][c] for c in ("ym", "dt", "neg_dt", "neg_ym")]
    with duckdb.connect() as con:  # its own: no result left on the default connection
        read = con.execute(
            "select ?::INTERVAL = INTERVAL '1 year 2 months', ?::INTERVAL = INTERVAL"
            " '1 day 02:03:04.000005', ?::INTERVAL = -INTERVAL '86400.000001 seconds',"
            " ?::INTERVAL = INTERVAL '-1 month'",
            first,
        ).fetchall()
    assert read == [(True, True, True, True)]


def test_a_nested_spark_interval_is_its_interval(module_lakehouse: Settings) -> None:
    """In a struct, an array and a map (Spark's file): before, 14, 90000000, 86400000000."""
    outcome = run(module_lakehouse, [("sp_ivn", "f.parquet", NESTED)])["sp_ivn"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    [row] = outcome.loaded_rows or []
    assert row["st"] == {"ym": "14 months 0 days 0.000000000 seconds"}
    assert row["arr"] == ["90.000000 seconds"]
    assert row["m"] == [("k", "86400.000000 seconds")]


def _spark_file(table: pa.Table, spark_fields: list[dict[str, object]]) -> bytes:
    """A Parquet file of ``table`` with Spark's row metadata saying ``spark_fields`` (pyarrow
    writes a schema's key-value metadata only beside its own Arrow schema, which says the
    same integers)."""
    row = {"type": "struct", "fields": spark_fields}
    table = table.replace_schema_metadata(
        {"org.apache.spark.version": "4.3.0", SPARK_ROW_KEY: json.dumps(row)}
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=2)
    return sink.getvalue()


def test_nulls_at_every_depth_and_row_groups(module_lakehouse: Settings) -> None:
    """Null structs, lists, items and map values, over row groups of two records (slices)."""
    ym = {"type": "struct", "fields": [{"name": "ym", "type": "interval year to month"}]}
    table = pa.table(
        {
            "id": pa.array([1, 2, 3, 4, 5], pa.int32()),
            "st": pa.array(
                [{"ym": 1}, None, {"ym": None}, {"ym": -13}, {"ym": 0}],
                pa.struct([("ym", pa.int32())]),
            ),
            "arr": pa.array([[1], None, [None, 2], [], [-1]], pa.list_(pa.int64())),
            "m": pa.array(
                [[("a", 1)], None, [("b", None)], [], [("c", 3)]],
                pa.map_(pa.string(), pa.int64()),
            ),
            "n": pa.array([7, 8, 9, 10, 11], pa.int64()),  # an integer Spark calls a bigint
        }
    )
    data = _spark_file(
        table,
        [
            {"name": "id", "type": "integer"},
            {"name": "st", "type": ym},
            {"name": "arr", "type": {"type": "array", "elementType": "interval second"}},
            {
                "name": "m",
                "type": {"type": "map", "keyType": "string", "valueType": "interval minute"},
            },
            {"name": "n", "type": "long"},
        ],
    )
    outcome = run(module_lakehouse, [("sp_nulls", "f.parquet", data)])["sp_nulls"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = sorted(outcome.loaded_rows or [], key=lambda r: r["id"])
    months = " months 0 days 0.000000000 seconds"
    assert [r["st"] for r in rows] == [
        {"ym": "1" + months},
        None,
        {"ym": None},
        {"ym": "-13" + months},
        {"ym": "0" + months},
    ]
    assert [r["arr"] for r in rows] == [
        ["0.000001 seconds"],
        None,
        [None, "0.000002 seconds"],
        [],
        ["-0.000001 seconds"],
    ]
    assert [r["m"] for r in rows] == [
        [("a", "0.000001 seconds")],
        None,
        [("b", None)],
        [],
        [("c", "0.000003 seconds")],
    ]
    assert [r["n"] for r in rows] == [7, 8, 9, 10, 11]


def test_declared_columns_judge_the_interval_text(module_lakehouse: Settings) -> None:
    """Declared bigint: refused by the API and the loader for the interval's text (before:
    the count loaded into it); declared varchar or interval: stored as that text."""
    declare(module_lakehouse, "sp_int", {"ym": "bigint"}, "quarantine")
    declare(module_lakehouse, "sp_text", {"dt": "varchar", "ym": "interval"}, "quarantine")
    outcome = run(module_lakehouse, [("sp_int", "f.parquet", FLAT), ("sp_text", "f.parquet", FLAT)])
    refused = outcome["sp_int"]
    assert refused.api_status == 422 and refused.refused is not None, refused
    said = "'14 months 0 days 0.000000000 seconds' does not fit BIGINT"
    assert said in str(refused.api_detail), refused
    assert said in refused.refused["reason"], refused
    stored = outcome["sp_text"]
    assert stored.api_status == 202 and stored.refused is None, stored.refused
    rows = sorted(stored.loaded_rows or [], key=lambda r: r["id"])
    assert [r["dt"] for r in rows] == ["93784.000005 seconds", None]
    assert [r["ym"] for r in rows] == ["14 months 0 days 0.000000000 seconds", None]
