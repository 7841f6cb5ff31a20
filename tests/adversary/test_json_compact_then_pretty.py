"""A ``.json`` file of objects one after another whose first object is on one line and a later
one spans lines (``{"a":1}`` then ``{"a":2,`` / ``"b":3}``), or holds two objects on a later
line: the API took it (202), the loader quarantined it ``unparseable`` "Malformed JSON ...
unexpected end of data" (DuckDB's ``format='auto'`` settled on newline-delimited from its
sample). docs/loading.md lists objects one after another, one line or several, for ``.json``:
the loader reads such a file as values one after another (review finding auditi 04, HIGH).
"""

from __future__ import annotations

import json

import pytest
from adversary_support import run

from lakehouse.settings import Settings

CASES = {
    "second_spans_lines": b'{"a":1}\n{"a":2,\n"b":3}\n',
    "second_opens_alone": b'{"a":1}\n{\n"a":2}\n',
    "third_spans_lines": b'{"a":1}\n{"a":2}\n{"a":3,\n"b":4}\n',
    "crlf": b'{"a":1}\r\n{"a":2,\r\n"b":3}\r\n',
    "two_glued_on_line_2": b'{"a":1}\n{"a":2}{"a":3}\n',
    "spaced_on_line_3": b'{"a":1}\n\n{"a":2}  {"a":3}\n',
    "after_30000_lines": b"".join(b'{"a":%d}\n' % i for i in range(30_000)) + b'{"a":1,\n"b":2}\n',
}


def _objects(data: bytes) -> list[dict[str, object]]:
    """The file read independently: JSON values one after another, whitespace between."""
    text, out, pos, dec = data.decode(), [], 0, json.JSONDecoder()
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos == len(text):
            return out
        value, pos = dec.raw_decode(text, pos)
        out.append(value)


@pytest.mark.parametrize("case", list(CASES))
def test_objects_one_line_then_several_load_as_the_api_said(
    module_lakehouse: Settings, case: str
) -> None:
    data = CASES[case]
    records = _objects(data)
    keys = {k for r in records for k in r}
    table = f"json_compact_pretty_{case}"
    outcome = run(module_lakehouse, [(table, "a.json", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None and len(outcome.loaded_rows) == len(records)
    got = sorted(
        json.dumps({k: v for k, v in r.items() if not k.startswith("_")}, sort_keys=True)
        for r in outcome.loaded_rows
    )
    want = sorted(json.dumps({k: r.get(k) for k in keys}, sort_keys=True) for r in records)
    assert got == want
