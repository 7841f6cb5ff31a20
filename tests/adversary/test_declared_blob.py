"""A contract column declared as bytes (``blob``, ``bytea``, ``varbinary``, ``binary``,
``bytes``: DuckDB's ``BLOB``) is Delta ``binary``, by the API and the loader alike
(docs/loading.md, Types; review finding auditg 05 of s11).

Parquet bytes are kept as they are; a text (a CSV field, a JSON string's characters, a Parquet
string) is its UTF-8 bytes, exactly; a JSON value that is no string (a number, ``true``, an
object) and a Parquet column of another type (a number) is a mismatch: API 422, loader rescue
(``_rescued_data`` keeping the value's kind). A table whose column is text from an earlier file
keeps it text: a contract declaring ``blob`` later is judged by the table's type, by both.

Before (until session 13) ``blob`` was a type name not in the table, kept as text: a Parquet
binary column's bytes that are not UTF-8 got 422 "does not fit BLOB exactly" and were rescued
by the loader, and its UTF-8 bytes were stored as text.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, declare, run

from lakehouse.settings import Settings

BAD = b"\xff\x00"


@pytest.fixture
def house(one_lakehouse: Settings) -> Settings:
    return one_lakehouse


def _parquet(values: list[Any], t: pa.DataType, first: int = 0) -> bytes:
    out = io.BytesIO()
    ids = pa.array(range(first, first + len(values)), pa.int64())
    pq.write_table(pa.table({"id": ids, "b": pa.array(values, t)}), out)
    return out.getvalue()


def _loaded(house: Settings, table: str) -> tuple[pa.DataType, list[Any], list[Any]]:
    bronze = bronze_table(house, table).sort_by("id")
    rescued = (
        bronze.column("_rescued_data").to_pylist()
        if "_rescued_data" in bronze.column_names
        else [None] * bronze.num_rows
    )
    return bronze.schema.field("b").type, bronze.column("b").to_pylist(), rescued


# varbinary(16): DuckDB refuses a length on its bytes type, so such a contract is misshapen
# (tests/adversary/test_contract_type_duckdb_reads.py, session 14)
@pytest.mark.parametrize("declared", ["blob", "bytea", "varbinary", "BINARY", "bytes"])
def test_parquet_bytes_load_as_they_are(house: Settings, declared: str) -> None:
    declare(house, "t", {"id": "bigint", "b": declared})
    data = _parquet([BAD, b"ok", None, b""], pa.binary())
    outcome = run(house, [("t", "f.parquet", data)], rows=False)["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert _loaded(house, "t") == (pa.binary(), [BAD, b"ok", None, b""], [None] * 4)


@pytest.mark.parametrize(
    "t", [pa.large_binary(), pa.binary(2), pa.dictionary(pa.int32(), pa.binary())], ids=str
)
def test_other_parquet_bytes_load_as_they_are(house: Settings, t: pa.DataType) -> None:
    declare(house, "t", {"id": "bigint", "b": "blob"})
    values = [BAD, b"ok"]
    arr = (
        pa.array(values, pa.binary()).dictionary_encode()
        if pa.types.is_dictionary(t)
        else pa.array(values, t)
    )
    out = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([0, 1], pa.int64()), "b": arr}), out)
    outcome = run(house, [("t", "f.parquet", out.getvalue())], rows=False)["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert _loaded(house, "t") == (pa.binary(), values, [None, None])


def test_a_parquet_string_is_its_utf8_bytes(house: Settings) -> None:
    declare(house, "t", {"id": "bigint", "b": "blob"})
    data = _parquet(["héllo", "", None], pa.string())
    outcome = run(house, [("t", "f.parquet", data)], rows=False)["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert _loaded(house, "t") == (pa.binary(), ["héllo".encode(), b"", None], [None] * 3)


def test_a_csv_field_is_its_utf8_bytes(house: Settings) -> None:
    declare(house, "t", {"id": "bigint", "b": "bytea"})
    data = 'id,b\n0,héllo\n1,"a,""b"""\n2,0x1F\n3,\n4,""\n'.encode()
    outcome = run(house, [("t", "f.csv", data)], rows=False)["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    kind, values, rescued = _loaded(house, "t")
    assert kind == pa.binary()
    # no hex or base64 reading: 0x1F is its four bytes; an unquoted empty field is null
    assert values == ["héllo".encode(), b'a,"b"', b"0x1F", None, b""]
    assert rescued == [None] * 5


def test_a_json_string_is_its_utf8_bytes_and_a_number_a_mismatch(house: Settings) -> None:
    declare(house, "t", {"id": "bigint", "b": "blob"})
    good = b'{"id": 0, "b": "h\\u00e9llo"}\n{"id": 1, "b": "5"}\n{"id": 2, "b": null}\n'
    outcome = run(house, [("t", "good.ndjson", good)], rows=False)["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert _loaded(house, "t") == (pa.binary(), ["héllo".encode(), b"5", None], [None] * 3)


@pytest.mark.parametrize("value", ["5", "1.50", "true", '{"k":1}', '["x"]'])
def test_a_json_value_that_is_no_string_is_a_mismatch(house: Settings, value: str) -> None:
    declare(house, "t", {"id": "bigint", "b": "blob"})
    data = f'{{"id": 0, "b": "ok"}}\n{{"id": 1, "b": {value}}}\n'.encode()
    outcome = run(house, [("t", "f.ndjson", data)], rows=False)["t"]
    assert outcome.api_status == 422, outcome.api_detail
    assert "does not fit BLOB" in json.dumps(outcome.api_detail), outcome.api_detail
    assert outcome.refused is None, outcome.refused  # dropped: rescued (the default)
    kind, values, rescued = _loaded(house, "t")
    assert (kind, values) == (pa.binary(), [b"ok", None])
    assert rescued[0] is None
    assert json.loads(rescued[1]) == {"b": json.loads(value)}  # its kind kept: 5, not "5"
    assert rescued[1].endswith(f"{value}}}"), rescued[1]  # as sent: 1.50, not 1.5


def test_a_json_number_refuses_the_file_under_quarantine(house: Settings) -> None:
    declare(house, "t", {"id": "bigint", "b": "blob"}, policy="quarantine")
    data = b'{"id": 0, "b": "ok"}\n{"id": 1, "b": 1.50}\n'
    outcome = run(house, [("t", "f.ndjson", data)], rows=False)["t"]
    assert outcome.api_status == 422, outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
    assert "1.50" in outcome.refused["reason"], outcome.refused


def test_a_parquet_number_is_a_mismatch(house: Settings) -> None:
    declare(house, "t", {"id": "bigint", "b": "blob"})
    data = _parquet([5, None], pa.int64())
    outcome = run(house, [("t", "f.parquet", data)], rows=False)["t"]
    assert outcome.api_status == 422, outcome.api_detail
    assert "does not fit BLOB" in json.dumps(outcome.api_detail), outcome.api_detail
    assert outcome.refused is None, outcome.refused
    kind, values, rescued = _loaded(house, "t")
    assert (kind, values) == (pa.binary(), [None, None])
    assert [None if r is None else json.loads(r) for r in rescued] == [{"b": "5"}, None]


def test_a_text_column_declared_blob_later_stays_text(house: Settings) -> None:
    """The table's type wins over a later contract (docs/loading.md, Declared types win), and
    the API judges by it: bytes that are not UTF-8 have no text, a mismatch by both."""
    run(house, [("t", "first.csv", b"id,b\n0,x\n")], rows=False)
    declare(house, "t", {"id": "bigint", "b": "blob"})
    data = _parquet([b"ok", BAD], pa.binary(), first=1)
    outcome = run(house, [("t", "f.parquet", data)], rows=False)["t"]
    assert outcome.api_status == 422, outcome.api_detail
    assert "not UTF-8" in json.dumps(outcome.api_detail), outcome.api_detail
    assert outcome.refused is None, outcome.refused
    bronze = bronze_table(house, "t").sort_by("id")
    assert bronze.schema.field("b").type == pa.string()
    assert bronze.column("b").to_pylist() == ["x", "ok", None]
    assert json.loads(bronze.column("_rescued_data")[2].as_py()) == {"b": {"base64": "/wA="}}


def test_a_bytes_column_declared_blob_later_takes_text_as_bytes(house: Settings) -> None:
    run(house, [("t", "first.parquet", _parquet([BAD], pa.binary()))], rows=False)
    declare(house, "t", {"id": "bigint", "b": "blob"})
    data = b'{"id": 1, "b": "h\\u00e9"}\n{"id": 2, "b": 7}\n'
    outcome = run(house, [("t", "f.ndjson", data)], rows=False)["t"]
    assert outcome.api_status == 422, outcome.api_detail  # 7 is no text of bytes
    kind, values, rescued = _loaded(house, "t")
    assert (kind, values) == (pa.binary(), [BAD, "hé".encode(), None])
    assert rescued[:2] == [None, None]
    assert json.loads(rescued[2]) == {"b": 7}
