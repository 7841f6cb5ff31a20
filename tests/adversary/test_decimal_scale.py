"""Zeros ending a decimal's fraction past a ``DECIMAL(p,s)`` column's scale: the number is held
exactly (``1.5000`` is 1.50), so it fits, by the API (202) and the loader alike; a nonzero
decimal past the scale (``1.5001``, ``1.005``) is a mismatch as before (docs/loading.md, Types
and Normalisations). Until session 9 both refused ``1.5000`` for ``DECIMAL(10,2)``: a
``decimal(12,4)`` Parquet column or a ``decimal(19,4)`` money export of exact cents could not
load into a declared ``decimal(10,2)``.
"""

from __future__ import annotations

import decimal
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, run

from ingest.typecheck import fits_array
from lakehouse import dialect
from lakehouse.settings import Settings
from loader import fitting

D = decimal.Decimal
LONG_ZEROS = "1." + "0" * 50  # past 38 digits: Arrow's decimal parser alone cannot read it


def _parquet(values: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"amount": values, "n": list(range(len(values)))}), out)
    return out.getvalue()


FITS = {
    "csv": (
        "f.csv",
        f"amount,n\n1.5000,0\n-0.10,1\n12345678.9900,2\n0.000,3\n7,4\n{LONG_ZEROS},5\n".encode(),
        ["1.50", "-0.10", "12345678.99", "0.00", "7.00", "1.00"],
    ),
    "ndjson": (
        "f.ndjson",
        b'{"amount": 1.5000, "n": 0}\n{"amount": -2.250, "n": 1}\n{"amount": 3.00, "n": 2}\n',
        ["1.50", "-2.25", "3.00"],
    ),
    "parquet_decimal_12_4": (
        "f.parquet",
        _parquet(pa.array([D("1.5000"), D("-2.2500"), None], pa.decimal128(12, 4))),
        ["1.50", "-2.25", None],
    ),
}


@pytest.mark.parametrize("case", sorted(FITS))
def test_zeros_past_the_scale_are_the_same_number(module_lakehouse: Settings, case: str) -> None:
    name, data, want = FITS[case]
    table = f"scale_fits_{case}"
    declare(module_lakehouse, table, {"amount": "decimal(10,2)"}, "quarantine")
    outcome = run(module_lakehouse, [(table, name, data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = sorted(outcome.loaded_rows or [], key=lambda r: r["n"])
    got = [None if r["amount"] is None else str(r["amount"]) for r in rows]
    assert got == want
    assert all(r.get("_rescued_data") is None for r in rows)


MISFITS = {
    "csv_nonzero_past_scale": ("f.csv", b"amount,n\n1.50,0\n1.5001,1\n", "1.5001", 3),
    "csv_too_many_integer_digits": ("f.csv", b"amount,n\n123456789.000,0\n", "123456789.000", 2),
    "ndjson_nonzero_past_scale": ("f.ndjson", b'{"amount": 1.0051, "n": 0}\n', "1.0051", 1),
    # the reason names the literal as sent, not DuckDB's double (1.005)
    "ndjson_zero_after_nonzero": ("f.ndjson", b'{"amount": 1.0050, "n": 0}\n', "1.0050", 1),
    "parquet_decimal_12_4": (
        "f.parquet",
        _parquet(pa.array([D("1.5000"), D("1.2345")], pa.decimal128(12, 4))),
        "1.2345",
        None,
    ),
}


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize("case", sorted(MISFITS))
def test_a_nonzero_decimal_past_the_scale_is_still_a_mismatch(
    module_lakehouse: Settings, case: str, policy: str
) -> None:
    name, data, value, line = MISFITS[case]
    table = f"scale_misfit_{case}_{policy}"
    declare(module_lakehouse, table, {"amount": "decimal(10,2)"}, policy)
    outcome = run(module_lakehouse, [(table, name, data)])[table]
    assert outcome.api_status == 422, outcome.api_detail
    if policy == "quarantine":
        assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
        assert outcome.refused["line"] == line
        # the API's sentence after the value's place (lakehouse.misfit; session 18)
        msg = outcome.api_detail[0]["msg"]
        assert outcome.refused["reason"].endswith(f"column 'amount': {msg}"), outcome.refused
        assert value in msg, msg
        return
    assert outcome.refused is None, outcome.refused
    (row,) = [r for r in outcome.loaded_rows or [] if r["_rescued_data"] is not None]
    assert row["amount"] is None
    # a CSV field's text; a JSON number as written (its digits: 1.0050, not the double 1.005)
    assert json.loads(row["_rescued_data"], parse_float=str, parse_int=str) == {"amount": value}


TEXTS = [
    "1.5000", "1.5001", "0.000", "-0.10", "-0.100", "-0.0001", "12345678.9900", "123456789.00",
    "7", "7.", "7.0", LONG_ZEROS, "1.005", "1.0050", "0.00000000000000000000000000000000000001",
    "99999999.990000000000000000000000000000000000000000",
]  # fmt: skip


@pytest.mark.parametrize("data_type", ["DECIMAL(10,2)", "DECIMAL(5,0)", "DECIMAL(5,5)"])
def test_the_api_and_the_loader_state_one_rule(data_type: str) -> None:
    want = [dialect.fits(t, data_type) for t in TEXTS]
    assert fits_array(pa.array(TEXTS), data_type).to_pylist() == want
    assert fitting.fits(pa.array(TEXTS), data_type).to_pylist() == want
    assert dialect.fits("1.5000", "DECIMAL(10,2)") and not dialect.fits("1.5001", "DECIMAL(10,2)")
