"""Progress of a big file streaming into bronze: rows, bytes, rate and time left.

The loader hands a :class:`FileProgress` to its ``on_progress`` hook after each piece and logs
:func:`describe` of it (one line per piece, with the figures as fields in JSON logs). The
file's row count is known for Parquet (its footer) and estimated for uncompressed text from
the line breaks in its first and last MiB; a gzipped text file has no estimate, so its line says
rows, rate and bytes on disk but no share or time left (never a made-up figure).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from lakehouse.progress import duration
from loader.readers import Source

SAMPLE_BYTES = 1024**2


def estimate_rows(source: Source, size: int) -> tuple[int | None, bool]:
    """The file's records: ``(count, exact)``; ``(None, False)`` when it cannot be told cheaply."""
    if source.kind == "parquet":
        try:
            return pq.ParquetFile(source.path).metadata.num_rows, True
        except Exception:  # the reader names what is wrong with the file, not this
            return None, False
    if source.gzip or source.kind == "json" or size <= 0:
        return None, False
    with source.path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
        header = 1 if source.kind in ("csv", "tsv") else 0
        if len(sample) >= size:  # the whole file (quoted line breaks may make it fewer)
            return max(sample.count(b"\n") + (not sample.endswith(b"\n")) - header, 0), False
        f.seek(max(len(sample), size - SAMPLE_BYTES))
        tail = f.read(SAMPLE_BYTES)  # its end too: ids and dates grow along a file
    lines = sample.count(b"\n") + tail.count(b"\n")
    return max(round(lines * size / (len(sample) + len(tail))) - header, 0), False


@dataclass(slots=True)
class FileProgress:
    """Where one big file is: ``rows`` in bronze (``resumed_at`` of them before this run)."""

    table: str
    file: str
    size: int  # bytes on disk
    expected: int | None  # the file's rows, if known or estimated
    exact: bool  # ``expected`` read from the file's footer, not estimated
    resumed_at: int = 0
    rows: int = 0
    done: bool = False
    started: float = field(default_factory=time.monotonic)
    elapsed: float = 0.0  # seconds this run has spent on the file

    def advance(self, rows: int, *, done: bool, now: float | None = None) -> None:
        self.rows += rows
        self.done = done
        self.elapsed = (time.monotonic() if now is None else now) - self.started
        if done:
            self.expected, self.exact = self.rows, True

    @property
    def written(self) -> int:
        """Rows this run wrote."""
        return self.rows - self.resumed_at

    @property
    def rate(self) -> float | None:
        """Rows per second this run."""
        return self.written / self.elapsed if self.elapsed > 0 else None

    @property
    def share(self) -> float | None:
        """The share of the file in bronze (an estimate stays below 1 until the end)."""
        if self.done:
            return 1.0
        if not self.expected:
            return None
        return min(self.rows / self.expected, 0.99)

    @property
    def bytes_done(self) -> int | None:
        share = self.share
        return None if share is None else round(self.size * share)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at this run's rate."""
        if self.done:
            return 0.0
        rate, expected = self.rate, self.expected
        if not rate or not expected:
            return None
        return max(expected - self.rows, 0) / rate

    def fields(self) -> dict[str, object]:
        """The figures, for a JSON log line."""
        return {
            "event": "load_progress",
            "table": self.table,
            "file": self.file,
            "rows": self.rows,
            "rows_written": self.written,
            "rows_expected": self.expected,
            "bytes": self.size,
            "bytes_done": self.bytes_done,
            "rows_per_s": None if self.rate is None else round(self.rate),
            "eta_s": None if self.eta_s is None else round(self.eta_s, 1),
            "done": self.done,
        }


def describe(p: FileProgress) -> str:
    """One line: ``big.csv: 2,000 of ~9,000 rows (22%), 1.2 of 5.3 MB, 150,000 rows/s,
    ~47 s left``."""
    about = "" if p.exact else "~"
    parts = [f"{p.table}/{p.file}: {p.rows:,}"]
    if p.expected is not None and not p.done:
        parts[0] += f" of {about}{p.expected:,} rows ({p.share or 0:.0%})"
    else:
        parts[0] += " rows" + (" (complete)" if p.done else "")
    done_bytes = p.bytes_done
    if done_bytes is not None and not p.done:
        parts.append(f"{about}{_mb(done_bytes)} of {_mb(p.size)} MB")
    else:
        parts.append(f"{_mb(p.size)} MB on disk")
    if p.rate is not None:
        parts.append(f"{p.rate:,.0f} rows/s")
    if p.resumed_at:
        parts.append(f"resumed after row {p.resumed_at:,}")
    eta = p.eta_s
    if eta is not None and not p.done:
        parts.append(f"{about}{duration(eta)} left")
    return ", ".join(parts)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f}"
