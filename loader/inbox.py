"""Take objects from the object-store landing zone into the local one (``lakehouse.inbox``).

:meth:`ObjectInbox.poll` lists ``<landing_url>/raw/`` and copies every object it has not taken
yet into ``landing_zone/data/raw/<table>/<name>`` (a temporary name, then a rename: the loader
sees it whole), with the object's modification time, so its identity (and batch id) is the
same however often it is taken. Then the loader loads it as any dropped file, exactly once.

The cursor, persisted in the ledger (``cursors``), is the newest modification time seen and the
objects seen within ``WINDOW_S`` before it: an object whose upload finished late (or whose
store's clock is a little behind) is still taken, and nothing older is listed twice. A lost
cursor only means objects are taken again, and their Delta watermarks skip them. Objects are
left in the bucket (it is the archive) until ``archive_retention_days`` after the cursor passed
them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lakehouse.inbox import raw_prefix
from lakehouse.layout import TABLE_NAME, is_candidate, is_work_folder, raw_dir
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings
from lakehouse.storage import store

log = logging.getLogger(__name__)

#: Objects this much older than the newest seen are still compared against the cursor.
WINDOW_S = 300.0


class ObjectInbox:
    def __init__(self, settings: Settings, ledger: Ledger) -> None:
        self.settings = settings
        self.ledger = ledger
        self.url = raw_prefix(settings)
        self.cursor_name = f"inbox:{self.url}"
        self._store: Any = None

    def _objects(self) -> Any:
        if self._store is None:
            self._store = store(self.url, self.settings.landing_options)
        return self._store

    def _cursor(self) -> tuple[datetime | None, set[str]]:
        text = self.ledger.get_cursor(self.cursor_name)
        if not text:
            return None, set()
        data = json.loads(text)
        return datetime.fromisoformat(data["newest"]), set(data["seen"])

    def poll(self) -> int:
        """Take the objects not taken yet; how many were taken."""
        import obstore

        newest, seen = self._cursor()
        window = timedelta(seconds=WINDOW_S)
        found = obstore.list(self._objects()).collect()
        taken = 0
        for meta in sorted(found, key=lambda m: (m["last_modified"], m["path"])):
            key, modified = meta["path"], meta["last_modified"]
            if newest is not None and (modified < newest - window or key in seen):
                continue
            if self._take(key, modified):
                taken += 1
            seen.add(key)
        if found:
            latest = max(m["last_modified"] for m in found)
            newest = latest if newest is None else max(newest, latest)
        if newest is not None:
            recent = {m["path"] for m in found if m["last_modified"] >= newest - window}
            position = {"newest": newest.isoformat(), "seen": sorted(seen & recent)}
            self.ledger.set_cursor(self.cursor_name, json.dumps(position))
            self._prune(found, newest - window)
        return taken

    def _take(self, key: str, modified: datetime) -> bool:
        """Copy one object into the local landing zone (False: not a landing file)."""
        import obstore

        table, _, rel = key.partition("/")
        *folders, name = rel.split("/")
        folder = raw_dir(self.settings, table) if TABLE_NAME.fullmatch(table) else None
        if (
            folder is None
            or not name
            or not is_candidate(Path(name))
            or any(not f or f in (".", "..") or is_work_folder(f) for f in folders)
        ):
            log.warning("%s/%s is not raw/<table>/[<folders>/]<file>: left alone", self.url, key)
            return False
        folder = folder.joinpath(*folders)  # sub-folders load as in the local landing zone
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f".{name}.part"
        with open(part, "wb") as out:
            for chunk in obstore.get(self._objects(), key).stream():
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        stamp = modified.timestamp()
        os.utime(part, (stamp, stamp))  # the same identity however often it is taken
        os.replace(part, folder / name)
        log.info("took %s/%s into the landing zone", self.url, key)
        return True

    def _prune(self, found: Sequence[Any], passed: datetime) -> None:
        """Delete objects the cursor passed more than ``archive_retention_days`` ago."""
        import obstore

        cutoff = min(passed, datetime.now(UTC)) - timedelta(
            days=self.settings.archive_retention_days
        )
        old = [m["path"] for m in found if m["last_modified"] < cutoff]
        if old:
            obstore.delete(self._objects(), old)
            log.info("removed %d objects older than the landing archive's retention", len(old))

    def run(self, stop: threading.Event) -> None:
        """Poll every ``landing_poll_s`` until ``stop``."""
        while True:
            try:
                self.poll()
            except Exception:  # the store unreachable: try again next time
                log.exception("listing the landing bucket %s failed", self.url)
            if stop.wait(self.settings.landing_poll_s):
                return
