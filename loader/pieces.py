"""Rows on their way to bronze: buffers, pieces of a big file, the bronze columns.

``Pending`` holds small files' rows until one commit takes them all; ``Pieces`` cuts a big file's
stream into pieces of ``chunk_rows`` rows, one commit each; ``Prefetch`` reads a few batches
ahead on a thread so parsing goes on while Delta writes; ``with_bronze_columns`` adds
``_ingested_at``, ``_batch_id`` and ``_source_file``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from lakehouse.layout import BATCH_ID_COLUMN, INGESTED_AT, SOURCE_FILE
from loader.exceptions import FileRejected
from loader.landing import LandingFile
from loader.readers import Source

SMALL_FILE_BYTES = 8 * 1024**2  # files up to this size may be read together in one scan
GZIP_RATIO = 10  # what a gzipped file is assumed to expand to, for the above


@dataclass(slots=True)
class Pending:
    """Rows read but not yet committed, for one table."""

    batches: list[tuple[LandingFile, pa.RecordBatch]] = field(default_factory=list)
    watermarks: dict[str, int] = field(default_factory=dict)  # batch id → after this commit
    files: dict[str, LandingFile] = field(default_factory=dict)
    rows: int = 0
    nbytes: int = 0

    def add(self, file: LandingFile, batch: pa.RecordBatch, watermark: int) -> None:
        self.batches.append((file, batch))
        self.files[file.batch_id] = file
        self.watermarks[file.batch_id] = watermark
        self.rows += batch.num_rows
        self.nbytes += batch.nbytes

    def drop(self, batch_id: str) -> None:
        kept = [(f, b) for f, b in self.batches if f.batch_id != batch_id]
        self.batches = kept
        self.files.pop(batch_id, None)
        self.watermarks.pop(batch_id, None)
        self.rows = sum(b.num_rows for _, b in kept)
        self.nbytes = sum(b.nbytes for _, b in kept)

    def split(self) -> list[Pending]:
        """One ``Pending`` per file, in order."""
        alone: dict[str, Pending] = {}
        for file, batch in self.batches:
            one = alone.setdefault(file.batch_id, Pending())
            one.add(file, batch, self.watermarks[file.batch_id])
        return list(alone.values())

    def clear(self) -> None:
        self.batches.clear()
        self.files.clear()
        self.watermarks.clear()
        self.rows = self.nbytes = 0


def is_small(file: LandingFile, source: Source) -> bool:
    """Small enough to hold whole in memory (gzip may expand a file tenfold or more)."""
    return file.size * (GZIP_RATIO if source.gzip else 1) <= SMALL_FILE_BYTES


def skip_rows(batches: Iterable[pa.RecordBatch], skip: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        yield batch.slice(skip) if skip else batch
        skip = 0


def bronze_schema(data: pa.Schema) -> pa.Schema:
    return pa.schema(
        [
            *data,
            pa.field(INGESTED_AT, pa.timestamp("us", tz="UTC")),
            pa.field(BATCH_ID_COLUMN, _CONSTANT_STRING),
            pa.field(SOURCE_FILE, _CONSTANT_STRING),
        ]
    )


#: One value per batch: a dictionary array costs one index per row, and Delta stores a string.
_CONSTANT_STRING = pa.dictionary(pa.int32(), pa.string())


def _constant(value: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.repeat(pa.scalar(0, pa.int32()), n), [value])


class BronzeColumns:
    """The bronze columns of one file's rows committed at ``now``: built once for the longest
    batch seen and sliced (no copy) for each batch, instead of three new arrays per batch (on
    the thread that feeds Delta's writer: a 10M-row CSV spent about 0.3 s there)."""

    def __init__(self, file: LandingFile, now: pa.Scalar) -> None:
        self._file = file
        self._now = now
        self._arrays: list[pa.Array] = []

    def arrays(self, n: int) -> list[pa.Array]:
        """``_ingested_at``, ``_batch_id`` and ``_source_file`` for ``n`` rows."""
        if not self._arrays or len(self._arrays[0]) < n:
            self._arrays = [
                pa.repeat(self._now, n),
                _constant(self._file.batch_id, n),
                _constant(self._file.name, n),
            ]
        if len(self._arrays[0]) == n:
            return list(self._arrays)
        return [a.slice(0, n) for a in self._arrays]


def with_bronze_columns(
    batch: pa.RecordBatch, full: pa.Schema, bronze: BronzeColumns
) -> pa.RecordBatch:
    """``batch`` laid out as ``full``: missing data columns null, the bronze columns filled.

    A column of ``batch`` that ``full`` has no place for (e.g. ``_rescued_data`` in a piece
    whose schema lacks it) raises ``ValueError``: its values would be dropped without a word.
    """
    n = batch.num_rows
    names = set(batch.schema.names)
    data = list(full)[:-3]
    lost = names.difference(f.name for f in data)
    if lost:
        raise ValueError(f"a batch's columns {sorted(lost)} are not in its piece's: never dropped")
    arrays = [batch.column(f.name) if f.name in names else pa.nulls(n, f.type) for f in data]
    arrays += bronze.arrays(n)
    return pa.RecordBatch.from_arrays(arrays, schema=full)


class Prefetch:
    """Reads batches on a thread ahead of the writer, so parsing goes on while Delta writes a
    piece: up to ``rows`` rows (at least ``depth`` batches) wait typed. ``rows`` of one piece
    let the next piece be ready when a write ends: bounded by batches (16 of 4 MiB) a
    lineitem-shaped CSV had half a piece ready and the writer waited for the other half at
    every piece, a Parquet file (4 batches) more."""

    _DONE = object()

    def __init__(
        self,
        batches: Iterator[pa.RecordBatch],
        depth: int = 4,
        rows: int = 0,
        name: str = "loader-prefetch",
    ) -> None:
        self._batches = batches
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._room = threading.Condition()
        self._held = (0, 0)  # batches and rows in the queue
        self._finished = False  # the reading ended: its end (or error) is in the queue
        self._depth = depth
        self._rows = rows
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        try:
            for batch in self._batches:
                if not self._put(batch, batch.num_rows):
                    return
            self._put(self._DONE, 0)
        except BaseException as exc:  # handed to the reading side
            self._put(exc, 0)

    def beyond(self, rows: int) -> bool | None:
        """Whether more than ``rows`` rows are left to hand out: waits until that many are
        read ahead, or the reading ended (with its last batch or an error). None when the
        read-ahead is full first (it holds fewer rows than that)."""
        with self._room:
            while self._held[1] <= rows and not self._finished and not self._full():
                self._room.wait()
            if self._held[1] > rows:
                return True
            return False if self._finished else None

    @property
    def held_rows(self) -> int:
        """Rows read ahead and not yet handed out."""
        with self._room:
            return self._held[1]

    def _full(self) -> bool:
        batches, rows = self._held
        return batches >= self._depth and rows >= self._rows

    def _put(self, item: object, rows: int) -> bool:
        with self._room:
            while self._full():
                if self._stop.is_set():
                    return False
                self._room.wait(0.1)
            if self._stop.is_set():
                return False
            batches, held = self._held
            self._held = (batches + 1, held + rows)
            self._queue.put(item)
            if not isinstance(item, pa.RecordBatch):
                self._finished = True
            self._room.notify_all()
        return True

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self

    def __next__(self) -> pa.RecordBatch:
        item = self._queue.get()
        if item is self._DONE:
            self._queue.put(item)  # stay exhausted
            raise StopIteration
        if isinstance(item, BaseException):
            self._queue.put(self._DONE)
            raise item
        assert isinstance(item, pa.RecordBatch)
        with self._room:
            batches, held = self._held
            self._held = (batches - 1, held - item.num_rows)
            self._room.notify_all()
        return item

    def __enter__(self) -> Prefetch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with self._room:
            self._room.notify_all()
        self._thread.join()


class Pieces:
    """Cuts a file's batches into pieces of ``size`` rows, each a stream with bronze columns.

    ``final`` says, before a piece is written, whether it is the file's last, so its commit can
    say the file is complete. Read from a :class:`Prefetch`, that is known as soon as more rows
    than the piece are read ahead (not the last) or the reading has ended: the piece then
    streams into Delta's writer as it is read, and the writer starts at once (the first piece of
    a Parquet file waited 0.3-0.6 s to be read whole). Otherwise a piece is read whole first,
    with the batch after it. Either way memory holds about one piece, as Delta's writer does.
    """

    def __init__(
        self,
        stream: Iterator[pa.RecordBatch],
        size: int,
        full: pa.Schema,
        file: LandingFile,
        *,
        known: tuple[int, bool] = (0, False),
    ) -> None:
        self._stream = stream
        self._size = size
        self._full = full
        self._file = file
        self._carry: list[pa.RecordBatch] = []
        #: rows known to be left (the reader's count: a Parquet footer, the records read to
        #: infer types) and whether exactly so; checked as the rows come
        self._left, self._exact = known
        self.rows = 0  # rows of the last piece (once written)
        self.final = False  # the last piece holds the file's last row
        #: rows of the last piece, known before it is read when it is the file's last and the
        #: reading has ended (or the count is exact); else None
        self.whole: int | None = None
        self.failure: BaseException | None = None  # why the last piece's stream broke

    def more(self) -> bool:
        """Whether another row is left (reads one batch ahead)."""
        if not self._carry:
            batch = self._next()
            if batch is None:
                return False
            self._carry.append(batch)
        return True

    def _next(self) -> pa.RecordBatch | None:
        """The next batch holding rows (an empty one would make an empty last piece)."""
        try:
            batch = next(self._stream, None)
            while batch is not None and not batch.num_rows:
                batch = next(self._stream, None)
            return batch
        except BaseException as exc:  # keep why: the caller tells the file's fault apart
            self.failure = exc
            raise

    def next_piece(self) -> pa.RecordBatchReader:
        """The next piece; ``final`` describes it at once, ``rows`` once it is written."""
        self.rows = 0
        self.failure = None
        self.whole = None
        now = pa.scalar(datetime.now(UTC), pa.timestamp("us", tz="UTC"))
        bronze = BronzeColumns(self._file, now)
        carried = sum(b.num_rows for b in self._carry)
        beyond = max(carried, self._left) > self._size or None
        if beyond is None and self._exact:
            beyond = False
        if beyond is None and isinstance(self._stream, Prefetch):
            beyond = self._stream.beyond(self._size - carried)
        if beyond is None:  # not known before reading it: the piece is read whole
            piece = list(self._cut(bronze, None))
            self.final = not self.more()
            if self.final:
                self.whole = sum(b.num_rows for b in piece)
            return pa.RecordBatchReader.from_batches(self._full, iter(piece))
        self.final = not beyond
        if self.final:
            if self._exact:
                self.whole = self._left
            elif isinstance(self._stream, Prefetch):  # it ended: every row left is held there
                self.whole = carried + self._stream.held_rows
        return pa.RecordBatchReader.from_batches(self._full, self._cut(bronze, self.final))

    def _cut(self, bronze: BronzeColumns, final: bool | None) -> Iterator[pa.RecordBatch]:
        """The batches of one piece, with their bronze columns. ``final`` (when said before
        the piece is read): the rows must agree, or the piece's stream breaks (and Delta's
        writer commits nothing)."""
        left = self._size
        while left > 0:
            batch = self._carry.pop() if self._carry else self._next()
            if batch is None:
                break
            if batch.num_rows > left:
                self._carry.append(batch.slice(left))
                batch = batch.slice(0, left)
            left -= batch.num_rows
            self.rows += batch.num_rows
            self._left -= batch.num_rows
            yield with_bronze_columns(batch, self._full, bronze)
        if final is None:
            return
        if final == self.more() or (self._exact and self._left != 0 and final):
            more = "more" if final and self._left <= 0 else "fewer"
            self.failure = FileRejected(
                "unparseable", f"the file holds {more} records than its metadata says"
            )
            raise self.failure
