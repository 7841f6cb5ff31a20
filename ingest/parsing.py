"""Records bodies checked off the event loop: large ones in worker processes (the other cores).

Checking a records body is CPU work (msgspec decoding, the contract, duplicate keys). On the
event loop it holds the one core the loop has, so the API parses at most one core's worth; in a
worker thread msgspec holds the GIL for the whole decode and starves the loop's reads of other
bodies (a convoy), slower for everyone. With ``api_parse_processes`` > 0, bodies of at least
``PROCESS_MIN_BYTES`` go to a pool of that many processes (started on first use,
``forkserver``: no copy of the server's threads); smaller ones, where a process hop costs more
than the check, stay on the loop. Off by default: it pays only where cores sit idle (measured
slower on two busy cores: the hop, the copies, and no free core to run on). The
result is the same either way: the same :class:`~ingest.validation.Records` or the same error.
A pool whose worker died is replaced, and that body checked on the loop.

One check runs in a worker thread whatever the setting: the flat-records test of an NDJSON body
without a contract (:func:`ingest.validation.flat_records`, from ``THREAD_MIN_BYTES``). It is
one RE2 pass, which releases the GIL, so the loop keeps reading other bodies while it runs on
the other core (measured: the same server CPU per post, more posts a second). Its threads are
its own (one per core), not the default executor's, where the landings wait for fsync.

A Parquet file is checked in a worker process always (``api_parquet_processes`` of them,
started on the first such file, ``forkserver``, kept for the process's life), never in the
server's: Arrow C++ ends the process it runs in on a fatal check (SIGABRT; no ``except``
catches it), and a file that made it so would end the API, every client's requests with it
(session 17 found one such file, DuckDB's ``MAP {'k': MAP()}``). A worker that dies breaks
its pool: every check running in it fails, the guilty file's and the others'. The pool is
replaced, and each of those files is checked again alone, in a process of its own
(:func:`_alone`): a file whose reading ends that one too (a signal: an abort, a crash, a kill)
is refused (422, :func:`lakehouse.dialect.reader_ended`), the others are answered as if nothing
happened; a process that cannot start, or exits without a signal before it answers, is no
reading's doing: 503, the file not refused (:func:`not_checked`).
The file is read twice before its refusal, as the loader reads it twice before it quarantines
it (``killed_loader``, ``loader.readmarks.READ_DEATHS``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyarrow as pa

from ingest.bodies import gunzip
from ingest.filecheck import FileError, check_file
from ingest.validation import (
    BodyError,
    Records,
    RecordsError,
    TooManyRecordsError,
    check_some_key,
    flat_records,
    in_order,
    parse_records,
)
from lakehouse import jsonorder
from lakehouse.contracts import Contract
from lakehouse.dialect import is_not_utf8_reason, process_ended, reader_ended
from lakehouse.formats import FileFormat
from lakehouse.settings import Settings

__all__ = ["PROCESS_MIN_BYTES", "THREAD_MIN_BYTES", "Parsers", "check_body"]

#: What the forkserver imports once, before it starts a worker: a worker begins with them
#: loaded (pyarrow with them), not importing them for its first check
PRELOAD = ["ingest.filecheck"]

log = logging.getLogger(__name__)

#: Bodies from this size (as received) are checked in a worker process.
PROCESS_MIN_BYTES = 256 * 1024
#: NDJSON bodies without a contract from this size: their flat-records test in a worker thread
#: (below it, the hop costs more than the loop would wait).
THREAD_MIN_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Limits:
    max_body_bytes: int
    max_inflated_bytes: int
    max_inflate_ratio: float
    max_records: int
    max_errors: int

    @classmethod
    def of(cls, settings: Settings) -> _Limits:
        return cls(
            settings.api_max_body_bytes,
            settings.max_inflated_bytes,
            settings.max_inflate_ratio,
            settings.api_max_records,
            settings.api_max_errors,
        )


class _TooMany(Exception):
    """``TooManyRecordsError`` across a process boundary (its arguments do not pickle back)."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(count, limit)
        self.count, self.limit = count, limit


def check_body(
    raw: bytes,
    *,
    ndjson: bool,
    gz: bool,
    contract: Contract | None,
    limits: _Limits,
    flat: bool = True,
) -> Records:
    """Inflate (``gz``) and check one body. Raises what :func:`parse_records` raises.
    ``flat``: as :func:`parse_records`'s."""
    body = raw
    if gz:
        limit, name = limits.max_body_bytes, "api_max_body_bytes"
        if limits.max_inflated_bytes < limit:
            limit, name = limits.max_inflated_bytes, "max_inflated_bytes"
        body = gunzip(raw, limit, limits.max_inflate_ratio, name)
    try:
        return parse_records(
            body,
            ndjson=ndjson,
            contract=contract,
            max_records=limits.max_records,
            max_errors=limits.max_errors,
            flat=flat,
        )
    except (BodyError, RecordsError) as exc:  # named in the one order a file's are
        if isinstance(exc, BodyError) and is_not_utf8_reason(str(exc)):
            raise
        found = jsonorder.first_problem_in(body, ndjson=ndjson)
        raise (exc if found is None else in_order(found, exc)) from None


def _in_worker(
    raw: bytes, ndjson: bool, gz: bool, contract: Contract | None, limits: _Limits, flat: bool
) -> Records:
    try:
        return check_body(raw, ndjson=ndjson, gz=gz, contract=contract, limits=limits, flat=flat)
    except TooManyRecordsError as exc:
        raise _TooMany(exc.count, exc.limit) from None


#: The Parquet checkers' pools, by their number of workers: the process's, not an app's (the
#: many apps of a test run start their workers once; a server has one app). They end with the
#: process (``concurrent.futures`` joins them at exit).
_FILES: dict[int, ProcessPoolExecutor] = {}
_FILES_LOCK = threading.Lock()


def _forkserver() -> Any:
    """The ``forkserver`` context, its server (one per process, started by the first pool)
    told to import :data:`PRELOAD`."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _end_with_parent() -> None:
    """A worker's initializer: the worker ends when the process that started it (the API's)
    ends. A pool's worker waits for work for ever, and holds its forkserver alive (every
    child of a forkserver holds the pipe that ends the forkserver): an API process killed, or
    ended without shutting its pools down, left both behind, each with pyarrow loaded (~90 and
    ~60 MiB RSS). multiprocessing gives a child its parent's sentinel: readable once the
    parent has ended. It ignores SIGINT: a terminal's Ctrl-C reaches the whole process group,
    the workers too, and a worker's KeyboardInterrupt came back to the API as its check's
    error, a 500 for the file in flight (the forkserver ignores SIGINT, but every child it forks
    gets the default handler back); the API's own SIGINT is a graceful stop that finishes the
    requests in flight (``lakehouse.signals``), and their checks with them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:

        def watch() -> None:
            parent.join()
            os._exit(0)

        threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _released(check: functools.partial[int]) -> int:
    """``check()`` in a worker; then what Arrow's allocator kept of the memory it freed goes
    back to the system (mimalloc keeps it for reuse: a worker that had checked a 40 MB file of
    3,000,000 records held ~120 MiB more, idle, until the next check)."""
    try:
        return check()
    finally:
        pa.default_memory_pool().release_unused()


def _pool(processes: int) -> ProcessPoolExecutor:
    """A pool of ``processes`` workers, every one started now. A pool of ``forkserver`` starts
    a worker as a task is submitted, and a submit racing the pool's breaking (a worker that
    died: an aborted check) could start one after the pool had terminated the others: nobody
    ended it, and the pool's manager thread, joining it, held the interpreter's exit for ever
    (seen in a test run of session 18's before-stop read, py-spy: ``_python_exit`` joining
    ``terminate_broken``'s join of a worker started after it). Started at once, the pool never
    starts one later."""
    pool = ProcessPoolExecutor(processes, mp_context=_forkserver(), initializer=_end_with_parent)
    for _ in range(processes):  # each submit starts a worker while none is idle (3.11)
        pool.submit(int)
    return pool


def _answer(out: Connection, check: functools.partial[int]) -> None:
    """Run ``check`` and send what it returned (True, rows) or raised (False, the error); a
    Ctrl-C of the terminal is the API's to act on, not this process's (:func:`_end_with_parent`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        answer: tuple[bool, Any] = (True, check())
    except Exception as exc:  # the caller raises it, as a pool's caller would
        answer = (False, exc)
    out.send(answer)
    out.close()


def not_checked(why: str) -> str:
    """The API's 503 for a file its checking process could not check, for a cause not the
    file's as far as can be told (``why``)."""
    return f"the file could not be checked ({why}); it is not refused: send it again"


def _alone(check: functools.partial[int]) -> int:
    """``check`` in a process of its own: its rows, or what it raised; 422 when a signal ended
    the process before it answered (:func:`lakehouse.dialect.reader_ended`: an abort, a crash,
    a kill, while it read the file), 503 when it could not start or exited without a signal
    (no reading of a file does that: :func:`not_checked`)."""
    context = _forkserver()
    answers, out = context.Pipe(duplex=False)
    process = context.Process(target=_answer, args=(out, check), daemon=True)
    try:
        process.start()
    except OSError as exc:  # no process to be had (fork's EAGAIN, ENOMEM)
        answers.close()
        out.close()
        raise FileError(not_checked(f"no process to check it in: {exc}"), 503) from None
    out.close()  # the child's end: its end of the pipe closes with it
    try:
        ok, answer = answers.recv()
    except EOFError:  # it ended before it sent
        process.join()
        code = process.exitcode
        if code is not None and code < 0:
            log.warning("a file ended the process checking it: %s", reader_ended(code))
            raise FileError(reader_ended(code), 422) from None
        why = f"the process checking it ended before it answered, {process_ended(code)}"
        log.warning("a file was not checked: %s", why)
        raise FileError(not_checked(why), 503) from None
    finally:
        answers.close()
    process.join()
    if ok:
        return int(answer)
    raise answer


class Parsers:
    """The app's body checker: a process pool for large bodies, the loop for small ones; and
    its Parquet file checker, a process pool of its own (:meth:`check_parquet`)."""

    def __init__(self, settings: Settings) -> None:
        self.processes = settings.api_parse_processes
        self.limits = _Limits.of(settings)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        #: the flat-records tests' own threads, one per core (started on first use): CPU work
        #: that never waits in the default executor's queue behind landings blocked in fsync
        self._threads: ThreadPoolExecutor | None = None
        self.parquet_processes = settings.api_parquet_processes

    @property
    def started(self) -> bool:
        """Whether worker processes are running (started by the first large body)."""
        return self._pool is not None

    def _checker(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="check")
            return self._threads

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = _pool(self.processes)
            return self._pool

    def _file_checkers(self) -> ProcessPoolExecutor:
        with _FILES_LOCK:
            pool = _FILES.get(self.parquet_processes)
            if pool is None:
                pool = _pool(self.parquet_processes)
                _FILES[self.parquet_processes] = pool
            return pool

    async def check_parquet(
        self, path: Path, kind: FileFormat, contract: Contract | None, **options: Any
    ) -> int:
        """:func:`ingest.filecheck.check_file` of a Parquet file, in a worker process; a file
        whose reading ends the process that reads it alone is refused (422)."""
        return await self.apart(functools.partial(check_file, path, kind, contract, **options))

    async def apart(self, check: functools.partial[int]) -> int:
        """``check()`` (picklable) in a file-checking worker process: what it returns or
        raises; a 422 ``FileError`` when it ends the process it runs in, alone
        (:func:`_alone`), even as others' checks run beside it (they are answered)."""
        loop = asyncio.get_running_loop()
        pool = self._file_checkers()
        try:
            # submitted now: a pool broken (BrokenProcessPool, a RuntimeError) or shut down
            # (RuntimeError) by another check meanwhile, or breaking (OSError: "handle is
            # closed", its pipe) refuses it here
            pending = loop.run_in_executor(pool, _released, check)
        except (RuntimeError, OSError) as exc:
            log.warning("a file-checking pool is broken (%r); starting new processes", exc)
        else:
            try:
                return await pending
            except BrokenProcessPool:
                # a worker died: this file's doing or another's; alone, it says which
                log.warning("a file-checking process died; starting new ones")
        with _FILES_LOCK:
            if _FILES.get(self.parquet_processes) is pool:
                del _FILES[self.parquet_processes]
        pool.shutdown(wait=False, cancel_futures=True)
        return await loop.run_in_executor(None, _alone, check)

    async def check(
        self, raw: bytes, *, ndjson: bool, gz: bool, contract: Contract | None
    ) -> Records:
        records = await self._check(raw, ndjson=ndjson, gz=gz, contract=contract)
        check_some_key(records.keys)
        return records

    async def _check(
        self, raw: bytes, *, ndjson: bool, gz: bool, contract: Contract | None
    ) -> Records:
        loop = asyncio.get_running_loop()
        flat = True
        if ndjson and not gz and contract is None and len(raw) >= THREAD_MIN_BYTES:
            # the flat-records pattern (ingest.flatlines) runs without the GIL: in a thread,
            # while the loop reads other bodies; only if it cannot tell, the checks below
            found = await loop.run_in_executor(
                self._checker(), flat_records, raw, self.limits.max_records
            )
            if found is not None:
                return found
            flat = False
        if self.processes < 1 or len(raw) < PROCESS_MIN_BYTES:
            return check_body(
                raw, ndjson=ndjson, gz=gz, contract=contract, limits=self.limits, flat=flat
            )
        pool = self._executor()
        try:
            return await loop.run_in_executor(
                pool, _in_worker, raw, ndjson, gz, contract, self.limits, flat
            )
        except _TooMany as exc:
            raise TooManyRecordsError(exc.count, exc.limit) from None
        except BrokenProcessPool:
            log.warning("a body-checking process died; starting new ones")
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            return check_body(
                raw, ndjson=ndjson, gz=gz, contract=contract, limits=self.limits, flat=flat
            )

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            threads, self._threads = self._threads, None
        for executor in (pool, threads):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
