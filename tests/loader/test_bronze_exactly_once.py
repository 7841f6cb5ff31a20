"""A file's rows are in bronze once: duplicates, restarts, kill -9, two loaders at once."""

from __future__ import annotations

import io
import json
import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from loader_support import bronze, csv_rows, drop
from rich.console import Console
from waiting import wait_for

from app.service import print_summary
from lakehouse import Ledger, LoadEvent, Settings
from loader import Loader, landing, own_files, pieces
from loader.bronze import COMPLETE, Bronze
from loader.landing import identify

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["before", "beside"])
def hashed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A dropped CSV hashed before its reading, or beside it (``landing.Identifying``, which
    big CSVs take): every CSV here takes the one asked."""
    if request.param == "beside":
        monkeypatch.setattr(landing, "HASH_BESIDE_BYTES", 0)
    else:
        monkeypatch.setattr(landing, "HASH_BESIDE_BYTES", 2**62)
    return str(request.param)


@pytest.mark.usefixtures("hashed")
def test_same_content_under_another_name_loads_once(settings: Settings) -> None:
    drop(settings, "t", "a.csv", csv_rows(3))
    drop(settings, "t", "a-again.csv", csv_rows(3))
    first = Loader(settings).load_pending()
    drop(settings, "t", "a-third-time.csv", csv_rows(3))
    second = Loader(settings).load_pending()

    assert len(first.loaded) == 1 and len(first.skipped) == 1
    assert second.loaded == [] and [s.file for s in second.skipped] == ["a-third-time.csv"]
    assert bronze(settings, "t").num_rows == 3
    assert sorted(p.name for p in (settings.archive_dir / "t").iterdir()) == [
        "a-again.csv",
        "a-third-time.csv",
        "a.csv",
    ]


@pytest.mark.usefixtures("hashed")
@pytest.mark.parametrize("good_too", [False, True])
def test_a_copy_of_a_file_quarantined_in_the_same_call_is_quarantined_too(
    settings: Settings, good_too: bool
) -> None:
    """Two files of one refused content in one pass: both quarantined with the same reason;
    neither is "already in bronze" (its rows are in no table), none archived (fixc s14)."""
    bad = "id,name\n1\n"  # a short row: column_count
    drop(settings, "t", "a.csv", bad)
    drop(settings, "t", "b.csv", bad)
    if good_too:
        drop(settings, "t", "c.csv", csv_rows(2))

    summary = Loader(settings).load_pending()

    assert summary.skipped == []
    assert sorted(q.file for q in summary.quarantined) == ["a.csv", "b.csv"]
    assert len({(q.batch_id, q.kind, q.reason) for q in summary.quarantined}) == 1
    assert summary.quarantined[0].kind == "column_count"
    assert not (settings.archive_dir / "t").exists() or sorted(
        p.name for p in (settings.archive_dir / "t").iterdir()
    ) == (["c.csv"] if good_too else [])
    folder = settings.quarantine_dir / "t"
    for name in ("a.csv", "b.csv"):
        sidecar = json.loads((folder / f"{name}.error.json").read_text())
        assert sidecar["file"] == name and sidecar["kind"] == "column_count"
        assert (folder / name).read_text() == bad
    if good_too:
        assert bronze(settings, "t").num_rows == 2
    out = io.StringIO()
    print_summary(summary, Console(file=out, width=200))
    assert "0 already in bronze" in out.getvalue()
    batch = Ledger(settings.ledger_file).get_batch(summary.quarantined[0].batch_id)
    assert batch is not None and batch.state == "quarantined"

    drop(settings, "t", "d.csv", bad)  # a later copy: read again, refused again
    again = Loader(settings).load_pending()
    assert again.skipped == [] and [q.file for q in again.quarantined] == ["d.csv"]


@pytest.mark.usefixtures("hashed")
@pytest.mark.parametrize("same_pass", [True, False])
def test_the_same_bytes_read_as_another_format_are_another_file(
    settings: Settings, same_pass: bool
) -> None:
    """A file's identity is its bytes and the reading its name chooses (readA 03, session 14):
    the bytes of a refused ``a.parquet`` dropped as ``b.csv`` load as the CSV they are (not
    quarantined "does not parse as Parquet"), and the bytes of a loaded ``c.csv`` dropped as
    ``d.tsv`` load as the TSV they are, their own rows (not "already in bronze", their rows in
    no table). In one pass or two."""
    data = "id,amount\n1,10\n2,20\n"
    commas = "id,x\n3,4\n"  # a CSV of columns 'id', 'x'; a TSV of one column, 'id,x'
    old = 10**9
    os.utime(drop(settings, "t", "a.parquet", data), ns=(old, old))
    os.utime(drop(settings, "t", "c.csv", commas), ns=(old, old))
    first = Loader(settings).load_pending() if not same_pass else None
    drop(settings, "t", "b.csv", data)
    drop(settings, "t", "d.tsv", commas)
    second = Loader(settings).load_pending()

    summaries = [s for s in (first, second) if s is not None]
    quarantined = [(q.file, q.kind) for s in summaries for q in s.quarantined]
    assert quarantined == [("a.parquet", "unparseable")]
    assert [k.file for s in summaries for k in s.skipped] == []
    assert sorted(f.file for s in summaries for f in s.loaded) == ["b.csv", "c.csv", "d.tsv"]
    rows = bronze(settings, "t").to_pylist()
    by_file = {r["_source_file"]: {k: v for k, v in r.items() if v is not None} for r in rows}
    assert by_file["d.tsv"]["id,x"] == "3,4" and "x" not in by_file["d.tsv"], by_file
    assert by_file["c.csv"]["id"] == 3 and by_file["c.csv"]["x"] == 4, by_file
    assert sorted(r["amount"] for r in rows if r["_source_file"] == "b.csv") == [10, 20]


@pytest.mark.usefixtures("hashed")
def test_a_file_loaded_under_its_identity_before_session_15_is_already_in_bronze(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until session 15 a dropped file's batch id was of its bytes alone
    (``content_batch_id(identity)``); it is now of its bytes and its reading. Such a file,
    loaded then and dropped again now, is already in bronze (its old id's watermark), not
    loaded a second time. The first load runs with the identity as it was."""
    import loader.landing as landing
    from lakehouse.layout import content_batch_id

    with monkeypatch.context() as before:
        before.setattr(landing, "batch_id_of", lambda identity, name: content_batch_id(identity))
        first = (
            Loader(settings).load_pending() if drop(settings, "t", "a.csv", "id\n1\n2\n") else None
        )
    assert first is not None and first.rows == 2
    drop(settings, "t", "again.csv", "id\n1\n2\n")
    second = Loader(settings).load_pending()
    assert [f.file for f in second.skipped] == ["again.csv"] and second.rows == 0
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == [1, 2]
    drop(settings, "t", "new.csv", "id\n3\n")
    assert Loader(settings).load_pending().rows == 1  # other bytes load as ever


def test_api_named_twins_both_load(settings: Settings) -> None:
    one, two = "bat_" + "1" * 32, "bat_" + "2" * 32
    drop(settings, "t", f"{one}.ndjson", '{"x": 1}\n')
    drop(settings, "t", f"{two}.ndjson", '{"x": 1}\n')
    Ledger(settings.ledger_file).accept(one, "t", records=1)

    summary = Loader(settings).load_pending()

    assert sorted(f.batch_id for f in summary.loaded) == [one, two]
    assert sorted(bronze(settings, "t").column("_batch_id").to_pylist()) == [one, two]
    batch = Ledger(settings.ledger_file).get_batch(one)
    assert batch is not None and batch.state == "loaded" and batch.records == 1


def test_dedup_off_loads_equal_content_twice_but_a_restart_once(settings: Settings) -> None:
    settings = settings.model_copy(update={"dedup_by_content": False})
    path = drop(settings, "t", "a.csv", csv_rows(2))
    drop(settings, "t", "b.csv", csv_rows(2))
    identity = identify(settings, "t", path)
    mtime_ns = path.stat().st_mtime_ns
    Loader(settings).load_pending()
    assert bronze(settings, "t").num_rows == 4
    # as if the loader died after the commit, before archiving: the same drop is still there
    os.replace(settings.archive_dir / "t" / "a.csv", path)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    assert identify(settings, "t", path).batch_id == identity.batch_id
    summary = Loader(settings).load_pending()
    assert [s.file for s in summary.skipped] == ["a.csv"]
    assert bronze(settings, "t").num_rows == 4


def test_one_commit_per_batch_of_small_files(settings: Settings) -> None:
    for i in range(30):
        drop(settings, "t", f"f{i:02}.csv", csv_rows(10, start=i * 10))
    events: list[LoadEvent] = []
    summary = Loader(settings, on_event=events.append).load_pending()
    assert len(summary.loaded) == 30 and len(events) == 1
    assert events[0].rows == 300 and len(events[0].batch_ids) == 30
    assert bronze(settings, "t").num_rows == 300


def test_batches_are_bounded_by_max_files(settings: Settings) -> None:
    settings = settings.model_copy(update={"batch_max_files": 4})
    for i in range(10):
        drop(settings, "t", f"f{i:02}.csv", csv_rows(1, start=i))
    summary = Loader(settings).load_pending()
    assert len(summary.events) == 3


def _rows(fmt: str, n: int, start: int = 0) -> str:
    """``csv_rows(n, start)``, or the same records as NDJSON."""
    if fmt == "csv":
        return csv_rows(n, start)
    return "".join(
        f'{{"id": {i}, "name": "name {i}", "amount": {i * 1.5}}}\n' for i in range(start, start + n)
    )


@pytest.mark.usefixtures("hashed")
@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_big_file_goes_in_pieces_and_resumes(settings: Settings, fmt: str) -> None:
    """Streamed in pieces (each typed ahead while the one before is written), resumed after
    the rows a killed run committed, complete once: CSV and NDJSON."""
    settings = settings.model_copy(update={"chunk_rows": 3000, "read_batch_rows": 1024})
    path = drop(settings, "t", f"big.{fmt}", _rows(fmt, 10_000))
    file = identify(settings, "t", path)
    # a killed run had committed the first 2,500 rows of it
    first = bronze_rows(2500, file.batch_id)
    Bronze(settings, "t").append(first, {file.batch_id: 2500})

    summary = Loader(settings).load_pending()

    assert len(summary.events) >= 3  # in pieces
    # this run wrote the rest; the ledger has the file's whole count
    assert (summary.loaded[0].rows, summary.loaded[0].resumed_at) == (7500, 2500)
    recorded = Ledger(settings.ledger_file).get_batch(file.batch_id)
    assert recorded is not None and recorded.records == 10_000
    ids = bronze(settings, "t").column("id").to_pylist()
    assert sorted(ids) == list(range(10_000))
    assert Bronze(settings, "t").watermark(file.batch_id) == COMPLETE  # said by the last piece
    # the same file again: recognised from the watermark, nothing added
    drop(settings, "t", f"big-again.{fmt}", _rows(fmt, 10_000))
    again = Loader(settings).load_pending()
    assert [s.file for s in again.skipped] == [f"big-again.{fmt}"] and again.events == []
    assert bronze(settings, "t").num_rows == 10_000


def bronze_rows(n: int, batch_id: str) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "name": [f"name {i}" for i in range(n)],
            "amount": [i * 1.5 for i in range(n)],
            "_batch_id": [batch_id] * n,
        }
    )


# -- kill -9 ---------------------------------------------------------------------------------


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update({"LAKEHOUSE_ROOT": str(root), **extra})
    return env


def _load_cmd() -> list[str]:
    return [str(Path(sys.executable).parent / "lakehouse"), "load", "--no-build"]


def _make_inbox(
    settings: Settings, *, small_files: int = 24, big_rows: int = 120_000, big_fmt: str = "csv"
) -> dict[str, int]:
    """Small files and one big file (the oldest, so it is loaded first); rows per file name."""
    expected = {}
    start = 0
    for i in range(small_files):
        n = 50 + i
        drop(settings, "t", f"small{i:02}.csv", csv_rows(n, start=start))
        expected[f"small{i:02}.csv"] = n
        start += n
    big = drop(settings, "t", f"big.{big_fmt}", _rows(big_fmt, big_rows, start=start))
    os.utime(big, ns=(1_000_000_000, 1_000_000_000))
    expected[f"big.{big_fmt}"] = big_rows
    return expected


def _check_exact(settings: Settings, expected: dict[str, int]) -> None:
    table = bronze(settings, "t")
    per_file = Counter(table.column("_source_file").to_pylist())
    assert dict(per_file) == expected
    ids = table.column("id").to_pylist()
    assert len(ids) == len(set(ids)) == sum(expected.values())
    assert not any((settings.raw_dir / "t").iterdir())


_COMMIT = re.compile(r"^\d{20}\.json$")


def _commits(settings: Settings) -> int:
    """Bronze commits so far: the log's commit files (each appears whole, when it commits)."""
    log = settings.dados / "bronze" / "t" / "_delta_log"
    return sum(1 for name in os.listdir(log) if _COMMIT.match(name)) if log.is_dir() else 0


def _committed(
    settings: Settings, proc: subprocess.Popen[bytes], target: int
) -> Callable[[], bool]:
    """Whether bronze reached ``target`` commits; fails at once if ``proc`` exited first."""

    def check() -> bool:
        if proc.poll() is not None:
            raise AssertionError(
                f"lakehouse load exited ({proc.returncode}) before bronze commit {target}: "
                "the inbox is too small for the kills"
            )
        return _commits(settings) >= target

    return check


def _kill_loop(
    settings: Settings,
    kills: int,
    seed: int,
    *,
    small_files: int = 24,
    big_rows: int = 120_000,
    chunk_rows: int = 4000,
    step: tuple[int, int] = (1, 4),
    also_small: bool = False,
    big_fmt: str = "csv",
) -> None:
    """``kills`` times: start ``lakehouse load``, wait until it has made ``step`` (at random
    between the two) bronze commits of its own, ``kill -9`` it, and check that it was
    interrupted before its last commit; then let a last run finish and check that every row is
    in bronze exactly once.

    The big file (``big_rows / chunk_rows`` pieces) goes first, so the first kills land between
    its pieces and the next run resumes after the last one committed; small files follow, two per
    commit (``also_small``: some kills must land there too). Between runs, a loaded file is
    sometimes dropped again under another name.
    """
    expected = _make_inbox(settings, small_files=small_files, big_rows=big_rows, big_fmt=big_fmt)
    total = sum(expected.values())
    big = identify(settings, "t", settings.raw_dir / "t" / f"big.{big_fmt}").batch_id
    env = _env(settings.root, LAKEHOUSE_CHUNK_ROWS=str(chunk_rows), LAKEHOUSE_BATCH_MAX_FILES="2")
    if chunk_rows < Settings.model_fields["read_batch_rows"].default:
        env["LAKEHOUSE_READ_BATCH_ROWS"] = "1024"  # pieces of whole Arrow batches
    rng = random.Random(seed)
    interrupted: Counter[str] = Counter()  # what each kill interrupted
    for kill in range(kills):
        target = _commits(settings) + rng.randint(*step)
        proc = subprocess.Popen(
            _load_cmd(), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(
                _committed(settings, proc, target),
                120,
                f"kill {kill}: bronze commit {target}",
                interval=0.002,
            )
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
        # it was killed while loading: after a commit of its own, before the last one
        assert proc.returncode == -signal.SIGKILL, f"kill {kill}: exited {proc.returncode}"
        assert _commits(settings) >= target
        assert bronze_table(settings).count() < total, f"kill {kill} came after the last commit"
        big_done = Bronze(settings, "t").watermark(big) == COMPLETE
        interrupted["small files" if big_done else "the big file"] += 1
        archived = sorted((settings.archive_dir / "t").glob("small*.csv"))
        if archived and rng.random() < 0.5:  # a loaded file dropped again under another name
            copy = rng.choice(archived)
            os.link(copy, settings.raw_dir / "t" / f"copy{kill}-{copy.name}")
    assert interrupted["the big file"], interrupted  # the big file was resumed after a kill
    assert interrupted["small files"] or not also_small, interrupted
    done = subprocess.run(_load_cmd(), cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    _check_exact(settings, expected)


def bronze_table(settings: Settings) -> DeltaTable:
    return DeltaTable(str(settings.dados / "bronze" / "t"))


def test_kill_9_then_restart_loads_exactly_once(settings: Settings) -> None:
    _kill_loop(settings, kills=4, seed=1)


@pytest.mark.slow
def test_kill_9_an_ndjson_file_between_its_pieces(settings: Settings) -> None:
    """A big NDJSON file (22 MiB: hashed beside its first records, its pieces typed ahead
    of the writer) killed between its pieces, resumed, in bronze exactly once."""
    _kill_loop(
        settings, kills=3, seed=5, small_files=4, big_rows=400_000, chunk_rows=40_000,
        big_fmt="ndjson",
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(1200)  # 41 runs of `lakehouse load`: minutes on a busy machine
def test_kill_9_many_times(settings: Settings) -> None:
    """40 kills: the first ones between the pieces of a 120,000-row file, the others between
    commits of 160 small files."""
    _kill_loop(
        settings, kills=40, seed=7, small_files=160, chunk_rows=3000, step=(1, 3), also_small=True
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_big_file_killed_between_its_pieces_resumes(settings: Settings) -> None:
    """A 3,000,000-row CSV (90 MB) at the default piece size (``chunk_rows``: 1,000,000 rows):
    killed after its first piece, then after its second, then loaded to the end."""
    _kill_loop(
        settings,
        kills=2,
        seed=3,
        small_files=0,
        big_rows=3_000_000,
        chunk_rows=Settings.model_fields["chunk_rows"].default,
        step=(1, 1),
    )


def _uncommitted_own_files(settings: Settings) -> list[Path]:
    """The files of the loader's own writes (``own_files.PREFIX``) in bronze ``t`` that no
    commit of the log has added so far: writes in flight (or, once their writer is dead,
    orphans)."""
    folder = settings.dados / "bronze" / "t"
    try:
        own = [p for p in folder.iterdir() if p.name.startswith(own_files.PREFIX)]
    except FileNotFoundError:
        return []
    added: set[str] = set()
    log = folder / "_delta_log"
    for commit in sorted(log.glob("*.json")) if log.is_dir() else []:
        for line in commit.read_text().splitlines():
            add = json.loads(line).get("add")
            if add is not None:
                added.add(add["path"])
    return sorted(p for p in own if p.name not in added)


def _writing(
    settings: Settings, proc: subprocess.Popen[bytes], after: int
) -> Callable[[], list[Path]]:
    """Files ``proc`` is writing and has not committed, once bronze has ``after`` commits;
    fails at once if it exited first."""

    def check() -> list[Path]:
        if proc.poll() is not None:
            raise AssertionError(f"lakehouse load exited ({proc.returncode}) before a write")
        return _uncommitted_own_files(settings) if _commits(settings) >= after else []

    return check


@pytest.mark.parametrize(
    "after",
    [0, pytest.param(2, marks=pytest.mark.slow)],
    ids=["the_table_s_first_write", "after_two_commits"],
)
def test_kill_9_in_the_middle_of_a_write_leaves_no_file_after_a_restart(
    settings: Settings, after: int
) -> None:
    """``kill -9`` while the loader writes a piece's Parquet file (before its commit): the file
    stays in bronze's folder, in no version (``after`` 0: the write making the table, which then
    has no log at all). The next start deletes it (the rows of its piece are loaded again),
    and every row is in bronze exactly once."""
    expected = _make_inbox(settings, small_files=0, big_rows=600_000)
    env = _env(settings.root, LAKEHOUSE_CHUNK_ROWS="150000")
    orphans: list[Path] = []
    for attempt in range(5):  # the commit may win the race with the kill: try again
        proc = subprocess.Popen(
            _load_cmd(), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            writing = _writing(settings, proc, after)
            wait_for(writing, 180, f"attempt {attempt}: a write", interval=0.002)
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        orphans = _uncommitted_own_files(settings)  # their writer is dead: never committed
        if orphans:
            break
    assert orphans, "every kill came after the write's commit"
    if _commits(settings):
        table = bronze_table(settings)
        added = pa.table(table.get_add_actions(flatten=True))["path"].to_pylist()
        assert not {p.name for p in orphans} & set(added)  # in no version of the table
        assert table.count() < sum(expected.values())

    done = subprocess.run(_load_cmd(), cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in orphans)
    assert (
        f"deleted {len(orphans)} Parquet file(s) a write stopped before its commit" in done.stderr
    )
    assert all(p.name in done.stderr for p in orphans)
    assert _uncommitted_own_files(settings) == []
    _check_exact(settings, expected)


def test_two_loaders_at_once(settings: Settings) -> None:
    expected = _make_inbox(settings)
    env = _env(settings.root, LAKEHOUSE_CHUNK_ROWS="20000", LAKEHOUSE_BATCH_MAX_FILES="5")
    procs = [
        subprocess.Popen(
            _load_cmd(), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    results = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        results.append((p.returncode, err.decode()))
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 1]), results
    if codes == [0, 1]:
        busy = next(err for code, err in results if code == 1)
        assert "another loader" in busy
    rerun = subprocess.run(_load_cmd(), cwd=REPO, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    _check_exact(settings, expected)


def test_stopping_between_pieces_then_resuming(settings: Settings) -> None:
    import threading

    settings = settings.model_copy(update={"chunk_rows": 2000, "read_batch_rows": 1024})
    drop(settings, "t", "big.csv", csv_rows(9_000))  # small on disk, more rows than a piece
    stop = threading.Event()
    events: list[LoadEvent] = []

    def first_piece(event: LoadEvent) -> None:
        events.append(event)
        stop.set()  # a shutdown right after the first piece

    Loader(settings, on_event=first_piece).run(stop)

    assert [e.rows for e in events] == [2000]
    assert (settings.raw_dir / "t" / "big.csv").exists()  # not archived: not complete
    summary = Loader(settings).load_pending()
    # the resuming run reports the rows it wrote, not the file's total
    assert summary.rows == 7_000 and len(summary.events) == 4
    assert [e.rows for e in summary.events] == [2000, 2000, 2000, 1000]
    assert summary.loaded[0].resumed_at == 2000
    ids = bronze(settings, "t").column("id").to_pylist()
    assert sorted(ids) == list(range(9_000))  # every row once
    batch = Ledger(settings.ledger_file).get_batch(summary.loaded[0].batch_id)
    assert batch is not None and batch.records == 9_000 and batch.state == "loaded"
    buffer = io.StringIO()
    print_summary(summary, Console(file=buffer, width=200))
    text = buffer.getvalue()
    assert "loaded 1 file(s), 7000 rows, in 4 commit(s)" in text
    assert "1 file(s) resumed: their first 2000 rows were in bronze before this run" in text


def test_stopping_before_the_first_piece_leaves_the_file_for_the_next_pass(
    settings: Settings,
) -> None:
    import threading

    settings = settings.model_copy(update={"chunk_rows": 2000, "read_batch_rows": 1024})
    small = drop(settings, "t", "a.csv", csv_rows(3, start=100_000))
    big = drop(settings, "t", "big.csv", csv_rows(9_000))
    os.utime(small, ns=(1_000_000_000, 1_000_000_000))  # the small one first, in one batch
    stop = threading.Event()
    events: list[LoadEvent] = []

    def stop_at_once(event: LoadEvent) -> None:
        events.append(event)
        stop.set()  # a shutdown after the small file's commit, before big.csv's first piece

    Loader(settings, on_event=stop_at_once).run(stop)

    assert [e.rows for e in events] == [3]
    assert big.exists()  # a valid file is not quarantined for a shutdown
    assert not (settings.quarantine_dir / "t").exists() or not any(
        (settings.quarantine_dir / "t").iterdir()
    )
    summary = Loader(settings).load_pending()
    assert [f.rows for f in summary.loaded] == [9_000] and summary.quarantined == []
    ids = bronze(settings, "t").column("id").to_pylist()
    assert sorted(ids) == [*range(9_000), 100_000, 100_001, 100_002]


def test_a_file_another_loader_is_loading_is_left_in_place(settings: Settings) -> None:
    settings = settings.model_copy(update={"chunk_rows": 2000, "read_batch_rows": 1024})
    small = drop(settings, "t", "a.csv", csv_rows(3, start=100_000))
    big = drop(settings, "t", "big.csv", csv_rows(9_000))
    file = identify(settings, "t", big)

    def someone_else(event: LoadEvent) -> None:
        if event.rows == 3:  # another writer commits big.csv's first piece meanwhile
            Bronze(settings, "t").append(bronze_rows(2000, file.batch_id), {file.batch_id: 2000})

    summary = Loader(settings, on_event=someone_else).load_files("t", [small, big])

    assert summary.quarantined == [] and big.exists()
    assert Bronze(settings, "t").watermark(file.batch_id) == 2000
    again = Loader(settings).load_pending()  # the next pass resumes after that piece
    assert [(f.rows, f.resumed_at) for f in again.loaded] == [(7_000, 2_000)]
    assert again.quarantined == []
    ids = bronze(settings, "t").column("id").to_pylist()
    assert sorted(ids) == [*range(9_000), 100_000, 100_001, 100_002]


def test_the_last_piece_says_complete_so_a_failed_reread_rolls_nothing_back(
    settings: Settings,
) -> None:
    import shutil

    settings = settings.model_copy(update={"chunk_rows": 10})
    body = "id,v\n" + "".join(f"{i},{i}\n" for i in range(30))
    path = drop(settings, "t", "big.csv", body)  # 30 rows: exactly 3 pieces
    file = identify(settings, "t", path)
    first = Loader(settings).load_pending()
    assert [f.rows for f in first.loaded] == [30]
    assert Bronze(settings, "t").watermark(file.batch_id) == COMPLETE

    # as if the loader died after the last commit, before archiving: the file is back
    shutil.copy(settings.archive_dir / "t" / "big.csv", path)
    again = Loader(settings).load_pending()

    assert again.quarantined == [] and [s.file for s in again.skipped] == ["big.csv"]
    assert bronze(settings, "t").num_rows == 30  # nothing rolled back


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
@pytest.mark.parametrize("extra", [0, 1, 1024])
def test_a_file_of_exactly_one_piece_is_known_whole(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, fmt: str, extra: int
) -> None:
    """The first records (the inference window) end at a piece's end: the reader looks one
    batch further, so a file of exactly one piece streams into the writer as it is typed
    instead of being typed whole first (``Prefetch.beyond`` is not waited on); a file with more
    records goes on in pieces, every row once, the last piece saying complete."""
    monkeypatch.setattr(pieces, "SMALL_FILE_BYTES", 0)  # streamed in pieces, not buffered
    settings = settings.model_copy(update={"chunk_rows": 3000, "read_batch_rows": 1024})
    drop(settings, "t", f"one.{fmt}", _rows(fmt, 3000 + extra))
    waited: list[int] = []
    real = pieces.Prefetch.beyond

    def beyond(self: pieces.Prefetch, rows: int) -> bool | None:
        waited.append(rows)
        return real(self, rows)

    monkeypatch.setattr(pieces.Prefetch, "beyond", beyond)

    summary = Loader(settings).load_pending()

    assert [e.rows for e in summary.events] == ([3000] if not extra else [3000, extra])
    assert summary.events[-1].complete and not any(e.complete for e in summary.events[:-1])
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == list(range(3000 + extra))
    if not extra:
        assert waited == []  # known whole from the window and the batch after it
