"""Required columns (a contract's ``not_null`` or ``meta.primary_key``): a file whose record
lacks a required value, or that lacks a required column, is refused by the API (422) and by the
loader alike, under ``on_mismatch: quarantine`` and under the default ``rescue`` (a missing value
has nothing to rescue: storing the row with the column null would break the contract without a
word). Before, the loader loaded the same bytes with the value null or the column missing, even
under ``quarantine`` (review finding auditL 11); until session 9 still under ``rescue``.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run

from lakehouse.settings import Settings


def _contract(settings: Settings, table: str, policy: str) -> None:
    (settings.dbt_project_dir / "models" / f"{table}.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        f"      - name: {table}\n        meta: {{on_mismatch: {policy}, primary_key: [id]}}\n"
        "        columns:\n"
        "          - {name: id, data_type: bigint}\n"
        "          - name: a\n            data_type: bigint\n            data_tests: [not_null]\n"
        "          - {name: b, data_type: varchar}\n"
    )


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


# (file name, bytes, the column named, the line named or None)
_CASES = {
    "csv_a_null": ("f.csv", b"id,a,b\n1,2,x\n2,,y\n", "a", 3),
    "csv_a_missing": ("f.csv", b"id,b\n1,x\n", "a", None),
    "csv_key_null": ("f.csv", b"id,a\n1,5\n,5\n", "id", 3),
    "ndjson_a_null": ("f.ndjson", b'{"id": 1, "a": 2}\n{"id": 2, "a": null}\n', "a", 2),
    "ndjson_a_absent_in_a_record": ("f.ndjson", b'{"id": 1, "a": 2}\n{"id": 2}\n', "a", 2),
    "ndjson_a_missing": ("f.ndjson", b'{"id": 1, "b": "x"}\n', "a", None),
    "parquet_a_null": (
        "f.parquet",
        _parquet(pa.table({"id": [1, 2], "a": pa.array([7, None], pa.int64())})),
        "a",
        None,
    ),
    "parquet_a_missing": ("f.parquet", _parquet(pa.table({"id": [1, 2]})), "a", None),
}


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize("case", sorted(_CASES))
def test_a_missing_required_value_is_refused_alike(
    module_lakehouse: Settings, case: str, policy: str
) -> None:
    name, data, column, line = _CASES[case]
    table = f"req_{case}_{policy}"
    _contract(module_lakehouse, table, policy)
    outcome = run(module_lakehouse, [(table, name, data)])[table]
    assert outcome.api_status == 422, outcome.api_detail
    assert outcome.refused is not None, outcome.loaded_rows
    assert outcome.refused["kind"] == "required"
    assert outcome.refused["column"] == column
    assert outcome.refused["line"] == line
    assert repr(column) in outcome.refused["reason"]


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
def test_required_values_present_load(module_lakehouse: Settings, policy: str) -> None:
    """The rule refuses only what lacks a value: an empty quoted text and an optional null are
    not missing values. A required column's value that does not fit refuses the file under
    either policy, as the API does (review finding revx 07, session 14: rescued, the row held
    the required column null, which the contract says cannot be)."""
    table = f"req_present_{policy}"
    _contract(module_lakehouse, table, policy)
    data = b'id,a,b\n1,2,""\n2,3,\n'
    outcome = run(module_lakehouse, [(table, "f.csv", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None
    rows = sorted((r["id"], r["a"], r["b"]) for r in outcome.loaded_rows or [])
    assert rows == [(1, 2, ""), (2, 3, None)]
    if policy == "rescue":
        table = "req_rescued"
        _contract(module_lakehouse, table, policy)
        outcome = run(module_lakehouse, [(table, "f.csv", b"id,a\n1,x\n")])[table]
        assert outcome.api_status == 422  # the API checks the type; the loader refuses it too
        refused = outcome.refused
        assert refused is not None and refused["kind"] == "type_conflict", outcome.loaded_rows
        assert refused["column"] == "a" and refused["value"] == "x" and refused["line"] == 2


_KEY_ONLY = {
    "list": "meta: {primary_key: [id]}",
    "string": "meta: {primary_key: id}",
    "config-meta": "config: {meta: {primary_key: [id]}}",
    "another-column-listed": "meta: {primary_key: [id]}\n        columns:\n          - name: v",
}


@pytest.mark.parametrize(
    ("data", "line"), [(b"id,v\n,1\n2,3\n", 2), (b"v\n1\n", None)], ids=["null", "absent"]
)
@pytest.mark.parametrize("meta", sorted(_KEY_ONLY))
def test_a_primary_key_not_listed_as_a_column_is_required(
    module_lakehouse: Settings, meta: str, data: bytes, line: int | None
) -> None:
    """dbt's sources need not list their columns: a ``meta.primary_key`` column the contract
    does not list under ``columns:`` is required as a listed one is. *Before:* (until session
    13) it was not required at all: a null key or a file without the key column got 202 and
    loaded (review finding revc 07)."""
    table = f"k_{meta.replace('-', '_')}_{line or 0}"
    (module_lakehouse.dbt_project_dir / "models" / f"{table}.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        f"      - name: {table}\n        {_KEY_ONLY[meta]}\n"
    )
    outcome = run(module_lakehouse, [(table, "f.csv", data)], rows=False)[table]
    assert outcome.api_status == 422, (outcome.api_status, outcome.api_detail)
    assert "'id'" in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "required", refused
    assert "'id'" in refused["reason"], refused


@pytest.mark.parametrize(("key", "listed"), [("id", "ID"), ("ID", "id")])
def test_a_primary_key_naming_a_listed_column_in_another_case_is_that_column(
    module_lakehouse: Settings, key: str, listed: str
) -> None:
    """Names are one whatever their case: ``primary_key: [id]`` over a listed ``ID`` makes that
    column required, not a second column. *Before:* (c844fc3, session 13) a second column
    ``id`` was added and the contract's case-twin check refused every file (revl 10)."""
    table = f"kc_{key.lower()}_{listed.lower()}_{key.isupper():d}"
    (module_lakehouse.dbt_project_dir / "models" / f"{table}.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        f"      - name: {table}\n        meta: {{primary_key: [{key}]}}\n"
        f"        columns:\n          - {{name: {listed}, data_type: bigint}}\n"
    )
    ok = run(module_lakehouse, [(table, "f.ndjson", f'{{"{listed}": 1}}\n'.encode())])[table]
    assert ok.api_status == 202 and ok.refused is None, (ok.api_detail, ok.refused)
    null = run(module_lakehouse, [(table, "g.csv", f"{listed},v\n,1\n".encode())], rows=False)
    assert null[table].api_status == 422, null[table].api_detail
    assert null[table].refused is not None and null[table].refused["kind"] == "required"
