"""Parquet's GEOMETRY and GEOGRAPHY logical types (format 2.11; pyarrow writes them from geoarrow's
``geoarrow.wkb`` extension): pyarrow reads both as their WKB bytes (geoarrow's extension not
registered), and bronze keeps bytes without the annotation. A GEOMETRY of the default CRS
(OGC:CRS84, planar edges) loses nothing and loads as its WKB bytes, exactly; a GEOMETRY of
another CRS, or any GEOGRAPHY (its edges), would lose what the bytes mean without a word, so the
file is refused naming the column, by the API (422) and the loader (``type_conflict``), at any
depth. Before (until session 12) every such column was stored as bare bytes after a 202.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings

POINT = bytes.fromhex("0101000000000000000000f03f0000000000000040")  # POINT(1 2), WKB


class _Wkb(pa.ExtensionType):
    """geoarrow's WKB extension (not registered: only written here)."""

    def __init__(self, meta: dict[str, object]) -> None:
        self.meta = json.dumps(meta).encode()
        super().__init__(pa.binary(), "geoarrow.wkb")

    def __arrow_ext_serialize__(self) -> bytes:
        return self.meta

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> _Wkb:
        return _Wkb(json.loads(serialized))


def _file(meta: dict[str, object], nested: bool = False) -> bytes:
    values = pa.ExtensionArray.from_storage(_Wkb(meta), pa.array([POINT, None]))
    column = pa.StructArray.from_arrays([values], ["g"]) if nested else values
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2], "g": column}), out, store_schema=False)
    return out.getvalue()


def test_a_geometry_of_the_default_crs_loads_as_its_wkb(module_lakehouse: Settings) -> None:
    data = _file({})
    assert pq.ParquetFile(io.BytesIO(data)).metadata.schema.column(1).logical_type.type == (
        "GEOMETRY"
    )
    outcome = run(module_lakehouse, [("geometry", "f.parquet", data)], rows=False)["geometry"]
    assert outcome.api_status == 202 and outcome.refused is None, outcome
    stored = bronze_table(module_lakehouse, "geometry").sort_by("id")
    assert stored.schema.field("g").type == pa.binary()
    assert stored.column("g").to_pylist() == [POINT, None]


CASES = {
    "geometry-crs": ({"crs": "EPSG:3857"}, False, "g", "GEOMETRY", "their CRS"),
    "geography": ({"edges": "spherical"}, False, "g", "GEOGRAPHY", "a geography's edges"),
    "nested-geography": ({"edges": "spherical"}, True, "g.g", "GEOGRAPHY", "a geography's"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_geography_or_another_crs_is_refused_naming_the_column(
    module_lakehouse: Settings, case: str
) -> None:
    meta, nested, column, kind, lost = CASES[case]
    table = f"geo_{case.replace('-', '_')}"
    outcome = run(module_lakehouse, [(table, "f.parquet", _file(meta, nested))], rows=False)[table]
    assert outcome.api_status == 422, outcome.api_detail
    assert f"a Parquet {kind} (" in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "202, then bytes stored without what they mean"
    assert outcome.refused["kind"] == "type_conflict", outcome.refused
    assert outcome.refused["column"] == column, outcome.refused
    assert f"bronze keeps bytes without {lost}" in outcome.refused["reason"], outcome.refused
