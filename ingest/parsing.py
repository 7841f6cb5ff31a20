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
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from ingest.bodies import gunzip
from ingest.validation import (
    Records,
    TooManyRecordsError,
    check_some_key,
    flat_records,
    parse_records,
)
from lakehouse.contracts import Contract
from lakehouse.settings import Settings

__all__ = ["PROCESS_MIN_BYTES", "THREAD_MIN_BYTES", "Parsers", "check_body"]

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
    return parse_records(
        body,
        ndjson=ndjson,
        contract=contract,
        max_records=limits.max_records,
        max_errors=limits.max_errors,
        flat=flat,
    )


def _in_worker(
    raw: bytes, ndjson: bool, gz: bool, contract: Contract | None, limits: _Limits, flat: bool
) -> Records:
    try:
        return check_body(raw, ndjson=ndjson, gz=gz, contract=contract, limits=limits, flat=flat)
    except TooManyRecordsError as exc:
        raise _TooMany(exc.count, exc.limit) from None


class Parsers:
    """The app's body checker: a process pool for large bodies, the loop for small ones."""

    def __init__(self, settings: Settings) -> None:
        self.processes = settings.api_parse_processes
        self.limits = _Limits.of(settings)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        #: the flat-records tests' own threads, one per core (started on first use): CPU work
        #: that never waits in the default executor's queue behind landings blocked in fsync
        self._threads: ThreadPoolExecutor | None = None

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
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(self.processes, mp_context=context)
            return self._pool

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
