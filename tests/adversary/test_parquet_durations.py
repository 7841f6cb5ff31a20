"""Parquet durations (``docs/loading.md``, Parquet): bronze stores a duration as the text of its
exact seconds with its unit's digits (``90 seconds``, ``0.000000090 seconds``), at any depth,
alike in the API's check and the loader. Before, a duration was stored as its bare count: 90 s
and 90 ns were both ``'90'`` (review finding auditL 07), and pandas' timedeltas (nanoseconds)
mixed scales with other files' seconds in one column without a word.
"""

from __future__ import annotations

import io
from datetime import timedelta

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import bronze_table, declare, run

from lakehouse import parquet
from lakehouse.settings import Settings

_ENTRY = pa.struct([("d", pa.duration("ms")), ("m", pa.map_(pa.string(), pa.duration("us")))])


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def test_each_unit_keeps_its_scale(module_lakehouse: Settings) -> None:
    table = "durations_units"
    for unit in ("s", "ms", "us", "ns"):
        data = pa.table(
            {"c": pa.array([90, -90, None], pa.duration(unit)), "unit": [unit] * 3, "i": [0, 1, 2]}
        )
        outcome = run(module_lakehouse, [(table, f"{unit}.parquet", _parquet(data))], rows=False)
        assert outcome[table].api_status == 202, outcome[table].api_detail
        assert outcome[table].refused is None
    stored = {
        (r["unit"], r["i"]): r["c"] for r in bronze_table(module_lakehouse, table).to_pylist()
    }
    assert stored == {
        ("s", 0): "90 seconds",
        ("s", 1): "-90 seconds",
        ("ms", 0): "0.090 seconds",
        ("ms", 1): "-0.090 seconds",
        ("us", 0): "0.000090 seconds",
        ("us", 1): "-0.000090 seconds",
        ("ns", 0): "0.000000090 seconds",
        ("ns", 1): "-0.000000090 seconds",
        **{(u, 2): None for u in ("s", "ms", "us", "ns")},
    }
    # the text DuckDB casts to an interval (to its microseconds)
    with duckdb.connect() as db:
        cast = db.execute("select '0.090 seconds'::interval, '-90 seconds'::interval").fetchone()
    assert cast == (timedelta(milliseconds=90), timedelta(seconds=-90))


def test_nested_durations_and_the_text_of_a_nested_value(module_lakehouse: Settings) -> None:
    """In a list, a struct and a map the same text; a nested value meeting a text column is its
    JSON text with the same strings."""
    entries = pa.array(
        [[{"d": 1500, "m": [("k", 3)]}], None, [None, {"d": None, "m": None}]],
        pa.list_(_ENTRY),
    )
    table = "durations_nested"
    outcome = run(
        module_lakehouse,
        [(table, "a.parquet", _parquet(pa.table({"e": entries, "i": [0, 1, 2]})))],
        rows=False,
    )
    assert outcome[table].api_status == 202 and outcome[table].refused is None
    rows = sorted(bronze_table(module_lakehouse, table).to_pylist(), key=lambda r: r["i"])
    assert [r["e"] for r in rows] == [
        [{"d": "1.500 seconds", "m": [("k", "0.000003 seconds")]}],
        None,
        [None, {"d": None, "m": None}],
    ]
    # the same list into a column held as text: the JSON text of the plain values
    texts = parquet.json_texts(parquet.plain_values(entries)).to_pylist()
    assert texts == [
        '[{"d":"1.500 seconds","m":[{"key":"k","value":"0.000003 seconds"}]}]',
        None,
        '[null,{"d":null,"m":null}]',
    ]


def test_declared_types_judge_the_text_alike(module_lakehouse: Settings) -> None:
    """Declared text: stored; declared bigint: the API refuses, and the loader (quarantine)
    too, for the same reason (the count is no value of the column's)."""
    data = _parquet(pa.table({"c": pa.array([90], pa.duration("s"))}))
    declare(module_lakehouse, "durations_text", {"c": "varchar"}, "quarantine")
    declare(module_lakehouse, "durations_int", {"c": "bigint"}, "quarantine")
    outcome = run(
        module_lakehouse,
        [("durations_text", "a.parquet", data), ("durations_int", "a.parquet", data)],
    )
    assert outcome["durations_text"].api_status == 202
    assert [r["c"] for r in outcome["durations_text"].loaded_rows or []] == ["90 seconds"]
    refused = outcome["durations_int"]
    assert refused.api_status == 422 and refused.refused is not None, refused
    # judged by its text, as the loader judges it (lakehouse.parquet.value_texts)
    assert "'90 seconds' does not fit BIGINT" in str(refused.api_detail), refused.api_detail
    assert "'90 seconds' does not fit BIGINT" in refused.refused["reason"], refused.refused
    assert refused.loaded_rows is None


def test_list_views_of_durations() -> None:
    """A list view (pyarrow keeps it in the file's Arrow schema) as a list of the same text."""
    for view in (pa.list_view, pa.large_list_view):
        values = pa.array([[1, 2], None, [3], []], view(pa.duration("s"))).slice(1)
        assert parquet.plain_values(values).to_pylist() == [None, ["3 seconds"], []]


def test_interval_text() -> None:
    """Parquet holds no Arrow interval (pyarrow cannot write one); should one reach bronze, its
    parts are kept exactly, each with its sign."""
    values = pa.array(
        [pa.MonthDayNano([1, -2, -3]), None, pa.MonthDayNano([0, 0, 1_500_000_000])],
        pa.month_day_nano_interval(),
    )
    assert parquet.plain_values(values).to_pylist() == [
        "1 months -2 days -0.000000003 seconds",
        None,
        "0 months 0 days 1.500000000 seconds",
    ]
