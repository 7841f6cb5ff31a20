"""A Parquet column whose type holds Arrow's ``null`` below the top (``list<null>``,
``struct<x: null>``, ``map<string, null>``: a writer's all-null nested field) is stored with
text there, never Delta ``void``, as a top-level ``null`` column is (review finding auditC 09,
MEDIUM): bronze's schema read ``{"type": "array", "elementType": "void"}``, a type no value fits,
so every later file with values there was rescued (or refused under ``on_mismatch:
quarantine``) for ever. The values stay null; a later file's values load as they are.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run
from deltalake import DeltaTable

from lakehouse.layout import table_path
from lakehouse.settings import Settings


def _pq(column: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"c": column}), out)
    return out.getvalue()


CASES: dict[str, tuple[pa.Array, pa.Array, Any]] = {
    # (the file with the null type, a later file with values there, those values read back)
    "list": (
        pa.array([[None, None], None], pa.list_(pa.null())),
        pa.array([["x"]], pa.list_(pa.string())),
        ["x"],
    ),
    "large_list": (
        pa.array([[None]], pa.large_list(pa.null())),
        pa.array([["x"]], pa.list_(pa.string())),
        ["x"],
    ),
    "struct": (
        pa.array([{"x": None}], pa.struct([("x", pa.null())])),
        pa.array([{"x": "y"}], pa.struct([("x", pa.string())])),
        {"x": "y"},
    ),
    "map": (
        pa.array([[("k", None)]], pa.map_(pa.string(), pa.null())),
        pa.array([[("k", "v")]], pa.map_(pa.string(), pa.string())),
        [("k", "v")],
    ),
    "list_of_struct": (
        pa.array(
            [[{"a": 1, "x": None}]], pa.list_(pa.struct([("a", pa.int64()), ("x", pa.null())]))
        ),
        pa.array(
            [[{"a": 2, "x": "z"}]], pa.list_(pa.struct([("a", pa.int64()), ("x", pa.string())]))
        ),
        [{"a": 2, "x": "z"}],
    ),
}


def _schema_json(settings: Settings, table: str) -> str:
    return str(DeltaTable(str(table_path(settings, "bronze", table))).schema().to_json())


@pytest.mark.parametrize("case", list(CASES))
def test_a_nested_null_type_is_stored_as_text_and_later_values_load(
    module_lakehouse: Settings, case: str
) -> None:
    first, later, value = CASES[case]
    table = f"nested_null_{case}"
    outcome = run(module_lakehouse, [(table, "a.parquet", _pq(first))])[table]
    assert outcome.api_status == 202 and outcome.refused is None, outcome.refused
    assert '"void"' not in _schema_json(module_lakehouse, table)
    stored = bronze_table(module_lakehouse, table)
    assert stored.column("c").to_pylist() == first.to_pylist()  # nulls stay nulls
    before = set(stored.column("_source_file").to_pylist())
    outcome = run(module_lakehouse, [(table, "b.parquet", _pq(later))])[table]
    assert outcome.api_status == 202 and outcome.refused is None, outcome.refused
    rows = bronze_table(module_lakehouse, table).to_pylist()
    last = [r for r in rows if r["_source_file"] not in before]
    assert [r["c"] for r in last] == [value], last
    assert all(r.get("_rescued_data") is None for r in last), last


def test_a_struct_field_of_null_type_grows_a_struct_as_text(module_lakehouse: Settings) -> None:
    """A struct column the table has, grown by a file's field of type null: text, not void."""
    table = "nested_null_grown"
    first = pa.array([{"a": 1}], pa.struct([("a", pa.int64())]))
    grown = pa.array([{"a": 2, "b": None}], pa.struct([("a", pa.int64()), ("b", pa.null())]))
    later = pa.array([{"a": 3, "b": "t"}], pa.struct([("a", pa.int64()), ("b", pa.string())]))
    for name, column in [("a.parquet", first), ("b.parquet", grown), ("c.parquet", later)]:
        outcome = run(module_lakehouse, [(table, name, _pq(column))])[table]
        assert outcome.api_status == 202 and outcome.refused is None, (name, outcome.refused)
        assert '"void"' not in _schema_json(module_lakehouse, table)
    rows = bronze_table(module_lakehouse, table).to_pylist()
    got = sorted((r["c"]["a"], r["c"].get("b"), r.get("_rescued_data")) for r in rows)
    assert got == [(1, None, None), (2, None, None), (3, "t", None)], got


def test_a_nested_null_type_still_joins_a_typed_column(module_lakehouse: Settings) -> None:
    """``list<null>`` into a table's ``list<bigint>``: every value null fits, none rescued."""
    table = "nested_null_joins"
    typed = pa.array([[1, 2]], pa.list_(pa.int64()))
    nulls = pa.array([[None], None], pa.list_(pa.null()))
    for name, column in [("a.parquet", typed), ("b.parquet", nulls)]:
        outcome = run(module_lakehouse, [(table, name, _pq(column))])[table]
        assert outcome.api_status == 202 and outcome.refused is None, (name, outcome.refused)
    stored = bronze_table(module_lakehouse, table)
    assert stored.schema.field("c").type == pa.list_(pa.int64())
    rows = stored.to_pylist()
    assert sorted(map(str, (r["c"] for r in rows))) == ["None", "[1, 2]", "[None]"], rows
    assert all(r.get("_rescued_data") is None for r in rows), rows
