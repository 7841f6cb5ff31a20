"""Progress of long work over a known total (a backup, ``lakehouse maintain``, a backlog of
landing files): how many of how many, bytes, rows, the rate and the time left.

One :class:`WorkProgress` per piece of work; after each step, :meth:`WorkProgress.line` is the
text for a terminal (``2 of 5 tables, 45% of 27.1 MB, 30.2 MB/s, about 1 s left``) and
:meth:`WorkProgress.fields` the same figures for a JSON log line (``event: <what>_progress``).
The time left is the bytes still to do at the rate so far: none before the first step (no
made-up figure).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class WorkProgress:
    """``total_items`` items (``unit``: tables, files) of ``total_bytes`` bytes in all."""

    what: str
    unit: str
    total_items: int
    total_bytes: int
    items: int = 0
    bytes: int = 0
    rows: int | None = None
    started: float = field(default_factory=time.monotonic)
    elapsed: float = 0.0

    def advance(
        self, items: int = 1, nbytes: int = 0, rows: int | None = None, *, now: float | None = None
    ) -> WorkProgress:
        self.items += items
        self.bytes += nbytes
        if rows is not None:
            self.rows = (self.rows or 0) + rows
        self.elapsed = (time.monotonic() if now is None else now) - self.started
        return self

    @property
    def done(self) -> bool:
        return self.items >= self.total_items

    @property
    def share(self) -> float:
        """Bytes done of the total (items when there are no bytes to count)."""
        if self.done:
            return 1.0
        if self.total_bytes > 0:
            return min(self.bytes / self.total_bytes, 1.0)
        return self.items / self.total_items if self.total_items else 1.0

    @property
    def bytes_per_s(self) -> float | None:
        return self.bytes / self.elapsed if self.elapsed > 0 else None

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the rate so far (``None`` before anything was done)."""
        if self.done:
            return 0.0
        if self.elapsed <= 0 or self.share <= 0:
            return None
        return self.elapsed * (1 - self.share) / self.share

    def line(self) -> str:
        """``2 of 5 tables, 45% of 27.1 MB, 30.2 MB/s, 12,000 rows, about 1 s left``."""
        parts = [
            f"{self.items:,} of {self.total_items:,} {self.unit}",
            f"{self.share:.0%} of {_mb(max(self.total_bytes, self.bytes))} MB",
        ]
        if self.bytes_per_s is not None:
            parts.append(f"{_mb(round(self.bytes_per_s))} MB/s")
        if self.rows is not None:
            rate = f" ({self.rows / self.elapsed:,.0f}/s)" if self.elapsed > 0 else ""
            parts.append(f"{self.rows:,} rows{rate}")
        eta = self.eta_s
        if eta is not None:
            parts.append("done" if self.done else f"about {duration(eta)} left")
        return ", ".join(parts)

    def fields(self) -> dict[str, object]:
        """The figures, for a JSON log line."""
        rate = self.bytes_per_s
        eta = self.eta_s
        return {
            "event": f"{self.what}_progress",
            f"{self.unit}_done": self.items,
            f"{self.unit}_total": self.total_items,
            "bytes_done": self.bytes,
            "bytes_total": self.total_bytes,
            "rows": self.rows,
            "bytes_per_s": None if rate is None else round(rate),
            "eta_s": None if eta is None else round(eta, 1),
            "done": self.done,
        }


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f}"


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 10 min``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
