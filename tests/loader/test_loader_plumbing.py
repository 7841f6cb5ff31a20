"""The loader's plumbing made faster keeps its answers: a big file's identity (BLAKE3 on every
core), the bronze columns (built once, sliced per batch), the read-ahead (bounded by rows) and
the columns of a batch typed on threads."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pytest
from blake3 import blake3
from hypothesis import given
from hypothesis import settings as settings_of
from hypothesis import strategies as st
from loader_support import bronze, csv_rows, drop
from waiting import wait_for

from lakehouse import Settings
from lakehouse.dialect import MismatchPolicy
from lakehouse.layout import batch_id_for, table_path
from loader import Loader, fitting, landing, loading, readers
from loader.exceptions import FileRejected
from loader.fitting import ColumnPlan, Mismatch, Typer
from loader.landing import HASH_READ_BYTES, LandingFile, identify
from loader.pieces import BronzeColumns, Pieces, Prefetch, _constant, bronze_schema


@pytest.mark.parametrize(
    "beside", [pytest.param(False, marks=pytest.mark.slow), True], ids=["before", "beside"]
)
def test_a_big_file_hashed_on_every_core_keeps_its_identity(
    settings: Settings, beside: bool
) -> None:
    """Past ``HASH_READ_BYTES`` the hash runs on threads, read in reused blocks: the same
    digest as one plain pass over the bytes (a stale or short block would change it), before
    the reading or on a thread beside it (``landing.Identifying``: the same identity)."""
    folder = settings.raw_dir / "t"
    folder.mkdir(parents=True)
    path = folder / "big.csv"
    size = 2 * HASH_READ_BYTES + 12_345  # two full blocks and a short one
    data = bytes((i * 7919 + i // 4096) % 251 for i in range(size))
    path.write_bytes(data)
    expected = batch_id_for(path.name, blake3(b"t\0" + data).hexdigest())
    found = landing.Identifying("t", path).result() if beside else identify(settings, "t", path)
    assert found.batch_id == expected
    assert found == identify(settings, "t", path)


def _file(tmp_path: Path) -> LandingFile:
    return LandingFile("t", tmp_path / "x.csv", 1, "bat_" + "0" * 32)


def test_the_bronze_columns_sliced_are_the_columns_built_anew(tmp_path: Path) -> None:
    now = pa.scalar(datetime(2024, 1, 2, tzinfo=UTC), pa.timestamp("us", tz="UTC"))
    file = _file(tmp_path)
    columns = BronzeColumns(file, now)
    for n in (5, 3, 9, 9, 1, 0, 12):  # smaller, larger (built again), equal, empty
        got = columns.arrays(n)
        assert [len(a) for a in got] == [n, n, n]
        assert got[0].equals(pa.repeat(now, n))
        assert got[1].equals(_constant(file.batch_id, n))
        assert got[2].equals(_constant(file.name, n))


def _batches(sizes: list[int], taken: list[int]) -> Iterator[pa.RecordBatch]:
    for i, n in enumerate(sizes):
        taken.append(n)
        yield pa.record_batch([pa.array([i] * n, pa.int64())], names=["i"])


def test_the_read_ahead_holds_a_piece_of_rows_and_hands_every_batch_in_order() -> None:
    sizes = [10] * 30
    taken: list[int] = []
    with Prefetch(_batches(sizes, taken), depth=2, rows=95) as ahead:
        # nothing consumed: the thread reads until 95 rows wait (10 batches), then stops with
        # at most the next batch taken from the reader (never more, however long it waits)
        wait_for(lambda: sum(taken) >= 100, 10, "the read-ahead to fill")
        assert sum(taken) <= 110
        got = [batch.column(0)[0].as_py() for batch in ahead]
    assert got == list(range(30))


def test_the_read_ahead_passes_the_reader_error_on_after_the_batches_before_it() -> None:
    def failing() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array([1])], names=["i"])
        raise ValueError("the file broke")

    with Prefetch(failing(), depth=1, rows=1000) as ahead:
        assert next(ahead).num_rows == 1
        with pytest.raises(ValueError, match="the file broke"):
            next(ahead)
        with pytest.raises(StopIteration):
            next(ahead)


_ADVERSARIAL = [
    "1", "-0", "00077", "0x1F", "1_000", "+1", " 2", "9223372036854775808", "1.50", "1e5",
    ".5", "0.1234567890123456789", "2024-02-29", "2023-02-29", "03/04/2024", "NA", "", "true",
    "2024-01-02 13:45:00", "2024-01-02T13:45:00+01:00", "12:02:55", None,
]  # fmt: skip


_PLANS = [
    ColumnPlan("a", "BIGINT", "declared", pa.int64()),
    ColumnPlan("b", "DOUBLE", "declared", pa.float64()),
    ColumnPlan("c", "DATE", "declared", pa.date32()),
    ColumnPlan("d", "VARCHAR", "inferred"),
    ColumnPlan("e", "TIMESTAMPTZ", "declared", pa.timestamp("us", tz="UTC")),
    ColumnPlan("f", "DECIMAL(10,2)", "declared", pa.decimal128(10, 2)),
]


def _typer_runs(
    policy: MismatchPolicy,
    parallel: bool,
    monkeypatch: pytest.MonkeyPatch,
    plans: list[ColumnPlan] = _PLANS,
) -> object:
    monkeypatch.setattr(fitting, "PARALLEL_ROWS", 1 if parallel else 10**12)
    typer = Typer(plans, policy)
    n = len(_ADVERSARIAL)
    batch = pa.record_batch(
        [pa.array([_ADVERSARIAL[(i * (k + 3)) % n] for i in range(4 * n)]) for k in range(6)],
        names=[p.name for p in _PLANS],
    ).select([p.name for p in plans])
    try:
        out = typer.apply(batch)
    except Mismatch as exc:
        return ("mismatch", exc.column, exc.row, exc.value)
    return (out.to_pylist(), typer.rescued, typer.rows)


@pytest.mark.parametrize("policy", ["rescue", "quarantine"])
def test_columns_typed_on_threads_give_what_one_thread_gives(
    policy: MismatchPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same values, rescued values and counts; under quarantine the same first mismatch
    (the first record holding one, of it the first column in order, although another column's
    thread may fail first: docs/loading.md, Which of a file's values is named)."""
    alone = _typer_runs(policy, False, monkeypatch)
    together = _typer_runs(policy, True, monkeypatch)
    assert together == alone
    if policy == "quarantine":
        each = [_typer_runs(policy, False, monkeypatch, [p]) for p in _PLANS]
        first = min(
            (r[2], i) for i, r in enumerate(each) if isinstance(r, tuple) and r[0] == "mismatch"
        )
        assert alone == each[first[1]], (alone, each)
        assert alone[0] == "mismatch" and alone[1] != "a"  # a later column's earlier record
    else:
        assert isinstance(alone, tuple) and alone[1] > 0  # something was rescued


def test_in_parallel_raises_the_first_failure_in_order() -> None:
    def work(i: int) -> int:
        if i in (1, 3):
            raise ValueError(f"item {i}")
        return i * 10

    assert fitting.in_parallel(lambda i: i * 10, range(5), 10**6) == [0, 10, 20, 30, 40]
    with pytest.raises(ValueError, match="item 1"):
        fitting.in_parallel(work, range(5), 10**6)


def test_a_quote_refused_late_in_a_big_file_is_refused_before_any_piece(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quote check runs beside the reading; the loader's first piece waits for it, so a
    file it refuses leaves no commit behind (neither a piece nor its roll-back). The check is
    held back here until a commit lands (or 3 s pass): a first piece that did not wait for it
    would be committed, then rolled back."""
    settings = settings.model_copy(update={"chunk_rows": 1000})
    lines = csv_rows(5000).splitlines(keepends=True)
    lines[4500] = '4499,"name"x,1.5\n'
    drop(settings, "t", "big.csv", "".join(lines))
    committed = threading.Event()
    check = readers._check_quotes

    def slow_check(
        path: Path,
        delimiter: str,
        stop: threading.Event | None = None,
        skip_lines: int = 0,
        quoting: Literal["csv", "none", "ask"] = "csv",
        limit: int | None = None,
        split: bool = False,
        columns: int = 0,
    ) -> None:
        committed.wait(3)
        check(path, delimiter, stop, skip_lines, quoting, limit, split, columns)

    monkeypatch.setattr(readers, "_check_quotes", slow_check)
    summary = Loader(settings, on_event=lambda _: committed.set()).load_pending()
    assert not committed.is_set()
    assert [(q.kind, q.line) for q in summary.quarantined] == [("unparseable", 4501)]
    assert "closing quote" in summary.quarantined[0].reason
    assert not (table_path(settings, "bronze", "t") / "_delta_log").exists()


def _pieces(
    sizes: list[int], size: int, ahead: bool, known: tuple[int, bool] = (0, False)
) -> list[tuple[list[int], bool, int]]:
    """Each piece's values, whether it said it was the last, and its rows (after writing)."""
    schema = pa.schema([pa.field("i", pa.int64())])
    full = bronze_schema(schema)

    def batches() -> Iterator[pa.RecordBatch]:
        start = 0
        for n in sizes:
            yield pa.record_batch([pa.array(range(start, start + n), pa.int64())], ["i"])
            start += n

    out = []
    with Prefetch(batches(), depth=1, rows=size + 1) as prefetch:
        stream = prefetch if ahead else batches()
        pieces = Pieces(stream, size, full, _file(Path("/tmp")), known=known)
        while pieces.more():
            reader = pieces.next_piece()
            final = pieces.final  # said before the piece is read (the commit needs it)
            table = reader.read_all()
            out.append((table.column("i").to_pylist(), final, pieces.rows))
    return out


@settings_of(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=7), max_size=12),
    size=st.integers(min_value=1, max_value=9),
)
def test_pieces_streamed_from_the_read_ahead_are_the_pieces_read_whole(
    sizes: list[int], size: int
) -> None:
    """The same rows in the same pieces, and ``final`` known before each piece is read, the
    same as reading it whole first (batches of any size, empty ones, exact multiples)."""
    whole = _pieces(sizes, size, ahead=False)
    assert _pieces(sizes, size, ahead=True) == whole
    total = sum(sizes)
    assert _pieces(sizes, size, ahead=False, known=(total, True)) == whole  # a Parquet footer
    assert _pieces(sizes, size, ahead=True, known=(total // 2, False)) == whole  # at least
    rows = [v for values, _, _ in whole for v in values]
    assert rows == list(range(sum(sizes)))
    assert [final for _, final, _ in whole] == [False] * (len(whole) - 1) + [True] * bool(whole)
    assert all(len(values) == n for values, _, n in whole)


@pytest.mark.parametrize("said", [9, 11, 25])
def test_a_piece_that_said_it_was_the_last_breaks_if_the_rows_disagree(said: int) -> None:
    """A count the reader gave (a Parquet footer) that the rows do not meet breaks the piece's
    stream, so its commit never happens: the file is refused, never loaded short or long."""
    sizes = [4, 4, 2]  # 10 rows, pieces of 10: one piece, said to be the last when <= 10
    with pytest.raises(FileRejected, match="records than its metadata says"):
        _pieces(sizes, 10, ahead=False, known=(said, True))


def test_a_forked_child_types_on_threads_of_its_own() -> None:
    """The typing threads do not survive a fork: a child that types a batch after its parent
    did makes its own pool instead of waiting forever for the parent's threads."""
    assert fitting.in_parallel(lambda i: i, range(3), 10**6) == [0, 1, 2]  # the pool exists
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the work is done
        try:
            os._exit(0 if fitting.in_parallel(lambda i: i + 1, range(3), 10**6) == [1, 2, 3] else 1)
        finally:
            os._exit(2)
    ended: list[int] = []

    def child_ended() -> bool:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            ended.append(status)
        return bool(done)

    try:
        wait_for(child_ended, 20, "the forked child to type a batch")
    finally:
        if not ended:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    status = ended[0]
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_loader_takes_arrow_buffers_from_jemalloc(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loader's process allocates Arrow's buffers from jemalloc where pyarrow has it (mimalloc
    handed pages back and the kernel zeroed them anew); an operator's own choice of pool
    (``ARROW_DEFAULT_MEMORY_POOL``) is left alone."""
    before = pa.default_memory_pool()
    try:
        pa.set_memory_pool(pa.system_memory_pool())
        monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
        Loader(settings)
        assert pa.default_memory_pool().backend_name == "system"
        monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL")
        Loader(settings)
        wanted = "jemalloc" if "jemalloc" in pa.supported_memory_backends() else "system"
        assert pa.default_memory_pool().backend_name == wanted
    finally:
        pa.set_memory_pool(before)


def _counted_reading(
    monkeypatch: pytest.MonkeyPatch, read: list[int], change: threading.Condition
) -> None:
    """Every CSV text batch the loader takes from ``open_csv`` counted in ``read[0]``."""
    real = loading.open_csv

    def open_csv(*args: object, **kwargs: object) -> readers.TextFile:
        text = real(*args, **kwargs)  # type: ignore[arg-type]
        batches = text.batches

        def counted() -> Iterator[pa.RecordBatch]:
            for batch in batches:
                with change:
                    read[0] += 1
                    change.notify_all()
                yield batch

        text.batches = counted()
        return text

    monkeypatch.setattr(loading, "open_csv", open_csv)


def test_a_csv_is_read_on_while_its_batches_are_typed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow parses a CSV block on the thread that asks for it: the blocks are read on a
    thread of their own, so the next ones are parsed while a batch is typed (a 6M-row lineitem
    CSV: one core idle at every piece's end while the reading and the typing took turns). The
    rows come out whole and in order."""
    monkeypatch.setattr("loader.pieces.SMALL_FILE_BYTES", 0)  # streamed in pieces
    monkeypatch.setattr(readers, "_CSV_BLOCK", 16 * 1024)  # many batches in a small file
    settings = settings.model_copy(update={"chunk_rows": 2000})
    drop(settings, "t", "big.csv", csv_rows(20_000))
    read = [0]
    change = threading.Condition()
    _counted_reading(monkeypatch, read, change)
    ahead: list[int] = []
    typed = [0]  # batches handed to the typing
    real = Typer.apply

    def apply(self: Typer, batch: pa.RecordBatch, **kwargs: object) -> pa.RecordBatch:
        typed[0] += 1
        if not kwargs.get("inferred_from") and not ahead:  # the first batch after the window
            with change:
                # two batches past this one read while it is not typed yet (bounded: read on
                # the typing's thread, none is read meanwhile)
                change.wait_for(lambda: read[0] >= typed[0] + 2, timeout=10)
                ahead.append(read[0] - typed[0])
        return real(self, batch, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Typer, "apply", apply)

    summary = Loader(settings).load_pending()

    assert summary.quarantined == [] and summary.rows == 20_000
    assert ahead and ahead[0] >= 2, f"batches read while one was typed: {ahead}"
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == list(range(20_000))


def test_a_csv_value_that_does_not_fit_is_named_before_a_later_reading_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read ahead of the typing, a record the reader refuses after a value that does not fit
    its column: the value is named, as a file read and typed batch by batch names it."""
    monkeypatch.setattr("loader.pieces.SMALL_FILE_BYTES", 0)
    monkeypatch.setattr(readers, "_CSV_BLOCK", 16 * 1024)
    settings = settings.model_copy(update={"chunk_rows": 2000, "on_mismatch": "quarantine"})
    lines = csv_rows(20_000).splitlines()
    lines[5001] = "x5000,name 5000,7500.0"  # id BIGINT by the window's records
    lines[15001] = "15000,name 15000,1.0,one too many"
    drop(settings, "t", "big.csv", "\n".join(lines) + "\n")

    summary = Loader(settings).load_pending()

    [bad] = summary.quarantined
    assert (bad.kind, bad.line, bad.column) == ("type_conflict", 5002, "id"), bad
