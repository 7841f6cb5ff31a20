"""A value meeting a column bronze already has, under ``on_mismatch: quarantine`` (review
finding revx s14 05): the loader's words name the table's type (a nested column's rule,
``OBJECT`` or ``UNFIT``, is no type: ``list<element: int64>``), and the API refuses (422) what
the loader would quarantine, naming bronze's type (docs/api.md: "what it answers 202 for, the
loader loads"), in one set of words (``lakehouse.misfit``: the sentence, then the note naming
bronze's type; until session 19 the loader said ``'1' does not fit list<element: int64>``
where the API said ``'1' does not fit a list or map column: only null does (...) (bronze's
column 'c' is list<element: int64>: ...)``)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import declare, lakehouse, run

from lakehouse import dialect
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
    [error] = outcome.api_detail
    assert reason == dialect.placed("record 1", f"column 'c': {error['msg']}"), (reason, error)
    assert "'1' does not fit a list or map column: only null does" in reason, reason
    assert "bronze's column 'c' is list<element: int64>" in reason, reason
    assert "UNFIT" not in reason, reason


def test_the_loader_names_a_struct_columns_type(one_lakehouse: Settings) -> None:
    run(one_lakehouse, [("t", "a.parquet", _parquet(pa.array([{"a": 1}])))], rows=False)
    declare(one_lakehouse, "t", {"id": "bigint", "c": "varchar"}, "quarantine")
    outcome = run(one_lakehouse, [("t", "b.parquet", _parquet(pa.array(["x"])))], rows=False)["t"]
    assert outcome.refused is not None
    reason = outcome.refused["reason"]
    [error] = outcome.api_detail
    assert reason == dialect.placed("record 1", f"column 'c': {error['msg']}"), (reason, error)
    assert "'x' is not a JSON object, which a struct column takes" in reason, reason
    assert "bronze's column 'c' is struct<a: int64>" in reason, reason
    assert "OBJECT" not in reason, reason


def _agree(outcome) -> None:  # type: ignore[no-untyped-def]
    if outcome.refused is not None:
        assert outcome.api_status != 202, ("202, then", outcome.refused["reason"])
    else:
        assert outcome.api_status == 202, outcome.api_detail


def test_an_undeclared_column_under_quarantine_is_refused_by_the_api(
    one_lakehouse: Settings,
) -> None:
    settings = lakehouse(one_lakehouse.root, on_mismatch="quarantine")
    run(settings, [("t", "a.csv", b"id,c\n1,5\n")], rows=False)
    outcome = run(settings, [("t", "b.csv", b"id,c\n1,x\n")], rows=False)["t"]
    _agree(outcome)
    assert outcome.api_status == 422, outcome.api_detail
    assert "bronze's column 'c' is BIGINT" in str(outcome.api_detail), outcome.api_detail
    fits = run(settings, [("t", "c.csv", b"id,c\n2,7\n")], rows=False)["t"]
    assert fits.api_status == 202, fits.api_detail  # a value that fits is taken


def test_an_undeclared_column_under_a_tables_quarantine(one_lakehouse: Settings) -> None:
    run(one_lakehouse, [("t", "a.csv", b"id,c\n1,5\n")], rows=False)
    declare(one_lakehouse, "t", {"id": "bigint"}, "quarantine")
    _agree(run(one_lakehouse, [("t", "b.ndjson", b'{"id":1,"c":"x"}\n')], rows=False)["t"])
    _agree(run(one_lakehouse, [("t", "c.parquet", _parquet(pa.array(["x"])))], rows=False)["t"])


def test_an_undeclared_column_under_rescue_is_taken_and_rescued(one_lakehouse: Settings) -> None:
    run(one_lakehouse, [("t", "a.csv", b"id,c\n1,5\n")], rows=False)
    outcome = run(one_lakehouse, [("t", "b.csv", b"id,c\n1,x\n")], rows=False)["t"]
    assert (outcome.api_status, outcome.refused) == (202, None), outcome.api_detail


def test_a_parquet_string_over_a_struct_column_declared_later(one_lakehouse: Settings) -> None:
    run(one_lakehouse, [("t", "a.parquet", _parquet(pa.array([{"a": 1}])))], rows=False)
    declare(one_lakehouse, "t", {"id": "bigint", "c": "varchar"}, "quarantine")
    outcome = run(one_lakehouse, [("t", "b.parquet", _parquet(pa.array(["x"])))], rows=False)["t"]
    _agree(outcome)
    assert outcome.api_status == 422, outcome.api_detail
    assert "struct<a: int64>" in str(outcome.api_detail), outcome.api_detail


def test_a_parquet_integer_over_a_list_column_declared_later(one_lakehouse: Settings) -> None:
    run(one_lakehouse, [("t", "a.parquet", _parquet(pa.array([[1]])))], rows=False)
    declare(one_lakehouse, "t", {"id": "bigint", "c": "bigint"}, "quarantine")
    outcome = run(one_lakehouse, [("t", "b.parquet", _parquet(pa.array([1])))], rows=False)["t"]
    _agree(outcome)
    assert outcome.api_status == 422, outcome.api_detail


def test_parquet_values_a_nested_column_takes_are_taken(one_lakehouse: Settings) -> None:
    run(one_lakehouse, [("s", "a.parquet", _parquet(pa.array([{"a": 1}])))], rows=False)
    run(one_lakehouse, [("l", "a.parquet", _parquet(pa.array([[1]])))], rows=False)
    declare(one_lakehouse, "s", {"id": "bigint", "c": "varchar"}, "quarantine")
    for table, values in [
        ("s", pa.array([{"a": 2, "b": "new"}])),  # a struct: grows the column's fields
        ("s", pa.array(['{"a": 3}'])),  # a JSON object's text that fits
        ("s", pa.array([None], pa.string())),
        ("l", pa.array([[2, 3]])),
        ("l", pa.array([None], pa.int64())),
    ]:
        outcome = run(one_lakehouse, [(table, "b.parquet", _parquet(values))], rows=False)[table]
        assert (outcome.api_status, outcome.refused) == (202, None), (values, outcome)


def test_a_parquet_column_of_no_value_over_a_bytes_column_loads(one_lakehouse: Settings) -> None:
    run(one_lakehouse, [("t", "a.parquet", _parquet(pa.array([b"\xff"])))], rows=False)
    declare(one_lakehouse, "t", {"id": "bigint", "c": "varchar"}, "quarantine")
    outcome = run(one_lakehouse, [("t", "b.parquet", _parquet(pa.nulls(2)))], rows=False)["t"]
    assert (outcome.api_status, outcome.refused) == (202, None), outcome
