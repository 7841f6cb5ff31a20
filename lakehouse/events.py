"""The load event: what the loader tells the builder after each bronze commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LoadEvent:
    """Bronze ``table`` reached ``version``, holding the rows of ``batch_ids``."""

    table: str
    version: int
    batch_ids: tuple[str, ...] = field(default_factory=tuple)
    rows: int = 0


#: A consumer of load events (the dbt builder); called from the loader's thread, must not block.
LoadEventHandler = Callable[[LoadEvent], None]
