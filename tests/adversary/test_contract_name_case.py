"""A file column equal but for case to a column the table's contract declares (``amount``
beside a declared ``Amount``) is refused by the API (422) and the loader (``invalid_column``),
naming both spellings, as a clash with the bronze table's own column is: Delta and DuckDB
compare names without case, so it is the declared column to them, and its declared type or
``not_null`` would not apply (review finding auditc 04, session 12). Before, the file loaded
with ``amount`` inferred (``'x'`` kept in the twin of a declared bigint, no word), after which
every file spelt as the contract declares it was refused for its case."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, run

from lakehouse.settings import Settings


def _parquet(name: str) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [1], name: ["x"]}), out)
    return out.getvalue()


FILES = {
    "csv": ("a.csv", b"id,amount\n1,x\n2,5\n"),
    "ndjson": ("a.ndjson", b'{"id": 1, "amount": "x"}\n'),
    "json": ("a.json", b'[{"id": 1, "amount": 5}]'),
    "parquet": ("a.parquet", _parquet("amount")),
}


def _contract(settings: Settings, table: str, required: bool) -> None:
    tests = "\n            tests: [not_null]" if required else ""
    (settings.dbt_project_dir / "models" / f"{table}.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        f"      - name: {table}\n        meta: {{on_mismatch: quarantine}}\n        columns:\n"
        f"          - name: Amount\n            data_type: bigint{tests}\n"
    )


@pytest.mark.parametrize("required", [False, True], ids=["typed", "required"])
@pytest.mark.parametrize("fmt", list(FILES))
def test_a_column_equal_but_for_case_to_a_declared_one_is_refused_by_both(
    module_lakehouse: Settings, fmt: str, required: bool
) -> None:
    table = f"cc_{fmt}_{int(required)}"
    _contract(module_lakehouse, table, required)
    name, data = FILES[fmt]
    outcome = run(module_lakehouse, [(table, name, data)])[table]
    assert outcome.api_status == 422, outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "invalid_column", refused
    assert "'amount'" in refused["reason"] and "contract's column 'Amount'" in refused["reason"]
    if fmt not in ("json", "ndjson") or not required:  # JSON: required is checked in the parse
        assert "contract's column 'Amount'" in str(outcome.api_detail), outcome.api_detail


def test_the_contracts_spelling_loads(module_lakehouse: Settings) -> None:
    _contract(module_lakehouse, "cc_spelt", required=True)
    outcome = run(module_lakehouse, [("cc_spelt", "b.csv", b"id,Amount\n2,5\n")])["cc_spelt"]
    assert outcome.api_status == 202, outcome.api_detail
    rows = outcome.loaded_rows
    assert rows is not None and [(r["id"], r["Amount"]) for r in rows] == [(2, 5)], outcome


@pytest.mark.parametrize("spelling", ["amount", "Amount"])
def test_a_table_and_contract_spelling_a_column_apart_is_named_so(
    module_lakehouse: Settings, spelling: str
) -> None:
    """The table holds ``amount`` (loaded before the contract), the contract declares
    ``Amount``: no file spelling can match both, and the reason says so whichever the file
    uses, rather than sending the sender from one to the other (review finding auditl 03)."""
    table = f"cc_apart_{spelling.lower()}_{spelling == 'Amount':d}"
    first = run(module_lakehouse, [(table, "a.csv", b"id,amount\n1,5\n")])[table]
    assert first.refused is None and first.loaded_rows, first
    _contract(module_lakehouse, table, required=False)
    outcome = run(module_lakehouse, [(table, "b.csv", f"id,{spelling}\n2,6\n".encode())])[table]
    assert outcome.api_status == 422, outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "invalid_column", refused
    why = (
        "the bronze table's column 'amount' and the contract's column 'Amount' differ only by case"
    )
    assert why in refused["reason"], refused
    assert why in str(outcome.api_detail), outcome.api_detail


def test_a_contract_declaring_case_twins_is_named_so(module_lakehouse: Settings) -> None:
    declare(module_lakehouse, "cc_twins", {"a": "bigint", "A": "bigint"})
    outcome = run(module_lakehouse, [("cc_twins", "b.csv", b"a,b\n1,2\n")])["cc_twins"]
    assert outcome.api_status == 422, outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "invalid_column", refused
    assert "the contract declares columns 'a' and 'A'" in refused["reason"], refused
