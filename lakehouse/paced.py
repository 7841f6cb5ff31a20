"""A stream that pyarrow's streaming CSV reader reads only a few blocks ahead of the batches
taken from it.

pyarrow's ``open_csv`` reads its source's blocks on an I/O thread up to 32 blocks before the
batch taken (Arrow's background generator; its queue is no option of ``ReadOptions``). At the
API's 4 MiB blocks (``dialect.CSV_BLOCK_BYTES``) that held 128 MiB and more of a file's bytes,
and at its 8 MiB ones (``ingest.filecheck.CHUNK``) 256 MiB, whatever the file's size once it
has that many: the API's values pass over a 1 GB CSV upload peaked at 395 MiB (issue #10's
bound: 256). :class:`Paced` lets it read ``ahead`` blocks past the batches taken, each block
read straight into a buffer of Arrow's pool (:func:`pool`; no copy through Python's ``bytes``).
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar

import pyarrow as pa

T = TypeVar("T")

#: Reads (blocks) past the batches taken: pyarrow's reader needs the block after a batch's to
#: end the batch's last record, so 2 is the least that never waits on a read it needs (3: the
#: 1 GB upload's peak 267 MiB, no faster).
AHEAD = 2

#: Seconds a read held back waits, while a batch is wanted and none is taken, before it reads
#: on: a block that ends no batch of its own (a record longer than a block) needs the next.
PATIENCE = 0.5


@functools.cache
def pool() -> pa.MemoryPool:
    """The memory pool of the blocks read and the batches read from them: jemalloc's, its freed
    pages given back at once (decay 0), when pyarrow has it; else the default pool. The default
    (mimalloc) keeps what each of pyarrow's threads freed, ~20 MiB more at the peak of the API's
    values pass over a CSV."""
    try:
        jemalloc = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # a pyarrow built without it
        return pa.default_memory_pool()
    return jemalloc


class Paced(io.RawIOBase):
    """``raw``'s bytes for pyarrow's ``open_csv``, read no more than ``ahead`` reads past the
    batches taken from its reader (:meth:`batches`). A read waits while ``ahead`` reads give
    no batch taken yet; while a batch is wanted and none is taken for ``patience`` seconds, it
    reads on, so a batch wanted never waits on a read held back. Closed (:meth:`close`, or
    :meth:`batches` left), it reads nothing more: a read held back returns no bytes."""

    def __init__(
        self, raw: IO[bytes] | io.RawIOBase, ahead: int = AHEAD, patience: float = PATIENCE
    ) -> None:
        self._raw = raw
        self._ahead = ahead
        self._patience = patience
        self._turn = threading.Condition()
        self._read = 0  # reads made
        self._taken = 0  # batches taken
        self._wanting = True  # the reader being opened wants its first blocks
        self._stopped = False

    def readable(self) -> bool:
        return True

    def _go(self) -> bool:
        """Wait for this read's turn; False once closed."""
        with self._turn:
            while not self._stopped and self._read - self._taken >= self._ahead:
                taken = self._taken
                if not self._turn.wait(self._patience) and self._wanting and self._taken == taken:
                    break  # the batch wanted needs more blocks than those read: read on
            if self._stopped:
                return False
            self._read += 1
            return True

    def readinto(self, buffer: Any) -> int:
        return self._raw.readinto(buffer) if self._go() else 0  # type: ignore[union-attr]

    def read_buffer(self, size: int) -> pa.Buffer:
        """pyarrow's read (``PythonFile`` asks for this one first): ``size`` bytes read into a
        buffer of Arrow's pool."""
        if not self._go():
            return pa.py_buffer(b"")
        buffer = pa.allocate_buffer(size, memory_pool=pool(), resizable=True)
        with memoryview(buffer) as view:
            got = self._raw.readinto(view)  # type: ignore[union-attr]
        buffer.resize(got or 0)
        return buffer

    def batches(self, reader: Iterable[T]) -> Iterator[T]:
        """``reader``'s batches (pyarrow's reader of this stream), each taken as it is handed
        out; the stream closed after the last, or when they are left."""
        batches = iter(reader)
        try:
            while True:
                self._want(True)
                try:
                    batch = next(batches)
                except StopIteration:
                    return
                finally:
                    self._want(False)
                yield batch
        finally:
            self.close()

    def _want(self, wanting: bool) -> None:
        with self._turn:
            self._wanting = wanting
            self._taken += not wanting
            self._turn.notify_all()

    def close(self) -> None:
        with self._turn:
            self._stopped = True
            self._turn.notify_all()
        self._raw.close()
        super().close()
