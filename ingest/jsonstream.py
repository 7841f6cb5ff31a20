"""The records of a ``.json`` file read piece by piece (bounded memory), whatever its size.

A ``.json`` file is an array of objects or objects one after another (``docs/loading.md``).
:func:`json_values` yields each top-level value's bytes (an array's elements), reading the
file a block at a time: msgspec parses one value from where the last ended and names where it
stops (its "trailing characters" error), so no value is parsed twice unless it spans a block
(then the block grows, doubling). What each value holds is checked by the caller, as a record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

import msgspec

from ingest.validation import JSON_SPACE as _SPACE
from ingest.validation import BodyError, _blank_line_end, too_deep_refusal
from lakehouse import dialect
from lakehouse.jsonrecords import RecordTooLarge

_TRUNCATED = "Input data was truncated"
_AT = re.compile(r"\(byte (\d+)\)$")
#: the first byte that is no JSON whitespace (``_SPACE``)
_NOT_SPACE = re.compile(rb"[^ \t\n\r]")


class _Reader:
    """A file's bytes from ``pos`` on, in a buffer refilled a block at a time."""

    def __init__(self, f: IO[bytes], first: bytes, block: int, limit: int | None) -> None:
        self.f = f
        self.limit = limit  # a record's most bytes (max_json_record_bytes): refused past it
        self.buf = first
        self.pos = 0
        self.block = block
        self.eof = False
        self.blank_lines = True  # a line holding only whitespace, VT/FF too, is passed as blank
        self.line_blank = True  # the line up to ``pos`` holds only whitespace
        self.at = 0  # the offset in the text of ``buf[0]``
        self.stray: int | None = None  # the offset of the first VT/FF passed on a blank line
        #: no value read so far is a scalar (JSON values one after another): the loader then
        #: reads the records' kinds before it judges the text (validation.too_deep_refusal)
        self.kinds = True

    def more(self, at_least: int = 0) -> bool:
        """Read another block (at least ``at_least`` bytes); False at the end of the file."""
        if self.eof:
            return False
        data = self.f.read(max(self.block, at_least))
        if not data:
            self.eof = True
            return False
        self.at += self.pos
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def skip_space(self) -> bytes:
        """The next byte that is not JSON whitespace (consumed: no), or b"" at the end; with
        ``blank_lines``, a line holding nothing but whitespace, a vertical tab or form feed
        included, is passed as blank too (``validation._blank_line_end``, docs/loading.md,
        Whitespace), its first such byte's offset kept in ``stray``."""
        while True:
            found = _NOT_SPACE.search(self.buf, self.pos)  # not byte by byte: 17 MiB took 10 s
            stop = len(self.buf) if found is None else found.start()
            if self.buf.find(b"\n", self.pos, stop) >= 0:
                self.line_blank = True
            self.pos = stop
            if self.pos < len(self.buf):
                if self.buf[self.pos] in b"\x0b\x0c" and self.blank_lines and self.line_blank:
                    end = self._blank_line_end()
                    if end is not None:
                        if self.stray is None:
                            self.stray = self.at + self.pos
                        self.pos = end
                        continue
                return self.buf[self.pos : self.pos + 1]
            if not self.more():
                return b""

    def _blank_line_end(self) -> int | None:
        """Where the line from ``pos`` ends (its line feed, or the end of the text), when it
        holds nothing but whitespace from there; the line before ``pos`` holds only whitespace
        (``line_blank``), dropped from ``buf`` or not. Reads on past the whitespace only."""
        look = self.pos
        while True:
            while look < len(self.buf) and self.buf[look] in b" \t\r\x0b\x0c":
                look += 1
            if look < len(self.buf):
                break
            kept = self.pos
            if not self.more():
                break
            look -= kept
        return _blank_line_end(self.buf, self.pos)

    def value(self, index: int) -> bytes:
        """The JSON value starting at ``pos`` (consumed), up to the first byte after it."""
        while True:
            view = memoryview(self.buf)[self.pos :]
            try:
                msgspec.json.decode(view, type=msgspec.Raw)
            except RecursionError:  # nested past msgspec's limit: the depth rule's refusal
                found = dialect.too_deep_at(bytes(view))
                if found is not None and not found.closed and not self.eof:
                    self._within(len(view), index)  # the record spans the block: read on
                    if self.more(len(view)):
                        continue
                raise too_deep_refusal(found, index, kinds=self.kinds) from None
            except msgspec.DecodeError as exc:
                end = dialect.json_value_end(str(exc))
                if end is not None:
                    stop = self.pos + end
                    value = self.buf[self.pos : stop].rstrip(_SPACE)
                    self._within(len(value), index)
                    self.line_blank = b"\n" in self.buf[self.pos + len(value) : stop]
                    self.pos = stop
                    return value
                lone = dialect.lone_surrogate_reason(str(exc), view, whole=False)
                if lone is not None:  # msgspec says "truncated": no reading on helps
                    raise BodyError(lone, row=index, unit="record") from None
                at_end = _AT.search(str(exc))  # "invalid number (byte N)" for a cut "1e"
                cut = str(exc) == _TRUNCATED or (at_end is not None and int(at_end[1]) >= len(view))
                if cut and not self.eof:  # the value spans the block: read on, within the bound
                    self._within(len(view), index)
                    if self.more(len(view)):
                        continue
                why = dialect.json_byte_shifted(str(exc), self.at + self.pos)  # the text's byte
                raise BodyError(why, row=index, unit="record") from None
            # the rest of the buffer is one value: at the file's end, or cut by the block
            if not self.eof and self.limit is not None and len(view) > self.limit:
                self._within(len(self.buf[self.pos :].rstrip(_SPACE)), index)
            if not self.more(len(view)):
                value = self.buf[self.pos :].rstrip(_SPACE)
                self._within(len(value), index)
                self.line_blank = b"\n" in self.buf[self.pos + len(value) :]
                self.pos = len(self.buf)
                return value

    def _within(self, size: int, index: int) -> None:
        """Record ``index`` (0-based) holds at least ``size`` bytes: refused past the bound,
        before more of it is read (``lakehouse.jsonrecords``, the loader's words)."""
        if self.limit is not None and size > self.limit:
            raise RecordTooLarge("record", index + 1, self.limit)


def json_values(
    f: IO[bytes], first: bytes, *, block: int, limit: int | None = None
) -> Iterator[bytes]:
    """Each record of the ``.json`` text ``first`` + the rest of ``f`` (its byte-order mark
    dropped): an array's elements, or the values one after another. Raises :class:`BodyError`
    naming the record (0-based) where the text is no such JSON, :class:`RecordTooLarge` at the
    first record of more than ``limit`` bytes, before more than about twice ``limit`` of it is
    read."""
    reader = _Reader(f, first, block, limit)
    head = reader.skip_space()
    if head == b"[" and reader.stray is not None:  # an array is one JSON text: refused
        raise BodyError(f"JSON is malformed: invalid character (byte {reader.stray})")
    reader.blank_lines = head != b"["
    if head != b"[":
        index = 0
        while reader.skip_space():
            value = reader.value(index)
            reader.kinds = reader.kinds and value[:1] in (b"{", b"[")
            yield value
            index += 1
        return
    reader.pos += 1
    index = 0
    if reader.skip_space() == b"]":
        reader.pos += 1
    else:
        while True:
            if not reader.skip_space():
                raise BodyError(dialect.JSON_ARRAY_CUT)
            yield reader.value(index)
            index += 1
            after = reader.skip_space()
            reader.pos += 1
            if after == b"]":
                break
            if not after:
                raise BodyError(dialect.JSON_ARRAY_CUT)
            if after != b",":  # msgspec's words and byte, as the small file's and the loader's
                at = reader.at + reader.pos - 1
                raise BodyError(
                    f"JSON is malformed: expected ',' or ']' (byte {at})",
                    row=index - 1,
                    unit="record",
                )
    if reader.skip_space():
        reader.more(16)  # the text shown
        raise BodyError(dialect.json_after_array(reader.buf[reader.pos :]))
