"""A JSON record of more than 32 MiB anywhere in a file loads: followed by a line feed (a
``json.dump`` and a newline), mid-NDJSON, the last NDJSON line ending in a line feed, in a
``.json`` array. DuckDB reads a record that a line feed follows only up to about twice its
``maximum_object_size`` (16 MiB); the loader raised the bound only for a big *last* record without
a line feed. *Before:* (until session 14) 202, then quarantined "unparseable" in DuckDB's words
naming the option and the server's path (review finding revl 04, HIGH). Now DuckDB's refusal makes
the loader read the file again with a bound that holds the file's longest record (only such files
pay). A 40 MiB string: well past 32 MiB, short enough for the default suite. Since session 18
``max_json_record_bytes`` defaults to 32 MiB (a record past it is refused alike by the API and
the loader: ``test_json_record_bound.py``); a table whose owner raises it (here to 64 MiB) loads
such a record, through this re-read."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from adversary_support import lakehouse, run

TEXT = "y" * (40 << 20)  # 40 MiB
#: max_json_record_bytes raised past the record (its default, 32 MiB, refuses it)
BOUND = 64 << 20


@cache
def _one() -> bytes:
    return b'{"id":1,"s":"' + TEXT.encode() + b'"}'


CASES = {  # built when a case runs, not at import
    "json-object-final-lf": ("export.json", lambda: _one() + b"\n"),
    "ndjson-big-then-small": ("export.ndjson", lambda: _one() + b'\n{"id":0,"s":"a"}\n'),
    "ndjson-big-last-with-lf": ("export.ndjson", lambda: b'{"id":0,"s":"a"}\n' + _one() + b"\n"),
    "json-array": ("export.json", lambda: b"[" + _one() + b"]"),
    "json-array-first-of-two": ("export.json", lambda: b"[" + _one() + b',{"id":0,"s":"a"}]\n'),
    "json-objects-big-first": ("export.json", lambda: _one() + b'\n{"id":0,"s":"a"}'),
}


#: the cases the default run keeps (one NDJSON, one JSON file): the others are in the slow suite
FAST = {"ndjson-big-then-small", "json-objects-big-first"}


@pytest.mark.parametrize(
    "case", [c if c in FAST else pytest.param(c, marks=pytest.mark.slow) for c in sorted(CASES)]
)
def test_a_record_past_32_mib_loads(tmp_path: Path, case: str) -> None:
    name, data = CASES[case]
    settings = lakehouse(tmp_path, max_json_record_bytes=BOUND)
    outcome = run(settings, [("t", name, data())])["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, (outcome.refused or {}).get("reason")
    rows = [r for r in outcome.loaded_rows or [] if r["id"] == 1]
    assert len(rows) == 1 and rows[0]["s"] == TEXT
    assert len(outcome.loaded_rows or []) == data().count(b'"id":')
