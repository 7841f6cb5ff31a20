"""A JSON or NDJSON file whose last record is more than 16 MiB and ends the file, with no final
line break (what Python's ``json.dump`` of one big object writes), loads as the same bytes with a
line break do. DuckDB reads an object past its ``maximum_object_size`` (16 MiB) that a line feed
follows, but refused one ending the file: *before:* (until session 13) 202, then quarantined in
DuckDB's words naming the option and the server's path (review finding revj 02, HIGH). Only such
a file's reading gets a larger bound (it costs DuckDB's reader on every file otherwise)."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import pytest
from adversary_support import lakehouse, run

TEXT = "x" * (17 << 20)  # 17 MiB: one string, shared


@cache
def _one() -> bytes:
    return b'{"id":1,"s":"' + TEXT.encode() + b'"}'


CASES = {  # built when a case runs, not at import
    "json-one-object": ("export.json", _one),
    "json-after-another-object": ("export.json", lambda: b'{"id":0}' + _one()),
    "json-trailing-space": ("export.json", lambda: b'{"id":0}\n' + _one() + b"  "),
    "json-bom": ("export.json", lambda: b"\xef\xbb\xbf" + _one()),
    "json-indented": ("export.json", lambda: json.dumps({"id": 1, "s": TEXT}, indent=2).encode()),
    "ndjson-last-line": ("export.ndjson", lambda: b'{"id":0}\n' + _one()),
    "json-gz": ("export.json.gz", lambda: gzip.compress(_one(), 1)),
    "json-with-a-final-line-break": ("export.json", lambda: _one() + b"\n"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_last_record_past_16_mib_loads(tmp_path: Path, case: str) -> None:
    name, data = CASES[case]
    outcome = run(lakehouse(tmp_path), [("t", name, data())])["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = [r for r in outcome.loaded_rows or [] if r["id"] == 1]
    assert len(rows) == 1 and rows[0]["s"] == TEXT
