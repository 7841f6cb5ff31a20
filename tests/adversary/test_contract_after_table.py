"""A contract declared after its bronze table exists, with another type than the table's column
(``docs/api.md``, Contracts): the API judges that column by the table's type, as the loader does
(``lakehouse.parquet.column_rule``), and its 422 names both types. Before, the API answered 202
by the declaration and the loader then quarantined or rescued the value by the table's type
(review finding auditL 06): "accepted" meant nothing for those values.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest
from adversary_support import bronze_table, declare, lakehouse, run
from fastapi.testclient import TestClient

from ingest.app import create_app
from lakehouse.contracts import Column, Contract, as_loaded
from lakehouse.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    return lakehouse(tmp_path)


@pytest.mark.parametrize(
    ("first", "data_type", "later", "table_type"),
    [
        (b"a\n1\n", "varchar", b"a\nx\n", "BIGINT"),
        (b"a\n1\n", "decimal(10,2)", b"a\n1.25\n", "BIGINT"),
        (b"a\n2024-01-01\n", "timestamp", b"a\n2024-01-01 10:00:00\n", "DATE"),
    ],
    ids=["varchar_over_bigint", "decimal_over_bigint", "timestamp_over_date"],
)
def test_files_judged_by_the_tables_type(
    settings: Settings, first: bytes, data_type: str, later: bytes, table_type: str
) -> None:
    table = "later_contract"
    run(settings, [(table, "a.csv", first)], rows=False)
    declare(settings, table, {"a": data_type}, "quarantine")
    outcome = run(settings, [(table, "b.csv", later)], rows=False)[table]
    assert outcome.api_status == 422, outcome.api_detail
    msg = outcome.api_detail[0]["msg"]
    assert table_type in msg and f"the contract's {data_type}" in msg, msg
    # the loader refuses the same bytes (dropped as they are) for the same reason
    assert outcome.refused is not None and table_type in outcome.refused["reason"]
    # what fits the table's column is taken by both
    fits = run(settings, [(table, "c.csv", first)], rows=False)[table]
    assert fits.api_status == 202 and bronze_table(settings, table).num_rows == 2


def test_records_judged_by_the_tables_type(settings: Settings) -> None:
    table = "later_contract_records"
    run(settings, [(table, "a.ndjson", b'{"a": 1}\n')], rows=False)
    declare(settings, table, {"a": "varchar"}, "quarantine")
    with TestClient(create_app(settings)) as client:
        r = client.post(
            f"/v1/tables/{table}/records",
            content=b'{"a": "x"}\n',
            headers={"content-type": "application/x-ndjson"},
        )
        assert r.status_code == 422, r.text
        assert "BIGINT" in r.text and "the contract's varchar" in r.text, r.text
        r = client.post(
            f"/v1/tables/{table}/records",
            content=b'{"a": 7}\n',
            headers={"content-type": "application/x-ndjson"},
        )
        assert r.status_code == 202, r.text


def test_a_narrower_declaration_stays_as_declared(settings: Settings) -> None:
    """``integer`` over a ``BIGINT`` column: every value it takes fits the table's, so the API
    keeps the declared range (stricter than the loader, never looser)."""
    table = "later_contract_narrow"
    run(settings, [(table, "a.csv", b"a\n1\n")], rows=False)
    declare(settings, table, {"a": "integer"}, "quarantine")
    outcome = run(settings, [(table, "b.csv", b"a\n3000000000\n")], rows=False)[table]
    assert outcome.api_status == 422, outcome.api_detail
    assert "the contract's" not in str(outcome.api_detail)


def test_which_declarations_the_table_judges() -> None:
    """Only a declared type taking values the table's column does not is judged by the table
    (any type over a nested column: test_contract_over_nested_column.py)."""
    declared = Contract(
        "t",
        tuple(
            Column(name, data_type)
            for name, data_type in [
                ("a", "varchar"),
                ("b", "integer"),
                ("c", "decimal(10,2)"),
                ("d", "decimal(10,3)"),
                ("e", "bigint"),
                ("f", "json"),
                ("g", "uuid"),
                ("h", "timestamptz"),
            ]
        ),
    )
    stored = {
        "a": pa.int64(),
        "b": pa.int64(),
        "c": pa.decimal128(38, 2),
        "d": pa.decimal128(38, 2),
        "e": pa.decimal128(20, 0),
        "f": pa.struct([("x", pa.int64())]),
        "g": pa.string(),
        "h": pa.timestamp("us", tz="UTC"),
    }
    judged = as_loaded(declared, stored)
    assert judged.judged_by_table == (
        ("a", "varchar", "BIGINT"),
        ("d", "decimal(10,3)", "DECIMAL(38,2)"),
        ("f", "json", "struct<x: int64>"),  # a struct takes objects only (auditi 06)
    )
    assert [c.data_type for c in judged.columns][:4] == [
        "bigint",
        "integer",
        "decimal(10,2)",
        "decimal(38,2)",
    ]
