"""A Parquet map whose keys are float16 (Parquet's FLOAT16 logical type; pyarrow writes and reads
it): Arrow has no ``add`` nor ``is_nan`` kernel for half floats, so the repeated-key check
(``lakehouse.parquet``'s map rule, -0.0 as 0.0, every NaN one key) raised, and every such file,
whatever its keys, was refused: API 400 "the file does not parse as Parquet: Function 'add' has
no kernel ...", loader "a value of record 1 or after cannot be stored" (review finding audits 01
of session 11, number 02). The keys are now compared as float32 (exact: every half float is
one), by the rules float32 keys have: distinct keys load (bronze keeps them as ``FLOAT``), a
repeated one refuses the file naming it, by the API and the loader alike.
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

ONE, TWO, HALF = 0x3C00, 0x4000, 0x3800
ZERO, NEGATIVE_ZERO = 0x0000, 0x8000
NAN, NEGATIVE_NAN, OTHER_NAN = 0x7E00, 0xFE00, 0x7E01


def _map(bits: list[int], offsets: list[int]) -> pa.MapArray:
    data = b"".join(struct.pack("<H", b) for b in bits)
    keys = pa.Array.from_buffers(pa.float16(), len(bits), [None, pa.py_buffer(data)])
    items = pa.array(range(len(bits)), pa.int64())
    return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), keys, items)


def _parquet(column: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(1, len(column) + 1)), "m": column}), out)
    data = out.getvalue()
    assert pq.read_schema(io.BytesIO(data)).field("m").type.key_type == pa.float16()
    return data


def test_a_map_of_distinct_float16_keys_loads_and_reads_back(module_lakehouse: Settings) -> None:
    # 0.0 and a NaN in one map, -0.0 and another NaN in the next: distinct within each map
    data = _parquet(_map([ONE, TWO, ZERO, NAN, HALF, NEGATIVE_ZERO, NEGATIVE_NAN], [0, 4, 7]))
    table = "float16_keys"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    stored = bronze_table(module_lakehouse, table).sort_by("id")
    assert stored.schema.field("m").type.key_type == pa.float32()
    rows = [sorted(dict(m).values()) for m in stored.column("m").to_pylist()]
    assert rows == [[0, 1, 2, 3], [4, 5, 6]]
    con = duckdb.connect()
    con.register("bronze", stored)
    assert con.sql("select id, cardinality(m) from bronze order by id").fetchall() == [
        (1, 4),
        (2, 3),
    ]


REPEATED = {
    # named by its text, a float's shortest (1.0 is 1), as Arrow prints it (auditp 07)
    "one": ([HALF, ONE, ONE], "1"),
    "zero": ([HALF, ZERO, NEGATIVE_ZERO], "0"),
    "nan": ([HALF, NAN, NEGATIVE_NAN], "nan"),
    "nan-payload": ([HALF, NAN, OTHER_NAN], "nan"),
}


@pytest.mark.parametrize("case", list(REPEATED))
def test_a_map_repeating_a_float16_key_is_refused_naming_it(
    module_lakehouse: Settings, case: str
) -> None:
    bits, key = REPEATED[case]
    data = _parquet(_map(bits, [0, 1, 3]))
    table = f"float16_repeated_{case.replace('-', '_')}"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    assert outcome.api_status == 422, outcome.api_detail
    assert f"repeats the key {key}:" in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None, "the loader stored a map no reader of bronze can read"
    assert refused["kind"] == "type_conflict", refused
    assert f"record 2, column 'm': a map repeats the key {key}" in refused["reason"], refused
