"""Helpers for end-to-end tests: a ``lakehouse`` process's environment, free loopback ports.

Bounded waits on an event: ``from waiting import wait_for`` (``tests/waiting.py``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
from waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")


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


@contextlib.contextmanager
def running_api(root: Path, **settings: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real ``lakehouse api`` on a free loopback port, rooted in ``root`` (no other
    ``LAKEHOUSE_`` setting from this environment; ``settings``: ``LAKEHOUSE_<NAME>`` values),
    once its ``/health`` answers (at most 180 s: ~1.3 CPU s to start, up to a minute of wall on
    a busy machine): the process and its URL. Ended when the block ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {"LAKEHOUSE_ROOT": str(root)}
    env |= {f"LAKEHOUSE_{k.upper()}": v for k, v in settings.items()}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [LAKEHOUSE, "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def up() -> bool:
            assert server.poll() is None, f"lakehouse api exited with {server.returncode}"
            try:
                return httpx.get(f"{url}/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, 180, "the API to start")
        yield server, url
    finally:
        server.terminate()
        server.wait(timeout=30)
