"""Big files show progress: a line per piece with rows, bytes, rate and time left (a bar on a
terminal); the figures are checked, never the timings."""

from __future__ import annotations

import gzip
import io
import logging
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loader_support import bronze, csv_rows, drop
from rich.console import Console

from app.service import live_progress
from lakehouse import LoadEvent, Settings
from loader import Loader
from loader.progress import FileProgress, describe, estimate_rows
from loader.readers import detect


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == "load_progress"]


def test_a_line_per_piece_with_rows_bytes_rate_and_time_left(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.model_copy(update={"chunk_rows": 2000, "read_batch_rows": 1024})
    path = drop(settings, "t", "big.csv", csv_rows(9_000))
    size = path.stat().st_size
    seen: list[tuple[int, int | None, bool]] = []
    loader = Loader(settings)
    loader.on_progress = lambda p: seen.append((p.rows, p.expected, p.done))
    with caplog.at_level(logging.INFO, logger="loader.loading"):
        loader.load_pending()

    lines = _lines(caplog)
    assert [r.rows for r in lines] == [2000, 4000, 6000, 8000, 9000]
    assert [r.done for r in lines] == [False] * 4 + [True]
    assert all(r.bytes == size for r in lines)
    assert lines[0].rows_expected == 9_000  # the whole file was the sample
    assert lines[0].bytes_done == round(size * 2000 / 9000)
    assert lines[0].eta_s is not None and lines[-1].eta_s == 0.0
    first = lines[0].getMessage()
    assert "t/big.csv: 2,000 of ~9,000 rows (22%)" in first
    assert "rows/s" in first and " left" in first
    assert "t/big.csv: 9,000 rows (complete)" in lines[-1].getMessage()
    assert seen[-1] == (9_000, 9_000, True) and len(seen) == 5
    assert bronze(settings, "t").num_rows == 9_000


def test_a_resumed_file_counts_on_from_where_it_was(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.model_copy(update={"chunk_rows": 2000, "read_batch_rows": 1024})
    drop(settings, "t", "big.csv", csv_rows(9_000))
    stop = threading.Event()

    def first_piece(event: LoadEvent) -> None:
        stop.set()

    Loader(settings, on_event=first_piece).run(stop)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="loader.loading"):
        Loader(settings).load_pending()
    lines = _lines(caplog)
    assert [r.rows for r in lines] == [4000, 6000, 8000, 9000]
    assert [r.rows_written for r in lines] == [2000, 4000, 6000, 7000]
    assert "resumed after row 2,000" in lines[0].getMessage()


def test_rate_and_time_left_from_the_run_so_far() -> None:
    p = FileProgress("t", "f.csv", 9_000_000, 9_000, False, started=0.0)
    p.advance(2_000, done=False, now=2.0)
    assert p.rate == 1000 and p.eta_s == 7.0 and p.bytes_done == 2_000_000
    assert describe(p) == (
        "t/f.csv: 2,000 of ~9,000 rows (22%), ~2.0 of 9.0 MB, 1,000 rows/s, ~7 s left"
    )
    p.advance(6_999, done=False, now=10.0)
    assert p.share == 0.99  # an estimate never says done before the last piece
    # a file of unknown length: rows and rate, no share and no time left
    q = FileProgress("t", "f.csv.gz", 5_000_000, None, False, started=0.0)
    q.advance(3_000, done=False, now=1.5)
    assert describe(q) == "t/f.csv.gz: 3,000 rows, 5.0 MB on disk, 2,000 rows/s"


def test_the_row_count_is_read_or_estimated(settings: Settings) -> None:
    folder = settings.root / "files"
    folder.mkdir()
    parquet = folder / "a.parquet"
    pq.write_table(pa.table({"x": list(range(1234))}), parquet)
    assert estimate_rows(detect(parquet), parquet.stat().st_size) == (1234, True)
    text = folder / "a.csv"
    text.write_text("x\n" + "".join(f"{i:06d}\n" for i in range(500_000)))  # 3.5 MB: sampled
    rows, exact = estimate_rows(detect(text), text.stat().st_size)
    assert rows is not None and not exact and abs(rows - 500_000) < 1_000
    packed = folder / "a.csv.gz"
    packed.write_bytes(gzip.compress(text.read_bytes()))
    assert estimate_rows(detect(packed), packed.stat().st_size) == (None, False)


def test_a_terminal_gets_a_bar_in_place_of_the_lines() -> None:
    plain = io.StringIO()
    with live_progress(Console(file=plain)) as show:
        assert show is None  # not a terminal: the log lines stay
    screen = io.StringIO()
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with live_progress(Console(file=screen, force_terminal=True, width=120)) as show:
            assert show is not None
            p = FileProgress("t", "big.csv", 1_000_000, 10_000, True, started=0.0)
            p.advance(5_000, done=False, now=1.0)
            show(p)
            logging.getLogger("loader.loading").warning("x", extra={"event": "load_progress"})
            logging.getLogger("loader.loading").warning("kept")
    finally:
        root.removeHandler(handler)
    assert [r.getMessage() for r in records] == ["kept"]
    assert "t/big.csv: 5,000 of 10,000 rows (50%)" in screen.getvalue()
