"""A value meeting a column bronze already has, under ``on_mismatch: quarantine`` (review
finding revx s14 05): the loader's words name the table's type (a nested column's rule,
``OBJECT`` or ``UNFIT``, is no type: ``list<element: int64>``), and the API refuses (422) what
the loader would quarantine, naming bronze's type (docs/api.md: "what it answers 202 for, the
loader loads")."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import declare, run

from lakehouse.settings import Settings


def _parquet(values: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1] * len(values), pa.int64()), "c": values}), out)
    return out.getvalue()


def test_the_loader_names_a_list_columns_type(one_lakehouse: Settings) -> None:
    run(one_lakehouse, [("t", "a.parquet", _parquet(pa.array([[1]])))], rows=False)
    declare(one_lakehouse, "t", {"id": "bigint", "c": "bigint"}, "quarantine")
    outcome = run(one_lakehouse, [("t", "b.parquet", _parquet(pa.array([1])))], rows=False)["t"]
    assert outcome.refused is not None
    assert outcome.refused["kind"] == "type_conflict"
    reason = outcome.refused["reason"]
    assert "'1' does not fit list<element: int64>" in reason, reason
    assert "UNFIT" not in reason, reason


def test_the_loader_names_a_struct_columns_type(one_lakehouse: Settings) -> None:
    run(one_lakehouse, [("t", "a.parquet", _parquet(pa.array([{"a": 1}])))], rows=False)
    declare(one_lakehouse, "t", {"id": "bigint", "c": "varchar"}, "quarantine")
    outcome = run(one_lakehouse, [("t", "b.parquet", _parquet(pa.array(["x"])))], rows=False)["t"]
    assert outcome.refused is not None
    reason = outcome.refused["reason"]
    assert "'x' does not fit struct<a: int64>" in reason, reason
    assert "OBJECT" not in reason, reason
