# ruff: noqa: ARG001  # not-yet placeholders keep the final signatures
"""API tokens: issued once, stored hashed."""

from __future__ import annotations

from lakehouse.exceptions import NotYetError
from lakehouse.settings import Settings


def create_token(settings: Settings, *, scopes: list[str], tables: list[str], name: str) -> str:
    raise NotYetError("lakehouse token create lands with issue #4")
