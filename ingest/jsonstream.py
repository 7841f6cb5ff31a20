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
from ingest.validation import BodyError
from lakehouse import dialect

_TRUNCATED = "Input data was truncated"
_AT = re.compile(r"\(byte (\d+)\)$")


class _Reader:
    """A file's bytes from ``pos`` on, in a buffer refilled a block at a time."""

    def __init__(self, f: IO[bytes], first: bytes, block: int) -> None:
        self.f = f
        self.buf = first
        self.pos = 0
        self.block = block
        self.eof = False

    def more(self, at_least: int = 0) -> bool:
        """Read another block (at least ``at_least`` bytes); False at the end of the file."""
        if self.eof:
            return False
        data = self.f.read(max(self.block, at_least))
        if not data:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def skip_space(self) -> bytes:
        """The next byte that is not JSON whitespace (consumed: no), or b"" at the end."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _SPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos : self.pos + 1]
            if not self.more():
                return b""

    def value(self, index: int) -> bytes:
        """The JSON value starting at ``pos`` (consumed), up to the first byte after it."""
        while True:
            view = memoryview(self.buf)[self.pos :]
            try:
                msgspec.json.decode(view, type=msgspec.Raw)
            except RecursionError:  # nested past msgspec's limit: the depth rule's refusal
                why = dialect.too_deep(bytes(view)) or "nested too deeply"
                raise BodyError(why, row=index, unit="record") from None
            except msgspec.DecodeError as exc:
                end = dialect.json_value_end(str(exc))
                if end is not None:
                    stop = self.pos + end
                    value = self.buf[self.pos : stop].rstrip(_SPACE)
                    self.pos = stop
                    return value
                at_end = _AT.search(str(exc))  # "invalid number (byte N)" for a cut "1e"
                cut = str(exc) == _TRUNCATED or (at_end is not None and int(at_end[1]) >= len(view))
                if cut and self.more(len(view)):  # the value spans the block: read on
                    continue
                raise BodyError(str(exc), row=index, unit="record") from None
            # the rest of the buffer is one value: at the file's end, or cut by the block
            if not self.more(len(view)):
                value = self.buf[self.pos :].rstrip(_SPACE)
                self.pos = len(self.buf)
                return value


def json_values(f: IO[bytes], first: bytes, *, block: int) -> Iterator[bytes]:
    """Each record of the ``.json`` text ``first`` + the rest of ``f`` (its byte-order mark
    dropped): an array's elements, or the values one after another. Raises :class:`BodyError`
    naming the record (0-based) where the text is no such JSON."""
    reader = _Reader(f, first, block)
    head = reader.skip_space()
    if head != b"[":
        index = 0
        while reader.skip_space():
            yield reader.value(index)
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
            if after != b",":
                raise BodyError(
                    f"JSON is malformed: {after!r} after an array element, not ',' or ']'",
                    row=index - 1,
                    unit="record",
                )
    if reader.skip_space():
        reader.more(16)  # the text shown
        raise BodyError(dialect.json_after_array(reader.buf[reader.pos :]))
