"""Stopping a long-running command cleanly: on SIGINT (Ctrl-C) or SIGTERM (``docker stop``), or
when the folders it works in are removed under it."""

from __future__ import annotations

import logging
import os
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

    Each folder is held open while the guard runs, and a folder counts as gone when the one held
    is no longer at its path: removed (even if a thread of the service made a new folder of the
    same name before the next look, as the loader's heartbeat does) or moved away. Held open,
    the removed folder's inode cannot be reused by a new one, so the two are always told apart.
    """

    def __init__(self, folders: Sequence[Path], stop: threading.Event, every_s: float = 1.0):
        self.folders = list(folders)
        self.stop = stop
        self.every_s = every_s
        self.gone: Path | None = None
        self._held: list[tuple[Path, int]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="folder-guard", daemon=True)

    def __enter__(self) -> FolderGuard:
        try:
            for folder in self.folders:
                folder.mkdir(parents=True, exist_ok=True)
                self._held.append((folder, os.open(folder, os.O_RDONLY | os.O_DIRECTORY)))
        except BaseException:
            self._close()
            raise
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._close()

    def _close(self) -> None:
        for _, fd in self._held:
            os.close(fd)
        self._held = []

    def _watch(self) -> None:
        while not self._done.wait(self.every_s):
            for folder, fd in self._held:
                if not _still_at(folder, fd):
                    self.gone = folder
                    log.error("%s was removed while running: stopping", folder)
                    self.stop.set()
                    return


def _still_at(folder: Path, fd: int) -> bool:
    """Whether the folder held open as ``fd`` is still the one at ``folder``."""
    held = os.fstat(fd)
    try:
        now = os.stat(folder)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:  # not for us to judge (permissions, a stale mount): the next look may tell
        return True
    return held.st_nlink > 0 and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)
