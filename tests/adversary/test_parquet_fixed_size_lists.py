"""A Parquet fixed-size list (pyarrow keeps the type in ``ARROW:schema``) is stored as Delta's
one list type. Before, bronze kept it as the fixed-size list while Delta's log reads the column
back as a plain list: a second file with the same column met a "different" type and every value
of it was rescued (202, the column null, its values in ``_rescued_data``); a fixed-size list of
Arrow's ``null`` type was even stored as ``array<void>`` (review finding auditR 04, MEDIUM).
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run
from deltalake import DeltaTable

from lakehouse.layout import table_path
from lakehouse.settings import Settings


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _load(settings: Settings, table: str, name: str, t: pa.DataType, value: object) -> None:
    data = _parquet(pa.table({"id": [int(name[0] == "b") + 1], "c": pa.array([value], t)}))
    outcome = run(settings, [(table, name, data)], rows=False)[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused


FIXED = pa.list_(pa.string(), 2)
CASES = {
    "strings": (FIXED, ["x", "y"], FIXED, ["a", "b"]),
    "of_null": (pa.list_(pa.null(), 2), [None, None], FIXED, ["a", "b"]),
    "in_a_struct": (
        pa.struct([("f", pa.list_(pa.null(), 1))]),
        {"f": [None]},
        pa.struct([("f", pa.list_(pa.string(), 1))]),
        {"f": ["a"]},
    ),
    "of_ints": (pa.list_(pa.int64(), 3), [1, 2, 3], pa.list_(pa.int64(), 3), [4, None, 6]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_second_file_with_a_fixed_size_list_loads_its_values(
    module_lakehouse: Settings, case: str
) -> None:
    first_type, first, later_type, later = CASES[case]
    table = f"fixed_list_{case}"
    _load(module_lakehouse, table, "a.parquet", first_type, first)
    path = str(table_path(module_lakehouse, "bronze", table))
    schema = DeltaTable(path).schema().to_json()
    assert '"void"' not in schema, schema
    _load(module_lakehouse, table, "b.parquet", later_type, later)
    rows = {r["id"]: r for r in bronze_table(module_lakehouse, table).to_pylist()}
    assert rows[2].get("_rescued_data") is None, rows[2]
    assert rows[2]["c"] == later, rows[2]
    if "of_null" not in case and case != "in_a_struct":
        assert rows[1]["c"] == first, rows[1]
    assert json.loads(schema)["fields"][1]["type"]["type"] in ("array", "struct")
