"""Spark (3.2 on) writes its ANSI intervals to Parquet as bare counts: ``INTERVAL YEAR TO
MONTH`` as its months in an unannotated ``INT32``, ``INTERVAL DAY TO SECOND`` as its
microseconds in an unannotated ``INT64``; the unit is only in the file's Spark row metadata
(``org.apache.spark.sql.parquet.row.metadata``). Before (review finding s13 revp 02, MED) bronze
stored the counts as integers: 1 year 2 months as 14, 90 s as 90000000, without a word. Now a
top-level one is stored as its interval's text (the form of an Arrow interval and of a
duration, which DuckDB casts with ``::INTERVAL``), by the API's check and the loader alike; one
inside a struct, array or map refuses the file naming the column.

Files (tests/data/parquet-spark, tests/data/README.md): written by Spark 4.3.0
(``tools/gen_spark_intervals.py``)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
from adversary_support import bronze_table, declare, run

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


def test_a_nested_spark_interval_refuses_the_file(module_lakehouse: Settings) -> None:
    outcome = run(module_lakehouse, [("sp_ivn", "f.parquet", NESTED)], rows=False)["sp_ivn"]
    assert outcome.api_status == 422, outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
    said = "column 'st': a Spark interval year to month inside a struct, array or map"
    assert said in outcome.refused["reason"], outcome.refused
    assert said in str(outcome.api_detail), outcome.api_detail


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
