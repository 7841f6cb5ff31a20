"""``lakehouse.jsonorder``: the one order a refused JSON or NDJSON file's problem is named in
(docs/loading.md, Refusals), for every file of good records and record problems anywhere.

The rule as a model: the first record holding a problem of its own (its text, kind, nesting,
a repeated key) is named; with none, a name problem over the union of keys; with none, no
problem. The API and the loader both name what :func:`first_problem` finds
(``tests/adversary/test_json_two_problems_alike.py`` holds them to it through the real API
and loader).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from lakehouse import jsonorder

GOOD = b'{"a":1,"b":"x"}'

#: a record's own problem, by what the order calls it
OWN = {
    b'{"a":1,"b":}': "text",
    b'{"a":NaN,"b":"x"}': "text",
    b'{"a":1,"b":"x",}': "text",
    b"5": "not_object",
    b"[1,2]": "not_object",
    b"null": "not_object",
    b'{"a":' + b"[" * 600 + b"]" * 600 + b"}": "deep",
    b"[" * 600 + b"]" * 600: "not_object",
    b'{"a":1,"a":2}': "repeated",
    b'{"a":1,"b":{"k":1,"k":2}}': "repeated",
}
#: a name problem (the file's), and no problem at all
NAMES = [b'{"a":1,"":2}', b'{"a":1,"A":2}', b'{"a":1,"_source_file":2}', b'{"a":1,"b\\u0001":2}']
FINE = [GOOD, b'{"a":1e999999,"b":"x"}', b'{"a":1,"b":"x\\u0000y"}', b"{}", b'{"c":[1,{"d":2}]}']

records = st.lists(st.sampled_from([*OWN, *NAMES, *FINE]), min_size=1, max_size=12)


def _judged(lines: list[bytes], ndjson: bool) -> jsonorder.Problem | None:
    data = b"\n".join(lines) + b"\n" if ndjson else b"[" + b",\n".join(lines) + b"]"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("a.ndjson" if ndjson else "a.json")
        path.write_bytes(data)
        return jsonorder.first_problem(
            path,
            ndjson=ndjson,
            gz=False,
            max_bytes=1 << 30,
            max_ratio=250.0,
            max_record_bytes=32 << 20,
        )


@hypothesis_settings(max_examples=150, deadline=None)
@given(lines=records, ndjson=st.booleans())
def test_the_first_record_with_a_problem_of_its_own_is_named_before_any_name(
    lines: list[bytes], ndjson: bool
) -> None:
    found = _judged(lines, ndjson)
    own = [i for i, line in enumerate(lines) if line in OWN]
    if own:
        assert found is not None
        first = own[0]
        assert found.what == OWN[lines[first]]
        if found.what == "text" and not ndjson:  # a .json text's words name no record
            assert found.record is None
        else:
            assert found.record == first
            assert found.line == (first + 1 if ndjson else None)
    elif any(line in NAMES for line in lines):
        assert found is not None
        assert found.what == "names"
    else:  # records of no key at all too: each side's own refusal
        assert found is None


_JSONISH = st.lists(
    st.sampled_from(
        [b"{", b"}", b"[", b"]", b'"', b":", b",", b"1", b"1e999", b"a", b"\\ud800", b"\\",
         b"null", b" ", b"\xff", b"\xc3", b"\xa9", b"true", b"fals"]
    ),
    max_size=12,
).map(b"".join)  # fmt: skip


@hypothesis_settings(max_examples=300, deadline=None)
@given(text=_JSONISH)
def test_a_record_texts_words_never_raise(text: bytes) -> None:
    """``jsonorder.text_words``, the one-order judge's and the loader's NDJSON line words (one
    function since de0b4f0: review readb 01 of session 19 found a copy in ``loader.readers``),
    gives words or None for any bytes: *before:* the judge's copy raised UnicodeDecodeError
    for a byte that is not UTF-8 inside a string (``{"a":"\\xff"}``), the loader's gave None."""
    words = jsonorder.text_words(text)
    assert words is None or isinstance(words, str)


def test_an_array_cut_short_is_not_judged_by_its_records(tmp_path: Path) -> None:
    """A ``.json`` array cut short is the file's problem, named before any record's by each
    side's own words ("the JSON array does not end with ']' (truncated?)"): not judged here,
    even after a record that is no object."""
    for data in (b"[1,", b'[{"a":1,"a":2},', b"[5", b'[{"a":1}, {"b":'):
        path = tmp_path / "a.json"
        path.write_bytes(data)
        found = jsonorder.first_problem(
            path,
            ndjson=False,
            gz=False,
            max_bytes=1 << 30,
            max_ratio=250.0,
            max_record_bytes=1 << 30,
        )
        assert found is None, (data, found)
