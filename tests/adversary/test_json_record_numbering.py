"""One numbering for both sides: an NDJSON refusal names its line (from 1, blank lines
counted), a ``.json`` refusal its record (from 1), in the API's 400 and in the loader's reason
alike (the 422's ``row`` and ``loc`` stay indexes from 0). *Before:* (until session 12) the API
named a ``.json`` record from 0 ("record 1" for the second) where the loader named it from 1,
and the loader named an NDJSON record nested too deep, or repeating a key inside a column, by
its count of records ("record 2") where the API named its line ("line 3") (fixn.md 4).
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

DEEP = b'{"c": ' + b"[" * 513 + b"]" * 513 + b"}"

#: (file name, bytes, the place the API's 400 names or None for a 422, the loader's place,
#: the loader's ``line``)
CASES = [
    ("nd_deep.ndjson", b'{"c": 1}\n\n' + DEEP + b"\n", "line 3", "line 3, column 'c'", 3),
    ("js_deep.json", b'[{"c": 1},\n' + DEEP + b"]", "record 2", "record 2, column 'c'", None),
    ("js_values_deep.json", b'{"c": 1}\n' + DEEP, "record 2", "record 2, column 'c'", None),
    (
        "nd_repeat.ndjson",
        b'{"c": 1}\n\n{"c": {"a": 1, "a": 2}}\n',
        None,
        "line 3, column 'c': an object repeats",
        3,
    ),
    (
        "js_repeat.json",
        b'[{"c": 1},\n{"c": {"a": 1, "a": 2}}]',
        None,
        "record 2, column 'c': an object repeats",
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "data", "api_place", "loader_place", "line"), CASES, ids=[c[0] for c in CASES]
)
def test_one_numbering(
    one_lakehouse: Settings,
    name: str,
    data: bytes,
    api_place: str | None,
    loader_place: str,
    line: int | None,
) -> None:
    out = run(one_lakehouse, [("t", name, data)], rows=False)["t"]
    if api_place is None:
        assert out.api_status == 422, out.api_detail
        assert out.api_detail[0]["row"] == 1, out.api_detail  # an index, from 0
    else:
        assert out.api_status == 400, out.api_detail
        # the loader's words (until session 17 "malformed JSON (line 3): column 'c': ...")
        assert out.api_detail == out.refused["reason"], (out.api_detail, out.refused)
        assert out.api_detail.startswith(f"{api_place}, column 'c': "), out.api_detail
    assert out.refused is not None, out
    assert out.refused["reason"].startswith(loader_place), out.refused
    assert out.refused["line"] == line, out.refused
