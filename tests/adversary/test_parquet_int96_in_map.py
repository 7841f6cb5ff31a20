"""An INT96 timestamp in a map (its keys or its values, in a struct too) loads: Spark writes every
``map<_, timestamp>`` so by default (``outputTimestampType=INT96``). Before (review finding s13
revp 01), ``parquet.int96_refusal`` took the map array itself for an INT96 leaf and cast it to
int64: API 400 and loader ``unparseable``, "does not parse as Parquet: Unsupported cast from
map<...> to int64", for a file pyarrow and DuckDB read."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import lakehouse, run

TS = pa.timestamp("us")
US = 1_700_000_000_123_456  # 2023-11-14 22:13:20.123456 UTC
WHEN = dt.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=dt.UTC)
_MAP_V = pa.map_(pa.string(), TS)

CASES: dict[str, tuple[pa.Table, str, Any]] = {
    "map_value": (pa.table({"m": pa.array([[("k", US)]], _MAP_V)}), "m", [("k", WHEN)]),
    "map_key": (
        pa.table({"m": pa.array([[(US, "v")]], pa.map_(TS, pa.string()))}),
        "m",
        [(WHEN, "v")],
    ),
    "struct_of_map": (
        pa.table({"s": pa.array([{"m": [("k", US)]}], pa.struct([("m", _MAP_V)]))}),
        "s",
        {"m": [("k", WHEN)]},
    ),
}


def _int96(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, use_deprecated_int96_timestamps=True)
    return out.getvalue()


@pytest.mark.parametrize("name", sorted(CASES))
def test_int96_timestamp_in_a_map_loads(tmp_path: Path, name: str) -> None:
    table, column, want = CASES[name]
    data = _int96(table)
    schema = pq.ParquetFile(io.BytesIO(data)).schema
    assert "INT96" in {schema.column(i).physical_type for i in range(len(schema))}
    outcome = run(lakehouse(tmp_path), [(name, f"{name}.parquet", data)])[name]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    assert [r[column] for r in outcome.loaded_rows] == [want]


def test_int96_past_microseconds_in_a_map_is_still_refused(tmp_path: Path) -> None:
    """The map's entries are still checked: year 300000 (past microseconds in 64 bits) as a
    map's value refuses the file as in a plain column."""
    far = 9_089_380_393_200_000  # ms: year 290000, wraps read in microseconds
    ms = pa.timestamp("ms")
    table = pa.table({"m": pa.array([[("k", far)]], pa.map_(pa.string(), ms))})
    outcome = run(lakehouse(tmp_path), [("far", "far.parquet", _int96(table))])["far"]
    assert outcome.api_status == 422, outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
    assert "INT96" in outcome.refused["reason"]
