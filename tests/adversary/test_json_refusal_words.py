"""JSON that does not parse is refused by the API (400) and the loader (``unparseable``) in one
sentence, ``lakehouse.dialect.malformed_json`` of msgspec's words read one way by both; a byte
that is not UTF-8 is an ``encoding`` refusal in ``dialect.not_utf8_reason``'s words alone, by
both. Review findings of session 17 (FasterXML/jackson-core's and serde-rs/json's test inputs):

- revc 02: a ``.json`` object whose key is not a string (``{a: 1}``, ``{'a': 1}``, a no-break
  space before a key): the API's typed decode said "object keys must be strings (byte N)", the
  loader's parse of the text "expected '\"' (byte N)" (198 of jackson-core's 1,332 inputs);
- revc 03: a ``.json`` object then a character that is no JSON whitespace: the API named
  "record 2", the loader no record;
- revc 08: an NDJSON line with a string left open: the loader decoded the line with its line
  feed ("invalid character (byte 8)", even a byte past the line), the API without it ("Input
  data was truncated"); ``{"v": nul}`` in a ``.json``: byte 10 from the API, 7 from the loader;
- revc 09: text after a ``.json`` array: the loader's words lacked "malformed JSON: "; a byte
  that is not UTF-8: the API said "malformed JSON (line 1): not UTF-8 at byte 6 ...", the
  loader (``encoding``) "not UTF-8 at byte 6 ...".
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings

_KEY = "JSON is malformed: expected '\"' (byte {})"

MALFORMED = {  # (file name, bytes, the words)
    # revc 02
    "nbsp_before_key": ("a.json", b'{\n\xc2\xa0"a": 1}', dialect.malformed_json(_KEY.format(2))),
    "bare_key": ("a.json", b"{a: 1}", dialect.malformed_json(_KEY.format(1))),
    "single_quoted_key": ("a.json", b"{'a': 1}", dialect.malformed_json(_KEY.format(1))),
    "bare_key_lines": (
        "a.json",
        b'{\n  a: 1,\n  "b": 2\n}\n',
        dialect.malformed_json(_KEY.format(4)),
    ),
    # revc 03
    "ideographic_space_after": (
        "a.json",
        b'{"a":1}\xe3\x80\x80',
        dialect.malformed_json("JSON is malformed: invalid character (byte 7)", "record 2"),
    ),
    "form_feed_after": (
        "a.json",
        b'{"a":1} \x0c',
        dialect.malformed_json("JSON is malformed: invalid character (byte 8)", "record 2"),
    ),
    "second_object_bad": (
        "a.json",
        b'{"a":1}\n{"a": nul}',
        dialect.malformed_json("JSON is malformed: invalid character (byte 15)", "record 2"),
    ),
    # revc 08
    "ndjson_string_open": (
        "a.ndjson",
        b'{"v": "}\n',
        dialect.malformed_json("Input data was truncated", "line 1"),
    ),
    "ndjson_bad_literal": (
        "a.ndjson",
        b'{"v": foo}\n{"v": 1}\n',
        dialect.malformed_json("Input data was truncated", "line 1"),
    ),
    "ndjson_string_open_line_2": (
        "a.ndjson",
        b'{"v": 1}\n{"v": "}\n',
        dialect.malformed_json("Input data was truncated", "line 2"),
    ),
    "ndjson_string_open_crlf": (  # the carriage return is the line's, for both
        "a.ndjson",
        b'{"v": "}\r\n',
        dialect.malformed_json("JSON is malformed: invalid character (byte 8)", "line 1"),
    ),
    "json_bad_literal": (
        "a.json",
        b'{"v": nul}',
        dialect.malformed_json("JSON is malformed: invalid character (byte 7)"),
    ),
    "json_bad_literal_lf": (
        "a.json",
        b'{"v": nul}\n',
        dialect.malformed_json("JSON is malformed: invalid character (byte 7)"),
    ),
    # revc 09
    "text_after_array": (
        "a.json",
        b'[{"a": 1}]x',
        dialect.malformed_json(dialect.json_after_array(b"x")),
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_json_is_refused_in_one_sentence(module_lakehouse: Settings, case: str) -> None:
    name, data, words = MALFORMED[case]
    table = f"malformed_{case}"
    outcome = run(module_lakehouse, [(table, name, data)], rows=False)[table]
    assert (outcome.api_status, outcome.api_detail) == (400, words)
    assert outcome.refused is not None
    assert (outcome.refused["kind"], outcome.refused["reason"]) == ("unparseable", words)


NOT_UTF8 = {  # (file name, bytes, the offending byte's offset): a UTF-8-encoded surrogate
    "json": ("a.json", b'{"a":"\xed\xa0\xbd"}', 6),
    "ndjson": ("a.ndjson", b'{"a":"\xed\xa0\xbd"}\n', 6),
    "ndjson_line_2": ("a.ndjson", b'{"a": 1}\n{"a":"\xed\xa0\xbd"}\n', 15),
    "json_record_2": ("a.json", b'[{"a": 1}, {"a":"\xff"}]', 17),
    "objects_record_2": ("a.json", b'{"a": 1}\n{"a":"\xff"}\n', 15),
}


@pytest.mark.parametrize("case", sorted(NOT_UTF8))
def test_a_byte_that_is_not_utf8_is_an_encoding_refusal_in_one_sentence(
    module_lakehouse: Settings, case: str
) -> None:
    name, data, at = NOT_UTF8[case]
    words = dialect.not_utf8_reason(at, json=True)
    table = f"not_utf8_{case}"
    outcome = run(module_lakehouse, [(table, name, data)], rows=False)[table]
    assert (outcome.api_status, outcome.api_detail) == (400, words)
    assert outcome.refused is not None
    assert (outcome.refused["kind"], outcome.refused["reason"]) == ("encoding", words)


REPEATS = {  # (file name, bytes, the column, the key both name first)
    # jackson-core's j1140 wrapped in {"v": ...}: the loader named the object that closed first
    "inner_closes_first": (
        "a.json",
        b'{"v": {"array":[1],"array":[2],"ob":{"value":3,"value":4}}}',
        "v",
        "array",
    ),
    "inner_closes_first_ndjson": (
        "a.ndjson",
        b'{"v": {"array":[1],"array":[2],"ob":{"value":3,"value":4}}}\n',
        "v",
        "array",
    ),
    "own_before_a_list_element": (
        "a.json",
        b'{"v": {"a": [{"k":1,"k":2}], "a2": 1, "a2": 2}}',
        "v",
        "a2",
    ),
    "in_an_element": ("a.ndjson", b'{"v": [{"o": {"k":1,"k":2}, "p": 1, "p": 2}]}\n', "v", "p"),
}


@pytest.mark.parametrize("case", sorted(REPEATS))
def test_the_first_repeated_key_of_a_column_is_the_one_both_name(
    module_lakehouse: Settings, case: str
) -> None:
    """A column's value repeating keys at several depths: the loader names the first of the
    API's list (``lakehouse.nested.repeated_keys``: an object's own repeats, then its values'
    in order), not the first object to close."""
    name, data, column, key = REPEATS[case]
    table = f"repeats_{case}"
    outcome = run(module_lakehouse, [(table, name, data)], rows=False)[table]
    assert outcome.api_status == 422, outcome.api_detail
    first = outcome.api_detail[0]
    assert (first["msg"], first["type"]) == (dialect.repeated_key(key), "duplicate_key")
    place = "line 1" if name.endswith(".ndjson") else "record 1"
    assert outcome.refused is not None
    assert (outcome.refused["kind"], outcome.refused["reason"]) == (
        "unparseable",
        dialect.placed(place, f"column {column!r}: {dialect.repeated_key(key)}"),
    )
