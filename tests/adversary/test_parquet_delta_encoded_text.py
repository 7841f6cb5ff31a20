"""Parquet text or bytes written in the delta encodings (``DELTA_BYTE_ARRAY``,
``DELTA_LENGTH_BYTE_ARRAY``: parquet-mr's v2 writer in Spark, Hive and Impala, DuckDB's
``PARQUET_VERSION v2``, segmentio parquet-go, pyarrow's ``column_encoding``) loads as sent:
pyarrow cannot read such pages as their dictionary, so the reader's look at each row group's
dictionaries (``lakehouse.parquet.read_plan``) reads those leaves decoded, and sizes their
batches by their longest value instead. *Before:* (session 14's dictionary bound, c1290d6, until
session 15, review revc 02) the API answered 400 and the loader quarantined ``unparseable``,
both "the file does not parse as Parquet: Not yet implemented: DecodeArrow of DictAccumulator for
DeltaByteArrayDecoder": 16 of DuckDB's 365 Parquet test files."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse import parquet
from lakehouse.settings import Settings


def _file(encoding: str, values: pa.Array) -> bytes:
    buf = io.BytesIO()
    table = pa.table({"id": pa.array(range(len(values)), pa.int64()), "s": values})
    pq.write_table(table, buf, use_dictionary=False, column_encoding={"s": encoding})
    return buf.getvalue()


CASES = [
    ("dba_text.parquet", "DELTA_BYTE_ARRAY", pa.array(["apple", "apricot", None])),
    ("dlba_text.parquet", "DELTA_LENGTH_BYTE_ARRAY", pa.array(["apple", "apricot", None])),
    ("dba_bytes.parquet", "DELTA_BYTE_ARRAY", pa.array([b"\x00\x01", b"xyz", None])),
]


@pytest.mark.parametrize(("name", "encoding", "values"), CASES, ids=[c[0] for c in CASES])
def test_delta_encoded_text_loads(
    one_lakehouse: Settings, name: str, encoding: str, values: pa.Array
) -> None:
    data = _file(encoding, values)
    assert pq.read_table(io.BytesIO(data)).column("s").to_pylist() == values.to_pylist()
    out = run(one_lakehouse, [("t", name, data)], rows=False)["t"]
    assert out.api_status == 202, out.api_detail
    assert out.refused is None, out.refused
    got = bronze_table(one_lakehouse, "t").sort_by("id").column("s").to_pylist()
    assert got == values.to_pylist()


def _duckdb_v2(tmp_path: object) -> bytes:
    """DuckDB's v2 writer: a row group of one long repeated text (a dictionary page), then one
    of distinct texts (``DELTA_LENGTH_BYTE_ARRAY``)."""
    path = f"{tmp_path}/mixed.parquet"
    con = duckdb.connect()
    con.execute(
        "copy (select i as id, case when i < 2048 then repeat('x', 1000)"
        " else 'v' || i::varchar end as s from range(4096) t(i))"
        f" to '{path}' (format parquet, parquet_version v2, row_group_size 2048)"
    )
    con.close()
    meta = pq.ParquetFile(path).metadata
    encodings = [meta.row_group(g).column(1).encodings for g in range(meta.num_row_groups)]
    assert encodings == [("RLE_DICTIONARY",), ("DELTA_LENGTH_BYTE_ARRAY",)], encodings
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("bound", [parquet.DECODED_BATCH_BYTES, 1_000_000])
@pytest.mark.usefixtures("parquet_checked_here")  # the API's check sees the patched bound
def test_a_dictionary_row_group_then_a_delta_one_loads_within_the_bound(
    one_lakehouse: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bound: int
) -> None:
    """At the real bound and at one the first row group's 2,048 values of 1,000 bytes pass (2 MB
    decoded against 1 MB): the leaf is read decoded in every row group (pyarrow reads it as a
    dictionary in the first, not the second), in batches of at most 1,000 records there."""
    data = _duckdb_v2(tmp_path)
    monkeypatch.setattr(parquet, "DECODED_BATCH_BYTES", bound)
    opened = pq.ParquetFile(io.BytesIO(data))
    plan = parquet.read_plan(opened, 100_000, io.BytesIO(data))
    if bound < 2048 * 1000:
        assert plan == parquet.Plan([], [1000, 100_000], None)
    out = run(one_lakehouse, [("t", "mixed.parquet", data)], rows=False)["t"]
    assert out.api_status == 202, out.api_detail  # the route's check, under the patched bound
    assert out.refused is None, out.refused
    got = bronze_table(one_lakehouse, "t").sort_by("id")
    assert got.column("s").to_pylist() == ["x" * 1000] * 2048 + [f"v{i}" for i in range(2048, 4096)]
