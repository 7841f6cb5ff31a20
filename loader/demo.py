# ruff: noqa: ARG001  # not-yet placeholders keep the final signatures
"""``lakehouse demo``: sample data through the API and the landing zone, until gold."""

from __future__ import annotations

from lakehouse.exceptions import NotYetError
from lakehouse.settings import Settings


def run_demo(settings: Settings, *, rows: int = 1000) -> int:
    raise NotYetError("lakehouse demo lands with issue #3 (dbt builds publish gold)")
