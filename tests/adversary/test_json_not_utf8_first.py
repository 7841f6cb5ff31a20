"""A JSON or NDJSON file holding a byte that is not UTF-8 is refused for that byte first,
whatever else is wrong with it, by the API and the loader alike (docs/loading.md, JSON,
Encoding). Review finding auditC 08 (LOW, simdjson-data jsonchecker fail34/fail71): values that
are no objects and such a byte were 422 "a record must be a JSON object" to the API, `encoding`
to the loader; so were a record nested too deep (400 naming the depth); and in an NDJSON file
past the API's 8 MiB piece, a first line that is no object, repeats a key or has a blank key
was refused for that by the loader (`unparseable`, `invalid_column`) or the API.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings

_BIG = b'{"a": "' + b"x" * 100 + b'"}\n'
_PAST_A_PIECE = _BIG * (9 * 1024**2 // len(_BIG) + 1)  # past the API's 8 MiB piece

CASES = {  # (file name, bytes): the first byte that is not UTF-8 is the first \x80
    "array_of_string": ("a.json", b'["this string contains bad UTF-8 \x80"]\n'),
    "string": ("a.json", b'"a bad string\x80\x87"\n'),
    "ndjson_string": ("a.ndjson", b'{"a": 1}\n"x\x80"\n'),
    "ndjson_array_then_object": ("a.ndjson", b'[1]\n{"a": "x\x80"}\n'),
    "ndjson_too_deep": ("a.ndjson", b'{"a": ' + b"[" * 600 + b"]" * 600 + b'}\n{"a": "\x80"}\n'),
    "array_too_deep": ("a.json", b'[{"a": ' + b"[" * 600 + b"]" * 600 + b'}, {"a": "\x80"}]'),
    "big_ndjson_not_object": ("a.ndjson", b"[1]\n" + _PAST_A_PIECE + b'{"a": "\x80"}\n'),
    "big_ndjson_repeated_key": (
        "a.ndjson",
        b'{"a": 1, "a": 2}\n' + _PAST_A_PIECE + b'{"a": "\x80"}\n',
    ),
    "big_ndjson_blank_key": ("a.ndjson", b'{"": 1}\n' + _PAST_A_PIECE + b'{"a": "\x80"}\n'),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_byte_that_is_not_utf8_is_named_first_by_both(
    module_lakehouse: Settings, case: str
) -> None:
    name, data = CASES[case]
    said = dialect.not_utf8_reason(data.index(b"\x80"), json=True)
    table = f"json_utf8_first_{case}"
    outcome = run(module_lakehouse, [(table, name, data)], rows=False)[table]
    assert (outcome.api_status, outcome.api_detail) == (400, said)  # revc 09: one sentence
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "encoding", refused
    assert refused["reason"] == said, refused


def test_an_ndjson_line_opening_with_a_bracket_is_no_array(module_lakehouse: Settings) -> None:
    """The loader said "text after the array's closing ']'" of an NDJSON file whose first line
    is an array: the record that is no object is the reason, as the API says."""
    table = "ndjson_array_line"
    outcome = run(module_lakehouse, [(table, "a.ndjson", b'[1]\n{"a": 1}\n')], rows=False)[table]
    assert outcome.api_status == 422 and "JSON object" in str(outcome.api_detail)
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "unparseable", refused
    assert refused["reason"] == f"line 1: {dialect.NOT_OBJECT}", refused
