"""PostgreSQL's COPY text format read losslessly: ``meta: {tsv_quoting: postgres}`` (issue #8).

Under ``tsv_quoting: none`` (the only reading of it until session 17) a ``COPY ... TO (FORMAT
text)`` export was stored with its empty strings null and its nulls the text ``\\N``, its escapes
(``\\t``, ``\\\\``) as written. Under ``postgres`` each field is read as PostgreSQL's ``COPY ...
FROM`` reads it (``lakehouse.pgtext``): ``\\N`` null, an empty field the empty string, the
escapes ``\\\\ \\b \\f \\n \\r \\t \\v``, octal ``\\NNN``, hex ``\\xHH``, any other ``\\c`` as
``c``; the header's names too. A field PostgreSQL would read otherwise, or into bytes that are
not UTF-8 or a NUL, refuses the file, by the API (400) and the loader (``unparseable``) in one
set of words naming the line and the column.

Every test here fails on main: ``postgres`` was no quoting the contract knew (a misshapen
contract, 503 and the file held). The real PostgreSQL round trip is
``tests/storage/test_postgres_text_copy.py`` (``-m postgres``)."""

from __future__ import annotations

import io
import itertools
import re
import sys
import typing

import pyarrow as pa
import pytest
from adversary_support import lakehouse, run
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lakehouse import dialect, pgtext
from lakehouse.settings import Settings

# -- PostgreSQL's writer, as its source has it (copyto.c, CopyAttributeOutText) -----------------

_OUT = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\"}


def copy_field(value: str | None) -> str:
    """A value as ``COPY ... TO (FORMAT text)`` writes it: null ``\\N``; a backslash, TAB, LF,
    CR, backspace, form feed and vertical tab escaped; any other character (other control
    characters too) as it is."""
    if value is None:
        return pgtext.NULL
    return "".join(_OUT.get(c, c) for c in value)


def copy_text(header: list[str], rows: list[list[str | None]]) -> bytes:
    """A file as ``COPY ... TO (FORMAT text, HEADER)`` writes it: a line per row, LF ended."""
    lines = [header, *rows]
    return "".join("\t".join(copy_field(v) for v in line) + "\n" for line in lines).encode()


def read_back(data: bytes) -> list[list[str | None]]:
    """The rows of a text-format file by the shared functions alone: its lines (LF, CRLF, CR),
    each split at every TAB, each field :func:`pgtext.value`."""
    ended = list(dialect.csv_lines(data.decode()))
    lines = [line.rstrip("\r\n") for line in ended]
    assert pgtext.rows_problem(ended[1:], 2, lines[0].split("\t"), "\n") is None
    fields = [line.split("\t") for line in lines[1:]]
    read = [[pgtext.value(f) for f in row] for row in fields]
    for i in range(len(fields[0])):  # a column at once, as the readers read it (\N null)
        raws = [None if row[i] == pgtext.NULL else row[i] for row in fields]
        assert pgtext.values(pa.array(raws, pa.string())).to_pylist() == [r[i] for r in read]
    return read


#: any text PostgreSQL's text type holds (no NUL), the characters that matter most often
TEXTS = st.text(
    alphabet=st.one_of(
        st.sampled_from("\t\n\r\\\b\f\v\x01\x1b\x7f\x85\u2028 N.x0\"'é€😀"),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    max_size=8,
)
VALUES = st.one_of(st.none(), st.just(""), st.just("\\N"), st.just("\\"), TEXTS)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(VALUES, min_size=3, max_size=3), min_size=1, max_size=6))
def test_what_copy_writes_reads_back_as_it_was(rows: list[list[str | None]]) -> None:
    assert read_back(copy_text(["a", "b", "c"], rows)) == rows


@st.composite
def escaped(draw: st.DrawFn) -> tuple[str, str]:
    """(a value, a field reading as it): each of its UTF-8 bytes written as an octal (1 to 3
    digits when the next character cannot extend it) or hex escape, a letter escape, ``\\c``, or
    the character itself, as COPY FROM reads them all."""
    value = draw(st.text(alphabet=st.characters(blacklist_categories=("Cs",), min_codepoint=1)))
    out = []
    for char in value:
        data = char.encode()
        ways = ["octal", "hex"] + (["plain"] if char not in "\\\t\n\r" else [])
        ways += ["letter"] if char in _OUT else []
        ways += ["other"] if char.isascii() and char not in "01234567xbfnrtvN.\t\n\r" else []
        way = draw(st.sampled_from(ways))
        if way == "plain":
            out.append(char)
        elif way == "letter":
            out.append(_OUT[char])
        elif way == "other":
            out.append("\\" + char)
        else:
            for byte in data:
                out.append(f"\\{byte:03o}" if way == "octal" else f"\\x{byte:02x}")
    return value, "".join(out)


@settings(max_examples=500, deadline=None)
@given(escaped())
def test_every_escape_copy_from_reads_reads_so(case: tuple[str, str]) -> None:
    value, field = case
    assert pgtext.value(field) == value


#: fields as a reader splits them (no TAB, LF or CR), escapes of every kind, refused ones too
FIELDS = st.text(
    alphabet=st.sampled_from(
        ["\\", "\\", "x", "0", "7", "8", "a", "n", "t", "N", ".", "é", "\ue000"]
    ),
    max_size=6,
).filter(lambda f: f != pgtext.NULL)


@settings(max_examples=500, deadline=None)
@given(st.lists(FIELDS, min_size=1, max_size=12))
def test_a_column_reads_as_its_fields_one_by_one(raws: list[str]) -> None:
    """``pgtext.values`` (many fields at once, the readers') gives ``pgtext.value`` of each,
    and refuses the first it refuses for the same reason."""
    expected: list[str | None] = []
    refused: tuple[int, str] | None = None
    for index, raw in enumerate(raws):
        try:
            expected.append(pgtext.value(raw))
        except pgtext.PgTextError as exc:
            refused = (index, exc.why)
            break
    try:
        got = pgtext.values(pa.array(raws, pa.string())).to_pylist()
    except pgtext.PgTextError as exc:
        assert (exc.index, exc.why) == refused
    else:
        assert refused is None and got == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("\\x", "x"),  # no hex digit: x itself (PostgreSQL 15.18, COPY FROM)
        ("\\xg", "xg"),
        ("\\1234", "S4"),  # three octal digits at most
        ("\\q", "q"),
        ("x\\N", "xN"),  # \N is null only as the whole field
        ("\\\\N", "\\N"),
        ("\\xc3\\xa9", "é"),  # bytes of one character, escaped one by one
        ("\\\u00e9", "é"),
        ("", ""),
        ("\\N", None),
    ],
)
def test_the_fields_postgresql_reads_so(field: str, value: str | None) -> None:
    """What PostgreSQL 15.18's ``COPY t FROM STDIN (FORMAT text)`` read these as (session 17);
    ``tests/storage/test_postgres_text_copy.py`` asks the server again."""
    assert pgtext.value(field) == value


# -- the API and the loader ---------------------------------------------------------------------


def _postgres(settings: Settings, table: str) -> None:
    (settings.dbt_project_dir / "models" / f"{table}.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        f"      - name: {table}\n        meta: {{tsv_quoting: postgres, infer_types: false}}\n"
    )


def _texts(rows: list[dict[str, object]] | None, header: list[str]) -> list[list[object]]:
    return [[r[h] for h in header] for r in rows or []]


#: PostgreSQL 15.18's ``\\copy q to 'q.tsv' with (format text, header)`` of
#: ``create table q (id int, "t\\x" text, j json)`` holding (1, '"quoted"', '"str"'),
#: (2, 'tab<TAB>in<LF>two lines', null), (3, '', '"\\\\"'), (4, null, '""'), (5, '\\N', '{}'),
#: (6, 'back\\slash', 'é') (tests/adversary/test_tsv_quoting.py's rows, more of them)
PG_TEXT = (
    b'id\tt\\\\x\tj\n1\t"quoted"\t"str"\n2\ttab\\tin\\ntwo lines\t\\N\n3\t\t"\\\\\\\\"\n'
    b'4\t\\N\t""\n5\t\\\\N\t{}\n6\tback\\\\slash\t\xc3\xa9\n'
)


def test_a_postgresql_text_copy_loads_exactly(one_lakehouse: Settings) -> None:
    _postgres(one_lakehouse, "q")
    outcome = run(one_lakehouse, [("q", "q.tsv", PG_TEXT)])["q"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert sorted(_texts(outcome.loaded_rows, ["id", "t\\x", "j"])) == [
        ["1", '"quoted"', '"str"'],
        ["2", "tab\tin\ntwo lines", None],
        ["3", "", '"\\\\"'],
        ["4", None, '""'],
        ["5", "\\N", "{}"],
        ["6", "back\\slash", "é"],
    ]


def test_one_column_blank_lines_are_empty_strings(one_lakehouse: Settings) -> None:
    """A one-column table's empty string is an empty line in the text format (null ``\\N``)."""
    _postgres(one_lakehouse, "q")
    outcome = run(one_lakehouse, [("q", "q.tsv", b"t\n\n\\N\n\nx\n")])["q"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert [r["t"] for r in outcome.loaded_rows or []] == ["", None, "", "x"]


def test_declared_types_are_judged_on_the_values(one_lakehouse: Settings) -> None:
    """``\\N`` is a null, so a required column refuses it; an empty field is '' (PostgreSQL
    refuses it for an integer too); an escape is read before a value is judged."""
    (one_lakehouse.dbt_project_dir / "models" / "q.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: q\n"
        "        meta: {tsv_quoting: postgres}\n        columns:\n"
        "          - {name: n, data_type: integer}\n"
        "          - {name: r, data_type: varchar, data_tests: [not_null]}\n"
    )
    ok = run(one_lakehouse, [("q", "q.tsv", b"n\tr\n\\061\\x32\tx\n\\N\t\n")])["q"]
    assert ok.api_status == 202, ok.api_detail
    assert ok.refused is None, ok.refused
    assert sorted(_texts(ok.loaded_rows, ["n", "r"]), key=str) == [[12, "x"], [None, ""]]
    null = run(one_lakehouse, [("q", "q2.tsv", b"n\tr\n1\t\\N\n")])["q"]
    assert null.api_status == 422 and null.refused is not None, null.api_detail
    empty = run(one_lakehouse, [("q", "q3.tsv", b"n\tr\n\tx\n")])["q"]
    assert empty.api_status == 422 and empty.refused is not None, empty.api_detail


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            b"id\tt\n1\tok\n2\t\\xff\n",
            "line 3, column 2 ('t'): its escapes make bytes that are not UTF-8 (b'\\xff' at"
            " byte 0 of the value)",
        ),
        (
            b"id\tt\n1\ta\\xc3\n",  # a character's first byte alone
            "line 2, column 2 ('t'): its escapes make bytes that are not UTF-8 (b'\\xc3' at"
            " byte 1 of the value)",
        ),
        (
            b"id\tt\n1\tok\n2\tx\\0y\n",
            "line 3, column 2 ('t'): its escapes make a NUL byte (byte 1 of the value), which no"
            " text holds (PostgreSQL refuses it too)",
        ),
        (
            b"id\tt\n1\tok\n2\tx\x00y\n",  # a NUL as written: PostgreSQL refuses it, was loaded
            "line 3, column 2 ('t'): it holds a NUL byte (byte 1 of the field), which no text holds"
            ' (PostgreSQL\'s COPY refuses it too, "invalid byte sequence for encoding UTF8: 0x00")',
        ),
        (
            b"id\tt\r\n1\tx\\\r\n",  # \ CR then LF in a CRLF file: literal newline found in data
            "line 2: a line feed (LF) after a CR that a backslash escapes (part of the value, no"
            " line end), where the file's lines end in CRLF as its header line does"
            " (PostgreSQL's COPY takes the line end from the first line and refuses any other,"
            ' "literal newline found in data"; it writes an LF in a value as \\n)',
        ),
        (
            b"id\tt\n1\tx\n2\tc\\",  # the file's last byte: PostgreSQL 15.18 reads ('2', 'c')
            "line 3, column 2 ('t'): it ends the file with a backslash, escaping nothing"
            " (PostgreSQL's COPY drops it and reads the value without it; it writes a backslash"
            " in a value as \\\\, never alone)",
        ),
        (
            b"id\tt\n1\tx\n2\t\\.\n",  # PostgreSQL 15 stops there: ('2', '')
            "line 3, column 2 ('t'): it holds \\., PostgreSQL's end-of-data marker (its COPY"
            " stops reading there or refuses the line, and never writes it in a value)",
        ),
        (
            b"id\tt\\xe9\n1\t2\n",
            "line 1, column 2: its escapes make bytes that are not UTF-8 (b'\\xe9' at byte 1 of"
            " the value)",
        ),
        (
            b"id\t\\N\n1\t2\n",
            "line 1, column 2: the name is \\N, PostgreSQL's null: a column's name is never null",
        ),
        (
            b"t\nx\ry\nz\n",  # a raw CR in a value: PostgreSQL refuses it, was rows 'x' 'y' 'z'
            "line 2: a carriage return (CR), where the file's lines end in LF as its header line"
            " does (PostgreSQL's COPY takes the line end from the first line and refuses any"
            ' other, "literal carriage return found in data"; it writes a CR in a value as \\r)',
        ),
        (
            b"id\tt\n1\tx\n2\ty\r\n",  # a CRLF line in a LF file
            "line 3: a carriage return (CR), where the file's lines end in LF as its header line"
            " does (PostgreSQL's COPY takes the line end from the first line and refuses any"
            ' other, "literal carriage return found in data"; it writes a CR in a value as \\r)',
        ),
        (
            b"t\r\nx\ny\r\n",  # a bare LF in a CRLF file: was rows 'x' 'y'
            "line 2: a line feed (LF) without a CR before it, where the file's lines end in CRLF"
            " as its header line does (PostgreSQL's COPY takes the line end from the first line"
            ' and refuses any other, "literal newline found in data"; it writes an LF in a value'
            " as \\n)",
        ),
        (
            b"id\tt\r\n1\tx\r\n2\ty\r3\tz\r\n",  # a bare CR in a CRLF file
            "line 3: a carriage return (CR) without its LF, where the file's lines end in CRLF"
            " as its header line does (PostgreSQL's COPY takes the line end from the first line"
            ' and refuses any other, "literal carriage return found in data"; it writes a CR in'
            " a value as \\r)",
        ),
        (
            b"t\rx\ny\r",  # a LF in a CR file
            "line 2: a line feed (LF), where the file's lines end in CR as its header line does"
            " (PostgreSQL's COPY takes the line end from the first line and refuses any other,"
            ' "literal newline found in data"; it writes an LF in a value as \\n)',
        ),
        (
            b"id\tt\n1\tx\n\n2\ty\n",  # PostgreSQL: missing data for column "t"; was dropped
            "line 3 is empty, one empty field where the header has 2 columns (PostgreSQL's COPY"
            ' refuses it, "missing data for column t"; it writes a row of empty strings as its'
            " TABs)",
        ),
        (
            b"id\tt\r\n1\tx\r\n\r\n",  # the last line, CRLF
            "line 3 is empty, one empty field where the header has 2 columns (PostgreSQL's COPY"
            ' refuses it, "missing data for column t"; it writes a row of empty strings as its'
            " TABs)",
        ),
        (
            b"id\tt\n1\tx\ry\n2\tz\n",  # was a field count (line 3 'y'): the CR first
            "line 2: a carriage return (CR), where the file's lines end in LF as its header line"
            " does (PostgreSQL's COPY takes the line end from the first line and refuses any"
            ' other, "literal carriage return found in data"; it writes a CR in a value as \\r)',
        ),
    ],
    ids=[
        "xff",
        "cut",
        "nul",
        "raw_nul",
        "escaped_cr_lf_in_crlf",
        "file_end",
        "end",
        "name",
        "null_name",
        "cr_in_lf",
        "crlf_in_lf",
        "lf_in_crlf",
        "cr_in_crlf",
        "lf_in_cr",
        "empty",
        "empty_last_crlf",
        "cr_before_count",
    ],
)
def test_what_postgresql_reads_otherwise_is_refused_alike(
    one_lakehouse: Settings, data: bytes, reason: str
) -> None:
    _postgres(one_lakehouse, "q")
    outcome = run(one_lakehouse, [("q", "q.tsv", data)])["q"]
    refused = outcome.refused
    assert refused is not None, outcome.loaded_rows
    assert (refused["kind"], refused["reason"]) == ("unparseable", reason)
    assert outcome.api_status == 400 and outcome.api_detail == reason


def test_a_backslash_escaping_a_tab_loads_as_postgresql_reads_it(one_lakehouse: Settings) -> None:
    """``\\`` then a TAB is a TAB in the value, as PostgreSQL 15.18 reads it (the one field
    ``a<TAB>b``; ``tests/storage/test_postgres_text_copy.py`` asks a real one): the API and
    the loader split the fields where it does (until session 19 both refused the file, "it
    ends with a backslash, which escapes the TAB ..."). A backslash pair before a TAB is a
    backslash ending the value, the TAB the separator; the field counts are PostgreSQL's."""
    _postgres(one_lakehouse, "q")
    b, tab = b"\\", b"\t"  # one backslash; a TAB
    rows = [
        b"1\ta" + b + tab + b"b\tz",  # a<TAB>b, z
        b"2\tc" + b + b + tab + b + b"N",  # a pair then the separator: c\, null
        b"3\t" + b + tab + b + b + b + tab + b + b + tab,  # <TAB>\<TAB>\, ''
    ]
    data = b"id\tt\tu\n" + b"".join(r + b"\n" for r in rows)
    outcome = run(one_lakehouse, [("q", "q.tsv", data)])["q"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert sorted(_texts(outcome.loaded_rows, ["id", "t", "u"])) == [
        ["1", "a\tb", "z"],
        ["2", "c\\", None],
        ["3", "\t\\\t\\", ""],
    ]
    # a TAB escaped is no separator: the field counts are PostgreSQL's
    other = b"id\tt\tu\n1\ta" + b + tab + b"b\tz\n2\tc" + b + tab + b"d\n"
    counted = run(one_lakehouse, [("q", "q2.tsv", other)])["q"]
    reason = "line 3 has 2 fields, the header has 3 (delimiter '\\t')"
    assert counted.refused is not None and counted.refused["reason"] == reason
    assert counted.api_status == 400 and counted.api_detail == reason


@pytest.mark.parametrize(
    ("end", "written", "read"),
    [
        ("\n", [b"1\tab\\\n2\tc"], [["1", "ab\n2", "c"]]),  # \ LF: one record
        ("\n", [b"1\tx\\\ry\t", b"2\tab\\\r\tz"], [["1", "x\ry", ""], ["2", "ab\r", "z"]]),
        ("\n", [b"1\tab\\\r"], None),  # \ CR then the LF ending the line: 'ab<CR>', 2 fields
        (
            "\r\n",
            [b"1\tx\\\ry\\\n\tz", b"2\t\\\n\\\n\t"],
            [["1", "x\ry\n", "z"], ["2", "\n\n", ""]],
        ),
        ("\r", [b"1\tx\\\ry\\\n\tz", b"2\ta\\\\\tb"], [["1", "x\ry\n", "z"], ["2", "a\\", "b"]]),
    ],
    ids=["lf", "cr_in_lf", "cr_before_lf", "crlf", "cr"],
)
def test_a_backslash_escaping_a_line_end_loads_as_postgresql_reads_it(
    one_lakehouse: Settings, end: str, written: list[bytes], read: list[list[str]] | None
) -> None:
    """``\\`` then a CR or LF is that character in the value, as PostgreSQL 15.18 reads it
    (``ab\\<LF>2`` the value ``ab<LF>2``: its record goes on to the next line;
    ``tests/storage/test_postgres_text_copy.py`` asks a real one), in LF, CRLF and CR files
    (until session 19 the API and the loader refused the file, "it ends with a backslash,
    which escapes the TAB or line end after it"). A refusal after such a record names the
    file's line, the same for both; a record of too few fields is refused as PostgreSQL
    refuses it ("missing data for column")."""
    table = f"q{len(written)}_{'_'.join(str(ord(c)) for c in end)}"
    _postgres(one_lakehouse, table)
    e = end.encode()
    data = b"id\tt\tu" + e + b"".join(w + e for w in written)
    outcome = run(one_lakehouse, [(table, "q.tsv", data)])[table]
    lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    if read is None:
        assert outcome.refused is not None and outcome.refused["kind"] == "column_count"
        assert (
            outcome.refused["reason"] == "line 2 has 2 fields, the header has 3 (delimiter '\\t')"
        )
        assert outcome.api_status == 400 and outcome.api_detail == outcome.refused["reason"]
        return
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert sorted(_texts(outcome.loaded_rows, ["id", "t", "u"])) == read
    # a bad field after them: named by its line in the file, by both
    bad = run(one_lakehouse, [(table, "b.tsv", data + b"9\t\\xff\tz" + e)])[table]
    reason = (
        f"line {lines + 1}, column 2 ('t'): its escapes make bytes that are not UTF-8"
        " (b'\\xff' at byte 0 of the value)"
    )
    assert bad.refused is not None and bad.refused["reason"] == reason
    assert bad.api_status == 400 and bad.api_detail == reason


@pytest.mark.parametrize(
    ("data", "read"),
    [
        (b"a\tb\nx\ty\\\n", [["x", "y\n"]]),  # \ LF, then the file's end
        (b"a\tb\nx\ty\\\r", [["x", "y\r"]]),  # \ CR, then the file's end
        (b"a\tb\r\t\\\r", [["", "\r"]]),  # a CR file
        (b"a\tb\n\t\\r\\\nx", [["", "\r\nx"]]),  # its last line cut after one
        (b"a\tb\nx\\\r", None),  # one field: PostgreSQL's "missing data for column"
        (b"a\tb\n\\\rN", None),
        (b"a\tb\\\n", "alike"),  # the header's: refused by both, in one set of words
    ],
    ids=["lf", "cr", "cr_file", "escaped_then_text", "one_field", "one_field_cut", "header"],
)
def test_an_escaped_line_end_in_the_last_record_without_a_line_end_after_it(
    one_lakehouse: Settings, data: bytes, read: list[list[str]] | str | None
) -> None:
    """A file whose last record holds an escaped line end and no line end after it: read as
    PostgreSQL 15 reads it (``test_postgres_text_copy`` asks a real one: ``x<TAB>y\\<LF>`` at
    the file's end is ('x', 'y<LF>')), the API and the loader alike. *Before* (found by
    reada's differential against PostgreSQL, session 19): the API's field count (a strict
    ``csv`` reader) said 400 "line 2 is not valid CSV: unexpected end of data" (and "line 3"
    of a CR it counts as a line) where the loader loaded the rows, or said "line 2 has 1
    field, the header has 2"; a header so: "line 1 is not valid CSV ..." where the loader
    named its backslash)."""
    _postgres(one_lakehouse, "q")
    outcome = run(one_lakehouse, [("q", "q.tsv", data)])["q"]
    if read == "alike":
        assert outcome.refused is not None and outcome.refused["reason"].startswith("line 1, ")
        assert (outcome.api_status, outcome.api_detail) == (400, outcome.refused["reason"])
        return
    if read is None:
        reason = "line 2 has 1 field, the header has 2 (delimiter '\\t')"
        assert outcome.refused is not None and outcome.refused["reason"] == reason
        assert (outcome.api_status, outcome.api_detail) == (400, reason)
        return
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert sorted(_texts(outcome.loaded_rows, ["a", "b"])) == read


def test_an_escape_is_named_before_a_field_count(one_lakehouse: Settings) -> None:
    """Both read every field's escapes before the field counts (the loader's scan of the whole
    file, the API's pass before its count): one reason whichever comes first in the file."""
    _postgres(one_lakehouse, "q")
    data = b"id\tt\n1\n2\t\\xff\n"
    outcome = run(one_lakehouse, [("q", "q.tsv", data)])["q"]
    refused = outcome.refused
    assert refused is not None and refused["reason"].startswith("line 3, column 2 ('t'): its")
    assert outcome.api_status == 400 and outcome.api_detail == refused["reason"]


_SEEN = itertools.count()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(VALUES, min_size=2, max_size=2), min_size=1, max_size=5))
def test_the_api_and_the_loader_store_what_copy_wrote(
    module_lakehouse: Settings, rows: list[list[str | None]]
) -> None:
    table = f"pg_{next(_SEEN)}"
    _postgres(module_lakehouse, table)
    header = ["c\\d", "é x"]  # a name's backslash escaped too
    data = copy_text(["n", *header], [[str(i), *r] for i, r in enumerate(rows)])
    outcome = run(module_lakehouse, [(table, "x.tsv", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    stored = sorted(_texts(outcome.loaded_rows, ["n", *header]), key=lambda r: int(str(r[0])))
    assert [r[1:] for r in stored] == rows


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.text(alphabet=st.sampled_from([*"\\\\\t\n\rx"]), min_size=1, max_size=12),
)
def test_the_api_and_the_loader_agree_on_backslashes_and_separators(
    module_lakehouse: Settings, end: str, body: str
) -> None:
    """Files of backslashes, TABs, line ends and text after a header: what the API accepts
    (202) the loader loads, and what it refuses the loader refuses in the same words (the
    API's field count once named a record ending the file after an escaped line end "not
    valid CSV", which the loader loaded, as PostgreSQL reads it)."""
    table = f"pge_{next(_SEEN)}"
    _postgres(module_lakehouse, table)
    outcome = run(module_lakehouse, [(table, "x.tsv", ("a\tb" + end + body).encode())])[table]
    if outcome.api_status == 202:
        assert outcome.refused is None, (body, outcome.refused)
    else:
        assert outcome.refused is not None, (body, outcome.api_detail, outcome.loaded_rows)
        assert outcome.api_detail == outcome.refused["reason"], body


def _scan(text: str, header: list[str], end: str, chunk: int) -> pgtext.Refused | None:
    """``pgtext.rows_problem`` of rows ``text`` cut in pieces of about ``chunk`` characters."""
    old = pgtext.CHUNK_CHARS
    pgtext.CHUNK_CHARS = chunk
    try:
        return pgtext.rows_problem(pgtext.chunks(io.StringIO(text, newline="")), 2, header, end)
    finally:
        pgtext.CHUNK_CHARS = old


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.integers(min_value=1, max_value=40),
    st.data(),
    st.integers(min_value=1, max_value=12),
)
def test_the_scan_names_the_line_whatever_its_pieces(
    end: str, lines: int, data: st.DataObject, chunk: int
) -> None:
    """The rows are scanned by pieces (``pgtext.chunks``) ending at a line end: the refused
    field's line is the file's, whatever the line end (LF, CRLF, CR) and where the pieces
    are cut."""
    bad = data.draw(st.integers(min_value=0, max_value=lines - 1))
    rows = [f"{i}\t" + ("x\\xff" if i == bad else "a\\tb") for i in range(lines)]
    found = _scan("".join(row + end for row in rows), ["i", "t"], end, chunk)
    assert found is not None and (found.line, found.column) == (bad + 2, "t"), found


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.lists(st.sampled_from(["1\ta", "1\ta\\tb", "", "\\N\t"]), min_size=1, max_size=30),
    st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=30, max_size=30),
    st.integers(min_value=1, max_value=12),
)
def test_a_line_end_or_an_empty_line_postgresql_refuses_is_named(
    end: str, rows: list[str], ends: list[str], chunk: int
) -> None:
    """PostgreSQL's COPY takes the line end from the first line (the header's here) and refuses
    a CR or LF that is not it, and an empty line of a table of 2 columns: the scan names the
    first such line (its number before it is every reading's), whatever the pieces."""
    pairs = range(1, len(rows))  # a CR, an empty row and a LF: one CRLF
    assume(not any(rows[i] == "" and ends[i - 1] == "\r" and ends[i] == "\n" for i in pairs))
    text = "".join(row + e for row, e in zip(rows, ends, strict=False))
    expected = None
    for index, (row, e) in enumerate(zip(rows, ends, strict=False)):
        if row == "" or e != end:  # an empty line; a line end PostgreSQL refuses
            expected = index + 2 + (row != "" and end == "\r" and e == "\r\n")  # LF: next line
            break
    found = _scan(text, ["i", "t"], end, chunk)
    assert (found.line if found is not None else None) == expected, (text, found)
    if found is not None:
        assert found.column is None and found.reason.startswith(f"line {expected}")


# -- a backslash before a separator: the escape that means the same -----------------------------

_ESCAPE_BY_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)


_LETTER_OF = {b"\t": b"\\t", b"\n": b"\\n", b"\r": b"\\r"}


def reference_split(data: bytes) -> bytes:
    """``data`` read escape by escape as PostgreSQL's COPY FROM pairs a backslash with the
    character after it (copyfromparse.c): a TAB, LF or CR so escaped written as the letter
    escape ``\\t``, ``\\n``, ``\\r``, every other escape as it is."""
    return _ESCAPE_BY_ESCAPE.sub(lambda m: _LETTER_OF.get(m[1], m[0]), data)


class _Trickle(io.RawIOBase):
    """``data`` handed out at most ``most`` bytes a read."""

    def __init__(self, data: bytes, most: int) -> None:
        self._data, self._most = data, most

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: typing.Any) -> int:
        n = min(len(buffer), self._most, len(self._data))
        buffer[:n], self._data = self._data[:n], self._data[n:]
        return n


#: every pair of bytes ``pgtext.unescape_separators`` may stand in for a backslash pair with
_STAND_INS = b"\xff\xfe\xfe\xff\xff\xfd\xfd\xff\xc0\x80\xc1\x81"


@settings(max_examples=1000, deadline=None)
@given(
    st.binary().map(lambda b: b.translate(bytes(b"\\\\\t\nx\xff\r"[i % 7] for i in range(256)))),
    st.integers(min_value=1, max_value=9),
    st.integers(min_value=1, max_value=9),
    st.booleans(),
    st.integers(min_value=0, max_value=4),
)
def test_a_backslash_before_a_separator_is_made_its_escape_whatever_the_reads(
    data: bytes, most: int, buffer: int, stand_ins: bool, keep: int
) -> None:
    """``pgtext.Unescaped`` (pyarrow's stream, both readers') makes each TAB, LF or CR a
    backslash escapes ``\\t``, ``\\n``, ``\\r`` as PostgreSQL pairs the backslashes,
    whatever its reads' sizes (a run of backslashes cut by one held for the next), the first
    ``keep`` lines (LF, CRLF or CR ended) as they are; so do ``unescape_separators`` at once
    (the stand-ins all in the data too: escape by escape) and ``unescape_separators_text``."""
    data = (_STAND_INS if stand_ins else b"") + data
    ends = list(re.finditer(rb"\r\n|\r|\n", data))
    cut = 0 if not keep else ends[keep - 1].end() if len(ends) >= keep else len(data)
    expected = data[:cut] + reference_split(data[cut:])
    stream = pgtext.Unescaped(_Trickle(data, most), keep)
    out = bytearray()
    while chunk := stream.read(buffer):
        out += chunk
    assert bytes(out) == expected
    assert pgtext.unescape_separators(data) == reference_split(data)
    text = data.decode("latin-1")
    assert pgtext.unescape_separators_text(text) == reference_split(data).decode("latin-1")


# -- the escapes read at C speed, as PostgreSQL reads them one by one ----------------------------

_REFERENCE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
_LETTER_BYTES = {"b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t", "v": b"\v"}


def reference_value(raw: str) -> str | type[pgtext.PgTextError] | None:
    """A field read escape by escape as PostgreSQL 15's ``CopyReadAttributesText`` reads it
    (copyfromparse.c: ``\\NNN`` one to three octal digits cut to a byte, ``\\xH`` or ``\\xHH``,
    the six letters, any other ``\\c`` as ``c``), then its bytes as UTF-8 with no NUL; the
    error class where ``pgtext.value`` refuses (a backslash ending the field, ``\\.``, a NUL,
    no UTF-8)."""
    if raw == pgtext.NULL:
        return None
    trailing = len(raw) - len(raw.rstrip("\\"))
    if trailing % 2:
        return pgtext.PgTextError
    out = bytearray()
    at = 0
    for found in _REFERENCE.finditer(raw):
        out += raw[at : found.start()].encode()
        octal, hexa, other = found.groups()
        if octal is not None:
            out.append(int(octal, 8) & 0xFF)
        elif hexa is not None:
            out.append(int(hexa, 16))
        elif other == ".":
            return pgtext.PgTextError
        else:
            out += _LETTER_BYTES.get(other) or other.encode()
        at = found.end()
    out += raw[at:].encode()
    if 0 in out:
        return pgtext.PgTextError
    try:
        return out.decode()
    except UnicodeDecodeError:
        return pgtext.PgTextError


def _ours(raw: str) -> str | type[pgtext.PgTextError] | None:
    try:
        return pgtext.value(raw)
    except pgtext.PgTextError:
        return pgtext.PgTextError


#: escapes of every kind packed together: octal past 0o377, hex of one digit then a character
#: an escape makes a hex digit (``\\x4\\a``: the byte 4 then a), pairs, the stand-ins
DENSE = st.text(
    alphabet=st.sampled_from([*"\\\\\\x03478aFgN.éb'", "\t", "\x00", "\ue000", "\ue010", "😀"]),
    max_size=12,
)


@settings(max_examples=1000, deadline=None)
@given(DENSE)
def test_a_field_reads_as_escape_by_escape(raw: str) -> None:
    """``pgtext.value`` (Python's bytes escapes read at C speed, the escapes PostgreSQL reads
    otherwise made theirs first) reads any field as PostgreSQL's reading escape by escape."""
    assert _ours(raw) == reference_value(raw)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        DENSE.map(lambda f: f.replace("\t", "")).filter(
            lambda f: (len(f) - len(f.rstrip("\\"))) % 2 == 0  # no escaped line end
        ),
        min_size=1,
        max_size=8,
    )
)
def test_lines_are_refused_as_their_fields(fields: list[str]) -> None:
    """The scan (``pgtext.rows_problem``: a piece of many lines read at once) refuses the first
    line one of whose fields ``reference_value`` refuses, naming it (a field ending in a
    backslash escaping the line end goes on to the next line: the line end tests)."""
    rows = [f"{i}\t{f}" for i, f in enumerate(fields)]
    found = pgtext.rows_problem(["".join(r + "\n" for r in rows)], 2, ["i", "t"], "\n")
    bad = [i for i, f in enumerate(fields) if reference_value(f) is pgtext.PgTextError]
    assert (found.line if found is not None else None) == (bad[0] + 2 if bad else None)


def test_a_column_dense_in_escapes_is_read_without_python_per_escape() -> None:
    """20,000 octal and hex escapes (a writer escaping every byte past ASCII) are read by
    ``pgtext.values`` and the scan with a bounded number of Python calls, not one or more per
    escape or field (session 17's: ~0.7 s per MB per side; ``bench/pgtext_escapes.py``)."""
    fields = ["\\303\\251\\xe2\\x82\\xac\\t\\\\" + str(i) for i in range(4_000)]
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        calls += event == "call"

    column = pa.array(fields, pa.string())
    text = "".join(f"{i}\t{f}\n" for i, f in enumerate(fields))
    sys.setprofile(count)
    try:
        read = pgtext.values(column)
        found = pgtext.rows_problem([text], 2, ["i", "t"], "\n")
    finally:
        sys.setprofile(None)
    assert found is None
    assert read.to_pylist() == [f"é€\t\\{i}" for i in range(4_000)]
    assert calls < 100, calls


@pytest.mark.parametrize(
    ("records", "refused_line"),
    [
        ([b"1\taaaaaaaa\\\nbbbbbbbb"], None),  # 20 bytes over two lines: at the bound
        ([b"1\taaaaaaaa\\\nbbbbbbbbb"], 2),  # 21 bytes, each line under it
        ([b"1\taaaaaaaa\\\nbbbbbbbbbbbbbbb"], 2),  # 27 bytes, each line under it
        ([b"1\taaa\\\nbbb\\\ncccccccc"], None),  # three lines: 20 bytes
        ([b"1\taaa\\\nbbb\\\nccccccccc"], 2),  # 21 bytes
        ([b"1\tx", b"2\taaaaaaaa\\\nbbbbbbbbb"], 3),  # the record opening on line 3
        ([b"1\taaaaaaaaaaaaaaaaaa"], None),  # one line of 20 bytes
        ([b"1\taaaaaaaaaaaaaaaaaaa"], 2),  # one line of 21
    ],
    ids=[
        "two_at",
        "two_past",
        "lines_under",
        "three_at",
        "three_past",
        "line3",
        "one_at",
        "one_past",
    ],
)
def test_a_record_over_escaped_line_ends_is_bounded_whole_alike(
    tmp_path: typing.Any, records: list[bytes], refused_line: int | None
) -> None:
    """Under PostgreSQL's text format a record going on past an escaped line end is bounded by
    ``max_csv_record_bytes`` whole, its lines and the escaped line ends between them counted
    together, its last line end not (as a quoted CSV record is): the API and the loader take a
    record of exactly the bound, and both refuse one byte more in one set of words naming the
    line it opens on, however short each of its lines is."""
    settings = lakehouse(tmp_path, max_csv_record_bytes=20)
    _postgres(settings, "b")
    outcome = run(settings, [("b", "b.tsv", b"id\tt\n" + b"".join(r + b"\n" for r in records))])[
        "b"
    ]
    if refused_line is None:
        assert outcome.api_status == 202, outcome.api_detail
        assert outcome.refused is None, outcome.refused
        assert len(outcome.loaded_rows or []) == len(records)
        return
    reason = (
        f"line {refused_line} opens a CSV record larger than the limit of 20 bytes"
        " (max_csv_record_bytes)"
    )
    assert outcome.api_status == 413 and outcome.api_detail == reason
    assert outcome.refused is not None and outcome.refused["kind"] == "too_large"
    assert outcome.refused["reason"] == reason
