"""A Parquet VARIANT column (logical type on a group: DuckDB 2's writer, parquet-mr 1.16 under
Iceberg, hyparquet's and parquet-go's shredded files): pyarrow reads it as the plain struct of
its binary encoding (``metadata`` and ``value`` bytes, a shredded value's ``typed_value``
parts) and drops the annotation. The API took it (202) and the loader stored those bytes: the
file's ``34`` was ``{metadata: 01 00 00, value: 0c 22}`` in bronze, read as that value by no
reader of it (review finding auditg 01, HIGH). Its JSON text would lose the value's types, so
the file is refused, by the API (422) and the loader (``type_conflict``), naming the column and
the Variant type; a plain struct of the same shape, not annotated, still loads.
"""

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

VALUES = {
    "int": "34::VARIANT",
    "object": "{'a': 123456789, 'c': 'string'}::VARIANT",
    "text": "'x'::VARIANT",
    "null": "NULL::VARIANT",
}


def _variant(tmp: Path, value: str) -> bytes:
    """A Parquet file DuckDB writes: ``id``, then ``var`` of logical type VARIANT."""
    path = tmp / "v.parquet"
    duckdb.sql(f"copy (select 1 as id, {value} as var) to '{path}' (format parquet)")
    assert "(Variant(" in str(pq.ParquetFile(path).schema)  # the annotation is there
    return path.read_bytes()


@pytest.mark.parametrize("shape", list(VALUES))
def test_a_variant_column_is_refused_by_the_api_and_the_loader(
    module_lakehouse: Settings, tmp_path: Path, shape: str
) -> None:
    table = f"variant_{shape}"
    data = _variant(tmp_path, VALUES[shape])
    outcome = run(module_lakehouse, [(table, "v.parquet", data)], rows=False)[table]
    assert outcome.api_status == 422, outcome.api_detail
    assert "Parquet VARIANT" in str(outcome.api_detail) and "'var'" in str(outcome.api_detail)
    refused = outcome.refused
    assert refused is not None, "the loader stored a variant's encoding"
    assert refused["kind"] == "type_conflict", refused
    assert "column 'var'" in refused["reason"] and "Parquet VARIANT" in refused["reason"]


def test_a_struct_of_the_same_shape_not_annotated_loads(module_lakehouse: Settings) -> None:
    shape = pa.struct([("metadata", pa.binary()), ("value", pa.binary())])
    written = pa.table(
        {"id": [1], "var": pa.array([{"metadata": b"\x01\x00\x00", "value": b"\x0c\x22"}], shape)}
    )
    out = io.BytesIO()
    pq.write_table(written, out)
    assert parquet.variant_column(pq.ParquetFile(io.BytesIO(out.getvalue())).metadata) is None
    outcome = run(module_lakehouse, [("variant_lookalike", "v.parquet", out.getvalue())])
    assert outcome["variant_lookalike"].api_status == 202
    assert outcome["variant_lookalike"].refused is None
    stored = bronze_table(module_lakehouse, "variant_lookalike").column("var").to_pylist()
    assert stored == [{"metadata": b"\x01\x00\x00", "value": b"\x0c\x22"}]
