"""A Parquet time of day outside the day: DuckDB (as PostgreSQL) writes ``TIME '24:00:00'``
(86,400,000,000 microseconds), and pyarrow writes any time32/time64 integer. Arrow's cast to
text, bronze's form of a time, printed such a value as an error text, so bronze stored
``'<value out of range: 86400000000>'`` after a 202, at any depth, and in a column declared
``time`` too (review finding auditE 11, HIGH). Both refuse such a file now, naming the record,
the column and the value (``lakehouse.parquet.Values``); times within the day load as before.
"""

from __future__ import annotations

import io

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _duckdb_midnight(tmp: str) -> bytes:
    path = f"{tmp}/t.parquet"
    duckdb.sql(f"copy (select 1 as id, time '24:00:00' as t) to '{path}'")
    with open(path, "rb") as f:
        return f.read()


US, MS = pa.time64("us"), pa.time32("ms")
CASES = {
    "flat_us": (pa.table({"t": pa.array([1, 86_400_000_000], US)}), "record 2, column 't'"),
    "negative_ms": (pa.table({"t": pa.array([None, -1], MS)}), "record 2, column 't'"),
    "in_a_list": (
        pa.table({"l": pa.array([[0], [86_400_000_000, 1]], pa.list_(US))}),
        "record 2, column 'l'",
    ),
    "in_a_struct": (
        pa.table({"s": pa.array([{"a": 86_400_000}], pa.struct([("a", MS)]))}),
        "record 1, column 's'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_time_outside_the_day_refuses_the_file(module_lakehouse: Settings, case: str) -> None:
    table, said = CASES[case]
    name = f"time_{case}"
    outcome = run(module_lakehouse, [(name, "f.parquet", _parquet(table))], rows=False)[name]
    assert outcome.api_status == 422, outcome.api_detail
    assert "is outside the day" in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "202, then an error text stored as the time"
    assert outcome.refused["kind"] == "type_conflict", outcome.refused
    assert said in outcome.refused["reason"], outcome.refused


def test_duckdb_midnight_and_times_within_the_day(module_lakehouse: Settings, tmp_path) -> None:
    inside = pa.table({"t": pa.array([0, 86_399_999_999, None], US)})
    files = [
        ("time_duckdb_2400", "a.parquet", _duckdb_midnight(str(tmp_path))),
        ("time_inside", "b.parquet", _parquet(inside)),
    ]
    outcomes = run(module_lakehouse, files, rows=False)
    midnight = outcomes["time_duckdb_2400"]
    assert midnight.api_status == 422 and midnight.refused is not None
    assert "86400000000 us after midnight" in midnight.refused["reason"]
    kept = outcomes["time_inside"]
    assert kept.api_status == 202 and kept.refused is None, kept.refused
    stored = bronze_table(module_lakehouse, "time_inside").column("t").to_pylist()
    assert stored == ["00:00:00.000000", "23:59:59.999999", None]
