"""A column equal but for case to a column the bronze table already has (``Amount`` when it has
``amount``): the loader refuses such a file (``invalid_column``, docs/loading.md, Column names),
and so does the API (422 naming both spellings), for /files (CSV, NDJSON, JSON, Parquet) and
/records: what the API answers 202 for, the loader loads (audit8 finding 17)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import _error, bronze_table, run
from fastapi.testclient import TestClient

from ingest.app import create_app
from lakehouse.settings import Settings


def _parquet(name: str) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({name: [2]}), out)
    return out.getvalue()


CASES = {
    "csv": ("a.csv", b"amount\n1\n", "b.csv", b"Amount\n2\n", "Amount", "amount"),
    "ndjson": ("a.ndjson", b'{"s": {"a": 1}}\n', "b.ndjson", b'{"S": {"a": 2}}\n', "S", "s"),
    "json": ("a.json", b'[{"v": 1}]', "b.json", b'[{"V": 2}]', "V", "v"),
    "parquet": ("a.csv", b"amount\n1\n", "b.parquet", _parquet("AMOUNT"), "AMOUNT", "amount"),
}


def _names_both(detail: object, sent: str, stored: str) -> bool:
    return (
        isinstance(detail, list)
        and detail[0]["type"] == "invalid_column"
        and f"{sent!r}" in detail[0]["msg"]
        and f"{stored!r}" in detail[0]["msg"]
    )


@pytest.mark.parametrize("case", list(CASES))
def test_a_file_column_equal_but_for_case_to_the_tables_is_refused_by_api_and_loader(
    module_lakehouse: Settings, case: str
) -> None:
    first, first_data, later, later_data, sent, stored = CASES[case]
    table = f"case_clash_{case}"
    assert run(module_lakehouse, [(table, first, first_data)])[table].api_status == 202
    outcome = run(module_lakehouse, [(table, later, later_data)])[table]
    # refused alike: the loader (the file dropped as is) and the API
    assert outcome.refused is not None and outcome.refused["kind"] == "invalid_column"
    assert outcome.api_status == 422, outcome.api_detail
    assert _names_both(outcome.api_detail, sent, stored), outcome.api_detail


def test_records_with_a_key_equal_but_for_case_to_the_tables_column_are_refused(
    module_lakehouse: Settings,
) -> None:
    table = "case_clash_records"
    run(module_lakehouse, [(table, "a.csv", b"s,n\nx,1\n")])
    with TestClient(create_app(module_lakehouse)) as client:
        for media, body in (
            ("application/x-ndjson", b'{"S": "y", "n": 2}\n'),
            ("application/json", b'[{"n": 3, "S": "z"}]'),
        ):
            r = client.post(
                f"/v1/tables/{table}/records", content=body, headers={"content-type": media}
            )
            assert r.status_code == 422, r.text
            assert _names_both(r.json()["detail"], "S", "s"), r.text
        # the same names as the table's, and new ones: taken
        r = client.post(
            f"/v1/tables/{table}/records",
            content=b'{"s": "y", "n": 2, "extra": true}\n',
            headers={"content-type": "application/x-ndjson"},
        )
        assert r.status_code == 202, r.text
    # nothing refused landed: the loader loads the one accepted body, nothing quarantined
    run(module_lakehouse, [])
    stored = bronze_table(module_lakehouse, table).to_pylist()
    assert sorted((row["s"], row["n"], row.get("extra")) for row in stored) == [
        ("x", 1, None),
        ("y", 2, True),
    ]
    assert _error(module_lakehouse, table) is None
