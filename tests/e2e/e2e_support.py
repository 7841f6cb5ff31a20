"""Helpers for end-to-end tests: a ``lakehouse`` process's environment, free loopback ports.

Bounded waits on an event: ``from waiting import wait_for`` (``tests/waiting.py``).
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

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
