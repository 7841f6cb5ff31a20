"""Parquet columns of logical type UNKNOWN (always null, by the format) that hold values: Arrow
and DuckDB read them as nulls without looking at the pages. Two files written by parquet-mr 1.12
for Apache Drill's tests (apache/drill@051b1649a0, exec/java-exec/src/test/resources/parquet/,
Apache-2.0, embedded) hold INTERVAL values as ``fixed_len_byte_array(12)`` of logical type
UNKNOWN: ``nullable_interval_dictionary.parquet`` (optional: 4 rows, 3 values) was loaded as 4
nulls after a 202, without a word (review finding auditE 05, HIGH); ``interval_dictionary.parquet``
(required) gave the API a 500 (auditE 04). Both are refused alike now
(``lakehouse.parquet.unread_values``), and the null columns writers really write still load.
"""

from __future__ import annotations

import base64
import io

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings

COLUMN = "_INTERVAL_fixed_len_byte_array_12"

NULLABLE = bytes.fromhex(
    "5041523115041548154815a1dab3c40b3c15061500000031323334353637383930616201010101010101010101010100"
    "00000000000000000000001506150c150c5c1508150215081510150415000000030702032400191c1676153616000000"
    "1502192c4817506172717565744c6f676963616c446174615479706573150200150e1518150218215f494e5445525641"
    "4c5f66697865645f6c656e5f627974655f61727261795f3132252a4cbc0000001608191c191c26761c150e1925100019"
    "18215f494e54455256414c5f66697865645f6c656e5f627974655f61727261795f31321500160816a40116a401267626"
    "081c360200192c15041500150200150615101502000016ac0115140016a4011608260816a401140000191c1811777269"
    "7465722e6d6f64656c2e6e616d6518076578616d706c6500184a706172717565742d6d722076657273696f6e20312e31"
    "322e3020286275696c642064623735613638313566326261316431656538396431613930616562323936663166336138"
    "66323029191c1c0000002a01000050415231"
)

REQUIRED = bytes.fromhex(
    "5041523115041548153c159fc9f8860d3c1506150000002430313233343536373839306162011d012c00000000000000"
    "000000000015061508150c5c1506150015061510150015000000040c02032400191c166a1536160000001502192c4817"
    "506172717565744c6f676963616c446174615479706573150200150e1518150018215f494e54455256414c5f66697865"
    "645f6c656e5f627974655f61727261795f3132252a4cbc0000001606191c191c266a1c150e192510001918215f494e54"
    "455256414c5f66697865645f6c656e5f627974655f61727261795f31321502160616a001169801266a26081c36000019"
    "2c15041500150200150615101502000016a00115140016a00116062608169801140000191c18117772697465722e6d6f"
    "64656c2e6e616d6518076578616d706c6500184a706172717565742d6d722076657273696f6e20312e31322e30202862"
    "75696c64206462373561363831356632626131643165653839643161393061656232393666316633613866323029191c"
    "1c0000002a01000050415231"
)


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("nullable_interval_dictionary.parquet", NULLABLE, "the file holds 3 values in it"),
        ("interval_dictionary.parquet", REQUIRED, "the column is required"),
    ],
)
def test_values_arrow_reads_as_null_refuse_the_file(
    module_lakehouse: Settings, name: str, data: bytes, said: str
) -> None:
    table = name.split(".")[0]
    outcome = run(module_lakehouse, [(table, name, data)], rows=False)[table]
    detail = str(outcome.api_detail)
    assert outcome.api_status == 422, (outcome.api_status, detail)
    assert said in detail and COLUMN in detail and "INTERVAL" in detail, detail
    assert outcome.refused is not None, "202 then loaded as nulls: the values are gone"
    assert outcome.refused["kind"] == "unparseable", outcome.refused
    assert said in outcome.refused["reason"], outcome.refused


def _duckdb_file(tmp: str) -> bytes:
    path = f"{tmp}/nulls.parquet"
    duckdb.sql(
        "copy (select i, null as n, [null, null] as l, {'a': null, 'b': i} as s "
        f"from range(5) t(i)) to '{path}'"
    )
    with open(path, "rb") as f:
        return f.read()


def _pyarrow_file() -> bytes:
    table = pa.table(
        {
            "i": [1, 2, 3],
            "n": pa.array([None] * 3, pa.null()),
            "l": pa.array([[None], [], None], pa.list_(pa.null())),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out)  # null columns: INT32 and no statistics
    return out.getvalue()


def test_null_columns_as_writers_write_them_still_load(
    module_lakehouse: Settings, tmp_path
) -> None:
    files = [
        ("nulls_duckdb", "a.parquet", _duckdb_file(str(tmp_path))),
        ("nulls_arrow", "b.parquet", _pyarrow_file()),
    ]
    outcomes = run(module_lakehouse, files, rows=False)
    for table, name, data in files:
        outcome = outcomes[table]
        assert outcome.api_status == 202, (name, outcome.api_detail)
        assert outcome.refused is None, outcome.refused
        read = pq.read_table(io.BytesIO(data))
        assert bronze_table(module_lakehouse, table).num_rows == read.num_rows


# aloneguid/parquet-dotnet@f09ff233ca src/Parquet.Test/data/emptycolumn.parquet (MIT, 1,055
# bytes): pyarrow 0.13's all-null column, INT32 with the old converted type NA (read back as
# UNKNOWN), no statistics; refused for a while after cb4cda3 (review finding auditF 01)
OLD_ARROW_NULLS = base64.b64decode(
    "UEFSMRUEFQAVAkwVABUEEgAAABUAFQ4VEiwVFBUEFQYVBhwAAAAHGAIAAAAUAAAmXhwVAhk1BAAGGRgFVmFsdWUVAhYUFlAWViYmJggAABUEFaABFWhMFRQVBBIAAFAEAQAJAQACCQcEAAMNCAAEDQgABQ0IAAYNCAAHDQgACA0IPAkAAAAAAAAACgAAAAAAAAAVABUgFSQsFRQVBBUGFQYcGAgKAAAAAAAAABgIAQAAAAAAAAAWAAAAABA8AgAAABQBBAUQMlR2mAAAACaaAxwVBBk1BAAGGRgRX19pbmRleF9sZXZlbF8wX18VAhYUFrACFvwBJqQCJp4BHBgICgAAAAAAAAAYCAEAAAAAAAAAFgAoCAoAAAAAAAAAGAgBAAAAAAAAAAAAABUCGTw1ABgGc2NoZW1hFQQAFQIlAhgFVmFsdWUlMAAVBCUCGBFfX2luZGV4X2xldmVsXzBfXwAWFBkcGSwmXhwVAhk1BAAGGRgFVmFsdWUVAhYUFlAWViYmJggAACaaAxwVBBk1BAAGGRgRX19pbmRleF9sZXZlbF8wX18VAhYUFrACFvwBJqQCJp4BHBgICgAAAAAAAAAYCAEAAAAAAAAAFgAoCAoAAAAAAAAAGAgBAAAAAAAAAAAAABbSAhYUABkcGAZwYW5kYXMY8gN7ImluZGV4X2NvbHVtbnMiOiBbIl9faW5kZXhfbGV2ZWxfMF9fIl0sICJjb2x1bW5faW5kZXhlcyI6IFt7Im5hbWUiOiBudWxsLCAiZmllbGRfbmFtZSI6IG51bGwsICJwYW5kYXNfdHlwZSI6ICJ1bmljb2RlIiwgIm51bXB5X3R5cGUiOiAib2JqZWN0IiwgIm1ldGFkYXRhIjogeyJlbmNvZGluZyI6ICJVVEYtOCJ9fV0sICJjb2x1bW5zIjogW3sibmFtZSI6ICJWYWx1ZSIsICJmaWVsZF9uYW1lIjogIlZhbHVlIiwgInBhbmRhc190eXBlIjogImVtcHR5IiwgIm51bXB5X3R5cGUiOiAib2JqZWN0IiwgIm1ldGFkYXRhIjogbnVsbH0sIHsibmFtZSI6IG51bGwsICJmaWVsZF9uYW1lIjogIl9faW5kZXhfbGV2ZWxfMF9fIiwgInBhbmRhc190eXBlIjogImludDY0IiwgIm51bXB5X3R5cGUiOiAiaW50NjQiLCAibWV0YWRhdGEiOiBudWxsfV0sICJjcmVhdG9yIjogeyJsaWJyYXJ5IjogInB5YXJyb3ciLCAidmVyc2lvbiI6ICIwLjEzLjAifSwgInBhbmRhc192ZXJzaW9uIjogbnVsbH0AGCJwYXJxdWV0LWNwcCB2ZXJzaW9uIDEuNS4xLVNOQVBTSE9UGSwcAAAcAAAA7QIAAFBBUjE="
)


def test_an_old_arrow_null_column_loads(module_lakehouse: Settings) -> None:
    outcome = run(module_lakehouse, [("old_nulls", "f.parquet", OLD_ARROW_NULLS)], rows=False)
    loaded = outcome["old_nulls"]
    assert loaded.api_status == 202 and loaded.refused is None, loaded.refused
    assert bronze_table(module_lakehouse, "old_nulls").column("Value").null_count == 10


def _unknown_over_values(statistics: bool, lie: bool) -> bytes:
    """An INT32 column ``n`` of 1, 2, 3 whose footer's SchemaElement is given the logical type
    UNKNOWN (pyarrow then reads it as nulls); ``lie``: its statistics' null count 0 set to 3
    (review revc s19 05's generator)."""
    table = pa.table(
        {"id": pa.array([10, 20, 30], pa.int64()), "n": pa.array([1, 2, 3], pa.int32())}
    )
    out = io.BytesIO()
    pq.write_table(
        table,
        out,
        compression="none",
        use_dictionary=False,
        store_schema=False,
        write_statistics=statistics,
    )
    data = out.getvalue()
    length = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - length
    footer = bytearray(data[start:-8])
    element = bytes.fromhex("1502250218016e00")  # SchemaElement n: INT32, OPTIONAL, 'n', stop
    at = footer.find(element) + len(element) - 1
    footer[at:at] = b"\x6c\xbc\x00\x00"  # logicalType (field 10): {UNKNOWN (field 11): {}}
    if lie:
        count = footer.find(b"\x16\x00\x28\x04\x03\x00\x00\x00")  # null_count 0, max 3 (LE)
        assert count > 0
        footer[count + 1] = 0x06  # null_count 3 (zigzag)
    return data[:start] + bytes(footer) + len(footer).to_bytes(4, "little") + b"PAR1"


@pytest.mark.parametrize(
    ("statistics", "lie"), [(True, True), (False, False)], ids=["statistics_all_null", "none"]
)
def test_values_under_unknown_are_counted_from_the_pages(
    module_lakehouse: Settings, statistics: bool, lie: bool
) -> None:
    """The statistics say every value is null (or there are none, and the column is an
    ``INT32`` as Arrow writes a null column): the pages are read all the same, and hold 3
    values. *Before:* (session 19, review revc s19 05) both took the file (202) and stored 3
    nulls, the values lost without a word."""
    data = _unknown_over_values(statistics, lie)
    assert pq.read_table(io.BytesIO(data)).column("n").null_count == 3  # what Arrow reads
    table = f"unknown_values_{str(statistics).lower()}"
    outcome = run(module_lakehouse, [(table, "a.parquet", data)], rows=False)[table]
    said = (
        "column 'n': its Parquet logical type is UNKNOWN (always null) but the file holds 3 "
        "values in it (INT32), which no reader here reads: loaded, they would be stored as nulls"
    )
    assert outcome.api_status == 422 and said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "202, then 3 nulls stored"
    assert (outcome.refused["kind"], outcome.refused["reason"]) == ("unparseable", said)
