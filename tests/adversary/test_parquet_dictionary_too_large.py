"""A Parquet dictionary of bytes or text whose values, decoded one per record, would pass one
Arrow array (2 GiB) in a batch is refused as too large, by the API (413) and the loader
(``too_large``), before it is decoded: a 241 KB file (one 64 KiB value on 40,000 records)
took 2.1 GB of the API's memory and got 400 "does not parse as Parquet: Take operation
overflowed" (untrue: it parses), the loader the same words (review finding auditl 08). The
same at any depth: a struct's field, a list's items, a map's values (review finding revl 01:
until session 13 only a column was counted, and those got 202 then quarantine, or an untrue
400, after 2.2 GB of memory)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run

from lakehouse.settings import Settings


def _file(value: bytes | str, rows: int) -> bytes:
    kind = pa.binary() if isinstance(value, bytes) else pa.string()
    column = pa.DictionaryArray.from_arrays(
        pa.array([0] * rows, pa.int32()), pa.array([value], kind)
    )
    out = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64()), "b": column}), out)
    return out.getvalue()


@pytest.mark.parametrize("value", [b"\xff" * 65_536, "x" * 65_536], ids=["bytes", "text"])
def test_a_dictionary_decoding_past_2_gib_is_too_large(
    one_lakehouse: Settings, value: bytes | str
) -> None:
    data = _file(value, 40_000)
    assert len(data) < 300_000
    outcome = run(one_lakehouse, [("dict", "d.parquet", data)], rows=False)["dict"]
    assert outcome.api_status == 413, outcome.api_detail
    assert "2 GiB" in str(outcome.api_detail) and "'b'" in str(outcome.api_detail)
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", refused


def _nested(shape: str, value: bytes | str, rows: int) -> bytes:
    kind = pa.binary() if isinstance(value, bytes) else pa.string()
    d = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([value], kind))
    offsets = pa.array(range(rows + 1), pa.int32())
    if shape == "struct":
        column: pa.Array = pa.StructArray.from_arrays([d], ["b"])
    elif shape == "list":
        column = pa.ListArray.from_arrays(offsets, d)
    else:  # a map's values
        keys = pa.array([str(i) for i in range(rows)], pa.string())
        column = pa.MapArray.from_arrays(offsets, keys, d)
    out = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64()), "n": column}), out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("shape", "value", "path"),
    [
        ("struct", "x" * 65_536, "n.b"),
        ("list", "x" * 65_536, "n[]"),
        ("struct", b"\xff" * 65_536, "n.b"),
        ("map", "x" * 65_536, "n.value"),
    ],
    ids=["struct-text", "list-text", "struct-bytes", "map-values"],
)
def test_a_nested_dictionary_decoding_past_2_gib_is_too_large(
    one_lakehouse: Settings, shape: str, value: bytes | str, path: str
) -> None:
    data = _nested(shape, value, 40_000)
    assert len(data) < 1_000_000
    outcome = run(one_lakehouse, [("dict", "d.parquet", data)], rows=False)["dict"]
    assert outcome.api_status == 413, outcome.api_detail
    assert "2 GiB" in str(outcome.api_detail) and f"{path!r}" in str(outcome.api_detail)
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", refused


@pytest.mark.parametrize("shape", ["struct", "list", "map"])
def test_a_nested_dictionary_below_it_loads(one_lakehouse: Settings, shape: str) -> None:
    outcome = run(one_lakehouse, [("dict", "d.parquet", _nested(shape, "x" * 64, 1000))])["dict"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None and len(outcome.loaded_rows) == 1000


def test_a_dictionary_below_it_loads(one_lakehouse: Settings) -> None:
    outcome = run(one_lakehouse, [("dict", "d.parquet", _file(b"\xff" * 1024, 1000))], rows=False)
    assert outcome["dict"].api_status == 202, outcome["dict"].api_detail
    assert outcome["dict"].refused is None, outcome["dict"].refused
