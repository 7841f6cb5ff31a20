"""One byte-order mark opening a JSON file is dropped; a second is refused alike by API and loader.

A JSON file opening with two UTF-8 marks (audit8 finding 16): as ``.json`` the API answered 202
(it dropped one mark, then its parser another) and the loader quarantined it saying "top-level
JSON values must be objects" (untrue: an array of objects); as ``.ndjson`` the API refused it
while the loader loaded it (it dropped one, DuckDB skipped the other). One rule now
(``lakehouse.dialect.second_bom``): a 400 and an ``unparseable`` refusal naming the second mark.
A mark opening a later NDJSON line is refused by both as before, the loader's reason naming the
file's line, not the scratch copy DuckDB read.
"""

from __future__ import annotations

import gzip

import pytest
from adversary_support import run
from fastapi.testclient import TestClient

from ingest import create_app
from lakehouse.settings import Settings

BOM = b"\xef\xbb\xbf"

DOUBLED = {
    "json_array": ("a.json", BOM + BOM + b'[{"a":1}]'),
    "ndjson": ("a.ndjson", BOM + BOM + b'{"a":1}\n'),
    "ndjson_in_json": ("a.json", BOM + BOM + b'{"a":1}\n{"a":2}\n'),
    "ndjson_gz": ("a.ndjson.gz", gzip.compress(BOM + BOM + b'{"a":1}\n')),
    "marks_only": ("a.ndjson", BOM + BOM),
}


@pytest.mark.parametrize("case", list(DOUBLED))
def test_a_doubled_byte_order_mark_is_refused_by_both_naming_it(
    module_lakehouse: Settings, case: str
) -> None:
    name, data = DOUBLED[case]
    table = f"bom2_json_{case}"
    outcome = run(module_lakehouse, [(table, name, data)])[table]
    assert outcome.api_status == 400, (outcome.api_status, outcome.api_detail)
    assert "second byte-order mark" in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, outcome.loaded_rows
    assert outcome.refused["kind"] == "unparseable"
    assert "second byte-order mark (U+FEFF) at byte 3" in outcome.refused["reason"]
    assert outcome.refused["line"] == 1


@pytest.mark.parametrize(
    "case", [("a.json", BOM + b'[{"a":1}]'), ("a.ndjson", BOM + b'{"a":1}\n{"a":2}\n')]
)
def test_one_byte_order_mark_is_dropped(
    module_lakehouse: Settings, case: tuple[str, bytes]
) -> None:
    name, data = case
    table = f"bom1_json_{name.replace('.', '_')}"
    outcome = run(module_lakehouse, [(table, name, data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None and outcome.loaded_rows is not None
    want = [1] if name == "a.json" else [1, 2]
    assert sorted(r["a"] for r in outcome.loaded_rows) == want


@pytest.mark.parametrize("lead", [b"", BOM])
def test_a_mark_opening_line_2_is_refused_naming_the_files_line(
    module_lakehouse: Settings, lead: bytes
) -> None:
    table = f"bom_line2_{len(lead)}"
    data = lead + b'{"a":1}\n' + BOM + b'{"a":2}\n'
    outcome = run(module_lakehouse, [(table, "a.ndjson", data)])[table]
    assert outcome.api_status == 400 and "(line 2)" in str(outcome.api_detail)
    assert outcome.refused is not None and outcome.refused["kind"] == "unparseable"
    assert outcome.refused["line"] == 2
    reason = outcome.refused["reason"]
    assert "line 2" in reason and "in file" not in reason and "tmp" not in reason, reason


def test_records_with_a_doubled_mark_are_refused(module_lakehouse: Settings) -> None:
    with TestClient(create_app(module_lakehouse)) as client:
        for media, body in (
            ("application/x-ndjson", BOM + BOM + b'{"a": 1}\n'),
            ("application/json", BOM + BOM + b'[{"a": 1}]'),
        ):
            r = client.post(
                "/v1/tables/bom2_records/records", content=body, headers={"content-type": media}
            )
            assert r.status_code == 400, r.text
            assert "second byte-order mark" in r.json()["detail"], r.text
