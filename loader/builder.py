# ruff: noqa: ARG001  # not-yet placeholders keep the final signatures
"""The dbt builder: a warm dbtRunner that turns load events into published silver/gold."""

from __future__ import annotations

from lakehouse.exceptions import NotYetError
from lakehouse.settings import Settings


def run_build(settings: Settings, *, select: list[str], full_refresh: bool = False) -> int:
    raise NotYetError("lakehouse build lands with issue #3 (dbt)")


def run_docs(settings: Settings, *, serve: bool = False, port: int = 8080) -> int:
    raise NotYetError("lakehouse docs lands with issue #3 (dbt)")
