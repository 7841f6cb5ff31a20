"""The landing dialect: how a landing file's bytes become bronze values, losslessly.

One rule for the ingest API (which refuses with a 4xx what the loader would refuse) and the
loader (which reads by it). Pure Python, no database: the loader states the same tests as
vectorized SQL, and ``tests/loader/test_dialect.py`` holds the two to the same answers.

The rule (``docs/loading.md`` says why each choice):

**Text.** CSV/TSV are UTF-8 (a leading byte-order mark is dropped) or UTF-16 with a BOM (read as
UTF-16); anything else is refused as "not UTF-8 at byte N", N being the first byte that is not,
before any other problem of the file (names, quotes, field counts, a header too long): one order
of checks, the API's and the loader's.
JSON is UTF-8 (one leading BOM is dropped; a second is no JSON: :func:`second_bom`).

**CSV records.** Quote ``"``, escape ``""`` (RFC 4180); a record ends at LF, CRLF or CR; a quoted
field keeps its newlines exactly; a quote inside an unquoted field is a character, text after a
closing quote or a quote never closed refuses the file. There is no comment character and no
line is skipped: the header is line 1 (a table may declare ``skip_lines: N`` to drop exactly N
lines first), and ends within :data:`MAX_HEADER_BYTES`. Every record has the header's field
count, or the file is refused naming the line (a blank line is no record; in a one-column file
it is a null). A field or record may be of
any length (:data:`MAX_FIELD_CHARS`).

**Delimiter.** ``.tsv``: tab. ``.csv``: whichever of ``,`` ``;`` ``|`` TAB occurs most often in
the header record outside quoted fields (read with each of them ending a field: a quote opens a
quoted field at the line's start or right after one); ``,`` when none does
(:func:`csv_header`). When two or more occur in it, the delimiter is the one of them reading
every record with the header's field count; two doing so refuse the file (the rows cannot tell
either); none doing so, the most frequent is read and a record it breaks refuses the file
(:func:`settle_delimiter`). Declared (Excel's ``sep=`` line, the
table's ``meta: {delimiter: ...}``), it is the only one read. A rule, never a sniffer: the same
bytes always give the same reading.

**Nulls.** In CSV only an unquoted empty field is null; a quoted empty field (``""``) is the
empty string; ``NA``, ``NULL``, ``N/A``, ``null``, ``None`` are text. In JSON, ``null`` is null.
Whitespace is data: ``' 2'`` is the text `` 2``.

**Names** are kept exactly (spaces, case, punctuation) or the file is refused, never renamed
(:func:`check_names`): a name that is blank, holds a control character, repeats another name
case-insensitively (Delta and DuckDB compare names without case), or is one of bronze's own
columns (:data:`RESERVED_COLUMNS`) is refused; so is a file of more than :data:`MAX_COLUMNS`
columns.

**Types.** A value is stored typed only when the type holds it exactly (:func:`fits`); its
canonical text (:data:`CANONICAL`) is how a file spells it:

======================  ==========================================================================
type                    a text fits when
======================  ==========================================================================
BIGINT (and narrower)   ``0|-?[1-9][0-9]*`` within the type's range (no ``+``, leading zero, ``_``,
                        hex, exponent, ``-0``)
DOUBLE                  ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?`` (no ``-0``) and the number equals its
                        float64 exactly as shortest text (``0.1`` fits, ``0.1234567890123456789``
                        does not); ``8`` and ``8.0`` are one number
FLOAT                   the same, at most 6 significant digits and an exponent within -37..37
                        (or zero): below float32's normal range it keeps fewer digits
DECIMAL(p, s)           the same form, at most ``s`` decimals and ``p - s`` integer digits
BOOLEAN                 ``true`` or ``false``
DATE                    ``YYYY-MM-DD``, a real date
TIMESTAMP               ``YYYY-MM-DD[ T]HH:MM:SS[.f{1,6}]`` (no offset; read as UTC)
TIMESTAMP_MS/_S         the same, at most 3 / 0 decimals once zeros ending the fraction are set
                        aside (declared only: ``timestamp(3)``, ``timestamp(0)``)
TIMESTAMPTZ             the same, or with ``Z`` / ``±HH:MM`` / ``±HH`` (declared only: an
                        instant, from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)
VARCHAR                 any text
======================  ==========================================================================

**Inference.** (Setting ``infer_types``, default on; a table's ``meta: {infer_types: false}``
keeps its undeclared columns as text.) A column with no type yet takes the first type of
:data:`INFERENCE_ORDER` that *every* value of the file fits: BOOLEAN, BIGINT, DOUBLE,
DECIMAL(38, s) (s = the most decimals seen), DATE, TIMESTAMP, else VARCHAR (:func:`infer`).
A column without any value is VARCHAR. Times of day, other date orders, offsets, ``+1``,
``1e3``, ``.5``, ``0x1F``, ``1_000`` stay text.

**JSON.** Each value has a *text as written*: a string its characters (never JSON-quoted), a
number its literal (``99999999999999999999`` keeps every digit), ``true``/``false``, and an
array its compact JSON text. A key holding only strings is VARCHAR (never guessed into a date or
number); only numbers: the number rule above (integers BIGINT, beyond int64 DECIMAL(38, 0),
beyond that text); only booleans: BOOLEAN; only objects: a STRUCT whose fields follow this same
rule (a field without a value is VARCHAR; no keys: JSON text); arrays, or a mix of kinds:
VARCHAR of each value's text (:func:`json_column_type`). A key may be missing from some objects
(null there); keys of all objects make the columns. A JSON string fits only text, date and
timestamp columns; a number only number or text columns. A column declared ``json`` holds
JSON text: a JSON value's JSON text as read (a string with its quotes), a CSV field or a
Parquet string as the text itself, which must be one JSON value (:func:`json_value`).

**Declared types win.** A column declared in the table's contract (``data_type`` in the dbt
``bronze`` source) is read with that type; a column the table already has keeps its type. A
value that does not fit is a *mismatch* (never widened, rounded or cut); the table's
``on_mismatch`` says what happens (:data:`MismatchPolicy`): ``rescue`` (default) stores null in
the column and the value's text under its column name in the row's ``_rescued_data`` (a JSON
object; Parquet bytes that are not UTF-8, having no text, as ``{"base64": ...}``), ``quarantine``
refuses the file naming line, column and value.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import functools
import io
import itertools
import json
import math
import re
import signal
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, Literal, NamedTuple

#: Columns bronze adds to every row; a file may not bring them (compared case-insensitively).
INGESTED_AT = "_ingested_at"
BATCH_ID_COLUMN = "_batch_id"
SOURCE_FILE = "_source_file"
RESCUED_DATA = "_rescued_data"
RESERVED_COLUMNS = (INGESTED_AT, BATCH_ID_COLUMN, SOURCE_FILE, RESCUED_DATA)

#: The most columns one file (or one record) may bring.
#: Why records of only empty objects (``{}``) are refused, by the API (422) and the loader
#: (``empty``) alike: no key, no column.
NO_KEYS = "the records hold no keys (only empty objects): bronze has no column to store"

MAX_COLUMNS = 4096

#: Why a JSON or NDJSON file of nothing but whitespace (a byte-order mark before it or not) is
#: refused, by the API (422) and the loader (``empty``) alike.
NO_RECORDS = "the file holds no records"

#: Why a ``.json`` file holding ``[]`` and nothing else but JSON whitespace (however much of
#: it, before, inside or after the array) is refused, by the API (422) and the loader
#: (``empty``) alike, whatever the file's size.
EMPTY_JSON_ARRAY = "the file is an empty JSON array"

#: Why a JSON record that is not an object (``5``, ``"x"``, ``null``, ``[]``; an NDJSON line or
#: a ``.json`` file's array element or top-level value) is refused: the API's 422 names it by
#: its row (``type`` ``not_object``), the loader (``unparseable``) as ``line N: `` (NDJSON,
#: the file's line) or ``record N: `` (``.json``, from 1) before these words.
NOT_OBJECT = "a record must be a JSON object"


def repeated_key(key: str) -> str:
    """Why a JSON object repeating ``key`` (at any depth) is refused: the API's 422 names its
    row and column, the loader (``unparseable``) ``line N: `` or ``record N: `` before it."""
    return f"an object repeats the key {key!r}"


def malformed_json(why: str, where: str | None = None) -> str:
    """Why a JSON text does not parse, by the API (400) and the loader (``unparseable``) alike:
    msgspec's words (``why``), at ``where`` when told (``line N`` of NDJSON, ``record N`` of a
    ``.json``, from 1)."""
    return f"malformed JSON ({where}): {why}" if where else f"malformed JSON: {why}"


def blank_header(line: int) -> str:
    """Why a CSV/TSV file whose header line (``line``, from 1) is blank is refused, by the API
    (422) and the loader (``empty``) alike."""
    return f"the file has no header line: line {line}, the header, is blank"


def header_past_end(line: int, lines: int, skip: int) -> str:
    """Why a CSV/TSV file that ends before its header line (``line``, from 1: the table's
    ``skip_lines``, ``skip``, pass the file's ``lines`` lines) is refused, by the API (422) and
    the loader (``empty``) alike: no blank line is named that the file does not hold."""
    return (
        f"the file has no header line: it ends at line {lines}, before line {line}, the header"
        f" (the table's skip_lines: {skip})"
    )


def field_count(line: int, fields: int, width: int, delimiter: str) -> str:
    """Why a CSV/TSV file is refused whose record on ``line`` (from 1, where it starts) holds
    ``fields`` fields and the header ``width``, read with ``delimiter``: by the API (400) and
    the loader (``column_count``) alike."""
    return (
        f"line {line} has {fields} field{'s' * (fields != 1)}, the header has {width}"
        f" (delimiter {delimiter!r})"
    )


#: What happens to a value that does not fit its column's type.
MismatchPolicy = Literal["rescue", "quarantine"]
MISMATCH_POLICIES: tuple[MismatchPolicy, ...] = ("rescue", "quarantine")

#: The deepest a JSON record may nest (objects and arrays, the record itself level 1): deeper,
#: the file (the body) is refused. Well below what a recursive parser (Python's ``json``,
#: msgspec: about 1,000 less the stack in use) reaches, so the API and the loader find one
#: answer, whatever their stacks hold.
MAX_JSON_DEPTH = 512
#: The deepest a bronze column's type may nest (each struct and list one level, a map two: its
#: entries' struct): a JSON object or Parquet value deeper is kept as its JSON text. Delta's
#: schema reader (serde_json's recursion limit) refuses a struct 42 levels deep, and Arrow's
#: schema import (64 levels) a list of 60 or a map of 38: written, the table could not be read.
MAX_TYPE_DEPTH = 20

#: msgspec's words for text after a whole JSON value
_TRAILING = re.compile(r"JSON is malformed: trailing characters \(byte (\d+)\)")


_JSON_BYTE = re.compile(r"\(byte (\d+)\)$")


def json_byte_shifted(error: str, offset: int) -> str:
    """msgspec's ``error`` for a JSON value that starts at ``offset`` of a ``.json`` file's
    text, naming the byte of the text, not of the value (``invalid character (byte 5)`` of the
    second record at byte 9: ``(byte 14)``): one numbering for the API and the loader."""
    found = _JSON_BYTE.search(error)
    if found is None:
        return error
    return f"{error[: found.start()]}(byte {offset + int(found[1])})"


#: Why a JSON text escaping half a UTF-16 surrogate pair is refused: the API's and the loader's
#: words (msgspec says "Input data was truncated" or "unexpected end of hex escape", untrue)
LONE_SURROGATE = (
    "a string escapes a lone UTF-16 surrogate ({escape} without the other half of its pair),"
    " which is no character"
)
#: msgspec's words when it meets a lone surrogate's escape (what follows the escape decides)
_SURROGATE_ERRORS = re.compile(
    r"Input data was truncated|JSON is malformed: (unexpected end of hex escape"
    r"|unexpected end of escaped utf-16 surrogate pair|invalid utf-16 surrogate pair)"
    r" \(byte \d+\)"
)
#: a ``\u`` escape of a surrogate, its backslash then checked to be no escaped one (a
#: lookbehind made the search ~80 times slower)
_SURROGATE_ESCAPE_AT = re.compile(rb"\\u([dD][89a-fA-F][0-9a-fA-F]{2})")
_LOW_ESCAPE = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_LOW_ESCAPE_START = re.compile(rb"(?:\\(?:u(?:[dD](?:[c-fC-F][0-9a-fA-F]{0,2})?)?)?)?")


def lone_surrogate_escape(text: bytes | memoryview, *, whole: bool = True) -> str | None:
    """The first ``\\u`` escape of a lone UTF-16 surrogate in JSON ``text`` (a high half not
    followed by a low half's escape, a low half without a high one before it), as written, or
    None. ``whole`` False: the text may be cut, so a high half at its very end (its pair may
    follow) is no lone one."""
    pos = 0
    while (found := _SURROGATE_ESCAPE_AT.search(text, pos)) is not None:
        before = found.start()
        while before > 0 and text[before - 1] == 0x5C:  # backslashes before it
            before -= 1
        if (found.start() - before) % 2:  # its backslash is escaped: text, no escape
            pos = found.start() + 1
            continue
        escape = found[0].decode("ascii")
        if found[1][1:2] in b"cdefCDEF":  # a low half with no high one before it
            return escape
        after = text[found.end() : found.end() + 6]
        if _LOW_ESCAPE.fullmatch(after):  # a pair
            pos = found.end() + 6
            continue
        if not whole and len(after) < 6 and _LOW_ESCAPE_START.fullmatch(after):
            return None  # cut where the pair's other half may follow
        return escape
    return None


def lone_surrogate_reason(
    error: str, text: bytes | memoryview, *, whole: bool = True
) -> str | None:
    """The refusal's words when msgspec's ``error`` for JSON ``text`` is its meeting a lone
    surrogate's escape (:data:`LONE_SURROGATE`), else None."""
    if _SURROGATE_ERRORS.fullmatch(error) is None:
        return None
    escape = lone_surrogate_escape(text, whole=whole)
    return None if escape is None else LONE_SURROGATE.format(escape=escape)


def json_value_end(error: str) -> int | None:
    """Where a text's first JSON value ends (the offset of the first byte after it), from
    msgspec's error for a text holding more after that value ("trailing characters (byte N)":
    msgspec names the byte after the first trailing one); None for any other error."""
    found = _TRAILING.fullmatch(error)
    return None if found is None else int(found[1]) - 1


_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(text: bytes) -> int:
    """How deep the JSON text nests (0 for a scalar, 1 for ``{}`` or ``[1]``): brackets and
    braces outside strings. No recursion: any depth is counted."""
    openers = text.count(b"[") + text.count(b"{")
    if openers <= 1:
        return openers
    depth = deepest = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match[0][:1]
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


#: A JSON text's strings, brackets, braces and commas (outside strings)
_JSON_WALK = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},]')


class TooDeep(NamedTuple):
    """Where a JSON text nests too deep: its record (0-based: of a ``.json`` array's elements;
    0 for a record alone; None: past the array's end), the record's top-level key the nesting
    is under (None: the record is no object), how deep that record nests (the record level
    1), and whether the record closes within the text (False: the text ends inside it)."""

    record: int | None
    key: str | None
    depth: int
    limit: int = MAX_JSON_DEPTH
    closed: bool = True

    def reason(self) -> str:
        """The API's and the loader's words (each names the record its own way before them)."""
        column = "" if self.key is None else f"column {self.key!r}: "
        return (
            f"{column}nested {self.depth} levels deep; JSON records may nest at most"
            f" {self.limit} levels"
        )


class _DeepWalk:
    """One walk over a JSON text's tokens (:data:`_JSON_WALK`) for :func:`too_deep_at`: the
    first record nested deeper than ``limit``, the key it is under, its depth."""

    def __init__(self, base: int, limit: int) -> None:
        self.base, self.limit = base, limit  # base: the level a record opens from
        self.depth = self.record = self.deepest = 0
        self.found: int | None = None  # the record found too deep
        self.key: str | None = None
        self.last: bytes | None = None  # the last string at the record's own level
        self.is_object = False

    def token(self, token: bytes) -> bool:
        """Take the next token; True once the record found too deep is whole."""
        first, level = token[:1], self.depth - self.base
        if first == b'"':
            if level == 1:  # a key, if a value follows it
                self.last = token
        elif first in (b"[", b"{"):
            self.opened(first == b"{")
        elif first in (b"]", b"}"):
            self.depth -= 1
            return self.found is not None and level <= 1
        elif level == 0:  # a comma between records
            self.record += 1
        return False

    def opened(self, brace: bool) -> None:
        self.depth += 1
        level = self.depth - self.base
        if level == 1:  # a record opens
            self.is_object, self.last = brace, None
        elif level == 2 and self.found is None:  # a top-level value opens: under its key
            self.key = _key(self.last) if self.is_object else None
        if self.found is None and level > self.limit:
            self.found = self.record
        if self.found is not None:
            self.deepest = max(self.deepest, level)


def too_deep_at(text: bytes, limit: int = MAX_JSON_DEPTH, *, array: bool = False) -> TooDeep | None:
    """The first record of a JSON text (a record, or ``array``: a ``.json`` array of records,
    whose own level is no record's) nested deeper than ``limit``, or None. Cheap for most: a
    text with no more than ``limit`` brackets and braces is not scanned, and one not nested so
    deep is scanned once, as :func:`json_depth` does (no key or record looked for)."""
    if text.count(b"[") + text.count(b"{") <= limit:
        return None
    array = array and text.lstrip(b" \t\r\n")[:1] == b"["
    if json_depth(text) - array <= limit:
        return None
    walk = _DeepWalk(int(array), limit)
    closed = False
    for match in _JSON_WALK.finditer(text):
        if walk.token(match[0]):
            closed = True
            break
    if walk.found is None:  # text after the array's end: too deep, in no record of it
        return TooDeep(None, None, json_depth(text) - array, limit)
    return TooDeep(walk.found, walk.key, walk.deepest, limit, closed)


def _key(token: bytes | None) -> str | None:
    if token is None:
        return None
    try:
        return str(json.loads(token))
    except ValueError:  # a lone surrogate's escape, bytes not UTF-8: as written
        return token[1:-1].decode("utf-8", "replace")


#: :meth:`TooDeep.reason`'s words
_TOO_DEEP = re.compile(
    r"(column '.*': )?nested \d+ levels deep; JSON records may nest at most \d+ levels", re.S
)


def is_too_deep_reason(reason: str) -> bool:
    """Whether ``reason`` is :meth:`TooDeep.reason`'s: a record nested too deep, which is well
    formed JSON (the API's 400 says it without "malformed JSON", as the loader does)."""
    return _TOO_DEEP.fullmatch(reason) is not None


def placed(where: str, why: str) -> str:
    """``why`` a record is refused after its place (``where``: ``line N`` of NDJSON, ``record
    N`` of a ``.json``), as the API and the loader say it: ``record 2, column 'c': ...`` for a
    reason naming its column, ``line 3: ...`` otherwise."""
    return f"{where}, {why}" if why.startswith("column ") else f"{where}: {why}"


def too_deep(text: bytes, limit: int = MAX_JSON_DEPTH, *, array: bool = False) -> str | None:
    """Why a JSON text (a record, or ``array``: a ``.json`` array of records, whose own level is
    no record's) is refused for its nesting (None: it is not too deep), naming the record's
    top-level key (:func:`too_deep_at`)."""
    found = too_deep_at(text, limit, array=array)
    return None if found is None else found.reason()


# -- text ---------------------------------------------------------------------------------------

BOM_UTF8 = b"\xef\xbb\xbf"
BOM_UTF16 = (b"\xff\xfe", b"\xfe\xff")
#: JSON's whitespace (RFC 8259): space, tab, LF, CR; a vertical tab or form feed is none
#: (``bytes.strip`` strips those too).
JSON_BLANK = b" \t\n\r"


def second_bom(head: bytes) -> str | None:
    """Why a JSON text opening with ``head`` is refused for a doubled byte-order mark, or None.

    One UTF-8 byte-order mark opening a JSON file (or body) is dropped: it is no data. A second
    one right after it is a U+FEFF before the JSON text, which is no JSON; the API and the loader
    both refuse it, in these words (DuckDB alone would skip it, after the loader dropped the
    first)."""
    if not head.startswith(BOM_UTF8 * 2):
        return None
    return (
        "a second byte-order mark (U+FEFF) at byte 3, before the JSON text: the one opening the"
        " file is dropped, another is not JSON"
    )


#: A JSON array cut short (the API's and the loader's words)
JSON_ARRAY_CUT = "the JSON array does not end with ']' (truncated?)"


def json_after_array(after: bytes) -> str:
    """Why a ``.json`` text holding text after its array's closing ``]`` is refused (``after``:
    that text, from its first character; its first 16 bytes are shown). The API and the loader
    say it alike; the array itself is whole, so "truncated" would be untrue."""
    shown = after[:16].decode("utf-8", errors="replace")
    return f"JSON is malformed: text after the array's closing ']': {shown!r}"


def text_encoding(head: bytes) -> Literal["utf-8", "utf-16"]:
    """How a CSV whose (decompressed) content starts with ``head`` is decoded."""
    return "utf-16" if head[:2] in BOM_UTF16 else "utf-8"


BOM_UTF32 = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")


def encoding_problem(head: bytes) -> str | None:
    """Why a CSV whose (decompressed) content starts with ``head`` (8 bytes or more when the
    file has them) is in an encoding bronze does not read, or None: UTF-32 (its byte-order
    mark starts with UTF-16 LE's), or what looks like UTF-16 without a byte-order mark (each of
    the first characters a byte and a NUL). Said so, not as the NUL bytes the text would hold."""
    wanted = "a CSV is UTF-8, or UTF-16 with a byte-order mark"
    if head[:4] in BOM_UTF32:
        return f"UTF-32 (it starts with a UTF-32 byte-order mark): {wanted}"
    if head[:2] in BOM_UTF16 or head.startswith(BOM_UTF8):
        return None
    pairs = [head[i : i + 2] for i in range(0, min(len(head), 8) - 1, 2)]
    if len(pairs) >= 2 and (
        all(p[0] and not p[1] for p in pairs) or all(not p[0] and p[1] for p in pairs)
    ):
        return (
            "it looks like UTF-16 without a byte-order mark (a NUL byte beside each of its first"
            f" characters): {wanted}"
        )
    return None


def first_non_utf8(data: bytes, *, final: bool = True) -> int | None:
    """The offset of the first byte of ``data`` that is not UTF-8, or None.

    ``final=False`` for a block cut from a stream: a sequence cut at the end is not an error.
    """
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        if not final and exc.reason == "unexpected end of data":
            return None
        return int(exc.start)


#: :func:`not_utf8_reason`'s words
_NOT_UTF8 = re.compile(
    r"not UTF-8 at byte \d+ \((JSON is read as UTF-8 only|nor UTF-16 with a byte-order mark)\)"
)


def is_not_utf8_reason(reason: str) -> bool:
    """Whether ``reason`` is :func:`not_utf8_reason`'s: an encoding refusal, no malformed text
    (the API's 400 says it bare, as the loader's ``encoding`` does)."""
    return _NOT_UTF8.fullmatch(reason) is not None


def not_utf8_reason(offset: int, *, json: bool = False) -> str:
    """Why a file is refused for its byte at ``offset``: CSV and TSV are read as UTF-8, or as
    UTF-16 with a byte-order mark; JSON and NDJSON as UTF-8 only (a JSON file in UTF-16 with a
    mark is refused at byte 0, and the words must not say it would be taken)."""
    if json:
        return f"not UTF-8 at byte {offset} (JSON is read as UTF-8 only)"
    return f"not UTF-8 at byte {offset} (nor UTF-16 with a byte-order mark)"


def first_undecodable(blocks: Iterable[bytes], encoding: str) -> int | None:
    """Where a text stops being ``encoding`` (``utf-8``; ``utf-16``, opening with its
    byte-order mark): the offset (from the text's start, a mark included) of the first byte of a
    character that does not decode (a lone surrogate, a stray continuation byte), or of the
    character the text ends in the middle of (an odd byte, half a pair, a cut sequence); None
    when all of it decodes."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    for block in blocks:
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            return offset + exc.start - len(decoder.getstate()[0])
        offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset - len(decoder.getstate()[0])
    return None


def not_utf16_reason(offset: int) -> str:
    """Why a CSV opening with a UTF-16 byte-order mark is refused for the byte at ``offset``
    (:func:`first_undecodable`): the API's and the loader's words."""
    return f"not UTF-16 at byte {offset} (the file starts with a UTF-16 byte-order mark)"


# -- CSV ----------------------------------------------------------------------------------------

QUOTE = '"'
DELIMITERS = (",", ";", "|", "\t")
#: How a table's ``.tsv`` files quote (its ``meta: {tsv_quoting: ...}``): ``csv`` as a CSV does
#: (Excel's "Text (Tab delimited)"), ``none`` not at all (IANA's text/tab-separated-values,
#: MySQL's ``INTO OUTFILE``): a quote is a character, a record ends at every line end, a
#: backslash escape (``\t``, ``\N``) is text as written; ``postgres`` as ``none``, then each
#: field read as PostgreSQL's ``COPY ... (FORMAT text)`` writes it: ``\N`` null, an empty field
#: the empty string, its backslash escapes read (``lakehouse.pgtext``).
TsvQuoting = Literal["csv", "none", "postgres"]
TSV_QUOTINGS: tuple[TsvQuoting, ...] = ("csv", "none", "postgres")


def quoted_tsv(quoting: str) -> bool:
    """Whether a file read under ``quoting`` (``csv``, ``ask``, or a ``.tsv``'s
    :data:`TsvQuoting`) quotes as RFC 4180 has it (``none`` and ``postgres`` do not quote)."""
    return quoting not in ("none", "postgres")


def reader_quoting(quoted: bool = True, escaped: bool = False) -> dict[str, Any]:
    """``csv.reader``'s options of the dialect's quoting: RFC 4180's, or none at all (a
    ``.tsv`` under ``tsv_quoting: none``). ``escaped``: a backslash escapes the character
    after it (PostgreSQL's text format, ``tsv_quoting: postgres``: a TAB or a line end so is
    in the field), for counting records and fields alone (the reader drops the backslash,
    which is no escape of PostgreSQL's reading: ``lakehouse.pgtext`` reads the values)."""
    if quoted:
        return {"quotechar": QUOTE, "doublequote": True}
    if escaped:
        return {"quoting": csv.QUOTE_NONE, "escapechar": "\\"}
    return {"quoting": csv.QUOTE_NONE}


_TSV_OPENING = re.compile(r'(?:^|\t)"')


def tsv_open_quote(
    lines: Iterable[str], before: int = 0, limit: int | None = None
) -> tuple[int, str] | None:
    """The first field of a ``.tsv`` (``lines`` read with ``newline=""``, after ``before``
    lines of the file) that opens with a quote, at a line's start or after a TAB, as (its line,
    why the file is refused), or None. Such a field means two things: a quoted field, as a CSV
    quotes (Excel's "Text (Tab delimited)": ``"a""b"`` is ``a"b``), or the text itself (IANA's
    text/tab-separated-values has no quoting; PostgreSQL's ``COPY ... (FORMAT text)`` and
    MySQL's ``SELECT ... INTO OUTFILE`` write ``"quoted"`` as it is): the table's
    ``meta: {tsv_quoting: csv|none|postgres}`` says which. A file with no such field reads the same
    either way. The API's (400) and the loader's (``unparseable``) words. ``limit``: a line
    (a record, no field being quoted) past it raises :class:`CsvRecordTooLarge` (``lines`` a
    text read with ``newline=""``, :class:`BoundedLines`) before it is held whole."""
    bounded = BoundedLines(lines, limit, before) if limit is not None else None  # type: ignore[arg-type]
    done = bounded.done if bounded is not None else [0]  # (``bounded.ended``, without a call)
    for number, line in enumerate(bounded if bounded is not None else lines, start=before + 1):
        done[0] = number - before  # a line is a record
        if '"' not in line:  # most lines: no search
            continue
        found = _TSV_OPENING.search(line)
        if found is None:
            continue
        start = found.end() - 1
        field = line.count("\t", 0, start) + 1
        value = re.split(r"[\t\r\n]", line[start:], maxsplit=1)[0]
        return number, (
            f"line {number}, field {field} opens with a quote ({shown_name(value, 40)}): in a"
            " .tsv that is a quoted field as a CSV quotes it (Excel's Text (Tab delimited)) or"
            " the text itself (text/tab-separated-values, PostgreSQL's COPY ... (FORMAT text),"
            " MySQL's INTO OUTFILE), so which one the file means is unclear: the table's meta"
            " says it, tsv_quoting: csv, tsv_quoting: none or tsv_quoting: postgres (PostgreSQL's"
            " text format, its escapes and \\N read)"
        )
    return None


#: The longest CSV field, in characters: none short of Arrow's 2 GiB for one value. Python's csv
#: module (the API's and the loader's strict readers) refuses a field past 131,072 characters
#: by default, process-wide: a valid file must not be refused for it.
MAX_FIELD_CHARS = 2**31 - 1
csv.field_size_limit(MAX_FIELD_CHARS)

#: The most bytes of one CSV or TSV record by default (``max_csv_record_bytes``): a record is
#: the UTF-8 text from its first line's start to its last line's end, that line end not
#: counted (the line ends inside its quoted fields counted). Every reader of a record holds it
#: several times over (Python's csv module four bytes a character, pyarrow a block of twice
#: its size and more, Delta's writer its pages): a 100 MB record took the API's check to
#: 600 MiB and the loader to 1.5 GiB (session 18).
MAX_CSV_RECORD_BYTES = 16 * 1024**2


def csv_record_too_large(line: int, limit: int) -> str:
    """Why a CSV or TSV file is refused: its record opening on ``line`` holds more than
    ``limit`` bytes. The API's 413 and the loader's ``too_large`` say it so."""
    return (
        f"line {line} opens a CSV record larger than the limit of {limit} bytes"
        " (max_csv_record_bytes)"
    )


class CsvRecordTooLarge(ValueError):
    """A CSV record past the bound, opening on ``line`` (from 1)."""

    def __init__(self, line: int, limit: int) -> None:
        super().__init__(csv_record_too_large(line, limit))
        self.line = line


#: The characters :meth:`str.splitlines` ends a line at and a text read with ``newline=""``
#: does not (CSV's line ends are LF, CR and CRLF alone): ASCII ones, and the rest.
_SPLITLINES_ONLY = ("\v", "\f", "\x1c", "\x1d", "\x1e")
_SPLITLINES_ONLY_WIDE = ("\x85", "\u2028", "\u2029")


class BoundedLines:
    """The lines of a CSV text (read with ``newline=""``, after ``before`` lines of the file)
    for :func:`csv.reader`, ``first`` (lines already read, not counted) before them:
    :class:`CsvRecordTooLarge` as soon as the record being read passes ``limit`` bytes of UTF-8,
    before it is held whole. The reader is given by :meth:`follow`, and its caller calls
    :meth:`ended` after each record (a blank line's too), or sets :attr:`done` itself.

    The text is read by chunks of characters split into lines in C (a Python step a line cost
    the API's structure pass twice its time): a record within a chunk is at most four times
    its characters, under the bound; the bytes of a record running past a chunk's end are
    counted a line at a time, exactly, until it ends. A chunk's lines are handed to the reader
    as one list (:func:`itertools.chain`, no Python step a line), split by
    :meth:`str.splitlines` where the chunk holds no line end but LF, CR and CRLF (else as
    ``newline=""`` splits it), and a record's bytes are counted only when it runs past a
    chunk's end. ``most``: the text's UTF-8 bytes at most (a file's size, when known): when no
    more than ``limit``, no record can pass it, and the text's own lines are handed on."""

    def __init__(
        self,
        text: IO[str],
        limit: int,
        before: int = 0,
        first: Sequence[str] = (),
        most: int | None = None,
    ) -> None:
        self._text = text
        self.limit = limit
        self._before = before
        self._first = list(first)
        self._chunk = max(1, min(1 << 20, limit // 8))  # characters: 4 bytes each at most
        self._reader: Any = None
        #: the reader's lines when its last record ended, as ``[lines]``: a hot loop may set
        #: ``done[0] = reader.line_num`` after each record in place of calling :meth:`ended`
        self.done = [0]
        self._lines: Iterator[str]
        if most is not None and most <= limit:  # no record can be longer than the whole text
            self._lines = itertools.chain(self._first, text)
        else:
            self._lines = itertools.chain.from_iterable(self._generate())

    def follow(self, reader: Any) -> None:
        self._reader = reader

    def ended(self, lines: int | None = None) -> None:
        """A record ended: the reader's ``line_num`` (``lines``: the lines read of this, when
        they are read without a reader, each a record)."""
        self.done[0] = self._reader.line_num if lines is None else lines

    def __iter__(self) -> Iterator[str]:
        return self._lines

    def __next__(self) -> str:
        return next(self._lines)

    def _bytes(self, text: str) -> int:
        return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))

    @staticmethod
    def _split(data: str) -> list[str]:
        """``data``'s lines, each with its end, as ``io.StringIO(data, newline="")`` reads
        them (LF, CR, CRLF): by :meth:`str.splitlines` (several times faster) unless ``data``
        holds a character that it alone ends a line at."""
        if any(c in data for c in _SPLITLINES_ONLY) or (
            not data.isascii() and any(c in data for c in _SPLITLINES_ONLY_WIDE)
        ):
            return io.StringIO(data, newline="").readlines()
        return data.splitlines(keepends=True)

    def _too_large(self, start: int) -> CsvRecordTooLarge:
        return CsvRecordTooLarge(self._before + start, self.limit)

    def _generate(self) -> Iterator[Iterable[str]]:  # noqa: C901 (one state machine)
        """The lines by groups (a chunk's, or one line while a record is counted): the reader
        asks for the next group only once it has read every line handed before it."""
        if self._first:  # the header record, a record too
            last = self._first[-1]
            end = 2 if last.endswith("\r\n") else 1 if last[-1] in "\r\n" else 0
            if sum(map(self._bytes, self._first)) - end > self.limit:
                raise self._too_large(1)
        yield self._first
        done = self.done
        handed = len(self._first)  # lines handed out
        size = 0  # bytes of the record in progress (its lines handed out), when counted
        start = handed + 1  # the line it opens on
        counted = True  # whether ``size`` counts it (False: fast lines since ``fast_from``)
        fast: list[str] = []  # the fast part's lines: ``fast[fast_at:]``, all handed out
        fast_at = 0
        fast_ascii = True  # whether they are ASCII (a character a byte)
        fast_from = 0  # the line before the fast part
        tail: list[str] = []  # the text of a line not ended yet
        tail_bytes = 0
        while True:
            chunk = self._text.read(self._chunk)
            long_line = tail and not tail[0].endswith("\r")  # (a CR ends its line)
            if chunk and long_line and "\n" not in chunk and "\r" not in chunk:
                tail.append(chunk)
                tail_bytes += self._bytes(chunk)
                if counted and size + tail_bytes <= self.limit:
                    continue
                if counted:  # past the bound: no copy of it made
                    raise self._too_large(start)
                data = "".join(tail)  # judged below, the record in progress counted
            else:
                data = "".join(tail) + chunk if tail else chunk
            tail, tail_bytes = [], 0
            if not data:
                return
            lines = self._split(data)
            if chunk and (not lines[-1].endswith("\n")):  # may go on (a CR: its LF may follow)
                tail = [lines.pop()]
                tail_bytes = self._bytes(tail[0])
            if not counted:  # the fast part's record in progress? counted from its line
                if done[0] + 1 <= handed:  # in progress since line done + 1
                    begun = itertools.islice(fast, fast_at + done[0] - fast_from, None)
                    size = sum(map(len if fast_ascii else self._bytes, begun))
                    start = done[0] + 1
                else:
                    size, start = 0, handed + 1
                counted = True
            fast = []
            if not lines:  # a line longer than a chunk: the record in progress holds it
                if size + tail_bytes - tail[0].endswith("\r") > self.limit:  # a CR: its end
                    raise self._too_large(start)
                continue
            index = 0
            while index < len(lines):  # counted, a line at a time, until a record ends
                line = lines[index]
                end = 2 if line.endswith("\r\n") else 1 if line[-1] in "\r\n" else 0
                grown = size + self._bytes(line)
                if grown - end > self.limit:
                    raise self._too_large(start)
                yield (line,)
                handed += 1
                index += 1
                if done[0] >= handed:  # the record ended with this line
                    break
                size = grown
            else:
                continue  # the chunk's lines all in one record: counted on
            fast, fast_at, fast_ascii = lines, index, data.isascii()
            fast_from = handed
            counted = False
            size, start = 0, handed + 1
            handed += len(lines) - index
            yield lines if index == 0 else itertools.islice(lines, index, None)


#: pyarrow's CSV block: what one of the loader's text batches holds, and so the batch whose
#: ``_rescued_data`` the API counts (``lakehouse.rescued``). 16 MiB blocks kept ~850 MiB of
#: Arrow buffers alive while a 1 GB CSV streamed into bronze (peak RSS 1.2 GiB); 4 MiB blocks
#: ~330 MiB (RSS 670 MiB), no slower. pyarrow reads a record across two blocks at most: a
#: longer one makes the loader (and the API) read the file again by blocks twice as long, so a
#: record of any length loads (memory: a few times the longest record).
CSV_BLOCK_BYTES = 4 * 1024**2


#: The most bytes before a CSV header record's line end (UTF-8, after a byte-order mark; a
#: UTF-16 file counted as its UTF-8; the ``skip_lines`` lines before the header included). A
#: header record ends at the first line end outside a quoted field (:func:`csv_header`), so a
#: quoted name never closed would make the whole file its header: the API and the loader read
#: no further than this looking for its end, and refuse the file (:func:`header_too_long`).
MAX_HEADER_BYTES = 1024**2


def header_too_long(
    line: int,
    header: str = "",
    *,
    before: int = 0,
    kind: Literal["csv", "tsv"] = "csv",
    declared: str | None = None,
    quoted: bool = True,
) -> str:
    """Why a CSV whose header record (on ``line``, 1-based) does not end within
    :data:`MAX_HEADER_BYTES` is refused, said by what the file holds: ``header``, its text from
    the header line on within the bound (the API and the loader read no further), ``before``
    the bytes of the ``line - 1`` lines before it (more than the bound: they alone pass it).
    The quote advice only when the header's first line ended and its record went on (a quoted
    field holding the line end: no other reading does); else the header's one line is the
    longer, and past :data:`MAX_COLUMNS` names within the bound the column bound is said too
    (*before:* until session 19 every such file got the quote advice, review revc s19 02)."""
    bound = f"{MAX_HEADER_BYTES:,} bytes"
    lines = line - 1
    those = "the line" if lines == 1 else f"the {lines} lines"
    if before > MAX_HEADER_BYTES:
        verb = "is" if lines == 1 else "are"
        return (
            f"{those} before the header record (line {line}) {verb} longer than {bound}: a "
            f"header must end within the file's first {bound}, the lines before it included"
        )
    if "\n" in header or "\r" in header:  # its line ended inside a quoted field
        included = f" ({those} before it included)" if lines else ""
        return (
            f"the header record (line {line}) does not end within the file's first {bound}"
            f"{included}, the longest a header may be: it ends at the first line end outside a "
            "quoted field, so a name opening with a quote never closed runs it on through the "
            'lines after it; close the quote, or double a quote inside it ("a ""b""")'
        )
    said = (
        f"the header record (line {line}) and {those} before it are longer than {bound} "
        f"together: a header must end within the file's first {bound}, the lines before it "
        "included"
        if lines
        else f"the header record (line 1) is longer than {bound}, the longest a header may be"
    )
    candidates = (declared,) if declared else ("\t",) if kind == "tsv" else DELIMITERS
    found = _first_record(header, candidates, eof=True, quoted=quoted)
    assert found is not None  # at the end of the text every reading's record ends
    best = max(found[1].values(), default=0)
    chosen = declared or next((d for d, n in found[1].items() if n == best and best), None)
    chosen = chosen or ("\t" if kind == "tsv" else ",")
    again = _first_record(header, (chosen,), eof=True, quoted=quoted)
    assert again is not None
    names = again[1][chosen] + 1
    if names > MAX_COLUMNS:
        said += (
            f"; its names within those bytes are {names:,} columns already: at most "
            f"{MAX_COLUMNS} are loaded"
        )
    return said


class LineEnded(io.RawIOBase):
    """A stream's bytes, and then a line feed when they do not end with a line end (LF or CR):
    pyarrow's CSV reader reads an unquoted empty last field as ``''`` when no line end follows
    it after a quoted field (``2,"y",`` at the end of the data), as null with one. The API's
    values pass and the loader read a CSV through it, so that field is null to both."""

    def __init__(self, raw: IO[bytes] | io.RawIOBase) -> None:
        self._raw = raw
        self._last = b"\n"  # an empty stream gets nothing

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")  # bytes, whatever the buffer's item format
        n = self._raw.readinto(view) or 0  # type: ignore[union-attr]  # no copy
        if n:
            self._last = bytes(view[n - 1 : n])
            return n
        if self._last in (b"\n", b"\r"):
            return 0
        self._last = b"\n"
        view[:1] = b"\n"
        return 1

    def close(self) -> None:
        self._raw.close()
        super().close()


def csv_lines(text: str) -> Iterator[str]:
    """The lines of a CSV text, each with its line end, split where a record may end: at LF,
    CRLF or CR only. Never ``str.splitlines``, which also breaks at VT, FF, U+001C-U+001E, NEL
    (U+0085), U+2028 and U+2029: characters a name or a value may hold (a name holding a
    control character is then refused for it, :func:`check_names`)."""
    return iter(io.StringIO(text, newline=""))


def header_record(text: str, kind: Literal["csv", "tsv"] = "csv") -> str:
    """The header record of a CSV text (from the header line on); the whole text when it does
    not end in it (see :func:`csv_header`)."""
    found = csv_header(text, kind, end="eof")
    assert found is not None  # at the end of the text every reading's record ends
    return found[0]


def reads_every_record(
    lines: Iterable[str],
    delimiter: str,
    stop: Callable[[], bool] | None = None,
    limit: int | None = None,
    before: int = 0,
) -> int | None:
    """The header's field count when ``delimiter`` alone reads the CSV ``lines`` (text read
    with ``newline=""``, from the header line on) as a table: at least two names, every record
    with as many fields (a blank line is no record), the quoting as RFC 4180 has it; else None.
    ``stop()`` true: give up (None). ``limit``: a record past it raises
    :class:`CsvRecordTooLarge` (``lines`` a text, after ``before`` lines of the file) before it
    is held whole."""
    bounded = BoundedLines(lines, limit, before) if limit is not None else None  # type: ignore[arg-type]
    read = bounded if bounded is not None else lines
    reader = csv.reader(read, delimiter=delimiter, quotechar=QUOTE, doublequote=True, strict=True)
    if bounded is not None:
        bounded.follow(reader)
    try:
        header = next(reader, [])
        if bounded is not None:
            bounded.ended()
        width = len(header)
        if width < 2:
            return None
        for records, record in enumerate(reader):
            if records % 65536 == 0 and stop is not None and stop():
                return None
            if bounded is not None:
                bounded.ended()
            if len(record) != width and record:
                return None
    except csv.Error:
        return None
    return width


def settle_delimiter(
    text: str,
    line: int,
    chosen: str,
    reads: Callable[[str], int | None],
    kind: Literal["csv", "tsv"] = "csv",
    *,
    end: Literal["more", "eof", "cut"] = "eof",
    declared: str | None = None,
) -> tuple[str, str | None]:
    """The delimiter of a CSV file whose text from its header line (line ``line``) starts with
    ``text`` (``end`` and ``declared`` as :func:`csv_header` is given them, and ``chosen`` the
    delimiter it read), and why the file is refused when the delimiter is unclear (else None).

    A header record holding one candidate or none (outside quoted names, as :func:`csv_header`
    counts them), a ``.tsv`` and a delimiter declared are settled by :func:`csv_header`. When
    two or more candidates occur in it, each is tried on the whole file (``reads``:
    :func:`reads_every_record` of the file's lines with that candidate alone): the delimiter
    is the one candidate reading every record with the header's field count. When two do, the
    file is refused, the header and the rows being unable to tell (a ``;`` export's
    ``Name, Vorname;Betrag`` then ``Müller, Hans;12,50`` reads as a table with either: with
    ``,`` the amount 12,50 would be split); when none does, the candidate occurring most often
    (the first of ``,`` ``;`` ``|`` TAB on a tie) is read, and the record that breaks it refuses
    the file. The candidate occurring most often is tried last, and only when another reads
    every record: a file read by it alone costs no second reading."""
    found = _first_record(text, ("\t",) if kind == "tsv" else DELIMITERS, eof=end != "more")
    counts = {} if found is None else found[1]
    occurring = [d for d in DELIMITERS if counts.get(d)]
    if kind == "tsv" or declared or len(occurring) < 2:
        return chosen, None
    top = max(occurring, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    widths: dict[str, int] = {}
    for candidate in occurring:
        if candidate != top and (width := reads(candidate)) is not None:
            widths[candidate] = width
            if len(widths) == 2:
                break
    if not widths:
        return top, None
    if len(widths) == 1:
        width = reads(top)
        if width is None:
            return next(iter(widths)), None
        widths[top] = width
    shown = " and with ".join(f"{d!r} ({n} fields)" for d, n in widths.items())
    return top, (
        f"line {line}, the header: read with {shown}, every record has the header's field "
        "count, so which one separates the fields is unclear: quote the names that hold the "
        "other, declare the delimiter with Excel's sep= line before the header, or in the "
        f"table's meta (delimiter: {json.dumps(next(iter(widths)))})"
    )


def settled_header(
    text: str,
    line: int,
    found: tuple[str, str],
    reads: Callable[[str], int | None],
    kind: Literal["csv", "tsv"] = "csv",
    *,
    end: Literal["more", "eof", "cut"] = "eof",
    declared: str | None = None,
) -> tuple[tuple[str, str] | None, str | None]:
    """:func:`csv_header`'s ``found`` (header record, delimiter) of ``text`` with the delimiter
    :func:`settle_delimiter` settles (the header read again with it when it is another; None:
    at ``end`` ``"more"``, that reading has not ended within ``text``), and why the file is
    refused when the delimiter is unclear (else None)."""
    delimiter, unclear = settle_delimiter(
        text, line, found[1], reads, kind, end=end, declared=declared
    )
    if unclear is not None or delimiter == found[1]:
        return found, unclear
    return csv_header(text, kind, end=end, declared=delimiter), None


#: Excel's line declaring a CSV's delimiter (``sep=;``, which Excel writes in locales whose list
#: separator is not ``,`` and reads as no record): ``sep=``, one character, the line's end.
_EXCEL_SEP = re.compile(r"sep=([^\r\n])(?:\r\n|\r|\n)?")


def excel_delimiter(line: str) -> str | None:
    """The delimiter a line (with its line end; the file's first after the ``skip_lines``
    ones) declares when it is Excel's ``sep=X`` line, else None."""
    found = _EXCEL_SEP.fullmatch(line)
    return None if found is None else found[1]


def excel_delimiter_problem(
    delimiter: str, line: int, kind: Literal["csv", "tsv"] = "csv"
) -> str | None:
    """Why a file whose line ``line`` is Excel's ``sep=`` line declaring ``delimiter`` is
    refused (a delimiter the dialect does not read: ``,`` ``;`` ``|`` TAB, TAB alone in a
    ``.tsv``), or None. The API's (400) and the loader's (``unparseable``) words."""
    candidates = ("\t",) if kind == "tsv" else DELIMITERS
    if delimiter in candidates:
        return None
    read = "TAB alone (a .tsv file)" if kind == "tsv" else "',', ';', '|' or TAB"
    return (
        f"line {line} is Excel's line declaring the delimiter (sep={delimiter}), which is"
        f" {delimiter!r}: bronze reads {read} as a delimiter"
    )


def declared_delimiter(
    excel: str | None, meta: str | None, line: int, kind: Literal["csv", "tsv"] = "csv"
) -> tuple[str | None, str | None]:
    """The delimiter declared for a file (``excel``: its Excel ``sep=`` line's, on ``line``;
    ``meta``: its table's ``meta: {delimiter: ...}``, a ``.csv``'s only), and why the file is
    refused when the two differ (else None)."""
    meta = meta if kind == "csv" else None
    if excel is not None and meta is not None and excel != meta:
        return excel, (
            f"line {line} is Excel's line declaring the delimiter (sep={excel}), which is"
            f" {excel!r}; the table's meta declares {meta!r} (delimiter: {json.dumps(meta)})"
        )
    return excel or meta, None


def csv_header(
    text: str,
    kind: Literal["csv", "tsv"] = "csv",
    *,
    end: Literal["more", "eof", "cut"] = "more",
    declared: str | None = None,
    quoted: bool = True,
) -> tuple[str, str] | None:
    """The header record and the delimiter of a CSV text starting at its header line.

    The header record is read by the record grammar with every candidate delimiter (``,`` ``;``
    ``|`` TAB; TAB alone for ``.tsv``) as a field's end: a quote opens a quoted field only at
    the line's start or right after one of them (``""`` inside one is a quote), and the record
    ends at the first line end outside a quoted field. The delimiter is the candidate occurring
    most often in it outside quoted fields (the first of them on a tie, ``,`` when none does;
    two or more occurring: :func:`settle_delimiter` tries them on the rows). That reading
    chooses the delimiter only: the header record is then read again with the chosen delimiter
    alone, as every row is (a quote right after another candidate is a character: ``id,x|"y``
    is a ``,`` header of line 1 alone, its second name ``x|"y``), and ends where that reading
    ends. At ``"cut"``, a candidate reading not ended (a quote after a candidate, never closed
    within the text) chooses by the candidates before that quote.
    ``end``: what follows ``text``: ``"more"`` (more text may follow: None until the record has
    ended), ``"eof"`` (nothing: a record not ended ends there), ``"cut"`` (text was read no
    further, :data:`MAX_HEADER_BYTES`: None when the record has not ended).
    ``declared``: the delimiter Excel's ``sep=`` line before the header declares
    (:func:`excel_delimiter`), the only one read. ``quoted`` False: no quoting (a ``.tsv`` under
    ``tsv_quoting: none``), the record ends at the first line end.
    """
    candidates = (declared,) if declared else ("\t",) if kind == "tsv" else DELIMITERS
    found = _first_record(text, candidates, eof=end != "more", quoted=quoted)
    if found is None:
        return None
    at, counts, _ = found
    best = max(counts.values(), default=0)
    winners = [d for d, n in counts.items() if n == best]
    chosen = winners[0] if best else ("\t" if kind == "tsv" else ",")
    chosen = declared or chosen
    if len(candidates) > 1 or end == "cut":
        again = _first_record(text, (chosen,), eof=end == "eof", quoted=quoted)
        if again is None:
            return None
        at = again[0]
    return text[:at], chosen


def _first_record(
    text: str, candidates: Sequence[str], *, eof: bool, quoted: bool = True
) -> tuple[int, dict[str, int], bool] | None:
    """(where the first record ends, how often each candidate occurs in it outside quoted
    fields, whether it ends inside a quoted field never closed); None when it has not ended
    within ``text`` (at ``eof`` it ends with the text)."""
    stops = re.compile("[" + re.escape("".join(candidates)) + "\r\n]")
    counts = dict.fromkeys(candidates, 0)
    at, size = 0, len(text)
    while True:  # at a field's start
        if quoted and at < size and text[at] == QUOTE:
            close = at + 1
            while True:
                close = text.find(QUOTE, close)
                if close < 0 or (close + 1 == size and not eof):
                    return (size, counts, True) if eof else None  # open, or "" cut in two
                if close + 1 < size and text[close + 1] == QUOTE:
                    close += 2
                    continue
                break
            at = close + 1
        stop = stops.search(text, at)
        if stop is None:
            return (size, counts, False) if eof else None
        if stop.group() in "\r\n":
            return stop.start(), counts, False
        counts[stop.group()] += 1
        at = stop.end()


def open_quoted_name(text: str, header: str, delimiter: str) -> int | None:
    """The field (1-based) whose name opens with a quote never closed, when the header record
    ``header`` of ``text`` (from the header line to the file's end; :func:`csv_header`) runs to
    the file's end for that reason, read with its ``delimiter``; else None. No name of such a
    record, however read, is what the file meant: it holds every line after the quote."""
    if len(header) < len(text):
        return None  # it ends at a line end
    found = _first_record(header, (delimiter,), eof=True)
    assert found is not None  # at the end of the text every reading's record ends
    _, counts, unclosed = found
    return counts[delimiter] + 1 if unclosed else None


def header_never_closed(line: int, field: int) -> str:
    """Why a CSV whose header record (on ``line``) opens a quoted name in ``field`` and never
    closes it is refused (:func:`open_quoted_name`; a file under :data:`MAX_HEADER_BYTES`, a
    longer one is :func:`header_too_long`), by the API (400) and the loader (``unparseable``)
    alike."""
    return (
        f"the header record (line {line}) does not end: the name of its field {field} opens "
        "with a quote never closed, so the header runs from that quote to the file's end; "
        'close the quote, or double a quote inside it ("a ""b""")'
    )


def csv_quote_problem(
    lines: Iterable[str],
    delimiter: str,
    before: int = 0,
    stop: Callable[[], bool] | None = None,
    limit: int | None = None,
) -> tuple[int, str] | None:
    """The first record of ``lines`` (text read with ``newline=""``, after ``before`` lines of
    the file) whose quoting RFC 4180 refuses, as (its first line in the file, why), or None.
    A quote inside an unquoted field is a character (``37.8"N``); text after a closing quote
    (``"x"y``) or a quote never closed refuses the file, naming the line where the record
    opens (a quote never closed runs to the file's end: the line it opens on is the one to
    fix). The API's and the loader's words. ``stop()`` true: give up (None). ``limit``: a
    record past it raises :class:`CsvRecordTooLarge` (``lines`` a text read with
    ``newline=""``, :class:`BoundedLines`) before it is held whole."""
    bounded = BoundedLines(lines, limit, before) if limit is not None else None  # type: ignore[arg-type]
    read = bounded if bounded is not None else lines
    reader = csv.reader(read, delimiter=delimiter, quotechar=QUOTE, doublequote=True, strict=True)
    if bounded is not None:
        bounded.follow(reader)
    start = 1
    try:
        for records, _ in enumerate(reader):
            if records % 65536 == 0 and stop is not None and stop():
                return None
            start = reader.line_num + 1
            if bounded is not None:
                bounded.ended()
    except csv.Error as exc:
        why = str(exc)
        if "expected after" in why:
            why = "text after a closing quote (RFC 4180: quote the whole field)"
        elif "end of data" in why or "EOF" in why:
            why = "a quoted field is never closed"
        return before + start, f"line {before + start}: {why}"
    return None


def csv_delimiter(header: str, kind: Literal["csv", "tsv"] = "csv") -> str:
    """The delimiter of a CSV file whose header record is ``header`` (see :func:`csv_header`)."""
    found = csv_header(header, kind, end="eof")
    assert found is not None
    return found[1]


# -- names --------------------------------------------------------------------------------------


def _control(name: str) -> str | None:
    for ch in name:
        if unicodedata.category(ch) in ("Cc", "Cs"):
            return ch
    return None


def check_names(names: Sequence[str]) -> str | None:
    """Why a file with these column names cannot be stored as they are, or None."""
    found = name_problem(names)
    return None if found is None else found[1]


def name_key(name: str) -> str:
    """What a column name is compared by: without case (Delta and DuckDB read names so) and
    without its Unicode normalization (``café`` in NFC and ``cafe\u0301`` in NFD print the same:
    macOS and some exports write NFD), so twins of either kind are one name to every rule."""
    return unicodedata.normalize("NFC", name).lower()


def twins(name: str, other: str) -> tuple[str, str]:
    """How two names of one :func:`name_key` differ (``differs only by case``, ``... by
    Unicode normalization``) and the rule that makes them one name."""
    if name.lower() == other.lower():
        return "only by case", "column names are case-insensitive"
    how = (
        "only by Unicode normalization"
        if unicodedata.normalize("NFC", name) == unicodedata.normalize("NFC", other)
        else "only by case and Unicode normalization"
    )
    return how, (
        f"names that differ only by Unicode normalization (NFC and NFD; here {name!a} and "
        f"{other!a}) print the same and would be two columns"
    )


def name_problem(names: Sequence[str]) -> tuple[str | None, str] | None:
    """The column at fault (None: the file as a whole) and why, or None: see
    :func:`check_names`. ``names`` are in the file's order (a JSON file's keys as first seen),
    so a blank one is named by its place (*before:* until session 18 the API named a JSON
    file's blank key by no place, "a column has a blank name", its keys then a set)."""
    if len(names) > MAX_COLUMNS:
        return None, f"{len(names)} columns: at most {MAX_COLUMNS} are loaded"
    seen: dict[str, str] = {}
    reserved = {r.lower(): r for r in RESERVED_COLUMNS}
    for i, name in enumerate(names, start=1):
        if not name.strip():
            return name, f"column {i} has a blank name ({name!r})"
        bad = _control(name)
        if bad is not None:
            return name, f"column name {shown_name(name)} holds the control character {bad!r}"
        key = name_key(name)
        if key in reserved:
            return name, f"column {name!r} is reserved for bronze's own column {reserved[key]!r}"
        if key in seen:
            how, rule = twins(name, seen[key])
            same = "repeats" if seen[key] == name else f"differs {how} from"
            if how == "only by case":
                rule += " in Delta and DuckDB"
            return name, f"column {name!r} {same} column {seen[key]!r} ({rule})"
        seen[key] = name
    return None


def shown_name(name: str, most: int = 80) -> str:
    """``name`` quoted for a reason, its first ``most`` characters when longer (a quoted name
    never closed runs on through the rows: the reason would hold the file)."""
    if len(name) <= most:
        return repr(name)
    return f"{name[:most]!r}... ({len(name):,} characters)"


class Spellings(NamedTuple):
    """What a file's column names are compared with, without case (:func:`case_clash`): the
    bronze table's columns, and the columns the table's contract declares."""

    table: Sequence[str] = ()
    contract: Sequence[str] = ()


def case_clash(names: Iterable[str], spellings: Spellings) -> tuple[str, str] | None:
    """The first of ``names`` that differs only by case from a column of the bronze table or
    one its contract declares, and why, or None: names are compared without case in Delta and
    DuckDB, so it would be one column under two spellings (and a declared type or ``not_null``
    would not apply to it). When the table and its contract (or the contract's own columns)
    spell that column differently, the reason says so: no spelling of the file can match both.
    The loader refuses such a file (``invalid_column``) and the API the same body, by this rule."""
    table = {name_key(name): name for name in spellings.table}
    declared: dict[str, list[str]] = {}
    for name in dict.fromkeys(spellings.contract):
        declared.setdefault(name_key(name), []).append(name)
    if not table and not declared:
        return None
    for name in names:
        key = name_key(name)
        spelt = table.get(key)
        both = declared.get(key, [])
        if len(both) > 1:
            how, rule = twins(both[0], both[1])
            return name, (
                f"the contract declares columns {both[0]!r} and {both[1]!r}, which differ "
                f"{how}; {rule}, so the contract must declare one of them"
            )
        contract = both[0] if both else None
        if spelt is not None and contract is not None and spelt != contract:
            how, rule = twins(spelt, contract)
            return name, (
                f"the bronze table's column {spelt!r} and the contract's column {contract!r} "
                f"differ {how}; {rule}, so the contract must spell it as the table does"
            )
        for whose, other in (("bronze table", spelt), ("contract", contract)):
            if other is not None and other != name:
                how, rule = twins(name, other)
                return name, (
                    f"column {name!r} differs from the {whose}'s column {other!r} {how}; "
                    f"{rule}, rename it to match"
                )
    return None


# -- types --------------------------------------------------------------------------------------

INTEGER_TEXT = r"0|-?[1-9][0-9]*"
#: Canonical numbers; a negative zero (``-0``, ``-0.00``) is not one: no type gives its ``-`` back.
NUMBER_TEXT = r"0(?:\.[0-9]+)?|-?[1-9][0-9]*(?:\.[0-9]+)?|-?0\.[0-9]*[1-9][0-9]*"
#: A negative zero (which ``NUMBER_TEXT`` leaves out).
NEGATIVE_ZERO_TEXT = r"-0(?:\.0+)?"
DATE_TEXT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
TIME_TEXT = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
#: ``Z``, ``±HH:MM`` or ``±HH`` (ISO 8601's hour-only offset, which PostgreSQL writes for a
#: ``timestamptz`` of a whole-hour zone: ``2024-01-01 10:00:00+00``, ``...-03``).
OFFSET_TEXT = r"(?:Z|[+-](?:[01][0-9]|2[0-3])(?::[0-5][0-9])?)"
TIMESTAMP_TEXT = rf"{DATE_TEXT}[ T]{TIME_TEXT}"
TIMESTAMPTZ_TEXT = rf"{TIMESTAMP_TEXT}{OFFSET_TEXT}?"
#: The decimals of a second each naive timestamp type holds: DuckDB's ``TIMESTAMP_S``
#: (``timestamp(0)``), ``TIMESTAMP_MS`` (``timestamp(1)``-``(3)``) and ``TIMESTAMP``
#: (microseconds). A text fits one when it is ``TIMESTAMP``'s form with at most that many
#: decimals once the zeros ending its fraction are set aside, as ``DECIMAL``'s rule sets them
#: aside (``.120000`` is 120 ms; ``.1234`` is no ``TIMESTAMP_MS``); each is stored as a Delta
#: ``timestamp`` (microseconds hold seconds and milliseconds exactly), read as UTC.
#: ``TIMESTAMP_NS`` is not here: Delta has no nanosecond timestamp, so it is kept as text.
TIMESTAMP_DIGITS = {"TIMESTAMP_S": 0, "TIMESTAMP_MS": 3, "TIMESTAMP": 6}
_CLOCK_TEXT = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
#: The time of day of each naive timestamp type's text: TIMESTAMP's (:data:`TIME_TEXT`), its
#: decimals past the type's only zeros (RE2 and ``re`` alike: no look-around)
TIMESTAMP_CLOCK_TEXT = {
    "TIMESTAMP_S": rf"{_CLOCK_TEXT}(?:\.0{{1,6}})?",
    "TIMESTAMP_MS": rf"{_CLOCK_TEXT}(?:\.[0-9]{{1,3}}0{{0,3}})?",
    "TIMESTAMP": TIME_TEXT,
}
TIMESTAMP_S_TEXT = rf"{DATE_TEXT}[ T]{TIMESTAMP_CLOCK_TEXT['TIMESTAMP_S']}"
TIMESTAMP_MS_TEXT = rf"{DATE_TEXT}[ T]{TIMESTAMP_CLOCK_TEXT['TIMESTAMP_MS']}"
#: A time of day as a ``TIME`` column keeps it (text): ``HH:MM:SS``, up to nine decimals (a
#: Parquet ``time64[ns]`` value's text has nine).
TIME_OF_DAY_TEXT = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
#: A UUID as a ``UUID`` column keeps it (text): 8-4-4-4-12 hexadecimal digits, either case.
UUID_TEXT = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

#: The canonical text of each type family (full match), before range and validity checks.
CANONICAL: dict[str, str] = {
    "BOOLEAN": r"true|false",
    "INTEGER": INTEGER_TEXT,
    "NUMBER": NUMBER_TEXT,
    "DATE": DATE_TEXT,
    "TIMESTAMP": TIMESTAMP_TEXT,
    "TIMESTAMP_MS": TIMESTAMP_MS_TEXT,
    "TIMESTAMP_S": TIMESTAMP_S_TEXT,
    "TIMESTAMPTZ": TIMESTAMPTZ_TEXT,
    "TIME": TIME_OF_DAY_TEXT,
    "UUID": UUID_TEXT,
}
#: Types bronze stores as text (Delta has no time-of-day or UUID type) whose values must still
#: have the type's shape (:data:`CANONICAL`): the text is kept as written.
SHAPED_TEXT = frozenset({"TIME", "UUID"})
#: A type bronze stores as text that holds JSON text in every row (docs/loading.md, Declared
#: types win): a JSON file's value as its JSON text (a string with its quotes), a CSV field or
#: a Parquet string as the text itself, which must be one JSON value (:func:`json_value`).
JSON_TEXT = "JSON"
_RE = {k: re.compile(v) for k, v in CANONICAL.items()}

#: Inference tries these in order; the first that every value fits is the column's type.
INFERENCE_ORDER = ("BOOLEAN", "BIGINT", "DOUBLE", "DECIMAL", "DATE", "TIMESTAMP", "VARCHAR")

INT_RANGES: dict[str, tuple[int, int]] = {
    "TINYINT": (-(2**7), 2**7 - 1),
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INTEGER": (-(2**31), 2**31 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
    "UTINYINT": (0, 2**8 - 1),
    "USMALLINT": (0, 2**16 - 1),
    "UINTEGER": (0, 2**32 - 1),
    "UBIGINT": (0, 2**64 - 1),
}
MAX_DECIMAL_DIGITS = 38
#: The one table of type aliases (the API's contracts and the loader both read types through
#: :func:`type_name`): an alias → DuckDB's canonical name. ``TIMESTAMPTZ`` is the canonical
#: name of ``timestamp with time zone`` (docs/loading.md, Types: an instant, stored in UTC).
TYPE_ALIASES = {
    "INT1": "TINYINT",
    "INT2": "SMALLINT",
    "SHORT": "SMALLINT",
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "SIGNED": "INTEGER",
    "INT8": "BIGINT",
    "LONG": "BIGINT",
    "INT128": "HUGEINT",
    "FLOAT8": "DOUBLE",
    "FLOAT4": "FLOAT",
    "REAL": "FLOAT",
    "NUMERIC": "DECIMAL",
    "BOOL": "BOOLEAN",
    "LOGICAL": "BOOLEAN",
    "TEXT": "VARCHAR",
    "STRING": "VARCHAR",
    "CHAR": "VARCHAR",
    "BPCHAR": "VARCHAR",
    "DATETIME": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "BYTEA": "BLOB",
    "VARBINARY": "BLOB",
    "BINARY": "BLOB",
    "BYTES": "BLOB",
    # DuckDB's own aliases (``duckdb_types()``) and SQL spellings its parser reads (PostgreSQL's
    # ``information_schema`` names): tests/loader/test_type_aliases.py holds them to DuckDB
    "INT16": "SMALLINT",
    "INT32": "INTEGER",
    "INT64": "BIGINT",
    "INTEGRAL": "INTEGER",
    "OID": "BIGINT",
    "UINT8": "UTINYINT",
    "UINT16": "USMALLINT",
    "UINT32": "UINTEGER",
    "UINT64": "UBIGINT",
    "UINT128": "UHUGEINT",
    "DOUBLE PRECISION": "DOUBLE",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "TIMESTAMP_US": "TIMESTAMP",
    "TIME WITHOUT TIME ZONE": "TIME",
    "TIME WITH TIME ZONE": "TIMETZ",
    "CHARACTER VARYING": "VARCHAR",
    "CHARACTER": "VARCHAR",
    "NVARCHAR": "VARCHAR",
    "GUID": "UUID",
    "VARINT": "BIGNUM",
    "BITSTRING": "BIT",
}
#: The type of bytes (DuckDB's ``BLOB``; ``bytea``, ``varbinary``, ``binary``, ``bytes``),
#: stored as Delta ``binary``: it holds bytes as they are, and a text (a CSV field, a JSON
#: string, a Parquet string) as its UTF-8 bytes, exactly; any other value (a JSON number,
#: ``true``, an object or array; a Parquet number, date, list, ...) is a mismatch: its bytes
#: would be a guess at an encoding (docs/loading.md, Types).
BYTES = "BLOB"
_DECIMAL = re.compile(r"DECIMAL\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


@functools.lru_cache(maxsize=4096)  # a pure function of the text; per value in nested checks
def type_name(data_type: str) -> str:
    """A DuckDB type in one spelling: ``int8`` → ``BIGINT``, ``numeric(12, 2)`` →
    ``DECIMAL(12,2)``, ``timestamp with time zone`` → ``TIMESTAMPTZ``, ``varchar(20)`` →
    ``VARCHAR``, ``timestamp(3)`` → ``TIMESTAMP_MS`` (as DuckDB reads it:
    :data:`TIMESTAMP_DIGITS`)."""
    text = re.sub(r"\s+", " ", data_type.strip().upper())
    match = re.fullmatch(r"(NUMERIC|DECIMAL|DEC)\s*(\(.*\))?", text)
    if match:
        # DuckDB's default DECIMAL, also for `decimal()`, which DuckDB reads as it
        params = match[2] if match[2] and match[2].strip("() ") else "(18,3)"
        return "DECIMAL" + params.replace(" ", "")
    match = re.fullmatch(r"FLOAT\s*\(\s*(\d+)\s*\)", text)
    if match:  # SQL's float(p), p bits of mantissa: DuckDB's DOUBLE past 24 (float(53))
        return "DOUBLE" if int(match[1]) > 24 else "FLOAT"
    match = re.fullmatch(r"(?:TIMESTAMP|DATETIME) ?\( ?(\d+) ?\)( WITHOUT TIME ZONE)?", text)
    if match:  # SQL's timestamp(p), p decimals of a second: DuckDB's type by p
        return _TIMESTAMP_PRECISION.get(int(match[1]), "TIMESTAMP_NS")
    base = re.sub(r"\s*\(.*\)\s*$", "", text)
    return TYPE_ALIASES.get(base, base)


#: DuckDB's type of ``timestamp(p)`` (and ``datetime(p)``) by ``p`` (past 6: ``TIMESTAMP_NS``;
#: past 9 DuckDB refuses it, a misshapen contract). ``TIMESTAMP_S``, ``_MS`` and ``TIMESTAMP``
#: are rules of the table (:data:`TIMESTAMP_DIGITS`), whichever spelling names them
#: (``timestamp(3)`` or ``timestamp_ms``); ``TIMESTAMP_NS`` is kept as text.
_TIMESTAMP_PRECISION = {
    0: "TIMESTAMP_S",
    1: "TIMESTAMP_MS",
    2: "TIMESTAMP_MS",
    3: "TIMESTAMP_MS",
    4: "TIMESTAMP",
    5: "TIMESTAMP",
    6: "TIMESTAMP",
}


def base_type(data_type: str) -> str:
    """:func:`type_name` without its parameters: ``numeric(12, 2)`` → ``DECIMAL``."""
    return re.sub(r"\(.*\)$", "", type_name(data_type))


def integer_range(data_type: str) -> tuple[int, int] | None:
    """The inclusive range of an integer type (``HUGEINT``: 38 digits, as :func:`fits` says)."""
    t = base_type(data_type)
    if t == "HUGEINT":
        return -(10**MAX_DECIMAL_DIGITS) + 1, 10**MAX_DECIMAL_DIGITS - 1
    return INT_RANGES.get(t)


def decimal_params(data_type: str) -> tuple[int, int] | None:
    """``(precision, scale)`` of a DECIMAL type, else None."""
    match = _DECIMAL.fullmatch(type_name(data_type))
    if not match:
        return None
    return int(match[1]), int(match[2] or 0)


def _number(text: str) -> bool:
    return bool(_RE["NUMBER"].fullmatch(text))


def _digits(text: str) -> tuple[int, int]:
    """Integer digits and decimals of a canonical number (``-0.50`` → (0, 2))."""
    body = text.lstrip("-")
    whole, _, frac = body.partition(".")
    return (0 if whole == "0" else len(whole)), len(frac)


def significant_digits(text: str) -> int:
    """Significant digits of a canonical number: ``0.0120`` → 2, ``1000`` → 1."""
    digits = text.lstrip("-").replace(".", "").strip("0")
    return len(digits)


def float_exact(text: str) -> bool:
    """Whether the canonical number ``text`` equals its float64's shortest text."""
    value = float(text)
    if math.isinf(value):
        return False
    return decimal.Decimal(repr(value)) == decimal.Decimal(text)


def _valid_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
        return text[:4] != "0000"
    except ValueError:
        return False


#: The checked types a JSON string fits (by its characters): text, date, timestamp, time and
#: UUID columns. A number or boolean column takes a JSON number or ``true``/``false`` only:
#: ``"5"`` is no number, ``"true"`` no boolean (a type kept as text holds any JSON value as its
#: text).
JSON_STRING_TYPES = frozenset({"VARCHAR", "DATE", *TIMESTAMP_DIGITS, "TIMESTAMPTZ", *SHAPED_TEXT})


def takes_json_string(data_type: str) -> bool:
    """Whether a JSON string may fit a column of ``data_type`` (by its characters and
    :func:`fits`): not a number or boolean column."""
    t = type_name(data_type)
    return not (
        t in INT_RANGES
        or t in ("HUGEINT", "DOUBLE", "FLOAT", "BOOLEAN")
        or decimal_params(t) is not None
    )


def fits(text: str, data_type: str) -> bool:
    """Whether the text ``text`` is stored exactly by a column of ``data_type`` (the rule above).

    ``TIME`` and ``UUID`` are kept as text of their shape (:data:`SHAPED_TEXT`); any other
    type bronze keeps as text (``VARCHAR``, ``JSON``, ``INTERVAL``, lists, ...) holds any text.
    """
    t = type_name(data_type)
    if t in INT_RANGES or t == "HUGEINT" or t in ("DOUBLE", "FLOAT") or decimal_params(t):
        return _fits_number(text, t)
    if t == "BOOLEAN":
        return bool(_RE["BOOLEAN"].fullmatch(text))
    if t == "DATE":
        return bool(_RE["DATE"].fullmatch(text)) and _valid_date(text)
    if t in TIMESTAMP_DIGITS or t == "TIMESTAMPTZ":
        if not _RE[t].fullmatch(text):
            return False
        return _valid_date(text[:10]) and instant_in_range(text)
    if t in SHAPED_TEXT:
        return bool(_RE[t].fullmatch(text))
    if t == JSON_TEXT:
        return json_value(text)
    return True


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is no JSON")


def json_value(text: str) -> bool:
    """Whether ``text`` is one JSON value (RFC 8259: JSON whitespace around it allowed), as a
    column declared ``json`` takes a CSV field or a Parquet string: not ``NaN``/``Infinity``,
    a control character in a string, a string escaping half a surrogate pair (DuckDB's JSON
    reader refuses it, as it refuses such a JSON file), nor nested deeper than
    :data:`MAX_JSON_DEPTH` (the JSON records' limit: a recursive parser's reach depends on the
    stack in use, so the API and the loader would disagree). Any number's literal is one
    (``1e400``, a thousand digits: no value is made of it)."""
    if "[" in text or "{" in text:
        if json_depth(text.encode("utf-8", "surrogatepass")) > MAX_JSON_DEPTH:
            return False
    try:
        value = json.loads(
            text,
            parse_int=str,
            parse_float=str,
            parse_constant=_no_constant,
            object_pairs_hook=list,  # every pair: a repeated key's first value is looked at too
        )
    except (ValueError, RecursionError):
        return False
    return lone_surrogate(text, value) is None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def lone_surrogate(text: str, value: Any) -> str | None:
    """A lone surrogate (its character) in the strings or keys of ``value``, ``text`` decoded
    (from an escape: ``"\\ud800"``, which no text can hold), or None. Only a text holding a
    surrogate's escape is walked: JSON text read as UTF-8 holds none unescaped. Objects may be
    decoded as lists of pairs (every pair kept: a repeated key's first value too)."""
    if "\\u" not in text or _SURROGATE_ESCAPE.search(text) is None:
        return None
    return _surrogate_in(value)


def _surrogate_in(value: Any) -> str | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return value[exc.start]
        return None
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        for v in value:
            found = _surrogate_in(v)
            if found is not None:
                return found
    return None


_OFFSET_AT_END = re.compile(r"([+-])([0-9]{2})(?::([0-9]{2}))?$")


def instant_in_range(text: str) -> bool:
    """Whether a timestamp of the dialect's shape with a real date is an instant between
    0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, the instants bronze holds: an offset
    moves ``9999-12-31T23:30:00-01:00`` into year 10000 (deltalake reads a file's statistics
    past 9999 as no bound, and skips the file for any filter on the column) and
    ``0001-01-01T00:30:00+01:00`` into year 0."""
    found = _OFFSET_AT_END.search(text)
    if found is None:
        return True  # UTC (``Z``, or naive): the date is the instant's
    day = text[:10]
    shift = (int(found[2]) * 60 + int(found[3] or 0)) * 60
    clock = int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
    if found[1] == "-" and day == "9999-12-31":
        return clock + shift < 86_400
    if found[1] == "+" and day == "0001-01-01":
        return clock >= shift
    return True


def _fits_number(text: str, t: str) -> bool:
    if t in INT_RANGES or t == "HUGEINT":
        if not _RE["INTEGER"].fullmatch(text):
            return False
        if t == "HUGEINT":
            return len(text.lstrip("-")) <= MAX_DECIMAL_DIGITS
        low, high = INT_RANGES[t]
        if len(text.lstrip("-")) > len(str(max(high, -low))):  # int() refuses 4,300+ digits
            return False
        return low <= int(text) <= high
    if not _number(text):
        return False
    if t == "DOUBLE":
        return float_exact(text)
    if t == "FLOAT":
        # float32 holds 6 digits only in its normal range; below it fewer (0.0 below 1.4e-45).
        # Zero by its digits: float() makes 1e-401 zero too.
        digits = significant_digits(text)
        return digits == 0 or (digits <= 6 and -37 <= decimal.Decimal(text).adjusted() <= 37)
    params = decimal_params(t)
    assert params is not None  # the caller checked
    whole, frac = _digits(text)
    precision, scale = params
    if frac > scale:  # decimals past the scale are held only when zeros: 1.5000 is 1.50
        frac = _digits(text.rstrip("0"))[1]
    return frac <= scale and whole <= precision - scale


def infer(texts: Iterable[str | None]) -> str:
    """The type a column of these CSV texts takes (None: null); see :data:`INFERENCE_ORDER`."""
    values = [t for t in texts if t is not None]
    if not values:
        return "VARCHAR"
    for candidate in INFERENCE_ORDER:
        if candidate == "DECIMAL":
            if all(_number(v) for v in values):
                whole = max(_digits(v)[0] for v in values)
                scale = max(_digits(v)[1] for v in values)
                if whole + scale <= MAX_DECIMAL_DIGITS:
                    return f"DECIMAL({MAX_DECIMAL_DIGITS},{scale})"
            continue
        if all(fits(v, candidate) for v in values):
            return candidate
    return "VARCHAR"


JsonKind = Literal["string", "number", "boolean", "object", "array", "nested"]


def json_column_type(kinds: Iterable[JsonKind], texts: Iterable[str]) -> str:
    """The type of a JSON key holding values of these kinds, with these texts as written
    (``STRUCT``: its fields typed by this rule in turn; ``nested`` is an array)."""
    seen = set(kinds)
    if not seen:
        return "VARCHAR"
    if seen == {"boolean"}:
        return "BOOLEAN"
    if seen == {"object"}:
        return "STRUCT"
    if seen == {"number"}:
        typed = infer(texts)
        return typed if typed in ("BIGINT", "DOUBLE") or typed.startswith("DECIMAL") else "VARCHAR"
    return "VARCHAR"


def process_ended(exitcode: int | None) -> str:
    """How a process ended, from its exit code (negative: the signal that ended it)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "an unknown signal"
        return f"signal {-exitcode}, {name}"
    return f"exit code {exitcode}"


def reader_ended(exitcode: int | None) -> str:
    """The API's refusal of a file whose reading ended the process reading it (``exitcode``,
    :func:`process_ended`, a signal's): a library's fatal check (Arrow C++ aborts, SIGABRT), a
    crash, a kill. The loader's process ends so on the same file, and quarantines it after as many
    deaths in a row as ``loader.readmarks.READ_DEATHS`` (``killed_loader``): its reason names
    the same cause, "(killed, e.g. by the kernel out of memory, or aborted)"."""
    return (
        f"the process reading this file ended while reading it ({process_ended(exitcode)}:"
        " killed, e.g. by the kernel out of memory, or aborted), so it is not read again"
    )
