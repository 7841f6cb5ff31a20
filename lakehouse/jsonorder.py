"""The one order in which a refused JSON or NDJSON file's problem is named (docs/loading.md,
Refusals), for the API and the loader alike.

Each side checks a file its own fast way (the API by msgspec a piece at a time, the loader
by DuckDB with the keys of its first records): a file holding two problems was named by its
first problem on one side and its second on the other (review finding revc 02 of session 18:
228 of 840 files of two problems). So once either side has found *any* problem of a JSON
file, it asks :func:`first_problem` which one the file is refused for, and names that: the
work is spent on the refusal's path only, never on a file that loads.

The order:

1. the records in turn, the first failing one named; of each record its text (msgspec's
   words; of a ``.json`` file the whole text's, at the byte of the text), then its kind (a
   record that is no object; before its depth, as a record nested too deep that is no object
   and closes is refused as no object), then its nesting (``dialect.MAX_JSON_DEPTH``), then a
   key repeated in any of its objects;
2. then the column names, over the union of every record's keys in the order first seen
   (``dialect.name_problem``: blank, a control character, reserved, twins, too many): a name
   problem is the file's, not a record's, and is known only once every record has been read,
   so it comes after every record's own problem (the API knows a file's keys only once its
   records parse; the loader's list of keys came from its first 20,480 records only);

A record past ``max_json_record_bytes``: before all of these, over the whole file
(:class:`lakehouse.jsonrecords.RecordTooLarge`, raised for each side to say in its words; one
pass of the file's lengths first, so a later record past the bound is named before an earlier
record's problem, as the loader's reading measures every record first). A byte that is not
UTF-8, a doubled byte-order mark, a file of no record, a ``.json`` array cut short: named
before all of these, by each
side's own checks; records holding no key at all
(only empty objects, a file's only problem then), a name equal but for case to the table's, a
value misfitting the contract: after them, by each side's own checks (None here: not judged).
"""

from __future__ import annotations

import contextlib
import io
import mmap
import shutil
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import msgspec

from lakehouse import dialect, jsontext, nested
from lakehouse.formats import open_bounded
from lakehouse.jsonrecords import LineLengths, RecordTooLarge, ValueLengths

What = Literal["text", "not_object", "deep", "repeated", "names"]

#: records judged at a time by one decode each (the API's ``ingest.validation.SLICE``)
SLICE = 8192
#: a slice's most bytes, however few its records: the refusal's path holds a slice's records
#: decoded at once (a slice of 8,192 records of 256 KiB held 1.2 GiB: review finding reada 01)
SLICE_BYTES = 4 * 1024**2
_BLOCK = 8 * 1024**2
_SPACE = b" \t\r\n"
_DECODE_ONE = msgspec.json.Decoder(dict[str, Any])
_RAW_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ENCODE = msgspec.json.Encoder()


class _Unjudged(Exception):
    """The file is not judged here (a byte that is not UTF-8, nesting past msgspec's limit):
    each side's own refusal stands."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a JSON file is refused, where: ``record`` (from 0, among the records: the API's
    ``row``), ``line`` (an NDJSON record's line in the file, from 1, blank lines counted),
    ``field`` (the API's: a repeated key's path, a column too deep), ``column`` (the
    loader's: the record's top-level key it is about, or the name at fault)."""

    what: What
    why: str
    ndjson: bool
    record: int | None = None
    line: int | None = None
    field: str | None = None
    column: str | None = None

    @property
    def where(self) -> str | None:
        """``line N`` of NDJSON, ``record N`` of a ``.json`` (None: the file's)."""
        if self.ndjson and self.line is not None:
            return f"line {self.line}"
        return None if self.record is None else f"record {self.record + 1}"

    def said(self) -> str:
        """The loader's reason (the API's 400 detail, or its 422 ``msg`` after the place)."""
        where = self.where
        if self.what == "text":
            return dialect.malformed_json(self.why, where)
        why = self.why
        if self.what == "repeated" and self.column is not None:  # a key inside column
            why = f"column {self.column!r}: {why}"
        return why if where is None else dialect.placed(where, why)


def first_problem(
    path: Path,
    *,
    ndjson: bool,
    gz: bool,
    max_bytes: int,
    max_ratio: float,
    max_record_bytes: int,
    scratch: Path | None = None,
    inflated: BinaryIO | None = None,
) -> Problem | None:
    """The problem a JSON (``ndjson``: NDJSON) file is refused for, in the order above; None
    when none of them is found (or the file is not judged here: its side's own refusal).
    :class:`~lakehouse.jsonrecords.RecordTooLarge` for the first record past
    ``max_record_bytes``, before any. ``scratch``: where a gzipped ``.json`` file is inflated
    to be read whole (None: the system's temporary folder); ``inflated``: the gzipped file
    already inflated there (:func:`inflated_copy`), read instead of inflating it again."""
    try:
        _measured(path, ndjson, gz, max_bytes, max_ratio, max_record_bytes, inflated)
    except RecordTooLarge:
        raise
    except _NOT_JUDGED:
        return None
    try:
        if ndjson:
            with _opened(path, gz, max_bytes, max_ratio, inflated) as f:
                return _judged(_ndjson_records(f), ndjson=True)
        with _whole(path, gz, max_bytes, max_ratio, scratch, inflated) as text:
            records = _json_records(text)
            try:  # within the mapping: no view of it left behind (its frames) when it closes
                return _judged(records, ndjson=False)
            except _NOT_JUDGED:
                return None
            finally:
                records.close()
    except _NOT_JUDGED:
        return None


_NOT_JUDGED = (_Unjudged, ValueError, OSError, EOFError, RecursionError)


def _opened(
    path: Path, gz: bool, max_bytes: int, max_ratio: float, inflated: BinaryIO | None
) -> contextlib.AbstractContextManager[BinaryIO]:
    """The file's bytes (inflated), from its start: ``inflated`` when given (left open)."""
    if inflated is None or not gz:
        return open_bounded(path, gz, max_bytes, max_ratio)
    inflated.seek(0)
    return contextlib.nullcontext(inflated)


def _measured(
    path: Path,
    ndjson: bool,
    gz: bool,
    max_bytes: int,
    max_ratio: float,
    most: int,
    inflated: BinaryIO | None = None,
) -> None:
    """Every record's length measured (``RecordTooLarge`` at the first past ``most``), a block
    at a time: the judging after it holds no record past the bound."""
    lengths = LineLengths(most) if ndjson else ValueLengths(most)
    with _opened(path, gz, max_bytes, max_ratio, inflated) as f:
        first = True
        while block := f.read(_BLOCK):
            if first:
                block, first = block.removeprefix(dialect.BOM_UTF8), False
            lengths.feed(block)
    if isinstance(lengths, ValueLengths):
        lengths.finish()


def first_problem_in(data: bytes, *, ndjson: bool) -> Problem | None:
    """:func:`first_problem` of a body held whole (the API's ``/records``)."""
    try:
        if ndjson:
            return _judged(_ndjson_records(io.BytesIO(data)), ndjson=True)
        with memoryview(data) as text:
            records = _json_records(text)
            try:
                return _judged(records, ndjson=False)
            finally:
                records.close()
    except _NOT_JUDGED:
        return None


# -- records ------------------------------------------------------------------------------------

#: a record's text and its line (NDJSON), or a text problem (a ``.json``) ending the records
_Item = tuple[bytes, int | None] | Problem


def _ndjson_records(f: BinaryIO) -> Iterator[_Item]:
    """An NDJSON file's non-blank lines and their lines (from 1), a byte-order mark opening
    the file dropped."""
    number = 0
    rest = b""
    first = True
    while True:
        block = f.read(_BLOCK)
        data = rest + block
        if first:
            if dialect.second_bom(data[:8]) is not None:
                raise _Unjudged
            data = data.removeprefix(dialect.BOM_UTF8)
            first = False
        cut = data.rfind(b"\n") + 1 if block else len(data)
        chunk, rest = data[:cut], data[cut:]
        lines = chunk.split(b"\n") if chunk else []
        for line in lines[:-1] if chunk.endswith(b"\n") else lines:
            number += 1
            if line.strip():
                yield line, number
        if not block:
            return


def _json_records(text: memoryview) -> Generator[_Item, None, None]:
    """A ``.json`` text's records (an array's elements, or values one after another), then the
    problem of its text, if any (msgspec's words for the whole text: each record before it
    parsed, so msgspec stops in the record it is in, or after the records)."""
    if dialect.second_bom(bytes(text[:8])) is not None:
        raise _Unjudged
    start = 3 if bytes(text[:3]) == dialect.BOM_UTF8 else 0
    with text[start:] as body:
        yield from _json_values(body)


def _json_values(body: memoryview) -> Iterator[_Item]:
    size = len(body)
    if not bytes(body[:_BLANK_PEEK]).strip() and not _has_text(body):
        return  # blanks only (a form feed among them): no records, each side's words
    pos = _skip(body, 0)
    array = pos < size and body[pos] == ord("[")
    if array:
        pos = _skip(body, pos + 1)
        if pos < size and body[pos] == ord("]"):
            return  # no records: each side's words
    while pos < size:
        end = _value_end(body, pos)
        if end is None or (end == size and array):  # its text; an array cut short
            yield _text_problem(body)
            return
        yield bytes(body[pos:end]).rstrip(_SPACE), None
        pos = _skip(body, end)
        if array:
            if pos < size and body[pos] == ord(","):
                pos = _skip(body, pos + 1)
                continue
            if pos < size and body[pos] == ord("]") and _skip(body, pos + 1) == size:
                return
            yield _text_problem(body)
            return
    if array:  # the text ended after a ',' (or a '['): the array is cut short
        yield _text_problem(body)


_BLANK_PEEK = 64 * 1024


def _has_text(body: memoryview) -> bool:
    """Whether ``body`` holds anything but ASCII whitespace (``bytes.strip``'s)."""
    return any(bytes(body[i : i + _BLOCK]).strip() for i in range(0, len(body), _BLOCK))


def _value_end(body: memoryview, pos: int) -> int | None:
    """Where the JSON value at ``pos`` ends (the text's end: it is the rest), or None: its text
    is no JSON."""
    with body[pos:] as rest:
        try:
            msgspec.json.decode(rest, type=msgspec.Raw)
            return len(body)
        except RecursionError:
            raise _Unjudged from None
        except msgspec.DecodeError as exc:
            end = dialect.json_value_end(str(exc))
    return None if end is None else pos + end


def _skip(body: memoryview, pos: int) -> int:
    while pos < len(body) and body[pos] in _SPACE:
        pos += 1
    return pos


def _text_problem(body: memoryview) -> Problem:
    found = jsontext.text_cause(body, deep=False)
    if found is None:
        raise _Unjudged
    why, record = found
    if why == dialect.JSON_ARRAY_CUT:  # the file's, before any record's: each side's words
        raise _Unjudged
    return Problem("text", why, ndjson=False, record=record)


@contextlib.contextmanager
def inflated_copy(
    path: Path, max_bytes: int, max_ratio: float, scratch: Path | None, *, what: str | None = None
) -> Iterator[BinaryIO]:
    """A gzipped file inflated (within the bounds) into a scratch file in ``scratch`` (None:
    the system's temporary folder), removed when the block ends. The file has no name (the
    system's ``O_TMPFILE``; else a dot-prefixed one, removed at once): a folder a watcher
    reads (the landing zone's ``raw/<table>/``) never sees it."""
    with tempfile.TemporaryFile(dir=scratch, prefix=".inflated-", suffix=".tmp") as copy:
        with open_bounded(path, True, max_bytes, max_ratio, what=what) as src:
            shutil.copyfileobj(src, copy, _BLOCK)
        copy.flush()
        yield copy


@contextlib.contextmanager
def _whole(
    path: Path,
    gz: bool,
    max_bytes: int,
    max_ratio: float,
    scratch: Path | None,
    inflated: BinaryIO | None = None,
) -> Iterator[memoryview]:
    """A ``.json`` file's text, mapped (a gzipped one inflated into a scratch file first, or
    ``inflated``: that copy already made)."""
    with contextlib.ExitStack() as stack:
        if gz:
            f: BinaryIO = (
                inflated
                if inflated is not None
                else stack.enter_context(inflated_copy(path, max_bytes, max_ratio, scratch))
            )
        else:
            f = stack.enter_context(open(path, "rb"))
        size = f.seek(0, 2)
        if size == 0:
            yield memoryview(b"")
            return
        mapped = stack.enter_context(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
        view = stack.enter_context(memoryview(mapped))
        yield view


# -- judging ------------------------------------------------------------------------------------


def _judged(items: Iterator[_Item], *, ndjson: bool) -> Problem | None:
    keys: dict[str, None] = {}
    record = held = 0
    part: list[tuple[bytes, int | None]] = []
    for item in items:
        if isinstance(item, Problem):
            found = _slice_problem(part, record, keys, ndjson)
            return found or item
        part.append(item)
        held += len(item[0])
        if len(part) == SLICE or held >= SLICE_BYTES:
            found = _slice_problem(part, record, keys, ndjson)
            if found is not None:
                return found
            record += len(part)
            part, held = [], 0
    found = _slice_problem(part, record, keys, ndjson)
    if found is not None:
        return found
    if record + len(part) == 0:
        return None  # no records: each side's words
    names = list(keys)
    problem = dialect.name_problem(names)
    if problem is not None:
        return Problem("names", problem[1], ndjson, column=problem[0])
    return None  # records of no key at all (only empty objects): the file's one problem


def _slice_problem(
    part: list[tuple[bytes, int | None]], start: int, keys: dict[str, None], ndjson: bool
) -> Problem | None:
    """The first problem of records ``part`` (the file's from record ``start``), their keys
    added to ``keys``: one decode of each, and only a slice that fails it judged record by
    record."""
    if not part:
        return None
    lines = [text for text, _ in part]
    try:
        rows = list(map(_DECODE_ONE.decode, lines))
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
        rows = None
    if (
        rows is not None
        and not any(dialect.too_deep_at(text) for text in lines)
        and _no_repeats(b"\n".join(lines), rows)
    ):
        for row in rows:
            if not keys.keys() >= row.keys():
                keys.update(dict.fromkeys(row))
        return None
    for i, (text, line) in enumerate(part):
        found = _record_problem(text)
        if found is not None:
            what, why, field, column = found
            return Problem(what, why, ndjson, start + i, line, field, column)
        keys.update(dict.fromkeys(_RAW_OBJECT.decode(text)))
    return None


def _no_repeats(text: bytes, rows: list[dict[str, Any]]) -> bool:
    """No object repeats a key (sound; may say False without cause): the API's colon count
    (``ingest.validation._no_duplicates``)."""
    found = text.count(b":")
    if b"\\u003" in text:
        found += text.count(b"\\u003a") + text.count(b"\\u003A")
    return found == _ENCODE.encode(rows).count(b":")


def _record_problem(text: bytes) -> tuple[What, str, str | None, str | None] | None:
    """The first problem of one record (its text, kind, depth, repeated keys) as (what, why,
    the API's field, the loader's column), or None."""
    if dialect.first_non_utf8(text) is not None:
        raise _Unjudged
    why = text_words(text)
    if why is not None:
        return "text", why, None, None
    deep = dialect.too_deep_at(text)
    if deep is not None and deep.key is None and text.rstrip(_SPACE).endswith(b"]"):
        return "not_object", dialect.NOT_OBJECT, None, None
    if deep is not None:
        return "deep", deep.reason(), deep.key, deep.key
    if text.lstrip(_SPACE)[:1] != b"{":
        return "not_object", dialect.NOT_OBJECT, None, None
    repeats = nested.repeated_keys(text)
    if repeats:
        path, key = repeats[0]
        if path == key:  # the record's own key
            return "repeated", dialect.repeated_key(key), path, None
        return "repeated", dialect.repeated_key(key), path, _top_key(text, path)
    return None


def _top_key(text: bytes, path: str) -> str | None:
    """The record's top-level key whose value holds ``path`` (the longest such key)."""
    found = [
        k for k in _RAW_OBJECT.decode(text) if path.startswith(k + ".") or path.startswith(k + "[")
    ]
    return max(found, key=len, default=None)


def text_words(text: bytes) -> str | None:
    """msgspec's words for a record's text that is no JSON (as the API decodes it: as an object
    first; a record that is no object parsed as any JSON value, whose words are not an untyped
    decode's), a lone surrogate's escape in the API's words; None when it parses (or is
    nested past msgspec's limit: the depth rule's; or holds a byte that is not UTF-8, named
    first by each side). The loader's words of an NDJSON line too."""
    try:
        try:
            _DECODE_ONE.decode(text)
        except msgspec.ValidationError:
            if text.lstrip(_SPACE)[:1] == b"{":
                try:
                    msgspec.json.decode(text)  # a number past float64: the values' own parse
                except msgspec.ValidationError:  # out of float64's range, met first: the
                    msgspec.json.decode(text, type=msgspec.Raw)  # text after it is judged
            else:
                msgspec.json.decode(text, type=msgspec.Raw)
    except (UnicodeDecodeError, msgspec.ValidationError, RecursionError):
        return None
    except msgspec.DecodeError as exc:
        why = str(exc)
        return dialect.lone_surrogate_reason(why, text) or why
    return None


def loader_refusal(problem: Problem) -> tuple[str, str, int | None, str | None]:
    """The loader's refusal of ``problem``: its kind, reason, line and column."""
    kind = "invalid_column" if problem.what == "names" else "unparseable"
    line = problem.line if problem.ndjson else None
    column = problem.column
    if problem.what == "repeated" and column is None:  # the record's own key
        column = problem.field
    return kind, problem.said(), line, column
