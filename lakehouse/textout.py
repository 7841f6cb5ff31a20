"""Plain-text reports for a terminal or a pipe: at most 80 columns, no colour codes.

A name (a table's ``layer/name``, up to 70 characters) is never cut: when it and its details do
not fit on one line, the details go on the next line, indented.
"""

from __future__ import annotations

WIDTH = 80
INDENT = "  "


def row(name: str, details: str, *, name_width: int) -> list[str]:
    """``name`` then ``details`` in 80 columns: one line, or two when they do not fit."""
    width = max(len(name), name_width)
    line = f"{INDENT}{name.ljust(width)}  {details}".rstrip()
    if len(line) <= WIDTH:
        return [line]
    return [f"{INDENT}{name}", f"{INDENT}{INDENT}{details}"[:WIDTH]]


def name_width(names: list[str], *, limit: int = 32) -> int:
    """The name column's width: the longest name, but no wider than ``limit``."""
    return min(max((len(n) for n in names), default=0), limit)


def clip(text: str, width: int) -> str:
    """``text`` on one line of at most ``width`` characters (``…`` when cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
