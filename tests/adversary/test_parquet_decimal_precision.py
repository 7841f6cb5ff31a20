"""A Parquet decimal holding more digits than its type's precision: a writer that does not check
(Go and Rust writers, pyarrow's ``store_decimal_as_integer`` over an array it did not validate)
can put any integer under a ``DECIMAL(p, s)`` annotation. pyarrow reads it unchecked, and the
Parquet file bronze writes keeps a ``DECIMAL(4,2)`` in two bytes, where 1234.56 wrapped to
-76.16: bronze held numbers nobody sent, after a 202 (review finding auditg 04, HIGH). Both
refuse such a file now, naming the record, the column and the value
(``lakehouse.parquet.Values``); decimals within their precision load exactly, the greatest
ones included.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings


def _decimals(unscaled: list[int | None], t: pa.DataType) -> pa.Array:
    """A decimal array of these unscaled integers, unchecked against the type's precision."""
    width = {pa.Decimal256Type: 32, pa.Decimal32Type: 4, pa.Decimal64Type: 8}.get(type(t), 16)
    data = b"".join((v or 0).to_bytes(width, "little", signed=True) for v in unscaled)
    valid = [v is not None for v in unscaled]
    bits = pa.array(valid, pa.bool_()).buffers()[1] if not all(valid) else None
    return pa.Array.from_buffers(t, len(unscaled), [bits, pa.py_buffer(data)])


def _parquet(table: pa.Table, **options: object) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **options)  # type: ignore[arg-type]
    return out.getvalue()


D42 = pa.decimal128(4, 2)
CASES = {
    # INT32 as written by a writer that does not check: 1234.56 under DECIMAL(4,2)
    "int32": (
        _parquet(
            pa.table({"id": [1, 2], "d": _decimals([99, 123456], D42)}),
            store_decimal_as_integer=True,
        ),
        "record 2, column 'd'",
        "1234.56",
    ),
    # FIXED_LEN_BYTE_ARRAY: one past the greatest DECIMAL(4,2), negative
    "fixed_bytes": (
        _parquet(pa.table({"id": [1, 2, 3], "d": _decimals([None, -9999, -10000], D42)})),
        "record 3, column 'd'",
        "-100.00",
    ),
    # 10**38 in a DECIMAL(38,0): 16 bytes hold it, 38 digits do not (past 38 digits Delta
    # holds no decimal: such a type is refused before its values are read)
    "decimal128_38": (
        _parquet(pa.table({"d": _decimals([10**38], pa.decimal128(38, 0))})),
        "record 1, column 'd'",
        "1" + "0" * 38,
    ),
    "in_a_list": (
        _parquet(
            pa.table(
                {
                    "l": pa.ListArray.from_arrays(
                        pa.array([0, 1, 3], pa.int32()), _decimals([1, 2, 123456], D42)
                    )
                }
            ),
            store_decimal_as_integer=True,
        ),
        "record 2, column 'l'",
        "1234.56",
    ),
    # Arrow's decimal32/decimal64 (the file's ARROW:schema keeps them; INT32/INT64 physical):
    # the same refusal, not "does not parse" and "record 1 or after" (review finding audits 01)
    "decimal32": (
        _parquet(
            pa.table({"id": [1, 2], "d": _decimals([99, 123456], pa.decimal32(4, 2))}),
            store_decimal_as_integer=True,
        ),
        "record 2, column 'd'",
        "1234.56",
    ),
    "decimal64": (
        _parquet(
            pa.table({"id": [1, 2, 3], "d": _decimals([None, 1, -(10**15)], pa.decimal64(12, 3))}),
            store_decimal_as_integer=True,  # INT64: precision past 9
        ),
        "record 3, column 'd'",
        "-1000000000000.000",
    ),
    "decimal32_in_a_struct": (
        _parquet(
            pa.table(
                {
                    "s": pa.StructArray.from_arrays(
                        [_decimals([5, -100000], pa.decimal32(4, 2))], names=["d"]
                    )
                }
            ),
            store_decimal_as_integer=True,
        ),
        "record 2, column 's'",
        "-1000.00",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_decimal_past_its_precision_refuses_the_file(
    module_lakehouse: Settings, case: str
) -> None:
    data, said, value = CASES[case]
    name = f"decimal_{case}"
    outcome = run(module_lakehouse, [(name, "f.parquet", data)], rows=False)[name]
    assert outcome.api_status == 422, outcome.api_detail
    assert "has more digits than its type" in str(outcome.api_detail), outcome.api_detail
    assert value in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "202, then a wrapped number stored"
    assert outcome.refused["kind"] == "type_conflict", outcome.refused
    assert said in outcome.refused["reason"], outcome.refused
    assert f"a decimal, {value}," in outcome.refused["reason"], outcome.refused


def test_decimals_within_their_precision_load_exactly(module_lakehouse: Settings) -> None:
    unscaled = [9999, -9999, 0, None, 1]
    table = pa.table({"id": [1, 2, 3, 4, 5], "d": _decimals(unscaled, D42)})
    files = [
        ("decimal_within_int32", "a.parquet", _parquet(table, store_decimal_as_integer=True)),
        ("decimal_within_bytes", "b.parquet", _parquet(table)),
    ]
    want = [None if v is None else Decimal(v).scaleb(-2) for v in unscaled]
    for name, outcome in run(module_lakehouse, files, rows=False).items():
        assert outcome.api_status == 202 and outcome.refused is None, outcome.refused
        stored = bronze_table(module_lakehouse, name).sort_by("id").column("d").to_pylist()
        assert stored == want, (name, stored)
