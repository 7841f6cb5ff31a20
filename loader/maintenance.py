# ruff: noqa: ARG001  # not-yet placeholders keep the final signatures
"""Table upkeep: compaction, checkpoints, vacuum."""

from __future__ import annotations

from lakehouse.exceptions import NotYetError
from lakehouse.settings import Settings


def run_maintain(settings: Settings) -> int:
    raise NotYetError("lakehouse maintain is not built yet")
