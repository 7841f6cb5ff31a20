"""Watching ``raw/<table>/`` and its sub-folders: a file is handed over once it is complete.

Complete means (inotify, the default): its writer closed it (``IN_CLOSE_WRITE``), or it was
renamed into the folder (the API's atomic ``tmp`` → final rename, ``mv``). A file that appears
with no writer (moved in from another folder, which inotify reports as a creation) is handed
over once nothing has touched it for ``settle_s``. With ``force_polling`` (Docker volumes,
network disks) a file is handed over once its size and time stop changing for two polls.
Hidden files, ``*.tmp``, ``*.part`` and quarantine sidecars are never handed over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirMovedEvent,
    FileClosedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from lakehouse.settings import Settings
from loader.landing import table_of

log = logging.getLogger(__name__)

#: Quiet time after which a file that appeared without a writer is taken (inotify mode).
SETTLE_S = 0.1


class LandingWatcher(FileSystemEventHandler):
    """Calls ``on_file(table, path)`` from a watcher thread for every complete landing file."""

    def __init__(self, settings: Settings, on_file: Callable[[str, Path], None]) -> None:
        self.settings = settings
        self.on_file = on_file
        self.settle_s = 2.5 * settings.poll_interval_s if settings.force_polling else SETTLE_S
        self._maybe: dict[Path, float] = {}  # appeared, not yet known to be complete
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer: BaseObserver | None = None
        self._settler: threading.Thread | None = None

    def start(self) -> None:
        self.settings.raw_dir.mkdir(parents=True, exist_ok=True)
        if self.settings.force_polling:
            observer: BaseObserver = PollingObserver(timeout=self.settings.poll_interval_s)
        else:
            observer = Observer()
        observer.schedule(self, str(self.settings.raw_dir), recursive=True)
        observer.start()
        self._observer = observer
        self._settler = threading.Thread(target=self._settle, name="landing-settle", daemon=True)
        self._settler.start()

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._settler is not None:
            self._settler.join(timeout=5)

    # -- events ----------------------------------------------------------------------------

    def _hand_over(self, raw: bytes | str) -> None:
        path = Path(raw if isinstance(raw, str) else raw.decode())
        with self._lock:
            self._maybe.pop(path, None)
        table = table_of(self.settings, path)
        if table is not None:
            self.on_file(table, path)

    def on_closed(self, event: FileClosedEvent) -> None:
        self._hand_over(event.src_path)

    def on_moved(self, event: FileMovedEvent | DirMovedEvent) -> None:
        if not event.is_directory:
            self._hand_over(event.dest_path)
        else:  # a whole folder renamed into raw/ (or a sub-folder): its files are new to us
            for path in Path(str(event.dest_path)).rglob("*"):
                if path.is_file():
                    self._note(path)

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._note(Path(str(event.src_path)))

    def on_opened(self, event: FileOpenedEvent) -> None:
        if not self.settings.force_polling:  # a writer has it: its close will come
            with self._lock:
                self._maybe.pop(Path(str(event.src_path)), None)

    def on_modified(self, event: FileSystemEvent) -> None:
        if isinstance(event, FileModifiedEvent) and self.settings.force_polling:
            self._note(Path(str(event.src_path)))
        elif isinstance(event, FileModifiedEvent):
            with self._lock:  # still being written: restart its quiet time if we hold it
                if Path(str(event.src_path)) in self._maybe:
                    self._maybe[Path(str(event.src_path))] = time.monotonic()

    def _note(self, path: Path) -> None:
        if table_of(self.settings, path) is not None:
            with self._lock:
                self._maybe[path] = time.monotonic()

    def _settle(self) -> None:
        tick = min(0.05, self.settle_s / 2)
        while not self._stop.wait(tick):
            now = time.monotonic()
            with self._lock:
                ripe = [p for p, t in self._maybe.items() if now - t >= self.settle_s]
                for path in ripe:
                    del self._maybe[path]
            for path in ripe:
                table = table_of(self.settings, path)
                if table is not None and path.is_file():
                    self.on_file(table, path)
