"""Stopping a long-running command cleanly on SIGINT (Ctrl-C) or SIGTERM (``docker stop``)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
