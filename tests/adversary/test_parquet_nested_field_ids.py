"""Parquet struct fields carrying field ids (``PARQUET:field_id``: Iceberg data files, Delta
column-mapping files, parquet-mr with ids) kept that metadata in bronze's nested Delta schema;
a later file with other ids on the same fields got 202, then was quarantined by delta-rs's
schema merge ("Cannot merge metadata with different values for key PARQUET:field_id"), its
values fitting (review finding auditS 05, MEDIUM). Nested field metadata is no longer written
(``lakehouse.parquet.plain_type``), as top-level field metadata was not.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import run

from lakehouse.settings import Settings


def _with_ids(ids: list[int], field_id: int) -> bytes:
    inner = pa.field("x", pa.int64(), metadata={b"PARQUET:field_id": str(field_id).encode()})
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), metadata={b"PARQUET:field_id": b"1"}),
            pa.field("s", pa.struct([inner]), metadata={b"PARQUET:field_id": b"2"}),
        ]
    )
    out = io.BytesIO()
    pq.write_table(pa.table({"id": ids, "s": [{"x": i} for i in ids]}, schema=schema), out)
    return out.getvalue()


def test_struct_field_ids_of_another_writer_do_not_refuse_the_file(
    module_lakehouse: Settings,
) -> None:
    table = "as05_ids"
    first = run(module_lakehouse, [(table, "a.parquet", _with_ids([1], 11))], rows=False)[table]
    assert first.api_status == 202 and first.refused is None
    second = run(module_lakehouse, [(table, "b.parquet", _with_ids([2], 17))])[table]
    assert second.api_status == 202
    assert second.refused is None, second.refused
    assert sorted((r["id"], r["s"]["x"]) for r in second.loaded_rows or []) == [(1, 1), (2, 2)]
