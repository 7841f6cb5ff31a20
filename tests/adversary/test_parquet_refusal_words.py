"""A Parquet file both refuse is refused for one reason in one set of words (review finding
revc 06, s17; arrow-testing's fuzzing files):

- a decimal of more than the 38 digits a Delta decimal holds: the API said "column type
  decimal256(43, 7): Delta holds decimals of at most 38 digits" (a struct's whole type for a
  decimal inside it), the loader "column 'col_7' is decimal256(43, 7): more digits than the 38 a
  Delta decimal holds"; now both ``lakehouse.parquet.too_many_digits``;
- one order of checks: the API judged the names before the INT96 values (the reading of the
  footer's bytes), the loader after them; a file with both a blank name and an INT96 value bronze
  does not hold was 422 for the name and ``type_conflict`` for the value (arrow-testing's
  fuzz-5653681249976320, a name of ten spaces and a column chunk running past the file's end:
  422 for the name, ``unparseable`` for the file). Now the API's order is the loader's.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run
from test_parquet_int96_nanos import OUT_OF_DAY

from lakehouse import dialect, parquet
from lakehouse.settings import Settings

BIGDECIMAL = Path(__file__).resolve().parents[1] / "data" / "parquet-duckdb" / "bigdecimal.parquet"


def _parquet(column: str, array: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({column: array}), out)
    return out.getvalue()


_D40 = pa.decimal256(40, 0)
WIDE = {  # (the file, its column, the decimal type named)
    "top": (lambda: _parquet("d", pa.array([1], _D40)), "d", "decimal256(40, 0)"),
    "in_struct": (
        lambda: _parquet(
            "s", pa.array([{"x": 1, "y": 2}], pa.struct([("x", pa.int8()), ("y", _D40)]))
        ),
        "s",
        "decimal256(40, 0)",
    ),
    "in_list": (
        lambda: _parquet("l", pa.array([[1, None]], pa.list_(pa.decimal256(76, 3)))),
        "l",
        "decimal256(76, 3)",
    ),
    "past_arrow": (BIGDECIMAL.read_bytes, "bigdec", "DECIMAL(77,38)"),
}


@pytest.mark.parametrize("case", sorted(WIDE))
def test_a_decimal_past_38_digits_is_refused_in_one_set_of_words(
    module_lakehouse: Settings, case: str
) -> None:
    make, column, decimal = WIDE[case]
    words = parquet.too_many_digits(column, decimal)
    table = f"wide_{case}"
    outcome = run(module_lakehouse, [(table, "f.parquet", make())], rows=False)[table]
    assert outcome.api_status == 422, outcome.api_detail
    assert [(e["field"], e["msg"], e["type"]) for e in outcome.api_detail] == [
        (column, words, "type_error")
    ]
    assert outcome.refused is not None
    refused = outcome.refused
    assert (refused["kind"], refused["reason"], refused["column"]) == (
        "type_conflict",
        words,
        column,
    )


def test_the_int96_values_are_judged_before_the_names_by_both(module_lakehouse: Settings) -> None:
    """Impala's INT96 value past a day (``test_parquet_int96_nanos``), its column renamed ``' '``
    (a blank name bronze refuses): both refuse the value, the loader's first check of the two."""
    data = OUT_OF_DAY.replace(b"\x18\x01d", b"\x18\x01 ")  # each Thrift string 'd' of the footer
    assert pq.ParquetFile(io.BytesIO(data)).schema_arrow.names == [" "]
    table = "int96_blank_name"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    assert outcome.api_status == 422, outcome.api_detail
    [error] = outcome.api_detail
    assert (error["row"], error["field"], error["type"]) == (0, " ", "type_error"), error
    assert "nanoseconds of the day are beyond a day" in error["msg"], error
    assert outcome.refused is not None
    assert (outcome.refused["kind"], outcome.refused["reason"]) == (
        "type_conflict",
        dialect.placed("record 1", f"column ' ': {error['msg']}"),
    )


def _twin_fields(names: list[str], struct_first: bool, fields: tuple[str, str]) -> bytes:
    twins = pa.StructArray.from_arrays([pa.array([1, 2]), pa.array([3, 4])], names=list(fields))
    columns = [pa.array([1, 2]) for _ in names]
    out = io.BytesIO()
    if struct_first:
        table = pa.Table.from_arrays([twins, *columns], names=["v", *names])
    else:
        table = pa.Table.from_arrays([*columns, twins], names=[*names, "v"])
    pq.write_table(table, out)
    return out.getvalue()


NAMES_BESIDE_TWINS = {  # (the file, the words of the one problem both name)
    "blank_then_twins": (
        lambda: _twin_fields(["a", ""], False, ("x", "x")),
        "column 2 has a blank name ('')",
    ),
    "reserved_then_case_twins": (
        lambda: _twin_fields(["a", "_batch_id"], False, ("x", "X")),
        "column '_batch_id' is reserved for bronze's own column '_batch_id'",
    ),
    "twins_then_case_names": (
        lambda: _twin_fields(["a", "A"], True, ("x", "x")),
        "column 'A' differs only by case from column 'a' (column names are case-insensitive"
        " in Delta and DuckDB)",
    ),
}


@pytest.mark.parametrize("case", sorted(NAMES_BESIDE_TWINS))
def test_a_bad_column_name_beside_twin_struct_fields_is_named_first_by_both(
    module_lakehouse: Settings, case: str
) -> None:
    """The columns' names are judged before any struct's fields by both, in one function
    (``parquet.name_problem``; review finding revc 03, s18): the loader judged the struct fields
    first, so a blank or reserved name beside a struct of twin fields, whichever column came
    first, was 422 for the name and ``invalid_column`` "column 'v' holds two fields named 'x'"."""
    make, words = NAMES_BESIDE_TWINS[case]
    table = f"names_{case}"
    outcome = run(module_lakehouse, [(table, "f.parquet", make())], rows=False)[table]
    assert outcome.api_status == 422, outcome.api_detail
    assert [(e["msg"], e["type"]) for e in outcome.api_detail] == [(words, "invalid_column")]
    assert outcome.refused is not None
    assert (outcome.refused["kind"], outcome.refused["reason"]) == ("invalid_column", words)
