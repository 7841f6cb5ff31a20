"""Atomic landing: a file appears in ``raw/<table>/`` whole, or not at all.

Order, so that a crash loses nothing the client was told about and the ledger never says
``accepted`` for a file that is not there:

1. write ``raw/<table>/.<batch_id><ext>.tmp`` (dot-prefixed and ``.tmp``: the loader ignores it);
2. ``fsync`` the file; ``rename`` it to ``<batch_id><ext>``; ``fsync`` the folder (or, with a
   landing zone on object storage, upload it as ``raw/<table>/<batch_id><ext>`` in one
   conditional PUT and remove the temporary file: ``lakehouse.inbox``);
3. record ``accepted`` in the ledger; only then answer ``202``.

A crash before 2 leaves a temporary file (swept at start-up), and the client had no answer.
A crash between 2 and 3 leaves a landed file the ledger does not know yet: the loader loads it
and ``mark_loaded`` inserts the batch. The client had no answer, so it retries (with an
``Idempotency-Key`` to avoid a second copy).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import BinaryIO

from lakehouse.formats import from_name
from lakehouse.inbox import upload
from lakehouse.layout import BATCH_ID, content_digest, raw_dir
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings

log = logging.getLogger(__name__)

#: held while a table's folder is made and its temporary file opened, and while an aborted
#: request removes the folder it made (one API process: requests are threads)
_FOLDERS = threading.Lock()


class Landing:
    """One file being landed for ``table`` as batch ``batch_id``."""

    def __init__(self, settings: Settings, table: str, batch_id: str, ext: str) -> None:
        if from_name(batch_id + ext) is None or not BATCH_ID.fullmatch(batch_id):
            raise ValueError(f"cannot land {batch_id}{ext}")
        self.settings = settings
        self.table = table
        self.batch_id = batch_id
        self.folder = raw_dir(settings, table)
        self.name = f"{batch_id}{ext}"
        self.tmp = self.folder / f".{self.name}.tmp"
        self.path = self.folder / self.name
        self.bytes = 0
        self._digest = content_digest(table)  # recorded in the ledger: see commit
        with _FOLDERS:  # not while an aborted request removes the folder it made
            #: this request made the table's folder: if it is refused, the folder goes too
            self.made_folder = not self.folder.is_dir()
            self.folder.mkdir(parents=True, exist_ok=True)
            self._file: BinaryIO | None = open(self.tmp, "wb")  # closed in commit/abort

    def write(self, data: bytes) -> None:
        assert self._file is not None, "landing already committed or aborted"
        self._file.write(data)
        self._digest.update(data)
        self.bytes += len(data)

    def close(self) -> None:
        """Flush and fsync the temporary file (it stays temporary)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def commit(self, ledger: Ledger, *, records: int | None) -> Path:
        self.close()
        if self.settings.landing_store is not None:  # the landing zone is a bucket
            upload(self.settings, self.table, self.name, self.tmp)
            self.tmp.unlink()
        else:
            os.rename(self.tmp, self.path)
            fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        # The file is landed: from here on the batch exists and will load, whatever the ledger
        # says. A ledger failure must not turn into an error answer (the client would retry,
        # and its Idempotency-Key would be forgotten, so the retry would land a second copy):
        # log it; the loader's mark_loaded records the batch when it loads it.
        try:
            ledger.accept(
                self.batch_id,
                self.table,
                source_file=self.name,
                records=records,
                bytes=self.bytes,
                content_hash=self._digest.hexdigest(),
            )
        except Exception:
            log.exception("landed %s but could not record it in the ledger", self.path)
        return self.path

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.tmp.unlink(missing_ok=True)
        if self.made_folder:  # a refused request leaves no empty raw/<table>/ behind
            with _FOLDERS:
                try:
                    self.folder.rmdir()  # only if empty: another request's file keeps it
                except OSError:
                    pass


def land_bytes(
    settings: Settings,
    ledger: Ledger,
    table: str,
    batch_id: str,
    ext: str,
    data: bytes,
    *,
    records: int | None,
) -> Path:
    landing = Landing(settings, table, batch_id, ext)
    try:
        landing.write(data)
        return landing.commit(ledger, records=records)
    except BaseException:
        landing.abort()
        raise


def sweep_temporaries(settings: Settings, *, older_than_s: float = 3600.0) -> int:
    """Remove the API's own temporary files left by a crash (``.bat_*.tmp``); return how many."""
    removed = 0
    cutoff = time.time() - older_than_s
    if not settings.raw_dir.is_dir():
        return 0
    for tmp in settings.raw_dir.glob("*/.bat_*.tmp"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
