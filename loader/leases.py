"""Several loader workers: each bronze table is loaded by the worker holding its lease.

With ``loader_lease_s > 0`` the loader does not take the one-loader lock file: any number of
workers (processes on one machine, or on several machines sharing the landing zone and the
ledger, which is then PostgreSQL) run side by side, and a table's files are loaded only by the
worker holding that table's lease in the ledger (``Ledger.take_lease``). A worker renews its
leases every third of ``loader_lease_s`` while it loads; a worker that dies (or stalls past the
lease) loses them when they expire, and another takes the table over.

Exactly once does not rest on the lease: the lease keeps workers from doing the same work, and
the Delta log still decides. Every append is committed against the snapshot its watermarks
were read from, so if two workers ever race one file (a stalled worker whose lease another took
over), Delta refuses the second commit carrying the same file's app transaction, and the file's
watermark tells the next pass where to resume.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from lakehouse.ledger import Ledger

log = logging.getLogger(__name__)


def worker_id() -> str:
    """``host:pid:random``: unique per worker process, readable in the ledger."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Leases:
    """The leases one worker holds, renewed in the background while it runs."""

    def __init__(self, ledger: Ledger, ttl_s: float, owner: str | None = None) -> None:
        self.ledger = ledger
        self.ttl_s = ttl_s
        self.owner = owner or worker_id()
        self._held: dict[str, float] = {}  # table -> until when (this worker's clock)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, table: str) -> bool:
        """Take (or renew) ``table``'s lease; False while another worker holds it."""
        now = time.time()
        try:
            taken = self.ledger.take_lease(table, self.owner, self.ttl_s, now=now)
        except Exception:  # the ledger unreachable: hold nothing rather than guess
            log.exception("cannot take the lease on %s", table)
            taken = False
        with self._lock:
            if taken:
                if table not in self._held:
                    log.info("worker %s took the lease on bronze %s", self.owner, table)
                self._held[table] = now + self.ttl_s
            else:
                self._held.pop(table, None)
        return taken

    def _renew(self, table: str) -> None:
        if not self.hold(table):
            log.warning("worker %s lost the lease on bronze %s", self.owner, table)
            return
        with self._lock:
            released = table not in self._held
        if released:  # released while it was being renewed: give it back
            self.release(table)

    def held(self, table: str) -> bool:
        """Whether this worker still holds ``table``'s lease (by its own clock)."""
        with self._lock:
            return self._held.get(table, 0.0) > time.time()

    def release(self, table: str) -> None:
        with self._lock:
            if self._held.pop(table, None) is None:
                return
        try:
            self.ledger.release_lease(table, self.owner)
        except Exception:  # it expires anyway
            log.exception("cannot release the lease on %s", table)

    def release_all(self) -> None:
        with self._lock:
            tables = list(self._held)
        for table in tables:
            self.release(table)

    def start(self, stop: threading.Event) -> None:
        """Renew every held lease every third of ``ttl_s`` until ``stop``."""

        def renew() -> None:
            while not stop.wait(self.ttl_s / 3):
                with self._lock:
                    tables = list(self._held)
                for table in tables:
                    self._renew(table)

        self._thread = threading.Thread(target=renew, name="loader-leases", daemon=True)
        self._thread.start()
