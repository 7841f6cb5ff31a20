"""A Parquet ENUM column (a BYTE_ARRAY annotated ENUM: parquet-mr's Avro, Thrift and Protobuf
writers, parquet.js) is text: the Parquet spec says a reader without enums reads it as a UTF-8
string, and DuckDB does. pyarrow reads it as bytes, and bronze stored Delta ``binary`` after a
202 (``'bar'`` as ``b'bar'``), every later text of the column rescued and ``upper()`` failing in
the build (review finding auditg 06, HIGH). Now it is stored as text at any depth, by the API's
check and the loader alike, and an ENUM value whose bytes are not UTF-8 refuses the file in the
words of a string's (``encoding``).

Files (tests/data/parquet-enum, tests/data/README.md): parquet.js's ``test-enum-type.parquet``
(LibertyDSNP/parquetjs@66a3369, MIT: one record, ``foo`` ENUM ``'bar'``) and DuckDB's
``data/parquet-testing/enum.parquet`` (duckdb/duckdb@044a04a, Apache-2.0: parquet-mr 1.12.2's
protobuf writer, ``tags[].v_type`` ENUM).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
from adversary_support import bronze_table, run

from lakehouse.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "parquet-enum"
PARQUETJS = (DATA / "parquetjs-test-enum-type.parquet").read_bytes()


def test_a_top_level_enum_is_stored_as_text(module_lakehouse: Settings) -> None:
    outcome = run(module_lakehouse, [("enum_top", "e.parquet", PARQUETJS)], rows=False)["enum_top"]
    assert outcome.api_status == 202 and outcome.refused is None, outcome.refused
    bronze = bronze_table(module_lakehouse, "enum_top")
    assert pa.types.is_string(bronze.schema.field("foo").type), bronze.schema
    assert bronze.column("foo").to_pylist() == ["bar"]


def test_a_later_text_meets_the_enum_column_as_text(module_lakehouse: Settings) -> None:
    run(module_lakehouse, [("enum_later", "e.parquet", PARQUETJS)], rows=False)
    later = b'{"foo": "baz"}\n'
    outcome = run(module_lakehouse, [("enum_later", "later.ndjson", later)], rows=False)
    assert outcome["enum_later"].refused is None, outcome["enum_later"].refused
    rows = bronze_table(module_lakehouse, "enum_later").to_pylist()
    assert sorted(r["foo"] for r in rows) == ["bar", "baz"]
    assert all(r.get("_rescued_data") is None for r in rows), rows


def test_a_nested_enum_is_stored_as_text(module_lakehouse: Settings) -> None:
    path = DATA / "duckdb-enum.parquet"
    outcome = run(module_lakehouse, [("enum_nested", "e.parquet", path.read_bytes())], rows=False)
    assert outcome["enum_nested"].api_status == 202, outcome["enum_nested"].api_detail
    assert outcome["enum_nested"].refused is None, outcome["enum_nested"].refused
    bronze = bronze_table(module_lakehouse, "enum_nested")
    tags = bronze.schema.field("tags").type
    assert pa.types.is_string(tags.value_type.field("v_type").type), tags
    stored = sorted(t["v_type"] for tags in bronze.column("tags").to_pylist() for t in tags)
    want = duckdb.sql(f"select unnest(tags).v_type from read_parquet('{path}')").fetchall()
    assert stored == sorted(r[0] for r in want) and stored


def test_an_enum_whose_bytes_are_not_utf8_is_refused_as_a_string(
    module_lakehouse: Settings,
) -> None:
    data = PARQUETJS.replace(b"bar", b"\xffar")  # uncompressed: the value and its statistics
    outcome = run(module_lakehouse, [("enum_bytes", "e.parquet", data)], rows=False)["enum_bytes"]
    assert 400 <= outcome.api_status < 500, outcome.api_detail
    assert "not UTF-8" in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "encoding", refused
    assert "column 'foo'" in refused["reason"] and "/2Fy" in refused["reason"], refused
