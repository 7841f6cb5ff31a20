"""Whitespace around a ``.json`` file's values, read by one rule (docs/loading.md, Whitespace):

- an array followed by any amount of JSON whitespace is whole: the loader looked for its ``]``
  in the last 64 bytes only, so ``[{"a":1}]`` + 64 spaces (trailing blank lines, a padded
  export) got 202 and was then quarantined "the JSON array does not end with ']'" (review
  finding auditj 02, HIGH);
- a line holding nothing but whitespace, a vertical tab or form feed included, is blank
  between a ``.json`` file's objects: the loader loads such a file, and the API refused it
  (400 "invalid character") when it held one object, or objects glued or over several lines
  (review finding auditj 03). A vertical tab or form feed on a line with a value, or anywhere
  in an array, still refuses the file, for both."""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

LOADED = {
    "array_64_spaces": (b'[{"a":1}]' + b" " * 64, 1),
    "array_70k_blank_lines": (b'[{"a":1},\n{"a":2}]' + b"\r\n" * 35_000, 2),
    "pretty_array_tabs": (b'[\n\t{"a": 1}\n]\n' + b"\t\n" * 100, 1),
    "object_then_ff_line": (b'{"a":1}\n\x0c\n', 1),
    "object_then_ff_at_end": (b'{"a":1}\n\x0c', 1),
    "ff_line_then_object": (b'\x0c\n{"a":1}\n', 1),
    "pretty_object_then_ff": (b'{\n"a":1\n}\n\x0c\n', 1),
    "object_then_vt_spaces": (b'{"a":1}\n \x0b\n', 1),
    "glued_then_ff_line": (b'{"a":1}{"a":2}\n\x0c\n', 2),
}
REFUSED = {
    "ff_after_object_same_line": b'{"a":1}\x0c\n',
    "ff_after_array": b'[{"a":1}]\x0c\n',
    "ff_inside_array_line": b'[{"a":1},\n\x0c\n{"a":2}]',
    "array_cut_short": b'[{"a":1},' + b" " * 100,
    # an array's first byte found however far in, past blank lines holding a form feed too
    # (review findings auditl 06, HIGH: the array cut short was loaded, truncated; auditl 02):
    # a form feed or vertical tab in a file holding an array refuses it, for both
    "ff_line_then_cut_array": b'\x0c\n[{"a":1},',
    "ff_line_then_array": b'\x0c\n[{"a":1}]',
    "blank_64_then_array_with_ff_line": b" " * 64 + b'[{"a":1},\n\x0c\n{"a":2}]',
    "blank_100_then_array_with_vt_line": b"\n" * 100 + b'[{"a":1},\n\x0b\n{"a":"x"}]',
    "blank_100_then_empty_array_with_ff": b" " * 100 + b"[\n\x0c\n]",
}


def _table(name: str) -> str:
    return "bt_" + name


@pytest.mark.parametrize("name", list(LOADED))
def test_loaded_by_both(module_lakehouse: Settings, name: str) -> None:
    data, rows = LOADED[name]
    outcome = run(module_lakehouse, [(_table(name), "a.json", data)])[_table(name)]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.loaded_rows is not None, outcome.refused
    assert len(outcome.loaded_rows) == rows


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_by_both(module_lakehouse: Settings, name: str) -> None:
    outcome = run(module_lakehouse, [(_table(name), "a.json", REFUSED[name])])[_table(name)]
    assert outcome.api_status == 400, outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "unparseable", outcome
