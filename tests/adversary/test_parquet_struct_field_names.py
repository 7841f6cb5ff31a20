"""A Parquet struct whose fields repeat a name, or are equal but for case, at any depth, is
refused by the loader as the API refuses it: `invalid_column` naming the column and its fields
(docs/loading.md). Review finding auditC 10 (LOW): the loader said delta-rs's words at the
write, "External error: External error: Schema error: Duplicate field name (case-insensitive):
'X'", naming no column.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run

from lakehouse.settings import Settings


def _struct(names: list[str]) -> pa.StructArray:
    return pa.StructArray.from_arrays([pa.array([1]), pa.array([2])], names=names)


def _pq(column: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1] * len(column)), "s": column}), out)
    return out.getvalue()


inner = pa.struct([("x", pa.int64()), ("X", pa.int64())])
CASES = {
    "case": (_struct(["x", "X"]), "'x' and 'X', equal but for case"),
    "repeated": (_struct(["x", "x"]), "two fields named 'x'"),
    "in_a_list": (pa.array([[{"x": 1, "X": 2}]], pa.list_(inner)), "'x' and 'X'"),
    "in_a_map": (pa.array([[("k", {"x": 1, "X": 2})]], pa.map_(pa.string(), inner)), "'x' and 'X'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_loader_names_the_column_and_its_fields_as_the_api(
    module_lakehouse: Settings, case: str
) -> None:
    column, said = CASES[case]
    table = f"struct_names_{case}"
    outcome = run(module_lakehouse, [(table, "a.parquet", _pq(column))], rows=False)[table]
    assert outcome.api_status == 422 and said in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "invalid_column", refused
    assert refused["reason"].startswith("column 's' holds") and said in refused["reason"], refused
    assert refused["column"] == "s", refused
    assert refused["reason"] in str(outcome.api_detail), (refused, outcome.api_detail)
