"""The inputs of two CSV readers' own test suites through the real API and the real loader: Go's
``encoding/csv`` (``reader_test.go``, TestRead) and CPython's ``csv`` module
(``Lib/test/test_csv.py``, the ``test_read_*`` cases), each input a few bytes, written here.

Each input is sent three ways: as sent (its first record is the header: many are a header and
no rows), doubled (the input, a line break when it lacks one, the input again: its first record
is the header, the rest rows) as ``.csv``, and doubled with its commas made TABs as ``.tsv``.
The rule, read independently (``adversary_support.expected``), decides: a table is loaded by
both (the API's 202, bronze holding every value exactly), a refusal is refused by both (the
API's 4xx, the loader's quarantine of that kind), in the same words (a field count's too since
f5c4b27, review finding revc 04 of session 17: the API added "(delimiter ',')", the loader
not). A corpus guard (review revc, session 17).
"""

from __future__ import annotations

import pytest
from adversary_support import Outcome, Table, expected, mismatches, run

from lakehouse.settings import Settings

#: name → the reader suite's input (Go's TestRead names; ``py_`` CPython's test_read_* inputs)
INPUTS: dict[str, bytes] = {
    "simple": b"a,b,c\n",
    "crlf": b"a,b\r\nc,d\r\n",
    "bare_cr": b"a,b\rc,d\r\n",
    "rfc4180": b'#field1,field2,field3\n"aaa","bb\nb","ccc"\n"a,a","b""bb","ccc"\nzzz,yyy,xxx\n',
    "no_eol": b"a,b,c",
    "semicolon": b"a;b;c\n",
    "multi_line": b'"two\nline","one line","three\nline\nfield"',
    "blank_line": b"a,b,c\n\nd,e,f\n\n",
    "leading_space": b" a,  b,   c\n",
    "comment": b"#1,2,3\na,b,c\n#comment",
    "lazy_quotes": b'a "word","1"2",a","b',
    "bare_quotes": b'a "word","1"2",a"',
    "bare_double_quotes": b'a""b,c',
    "trim_quote": b' "a"," b",c',
    "bad_bare_quote": b'a "word","b"',
    "bad_trailing_quote": b'"a word",b"',
    "extraneous_quote": b'"a "word","b"',
    "bad_field_count": b"a,b,c\nd,e",
    "trailing_comma_eof": b"a,b,c,",
    "trailing_comma_eol": b"a,b,c,\n",
    "trailing_comma_space_eof": b"a,b,c, ",
    "not_trailing_comma": b"a,b,c, \n",
    "comma_fields": (
        b'x,y,z,w\nx,y,z,\nx,y,,\nx,,,\n,,,\n"x","y","z","w"\n"x","y","z",""\n'
        b'"x","y","",""\n"x","","",""\n"","","",""\n'
    ),
    "trailing_comma_ineffective": b"a,b,\nc,d,e",
    "start_line_1": b'a,"b\nc"d,e',
    "start_line_2": b'a,b\n"d\n\n,e',
    "crlf_in_quoted_field": b'A,"Hello\r\nHi",B\r\n',
    "trailing_cr": b"field1,field2\r",
    "non_ascii_comma": "a£b,c£ \td,e\n€ comment\n".encode(),
    "non_ascii_quotes": 'a€"  b,"€ c\nλ comment\n'.encode(),
    "non_ascii_confusion": '"abθcd"λefθgh'.encode(),
    "non_ascii_comment": "λ\nλ\nθ\nλ\n".encode(),
    "quoted_field_multiple_lf": b'"\n\n\n\n"',
    "multiple_crlf": b"\r\n\r\n\r\n\r\n",
    "quote_trailing_crlf": b'"foo"bar"\r\n',
    "double_quote_trailing_crlf": b'"foo""bar"\r\n',
    "even_quotes": b'""""""""',
    "odd_quotes": b'"""""""',
    "huge_lines": b"#ignore\n" * 10000 + b"@" * 5000 + b"," + b"*" * 5000,
    "binary_blob_field": b"x09\x41\xb4\x1c,aktau",
    "py_nul": b"\0",
    "py_nul_in_field": b"a,\0b,c",
    "py_nul_at_field_end": b"a,b\0,c",
    "py_nul_quoted": b'a,"\0b",c',
    "py_eof_in_quote": b'a,"',
    "py_eof_quote_only": b'"a',
    "py_quoted_commas": b'1,",3,",5',
    "py_empties": b',,"",',
    "py_quoted_lf_then_space": b'"a\nb", 7',
    "py_text_after_quote": b'"ab"c',
    "py_backslash": b"a,\\b,c",
    "py_quoted_line_ends": (
        b'"\na","b\nc","d\n"\r"\re","f\rg","h\r"\r"\r\ni","j\r\nk","l\r\n"\r'
        b'"\n\rm","n\n\ro","p\n\r"\r"\r\rq","r\r\rs","t\r\r"\r'
    ),
    "py_spaces": b"a   b\n  a  \n  \n",
}


def _doubled(data: bytes) -> bytes:
    return data + (b"" if data.endswith((b"\n", b"\r")) else b"\n") + data


CASES: dict[str, tuple[str, bytes]] = {}
for _key, _data in INPUTS.items():
    CASES[f"{_key}-as_sent"] = ("a.csv", _data)
    CASES[f"{_key}-doubled"] = ("a.csv", _doubled(_data))
    CASES[f"{_key}-doubled_tsv"] = ("a.tsv", _doubled(_data).replace(b",", b"\t"))


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> dict[str, Outcome]:
    tables = {key: f"rs{i}" for i, key in enumerate(CASES)}
    by_table = run(module_lakehouse, [(tables[k], *CASES[k]) for k in CASES])
    return {key: by_table[table] for key, table in tables.items()}


def _said(detail: object) -> str:
    if isinstance(detail, list):
        return " ".join(str(e.get("msg")) for e in detail if isinstance(e, dict))
    return str(detail)


@pytest.mark.parametrize("case", list(CASES))
def test_both_keep_it_exactly_or_refuse_it_alike(outcomes: dict[str, Outcome], case: str) -> None:
    name, data = CASES[case]
    outcome = outcomes[case]
    want = expected(name, data)
    if isinstance(want, Table):
        assert outcome.api_status == 202, outcome.api_detail
        assert outcome.refused is None, outcome.refused
        assert outcome.loaded_rows is not None, "nothing in bronze"
        assert mismatches(outcome.loaded_rows, want, js=False) == []
        return
    assert 400 <= outcome.api_status < 500, (outcome.api_status, outcome.api_detail)
    assert outcome.refused is not None, f"loaded, but the rule refuses it ({want})"
    assert outcome.refused["kind"] == want.kind, (outcome.refused, want)
    said, reason = _said(outcome.api_detail), outcome.refused["reason"]
    assert said == reason, (said, reason)
