"""Waiting in tests: on an observable event, with a bounded timeout; never sleep-then-assert.

``tests/`` is on ``sys.path`` (its ``conftest.py`` puts it there), so every suite imports this
as ``from waiting import wait_for``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    check: Callable[[], T | None], timeout: float, what: str, *, interval: float = 0.05
) -> T:
    """Poll ``check`` until it returns something truthy and return that, or fail naming ``what``.

    ``check`` may raise to stop waiting at once (a process that died, a thread that failed).
    It is called one last time at the deadline, so a slow machine only fails a test when the
    event really did not happen in ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
