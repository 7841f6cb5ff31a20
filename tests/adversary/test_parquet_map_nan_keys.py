"""A Parquet map whose float keys are NaN and -NaN, or NaNs of other payloads: every reader of
bronze (DuckDB, so the build; Spark, which normalises NaN keys) takes all NaNs for one key, but
Arrow's grouping told them apart by their bits, so the API took the file (202), the loader
stored it, and DuckDB then refused to read the table ("Arrow map contains duplicate key").
Now such a map is refused as repeating a key, by the API and the loader, at any depth (review
finding auditg 07, HIGH); a map with one NaN key still loads and reads back.
"""

from __future__ import annotations

import io
import struct

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings

NAN = 0x7FF8000000000000  # float("nan")
NEGATIVE_NAN = 0xFFF8000000000000  # -float("nan"), 0.0 * -inf, numpy's -np.nan
OTHER_NAN = 0x7FF8000000000001  # a NaN of another payload
ONE = 0x3FF0000000000000
F64 = pa.float64()
NAN32, NEGATIVE_NAN32 = 0x7FC00000, 0xFFC00000


def _keys(bits: list[int], t: pa.DataType = F64) -> pa.Array:
    form = "<Q" if t == pa.float64() else "<I"
    data = b"".join(struct.pack(form, b) for b in bits)
    return pa.Array.from_buffers(t, len(bits), [None, pa.py_buffer(data)])


def _map(bits: list[int], offsets: list[int], t: pa.DataType = F64) -> pa.MapArray:
    items = pa.array(range(len(bits)), pa.int64())
    return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), _keys(bits, t), items)


def _parquet(column: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(1, len(column) + 1)), "m": column}), out)
    return out.getvalue()


def _in_list(m: pa.MapArray) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array([0, 1, 2], pa.int32()), m)


SHAPES = {
    "-nan": _map([ONE, NAN, NEGATIVE_NAN], [0, 1, 3]),
    "nan-payload": _map([ONE, NAN, OTHER_NAN], [0, 1, 3]),
    "float32": _map([0x3F800000, NAN32, NEGATIVE_NAN32], [0, 1, 3], pa.float32()),
    "in-list": _in_list(_map([ONE, NEGATIVE_NAN, NAN], [0, 1, 3])),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_nan_keys_of_other_bits_are_one_key_refused_by_the_api_and_the_loader(
    module_lakehouse: Settings, shape: str
) -> None:
    data = _parquet(SHAPES[shape])
    with pytest.raises(duckdb.Error, match="duplicate key"):  # to DuckDB: one key twice
        duckdb.from_arrow(pq.read_table(io.BytesIO(data))).fetchall()
    table = f"nan_keys_{shape.replace('-', '_')}"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    assert 400 <= outcome.api_status < 500, outcome.api_detail
    assert "repeats the key nan" in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None, "the loader stored a map no reader of bronze can read"
    assert refused["kind"] == "type_conflict" and "record 2" in refused["reason"], refused


def test_a_map_with_one_nan_key_loads_and_reads_back(module_lakehouse: Settings) -> None:
    data = _parquet(_map([ONE, NEGATIVE_NAN, ONE, NAN], [0, 2, 4]))
    outcome = run(module_lakehouse, [("nan_key_once", "f.parquet", data)], rows=False)[
        "nan_key_once"
    ]
    assert outcome.api_status == 202 and outcome.refused is None, (
        outcome.api_detail,
        outcome.refused,
    )
    con = duckdb.connect()
    con.register("bronze", bronze_table(module_lakehouse, "nan_key_once"))
    rows = con.sql("select id, cardinality(m) from bronze order by id").fetchall()
    assert rows == [(1, 2), (2, 2)]
