"""A vertical tab (0x0B) or form feed (0x0C) in a JSON or NDJSON file: one rule for the API and
the loader (review finding auditD 04, session 9). Neither is JSON whitespace (RFC 8259: space,
tab, LF, CR); the API refused such a byte before or after a record on its line, or anywhere in
a ``.json`` array (400), while the loader loaded the file (DuckDB skips any C ``isspace`` byte
between values), the byte dropped without a word. Now the loader refuses the same files
(``unparseable``), an NDJSON line in the API's words; a line holding only whitespace is blank
for both (NDJSON, and a ``.json`` file of objects one after another), and loads.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

REFUSED = {
    "after_ff.ndjson": b'{"a": 1}\x0c\n{"a": 2}\n',
    "after_vt.ndjson": b'{"a": 1}\x0b\n{"a": 2}\n',
    "before_ff.ndjson": b'{"a": 1}\n\x0c{"a": 2}\n',
    "inside_string.ndjson": b'{"a": "x\x0cy"}\n',  # a control character: refused already
    "between_ff.json": b'[{"a": 1},\x0c{"a": 2}]',
    "between_vt.json": b'[{"a": 1},\x0b{"a": 2}]',
    "blank_line_in_array.json": b'[{"a": 1},\n\x0c\n{"a": 2}]',
    "one_line.json": b'{"a": 1}\x0c{"a": 2}',
    "after_record.json": b'{"a": 1}\n{"a": 2}\x0c\n',
    "late.ndjson": b"".join(b'{"a": %d}\n' % i for i in range(5000)) + b'{"a": 1} \x0b\n',
    # past the number search's first 16 MiB block, read by its threads (the form feed is
    # looked for by bytearray.find beside Hyperscan's scan, not as one of its patterns)
    "late_big.ndjson": b'{"a": 1}\n' * 2_000_000 + b'{"a": 2}\x0c\n',
}
LOADED = {
    "blank_ff.ndjson": b'{"a": 1}\n\x0c\n{"a": 2}\n',
    "blank_vt_spaces.ndjson": b'{"a": 1}\n \x0b \n{"a": 2}\n',
    "last_line.ndjson": b'{"a": 1}\n{"a": 2}\n\x0c',
    "blank_ff.json": b'{"a": 1}\n\x0c\n{"a": 2}\n',
}


def _table(name: str) -> str:
    return "ff_" + name.replace(".", "_")


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_by_both(module_lakehouse: Settings, name: str) -> None:
    outcome = run(module_lakehouse, [(_table(name), name, REFUSED[name])])[_table(name)]
    assert outcome.api_status == 400, outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "unparseable", (refused, outcome.loaded_rows)
    if name.endswith(".ndjson") and name != "inside_string.ndjson":  # the API's words and line
        # exactly (before-stop read B-11, s17: the loader added "(a form feed (0x0C) at byte N
        # of the file: JSON's whitespace is ...)", which the API does not say)
        assert refused["reason"] == outcome.api_detail, (refused, outcome.api_detail)


@pytest.mark.parametrize("name", list(LOADED))
def test_a_blank_line_is_blank_for_both(module_lakehouse: Settings, name: str) -> None:
    outcome = run(module_lakehouse, [(_table(name), name, LOADED[name])])[_table(name)]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert sorted(r["a"] for r in outcome.loaded_rows or []) == [1, 2]
