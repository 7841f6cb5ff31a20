"""The size of one JSON record, bounded alike by the ingest API and the loader.

A record is an NDJSON line (its line feed not counted), or a ``.json`` file's top-level value:
an array's element, or one of the objects that follow one another. A record of more than
``max_json_record_bytes`` (settings) is refused before it is held whole: by the API with a 413,
by the loader as ``too_large``, in the words of :func:`too_large_reason` (``docs/loading.md``,
JSON and NDJSON, Size of a record). *Why:* DuckDB's JSON reader needs several times a record's
size (a 300 MiB record took the loader to 4.2 GB; 400 MiB aborted it with std::bad_alloc),
and the API's reader holds a record whole; one documented bound keeps both within their
memory whatever the file's shape.

:class:`LineLengths` and :class:`ValueLengths` measure records a block at a time (nothing but
the block and a few counters held): the loader runs them over a file before DuckDB reads it,
when DuckDB's own bound would not tell (:mod:`loader.readers`).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

#: The setting that bounds a record, named in every refusal
SETTING = "max_json_record_bytes"


def too_large_reason(unit: str, number: int, limit: int) -> str:
    """Why a file is refused: its ``unit`` (``line`` of NDJSON, ``record`` of a ``.json``)
    ``number`` (from 1) holds more than ``limit`` bytes. The API's 413 and the loader's
    ``too_large`` say it so."""
    return f"{unit} {number} is a JSON record larger than the limit of {limit} bytes ({SETTING})"


class RecordTooLarge(ValueError):
    """A record past the bound: ``unit`` ``number`` (from 1)."""

    def __init__(self, unit: str, number: int, limit: int) -> None:
        super().__init__(too_large_reason(unit, number, limit))
        self.unit = unit
        self.number = number


class LineLengths:
    """The lines of an NDJSON text fed a block at a time: :meth:`feed` raises
    :class:`RecordTooLarge` naming the first line (from 1) longer than ``limit`` bytes (its
    line feed not counted), as soon as it has passed the bound; ``longest`` is the longest
    line fed so far. The line feeds are found by Arrow (no Python per line)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lines = 0  # lines ended before the block being fed
        self.run = 0  # bytes since the last line feed
        self.longest = 0

    def feed(self, block: bytes) -> None:
        if not block:
            return
        data = pa.Array.from_buffers(pa.uint8(), len(block), [None, pa.py_buffer(block)])
        ends = pc.indices_nonzero(pc.equal(data, 10))
        if len(ends) == 0:
            self._ran(self.run + len(block))
            return
        first = ends[0].as_py()
        self._ran(self.run + first)
        if len(ends) > 1:
            gaps = pc.subtract(ends.slice(1), ends.slice(0, len(ends) - 1))  # length + 1
            longest = pc.max(gaps).as_py() - 1
            if longest > self.limit:
                index = pc.indices_nonzero(pc.greater(gaps, self.limit + 1))[0].as_py()
                raise RecordTooLarge("line", self.lines + index + 2, self.limit)
            self.longest = max(self.longest, longest)
        self.lines += len(ends)
        self.run = 0
        self._ran(len(block) - ends[-1].as_py() - 1)

    def _ran(self, run: int) -> None:
        """The current line holds ``run`` bytes so far."""
        if run > self.limit:
            raise RecordTooLarge("line", self.lines + 1, self.limit)
        self.run = run
        self.longest = max(self.longest, run)


#: the rest of a string from inside it: up to its closing quote, or a backslash ending the text
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
#: the rest of a literal (a number, true, false, null, or anything else unquoted)
_LITERAL_REST = re.compile(rb'[^ \t\r\n\[\]{}",:]*')
#: where a record may open or close between records: a bracket, a quote, a literal
_OUTER = re.compile(rb'[\[\]{}"]|[^ \t\r\n\[\]{}",:]')
#: what changes the depth inside a record: a bracket or a string's quote
_INNER = re.compile(rb'[\[\]{}"]')


class ValueLengths:
    """The records of a ``.json`` text (an array's elements, or values one after another; a
    byte-order mark already dropped) fed a block at a time: :meth:`feed` raises
    :class:`RecordTooLarge` naming the first record (from 1) of more than ``limit`` bytes, as
    soon as it has passed the bound; ``longest`` is the longest record fed so far. Records are
    found by their brackets and strings (escapes read), not parsed: whether the text is JSON
    is the reader's to say."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.longest = 0
        self.records = 0
        self._offset = 0  # of the block being fed, in the text
        self._array: bool | None = None  # None until the first token
        self._base = 0  # the depth records open at: 1 in an array
        self._depth = 0
        self._start: int | None = None  # the open record's first byte
        self._string = False
        self._escape = False  # a backslash ended the last block, inside a string
        self._literal = False
        self._done = False  # past the array's end

    def feed(self, block: bytes) -> None:
        pos, n = 0, len(block)
        while pos < n and not self._done:
            if self._string:
                pos = self._string_rest(block, pos)
            elif self._literal:
                found = _LITERAL_REST.match(block, pos)
                pos = found.end() if found is not None else pos
                if pos < n:
                    self._literal = False
                    self._end(pos)
            else:
                token = (_OUTER if self._depth == self._base else _INNER).search(block, pos)
                if token is None:
                    break
                pos = token.start() + 1
                self._token(block[token.start()], token.start())
        self._offset += n
        if self._start is not None and self._offset - self._start > self.limit:
            raise RecordTooLarge("record", self.records, self.limit)

    def _string_rest(self, block: bytes, pos: int) -> int:
        """Past the string ``pos`` is inside of: to its closing quote, or the block's end."""
        if self._escape:
            self._escape = False
            return pos + 1
        found = _STRING_REST.match(block, pos)
        pos = found.end() if found is not None else pos
        if pos >= len(block):
            return pos
        if block[pos] == 0x5C:  # a backslash ends the block: what it escapes follows
            self._escape = True
            return pos + 1
        self._string = False  # the closing quote
        if self._depth == self._base:
            self._end(pos + 1)
        return pos + 1

    def _token(self, byte: int, at: int) -> None:
        """A bracket, a quote, or a literal's first byte at ``at`` of the block."""
        if self._array is None:
            self._array = byte == 0x5B
            if self._array:
                self._base = self._depth = 1
                return
        if byte == 0x22:  # a quote
            if self._depth == self._base:
                self._open(at)
            self._string = True
        elif byte in b"[{":
            if self._depth == self._base:
                self._open(at)
            self._depth += 1
        elif byte in b"]}":
            self._depth -= 1
            if self._depth == self._base:
                self._end(at + 1)
            elif self._depth < self._base:
                self._done = True  # the array's end: what follows is not ours to size
        else:
            self._open(at)
            self._literal = True

    def finish(self) -> None:
        """The text has ended: a literal ending it ends its record."""
        if self._literal:
            self._literal = False
            self._end(0)

    def _open(self, at: int) -> None:
        self.records += 1
        self._start = self._offset + at

    def _end(self, pos: int) -> None:
        if self._start is None:
            return
        size = self._offset + pos - self._start
        self._start = None
        if size > self.limit:
            raise RecordTooLarge("record", self.records, self.limit)
        self.longest = max(self.longest, size)
