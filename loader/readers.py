"""Landing files → Arrow batches, by the landing dialect (``lakehouse.dialect``), streaming.

CSV/TSV and JSON are read as *text*: every CSV field, every JSON value's text, in columns named
as the file names them; ``loader.fitting`` types them. Parquet is read typed, as written.

* **CSV/TSV**: pyarrow's CSV reader with the dialect given, never sniffed: the delimiter by the
  rule (:func:`lakehouse.dialect.csv_delimiter`), quote ``"`` doubled to escape, records ending
  at LF, CRLF or CR, quoted line breaks kept, no comment character, header on line 1 (after a
  table's ``skip_lines``), an unquoted empty field null and nothing else. pyarrow is lenient
  where RFC 4180 is not (text after a closing quote, a quote inside an unquoted field, a quote
  left open at the end): :func:`_check_quotes` refuses those first, vectorized.
* **JSON/NDJSON**: DuckDB's ``read_json`` finds the columns from the first records (the same
  keys as ``json_keys`` lists for them, in their order) and reads every key's value as JSON text
  (strings quoted, so they never pass for a number; a text column unquotes them), one parse of
  each record. It refuses a record that is not an object, an object that repeats a key, and an
  object holding a key the first records lacked: then :class:`ReadAgain` makes the loader read
  the file again, every key listed first (one parallel ``json_keys`` pass; skipped when the
  first records are the whole file). DuckDB parses numbers as double, which keeps numbers of
  up to 15 significant digits exactly; a file holding a longer digit run, a ``-0`` or an
  exponent (:func:`_needs_literals`, on a thread while DuckDB reads) is read exactly instead:
  DuckDB splits it into records as written, msgspec keeps every number literal, a batch at a
  time.
* gzip is inflated to a scratch file within ``max_inflated_bytes``/``max_inflate_ratio``
  (``lakehouse.formats``), a UTF-16 CSV with a byte-order mark transcoded to UTF-8 there.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import fcntl
import functools
import io
import itertools
import logging
import mmap
import os
import queue
import re
import shutil
import signal
import sys
import tempfile
import threading
import typing
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lakehouse import dialect, jsonorder, jsontext, nested, parquet, pgtext
from lakehouse.formats import (
    InflateError,
    InflateLimitError,
    Kind,
    from_name,
    gzip_refusal,
    name_refusal,
)
from lakehouse.formats import open_bounded as _open_bounded
from lakehouse.jsonrecords import LineLengths, RecordTooLarge, ValueLengths
from loader.exceptions import FileChanging, FileRejected, ReadAgain

try:
    import hyperscan
except ImportError:  # a platform without its wheel: the same search by RE2
    hyperscan = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_PEEK_BYTES = 64 * 1024
_BLOCK = 16 * 1024**2
#: pyarrow's CSV block (``dialect.CSV_BLOCK_BYTES``, the API's too): a record longer than two
#: makes the loader read the file again by blocks twice as long (:func:`_longer_blocks`).
_CSV_BLOCK = dialect.CSV_BLOCK_BYTES
SAMPLE_RECORDS = 20_480  # JSON records whose keys make the columns (others: a full pass)
#: the keys taken from DuckDB's detection of the first records (:func:`_json_detected_keys`);
#: off, a pass of :func:`_json_keys` lists them first (the tests compare both)
DETECTED_KEYS = True
_STRING = pa.string()


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    kind: Kind
    gzip: bool


@dataclass(frozen=True, slots=True)
class Limits:
    """What reading a file may cost: the inflation bounds and where scratch files go."""

    max_inflated_bytes: int = 16 * 1024**3
    max_inflate_ratio: float = 250.0
    scratch: Path | None = None
    #: a JSON record's most bytes (``lakehouse.jsonrecords``): ``too_large`` past it
    max_json_record_bytes: int = 32 * 1024**2
    #: a CSV or TSV record's most bytes (``dialect.BoundedLines``): ``too_large`` past it
    max_csv_record_bytes: int = dialect.MAX_CSV_RECORD_BYTES


def detect(path: Path) -> Source:
    """The format of a landing file, from its name (``FileRejected`` if not one we read, or
    if the name is not UTF-8: every row records its file's name as text, ``_source_file``)."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        raise FileRejected(
            "unsupported",
            f"the file name is not UTF-8 (its bytes: {os.fsencode(path.name)!r}): bronze "
            "records each row's file name as text (_source_file); rename the file",
        ) from None
    found = from_name(path.name)
    if found is None:
        raise FileRejected(
            "unsupported",
            name_refusal(path.name),  # the API's 415, in its words
        )
    refused = gzip_refusal(found.kind) if found.gzip else None
    if refused is not None:  # the API's 415, in its words
        raise FileRejected("unsupported", refused)
    return Source(path, found.kind, found.gzip)


# -- bytes ----------------------------------------------------------------------------------


def _plain(source: Source, limits: Limits, stack: ExitStack) -> Path:
    """The file's content as a plain file: itself, or inflated into a scratch folder."""
    if not source.gzip:
        return source.path
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=limits.scratch)))
    target = folder / "content"
    try:
        with (
            _open_bounded(
                source.path,
                True,
                limits.max_inflated_bytes,
                limits.max_inflate_ratio,
                what="the file",  # the API's words (the quarantine names the file)
            ) as src,
            target.open("wb") as dst,
        ):
            shutil.copyfileobj(src, dst, _BLOCK)
    except InflateLimitError as exc:
        raise FileRejected("too_large", str(exc)) from exc
    except InflateError as exc:
        raise FileRejected("unparseable", str(exc)) from exc
    except (OSError, EOFError) as exc:
        raise FileRejected("unparseable", f"the file cannot be read: {exc}") from exc
    return target


def _head(path: Path, size: int = _PEEK_BYTES) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


def _json_head(path: Path) -> bytes | None:
    """A JSON file's first bytes from its first one that is no JSON whitespace on (behind its
    byte-order mark, when it has one), however far into the file that lies; None when the file
    holds nothing else (it is empty: no record). The first 64 KiB blank is no empty file."""
    with path.open("rb") as f:
        head = f.read(_PEEK_BYTES)
        mark = dialect.BOM_UTF8 if head.startswith(dialect.BOM_UTF8) else b""
        at = len(mark)
        while True:
            text = head[at:].lstrip(dialect.JSON_BLANK)
            if text:
                f.seek(f.tell() - len(text))
                return mark + f.read(_PEEK_BYTES)
            head, at = f.read(_PEEK_BYTES), 0
            if not head:
                return None


def _transcode_utf16(path: Path, limits: Limits, stack: ExitStack) -> Path:
    """A UTF-16 text (with its byte-order mark) as UTF-8, in a scratch file.

    The scratch file starts with a UTF-8 byte-order mark of its own: the UTF-8 reading drops
    exactly one, so a second U+FEFF in the text (a doubled mark) stays in the first column's
    name, as the API reads it and as the same text in UTF-8 keeps it."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=limits.scratch)))
    target = folder / "utf8.csv"
    decoder = codecs.getincrementaldecoder("utf-16")("strict")
    offset = 0
    with path.open("rb") as src, target.open("wb") as dst:
        dst.write(dialect.BOM_UTF8)
        while block := src.read(_BLOCK):
            try:
                dst.write(decoder.decode(block).encode())
            except UnicodeDecodeError as exc:
                at = offset + exc.start - len(decoder.getstate()[0])
                raise FileRejected("encoding", dialect.not_utf16_reason(at)) from exc
            offset += len(block)
        try:
            dst.write(decoder.decode(b"", final=True).encode())
        except UnicodeDecodeError as exc:  # an odd byte, half a pair: the character it cuts
            at = offset - len(decoder.getstate()[0])
            raise FileRejected("encoding", dialect.not_utf16_reason(at)) from exc
    return target


def _first_non_utf8(path: Path) -> int | None:
    """The offset of the file's first byte that is not UTF-8 (the error path)."""
    with path.open("rb") as f:
        return dialect.first_undecodable(iter(lambda: f.read(_BLOCK), b""), "utf-8")


def _not_utf8(path: Path, otherwise: FileRejected, *, json: bool = False) -> FileRejected:
    """The file's first byte that is not UTF-8, or ``otherwise`` when every byte is: the
    parser's complaint was then about something else (a reason is never an encoding problem
    a UTF-8 file does not have)."""
    try:
        offset = _first_non_utf8(path)
    except OSError:  # a reading's temporary copy, gone by now: the parser's reason stands
        return otherwise
    if offset is None:
        return otherwise
    if path.name == _WITHOUT_BOM:  # counted from the file's start, as the API and CSV count
        offset += len(dialect.BOM_UTF8)
    return FileRejected("encoding", dialect.not_utf8_reason(offset, json=json))


# -- text files: what the loader gets -------------------------------------------------------


@dataclass
class TextFile:
    """An open landing file as text columns: its column names and its batches (iterate once).

    ``batches`` yields record batches of string columns in ``names`` order. ``line_of(row)``
    says on which line the 0-based record ``row`` starts (None when unknown).
    """

    names: list[str]
    batches: Iterator[pa.RecordBatch]
    line_of: Callable[[int], int | None]
    stack: ExitStack = field(default_factory=ExitStack)
    #: The values are JSON text (strings quoted), not CSV fields.
    json: bool = False
    #: JSON numbers are their literals as written (else as DuckDB prints them: 1.5 for 1.50).
    literal_numbers: bool = True

    def close(self) -> None:
        self.stack.close()

    def __enter__(self) -> TextFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- CSV ------------------------------------------------------------------------------------


def _csv_header(
    path: Path,
    skip_lines: int,
    kind: str,
    meta_delimiter: str | None = None,
    quoting: _Quoting = "csv",
    limit: int = dialect.MAX_CSV_RECORD_BYTES,
) -> tuple[str, str, int]:
    """The header record (text), the delimiter (``dialect.csv_header``) and the lines before
    the header: ``skip_lines``, and Excel's ``sep=`` line after them, which declares the
    delimiter (``dialect.excel_delimiter``; refused, ``unparseable``, for one the dialect does
    not read). Read from at most ``dialect.MAX_HEADER_BYTES`` of text before the header's end
    (refused past it, ``unparseable``; so is a shorter file whose header a quote never closed
    runs to its end, ``dialect.open_quoted_name``)."""
    # enough for the limit with a byte-order mark and a character cut at the end left out
    most = dialect.MAX_HEADER_BYTES + 8
    size = min(_PEEK_BYTES, most)
    table_kind: typing.Literal["csv", "tsv"] = "tsv" if kind == "tsv" else "csv"
    before_header = skip_lines
    while True:
        head = _head(path, size)
        complete = len(head) < size
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data" or complete:
                raise FileRejected("encoding", dialect.not_utf8_reason(exc.start)) from exc
            text = head[: exc.start].decode("utf-8")
        text = text.removeprefix("\ufeff")
        rest = text
        for _ in range(skip_lines):
            cut = re.search(r"\r\n|\r|\n", rest)
            if cut is None:
                rest = ""
                break
            rest = rest[cut.end() :]
        first = re.match(r"[^\r\n]*(?:\r\n|\r|\n|$)", rest)
        excel = dialect.excel_delimiter(first[0]) if first is not None else None
        declared = _declared(excel, meta_delimiter, skip_lines + 1, table_kind)
        before_header = skip_lines
        if excel is not None:  # Excel's sep= line: no record, the delimiter declared
            rest = rest[first.end() if first is not None else 0 :]
            before_header = skip_lines + 1
        before = len(text) - len(rest)  # characters of the skipped lines
        room = dialect.MAX_HEADER_BYTES - len(text[:before].encode("utf-8", "surrogatepass"))
        whole = rest.encode("utf-8", "surrogatepass")
        window = whole[: max(room, 0) + 2]  # the limit's bytes, and a line end after them
        last = complete and len(window) == len(whole)  # the file's end is in the window
        at_limit = size >= most or len(window) < len(whole)
        end: typing.Literal["more", "eof", "cut"] = "eof" if last else "cut" if at_limit else "more"
        seen = window.decode("utf-8", "ignore")
        # a .tsv's header name opening with a quote: its reading unclear (the rows' quotes are
        # read by the quote scan, after the names are judged, as the API reads them)
        _tsv_open_quote(itertools.islice(dialect.csv_lines(seen), 1), before_header, quoting)
        quoted = dialect.quoted_tsv(quoting)
        found = dialect.csv_header(seen, table_kind, end=end, declared=declared, quoted=quoted)
        unclear = None
        if found is not None:  # None: read with the rows' delimiter, the header goes on
            reads = functools.partial(_reads_every_record, path, before_header, limit)
            found, unclear = dialect.settled_header(
                seen, before_header + 1, found, reads, table_kind, end=end, declared=declared
            )
        if found is not None and len(found[0].encode("utf-8", "surrogatepass")) <= room:
            field = dialect.open_quoted_name(seen, *found) if last and quoted else None
            if field is not None:
                reason = dialect.header_never_closed(before_header + 1, field)
                raise FileRejected("unparseable", reason, line=before_header + 1)
            if unclear is not None:
                raise FileRejected("unparseable", unclear, line=before_header + 1)
            return found[0], found[1], before_header
        if found is not None or end != "more":
            reason = dialect.header_too_long(
                before_header + 1,
                whole[: max(room, 0)].decode("utf-8", "ignore"),
                before=dialect.MAX_HEADER_BYTES - room,
                kind=table_kind,
                declared=declared,
                quoted=quoted,
            )
            raise FileRejected("unparseable", reason, line=before_header + 1)
        size = min(size * 4, most)


def _declared(
    excel: str | None, meta: str | None, line: int, kind: typing.Literal["csv", "tsv"]
) -> str | None:
    """The delimiter declared by Excel's ``sep=`` line (``excel``, on ``line``) or the table's
    meta (``dialect.declared_delimiter``), refused (``unparseable``) when the line declares one
    the dialect does not read or another than the meta."""
    declared, differ = dialect.declared_delimiter(excel, meta, line, kind)
    problem = (dialect.excel_delimiter_problem(excel, line, kind) if excel else None) or differ
    if problem is not None:
        raise FileRejected("unparseable", problem, line=line)
    return declared


def _reads_every_record(path: Path, before_header: int, limit: int, delimiter: str) -> int | None:
    """``dialect.reads_every_record`` of the file (plain UTF-8) from its header line on, read
    with ``delimiter`` alone: a byte that is not UTF-8 is read as U+FFFD (it is named later,
    before any other reason); a record past ``limit`` bytes, ``too_large``."""
    with (
        path.open("rb") as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="") as f,
    ):
        for _ in range(before_header):
            f.readline()
        try:
            return dialect.reads_every_record(f, delimiter, limit=limit, before=before_header)
        except dialect.CsvRecordTooLarge as exc:
            too_large = FileRejected("too_large", str(exc), line=exc.line)
    raise _not_utf8(path, too_large)


#: How a CSV or TSV file quotes: ``csv`` (RFC 4180), ``none`` (a ``.tsv`` under ``tsv_quoting:
#: none``), ``postgres`` (no quoting, PostgreSQL's text format: ``lakehouse.pgtext``), ``ask`` (a
#: ``.tsv`` whose table does not say: a field opening with a quote refuses it)
_Quoting = typing.Literal["csv", "none", "ask", "postgres"]


def _tsv_open_quote(
    lines: typing.Iterable[str], before: int, quoting: _Quoting, limit: int | None = None
) -> None:
    """``dialect.tsv_open_quote`` as a refusal (``unparseable``), under ``quoting`` ``ask``;
    a line past ``limit`` bytes before it, ``too_large``."""
    if quoting != "ask":
        return
    try:
        found = dialect.tsv_open_quote(lines, before, limit)
    except dialect.CsvRecordTooLarge as exc:
        raise FileRejected("too_large", str(exc), line=exc.line) from None
    if found is not None:
        raise FileRejected("unparseable", found[1], line=found[0])


def _check_pg_text(
    path: Path, skip_lines: int, limit: int | None = None, split: bool = False
) -> None:
    """Refuse (``unparseable``) a field or a line (its line end, an empty one) of the rows
    PostgreSQL's COPY reads otherwise (``pgtext.rows_problem``, the API's words), the header
    being line ``skip_lines + 1`` and its line end the file's. None refused but a separator a
    backslash escapes met, and the file not ``split`` so (``pgtext.Unescaped``):
    :class:`ReadAgain` asking for it."""
    escapes = pgtext.Escapes()
    start = _skipped_bytes(path, skip_lines)
    with path.open("rb") as raw:
        raw.seek(start)
        encoding = "utf-8" if start else "utf-8-sig"
        with io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as text:
            header = text.readline()
            fields = header.rstrip("\r\n").split("\t")
            try:
                names = pgtext.names(fields, skip_lines + 1)
            except pgtext.Refused:  # refused as the header is read
                return
            end = pgtext.line_end(header)  # the file's line end
            try:
                pieces = pgtext.chunks(text, limit, skip_lines + 2)
                found = pgtext.rows_problem(pieces, skip_lines + 2, names, end, escapes)
            except dialect.CsvRecordTooLarge as exc:  # a line past ``limit``
                raise FileRejected("too_large", str(exc), line=exc.line) from None
    if found is not None:
        raise FileRejected("unparseable", found.reason, line=found.line, column=found.column)
    if escapes.found and not split:
        why = "a backslash escapes a separator (PostgreSQL's text format): split where it does"
        raise ReadAgain(why, split_escapes=True)


def _check_quotes(
    path: Path,
    delimiter: str,
    stop: threading.Event | None = None,
    skip_lines: int = 0,
    quoting: _Quoting = "csv",
    limit: int | None = None,
    split: bool = False,
    columns: int = 0,
) -> None:
    """Refuse what RFC 4180 refuses and pyarrow would read anyway (vectorized, by block), from
    the line after the ``skip_lines`` the contract drops (dropped lines are no CSV: a title's
    quote there is text), its lines named by their number in the file.

    In a file quoted by the book every ``"`` opens a quoted field (at a field's start), closes
    it (before a delimiter, a line end or the end), or is half of a doubled ``""`` inside it:
    quotes alternate open, close, so the parity of a quote's rank says which it must be. A file
    where that does not hold is checked record by record (:func:`_check_quotes_strictly`).
    ``stop`` set: give up (the file is no longer read). ``quoting``: ``none``, nothing to
    check; ``postgres``, no quote either, a field PostgreSQL's COPY reads otherwise refuses the
    file (``pgtext.rows_problem``); ``ask``, a field opening with a quote refuses the file
    (``dialect.tsv_open_quote``), and with none the quoting is never used.
    """
    if quoting == "none":
        return
    if quoting == "postgres":
        _check_pg_text(path, skip_lines, limit, split)
        return
    start = _skipped_bytes(path, skip_lines)
    if not _holds_quote(path, stop, start):
        return  # most files: nothing to check
    if quoting == "ask":
        with path.open("rb") as raw:
            raw.seek(start)
            encoding = "utf-8" if start else "utf-8-sig"
            with io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as text:
                _tsv_open_quote(text, skip_lines, quoting, limit)
        return
    ends = pa.array([ord(delimiter), 10, 13], pa.uint8())
    rank = 0  # quotes before this block
    prev = None  # the last byte of the previous block (none: a line starts)
    with path.open("rb") as f:
        f.seek(start)
        block = f.read(_BLOCK)
        while block:
            if stop is not None and stop.is_set():
                return
            following = f.read(_BLOCK)
            n = block.count(b'"')
            if n:
                data = pa.Array.from_buffers(pa.uint8(), len(block), [None, pa.py_buffer(block)])
                quote = pa.scalar(34, pa.uint8())
                at = pc.cast(pc.indices_nonzero(pc.equal(data, quote)), pa.int64())
                before = pc.take(data, pc.subtract(pc.max_element_wise(at, 1), 1))
                after = pc.take(data, pc.min_element_wise(pc.add(at, 1), len(block) - 1))
                ordinal = pc.cumulative_sum(pc.fill_null(pa.nulls(n, pa.int64()), 1))
                opening = pc.equal(pc.bit_wise_and(pc.add(ordinal, rank - 1), 1), 0)
                # a quote at the block's first or last byte looks across the boundary
                first = pc.equal(at, 0)
                last = pc.equal(at, len(block) - 1)
                prev_byte = pa.scalar(prev if prev is not None else 10, pa.uint8())
                next_byte = pa.scalar(following[0] if following else 10, pa.uint8())
                before = pc.if_else(first, prev_byte, before)
                after = pc.if_else(last, next_byte, after)
                open_ok = pc.or_(pc.is_in(before, ends), pc.equal(before, 34))
                close_ok = pc.or_(pc.is_in(after, ends), pc.equal(after, 34))
                wrong = pc.if_else(opening, pc.invert(open_ok), pc.invert(close_ok))
                if pc.any(wrong).as_py():  # maybe a quote inside an unquoted field
                    _check_quotes_strictly(path, delimiter, stop, start, skip_lines, limit, columns)
                    return
                rank += n
            prev = block[-1]
            block = following
    if rank % 2:
        _check_quotes_strictly(path, delimiter, stop, start, skip_lines, limit, columns)


#: A line's end, as the header's reading counts them: CR LF, CR or LF
_LINE_END = re.compile(rb"\r\n|\r|\n")


def _skipped_bytes(path: Path, lines: int) -> int:
    """The bytes of the file's first ``lines`` lines (LF, CRLF and CR end a line, as the
    header's reading counts them): where the line after them starts."""
    if not lines:
        return 0
    # one pass: every line end of a block taken before the next block is read, the buffer
    # keeping only the line not yet ended (was: a block read and the buffer copied per line,
    # time ~ lines x file size: 20,000 lines before 20 MB, 30 CPU s; review finding revl 19)
    base = at = 0  # the file offset of data[0]; where the lines not yet counted start in data
    data, eof = b"", False
    with path.open("rb") as f:
        while True:
            for cut in _LINE_END.finditer(data, at):
                if cut.group() == b"\r" and cut.end() == len(data) and not eof:
                    break  # a CR whose LF may follow in the next block
                at = cut.end()
                lines -= 1
                if not lines:
                    return base + at
            if eof:
                return base + len(data)  # fewer lines than that: nothing after them
            more = f.read(_PEEK_BYTES)
            eof = not more
            data, base, at = data[at:] + more, base + at, 0


def _holds_quote(path: Path, stop: threading.Event | None = None, first: int = 0) -> bool:
    """Whether the file holds a ``"`` from byte ``first`` on: one search over the file mapped
    into memory (the page cache's pages, no copy; a quote-free file of 600 MB: 0.08 CPU s,
    against 0.23 s read in blocks and counted), under a read lease (:func:`_leased`); True
    (the block scan reads it) without one, or when another process begins to write or cut
    the file."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return False
        if not _leased(f.fileno()):
            return True
        try:
            try:
                mapped = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
            except (OSError, ValueError):  # a file system that cannot map: the block scan
                return True
            with mapped:
                mapped.madvise(mmap.MADV_SEQUENTIAL)
                for start in range(first - first % mmap.PAGESIZE, size, _SCAN_WINDOW):
                    if stop is not None and stop.is_set():
                        return False
                    if _lease_broken(f.fileno()):
                        return True  # its pages may go: the block scan reads what is there
                    end = min(start + _SCAN_WINDOW, size)
                    found = mapped.find(b'"', max(start, first), end)  # pages searched leave
                    mapped.madvise(mmap.MADV_DONTNEED, start, end - start)
                    if found >= 0:
                        return True
        finally:
            _unlease(f.fileno())
    return False


@contextlib.contextmanager
def _whole(f: typing.BinaryIO) -> Iterator[mmap.mmap | bytes]:
    """A file's bytes at once for a refusal's words: mapped under a read lease
    (:func:`_leased`; :class:`FileChanging` after the use when another process began to write
    or cut the file meanwhile, the words then being of bytes that may not stay), or read into
    memory where no lease can be had (a file cut short while read is then only shorter)."""
    fd = f.fileno()
    if not os.fstat(fd).st_size or not _leased(fd):
        f.seek(0)
        yield f.read()
        return
    try:
        with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as whole:
            yield whole
        if _lease_broken(fd):
            raise FileChanging(CHANGING)
    finally:
        _unlease(fd)


_SCAN_WINDOW = 4096 * mmap.PAGESIZE  # 16 MiB with 4 KiB pages


def _check_quotes_strictly(
    path: Path,
    delimiter: str,
    stop: threading.Event | None = None,
    offset: int = 0,
    skip_lines: int = 0,
    limit: int | None = None,
    columns: int = 0,
) -> None:
    """The quotes of a file the fast scan could not place, record by record from byte
    ``offset``, after ``skip_lines`` lines (``dialect.csv_quote_problem``, the API's words);
    a record past ``limit`` bytes before them, ``too_large`` (an earlier record's field count
    first, :func:`_too_large`; ``columns``: the header's fields)."""
    with path.open("rb") as raw:
        raw.seek(offset)
        encoding = "utf-8" if offset else "utf-8-sig"
        f = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        try:
            found = dialect.csv_quote_problem(
                f, delimiter, skip_lines, None if stop is None else stop.is_set, limit
            )
        except dialect.CsvRecordTooLarge as exc:
            assert limit is not None  # a record is bounded only under a limit
            raise _too_large(path, delimiter, skip_lines, True, columns, exc, limit) from None
    if found is not None:
        raise FileRejected("unparseable", found[1], line=found[0])


def _too_large(
    path: Path,
    delimiter: str,
    skip_lines: int,
    quoted: bool,
    columns: int,
    refused: dialect.CsvRecordTooLarge,
    limit: int,
) -> FileRejected:
    """The refusal of a CSV or TSV file holding a record past the bound (``refused``): the
    first record before it whose field count is not the header's (``columns``), as the API's
    structure pass names an earlier record's field count first (``column_count``, its words),
    else ``too_large``. The error path: the records before it read again, each within the
    bound (``dialect.BoundedLines``), none held past it (review finding reada 05 of session 19:
    with a bound below two blocks the loader named a later record's size)."""
    too_large = FileRejected("too_large", str(refused), line=refused.line)
    if columns < 1:
        return too_large
    start = _skipped_bytes(path, skip_lines)
    with path.open("rb") as raw:
        raw.seek(start)
        encoding = "utf-8" if start else "utf-8-sig"
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        lines = dialect.BoundedLines(text, limit, skip_lines)
        reader = csv.reader(lines, delimiter=delimiter, **dialect.reader_quoting(quoted))
        lines.follow(reader)
        try:
            next(reader)  # the header
            lines.ended()
            begins = skip_lines + reader.line_num + 1  # the line the next record opens on
            for record in reader:
                lines.ended()
                if begins >= refused.line:
                    break
                if (record or columns == 1) and (len(record) or 1) != columns:
                    why = dialect.field_count(begins, len(record) or 1, columns, delimiter)
                    return FileRejected("column_count", why, line=begins)
                begins = skip_lines + reader.line_num + 1
        except (dialect.CsvRecordTooLarge, csv.Error, StopIteration):
            pass
    return too_large


def _check_record_sizes(
    path: Path, delimiter: str, skip_lines: int, quoting: _Quoting, limit: int, columns: int = 0
) -> None:
    """The file's records read one by one, none held past ``limit`` bytes: the first past it
    refuses the file (``too_large``, ``dialect.BoundedLines``: the API's words; an earlier
    record's field count first, :func:`_too_large`, ``columns`` the header's fields), or the
    first whose quoting RFC 4180 refuses before it (``unparseable``), in the order the API's
    structure pass meets them. Run when pyarrow meets a record of more than two blocks once
    its blocks are half the bound (a Python pass over the file: rare), or from the start when
    the bound is below two blocks."""
    start = _skipped_bytes(path, skip_lines)
    with path.open("rb") as raw:
        raw.seek(start)
        encoding = "utf-8" if start else "utf-8-sig"
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        try:
            if dialect.quoted_tsv(quoting):
                found = dialect.csv_quote_problem(text, delimiter, skip_lines, limit=limit)
            elif quoting == "postgres":  # a record goes on past a line end a backslash escapes
                found = None
                lines = dialect.BoundedLines(text, limit, skip_lines)
                options = dialect.reader_quoting(quoted=False, escaped=True)
                reader = csv.reader(lines, delimiter=delimiter, **options)
                lines.follow(reader)
                for _ in reader:
                    lines.ended()
            else:  # a line is a record
                found = None
                lines = dialect.BoundedLines(text, limit, skip_lines)
                for number, _ in enumerate(lines, start=1):
                    lines.ended(number)
        except dialect.CsvRecordTooLarge as exc:
            if quoting in ("postgres", "ask"):  # the API's passes over a .tsv's lines (its
                # escapes, a field opening with a quote) name it before any field count too
                raise FileRejected("too_large", str(exc), line=exc.line) from None
            quoted = dialect.quoted_tsv(quoting)
            raise _too_large(path, delimiter, skip_lines, quoted, columns, exc, limit) from None
    if found is not None:
        raise FileRejected("unparseable", found[1], line=found[0])


def _line_at(path: Path, offset: int) -> int:
    """The 1-based line of byte ``offset`` (LF, CRLF and CR end a line)."""
    line, left, last = 1, offset, b""
    with path.open("rb") as f:
        while left > 0 and (block := f.read(min(left, _BLOCK))):
            line += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
            if last == b"\r" and block[:1] == b"\n":
                line -= 1  # a CRLF cut by the block boundary
            last = block[-1:]
            left -= len(block)
    return line


def _csv_records(
    path: Path, delimiter: str, skip_lines: int, columns: int, quoted: bool, escaped: bool
) -> Generator[tuple[int, list[str]]]:
    """The data records of a CSV file after its header, each with the line it starts on, read
    by Python's csv module (the error path): a blank line is no record when the header has
    more than one field."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
        for _ in range(skip_lines):
            f.readline()
        reader = csv.reader(f, delimiter=delimiter, **dialect.reader_quoting(quoted, escaped))
        next(reader, None)  # the header
        start = reader.line_num + 1
        for record in reader:
            if record or columns <= 1:  # else a blank line: no record
                yield skip_lines + start, record
            start = reader.line_num + 1


def _csv_line_of(
    path: Path,
    delimiter: str,
    skip_lines: int,
    columns: int,
    quoted: bool = True,
    escaped: bool = False,
) -> Locate:
    """A function from a 0-based data record to the line it starts on (the error path;
    ``escaped``: PostgreSQL's text format, a record going on past an escaped line end)."""

    def line_of(row: int) -> int | None:
        records = _csv_records(path, delimiter, skip_lines, columns, quoted, escaped)
        found = next(itertools.islice(records, row, None), None)
        records.close()
        return found[0] if found else None

    return line_of


def _field_count_problem(
    path: Path,
    delimiter: str,
    skip_lines: int,
    columns: int,
    quoted: bool = True,
    escaped: bool = False,
) -> FileRejected:
    """The first record whose field count differs from the header's (the error path;
    ``escaped``: PostgreSQL's text format, a TAB or line end a backslash escapes no
    separator)."""
    for line, record in _csv_records(path, delimiter, skip_lines, columns, quoted, escaped):
        fields = len(record) or 1
        if fields != columns:
            return FileRejected(
                "column_count", dialect.field_count(line, fields, columns, delimiter), line=line
            )
    return FileRejected("column_count", "a record has another field count than the header")


Locate = Callable[[int], int | None]


class _QuoteScan:
    """:func:`_check_quotes` on a thread while pyarrow reads the file (a 600 MB file: 0.1 s
    that no longer delays the first piece). :meth:`check` raises its refusal; the reading
    waits for it before handing out the batch that completes the loader's first piece (and
    before any error of pyarrow's, so the reason is the one the scan gives, as when it ran
    first)."""

    def __init__(
        self,
        path: Path,
        delimiter: str,
        skip_lines: int,
        quoting: _Quoting,
        limit: int | None = None,
        split: bool = False,
        columns: int = 0,
    ) -> None:
        self._stop = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run,
            args=(path, delimiter, skip_lines, quoting, limit, split, columns),
            name="loader-csv-quotes",
            daemon=True,
        )
        self._thread.start()

    def _run(
        self,
        path: Path,
        delimiter: str,
        skip_lines: int,
        quoting: _Quoting,
        limit: int | None,
        split: bool,
        columns: int,
    ) -> None:
        try:
            _check_quotes(path, delimiter, self._stop, skip_lines, quoting, limit, split, columns)
        except FileRejected as exc:  # a byte that is not UTF-8 anywhere is named first
            self._error = _not_utf8(path, exc)
        except BaseException as exc:  # raised on the reading side
            self._error = exc
        finally:
            self._done.set()

    def check(self, *, wait: bool) -> None:
        if wait:
            self._done.wait()
        if self._done.is_set() and self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def open_csv(
    source: Source,
    *,
    skip_lines: int = 0,
    limits: Limits | None = None,
    window_rows: int = 1,
    block: int = 0,
    delimiter: str | None = None,
    tsv_quoting: dialect.TsvQuoting | None = None,
    split_escapes: bool = False,
) -> TextFile:
    """Open a CSV/TSV landing file as text columns, by the dialect.

    ``window_rows``: the records read before anything of the file is committed (the loader's
    first piece): the quote check is done before the batch that completes them is handed out.
    ``block``: pyarrow's block in bytes (0: :data:`_CSV_BLOCK`); a record longer than two
    raises :class:`ReadAgain` asking for blocks twice as long.
    ``delimiter``: the table's (its contract's ``meta: {delimiter: ...}``), the only one read.
    ``tsv_quoting``: how a ``.tsv`` quotes (its contract's ``meta: {tsv_quoting: ...}``; None:
    a field opening with a quote refuses the file, ``dialect.tsv_open_quote``).
    ``split_escapes``: under ``postgres``, read through ``pgtext.Unescaped`` (a separator a
    backslash escapes made the escape meaning the same); without it, the scan meeting such a
    backslash raises :class:`ReadAgain` asking for it (the file as it is read through a memory
    map at C speed, where no search for it costs the files without one).
    """
    block = block or _CSV_BLOCK
    quoting: _Quoting = (tsv_quoting or "ask") if source.kind == "tsv" else "csv"
    quoted = dialect.quoted_tsv(quoting)
    postgres = quoting == "postgres"
    limits = limits or Limits()
    limit = limits.max_csv_record_bytes
    stack = ExitStack()
    try:
        path, delimiter, names, skip_lines, fields = _csv_dialect(
            source, skip_lines, limits, stack, delimiter, quoting
        )
        width = len(names)
        scan = _QuoteScan(path, delimiter, skip_lines, quoting, limit, split_escapes, width)
        stack.callback(scan.stop)
        sizes = functools.partial(
            _check_record_sizes, path, delimiter, skip_lines, quoting, limit, width
        )
        if limit < 2 * block:  # a record past the bound may fit pyarrow's blocks: read them all
            scan.check(wait=True)
            _not_utf8_first(path, sizes)
    except BaseException:
        stack.close()
        raise
    problem = _CsvProblem(path, delimiter, skip_lines, len(names), quoted, postgres)
    content = _terminated(path, stack)
    if postgres and split_escapes:  # split where PostgreSQL does (the scan met an escape)
        content = _escapes_split(path, skip_lines, stack)
    mapped = _Mapped.of(content, stack) if isinstance(content, Path) else None
    try:
        reader = pacsv.open_csv(
            mapped.reader if mapped is not None else content,
            read_options=pacsv.ReadOptions(skip_rows=skip_lines, block_size=block),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"' if quoted else False,
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=len(names) > 1,  # a blank line is no record (one column: null)
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(fields, _STRING),
                null_values=[pgtext.NULL if postgres else ""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        stack.callback(reader.close)
    except pa.ArrowInvalid as exc:
        try:
            scan.check(wait=True)  # the quotes' reason first
            _longer_blocks(exc, block, limit, path, sizes)
            # read while the file is there: a .gz file's inflated copy goes with the stack
            rejected = problem.of(exc)
        finally:
            stack.close()
        raise rejected from exc
    if reader.schema.names != fields:
        try:
            scan.check(wait=True)
        finally:
            stack.close()
        raise FileRejected(
            "unparseable", f"the header reads as {reader.schema.names!r}, not {fields!r}"
        )
    line_of = _csv_line_of(path, delimiter, skip_lines, len(names), quoted, postgres)

    def batches() -> Iterator[pa.RecordBatch]:
        rows = 0
        try:
            for batch in reader:
                if mapped is not None:
                    mapped.release()
                if batch.num_rows:
                    if postgres:
                        batch = _pg_batch(batch, rows, names, line_of, scan)
                    rows += batch.num_rows
                    scan.check(wait=rows >= window_rows)
                    yield batch
            scan.check(wait=True)
        except pa.ArrowInvalid as exc:
            scan.check(wait=True)
            _longer_blocks(exc, block, limit, path, sizes)
            raise problem.of(exc) from exc

    return TextFile(names, batches(), line_of, stack)


def _pg_batch(
    batch: pa.RecordBatch, rows: int, names: list[str], line_of: Locate, scan: _QuoteScan
) -> pa.RecordBatch:
    """A batch of PostgreSQL's text format (``rows``: the records before it) as its values
    (``pgtext.values``), named by the header's names read (``names``)."""
    columns = []
    for index, column in enumerate(batch.columns):
        try:
            columns.append(pgtext.values(column))
        except pgtext.PgTextError as exc:  # the scan names it (the first such field) first
            scan.check(wait=True)
            line = line_of(rows + (exc.index or 0)) or 0
            why = pgtext.refusal(line, index + 1, names[index], exc.why)
            raise FileRejected("unparseable", why, line=line, column=names[index]) from None
    return pa.RecordBatch.from_arrays(columns, names)


def _leased(fd: int) -> bool:
    """Take a read lease (Linux ``F_SETLEASE``) on ``fd`` (open to read): while it is held,
    another process opening the file to write or cutting it (``truncate``, ``O_TRUNC``) waits
    until the lease is given back (at most ``/proc/sys/fs/lease-break-time``, 45 s by default)
    and :func:`_lease_broken` tells. A read through a memory map that stops there never touches
    a page past the end of a file cut short, which is SIGBUS: the process would die. The break's
    notice is SIGURG, which is ignored (SIGIO, the default, would end the process). False when
    no lease can be had (a process has the file open to write; a file not this user's; a file
    system without leases): then the file is read, not mapped."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError:
        return False
    return True


def _lease_broken(fd: int) -> bool:
    """Whether another process waits to write or cut the file leased on ``fd``."""
    return bool(fcntl.fcntl(fd, fcntl.F_GETLEASE) != fcntl.F_RDLCK)


def _unlease(fd: int) -> None:
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    except OSError:  # broken and given back by the kernel already
        pass


#: Why a file read through a memory map is left for the next pass (:class:`FileChanging`).
CHANGING = "another process opened the file to write or cut it short while it was read"


class _Mapped:
    """A CSV or Parquet file mapped into memory for pyarrow's reader: its blocks are the page
    cache's pages (no read into freshly allocated buffers, which cost the 10M-row CSV about 0.3
    CPU s in page faults and copies on pyarrow's I/O thread). :meth:`release` drops the pages
    read so far from this process (they stay in the page cache; a page needed again is mapped
    again), so the resident size follows the block, not the file. Mapped only under a read
    lease (:func:`_leased`), which :meth:`release` checks after each batch: a file another
    process begins to write or cut is given up (:class:`FileChanging`) before its bytes go."""

    def __init__(self, mapped: mmap.mmap, file: typing.BinaryIO) -> None:
        self._mapped = mapped
        self._file = file
        self.reader = pa.BufferReader(pa.py_buffer(mapped))

    @classmethod
    def of(cls, path: Path, stack: ExitStack) -> _Mapped | None:
        f = path.open("rb")
        try:
            if os.fstat(f.fileno()).st_size == 0 or not _leased(f.fileno()):
                f.close()
                return None  # nothing to map, or no lease: read as a file
            mapped = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        except (OSError, ValueError):  # a file system that cannot map: read as a file
            _unlease(f.fileno())
            f.close()
            return None
        mapped.madvise(mmap.MADV_SEQUENTIAL)
        one = cls(mapped, f)
        stack.callback(one.close)
        return one

    def release(self) -> None:
        """Drop the pages read so far; :class:`FileChanging` when another process waits to
        write or cut the file."""
        if _lease_broken(self._file.fileno()):
            raise FileChanging(CHANGING)
        self._mapped.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        self.reader.close()
        try:
            self._mapped.close()
        except BufferError:  # pyarrow still holds the buffer: unmapped when it lets go
            pass
        _unlease(self._file.fileno())
        self._file.close()


def _longer_blocks(
    exc: pa.ArrowInvalid,
    block: int,
    limit: int | None = None,
    path: Path | None = None,
    sizes: Callable[[], None] | None = None,
) -> None:
    """:class:`ReadAgain` by blocks twice as long when pyarrow met a record longer than two of
    ``block`` bytes (its "straddling object" error), when no record passes ``limit``: once two
    blocks reach it, the records are read one by one first (``sizes``, ``too_large``)."""
    if "straddl" in str(exc):
        if limit is not None and 2 * block >= limit and sizes is not None and path is not None:
            _not_utf8_first(path, sizes)
        why = f"a CSV record spans more than two blocks of {block} bytes"
        raise ReadAgain(why, block=2 * block) from exc


def _not_utf8_first(path: Path, check: Callable[[], None]) -> None:
    """``check()``, its refusal after a byte that is not UTF-8 anywhere (named first)."""
    try:
        check()
    except FileRejected as exc:
        raise _not_utf8(path, exc) from None


def _escapes_split(
    path: Path, skip_lines: int, stack: ExitStack
) -> io.BufferedReader[dialect.LineEnded]:
    """PostgreSQL's text format for pyarrow, each separator a backslash escapes made the
    escape meaning the same (``pgtext.Unescaped``, after the ``skip_lines`` lines), so that
    pyarrow splits it where PostgreSQL does, its last record ended by a line break."""
    unescaped = pgtext.Unescaped(path.open("rb"), skip_lines)
    stream = io.BufferedReader(dialect.LineEnded(unescaped), _CSV_BLOCK)
    stack.callback(stream.close)
    return stream


def _terminated(path: Path, stack: ExitStack) -> Path | io.BufferedReader[dialect.LineEnded]:
    """The CSV content for pyarrow, its last record ended by a line break (one added if none)."""
    with path.open("rb") as f:
        if f.seek(0, io.SEEK_END) == 0:
            return path
        f.seek(-1, io.SEEK_END)
        if f.read(1) in (b"\n", b"\r"):
            return path
    stream = io.BufferedReader(dialect.LineEnded(path.open("rb")), _CSV_BLOCK)
    stack.callback(stream.close)
    return stream


def _csv_dialect(
    source: Source,
    skip_lines: int,
    limits: Limits,
    stack: ExitStack,
    meta_delimiter: str | None = None,
    quoting: _Quoting = "csv",
) -> tuple[Path, str, list[str], int, list[str]]:
    """The plain UTF-8 content, the delimiter and the column names of a CSV file, the
    lines before its header (``skip_lines``, and Excel's ``sep=`` line: :func:`_csv_header`),
    and the header's fields as written (the names but under ``postgres``: their escapes read,
    ``pgtext.names``)."""
    path = _plain(source, limits, stack)
    head = _head(path)
    if not head:  # no bytes; blanks are a header's (a blank name, or a blank line 1: below)
        raise FileRejected("empty", "the file is empty")
    unread = dialect.encoding_problem(head)
    if unread is not None:
        raise FileRejected("encoding", unread)
    if dialect.text_encoding(head) == "utf-16":
        path = _transcode_utf16(path, limits, stack)
    try:
        declared_skip = skip_lines
        header, delimiter, skip_lines = _csv_header(
            path, skip_lines, source.kind, meta_delimiter, quoting, limits.max_csv_record_bytes
        )
        if not header:  # the API's words
            lines = _lines_before_header(path, skip_lines) if declared_skip else None
            why = (
                dialect.blank_header(skip_lines + 1)
                if lines is None
                else dialect.header_past_end(skip_lines + 1, lines, declared_skip)
            )
            raise FileRejected("empty", why)
        # strict, as every record: text after a closing quote is refused, never glued into
        # the name (``"b"e`` read as ``be``), before the names are judged (as the API does)
        if dialect.quoted_tsv(quoting):
            quote = dialect.csv_quote_problem(dialect.csv_lines(header), delimiter, skip_lines)
            if quote is not None:
                raise FileRejected("unparseable", quote[1], line=quote[0])
        options = dialect.reader_quoting(dialect.quoted_tsv(quoting))
        fields = next(csv.reader(dialect.csv_lines(header), delimiter=delimiter, **options), [""])
        names = fields
        if quoting == "postgres":
            try:
                names = pgtext.names(fields, skip_lines + 1)
            except pgtext.Refused as exc:
                raise FileRejected("unparseable", exc.reason, line=exc.line) from None
        problem = dialect.name_problem(names)
        if problem is not None:
            raise FileRejected("invalid_column", problem[1], column=problem[0])
    except FileRejected as exc:  # a byte that is not UTF-8 anywhere is named first
        raise (exc if exc.kind == "encoding" else _not_utf8(path, exc)) from None
    return path, delimiter, names, skip_lines, fields


def _lines_before_header(path: Path, before: int) -> int | None:
    """The file's lines (LF, CRLF or CR ending each, the last one maybe none) when it ends
    before its header line (``before``: the lines before it); None when it holds that line
    (blank). The header was found blank within ``dialect.MAX_HEADER_BYTES``: so are the lines."""
    most = dialect.MAX_HEADER_BYTES + 8
    head = _head(path, most)
    if len(head) >= most:
        return None
    text = head.decode("utf-8", "ignore").removeprefix("\ufeff")
    lines = sum(1 for _ in dialect.csv_lines(text))
    return lines if lines <= before else None


@dataclass(frozen=True, slots=True)
class _CsvProblem:
    path: Path
    delimiter: str
    skip_lines: int
    columns: int
    quoted: bool = True
    escaped: bool = False

    def of(self, exc: Exception) -> FileRejected:
        """A pyarrow CSV error as a quarantine reason (found again, with its line, by Python)."""
        text = str(exc)
        if "Empty CSV file" in text:
            return FileRejected("header_only", "the file has a header and no rows")
        if "Expected" in text and "columns" in text:  # a byte that is not UTF-8 named first
            counted = _field_count_problem(
                self.path, self.delimiter, self.skip_lines, self.columns, self.quoted, self.escaped
            )
            return _not_utf8(self.path, counted)
        unparseable = FileRejected("unparseable", f"the file does not parse as CSV: {text[:300]}")
        if "UTF8" in text or "utf-8" in text.lower() or "utf8" in text.lower():
            return _not_utf8(self.path, unparseable)
        return unparseable


# -- JSON -----------------------------------------------------------------------------------


#: A JSON number DuckDB may not keep: 16 or more digits (a point among them; a double may not
#: hold it), an integer ``-0`` (read as 0), or a number with an exponent (``1e3`` read as the
#: double 1000.0; not canonical, so kept as its text as written). And what DuckDB reads though
#: it is no JSON (``NaN``, ``Infinity`` and, as a value, ``nan``, ``inf``, ``-INF``... in any
#: case, which DuckDB reads too; a trailing comma in an object): the exact reader
#: (msgspec) refuses it, as the API does. The blanks between the punctuation and such a literal
#: are bounded (a match must fit the blocks' overlap): a run of 24 blanks or more after ``:``,
#: ``[`` or ``,`` is at risk by itself (``nan`` or a closing brace may follow it; rare outside
#: pretty-printed JSON, which is then read exactly: slower, the same values). In a string it
#: trips too: harmless, slower. A match spans at most 37 bytes (a longer digit run is the first
#: case). A vertical tab or form feed, which DuckDB skips between values though it is no JSON
#: whitespace (RFC 8259: space, tab, LF, CR), sends the file to the exact reading, which
#: refuses one outside a blank line as the API does (:func:`_stray_blank`).
#: :data:`_LITERAL_AT_RISK` is the alternatives of :data:`_AT_RISK` and :data:`_EXPONENT`.
_AT_RISK = (
    rb"[0-9.]{17}",
    rb"-0[,}\] \t\r\n]",
    rb"NaN|Infinity",
    rb"[:\[,][ \t\r\n]{0,23}[-+]?(?i:nan|inf)",
    rb",[ \t\r\n]{0,23}[}\]]",
    rb"[:\[,][ \t\r\n]{24}",
)
#: A vertical tab or form feed (above), searched by ``bytearray.find`` beside Hyperscan's scan
#: (:func:`_stray`): as one more Hyperscan alternative it made the scan 3x dearer (0.07 -> 0.20
#: CPU s over a 1M-row NDJSON file), two ``find`` cost 0.01.
_STRAY = rb"[\x0b\x0c]"
_EXPONENT = rb"[^0-9A-Za-z_.+-]-?[0-9.]{1,16}[eE][-+]?[0-9]{1,16}[,}\] \t\r\n]"
#: The alternative slow to search for (Hyperscan: 0.13 of 0.19 CPU s over 141 MB) is found by a
#: hint: every match of :data:`_EXPONENT` holds one, ending at most 21 bytes after the match starts
#: and at most 16 bytes before it ends: a window of :data:`_TAIL` bytes either side holds it.
_EXPONENT_HINT = rb"[0-9.][eE][-+]?[0-9]"
_LITERAL_AT_RISK = "|".join(p.decode() for p in (*_AT_RISK, _STRAY, _EXPONENT))


def _stray(buffer: bytearray, begin: int, end: int) -> bool:
    """Whether ``buffer[begin:end]`` holds a vertical tab or form feed (:data:`_STRAY`)."""
    return buffer.find(b"\x0b", begin, end) >= 0 or buffer.find(b"\x0c", begin, end) >= 0


_TAIL = 40
#: The number search's block (and the content hash's, fed by the same reads): small enough to
#: stay in a core's cache between its read and its search.
_SEARCH_BLOCK = 1024**2
#: Bytes of the previous block scanned again with the next (a match spans at most 37).
_OVERLAP = 64
#: Threads a big file's number search runs on at most (each holds a :data:`_SEARCH_BLOCK`
#: buffer; four search ~7 GB/s, faster than DuckDB reads the first records on as many cores).
_SCAN_THREADS = 4
#: Exponent hints in one block past which the block is searched by RE2 instead (a file whose
#: strings are full of ``1e5``-like text: one Python call per hint would cost more).
_MAX_HINTS = 2_000


def _needs_literals(path: Path, stop: threading.Event | None = None, parts: int = 1) -> bool:
    """Whether DuckDB's reading may not keep a number of the file: whether
    :data:`_LITERAL_AT_RISK` occurs in it, by Hyperscan (:class:`_RiskScan`, ~1.8 GB/s a core),
    else one RE2 search per block (~0.7 GB/s; the same answer, :func:`_needs_literals_re2`).
    ``parts``: the file cut into that many ranges, searched on a thread each (Hyperscan lets the
    other threads run; the same answer: :func:`_range_needs_literals`), all reading the one file
    opened here. ``stop`` set: give up (False)."""
    if _RiskScan.make() is None:
        return _needs_literals_re2(path, stop)
    with path.open("rb") as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        parts = max(1, min(parts, size // _BLOCK))  # a range under 16 MiB: not worth a thread
        if parts == 1:
            return _range_needs_literals(fd, 0, None, stop)
        done = threading.Event()  # one range found it (or failed): the others give up
        found: list[bool] = [False] * parts
        errors: list[BaseException] = []

        def search(i: int) -> None:
            try:
                end = None if i == parts - 1 else size * (i + 1) // parts
                found[i] = _range_needs_literals(fd, size * i // parts, end, done, stop)
            except BaseException as exc:  # raised below, on the caller's thread
                errors.append(exc)
            if found[i] or errors:
                done.set()

        threads = [
            threading.Thread(target=search, args=(i,), name="loader-json-scan", daemon=True)
            for i in range(1, parts)
        ]
        for thread in threads:
            thread.start()
        search(0)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return any(found)


def _range_needs_literals(
    fd: int, start: int, end: int | None, *stops: threading.Event | None
) -> bool:
    """Whether :data:`_LITERAL_AT_RISK` occurs in the open file ``fd`` with its end in
    ``(start, end]`` (``end`` None: up to the file's end, as it is read), by Hyperscan over
    blocks read at their offsets (``preadv``: ranges on several threads share the one file);
    each block is searched with the :data:`_OVERLAP` bytes before it (the range's first block
    too: those of the range before), so a match, at most 37 bytes, lies whole in one block
    whichever range or block it ends in. Any of ``stops`` set: give up (False)."""
    scan = _RiskScan.make()
    assert scan is not None
    at = max(0, start - _OVERLAP)  # the offset of the next byte to read
    limit = os.fstat(fd).st_size if end is None else end
    buffer = bytearray(_OVERLAP + max(1, min(_SEARCH_BLOCK, limit - at)))  # small file: small one
    view = memoryview(buffer)
    kept = 0  # the previous block's last bytes, at the buffer's front
    while True:
        room = len(buffer) - kept if end is None else min(len(buffer) - kept, end - at)
        if room <= 0 or not (n := os.preadv(fd, [view[kept : kept + room]], at)):
            return False
        if any(stop is not None and stop.is_set() for stop in stops):
            return False
        at += n
        chunk = view[: kept + n]
        if _stray(buffer, 0, kept + n) or scan.found(chunk):
            return True
        tail = bytes(chunk[-_OVERLAP:])
        kept = len(tail)
        buffer[:kept] = tail


class ContentFeed(typing.Protocol):
    """Where a file's bytes go as the number search reads them (``landing.ContentFeed``, the
    file's content hash): every byte once, in order, then :meth:`finish`; or :meth:`abandon`
    when the search stops before the file's end."""

    def update(self, data: memoryview) -> None: ...

    def finish(self) -> None: ...

    def abandon(self) -> None: ...


class Hashing(typing.Protocol):
    """A file's content hash that a reading of the same file may feed
    (``landing.Identifying``)."""

    def claim(self, fd: int) -> ContentFeed | None: ...


class _Searchers:
    """Blocks searched for :data:`_LITERAL_AT_RISK` on ``count`` threads of their own, in any
    order (:func:`_feeding_needs_literals`); ``count + 1`` buffers of ``room`` bytes go round:
    :meth:`buffer` hands out a free one, :meth:`search` takes it back once searched."""

    def __init__(self, count: int, room: int) -> None:
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(count + 1):  # one read and fed while the others are searched
            self._free.put(bytearray(room))
        self._work: queue.SimpleQueue[tuple[bytearray, int, int] | None] = queue.SimpleQueue()
        self.found = threading.Event()
        self.errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._run, name="loader-json-scan", daemon=True)
            for _ in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        scan = _RiskScan.make()
        assert scan is not None
        while (item := self._work.get()) is not None:
            buffer, begin, end = item
            try:
                if not self.found.is_set() and not self.errors:
                    with memoryview(buffer) as view, view[begin:end] as chunk:
                        if _stray(buffer, begin, end) or scan.found(chunk):
                            self.found.set()
            except BaseException as exc:  # raised on the reading's thread
                self.errors.append(exc)
            finally:
                self._free.put(buffer)

    def buffer(self) -> bytearray:
        return self._free.get()

    def give_back(self, buffer: bytearray) -> None:
        self._free.put(buffer)

    def search(self, buffer: bytearray, begin: int, end: int) -> None:
        """``buffer[begin:end]`` searched (not once a number at risk is found: given back)."""
        if self.found.is_set() or self.errors:
            self._free.put(buffer)
        else:
            self._work.put((buffer, begin, end))

    def close(self) -> None:
        for _ in self._threads:
            self._work.put(None)
        for thread in self._threads:
            thread.join()


def _feeding_needs_literals(
    fd: int, feed: ContentFeed, parts: int, stop: threading.Event | None = None
) -> bool:
    """:func:`_needs_literals` over the open file ``fd``, read once from its start to its end,
    every block fed to ``feed`` in order (the file's hash) on this thread and searched on
    ``parts`` threads of their own (each block with the :data:`_OVERLAP` bytes before it, as
    :func:`_range_needs_literals` searches them: the same answer). Once a number at risk is
    found the rest is read for the hash only. ``feed`` is finished once the file's end is read
    and fed, else abandoned (``stop`` set, an error). ``stop`` set: give up (False)."""
    assert _RiskScan.make() is not None
    searchers = _Searchers(
        max(1, parts), _OVERLAP + max(1, min(_SEARCH_BLOCK, os.fstat(fd).st_size))
    )
    fed = False
    try:
        at = 0  # the offset of the next byte to read
        tail = b""  # the last bytes read, searched again with the next block
        while not (stop is not None and stop.is_set()) and not searchers.errors:
            buffer = searchers.buffer()
            with memoryview(buffer) as view:
                n = os.preadv(fd, [view[_OVERLAP:]], at)
                if n:
                    at += n
                    feed.update(view[_OVERLAP : _OVERLAP + n])
                    begin = _OVERLAP - len(tail)
                    view[begin:_OVERLAP] = tail
                    tail = bytes(view[max(begin, n) : _OVERLAP + n])  # the chunk's last bytes
            if not n:
                searchers.give_back(buffer)
                fed = True
                break
            searchers.search(buffer, begin, _OVERLAP + n)
    finally:
        searchers.close()
        if fed and not searchers.errors:
            feed.finish()
        else:
            feed.abandon()
    if searchers.errors:
        raise searchers.errors[0]
    return fed and searchers.found.is_set()


def _needs_literals_re2(path: Path, stop: threading.Event | None = None) -> bool:
    """:func:`_needs_literals` by one regular expression over each block (RE2, linear)."""
    with path.open("rb") as f:
        tail = b""
        while block := f.read(_BLOCK):
            if stop is not None and stop.is_set():
                return False
            if _matches(tail + block[:_TAIL]) or _matches(block):  # across the seam, then in
                return True
            tail = block[-_TAIL:]
    return False


class _RiskScan:
    """One file's search for :data:`_LITERAL_AT_RISK` with Hyperscan (but :data:`_STRAY`,
    searched beside it by :func:`_stray`): the alternatives of :data:`_AT_RISK` as they are,
    :data:`_EXPONENT` by its hint, each hint confirmed by :data:`_EXPONENT` on the bytes
    around it (Python ``re``). The compiled patterns are shared; each scan has its own scratch
    space (scans on several threads at once)."""

    _database: hyperscan.Database | None = None
    _failed = False
    _lock = threading.Lock()
    _HINT = len(_AT_RISK)
    _exponent = re.compile(_EXPONENT)

    def __init__(self, database: hyperscan.Database) -> None:
        self._db = database
        self._scratch = hyperscan.Scratch(database)

    @classmethod
    def make(cls) -> _RiskScan | None:
        """A scan, or None where Hyperscan cannot run (no wheel, a CPU without SSSE3)."""
        if hyperscan is None:
            return None
        with cls._lock:
            if cls._database is None and not cls._failed:
                patterns = [*_AT_RISK, _EXPONENT_HINT]
                flags = [hyperscan.HS_FLAG_SINGLEMATCH] * len(_AT_RISK) + [0]
                try:
                    compiled = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
                    compiled.compile(
                        expressions=patterns,
                        ids=list(range(len(patterns))),
                        elements=len(patterns),
                        flags=flags,
                    )
                    cls._database = compiled
                except hyperscan.error as exc:
                    cls._failed = True
                    log.warning("Hyperscan cannot run here (%s): JSON numbers checked by RE2", exc)
            database = cls._database
        return None if database is None else cls(database)

    def found(self, chunk: memoryview) -> bool:
        """Whether :data:`_LITERAL_AT_RISK` occurs in ``chunk``."""
        hits = 0
        answer: bool | None = False  # None: too many hints, RE2 answers

        def on_match(pattern: int, _start: int, end: int, _flags: int, _context: object) -> bool:
            nonlocal hits, answer
            if pattern != self._HINT:
                answer = True
                return True  # stop
            window = bytes(chunk[max(0, end - _TAIL) : end + _TAIL])
            if self._exponent.search(window):
                answer = True
                return True
            hits += 1
            if hits > _MAX_HINTS:
                answer = None
                return True
            return False

        try:
            # any buffer scans (typed bytes or str): the block as it is, not a copy
            data = typing.cast(bytes, chunk)
            self._db.scan(data, match_event_handler=on_match, scratch=self._scratch)
        except hyperscan.ScanTerminated:
            pass
        if answer is None:
            return _matches(bytes(chunk))
        return answer


class _LiteralScan:
    """:func:`_needs_literals` on a thread, while DuckDB reads the file: the reading hands out
    no batch after the scan found a number at risk, and ends only once the scan is done
    (:meth:`check` raises :class:`ReadAgain` to read the file exactly). Pieces of a big file
    may be committed before the scan ends; the loader rolls them back when it raises."""

    def __init__(self, path: Path, hashing: Hashing | None = None) -> None:
        self._path = path
        self._stop = threading.Event()
        self._done = threading.Event()
        self._found = False
        self._error: BaseException | None = None
        # the file's content hash, fed by this search's reading when it is the same file
        # (one read of its bytes, not two)
        self._feeding: tuple[io.FileIO, ContentFeed] | None = None
        if hashing is not None and _RiskScan.make() is not None:
            file = path.open("rb", buffering=0)
            try:
                feed = hashing.claim(file.fileno())
            except BaseException:
                file.close()
                raise
            if feed is None:
                file.close()
            else:
                self._feeding = (file, feed)
        self._thread = threading.Thread(target=self._run, name="loader-json-scan", daemon=True)
        try:
            self._thread.start()
        except BaseException:
            if self._feeding is not None:
                self._feeding[0].close()
                self._feeding[1].abandon()
            raise

    def _run(self) -> None:
        try:
            # on every core (at most _SCAN_THREADS, each with a block's buffer): the first
            # records' reading waits for it (``window_rows``)
            parts = min(os.cpu_count() or 1, _SCAN_THREADS)
            if self._feeding is None:
                self._found = _needs_literals(self._path, self._stop, parts)
            else:
                file, feed = self._feeding
                with file:
                    self._found = _feeding_needs_literals(file.fileno(), feed, parts, self._stop)
        except BaseException as exc:  # raised on the reading side
            self._error = exc
        finally:
            if self._feeding is not None:
                self._feeding[1].abandon()  # no-op once finished
            self._done.set()

    def found(self) -> bool:
        """Whether the scan is done and found a number at risk."""
        return self._done.is_set() and self._error is None and self._found

    def check(self, *, wait: bool) -> None:
        """Raise if the scan found a number at risk (``wait``: once it is done)."""
        if wait:
            self._done.wait()
        if not self._done.is_set():
            return
        if self._error is not None:
            raise self._error
        if self._found:
            raise ReadAgain("a JSON number DuckDB may not keep as written", exact=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _matches(data: bytes) -> bool:
    """Whether :data:`_LITERAL_AT_RISK` occurs in ``data`` (one binary value, no copy)."""
    offsets = pa.array([0, len(data)], pa.int32()).buffers()[1]
    one = pa.Array.from_buffers(pa.binary(), 1, [None, offsets, pa.py_buffer(data)])
    return bool(pc.match_substring_regex(one, _LITERAL_AT_RISK)[0].as_py())


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _json_path(key: str) -> str:
    return _sql_str("$." + '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')


#: The name of a file's copy without its UTF-8 byte-order mark (:func:`_without_bom`): a byte
#: :func:`_not_utf8` finds in it is named at its offset in the file, the mark's 3 bytes too
_WITHOUT_BOM = "content-without-bom"


def _without_bom(path: Path, limits: Limits, stack: ExitStack) -> Path:
    """The file without its UTF-8 byte-order mark, in a scratch file (DuckDB reads it as data)."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=limits.scratch)))
    target = folder / _WITHOUT_BOM
    with path.open("rb") as src, target.open("wb") as dst:
        src.seek(len(dialect.BOM_UTF8))
        shutil.copyfileobj(src, dst, _BLOCK)
    return target


#: JSON's whitespace and the two bytes DuckDB also skips between values (a vertical tab, a form
#: feed): where a file's first value starts, whether or not it may hold them
_BLANKS = dialect.JSON_BLANK + b"\x0b\x0c"


def _first_non_blank(f: typing.BinaryIO) -> bytes:
    """The first byte of an open file (behind its byte-order mark) that is neither JSON
    whitespace nor a vertical tab or form feed, however far in (read by blocks); ``b""`` when
    there is none."""
    block = f.read(_PEEK_BYTES).removeprefix(dialect.BOM_UTF8)
    while block:
        kept = block.lstrip(_BLANKS)
        if kept:
            return kept[:1]
        block = f.read(_PEEK_BYTES)
    return b""


def _last_non_blank(f: typing.BinaryIO) -> bytes:
    """The last byte of an open file that is no JSON whitespace (space, tab, LF, CR), however
    much of it ends the file (read backwards by blocks); ``b""`` when there is none."""
    end = f.seek(0, io.SEEK_END)
    while end > 0:
        start = max(0, end - _PEEK_BYTES)
        f.seek(start)
        kept = f.read(end - start).rstrip(dialect.JSON_BLANK)
        if kept:
            return kept[-1:]
        end = start
    return b""


def _check_json_array_end(path: Path, head: bytes) -> None:
    """DuckDB forgives a JSON array cut short (``[{...},``); a truncated file is not loaded,
    nor one with text after the array (``[...] x``: the file does not end with ``]`` either;
    which of the two, msgspec's parse of the file tells, as the API's does)."""
    if not head.lstrip(dialect.BOM_UTF8 + _BLANKS).startswith(b"["):
        return  # (a blank line holding a form feed before it: an array still, its end checked)
    with path.open("rb") as f:
        if _last_non_blank(f) == b"]":
            return
        cut = FileRejected("unparseable", dialect.malformed_json(dialect.JSON_ARRAY_CUT))
        # text after a whole array, or the array cut short: msgspec's parse of the file (the
        # refusal's path only) tells which, as the API's does
        start = len(dialect.BOM_UTF8) if head.startswith(dialect.BOM_UTF8) else 0
        with _whole(f) as whole, memoryview(whole) as view, view[start:] as text:
            try:
                msgspec.json.decode(text, type=msgspec.Raw)
            except RecursionError:  # nested past msgspec's limit: cut short, as said
                pass
            except msgspec.DecodeError as exc:
                end = dialect.json_value_end(str(exc))
                if end is not None:
                    after = start + end
                    shown = dialect.json_after_array(whole[after : after + 16])
                    cut = FileRejected("unparseable", dialect.malformed_json(shown))  # the API's
                elif str(exc) != "Input data was truncated":  # no JSON before its end:
                    why = dialect.lone_surrogate_reason(str(exc), text) or str(exc)
                    cut = FileRejected("unparseable", dialect.malformed_json(why))  # as the API
    raise _not_utf8(
        path, cut, json=True
    )  # a byte that is not UTF-8 is named first, as the API does


#: DuckDB's place in a ``.json`` file (an array, or values one after another): "record/value
#: N", counted from 2 as its NDJSON lines are
_RECORD_VALUE = re.compile(r"at byte \d+ in record/value (\d+)")


def _json_non_object(path: Path) -> int | None:
    """The place (from 0) of the first value that is not an object in a ``.json`` file of JSON
    values one after another (msgspec reads each), or None: none, or an array."""
    with path.open("rb") as f, _whole(f) as whole, memoryview(whole) as view:
        pos, index = 0, 0
        while True:
            while pos < len(whole) and whole[pos] in b" \t\r\n":
                pos += 1
            if pos == len(whole):
                return None
            if whole[pos : pos + 1] != b"{":
                return None if index == 0 and whole[pos : pos + 1] == b"[" else index
            index += 1
            with view[pos:] as rest:
                try:
                    msgspec.json.decode(rest, type=msgspec.Raw)
                    return None
                except (RecursionError, msgspec.DecodeError) as exc:
                    end = dialect.json_value_end(str(exc))
            if end is None:
                return None
            pos += end


class _NotAnObject(FileRejected):
    """A record that is not an object (``record``: its place among the file's records, from
    0), said without its place until :func:`_not_an_object` names it by the file's text."""

    def __init__(self, record: int | None) -> None:
        super().__init__("unparseable", dialect.NOT_OBJECT)
        self.record = record


def _not_an_object(path: Path, kind: Kind, record: int | None) -> FileRejected:
    """The refusal of a record that is not an object (``record``, from 0, when known), in the
    API's words (``dialect.NOT_OBJECT``) after its NDJSON line (the file's own, blank lines
    counted) or its place in a ``.json`` file (from 1), as the API's row names it."""
    if kind != "ndjson":
        malformed = _no_object(path, None)
        if malformed is not None:
            return malformed
    if record is None:
        return FileRejected("unparseable", dialect.NOT_OBJECT)
    if kind != "ndjson":
        return FileRejected("unparseable", f"record {record + 1}: {dialect.NOT_OBJECT}")
    line = _json_line_of(path, kind)(record)
    malformed = None if line is None else _no_object(path, line)
    if malformed is not None:
        return malformed
    where = f"line {line}: " if line is not None else ""
    return FileRejected("unparseable", where + dialect.NOT_OBJECT, line=line)


def _placed(path: Path, kind: Kind, refused: FileRejected) -> FileRejected:
    """``refused``, a record that is not an object named by its place."""
    if isinstance(refused, _NotAnObject):
        return _not_an_object(path, kind, refused.record)
    return refused


def _json_values_said(path: Path, *, deep: bool = True) -> str | None:
    """:func:`_json_values_cause` as the API says it (``dialect.malformed_json``): a value
    after the first of JSON values one after another named by its record (from 1)."""
    found = _json_values_cause(path, deep=deep)
    if found is None:
        return None
    why, record = found
    if dialect.is_too_deep_reason(_PLACE.sub("", why)):  # well formed, too deep: no "malformed"
        return why
    return dialect.malformed_json(why, None if record is None else f"record {record + 1}")


_PLACE = re.compile(r"^record \d+(, |: )")


def _json_values_cause(path: Path, *, deep: bool = True) -> tuple[str, int | None] | None:
    """Why a ``.json`` file (an array, or JSON values one after another) is no such JSON
    (``lakehouse.jsontext.text_cause``: msgspec's words at the byte of the JSON text, after a
    byte-order mark, as the API says it; DuckDB names a byte inside the record and counts
    records from 2); None when msgspec reads the file (or, not ``deep``, cannot read it for
    its depth alone). The refusal's path only."""
    with path.open("rb") as f, _whole(f) as whole:
        return jsontext.text_cause(whole, deep=deep)


def _json_lone_surrogate(path: Path, line: int | None) -> str | None:
    """The API's words for the lone surrogate's escape DuckDB met on NDJSON ``line`` (the
    file's first such escape when the line is not known), or None when there is none."""
    with path.open("rb") as f:
        for number, text in enumerate(f, start=1):
            if line is None or number == line:
                escape = dialect.lone_surrogate_escape(text)
                if escape is not None:
                    return dialect.LONE_SURROGATE.format(escape=escape)
                if line is not None:
                    return None
    return None


def _repeated_key(text: str, where: str, line: int | None) -> FileRejected:
    """DuckDB's refusal of an object that repeats a key (``text``), naming the key (``has
    duplicate key "k"``) and, in a .json file, the record (``in record/value N``, from 1), as
    the API names them (``where``: an NDJSON record's line, said already)."""
    first = text.split("\n", 1)[0]
    key = re.search(r'has duplicate key "(.*)"$', first)
    value = re.search(r"in record/value (\d+)", first)
    if not where and value is not None:
        where = f"record {value[1]}: "
    return FileRejected(
        "unparseable",
        where + (f"an object repeats the key {key[1]!r}" if key else "an object repeats a key"),
        line=line,
        column=key[1] if key else None,
    )


def _json_error(exc: Exception, path: Path) -> Exception:
    """Why the file is refused; DuckDB running out of memory is the machine's trouble, not the
    file's: that error itself, so the file stays in the landing zone for the next pass."""
    if isinstance(exc, duckdb.OutOfMemoryException):
        return exc
    # DuckDB names the file it read: a scratch copy (without a byte-order mark, inflated), never
    # the landing file's name; the refusal is about the landing file, named in its .error.json
    text = re.sub(rf' in file "({re.escape(str(path))}|[^"]*)",?', "", str(exc))
    bound = _OBJECT_BOUND_EXCEEDED.search(text)
    if bound is not None:  # a record past DuckDB's bound: it may parse, read with one it fits
        if int(bound[1]) < _MAX_OBJECT_BYTES:
            return ReadAgain("a JSON record past DuckDB's bound", big_records=True)
        why = (
            f"a record of more than {_MAX_OBJECT_BYTES:,} bytes (2 GiB): Arrow holds at most"
            " that in one value; bronze does not load values this large"
        )
        return FileRejected("too_large", why)
    if "Malformed JSON" in text and _RECORD_VALUE.search(text):
        said = _json_values_said(path)
        if said is not None:
            return _not_utf8(path, FileRejected("unparseable", said), json=True)
        odd = _json_non_object(path)
        if odd is not None:  # DuckDB stops at a scalar followed by a value (``5{``)
            return _not_utf8(path, _not_an_object(path, "json", odd), json=True)
        # msgspec reads it: DuckDB's record, counted from 1 (its byte is inside the record)
        text = _RECORD_VALUE.sub(lambda m: f"in record {int(m[1]) - 1}", text)
    match = re.search(r"(?:on line|in line):? (\d+)", text, re.IGNORECASE)
    line = None
    if match:
        # DuckDB's "line" counts records (blank lines are none), from 2 for a record it cannot
        # parse ("at byte B in line N": record N - 1), from 1 for one it cannot transform (a
        # repeated key): named by the line of the file it is on, as the API names it
        record = int(match[1]) - (2 if "Malformed JSON" in text else 1)
        line = _json_line_of(path, "ndjson")(record) if record >= 0 else None
        said = match[0][: -len(match[1])]
        text = text.replace(match[0], f"{said}{line}" if line is not None else "")
    where = f"line {line}: " if line is not None else ""
    # a byte that is not UTF-8 is named first, whatever DuckDB met (the API checks it first too)
    if "Expected OBJECT" in text:
        refused = _no_object(path, line, place=True) or FileRejected(
            "unparseable", where + dialect.NOT_OBJECT, line=line
        )
        return _not_utf8(path, refused, json=True)
    if "duplicate key" in text:
        return _not_utf8(path, _repeated_key(text, where, line), json=True)
    told = _told_as_the_api(path, text, line)
    if told is not None:
        return _not_utf8(path, told, json=True)
    summary = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    summary = re.sub(r"^[\w ]*Error: ", "", summary)
    unparseable = FileRejected(
        "unparseable", f"the file does not parse as JSON: {summary}", line=line
    )
    # a byte that is not UTF-8 is the reason whatever DuckDB met (the API checks it first too);
    # DuckDB's words are no hint (the file's own name may say "utf8")
    return _not_utf8(path, unparseable, json=True)


def _told_as_the_api(path: Path, text: str, line: int | None) -> FileRejected | None:
    """DuckDB's refusal (``text``) of NDJSON ``line`` in the API's words, or None: its "no low
    surrogate in string" (the lone surrogate's escape), its "Malformed JSON" (msgspec's words
    for the line, ``dialect.malformed_json``)."""
    if line is not None and "Malformed JSON" in text:
        earlier = _earlier_line_refusal(path, line)
        if earlier is not None:  # the API judges each line in turn, its kind with its text
            return earlier
    if "surrogate" in text:  # DuckDB's "no low surrogate in string": the API's words
        lone = _json_lone_surrogate(path, line)
        if lone is not None:
            said = dialect.malformed_json(lone, None if line is None else f"line {line}")
            return FileRejected("unparseable", said, line=line)
    if line is not None and "Malformed JSON" in text:
        why = _line_malformed(path, line)
        if why is not None:
            said = dialect.malformed_json(why, f"line {line}")
            return FileRejected("unparseable", said, line=line)
        return _line_too_deep(path, line)
    return None


def _line_malformed(path: Path, line: int) -> str | None:
    """msgspec's words for NDJSON ``line`` (from 1) that does not parse, or None when it does
    (DuckDB met something else), as the API finds them (``ingest.validation._decode_lines``):
    decoded as an object first; a line that is no object (msgspec says so at its first byte)
    then parsed as any JSON value (``msgspec.Raw``), whose words and byte are not an untyped
    decode's (``[fals]``: byte 2, not 6; before-stop read B-01 of session 17); a lone
    surrogate's escape in the API's words (:data:`dialect.LONE_SURROGATE`)."""
    with path.open("rb") as f:  # the line without its line feed, as the API decodes it
        text = next(itertools.islice(f, line - 1, None), b"").removesuffix(b"\n")
    return jsonorder.text_words(text)


def _line_too_deep(path: Path, line: int) -> FileRejected | None:
    """The depth rule's refusal of NDJSON ``line`` (from 1) that msgspec could not parse for
    its depth (Python's "maximum recursion depth exceeded" is no reason), in the API's words
    (``dialect.too_deep``: no "malformed JSON"), or None."""
    with path.open("rb") as f:
        text = next(itertools.islice(f, line - 1, None), b"").removesuffix(b"\n")
    why = dialect.too_deep(text)
    return (
        None
        if why is None
        else FileRejected("unparseable", dialect.placed(f"line {line}", why), line=line)
    )


def _earlier_line_refusal(path: Path, line: int) -> FileRejected | None:
    """The refusal of the first NDJSON line before ``line`` (from 1; DuckDB's first line it
    could not parse) that the API refuses first (``ingest.validation._decode_lines`` judges
    each line in turn: a line that is JSON but no object, ``5``, before a later line that is
    no JSON; before-stop read of session 17, fixj), or None. The refusal's path only."""
    with path.open("rb") as f:
        for number, text in enumerate(itertools.islice(f, line - 1), start=1):
            text = text.removesuffix(b"\n")
            if not text.strip():
                continue
            try:
                _AS_RECORD.decode(text)
                continue
            except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
                pass
            except RecursionError:
                continue
            why = jsonorder.text_words(text)
            if why is not None:
                said = dialect.malformed_json(why, f"line {number}")
                return FileRejected("unparseable", said, line=number)
            if text.lstrip(_JSON_SPACE)[:1] != b"{":
                return FileRejected(
                    "unparseable", f"line {number}: {dialect.NOT_OBJECT}", line=number
                )
    return None


#: an NDJSON line decoded as the API decodes it first (``ingest.validation._DECODE_ONE``)
_AS_RECORD = msgspec.json.Decoder(dict[str, typing.Any])
_JSON_SPACE = b" \t\r\n"


def _no_object(path: Path, line: int | None, *, place: bool = False) -> FileRejected | None:
    """Why a record DuckDB read as no object is refused when its text is no JSON (DuckDB reads
    ``[1,]`` and ``NaN``): msgspec's words, as the API says them (it parses a record before it
    judges its kind), for NDJSON ``line`` or a ``.json`` file (``line`` None); None when the
    text parses. ``place``: of a ``.json`` file that parses, the refusal of its first record
    that is no object, named (None: none found)."""
    if line is not None:
        why = _line_malformed(path, line)
        if why is None:
            return None
        return FileRejected("unparseable", dialect.malformed_json(why, f"line {line}"), line=line)
    said = _json_values_said(path, deep=False)
    if said is not None:
        return FileRejected("unparseable", said)
    record = _json_first_non_object(path) if place else None
    if record is None:
        return None
    return FileRejected("unparseable", f"record {record + 1}: {dialect.NOT_OBJECT}")


class _Record(msgspec.Struct, gc=False):
    """A JSON object, its members skipped: a ``.json`` array decoded as a list of them names
    its first element that is no object (``$[N]``) holding next to nothing of the others."""


_RECORDS = msgspec.json.Decoder(list[_Record])
_ELEMENT = re.compile(r"`\$\[(\d+)\]`")


def _json_first_non_object(path: Path) -> int | None:
    """The place (from 0) of the first record of a ``.json`` file that is no object (an
    array's element, or a value of values one after another), as the API's row names it; None
    when there is none or the text does not parse. The refusal's path only (before-stop read
    A-05 of session 17: DuckDB's "Expected OBJECT" past the keys' sample names no record)."""
    with path.open("rb") as f, _whole(f) as whole:
        try:
            _RECORDS.decode(whole)
        except msgspec.ValidationError as exc:
            found = _ELEMENT.search(str(exc))
            if found is not None:
                return int(found[1])
        except (msgspec.DecodeError, RecursionError):
            pass
        else:
            return None
    place = _json_non_object(path)
    return place if place is not None else _scanned_non_object(path)


class _NonObjects(ValueLengths):
    """:class:`ValueLengths` noting the place (from 0) of the first record that opens with
    anything but ``{``: records found by their brackets and strings, whatever their depth."""

    def __init__(self) -> None:
        super().__init__(limit=sys.maxsize)
        self.found: int | None = None

    def _token(self, byte: int, at: int) -> None:
        before = self.records
        super()._token(byte, at)
        if self.found is None and self.records > before and byte != 0x7B:
            self.found = self.records - 1


def _scanned_non_object(path: Path) -> int | None:
    """The place (from 0) of a ``.json`` file's first record that is no object, found without
    parsing (:class:`_NonObjects`), for a text msgspec cannot read for its depth: a record
    nested past msgspec's reach before it (*before:* session 18's fixd saw such a file
    quarantined "a record must be a JSON object", no record named). The refusal's path only."""
    scan = _NonObjects()
    with path.open("rb") as f:
        first = f.read(_PEEK_BYTES)
        block = first.removeprefix(dialect.BOM_UTF8)
        while block and scan.found is None:
            scan.feed(block)
            block = f.read(_PEEK_BYTES)
    scan.finish()
    return scan.found


#: DuckDB's refusal of a record past its ``maximum_object_size`` (the bound in bytes)
_OBJECT_BOUND_EXCEEDED = re.compile(r'"maximum_object_size" of (\d+) bytes exceeded')


def open_json(
    source: Source,
    *,
    batch_rows: int,
    database: duckdb.DuckDBPyConnection | None = None,
    limits: Limits | None = None,
    exact: bool = False,
    every_key: bool = False,
    window_rows: int | None = None,
    hashing: Hashing | None = None,
    big_records: bool = False,
) -> TextFile:
    """Open a JSON/NDJSON landing file as columns of JSON text (strings quoted, ``null`` null):
    ``loader.fitting`` unquotes the strings of the columns that keep text.

    ``exact``: read every number as written (msgspec), not as DuckDB prints its double.
    ``every_key``: list every key of the file first (one more DuckDB pass) instead of reading
    with the keys of the first records; the loader asks for it when :class:`ReadAgain` says a
    later record holds another key. ``window_rows``: the records read before anything of the
    file is committed (the loader's first piece): the number prefilter is done before the batch
    that completes them is handed out, so a file read again exactly never has pieces to roll
    back, nor a table created by them. ``hashing``: the file's content hash, fed by the
    number search's reading of the file when it is the same file (not a scratch copy).
    ``big_records``: DuckDB's bound on a record raised to hold the file's longest one
    (:func:`_json_source`); the loader asks for it when :class:`ReadAgain` says DuckDB met a
    record past its default bound.
    """
    limits = limits or Limits()
    stack = ExitStack()
    path = source.path
    try:
        path = _json_content(source, limits, stack)
        bound = _object_size(path, source.kind, big_records, limits.max_json_record_bytes)
        con = database.cursor() if database is not None else duckdb.connect()
        stack.callback(con.close)
        if exact:
            return _json_exact(path, source.kind, batch_rows, con, stack, every_key, bound)
        scan = _LiteralScan(path, hashing)
        stack.callback(scan.stop)
        try:
            keys, batches = _json_reading(con, path, source.kind, batch_rows, every_key, bound)
        except FileRejected as exc:
            raise _json_reading_refusal(path, source.kind, exc) from None
        if scan.found():  # early: no DuckDB reading wasted
            stack.close()
            return open_json(
                source,
                batch_rows=batch_rows,
                database=database,
                limits=limits,
                exact=True,
                big_records=big_records,
            )
    except duckdb.Error as exc:
        try:  # why, while the file is there: a .gz file's inflated copy goes with the stack
            rejected = _json_error(exc, path)
        finally:
            stack.close()
        raise rejected from exc
    except UnicodeDecodeError:
        stack.close()
        if exact:
            raise
        # DuckDB refused the file, its message cut inside a character of the record it quotes
        # (no UTF-8: Python cannot read it): why is told by the exact reading's own checks
        return open_json(
            source,
            batch_rows=batch_rows,
            database=database,
            limits=limits,
            exact=True,
            every_key=every_key,
            window_rows=window_rows,
            big_records=big_records,
        )
    except BaseException:
        stack.close()
        raise
    line_of = _json_line_of(path, source.kind)

    def stream() -> Iterator[pa.RecordBatch]:
        rows = 0
        try:
            for batch in batches:
                rows += batch.num_rows
                scan.check(wait=window_rows is not None and rows >= window_rows)
                yield batch
            scan.check(wait=True)
        except duckdb.Error as exc:
            raise _json_failure(exc, path) from exc
        except UnicodeDecodeError as exc:  # as above: the exact reading tells why
            raise ReadAgain("DuckDB's refusal cannot be read (no UTF-8)", exact=True) from exc

    return TextFile(keys, stream(), line_of, stack, json=True, literal_numbers=False)


def _nulls_told(batches: Iterator[pa.RecordBatch], listed: int) -> Iterator[pa.RecordBatch]:
    """``batches``, but a row of nulls after the first ``listed`` rows raises
    :class:`ReadAgain` (``exact``): a ``null`` record, which DuckDB reads so (the file is
    refused), or an empty object or one whose every value is null (a row of nulls, loaded);
    the exact reading tells them apart."""
    rows = 0
    for batch in batches:
        if rows + batch.num_rows > listed and _row_of_nulls(batch.slice(max(0, listed - rows))):
            raise ReadAgain("a row of nulls: a null record or an empty object", exact=True)
        rows += batch.num_rows
        yield batch


def _row_of_nulls(batch: pa.RecordBatch) -> bool:
    """Whether a row of ``batch`` is null in every column."""
    if batch.num_columns == 0 or any(c.null_count == 0 for c in batch.columns):
        return False  # a column without a null: no row of nulls
    return bool(pc.any(functools.reduce(pc.and_, [pc.is_null(c) for c in batch.columns])).as_py())


def _json_content(source: Source, limits: Limits, stack: ExitStack) -> Path:
    """The file's JSON text as a plain file without a byte-order mark (refusing an empty or
    cut-short file)."""
    path = _plain(source, limits, stack)
    doubled = dialect.second_bom(_head(path))
    if doubled is not None:  # DuckDB would skip it once the first is dropped
        said = dialect.malformed_json(doubled, "line 1")  # the API's words
        raise FileRejected("unparseable", said, line=1)
    head = _json_head(path)  # from the first token: a blank head is no empty file
    first = None if head is None else head.removeprefix(dialect.BOM_UTF8)[:1]
    if head is None or (first in (b"\x0b", b"\x0c") and _ascii_blank(path)):
        # no bytes (inflated: none), or blanks only (a form feed or vertical tab among them,
        # which the API strips as it strips JSON's blanks): the API's words
        blank = path.stat().st_size > 0
        raise FileRejected("empty", dialect.NO_RECORDS if blank else "the file is empty")
    if source.kind != "ndjson":  # an NDJSON line opening with '[' is a record, no array
        if _empty_json_array(path):
            raise FileRejected("empty", dialect.EMPTY_JSON_ARRAY)
        _check_json_array_end(path, head)
    if _head(path, len(dialect.BOM_UTF8)) == dialect.BOM_UTF8:  # a mark opens the file only
        path = _without_bom(path, limits, stack)
    return path


def _ascii_blank(path: Path) -> bool:
    """Whether the file holds ASCII whitespace only (``bytes.strip``'s: JSON's blanks, a form
    feed, a vertical tab), a byte-order mark opening it aside: no record, as the API says."""
    with path.open("rb") as f:
        block = f.read(_PEEK_BYTES).removeprefix(dialect.BOM_UTF8)
        while block:
            if block.strip():
                return False
            block = f.read(_PEEK_BYTES)
    return True


def _json_reading_refusal(path: Path, kind: Kind, refused: FileRejected) -> FileRejected:
    """Why the reading refused the file: a byte that is not UTF-8 later in the file is named
    first; a file of no key may be one whose only content DuckDB skipped (a form feed in
    ``[\f]``), which is no JSON."""
    if refused.kind == "empty":
        refused = _stray_blank(path, kind) or refused
    if kind != "ndjson" and isinstance(refused, _NotAnObject):  # [..] then [..]: DuckDB reads on
        after = _text_after_array(path)
        if after is not None:
            refused = FileRejected("unparseable", dialect.malformed_json(after))
    return _not_utf8(path, _placed(path, kind, refused), json=True)


def _text_after_array(path: Path) -> str | None:
    """Why a ``.json`` array followed by more JSON text (``[{...}]`` then ``[]``, which DuckDB
    reads as two arrays) is refused, in the API's words (``dialect.json_after_array``), or
    None for any other file. The refusal's path only (msgspec parses the whole file)."""
    with path.open("rb") as f:
        if f.read(_PEEK_BYTES).lstrip(_BLANKS)[:1] != b"[":
            return None
        f.seek(0)
        with _whole(f) as whole, memoryview(whole) as view:
            try:
                msgspec.json.decode(view, type=msgspec.Raw)
            except (msgspec.DecodeError, RecursionError) as exc:
                end = dialect.json_value_end(str(exc))
                if end is not None:
                    return dialect.json_after_array(whole[end : end + 16])
    return None


def _empty_json_array(path: Path) -> bool:
    """Whether a ``.json`` file holds ``[]`` and nothing else but JSON whitespace (however
    much of it), behind its byte-order mark when it has one. A form feed or vertical tab is no
    JSON whitespace: such a file is not JSON, refused as such."""
    kept = b""
    with path.open("rb") as f:
        block = f.read(_PEEK_BYTES)
        block = block.removeprefix(dialect.BOM_UTF8)
        while block:
            kept += block.translate(None, dialect.JSON_BLANK)
            if len(kept) > 2 or not b"[]".startswith(kept):
                return False  # a real file: said at its first block
            block = f.read(_PEEK_BYTES)
    return kept == b"[]"


#: the refusals :func:`json_in_order` may name otherwise (a record's, a name's, a value's)
_IN_ORDER = frozenset({"unparseable", "invalid_column", "empty", "type_conflict", "required"})


def json_in_order(path: Path, refused: FileRejected, limits: Limits) -> FileRejected:
    """The refusal of a landing file the loader refuses (``refused``: the first problem its
    reading met): of a JSON or NDJSON file, the problem named in the one order the API and
    the loader name a file's problems in (``lakehouse.jsonorder``, docs/loading.md,
    Refusals), whatever the reading met first (DuckDB's keys of the first records, a record
    past them, a value of a later batch); ``refused`` itself for any other file, or when
    that order does not judge it. The refusal's path only: a file that loads costs nothing."""
    found = from_name(path.name)
    if refused.kind not in _IN_ORDER or found is None or found.kind not in ("json", "ndjson"):
        return refused
    try:
        problem = jsonorder.first_problem(
            path,
            ndjson=found.kind == "ndjson",
            gz=found.gzip,
            max_bytes=limits.max_inflated_bytes,
            max_ratio=limits.max_inflate_ratio,
            max_record_bytes=limits.max_json_record_bytes,
            scratch=limits.scratch,
        )
    except RecordTooLarge as exc:  # before any record's problem, in the API's words
        line = exc.number if exc.unit == "line" else None
        return _not_utf8(path, FileRejected("too_large", str(exc), line=line), json=True)
    if problem is None:
        return refused
    kind, reason, line, column = jsonorder.loader_refusal(problem)
    return FileRejected(kind, reason, line=line, column=column)  # type: ignore[arg-type]


def _json_reading(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: Kind,
    batch_rows: int,
    every_key: bool,
    bound: int | None = None,
) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """The file's keys (every key, or read again) and its records as columns of JSON text.

    DuckDB reads a ``null`` record as a row of nulls: a row of nulls after the records whose
    keys were listed (where a ``null`` one is refused) makes the file read exactly
    (:func:`_nulls_told`)."""
    source = _json_source(path, _json_format(path, kind), bound)
    if not every_key and DETECTED_KEYS:
        detected = _json_detected_keys(con, path, source, batch_rows)
        if detected is not None:
            return detected[0], _nulls_told(detected[1], SAMPLE_RECORDS)
    objects = f"read_json_objects({source})"
    keys, whole = _json_keys(con, objects, None if every_key else SAMPLE_RECORDS)
    found = None if whole else _json_detected(con, path, source, keys, batch_rows)
    if found is not None:
        return keys, _nulls_told(found, SAMPLE_RECORDS)
    if not whole and not _json_all_keys(con, objects) <= set(keys):
        keys, whole = _json_keys(con, objects, None)  # a key beyond the first records
    _some_keys(keys)
    batches = _json_columns(con, path, source, keys, batch_rows)
    # whole: every record was listed by _json_keys (a null one refused)
    return keys, batches if whole else _nulls_told(batches, SAMPLE_RECORDS)


#: DuckDB's default ``maximum_object_size`` (16 MiB): a larger bound makes its JSON reader
#: dearer on every file (~+15% at 64 MiB, +40% at 2 GiB per 1M-row NDJSON read, session 13),
#: so only a file whose last line needs it gets one
_DUCKDB_OBJECT_BYTES = 16 << 20
#: Arrow holds at most this in one value: a record past it is not loaded anyway
_MAX_OBJECT_BYTES = (2 << 30) - 1


def _last_line_bytes(path: Path) -> int:
    """The bytes after the file's last line feed (all of them when it has none), read from
    the end backwards a block at a time: as many as that line holds."""
    with path.open("rb") as f:
        end = f.seek(0, os.SEEK_END)
        at = end
        while at > 0:
            start = max(0, at - _PEEK_BYTES)
            f.seek(start)
            found = f.read(at - start).rfind(b"\n")
            if found >= 0:
                return end - (start + found + 1)
            at = start
        return end


def _json_source(path: Path, fmt: str, bound: int | None = None) -> str:
    """The file and the options of a ``read_json``/``read_json_objects`` call: DuckDB's
    ``maximum_object_size`` raised to ``bound`` (:func:`_object_size`) when given."""
    source = f"{_sql_str(str(path))}, format = {_sql_str(fmt)}"
    return source if bound is None else f"{source}, maximum_object_size = {bound}"


#: DuckDB reads, under its default bound, a record a line feed follows up to about twice it:
#: a bound on records below this must be checked by the loader on every file
_DUCKDB_READS = 2 * _DUCKDB_OBJECT_BYTES


def _object_size(path: Path, kind: Kind, big_records: bool, limit: int) -> int | None:
    """DuckDB's ``maximum_object_size`` for the file (None: its default), once no record of it
    is past ``limit`` (``max_json_record_bytes``; else ``too_large``, naming the first such
    record in the API's words: :func:`_longest_record`).

    DuckDB reads an object of more than 16 MiB (its ``maximum_object_size``) that a line feed
    follows up to about twice that, but refuses one that ends the file ("maximum_object_size
    ... exceeded"): a ``json.dump`` of a big object has no final line break. Such a file gets a
    bound that holds its last record: NDJSON's last line; a ``.json`` of objects one after
    another, whose last one may span many lines (``indent=2``), the file's longest record when
    it does not end in a line feed. ``big_records`` (DuckDB refused a record past its bound
    elsewhere in the file, as :func:`_json_error` tells, which makes the loader read it again):
    a bound that holds the file's longest record. DuckDB's memory follows the bound, not the
    record (review findings s14 revl 18 and 20): the bound is never that of a record past
    ``limit``, so never above twice ``limit`` and 1 MiB. A file of more than ``limit`` bytes
    whose bound lets DuckDB read a record past ``limit`` (twice the bound, 32 MiB for its
    default) has every record measured first, and gets a bound that holds its longest. Only
    files holding a big record pay for the pass over the file and the dearer reading (and
    every file of more than ``limit`` bytes when ``limit`` is below what DuckDB reads by
    default)."""
    fmt = _json_format(path, kind)
    size = path.stat().st_size
    longest = None  # unknown: at most the file's size
    if size > limit and (big_records or limit < _DUCKDB_READS):
        longest = _longest_record(path, kind, limit)
    if big_records:
        if longest is None:
            longest = size if kind != "ndjson" else _longest_record(path, kind, limit)
        return _object_bound(longest)
    if fmt == "auto":  # an array: DuckDB reads its elements, whatever the lines
        return None
    last = _last_line_bytes(path)
    if fmt == "unstructured" and last:  # not ending in a line feed: the last record's size
        last = longest if longest is not None else size  # is not known, and is at most that
    if last < _DUCKDB_OBJECT_BYTES // 2:
        return None
    if longest is None and size > limit and 2 * _object_bound(last) > limit:
        # DuckDB reads a record a line feed follows up to about twice its bound, wherever it
        # lies: a bound sized by the last line alone let a record past ``limit`` earlier in
        # the file be read without a word (review finding readA 03, session 15)
        longest = _longest_record(path, kind, limit)
    return _object_bound(last if longest is None else longest)


def _longest_record(path: Path, kind: Kind, limit: int) -> int:
    """The bytes of the file's longest record (an NDJSON line, a ``.json``'s element or
    object: ``lakehouse.jsonrecords``), read a block at a time; the file is refused as
    ``too_large`` at the first record past ``limit``, in the API's words (a byte that is not
    UTF-8 named first, as the API names it)."""
    lengths = LineLengths(limit) if kind == "ndjson" else ValueLengths(limit)
    try:
        with path.open("rb") as f:
            while block := f.read(_BLOCK):
                lengths.feed(block)
            if isinstance(lengths, ValueLengths):
                lengths.finish()
    except RecordTooLarge as exc:
        line = exc.number if exc.unit == "line" else None
        raise _not_utf8(path, FileRejected("too_large", str(exc), line=line), json=True) from None
    return lengths.longest


def _object_bound(record: int) -> int:
    """DuckDB's ``maximum_object_size`` for a file whose longest record is ``record`` bytes:
    twice that and 1 MiB (as measured to hold a last record without a line feed), at most
    what Arrow holds in one value."""
    return min(_MAX_OBJECT_BYTES, 2 * record + (1 << 20))


def _json_format(path: Path, kind: Kind) -> str:
    """DuckDB's ``format`` for the file: NDJSON ``newline_delimited``; a ``.json`` array
    ``auto`` (DuckDB finds the array); any other ``.json`` ``unstructured``: objects one after
    another, each on one line or over several, with or without a line break between them.
    ``auto`` would settle on ``newline_delimited`` when its sample holds one object per line,
    then refuse a later object spanning lines (or two on one line) as malformed JSON."""
    if kind == "ndjson":
        return "newline_delimited"
    with path.open("rb") as f:  # past the byte-order mark (dropped) and any whitespace
        while block := f.read(_PEEK_BYTES):
            first = block.lstrip(b" \t\r\n\x0b\x0c")[:1]
            if first:
                return "auto" if first == b"[" else "unstructured"
    return "auto"


def _json_keys(
    con: duckdb.DuckDBPyConnection, objects: str, limit: int | None
) -> tuple[list[str], bool]:
    """The keys of the file's objects (of its first ``limit``), in first-seen order, and
    whether those were all of the file's objects."""
    rows = f"(select json from {objects} limit {limit})" if limit else objects
    # one row per distinct key list (most files: one), in the order of its first record. The
    # numbers are the file's order: DuckDB keeps a single table's rows in order through LIMIT
    # and an empty OVER () while preserve_insertion_order is on (its default, never turned off
    # here; DuckDB's docs, Order Preservation; checked on 2M-record NDJSON files at 1, 2 and 8
    # threads: every n its record's place, the first record no object and the keys first seen
    # late named alike, session 20)
    found = con.sql(
        "select json_type(json) = 'OBJECT', json_keys(json) as k, count(*), min(n) as first"
        f" from (select json, row_number() over () as n from {rows})"
        " group by all order by first"
    ).fetchall()
    keys: dict[str, None] = {}
    for is_object, names, _, first in found:
        if not is_object:  # the first such record (from 1 in the reading's order)
            raise _NotAnObject(first - 1)
        keys.update(dict.fromkeys(names))
    names = list(keys)
    problem = dialect.name_problem(names)
    if problem is not None:
        raise FileRejected("invalid_column", problem[1], column=problem[0])
    whole = limit is None or sum(count for _, _, count, _ in found) < limit
    if whole:
        _some_keys(names)
    return names, whole


def _some_keys(keys: list[str]) -> None:
    if not keys:
        raise FileRejected("empty", dialect.NO_KEYS)


def _json_all_keys(con: duckdb.DuckDBPyConnection, objects: str) -> set[str]:
    """Every key of every object in the file: one parallel DuckDB pass (no Python per record).

    The columns a file is read with are checked against this set, so a key first seen late in
    a file becomes a column too (``read_json`` with named columns ignores any other key)."""
    found = con.sql(f"select distinct unnest(json_keys(json)) from {objects}").fetchall()
    return {key for (key,) in found}


def _json_detected(
    con: duckdb.DuckDBPyConnection, path: Path, source: str, keys: list[str], batch_rows: int
) -> Iterator[pa.RecordBatch] | None:
    """The records as columns of JSON text, the columns found by DuckDB from the first records
    (``keys``), in one parse of each record: no pass listing every key first. None when DuckDB
    finds other columns than ``keys`` (the caller lists every key instead).

    With its own detection (``maximum_depth = 1``: every value as JSON text), ``read_json``
    refuses an object holding a key the first records did not (tested: with named columns it
    ignores it): :func:`_json_failure` turns that refusal into :class:`ReadAgain`
    (``every_key``), so no key is dropped. It refuses a record that is not an object and an
    object that repeats a key, as with named columns."""
    if not keys:
        return None
    try:
        relation = con.sql(_json_detection(source))
    except duckdb.Error:
        return None  # read with every key named instead: its error, if any, says why
    columns = list(relation.columns)
    if sorted(columns) != sorted(keys) or any(str(t) != "JSON" for t in relation.types):
        return None  # DuckDB renames a key differing only by case: never taken as it is
    order = [columns.index(k) for k in keys]
    try:
        reader = relation.to_arrow_reader(batch_rows)  # may read the first records already
    except duckdb.Error as exc:
        if "has unknown key" in str(exc):
            return None
        raise
    except UnicodeDecodeError:
        # DuckDB's message quoting the record is no UTF-8 (a string escaping a surrogate pair,
        # U+10000 and up, is quoted as two 3-byte halves): unreadable, so no reason can be
        # told from it; read with every key named instead, whose own error, if any, says why
        return None
    return _json_batches(reader, keys, order, path)


def _json_detected_keys(
    con: duckdb.DuckDBPyConnection, path: Path, source: str, batch_rows: int
) -> tuple[list[str], Iterator[pa.RecordBatch]] | None:
    """The file's keys and records as :func:`_json_detected` gives them, the keys taken from
    DuckDB's own detection (the first :data:`SAMPLE_RECORDS` records, in first-seen order)
    instead of a pass of :func:`_json_keys` over the same records first: one parse of the
    sample, not two (at 100,000 records the key pass was ~10% of a load's CPU). None when
    the columns cannot be taken for the keys as they are; the caller then lists them by
    :func:`_json_keys`, which says why a file is refused.

    What the key pass checks and DuckDB's detection does not is checked here: a key DuckDB
    renamed (it renames a key differing only by case from another, ``A`` to ``A_1``: any
    column ending in ``_<digits>`` is left to the key pass), a column name the loader refuses
    (:func:`lakehouse.dialect.name_problem`), and a record that is ``null`` (DuckDB reads it
    as a row of nulls; the key pass refuses the file): a row of nulls among the sample's
    records (``null``, ``{}`` or every value null) makes the reading stop before handing out
    anything and read again listing every key (:class:`ReadAgain`, ``every_key``), which
    refuses a ``null`` record and keeps the others as before. A record that is not an object,
    or repeats a key, fails DuckDB's detection: the key pass then says why."""
    try:
        relation = con.sql(_json_detection(source))
    except duckdb.Error:
        return None
    keys = list(relation.columns)
    if (
        not keys
        or any(str(t) != "JSON" for t in relation.types)
        or any(_RENAMED.search(k) for k in keys)
        or dialect.name_problem(keys) is not None
    ):
        return None
    try:
        reader = relation.to_arrow_reader(batch_rows)  # may read the first records already
    except (duckdb.Error, UnicodeDecodeError):
        return None  # the key pass and its reading say why, as without this path
    batches = _json_batches(reader, keys, list(range(len(keys))), path)
    return keys, _no_null_records(batches, SAMPLE_RECORDS)


def _json_detection(source: str) -> str:
    """``read_json`` finding the columns from the first records itself, every value JSON text
    (``source``: the file and its options, :func:`_json_source`)."""
    return (
        f"select * from read_json({source},"
        f" records = true, maximum_depth = 1, sample_size = {SAMPLE_RECORDS},"
        " map_inference_threshold = -1, field_appearance_threshold = 0)"
    )


#: a column name DuckDB may have made by renaming a key (``A`` beside ``a`` becomes ``A_1``)
_RENAMED = re.compile(r"_[0-9]+\Z")


def _no_null_records(batches: Iterator[pa.RecordBatch], sample: int) -> Iterator[pa.RecordBatch]:
    """``batches``, but a row of nulls in the first ``sample`` rows raises :class:`ReadAgain`
    (``every_key``) before any batch is handed out: it may be a ``null`` record, which DuckDB's
    detection reads as a row of nulls (see :func:`_json_detected_keys`)."""
    held: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        held.append(batch)
        head = batch.slice(0, sample - rows)
        rows += batch.num_rows
        if _row_of_nulls(head):
            raise ReadAgain("a row of nulls among the first JSON records", every_key=True)
        if rows >= sample:
            break
    yield from held
    yield from batches


def _json_columns(
    con: duckdb.DuckDBPyConnection, path: Path, source: str, keys: list[str], batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The records as columns of JSON text (strings quoted), one parse of each record.

    ``keys`` must be every key of the file (:func:`_json_all_keys`). DuckDB refuses a record
    that is not an object and an object that repeats a key (:func:`_json_error` says so)."""
    columns = "{" + ", ".join(f"{_sql_str(k)}: 'JSON'" for k in keys) + "}"
    sql = f"select * from read_json({source}, records = true, columns = {columns})"
    reader = con.sql(sql).to_arrow_reader(batch_rows)
    return _json_batches(reader, keys, list(range(len(keys))), path)


def _json_batches(
    reader: pa.RecordBatchReader, keys: list[str], order: list[int], path: Path
) -> Iterator[pa.RecordBatch]:
    """DuckDB's batches of JSON columns as string columns named ``keys`` (column ``order[i]``
    holds ``keys[i]``)."""
    try:
        for batch in iter_batches(reader):
            columns = [batch.column(i) for i in order]
            yield pa.RecordBatch.from_arrays(
                [c if c.type == _STRING else c.cast(_STRING) for c in columns], names=keys
            )
    except OSError as exc:  # DuckDB's error, past the first batch, as pyarrow passes it on
        if "Invalid Input Error" not in str(exc):
            raise
        raise _json_failure(exc, path) from exc


def _json_failure(exc: Exception, path: Path) -> Exception:
    """A DuckDB error while reading records: a key the columns lack (read again listing every
    key), else why the file is refused."""
    if "has unknown key" in str(exc):
        return ReadAgain("a JSON key first seen after the first records", every_key=True)
    return _json_error(exc, path)


def iter_batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        if batch.num_rows:
            yield batch


def _json_line_of(path: Path, kind: Kind) -> Locate:
    def line_of(row: int) -> int | None:
        if kind != "ndjson":
            return None
        seen = -1
        with path.open("rb") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    seen += 1
                    if seen == row:
                        return number
        return None

    return line_of


_RAW_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])


def _json_exact(
    path: Path,
    kind: Kind,
    batch_rows: int,
    con: duckdb.DuckDBPyConnection,
    stack: ExitStack,
    every_key: bool = False,
    bound: int | None = None,
) -> TextFile:
    """The exact reading: every value's JSON text as written (msgspec), for files whose numbers
    DuckDB may not keep. It streams: DuckDB splits the file into records (``read_json_objects``
    gives each record's text as written, NDJSON or an array) and checks each record's keys in
    the same pass (none repeated, none beyond the columns: a later key raises
    :class:`ReadAgain` to list every key first); msgspec decodes them a batch at a time, so
    memory follows the batch, not the file."""
    stray = _stray_blank(path, kind)
    if stray is not None:
        raise _not_utf8(
            path, stray, json=True
        )  # a byte that is not UTF-8 is named first, as the API does
    objects = f"read_json_objects({_json_source(path, _json_format(path, kind), bound)})"
    try:
        names, whole = _json_keys(con, objects, None if every_key else SAMPLE_RECORDS)
        if not names:
            names, whole = _json_keys(con, objects, None)  # refuses a file of empty objects
    except FileRejected as exc:  # a byte that is not UTF-8 later in the file: named first
        raise _not_utf8(path, _placed(path, kind, exc), json=True) from None
    known = "[" + ", ".join(_sql_str(k) for k in names) + "]"
    beyond = "" if whole else f" and list_has_all({known}, k)"
    query = (
        f"select json, len(k) = len(list_distinct(k)){beyond} as fits"
        f" from (select json, json_keys(json) as k from {objects})"
    )
    reader = con.sql(query).to_arrow_reader(batch_rows)
    line_of = _json_line_of(path, kind)

    def batches() -> Iterator[pa.RecordBatch]:
        row = 0  # records before this batch
        for batch in iter_batches(reader):
            texts = batch.column(0).to_pylist()
            fits = pc.fill_null(batch.column(1), True)  # not an object: msgspec says so
            if not pc.all(fits).as_py():
                first = int(pc.index(fits, False).as_py())
                _odd_record(texts[first], names, line_of(row + first), row + first + 1)
            records = _decoded_at_its_byte(path, kind, texts, row, line_of)
            columns = [pa.array([_raw_text(r.get(k)) for r in records], _STRING) for k in names]
            yield pa.RecordBatch.from_arrays(columns, names=names)
            row += len(texts)

    def stream() -> Iterator[pa.RecordBatch]:
        try:
            yield from batches()
        except FileRejected as exc:  # a byte that is not UTF-8 later in the file: named first
            raise _not_utf8(path, exc, json=True) from exc
        except duckdb.Error as exc:
            raise _json_error(exc, path) from exc
        except OSError as exc:
            if "Invalid Input Error" not in str(exc):
                raise
            raise _json_error(exc, path) from exc

    return TextFile(names, stream(), line_of, stack, json=True)


def _stray_blank(path: Path, kind: Kind) -> FileRejected | None:
    """The refusal of a JSON file holding a vertical tab or form feed where the API refuses it
    (RFC 8259's whitespace is space, tab, LF and CR; DuckDB skips any C ``isspace`` byte between
    values), or None. The API reads a line holding only whitespace (``bytes.strip``) as blank,
    in an NDJSON file and in a ``.json`` file of objects one after another; a ``.json`` array is
    one JSON text to it, where any such byte refuses the file. Inside a string such a byte is a
    control character, refused by both already. Searched by blocks (``bytes.find``); only a
    file the number search sent to the exact reading (:data:`_AT_RISK`) is searched."""
    with path.open("rb") as f:
        array = kind != "ndjson" and _first_non_blank(f) == b"["
        f.seek(0)
        base, carry = 0, b""  # the bytes of the line the block begins in, before the block
        while block := f.read(_BLOCK):
            data = carry + block
            start = 0
            while True:
                hits = [i for i in (data.find(b"\x0b", start), data.find(b"\x0c", start)) if i >= 0]
                if not hits:
                    break
                at = min(hits)
                if array:  # one JSON text: any such byte refuses it
                    return _stray_refusal(path, kind, base - len(carry) + at, b"")
                begin = data.rfind(b"\n", 0, at) + 1
                end = data.find(b"\n", at)
                if end < 0 and len(block) == _BLOCK:
                    break  # the line goes on in the next block
                line = data[begin : len(data) if end < 0 else end]
                if array or line.strip():
                    return _stray_refusal(path, kind, base - len(carry) + at, line)
                start = len(data) if end < 0 else end
            cut = data.rfind(b"\n") + 1
            base += len(block)
            carry = data[cut:]
    return None


def _stray_refusal(path: Path, kind: Kind, offset: int, line: bytes) -> FileRejected:
    """The refusal of a vertical tab or form feed at ``offset`` on ``line``: in msgspec's words,
    as the API says it (a ``.json`` file: :func:`_json_values_cause`; an NDJSON line: its
    decode, named by its line)."""
    if kind != "ndjson":
        said = _json_values_said(path)
        if said is not None:
            return FileRejected("unparseable", said)
    number = _line_at(path, offset)
    try:
        msgspec.json.decode(line)
        why = "JSON is malformed"
    except (msgspec.DecodeError, RecursionError) as exc:
        why = str(exc)
    return FileRejected("unparseable", dialect.malformed_json(why, f"line {number}"), line=number)


def _odd_record(text: str, names: list[str], line: int | None, record: int) -> None:
    """Raise for a record (``record``: its place, from 1; ``line``: its line, NDJSON) whose
    keys DuckDB found repeated or beyond ``names``."""
    where = f"line {line}: " if line is not None else f"record {record}: "
    try:
        keys = set(_RAW_OBJECT.decode(text))
    except (msgspec.ValidationError, msgspec.DecodeError):
        return  # not an object, or no JSON: :func:`_decoded` says which
    if not keys <= set(names):
        raise ReadAgain("a JSON key first seen after the first records", exact=True, every_key=True)
    try:
        nested.check_keys(text)
    except nested.RepeatedKey as exc:  # named, as the API names it
        raise FileRejected("unparseable", where + str(exc), line=line, column=exc.key) from None
    except ValueError:
        pass
    raise FileRejected("unparseable", where + "an object repeats a key", line=line)


def _decoded_at_its_byte(
    path: Path, kind: Kind, texts: list[str], row: int, line_of: Locate
) -> list[dict[str, msgspec.Raw]]:
    """:func:`_decoded`; a ``.json`` file that is no such JSON is named at the byte of its text,
    as the API names it (:func:`_json_values_cause`), not at the record's byte (review finding
    auditj 04)."""
    try:
        return _decoded(texts, row, line_of)
    except FileRejected as exc:
        said = None if kind == "ndjson" else _json_values_said(path)
        if said is None:
            raise
        raise FileRejected("unparseable", said) from exc


def _decoded(texts: list[str], row: int, line_of: Locate) -> list[dict[str, msgspec.Raw]]:
    """The records' values as written (msgspec), or why a record is refused, with its line."""
    try:
        return [_RAW_OBJECT.decode(text) for text in texts]
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    for i, text in enumerate(texts):  # the error path: which record
        try:
            _RAW_OBJECT.decode(text)
        except msgspec.ValidationError as exc:
            line = line_of(row + i)
            where = f"line {line}: " if line is not None else f"record {row + i + 1}: "
            why = dialect.NOT_OBJECT
            raise FileRejected("unparseable", where + why, line=line) from exc
        except msgspec.DecodeError as exc:
            line = line_of(row + i)
            why = dialect.malformed_json(str(exc), None if line is None else f"line {line}")
            raise FileRejected("unparseable", why, line=line) from exc
    raise AssertionError("a batch failed to decode, but no record of it does")


def _raw_text(value: msgspec.Raw | None) -> str | None:
    """A value's JSON text as written (an object or array without its whitespace)."""
    if value is None:
        return None
    data = bytes(value)
    if data == b"null":
        return None
    if data[:1] in (b"{", b"["):
        data = msgspec.json.format(data, indent=-1)
    return data.decode()


# -- Parquet ----------------------------------------------------------------------------------


def _parquet_batches(
    file: pq.ParquetFile, batch_rows: int, mapped: _Mapped | None, source: typing.Any
) -> Iterator[pa.RecordBatch]:
    """The file's batches, in pieces whose dictionaries decode to a bounded size
    (``parquet.decoded_pieces``, as the API's); a page that does not decode refuses the file
    (it is not raised as a crash of the loader), as does a batch too large to read
    (``too_large``, as the API); the mapped pages read so far are dropped from the process
    after each."""
    batches = parquet.iter_batches(file, batch_rows, source)
    rows = 0
    while True:
        try:
            batch = next(batches, None)
        except parquet.TooLarge as exc:
            raise FileRejected("too_large", str(exc)) from exc
        except (pa.ArrowException, OSError) as exc:
            large = parquet.batch_too_large(exc, file, rows, batch_rows)
            if large is not None:
                raise FileRejected("too_large", large) from exc
            raise FileRejected("unparseable", f"the file does not parse as Parquet: {exc}") from exc
        if batch is None:
            return
        large = parquet.decoded_too_large(batch, file.schema_arrow)
        if large is not None:
            raise FileRejected("too_large", large)
        rows += batch.num_rows
        for piece in parquet.decoded_pieces(batch, file.schema_arrow):
            if mapped is not None:
                mapped.release()
            yield piece


def parquet_checked(
    batches: Iterator[pa.RecordBatch], schema: pa.Schema, writer: parquet.Hybrid | None = None
) -> Iterator[pa.RecordBatch]:
    """``batches`` by the landing dialect's Parquet rules (``lakehouse.parquet.Values``): a
    nanosecond timestamp that is no whole microsecond (bronze would lose it), or a date or
    timestamp beyond the range bronze holds (or before 1582-10-15 in a column its ``writer``
    may have written in the hybrid Julian calendar), refuses the file."""
    values = parquet.Values(schema, writer)
    if not values.columns:
        yield from batches
        return
    rows = 0
    for batch in batches:
        refused = values.refusal(batch)
        if refused is not None:
            refused = refused.moved(rows)
            raise FileRejected(
                refused.kind, refused.reason, column=refused.column, value=refused.value
            )
        rows += batch.num_rows
        yield batch


def _parquet_counted(
    batches: Iterator[pa.RecordBatch], metadata: pq.FileMetaData, path: Path
) -> Iterator[pa.RecordBatch]:
    """``batches``, then the footer's column chunks' refusal once every page was read
    (``lakehouse.parquet.footer_refusal``: a column whose values Arrow read as nulls, counts of
    records that disagree; a page short of its column chunk's count is read short without an
    error), in the API's words."""
    rows = 0
    for batch in batches:
        rows += batch.num_rows
        yield batch
    refused = parquet.footer_refusal(metadata, rows, path)
    if refused is not None:
        raise FileRejected(refused.kind, refused.reason, column=refused.column)


class ParquetOpened(typing.NamedTuple):
    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    stack: ExitStack
    rows: int
    writer: parquet.Hybrid | None
    #: The file's schema as written (``schema`` is :func:`parquet.plain_schema` of it).
    written: pa.Schema


def _open_parquet_file(path: Path, mapped: _Mapped | None) -> pq.ParquetFile:
    """The file opened (through its memory map when there is one); a decimal past Arrow's 76
    digits refuses it for its digits (``type_conflict``, the API's 422), and an
    ``ARROW:schema`` key that is no Arrow schema for that key (``unsupported``, the API's 422),
    not as unparseable."""
    try:
        return parquet.open_file(mapped.reader if mapped is not None else path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        wide = parquet.decimal_past_arrow(path, exc)
        if wide is None:
            foreign = parquet.foreign_arrow_schema(path, exc)
            if foreign is not None:
                raise FileRejected("unsupported", foreign[1], column=foreign[0]) from exc
            raise
        why = parquet.too_many_digits(wide[0], wide[1])
        raise FileRejected("type_conflict", why, column=wide[0]) from exc


def open_parquet(source: Source, batch_rows: int, limits: Limits | None = None) -> ParquetOpened:
    """A Parquet file's schema, batches (typed as written), rows (as its footer says) and
    writer, when it may have used the hybrid Julian calendar (``parquet.hybrid_writer``)."""
    limits = limits or Limits()
    stack = ExitStack()
    try:
        path = _plain(source, limits, stack)
        if not path.stat().st_size:  # no bytes: empty, as a CSV or JSON file (and the API)
            raise FileRejected("empty", "the file is empty")
        # read through a memory map (the page cache's pages, no read() into freshly allocated
        # buffers: a 6M-row lineitem file's read 1.35-1.84 -> 0.78-0.81 CPU s), its pages
        # dropped from the process after each batch (the resident size follows the batch)
        mapped = _Mapped.of(path, stack)
        file = stack.enter_context(_open_parquet_file(path, mapped))
        summary = parquet.summary_file(file.metadata, path.stat().st_size)
        if summary is not None:  # the API's 422, in its words
            raise FileRejected("unsupported", summary)
        try:  # a page bomb, before any page is read (the API's 413)
            parquet.check_inflation(
                file.metadata,
                path.stat().st_size,
                limits.max_inflated_bytes,
                limits.max_inflate_ratio,
                mapped.reader if mapped is not None else path,
            )
        except InflateLimitError as exc:
            raise FileRejected("too_large", str(exc)) from exc
        unheld = parquet.unheld_column(file.metadata)
        if unheld is not None:  # the API's 422, in its words
            raise FileRejected(
                "type_conflict", f"column {unheld[0]!r}: {unheld[1]}", column=unheld[0]
            )
        unread = parquet.unread_values(file.metadata, chunks=False)  # the rest once read
        if unread is not None:
            raise FileRejected(
                "unparseable", f"column {unread[0]!r}: {unread[1]}", column=unread[0]
            )
        beyond = parquet.int96_refusal(path)
        if beyond is not None:
            raise FileRejected(
                "type_conflict", beyond.reason, column=beyond.column, value=beyond.value
            )
        # the columns' names, then struct fields of one name or equal but for case (delta-rs's
        # refusal at the write named no column) and a struct with no fields: the API's order
        named = parquet.name_problem(file.schema_arrow)
        if named is not None:
            raise FileRejected("invalid_column", named.reason, column=named.column)
        schema = parquet.plain_schema(file.schema_arrow, file.metadata)
        if not schema.names:
            none = parquet.no_columns(file.metadata.num_rows)
            raise FileRejected("empty", none or "the file holds no records")
        source_of = mapped.reader if mapped is not None else path
        batches = _parquet_batches(file, batch_rows, mapped, source_of)
        batches = _parquet_counted(batches, file.metadata, path)
        if not schema.equals(file.schema_arrow, True):
            restored = parquet.restored_schema(file.schema_arrow, file.metadata)
            batches = (parquet.plain_batch(batch, schema, restored) for batch in batches)
        return ParquetOpened(
            schema,
            batches,
            stack,
            file.metadata.num_rows,
            parquet.hybrid_writer(file.metadata),
            file.schema_arrow,
        )
    except FileRejected:
        stack.close()
        raise
    except Exception as exc:
        stack.close()
        raise FileRejected("unparseable", f"the file does not parse as Parquet: {exc}") from exc
