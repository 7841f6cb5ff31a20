"""Helpers for end-to-end tests: free loopback ports and bounded waits on a condition."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]


def lakehouse_env(root: Path, **settings: str) -> dict[str, str]:
    """The environment of a ``lakehouse`` process rooted in ``root`` with its own copy of the
    dbt project (dbt writes into it); ``settings``: more ``LAKEHOUSE_<NAME>`` values."""
    project = shutil.copytree(
        REPO / "dbt_project", root / "dbt_project", ignore=shutil.ignore_patterns("target")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {
        "LAKEHOUSE_ROOT": str(root),
        "LAKEHOUSE_DBT_PROJECT_DIR": str(project),
        "LAKEHOUSE_PROFILES_DIR": str(REPO),
    }
    return env | {f"LAKEHOUSE_{k.upper()}": v for k, v in settings.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
