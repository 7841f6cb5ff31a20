"""A Parquet number column into a declared column it does not widen to: the API judges each
value by its text, as the loader does (one rule: ``lakehouse.parquet.kept_as_written``).

A float64 column declared ``real``, an int64 one declared ``double``, a float64 one declared
``decimal(10,2)``: the API took any float or integer Parquet type for them (202), while the
loader, whose types do not widen there, meets each value through its text and the rule and
rescued or refused what does not fit (``3.14159265`` is no REAL exactly, ``2**53 + 1`` no
DOUBLE, ``0.125`` no DECIMAL(10,2)). Now the API refuses those values (422 naming the record and
the column) and takes the files whose every value fits, which the loader loads exactly.

The other way round too: a column whose type is not among the declared type's kinds (a double
declared ``bigint``, a decimal declared ``double``, a boolean, a struct or a duration declared
``bigint``) was refused by its type (422 "column type double does not fit bigint") while the
loader judged it value by value through its text (``lakehouse.parquet.value_texts``) and loaded
``[1.0, 2.0]`` as ``[1, 2]`` (review finding auditL 09). Now the API judges every declared
column the loader does not keep as written by its values' texts, as the loader does.
"""

from __future__ import annotations

import decimal
import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, run

from lakehouse.settings import Settings

D = decimal.Decimal

#: declared type, Parquet column, the first record whose value does not fit (0-based)
MISFITS: dict[str, tuple[str, pa.Array, int]] = {
    "double_into_real": ("real", pa.array([1.5, 3.14159265], pa.float64()), 1),
    "int64_into_double": ("double", pa.array([1, 2**53 + 1], pa.int64()), 1),
    "int32_into_real": ("real", pa.array([1, 16777217], pa.int32()), 1),
    "double_into_decimal": ("decimal(10,2)", pa.array([1.5, 0.125], pa.float64()), 1),
    # a decimal(12,4) value past DECIMAL(10,2)'s scale: 1.2345 (1.5000 fits: FITS below)
    "wider_decimal": ("decimal(10,2)", pa.array([D("1.5"), D("1.2345")], pa.decimal128(12, 4)), 1),
    "double_into_bigint": ("bigint", pa.array([1.0, 1.5], pa.float64()), 1),
    "decimal_into_double": ("double", pa.array([D("1"), D(2**53 + 1)], pa.decimal128(20, 0)), 1),
    "bool_into_bigint": ("bigint", pa.array([None, True], pa.bool_()), 1),
    "struct_into_bigint": ("bigint", pa.array([{"a": 1}], pa.struct([("a", pa.int64())])), 0),
    "duration_into_bigint": ("bigint", pa.array([90], pa.duration("s")), 0),  # '90 seconds'
}

#: declared type, Parquet column, the values bronze holds
FITS: dict[str, tuple[str, pa.Array, list[Any]]] = {
    "double_into_real": ("real", pa.array([1.5, 0.25], pa.float64()), [1.5, 0.25]),
    "int64_into_double": ("double", pa.array([1, 2**40], pa.int64()), [1.0, float(2**40)]),
    "double_into_decimal": (
        "decimal(10,2)",
        pa.array([1.5, 0.25], pa.float64()),
        [D("1.50"), D("0.25")],
    ),
    "double_into_bigint": ("bigint", pa.array([1.0, -2.0, None], pa.float64()), [1, -2, None]),
    "decimal_into_double": (
        "double",
        pa.array([D("1.5000"), D("-0.0001"), D("12345678.1234")], pa.decimal128(12, 4)),
        [1.5, -0.0001, 12345678.1234],
    ),
    "null_bools_into_bigint": ("bigint", pa.array([None, None], pa.bool_()), [None, None]),
    # zeros past the scale are the same number (docs/loading.md, Normalisations)
    "wider_decimal": (
        "decimal(10,2)",
        pa.array([D("1.5000"), D("-0.0100")], pa.decimal128(12, 4)),
        [D("1.50"), D("-0.01")],
    ),
}


def _parquet(x: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"x": x, "n": list(range(len(x)))}), out)
    return out.getvalue()


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize("case", list(MISFITS))
def test_a_value_the_loader_would_not_keep_is_refused_by_the_api(
    module_lakehouse: Settings, case: str, policy: str
) -> None:
    data_type, column, bad = MISFITS[case]
    table = f"pq_num_{case}_{policy}"
    declare(module_lakehouse, table, {"x": data_type}, policy=policy)
    outcome = run(module_lakehouse, [(table, "a.parquet", _parquet(column))])[table]
    assert outcome.api_status == 422, (outcome.api_status, outcome.api_detail)
    errors = outcome.api_detail
    assert isinstance(errors, list) and errors, errors
    assert (errors[0]["row"], errors[0]["field"]) == (bad, "x"), errors
    assert "does not fit" in errors[0]["msg"], errors
    # the same bytes dropped into the landing zone: the loader does not keep the value either
    if policy == "quarantine":
        assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
        assert outcome.refused["column"] == "x"
        where = f"record {bad + 1}, column 'x'"
        assert outcome.refused["reason"].startswith(where), outcome.refused
    else:
        assert outcome.refused is None and outcome.loaded_rows is not None
        row = next(r for r in outcome.loaded_rows if r["n"] == bad)
        assert row["x"] is None and row["_rescued_data"], row


@pytest.mark.parametrize("case", list(FITS))
def test_values_that_fit_are_taken_and_loaded_exactly(
    module_lakehouse: Settings, case: str
) -> None:
    data_type, column, stored = FITS[case]
    table = f"pq_num_fit_{case}"
    declare(module_lakehouse, table, {"x": data_type}, policy="quarantine")
    outcome = run(module_lakehouse, [(table, "a.parquet", _parquet(column))])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None and outcome.loaded_rows is not None
    assert [r["x"] for r in sorted(outcome.loaded_rows, key=lambda r: r["n"])] == stored
