"""PostgreSQL's COPY text format, read as PostgreSQL reads it: a ``.tsv`` of a table whose
contract says ``meta: {tsv_quoting: postgres}`` (``docs/loading.md``, TSV quoting).

``COPY ... TO (FORMAT text)`` writes a row as its fields separated by TAB and ended by LF, no
quoting: null as ``\\N``, the empty string as nothing, and a backslash, TAB, LF, CR, backspace,
form feed or vertical tab inside a value as ``\\\\`` ``\\t`` ``\\n`` ``\\r`` ``\\b`` ``\\f``
``\\v``; ``COPY ... FROM`` reads those, and also ``\\NNN`` (one to three octal digits, a byte),
``\\xHH`` (one or two hex digits, a byte) and any other ``\\c`` as ``c``
(https://www.postgresql.org/docs/current/sql-copy.html, "Text Format"). The bytes so made must
be UTF-8 (PostgreSQL refuses them in a UTF-8 database too) and hold no NUL, nor may the field
as written (a NUL byte: PostgreSQL refuses it, "invalid byte sequence").

Read so here, by the API's check (``ingest.filecheck``) and the loader (``loader.readers``) with
these functions, in one set of words: a field is split at every TAB a backslash does not
escape (PostgreSQL reads ``\\<TAB>`` as a TAB in the value, as ``\\t``: the readers read the
file with each made ``\\t``, :class:`Unescaped`) and a record ends at the line end of the
file (its header line's: LF, CRLF or CR), then a field that is exactly ``\\N`` is null, any
other its escapes read. Refused, naming the line (and the column), is what this reading and
PostgreSQL's would read apart (never written by COPY, so no export is refused): a backslash
ending a record (it escapes the line end after it, which PostgreSQL then reads as part of the
value) or a name (the TAB after it), ``\\.`` (PostgreSQL's end-of-data marker: it stops
reading there, or refuses the line), a line end other than the header line's (PostgreSQL takes
the line end from the first line and refuses a CR or LF that is not it: "literal carriage
return found in data", "literal newline found in data"; a raw CR inside a value would
otherwise be a record more), and an empty line in a table of two columns or more
(PostgreSQL reads it as one empty field: "missing data for column"; a one-column table's
empty line is the empty string, as there).
"""

from __future__ import annotations

import codecs
import io
import re
import typing
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse import dialect

#: A field that is exactly this is null; an empty field is the empty string.
NULL = "\\N"

#: any escape but a pair, an octal, hex or letter escape (the backslash pairs made a
#: stand-in first): ``\\c``, ``c`` (:func:`_bytes_of`)
_OTHER = re.compile(rb"\\([^0-7bfnrtvx])", re.DOTALL)
#: the escapes PostgreSQL reads and Python's bytes escapes do not (``\\x`` without two hex
#: digits: one, or none, ``x``), or otherwise (three octal digits past 0o377: PostgreSQL keeps
#: their low 8 bits, Python warns)
_ODD = re.compile(rb"\\(x(?![0-9A-Fa-f]{2})[0-9A-Fa-f]?|[4-7][0-7]{2})")
#: bytes standing in for a backslash pair while the other escapes are read (one the text
#: does not hold)
_PAIR_STAND_INS = tuple(chr(c).encode() for c in range(0xE010, 0xE020))
#: ``\\.`` (its backslash not escaped): PostgreSQL's end-of-data marker
_DOT = re.compile(r"(?<!\\)(?:\\\\)*\\\.")
_LETTERS = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_CHARACTER = re.compile(r"\\(.)", re.DOTALL)
#: an escape making a byte (octal, hex: maybe no UTF-8, or a NUL), ``\.``, or a backslash
#: escaping what ends the field (TAB, a line end, the end): the only ones :func:`value` may
#: refuse, and the only ones not read character by character (a backslash not escaped
#: starts a run of them, read in pairs)
_HARD = re.compile(r"(?<!\\)(?:\\\\)*\\(?:[0-7x.\t\r\n]|\Z)")
#: where :data:`_HARD` may match (a backslash before one of those characters, the pairs not
#: counted): a text without it is read character by character (found at C speed: the pattern
#: opens with its literal)
_SUSPECT = re.compile(r"\\(?:[0-7x.\t\r\n]|\Z)")
#: the text :func:`chunks` gives at once, about (a piece ends at a line end)
CHUNK_CHARS = 1 << 20
#: the bytes :class:`Unescaped` reads at once, at least
CHUNK_BYTES = 1 << 20
_TRAILING = re.compile(r"\\+\Z")
#: characters held for a backslash and a line feed while many fields are read as one text
#: (:func:`_read_simply`): two the fields do not hold
_STAND_INS = tuple(chr(c) for c in range(0xE000, 0xE010))
_LINE_END = re.compile(r"\r\n|\r|\n")
_ESCAPING_END = (
    "it ends with a backslash, which escapes the TAB or line end after it (PostgreSQL's COPY"
    " then reads that character as part of the value, and writes a TAB or a line break in a"
    " value as \\t, \\n or \\r, never so)"
)
#: :data:`_ESCAPING_END` of the file's last field (no line end after it)
_ENDING_FILE = (
    "it ends the file with a backslash, escaping nothing (PostgreSQL's COPY drops it and reads"
    " the value without it; it writes a backslash in a value as \\\\, never alone)"
)


#: the characters a backslash escapes into a value that would otherwise end it (PostgreSQL's
#: COPY reads ``\\<TAB>`` as a TAB in the value, as it reads ``\\t``), each with the letter
#: of the escape that means the same
_SEPARATOR_LETTERS = {"\t": "t", "\n": "n", "\r": "r"}
#: :data:`_SEPARATOR_LETTERS` of bytes: the backslash and the character, then what it is made
_SEPARATOR_BYTES = tuple(
    (b"\\" + c.encode(), b"\\" + letter.encode()) for c, letter in _SEPARATOR_LETTERS.items()
)
_SEPARATOR_TEXT = tuple(("\\" + c, "\\" + letter) for c, letter in _SEPARATOR_LETTERS.items())
#: two bytes standing in for a backslash pair while the escaped separators are made letters
#: (one pair the data does not hold; none is UTF-8, nor a backslash or a separator)
_PAIR_BYTES = (b"\xff\xfe", b"\xfe\xff", b"\xff\xfd", b"\xfd\xff", b"\xc0\x80", b"\xc1\x81")
_PAIR_TEXT = ("\ue020\ue021", "\ue022\ue023", "\ue024\ue025", "\ue026\ue027")
_ESCAPE_BYTES = re.compile(rb"\\(.)", re.DOTALL)
_ESCAPE_TEXT = re.compile(r"\\(.)", re.DOTALL)


def unescape_separators(data: bytes) -> bytes:
    """``data`` (the text format's bytes, from a line's start or after a character that is no
    backslash) with each separator a backslash escapes (:data:`_SEPARATOR_LETTERS`: ``\\``
    then a TAB) made the escape meaning the same (``\\t``): as long, read alike by
    PostgreSQL, and split by a reader of TABs and line ends where PostgreSQL splits it. At C
    speed: the backslash pairs a stand-in first (so each backslash left begins an escape)."""
    if not any(escaped in data for escaped, _ in _SEPARATOR_BYTES):
        return data
    pair = next((p for p in _PAIR_BYTES if p not in data), None)
    if pair is None:  # the data holds every stand-in: escape by escape
        return _ESCAPE_BYTES.sub(_separator_byte, data)
    out = data.replace(b"\\\\", pair)
    for escaped, letter in _SEPARATOR_BYTES:
        out = out.replace(escaped, letter)
    return out.replace(pair, b"\\\\")


def _separator_byte(escape: re.Match[bytes]) -> bytes:
    letter = _SEPARATOR_LETTERS.get(escape[1].decode("latin-1"))
    return escape[0] if letter is None else b"\\" + letter.encode()


def unescape_separators_text(text: str) -> str:
    """:func:`unescape_separators` of a text (the file read)."""
    if not any(escaped in text for escaped, _ in _SEPARATOR_TEXT):
        return text
    pair = next((p for p in _PAIR_TEXT if p not in text), None)
    if pair is None:
        return _ESCAPE_TEXT.sub(_separator_char, text)
    out = text.replace("\\\\", pair)
    for escaped, letter in _SEPARATOR_TEXT:
        out = out.replace(escaped, letter)
    return out.replace(pair, "\\\\")


def _separator_char(escape: re.Match[str]) -> str:
    letter = _SEPARATOR_LETTERS.get(escape[1])
    return escape[0] if letter is None else "\\" + letter


class Unescaped(io.RawIOBase):
    """A stream of the text format (``raw``) with each separator a backslash escapes made the
    escape meaning the same (:func:`unescape_separators`), for pyarrow's reader of TABs and
    line ends: a run of backslashes ending a read is held for the next (the character after it
    may be escaped). The first ``keep_lines`` lines (LF, CRLF or CR ended: the lines before
    the header, no rows) are handed out as they are. As many bytes as ``raw``."""

    def __init__(self, raw: IO[bytes] | io.RawIOBase, keep_lines: int = 0) -> None:
        self._raw = raw
        self._lines = keep_lines  # lines still to hand out as they are
        self._cr = False  # the kept bytes so far end in a CR (an LF next is its CRLF's)
        self._held = b""  # backslashes ending the last read (after the kept lines: their rest)
        self._out = b""  # read, not yet handed out
        self._done = False

    def readable(self) -> bool:
        return True

    def _kept(self, size: int) -> bytes:
        """The next bytes of the lines kept as they are; what follows them in the read, to
        :attr:`_held`."""
        data = self._raw.read(size) or b""
        at = 1 if self._cr and data[:1] == b"\n" else 0
        self._cr = data[-1:] == b"\r"
        for end in _LINE_END_BYTES.finditer(data, at):
            self._lines -= 1
            if not self._lines:
                self._held = data[end.end() :]
                return data[: end.end()]
        self._lines *= bool(data)  # the end: nothing more to keep
        return data

    def readinto(self, buffer: typing.Any) -> int:
        size = max(len(buffer), CHUNK_BYTES)
        while self._lines and not self._out:
            self._out = self._kept(size)
        while not self._out and not self._done:
            data = self._raw.read(size) or b""
            if not data:
                self._done = True  # backslashes ending the file escape nothing
                self._out, self._held = unescape_separators(self._held), b""
                break
            data = self._held + data
            cut = len(data.rstrip(b"\\"))
            self._out, self._held = unescape_separators(data[:cut]), data[cut:]
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


_LINE_END_BYTES = re.compile(rb"\r\n|\r|\n")


class PgTextError(ValueError):
    """A field PostgreSQL's COPY reads otherwise than this reading, or into no UTF-8 text:
    ``why`` (to follow ``line L, column C ('name'): ``)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why
        #: the refused field's index in a column (:func:`values`)
        self.index: int | None = None


def value(raw: str) -> str | None:
    """The value of one field of the text format (``raw``: its characters as the file holds
    them, between TABs): None for ``\\N``, else its escapes read. :class:`PgTextError` when
    PostgreSQL would read it otherwise or into no text."""
    if raw == NULL:
        return None
    if "\0" in raw:
        at = len(raw[: raw.index("\0")].encode("utf-8", "surrogatepass"))
        raise PgTextError(
            f"it holds a NUL byte (byte {at} of the field), which no text holds (PostgreSQL's"
            ' COPY refuses it too, "invalid byte sequence for encoding UTF8: 0x00")'
        )
    if "\\" not in raw:
        return raw
    if _HARD.search(raw) is None:  # each escape one character: \t, \\, \q...
        return _CHARACTER.sub(_character, raw)
    trailing = _TRAILING.search(raw)
    if trailing is not None and len(trailing.group()) % 2:
        raise PgTextError(_ESCAPING_END)
    if _DOT.search(raw) is not None:
        raise PgTextError(
            "it holds \\., PostgreSQL's end-of-data marker (its COPY stops reading there or"
            " refuses the line, and never writes it in a value)"
        )
    out = _bytes_of(raw.encode("utf-8", "surrogatepass"))
    if 0 in out:
        raise PgTextError(
            f"its escapes make a NUL byte (byte {out.index(0)} of the value), which no text"
            " holds (PostgreSQL refuses it too)"
        )
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = bytes(out[exc.start : exc.end])
        raise PgTextError(
            f"its escapes make bytes that are not UTF-8 ({bad!r} at byte {exc.start} of the value)"
        ) from None


def _bytes_of(data: bytes) -> bytes:
    """The bytes PostgreSQL's COPY reads ``data`` (fields as the file holds them, UTF-8) as:
    every escape read, at C speed (no Python per escape but for :data:`_ODD`'s and
    :data:`_OTHER`'s, which COPY never writes). ``data`` holds no ``\\.`` and no backslash
    escaping a TAB, a line end or its end (:func:`value` refuses those first). The backslash
    pairs made a stand-in first (so each backslash left begins an escape), the escapes
    PostgreSQL reads as another character than Python's bytes escapes do are made the escape
    Python reads so (:data:`_ODD`: ``\\x4`` as ``\\x04``, before the others: ``\\x4\\a``
    is the byte 4 then ``a``) or the character (:data:`_OTHER`: ``\\a``, ``\\'``, ``\\8``,
    ``\\é`` as ``a``, ``'``, ``8``, ``é``), the pairs put back, then the whole read by
    Python's reader of bytes escapes (``codecs.escape_decode``: ``\\\\`` ``\\b`` ``\\f``
    ``\\n`` ``\\r`` ``\\t`` ``\\v``, ``\\NNN`` of one to three octal digits up to
    0o377, ``\\xHH``)."""
    pair = next((s for s in _PAIR_STAND_INS if s not in data), None)
    if pair is None:  # the text holds every stand-in: escape by escape
        return _bytes_slowly(data)
    data = data.replace(b"\\\\", pair)
    if b"\\" in data:
        data = _ODD.sub(_odd, data)
        data = _OTHER.sub(_other, data)
    read = codecs.escape_decode(data.replace(pair, b"\\\\"))[0]
    return typing.cast(bytes, read)  # typeshed has it a str; CPython's is bytes


def _odd(escape: re.Match[bytes]) -> bytes:
    body = escape[1]
    if body[:1] == b"x":  # \x: x; \xH: the byte H
        return b"\\x0" + body[1:] if len(body) == 2 else b"x"
    return b"\\%03o" % (int(body, 8) & 0xFF)  # 9 bits cut to 8, as PostgreSQL does


def _other(escape: re.Match[bytes]) -> bytes:
    return escape[1]


_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
_SIMPLE = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _bytes_slowly(data: bytes) -> bytes:
    """:func:`_bytes_of`, escape by escape."""
    out = bytearray()
    at = 0
    for found in _ESCAPE.finditer(data):
        out += data[at : found.start()]
        octal, hexa, other = found.groups()
        if octal is not None:
            out.append(int(octal, 8) & 0xFF)
        elif hexa is not None:
            out.append(int(hexa, 16))
        else:
            out += _SIMPLE.get(other) or other
        at = found.end()
    return bytes(out + data[at:])


def _character(escape: re.Match[str]) -> str:
    letter = escape[1]
    return _LETTERS.get(letter, letter)


def refusal(line: int, column: int, name: str | None, why: str) -> str:
    """Why a file is refused for its field of ``line`` and ``column`` (1-based; ``name``: the
    column's name, None when the header has no such column): the API's and the loader's
    words."""
    named = f" ({_shown(name)})" if name is not None else ""
    return f"line {line}, column {column}{named}: {why}"


def _shown(name: str, most: int = 40) -> str:
    return repr(name) if len(name) <= most else f"{name[:most]!r}... ({len(name):,} characters)"


class Refused(ValueError):
    """A file refused for one field: ``reason`` (:func:`refusal`), its ``line`` and
    ``column`` (the name; None past the header's columns)."""

    def __init__(self, reason: str, line: int, column: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


def names(raw: Sequence[str], line: int) -> list[str]:
    """The header's names (``raw``: its fields as written, on ``line``), read as values;
    :class:`Refused` for one PostgreSQL reads otherwise, or null (``\\N``: a name is never
    null)."""
    read: list[str] = []
    for column, field in enumerate(raw, start=1):
        try:
            name = value(field)
        except PgTextError as exc:
            raise Refused(refusal(line, column, None, exc.why), line, None) from None
        if name is None:
            why = "the name is \\N, PostgreSQL's null: a column's name is never null"
            raise Refused(refusal(line, column, None, why), line, None)
        read.append(name)
    return read


def line_end(line: str) -> str:
    """The line end of ``line`` (the header line, read with ``newline=""``): ``\\r\\n``,
    ``\\r`` or ``\\n`` (LF too when it has none: the file holds no row), the file's line
    end as PostgreSQL's COPY takes it from its first line."""
    if line.endswith("\r\n"):
        return "\r\n"
    return "\r" if line.endswith("\r") else "\n"


#: a CR or LF that is not half of a CRLF
_BARE = re.compile(r"\r(?!\n)|(?<!\r)\n")
_END_NAMES = {"\n": "LF", "\r": "CR", "\r\n": "CRLF"}


def _foreign_end(piece: str, end: str) -> int | None:
    """Where ``piece`` holds the first CR or LF that is not the line end ``end`` (None when
    none does), found at C speed."""
    if end == "\r\n":
        pairs = piece.count("\r\n")
        if piece.count("\r") == pairs and piece.count("\n") == pairs:
            return None
        found = _BARE.search(piece)
        return None if found is None else found.start()
    at = piece.find("\r" if end == "\n" else "\n")
    return None if at < 0 else at


def _layout_problem(
    piece: str, first: int, header: Sequence[str], end: str, written: str | None = None
) -> Refused | None:
    """The first line of ``piece`` (its first line being line ``first``, every line before it
    ended by ``end``) that holds a line end other than ``end``, or that is empty in a table of
    two columns or more (``header``: the names), as PostgreSQL's COPY refuses them.
    ``written``: ``piece`` as the file holds it (its escaped line ends, lines too, counted),
    when :func:`unescape_separators_text` made it ``piece``."""
    written = piece if written is None else written
    foreign = _foreign_end(piece, end)
    empty = None
    if len(header) > 1:
        if piece.startswith(end):
            empty = 0
        else:
            empty = piece.find(end + end)
            empty = None if empty < 0 else empty + len(end)
    if foreign is None and empty is None:
        return None
    if empty is None or (foreign is not None and foreign < empty):
        assert foreign is not None
        line = first + _lines_in(written, foreign)
        cr = piece[foreign] == "\r"
        what = "a carriage return (CR)" if cr else "a line feed (LF)"
        # after a CR a backslash escapes (``\\<CR><LF>``: the CR is the value's): no line end
        escaped_cr = (
            not cr and foreign > 0 and (written[foreign - 1], piece[foreign - 1]) == ("\r", "r")
        )
        line -= escaped_cr
        if end == "\r\n" and escaped_cr:
            what += " after a CR that a backslash escapes (part of the value, no line end)"
        elif end == "\r\n":
            what += " without its LF" if cr else " without a CR before it"
        pg = "literal carriage return found in data" if cr else "literal newline found in data"
        why = (
            f"line {line}: {what}, where the file's lines end in {_END_NAMES[end]} as its"
            f" header line does (PostgreSQL's COPY takes the line end from the first line and"
            f' refuses any other, "{pg}"; it writes {"a CR" if cr else "an LF"} in a value as'
            f" \\{'r' if cr else 'n'})"
        )
        return Refused(why, line, None)
    line = first + _lines_in(written, empty)
    why = (
        f"line {line} is empty, one empty field where the header has {len(header)} columns"
        f' (PostgreSQL\'s COPY refuses it, "missing data for column {header[1]}"; it writes a'
        f" row of empty strings as its TABs)"
    )
    return Refused(why, line, None)


def chunks(text: IO[str], limit: int | None = None, first: int = 1) -> Iterator[str]:
    """``text`` (read with ``newline=""``) in pieces of about :data:`CHUNK_CHARS` characters,
    each ending at a line end (LF, CRLF or CR; the last at the text's end), for
    :func:`rows_problem`. ``limit``: a line (a record) of more bytes raises
    ``dialect.CsvRecordTooLarge`` naming it (``first``: the file's line of the text's first)
    before it is held whole, once the lines before it are handed out."""
    number = first
    while True:
        piece = text.read(CHUNK_CHARS)
        if not piece:
            return
        past = None  # the line going on past the piece, when past the bound
        if not piece.endswith("\n"):  # the line goes on (or a CR whose LF is next)
            if limit is None:
                piece += text.readline()
            else:
                more = text.readline(limit + 1)
                cut = max(piece.rfind("\n"), piece.rfind("\r")) + 1  # the line going on
                line = (piece[cut:] + more).rstrip("\r\n")
                if len(line) > limit or len(line.encode("utf-8", "surrogatepass")) > limit:
                    piece = piece[:cut]  # the lines before it, their problems first
                    past = number + piece.count("\n") + piece.count("\r") - piece.count("\r\n")
                else:
                    piece += more
        if past is None and _escaped_at(piece, len(piece) - 1):  # the record goes on
            piece, past = _record_ended(text, piece, limit, number)
        if limit is not None and 4 * len(piece) > limit:  # a lowered bound: each record
            at = size = 0  # where the line starts; the record's bytes before it
            start = (0, number)  # where the record starts, its line
            for n, line in enumerate(io.StringIO(piece, newline=""), start=number):
                start = start if size else (at, n)
                if size + len(line.rstrip("\r\n").encode("utf-8", "surrogatepass")) > limit:
                    piece, past = piece[: start[0]], start[1]
                    break
                at += len(line)
                # a line end a backslash escapes: the record goes on
                size = (
                    size + len(line.encode("utf-8", "surrogatepass"))
                    if _escaped_at(line, len(line) - 1)
                    else 0
                )
        if piece:
            number += piece.count("\n") + piece.count("\r") - piece.count("\r\n")
            yield piece
        if past is not None:
            raise dialect.CsvRecordTooLarge(past, limit or 0)


def _escaped_at(text: str, at: int) -> bool:
    """Whether ``text[at]`` is a line end a backslash escapes (an odd run of them before it)."""
    if at < 0 or text[at] not in "\r\n":
        return False
    run = at
    while run > 0 and text[run - 1] == "\\":
        run -= 1
    return (at - run) % 2 == 1


def _record_ended(
    text: IO[str], piece: str, limit: int | None, number: int
) -> tuple[str, int | None]:
    """``piece`` (from ``text``, its first line being line ``number``) whose last line end a
    backslash escapes, with the lines of ``text`` that its record goes on to (PostgreSQL reads
    the line end as part of the value): a piece never ends inside a record. A record past
    ``limit`` bytes: the lines before it, and its line (the bound, ``CsvRecordTooLarge``)."""
    start = len(piece) - 1  # the record's start: after the last line end no backslash escapes
    while True:
        start = max(piece.rfind("\n", 0, start), piece.rfind("\r", 0, start))
        if not _escaped_at(piece, start):
            start += 1
            break
    size = len(piece[start:].encode("utf-8", "surrogatepass"))
    while _escaped_at(piece, len(piece) - 1):
        more = text.readline() if limit is None else text.readline(limit + 1)
        if not more:
            break
        piece += more
        size += len(more.encode("utf-8", "surrogatepass"))
        if limit is not None and size - len(more) + len(more.rstrip("\r\n")) > limit:
            before = piece[:start]
            lines = before.count("\n") + before.count("\r") - before.count("\r\n")
            return before, number + lines
    return piece, None


class Escapes:
    """Whether :func:`rows_problem` met a separator a backslash escapes (``found``): the file's
    readers then split it as :class:`Unescaped` hands it out."""

    def __init__(self) -> None:
        self.found = False


def rows_problem(
    pieces: Iterable[str],
    first: int,
    header: Sequence[str],
    end: str,
    escapes: Escapes | None = None,
) -> Refused | None:
    """The first line of the rows PostgreSQL's COPY reads otherwise, as a :class:`Refused`
    naming it (and the column, ``header`` being the names): a field :func:`value` refuses, a
    line end other than ``end`` (the header line's, :func:`line_end`), an empty line in a
    table of two columns or more; None when there is none (the first named on one line: the
    line end or the empty line). ``pieces``: the rows' text, each piece ending at a line end
    but the last (lines, or :func:`chunks`), the first line being line ``first`` of the file.
    A piece where no field can be refused (:data:`_SUSPECT`) is counted, not read.
    ``escapes``: told when a backslash escapes a separator (:class:`Escapes`)."""
    number = first
    for written in pieces:
        piece = written
        suspect = _SUSPECT.search(piece) is not None or "\0" in piece
        refusable = suspect and not _clean(piece)  # a backslash before a TAB is not clean
        if refusable:
            piece = unescape_separators_text(written)  # split as PostgreSQL splits it
            if piece != written:
                if escapes is not None:
                    escapes.found = True
                refusable = not _clean(piece)
        layout = _layout_problem(piece, number, header, end, written)
        if refusable:
            found = _lines_problem(piece, number, header, written)
            if found is not None and (layout is None or _before(found, layout)):
                return found
        if layout is not None:
            return layout
        # the file's lines (LF, CRLF, CR; none but ``end`` in a piece not refused, unless
        # a backslash escapes it)
        number += written.count(end) if piece is written else _lines_in(written, len(written))
    return None


def _lines_in(text: str, stop: int) -> int:
    """The line ends (LF, CRLF or CR) of ``text`` before ``stop``: the file's lines."""
    return text.count("\n", 0, stop) + text.count("\r", 0, stop) - text.count("\r\n", 0, stop)


def _before(found: Refused, layout: Refused) -> bool:
    """Whether the field refused (``found``) is named before the line end or empty line
    (``layout``): on an earlier line, or on the same when a backslash escapes that line end
    (PostgreSQL reads the CR or LF as part of the value, refusing no line end)."""
    return found.line < layout.line or (
        found.line == layout.line and found.reason.endswith(_ESCAPING_END)
    )


def _lines_problem(piece: str, first: int, header: Sequence[str], written: str) -> Refused | None:
    """The first record of ``piece`` (lines of the text format, its escaped separators made
    letters; ``written``: as the file holds it, its first line being line ``first``) holding a
    field :func:`value` refuses, named by the line of the file it starts on."""
    at = 0  # where the record starts in the piece
    for line in io.StringIO(piece, newline=""):
        at += len(line)
        if "\0" not in line and ("\\" not in line or _HARD.search(line) is None):
            continue
        number = first + _lines_in(written, at - len(line))
        ended = _LINE_END.search(line)
        text = line[: ended.start()] if ended is not None else line
        fields = text.split("\t")
        for column, field in enumerate(fields, start=1):
            if "\\" not in field and "\0" not in field:
                continue
            try:
                value(field)
            except PgTextError as exc:
                name = header[column - 1] if column <= len(header) else None
                why = exc.why
                if why == _ESCAPING_END and ended is None and column == len(fields):
                    why = _ENDING_FILE  # no TAB or line end after it: the file's end
                return Refused(refusal(number, column, name, why), number, name)
    return None


def values(array: pa.Array) -> pa.Array:
    """A column of fields (``\\N`` already read as null: the CSV readers' null value) as the
    values they hold: the fields holding a backslash read as :func:`value` reads them (the
    others are their text). :class:`PgTextError` for the first it refuses, its index in
    ``array`` as ``index``."""
    holds = pc.or_(pc.match_substring(array, "\\"), pc.match_substring(array, "\0"))
    holds = pc.fill_null(holds, False)
    if not pc.any(holds).as_py():
        return array
    at = pc.indices_nonzero(holds).to_pylist()
    try:
        read = _read(array.filter(holds).to_pylist())
    except PgTextError as exc:
        exc.index = at[exc.index or 0]
        raise
    return pc.replace_with_mask(array, holds, pa.array(read, array.type))


def _read(raws: list[str]) -> list[str | None]:
    """:func:`value` of each of ``raws`` (none ``\\N``; :class:`PgTextError` with the index
    of the first refused), all at once: by :func:`_read_simply` when no escape but of one
    character each may be there, else by :func:`_read_escaped`."""
    joined = "\n".join(raws)  # a field holds no line feed: it ends the record (the readers')
    if joined.count("\n") != len(raws) - 1:  # one does: one by one
        return _one_by_one(raws)
    if _SUSPECT.search(joined) is not None or "\0" in joined:
        return _read_escaped(joined, raws)
    return _read_simply(joined, raws)


def _read_escaped(joined: str, raws: list[str]) -> list[str | None]:
    """:func:`value` of each of ``raws`` (``joined``: them joined by line feeds, which they do
    not hold; none ``\\N``; :class:`PgTextError` with the index of the first refused): read
    as one text (:func:`_bytes_of`), a character none holds between them, when none is refused
    and that character is made by no escape; else one by one."""
    between = next((c for c in _STAND_INS if c not in joined), None)
    if between is None:
        return _one_by_one(raws)
    joined = joined.replace("\n", between)
    unpaired = joined.replace("\\\\", "")  # each backslash left begins an escape
    if "\\." in unpaired or "\\" + between in unpaired or unpaired.endswith("\\"):
        return _one_by_one(raws)  # one refused: the first of them named
    out = _bytes_of(joined.encode("utf-8", "surrogatepass"))
    if 0 in out:
        return _one_by_one(raws)
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        return _one_by_one(raws)
    if text.count(between) != len(raws) - 1:  # an escape made it
        return _one_by_one(raws)
    return list(text.split(between))


def _clean(piece: str) -> bool:
    """Whether no field of ``piece`` (lines of the text format) can be refused, found at C
    speed: no ``\\.``, no backslash escaping a TAB, a line end or the end, and the bytes its
    escapes make UTF-8 without a NUL (the TABs and line ends between the fields being ASCII,
    the bytes of every field are UTF-8 when the whole is)."""
    unpaired = piece.replace("\\\\", "")  # each backslash left begins an escape
    if unpaired.endswith("\\") or any("\\" + c in unpaired for c in ".\t\r\n"):
        return False
    out = _bytes_of(piece.encode("utf-8", "surrogatepass"))
    if 0 in out:
        return False
    try:
        out.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_simply(joined: str, raws: list[str]) -> list[str | None]:
    """The values of ``raws`` (``joined``: them joined by line feeds, which they do not hold)
    whose escapes each make one character (no octal or hex, no ``\\.``, no backslash ending
    one): read as one text by C-speed replacements, a character none holds between them. A
    backslash pair stands in for one backslash first, so every other backslash begins an
    escape of the character after it."""
    if "\\" not in joined:
        return list(raws)
    free = [c for c in _STAND_INS if c not in joined]
    if len(free) < 2:  # fields holding them all: one by one
        return _one_by_one(raws)
    backslash, between = free[:2]
    text = joined.replace("\n", between).replace("\\\\", backslash)
    for letter, char in _LETTERS.items():
        text = text.replace("\\" + letter, char)
    if "\\" in text:  # any other \c: c
        text = _CHARACTER.sub(r"\1", text)
    return list(text.replace(backslash, "\\").split(between))


def _one_by_one(raws: list[str]) -> list[str | None]:
    read: list[str | None] = []
    for index, raw in enumerate(raws):
        try:
            read.append(value(raw))
        except PgTextError as exc:
            exc.index = index
            raise
    return read
