"""A top-level Parquet column whose name holds a dot (``a.b``, ``v.``: legal bronze names) is
top-level: the checks that walk a footer's leaf paths (names joined by dots) must not take it
for a field of a group (review finding revl 01, session 14, HIGH).

- An INT(8) column without statistics holding a physical 1000: read as its physical integers
  and refused, as a column named ``v`` is. Before: ``a.b`` was taken for a nested field, 202,
  and bronze stored -24 for 1000 (Arrow's cast), without a word.
- A Parquet VARIANT column named ``v.x``: refused as ``var`` is. Before: not recognised (its
  group matched by the last part of a split path), the Variant's bytes loaded.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings


def _int8_past_annotation(name: str) -> bytes:
    table = pa.table(
        {"id": pa.array([0, 1, 2], pa.int64()), name: pa.array([90, 91, 92], pa.int8())}
    )
    out = io.BytesIO()
    pq.write_table(
        table,
        out,
        compression="none",
        use_dictionary=False,
        store_schema=False,
        write_statistics=False,
    )
    data = out.getvalue().replace(struct.pack("<i", 90), struct.pack("<i", 1000))
    assert pq.read_table(io.BytesIO(data)).column(name).to_pylist()[0] == -24  # Arrow's cast
    return data


@pytest.mark.parametrize("name", ["v", "a.b", "v.", ".v"])
def test_int8_past_its_annotation_is_refused_whatever_the_name(
    module_lakehouse: Settings, name: str
) -> None:
    table = "int8_" + "".join(c if c.isalnum() else "_" for c in name) + str(len(name))
    outcome = run(module_lakehouse, [(table, "f.parquet", _int8_past_annotation(name))])
    stored = None
    if outcome[table].refused is None:
        stored = bronze_table(module_lakehouse, table).sort_by("id").column(name).to_pylist()
    assert outcome[table].api_status == 422, (outcome[table].api_detail, stored)
    refused = outcome[table].refused
    assert refused is not None and refused["kind"] == "type_conflict", (refused, stored)
    assert "1000" in refused["reason"], refused


@pytest.mark.parametrize("name", ["var", "v.x", "x."])
def test_a_variant_column_is_refused_whatever_the_name(
    module_lakehouse: Settings, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "v.parquet"
    with duckdb.connect() as con:  # its own connection: nothing left open on the default one
        con.sql(f"copy (select 1 as id, 34::VARIANT as \"{name}\") to '{path}' (format parquet)")
    assert "(Variant(" in str(pq.ParquetFile(path).schema)
    table = "variant_" + "".join(c if c.isalnum() else "_" for c in name) + str(len(name))
    outcome = run(module_lakehouse, [(table, "v.parquet", path.read_bytes())], rows=False)
    assert outcome[table].api_status == 422, outcome[table].api_detail
    assert "Parquet VARIANT" in str(outcome[table].api_detail)
    assert f"{name!r}" in str(outcome[table].api_detail)
    refused = outcome[table].refused
    assert refused is not None and refused["kind"] == "type_conflict", refused
    assert f"column {name!r}" in refused["reason"], refused
