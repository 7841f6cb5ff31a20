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
    #: False for a piece of a big file that is not its last: no build can see it before the
    #: last piece (builds read the complete version, :mod:`lakehouse.complete`)
    complete: bool = True


#: A consumer of load events (the dbt builder); called from the loader's thread, must not block.
LoadEventHandler = Callable[[LoadEvent], None]
