"""A sweep of small hostile files, each format and gzipped: the API and the loader both accept,
or both refuse in one set of words (session 17, fixf; issue #8).

Every body below is sent as ``.csv``, ``.tsv``, ``.ndjson`` and ``.json``, plain and gzipped,
through the real API (``/files``) and the real loader in one pass (``adversary_support.run``).
Where both refuse, the loader's ``reason`` must be the API's words, the structural difference
of docs/loading.md (Refusals) alone normalised: the API's 422 list names a record by ``row``
(from 0: an NDJSON record's place among the records, blank lines not counted) and the column by
``field`` (a path, ``a.b``, for a key inside one), the loader's reason says ``line N: `` (the
file's line, blank lines counted) or ``record N: `` (from 1) before the same ``msg``, and
``record N, column 'a': `` for a key inside column ``a`` (*before:* until session 18 a JSON key
that is blank was "a column has a blank name" to the API, normalised here, and "column N has a
blank name" to the loader; now both name its place among the keys as first seen).

*Before:* (found by this sweep, all fixed in session 17) a record that is not an object was the
API's "a record must be a JSON object" (a ``.json`` scalar: "the body must be a JSON array of
objects, or one object") and the loader's "top-level JSON values must be objects (one record
each)", naming no record; a repeated key "duplicate key 'a'" and "an object repeats the key
'a'"; a byte that is not UTF-8 in JSON "malformed JSON (line 1): not UTF-8 at byte 6 ..." and
"not UTF-8 at byte 6 ..."; a lone surrogate's escape on an NDJSON line "malformed JSON (line 1):
..." and "line 1: ..."; a record nested too deep "malformed JSON (record 1): column 'a': nested
601 levels deep ..." and "record 1, column 'a': nested ..."; a deep record that is no object
too deep to the API, no object to the loader; a CSV record's field count "... the header has 2
(delimiter ',')" and "... the header has 2"; a bad value after the first of ``.json`` objects
one after another "malformed JSON (record 2): ..." and "malformed JSON: ..."; text after a
``.json`` array "malformed JSON: JSON is malformed: text after ..." and "JSON is malformed:
text after ..."; an NDJSON line ``[`` cut short a record that is not an object to the API,
"malformed JSON (line 1): Input data was truncated" to the loader. (Session 18) two keys equal
but for case named the other way round when the first seen sorts after the second
(``{"b":1,"B":2}``: the API judged the keys sorted, the loader in the file's order); a repeated
key ``.a`` was the API's field ``a``.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import zlib
from pathlib import Path

import pytest
from adversary_support import Outcome, declare, lakehouse, run

from lakehouse import dialect

_DEEP = b"[" * 600 + b"]" * 600

#: small hostile bodies, each sent as every format
BODIES: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b"  \n\t\r\n",
    "bom": b"\xef\xbb\xbf",
    "bom_whitespace": b"\xef\xbb\xbf \n",
    "number": b"5",
    "string": b'"x"',
    "null": b"null",
    "true": b"true",
    "empty_array": b"[]",
    "blank_array": b"[ \n ]",
    "array_of_array": b"[[]]",
    "array_of_number": b"[1]",
    "number_then_object": b'[1, {"a":1}]',
    "object_then_number": b'[{"a":1}, 2]',
    "array_of_null": b"[null]",
    "array_of_string": b'["x"]',
    "array_of_empty_object": b"[{}]",
    "lines_number": b'{"a":1}\n5\n',
    "lines_array": b'{"a":1}\n[1]\n',
    "lines_array_first": b'[1]\n{"a":1}\n',
    "lines_null": b'{"a":1}\nnull\n',
    "lines_blank_then_number": b'{"a":1}\n\n5\n',
    "lines_string_first": b'"x"\n{"a":1}\n',
    "lines_then_open_array": b'{"a":1}\n[',
    "values_number_first": b'5 {"a":1}',
    "values_number_after": b'{"a":1} 5',
    "values_bad_second": b'{"a":1}{"a":x}',
    "object": b'{"a":1}',
    "empty_object": b"{}",
    "cut_object": b'{"a":',
    "cut_array": b'[{"a":1},',
    "repeated_key": b'{"a":1,"a":2}',
    "repeated_key_second": b'{"a":1}\n{"b":1,"b":2}\n',
    "repeated_key_nested": b'{"a":{"b":1,"b":2}}',
    "nul_in_string": b'{"a":"x\x00y"}',
    "nul_after": b'{"a":1}\x00',
    "not_utf8": b'{"a":"\xff"}',
    "not_utf8_in_array": b'["\xff"]',
    "lone_surrogate": b'{"a":"\\ud800"}',
    "lone_surrogate_in_array": b'["\\ud800"]',
    "huge_number": b'{"a":1e999999}',
    # a number past float64's range, then text that is no JSON: the text named by both
    # (review revf 02 of session 20: the loader gave DuckDB's "Malformed JSON at byte 12 ...
    # Try auto-detecting the JSON format", msgspec's range error met before the text)
    "huge_number_then_text": b'{"a":1e400}x',
    "huge_number_then_record": b'{"a":1e400} {"a":1}',
    "huge_number_trailing_comma": b'{"a":1e400,}',
    "huge_number_lone_surrogate": b'{"a":1e400,"b":"\\ud800"}',
    "long_integer": b'{"a":' + b"9" * 5000 + b"}",
    "deep": b'{"a":' + _DEEP + b"}",
    "deep_array": _DEEP,
    "deep_array_second": b'{"a":1}\n' + _DEEP,
    "deep_array_element": b'[{"a":1},' + _DEEP + b"]",
    "very_deep_array": b"[" * 100_000 + b"]" * 100_000,  # past msgspec's recursion limit
    "very_deep_object": b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "blank_key": b'{"":1}',
    "bom_twice": dialect.BOM_UTF8 * 2 + b'{"a":1}',
    "bom_then_number": dialect.BOM_UTF8 + b"5",
    "number_after_crlf": b'{"a":1}\r\n5\r\n',
    "nan": b'{"a":NaN}',
    "cut_exponent": b'{"a":1e}',
    "key_nul": b'{"a\\u0000":1}',
    "keys_equal_but_case": b'{"A":1,"a":2}',
    # keys equal but for case: the second seen is named, in one record or two (session 18)
    "keys_equal_but_case_lower_first": b'{"b":1,"B":2}',
    "keys_equal_but_case_two_records": b'{"id":1}\n{"Id":2}\n',
    "keys_equal_but_case_later": b'{"x":1}\n{"y":1,"X":2}\n',
    # a repeated key opening with a dot: the field names it as sent (A-09, session 18)
    "repeated_key_dot": b'{".a":1,".a":2}',
    "repeated_key_dots_nested": b'{"a":{"..b":1,"..b":2}}',
    "key_escaped_twice": b'{"a":1,"\\u0061":2}',
    "json_in_utf16": '{"a":1}'.encode("utf-16"),
    # an NDJSON line or .json record opening with '[' that is no JSON (before-stop read B-01)
    "array_trailing_comma": b"[1,]",
    "array_string_trailing_comma": b'["",]',
    "lines_array_trailing_comma": b'{"a":1}\n[1,]\n',
    "array_nan": b"[NaN]",
    "array_infinity": b"[-Infinity]",
    "array_cut_literal": b"[fals]",
    "lines_array_cut_literal": b'{"a":1}\n[nul]\n',
    "array_bad_escape": b'["\\a"]',
    "array_lone_surrogate_cut": b'["\\uD800\\u"]',
    "number_form_feed": b"1.5\x0c",
    "lone_surrogate_cut": b'"\\ud800',
    "values_array_nan": b'[{"a":1}, [NaN]]',
    "lines_nan": b'{"a":1}\nNaN\n',
    "array_then_nan": b'[{"a":1}, NaN]',
    # a .json scalar followed by text that is no JSON (before-stop read B-02)
    "number_then_text": b"5 x",
    "string_then_bracket": b'"s"]',
    "null_then_brace": b"null{",
    "number_then_nul": b"123\x00",
    "number_then_close": b"1]",
    # an array cut short inside a string, its last byte a ']' (before-stop read B-04)
    "array_cut_in_string": b'[{"a": "\\"]',
    "array_cut_escape": b'["\\"]',
    "array_unclosed_string": b'["asd]',
    # a lone surrogate followed by text inside an array in a record (before-stop read B-05)
    "lone_surrogate_then_text_in_array": b'{"v": ["\\ud800abc"]}',
    "lone_surrogate_then_escape_in_array": b'{"v": ["\\uD800\\n"]}',
    # two repeated keys inside one struct (review finding revc 11)
    "repeated_keys_in_struct": b'{"v": {"array":1,"array":2,"ob":{"value":3,"value":4}}}',
    # nested past the limit and cut short: parsed first by both (before-stop read B-03)
    "deep_cut_object": b'{"v": ' + b"[" * 600 + b"}",
    "deep_cut_array": b"[" * 600,
    "deep_cut_array_ending": b"[" * 600 + b"]",
    "deep_cut_second": b'{"a":1}\n' + b"[" * 600 + b"}" + b"]" * 599,
    "very_deep_cut_array": b"[" * 100_000,
    "very_deep_cut_object": b'{"v": ' + b"[" * 100_000 + b"}",
    "deep_element_then_text": b'[{"a":1}, ' + _DEEP + b"] x",
    "object_form_feed": b'{"a":1}\x0c',
    "form_feed_true": b"\x0ctrue",
    "number_then_bad_line": b"5\n{a:1}\n",
    "csv_header_only": b"a,b\n",
    "csv_more_fields": b"a,b\n1,2,3\n",
    "csv_fewer_fields": b"a,b\n1\n",
    "csv_quote_open": b'a,b\n"1,2\n',
    "csv": b"a,b\n1,2\n",
    "csv_repeated_name": b"a,a\n1,2\n",
    "csv_blank_header": b"\na\n1\n",
    "csv_nul": b"a,b\n1,\x002\n",
    "csv_not_utf8": b"a,b\n1,\xff\n",
    "csv_quote_inside": b'a,b\n1,x"y\n',
    "csv_bom": b"\xef\xbb\xbfa\n1\n",
    "csv_blank_name": b"a,,b\n1,2,3\n",
    "csv_sep_line": b"sep=;\na;b\n1;2\n",
    "csv_text_after_quote": b'a,b\n"1"x,2\n',
    "csv_header_quote_open": b'"a,b\n1,2\n',
    # a header past dialect.MAX_HEADER_BYTES holding no quote (review revc s19 02)
    "csv_header_past_the_limit": b"a," + b"n" * 1_100_000 + b"\n1,2\n",
    "csv_header_of_many_names": b",".join(b"c%d" % i for i in range(200_000)) + b"\n1\n",
    "csv_two_delimiters": b"a;b,c\n1;2,3\n",
    "csv_control_in_name": b"a\x01,b\n1,2\n",
    "tsv_quote_open": b'a\tb\n"1\t2\n',
    "utf16_csv": "a,b\n1,2\n".encode("utf-16"),
}

#: bodies sent in every format; the others as JSON (``.json``, ``.ndjson``) or as CSV (``.csv``,
#: ``.tsv``) by their name; and those gzipped too (in their formats)
EVERY_FORMAT = {"empty", "whitespace", "bom", "bom_whitespace", "number", "object", "csv"}
GZIPPED = {
    "empty",
    "bom_whitespace",
    "empty_array",
    "lines_number",
    "cut_array",
    "repeated_key",
    "not_utf8",
    "lone_surrogate",
    "deep",
    "csv_more_fields",
    "csv_not_utf8",
    "csv_blank_name",
}


def _formats(body: str) -> tuple[str, ...]:
    if body in EVERY_FORMAT:
        return ("csv", "tsv", "ndjson", "json")
    return ("csv", "tsv") if body.startswith(("csv", "tsv", "utf16")) else ("ndjson", "json")


CASES = [
    (body, ext, gz)
    for gz in (False, True)
    for body in BODIES
    if not gz or body in GZIPPED
    for ext in _formats(body)
]


def _table(body: str, ext: str, gz: bool) -> str:
    return f"s_{ext}{'_gz' * gz}_{body}"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case through the API and one loader pass (the whole sweep: a few seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
            mp.delenv(key)
        settings = lakehouse(Path(tmp_path_factory.mktemp("sweep")))
        inputs = [
            (
                _table(body, ext, gz),
                f"a.{ext}" + ".gz" * gz,
                gzip.compress(BODIES[body], mtime=0) if gz else BODIES[body],
            )
            for body, ext, gz in CASES
        ]
        return run(settings, inputs, rows=False)


def _line(data: bytes, record: int) -> int:
    """The file's line (from 1, blank lines counted) of NDJSON record ``record`` (from 0)."""
    seen = -1
    for number, line in enumerate(data.removeprefix(dialect.BOM_UTF8).split(b"\n"), start=1):
        if line.strip():
            seen += 1
            if seen == record:
                return number
    raise AssertionError(f"no record {record}")


_INSIDE = re.compile(r"[.\[]")


def api_words(outcome: Outcome, data: bytes) -> str:
    """The API's refusal as the loader's reason says it (docs/loading.md, Refusals): a 422
    list's first error, its record and column placed before its ``msg``."""
    detail = outcome.api_detail
    if not isinstance(detail, list):
        return str(detail)
    error = detail[0]
    msg, row, field = error["msg"], error.get("row"), error.get("field")
    if row is None:
        return str(msg)
    where = f"line {_line(data, row)}" if outcome.name.split(".")[1] == "ndjson" else None
    where = where or f"record {row + 1}"
    column = None if field is None else _INSIDE.split(field)[0]
    if field is not None and field in _record_keys(data, row, outcome.name.endswith("ndjson")):
        column = field  # a record's own key, as sent (".a" is no key inside column "")
    if column is not None and column != field:  # a key inside a column
        msg = f"column {column!r}: {msg}"
    return dialect.placed(where, msg)


def _record_keys(data: bytes, row: int, ndjson: bool) -> list[str]:
    """The keys of record ``row`` (from 0) of a small body, [] when it does not decode."""
    decoder = json.JSONDecoder(object_pairs_hook=lambda pairs: pairs)
    try:
        text = data.removeprefix(dialect.BOM_UTF8).decode()
        if ndjson:
            record = decoder.decode([line for line in text.split("\n") if line.strip()][row])
        else:
            whole = decoder.decode(text)  # one object (a list of pairs), or an array
            record = whole if _pairs(whole) else whole[row]
    except (ValueError, IndexError, TypeError, RecursionError):
        return []
    return [key for key, _ in record] if _pairs(record) else []


def _pairs(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(p, tuple) for p in value)


def loader_words(outcome: Outcome) -> str:
    assert outcome.refused is not None
    return str(outcome.refused["reason"])


@pytest.mark.parametrize(
    ("body", "ext", "gz"), CASES, ids=[_table(*c).removeprefix("s_") for c in CASES]
)
def test_accepted_by_both_or_refused_in_one_set_of_words(
    outcomes: dict[str, Outcome], body: str, ext: str, gz: bool
) -> None:
    outcome = outcomes[_table(body, ext, gz)]
    if outcome.api_status == 202:
        assert outcome.refused is None, outcome.refused
        assert outcome.loaded_rows is not None  # a bronze table: loaded
        return
    assert outcome.api_status in (400, 413, 422), (outcome.api_status, outcome.api_detail)
    assert outcome.refused is not None, ("the loader loaded it", outcome.api_detail)
    assert loader_words(outcome) == api_words(outcome, BODIES[body]), (
        outcome.api_detail,
        outcome.refused,
    )


#: past the API's api_max_body_bytes (lowered to 1 MiB here, as 17 MiB past its 16 MiB default):
#: the API reads such a .json file in pieces (``ingest.jsonstream``)
_PAST_A_BODY = 2 * 1024**2

BIG = {
    "spaces_inside": b"[" + b" " * _PAST_A_BODY + b"]",
    "newlines_inside": b"[" + b"\n" * _PAST_A_BODY + b"]",
    "bom_spaces_inside": dialect.BOM_UTF8 + b"[" + b" " * _PAST_A_BODY + b"]",
    "spaces_before": b" " * _PAST_A_BODY + b"[]",
    "spaces_after": b"[] " + b" " * _PAST_A_BODY,
    "small": b"[]",
}


def test_an_empty_array_is_said_alike_at_every_size(tmp_path: Path) -> None:
    """``[`` and ``]`` around whitespace past ``api_max_body_bytes``: *before:* the API's 422
    said "the file holds no records" (it read the file in pieces), the loader "the file is an
    empty JSON array", as both say of a small ``[]`` (measured at 17 MiB by the default
    settings: the same)."""
    settings = lakehouse(tmp_path, api_max_body_bytes=1024**2)
    outcomes = run(settings, [(f"big_{c}", "a.json", data) for c, data in BIG.items()], rows=False)
    said = {c: (o.api_status, o.api_detail) for c, o in outcomes.items()}
    assert said == {f"big_{c}": (422, dialect.EMPTY_JSON_ARRAY) for c in BIG}
    refused = {
        c: o.refused and (o.refused["kind"], o.refused["reason"]) for c, o in outcomes.items()
    }
    assert refused == {f"big_{c}": ("empty", dialect.EMPTY_JSON_ARRAY) for c in BIG}


@pytest.mark.parametrize("key", [".a", "..a", ".", "a.", ".a.b"])
def test_a_repeated_key_is_named_as_sent(tmp_path: Path, key: str) -> None:
    """The API's ``field`` (and ``loc``) of a repeated key is the key exactly as sent, and the
    loader's reason names the same key: *before:* (A-09, until session 18) every leading dot
    was stripped from the field's path, so a repeated ``.a`` was field ``a`` (``.`` was
    ``""``)."""
    body = b"{%s:1,%s:2}\n" % ((json.dumps(key).encode(),) * 2)
    inputs = [(f"dot_{ext}", f"a.{ext}", body) for ext in ("json", "ndjson")]
    outcomes = run(lakehouse(tmp_path), inputs, rows=False)
    for ext, where in (("json", "record 1"), ("ndjson", "line 1")):
        outcome = outcomes[f"dot_{ext}"]
        said = dialect.repeated_key(key)
        assert (outcome.api_status, outcome.api_detail) == (
            422,
            [
                {
                    "loc": ["body", 0, key],
                    "row": 0,
                    "field": key,
                    "msg": said,
                    "type": "duplicate_key",
                }
            ],
        )
        assert outcome.refused is not None
        assert outcome.refused["reason"] == f"{where}: {said}"


#: a value making a record ~1 KiB: few records fill a piece of the API's reading (8 MiB)
_LONG = "x" * 1000


def _case_twins_past_a_piece(ndjson: bool) -> bytes:
    """``ID`` in the records of the file's first piece (8 MiB, ``ingest.filecheck.CHUNK``),
    then ``id`` and ``Id`` in the next piece's."""
    records = [{"ID": _LONG}] * 9_000 + [{"id": 1}, {"Id": 2}]
    lines = [json.dumps(r).encode() for r in records]
    return b"\n".join(lines) + b"\n" if ndjson else b"[" + b",\n".join(lines) + b"]"


def test_keys_equal_but_case_are_named_in_the_files_order_at_every_size(
    tmp_path: Path,
) -> None:
    """Keys equal but for case are judged in the order the file first gives them, by the API
    and the loader alike: the second seen is named, "column 'id' differs only by case from
    column 'ID'", whether the file is checked whole or in pieces, with a contract or without.

    *Before:* (until session 18) the API judged the keys sorted, so a file naming ``id``
    before ``Id`` was "column 'id' differs ... from column 'Id'" to the API and "column 'Id'
    differs ... from column 'id'" to the loader; a later piece of a big file was judged
    alone ("column 'id' differs ... from column 'Id'" where the loader, seeing ``ID`` first,
    named ``id`` and ``ID``); and with a contract declaring both, its fast test listed the
    keys in the contract's order."""
    settings = lakehouse(tmp_path, api_max_body_bytes=1024**2)
    declare(settings, "contract_json", {"Id": "bigint", "id": "bigint"})
    declare(settings, "contract_ndjson", {"Id": "bigint", "id": "bigint"})
    inputs = [
        ("big_ndjson", "a.ndjson", _case_twins_past_a_piece(ndjson=True)),
        ("big_json", "a.json", _case_twins_past_a_piece(ndjson=False)),
        ("contract_ndjson", "a.ndjson", b'{"id":1}\n{"Id":2}\n'),
        ("contract_json", "a.json", b'[{"id":1},{"Id":2}]'),
    ]
    outcomes = run(settings, inputs, rows=False)
    rule = "(column names are case-insensitive in Delta and DuckDB)"
    want = {
        "big_ndjson": f"column 'id' differs only by case from column 'ID' {rule}",
        "big_json": f"column 'id' differs only by case from column 'ID' {rule}",
        "contract_ndjson": f"column 'Id' differs only by case from column 'id' {rule}",
        "contract_json": f"column 'Id' differs only by case from column 'id' {rule}",
    }
    api = {t: (o.api_status, o.api_detail[0]["msg"]) for t, o in outcomes.items()}
    assert api == {t: (422, said) for t, said in want.items()}
    loader = {t: o.refused and o.refused["reason"] for t, o in outcomes.items()}
    assert loader == want


#: nested past msgspec's limit (~100,000 levels, where its parse stops for the depth), closed
_VERY_DEEP = b"[" * 100_000 + b"]" * 100_000
_DEPTH = "nested 100000 levels deep; JSON records may nest at most 512 levels"
#: records of ~1 KiB: 1,100 of them pass api_max_body_bytes (lowered to 1 MiB below)
_PAD = b'{"a":"' + b"x" * 1000 + b'"}'


def _records(count: int, sep: bytes) -> bytes:
    return sep.join([_PAD] * count) + sep


#: a record no object, nested past msgspec's limit: (file, its words by both sides)
DEEP_NO_OBJECT = {
    "array": (
        b"[" + _records(1100, b",") + _VERY_DEEP + b"]",
        "record 1101: " + dialect.NOT_OBJECT,
    ),
    "array_more": (
        b"[" + _records(1100, b",") + _VERY_DEEP + b"," + _PAD + b"]",
        "record 1101: " + dialect.NOT_OBJECT,
    ),
    # the record spans the API's first block (8 MiB): its end is read before it is judged
    "array_across_a_block": (
        b"[" + _records(8_165, b",") + _VERY_DEEP + b"]",
        "record 8166: " + dialect.NOT_OBJECT,
    ),
    "values": (_records(1100, b"\n") + _VERY_DEEP, "record 1101: " + dialect.NOT_OBJECT),
    "values_small": (b'{"a":1}\n' + _VERY_DEEP + b' {"a":1}', "record 2: " + dialect.NOT_OBJECT),
    "array_cut": (b"[" + _records(1100, b",") + b"[" * 100_000, dialect.JSON_ARRAY_CUT),
    # a text opening with a scalar is judged as text first, by both: the depth (bf1e33d made
    # the API say no object here, the loader says the depth: before-stop read of fixd)
    "scalar_first": (b"5 " + _VERY_DEEP, "record 2: " + _DEPTH),
    "scalar_first_text_after": (b"null " + _VERY_DEEP + b" x", "record 2: " + _DEPTH),
    # after a scalar among values one after another the loader's reading of the records fails
    # and it judges the text: the depth, by both, at any size; a scalar after it is read after
    "values_scalar_before": (b"5 " + _records(1100, b"\n") + _VERY_DEEP, "record 1102: " + _DEPTH),
    # the records read before it are judged first, though the API's piece holding them is
    # not full yet
    "array_scalar_before": (
        b"[5," + _records(1100, b",") + _VERY_DEEP + b"]",
        "record 1: " + dialect.NOT_OBJECT,
    ),
    "values_scalar_after": (
        _records(1100, b"\n") + _VERY_DEEP + b"\n5",
        "record 1101: " + dialect.NOT_OBJECT,
    ),
    "array_text_after": (
        b"[" + _records(1100, b",") + _VERY_DEEP + b"] x",
        dialect.JSON_ARRAY_CUT,
    ),
}


def _said(outcome: Outcome) -> str:
    detail = outcome.api_detail
    if isinstance(detail, list):  # a record's refusal: its place before its msg
        return dialect.placed(f"record {detail[0]['row'] + 1}", detail[0]["msg"])
    return str(detail).removeprefix("malformed JSON: ")


def test_a_deep_record_that_is_no_object_is_said_alike_at_every_size(tmp_path: Path) -> None:
    """A ``.json`` record that is no object, nested past msgspec's limit, is refused as no
    object by both sides (the loader reads it at any depth), whether the API checks the file
    whole or in pieces (``ingest.jsonstream``, past ``api_max_body_bytes``); an array never
    closed is cut short to both. *Before:* (until session 18) a big file's such record was
    "record 1101: nested 100000 levels deep; ..." to the API and "record 1101: a record must
    be a JSON object" to the loader, and so was a small file's after another JSON value
    (``{"a":1}`` then the record, then another); an array cut short after such a record (or
    with text after it) was that depth to the API and "the JSON array does not end with ']'"
    to the loader."""
    settings = lakehouse(tmp_path, api_max_body_bytes=1024**2)
    inputs = [(f"deep_{c}", "a.json", data) for c, (data, _) in DEEP_NO_OBJECT.items()]
    outcomes = run(settings, inputs, rows=False)
    api = {c: _said(o) for c, o in outcomes.items()}
    loader = {
        c: o.refused and str(o.refused["reason"]).removeprefix("malformed JSON: ")
        for c, o in outcomes.items()
    }
    want = {f"deep_{c}": said for c, (_, said) in DEEP_NO_OBJECT.items()}
    assert (api, loader) == (want, want)


def _gzip_variants() -> dict[str, bytes]:
    """A CSV's gzip, broken each way a writer or a transfer breaks it (revc s19 01)."""
    good = gzip.compress(b"a,b\n1,x\n2,y\n", mtime=0)
    crc = bytearray(good)
    crc[-8] ^= 0xFF  # the member's CRC-32
    size = bytearray(good)
    size[-4] ^= 0x01  # its ISIZE
    return {
        "bad_crc": bytes(crc),
        "bad_size": bytes(size),
        "truncated": good[:-5],
        "garbage_after": good + b"garbage",
        "one_stray_byte": good + b"x",
        "zlib_not_gzip": zlib.compress(b"a,b\n1,x\n"),
        "plain": b"a,b\n1,x\n",
    }


def test_a_gzip_that_cannot_be_read_is_said_alike(tmp_path: Path) -> None:
    """*Before:* (session 19, revc 01) the loader said "the gzip data cannot be read: the file
    'a.csv.gz' is not valid gzip: ..." where the API said "the file is not valid gzip: ...";
    now one set of words, the API's."""
    settings = lakehouse(tmp_path)
    variants = _gzip_variants()
    outcomes = run(settings, [(f"g_{n}", "a.csv.gz", d) for n, d in variants.items()], rows=False)
    for name, outcome in outcomes.items():
        assert outcome.api_status == 400, (name, outcome.api_status, outcome.api_detail)
        assert outcome.refused is not None and outcome.refused["kind"] == "unparseable", name
        assert loader_words(outcome) == outcome.api_detail, name
        assert str(outcome.api_detail).startswith(("the file is not valid gzip", "the file is tr"))
    for name in ("g_garbage_after", "g_one_stray_byte"):  # not "truncated" (readb s19 06)
        stray = str(outcomes[name].api_detail)
        at = len(gzip.compress(b"a,b\n1,x\n2,y\n", mtime=0))  # the whole member before them
        words = f"the file is not valid gzip: the bytes after its gzip data (from byte {at})"
        assert stray == words + " are no gzip member", stray


def test_zero_padding_after_a_gzip_member_is_skipped_as_gzip_skips_it(tmp_path: Path) -> None:
    """A member then zero bytes (a tape's or a block device's padding): GNU gzip and Python's
    ``gzip`` read the member and skip the zeros. *Before:* (session 19, revc 01) both sides
    refused it "... not valid gzip: ... incorrect header check". Zeros then a member: both."""
    member = gzip.compress(b"a,b\n1,x\n", mtime=0)
    second = gzip.compress(b"2,y\n", mtime=0)
    bodies = {"zeros": member + b"\0" * 64, "zeros_between": member + b"\0" * 9 + second}
    for body in bodies.values():  # what Python's gzip reads of it
        assert gzip.decompress(body).startswith(b"a,b\n1,x\n")
    settings = lakehouse(tmp_path)
    outcomes = run(settings, [(f"z_{n}", "a.csv.gz", d) for n, d in bodies.items()])
    assert {t: (o.api_status, o.refused) for t, o in outcomes.items()} == {
        "z_zeros": (202, None),
        "z_zeros_between": (202, None),
    }
    assert [(r["a"], r["b"]) for r in outcomes["z_zeros"].loaded_rows or []] == [(1, "x")]
    rows = outcomes["z_zeros_between"].loaded_rows or []
    assert sorted((r["a"], r["b"]) for r in rows) == [(1, "x"), (2, "y")]


@pytest.mark.parametrize("name", ["data.txt", "x.csv~", "x.csv.", "x.parquet.bak"])
def test_a_name_of_no_format_is_said_alike(tmp_path: Path, name: str) -> None:
    """*Before:* (session 19, revc 03) the loader said "unsupported file type 'x.csv~':
    expected ..." where the API said "file name 'x.csv~': the extension must be one of ..."."""
    outcome = run(lakehouse(tmp_path), [("t", name, b"a\n1\n")], rows=False)["t"]
    assert outcome.api_status == 415, (outcome.api_status, outcome.api_detail)
    assert outcome.refused is not None and outcome.refused["kind"] == "unsupported"
    assert loader_words(outcome) == outcome.api_detail
    assert f"file name {name!r}: the extension must be one of .csv" in str(outcome.api_detail)
