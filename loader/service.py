# ruff: noqa: ARG001  # not-yet placeholders keep the final signatures
"""The loader's long-running and one-shot entry points (``lakehouse loader|load|build|up|docs``)."""

from __future__ import annotations

from lakehouse.exceptions import NotYetError
from lakehouse.settings import Settings


def run_loader(settings: Settings, *, build: bool = True) -> int:
    raise NotYetError("lakehouse loader lands with issue #2")


def run_load(settings: Settings, *, build: bool = True) -> int:
    raise NotYetError("lakehouse load lands with issue #2")


def run_up(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    raise NotYetError("lakehouse up lands with issues #3 and #4")
