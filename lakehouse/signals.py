"""Stopping a long-running command cleanly: on SIGINT (Ctrl-C) or SIGTERM (``docker stop``), or
when the folders it works in are removed under it."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)


@contextmanager
def stop_on_signals(what: str) -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while the block runs (the previous handlers after)."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        log.info("stopping %s (%s)", what, signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class FolderGuard:
    """Sets ``stop`` when one of ``folders`` disappears (``rm -rf dados`` under a running
    service), so it stops cleanly with one clear line instead of failing in every thread.

    ``with FolderGuard([settings.meta_dir], stop) as guard: ...``; afterwards ``guard.gone``
    names the folder that went (None when it stopped for another reason).
    """

    def __init__(self, folders: Sequence[Path], stop: threading.Event, every_s: float = 1.0):
        self.folders = list(folders)
        self.stop = stop
        self.every_s = every_s
        self.gone: Path | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="folder-guard", daemon=True)

    def __enter__(self) -> FolderGuard:
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._done.wait(self.every_s):
            for folder in self.folders:
                if not folder.is_dir():
                    self.gone = folder
                    log.error("%s was removed while running: stopping", folder)
                    self.stop.set()
                    return
