"""A file's rows are in bronze once: duplicates, restarts, kill -9, two loaders at once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from loader_support import bronze, csv_rows, drop

from lakehouse.events import LoadEvent
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings
from loader.bronze import COMPLETE, Bronze
from loader.landing import identify
from loader.loading import Loader

REPO = Path(__file__).resolve().parents[2]


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


def test_a_big_file_goes_in_pieces_and_resumes(settings: Settings) -> None:
    settings = settings.model_copy(update={"chunk_rows": 3000, "read_batch_rows": 1024})
    path = drop(settings, "t", "big.csv", csv_rows(10_000))
    file = identify(settings, "t", path)
    # a killed run had committed the first 2,500 rows of it
    first = bronze_rows(2500, file.batch_id)
    Bronze(settings, "t").append(first, {file.batch_id: 2500})

    summary = Loader(settings).load_pending()

    assert len(summary.events) >= 3  # in pieces
    assert summary.loaded[0].rows == 10_000
    ids = bronze(settings, "t").column("id").to_pylist()
    assert sorted(ids) == list(range(10_000))
    assert Bronze(settings, "t").watermark(file.batch_id) == COMPLETE  # said by the last piece
    # the same file again: recognised from the watermark, nothing added
    drop(settings, "t", "big-again.csv", csv_rows(10_000))
    again = Loader(settings).load_pending()
    assert [s.file for s in again.skipped] == ["big-again.csv"] and again.events == []
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


def _make_inbox(settings: Settings) -> dict[str, int]:
    expected = {}
    start = 0
    for i in range(24):
        n = 50 + i
        drop(settings, "t", f"small{i:02}.csv", csv_rows(n, start=start))
        expected[f"small{i:02}.csv"] = n
        start += n
    drop(settings, "t", "big.csv", csv_rows(120_000, start=start))
    expected["big.csv"] = 120_000
    return expected


def _check_exact(settings: Settings, expected: dict[str, int]) -> None:
    table = bronze(settings, "t")
    per_file = Counter(table.column("_source_file").to_pylist())
    assert dict(per_file) == expected
    ids = table.column("id").to_pylist()
    assert len(ids) == len(set(ids)) == sum(expected.values())
    assert not any((settings.raw_dir / "t").iterdir())


def _kill_loop(settings: Settings, kills: int, seed: int) -> None:
    expected = _make_inbox(settings)
    env = _env(
        settings.root,
        LAKEHOUSE_CHUNK_ROWS="15000",
        LAKEHOUSE_READ_BATCH_ROWS="4096",
        LAKEHOUSE_BATCH_MAX_FILES="5",
    )
    rng = random.Random(seed)
    for _ in range(kills):
        proc = subprocess.Popen(
            _load_cmd(), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.5, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if not any((settings.raw_dir / "t").iterdir()):
            drop_again = rng.random() < 0.5  # sometimes all was done: drop a few copies again
            if drop_again:
                for name in list(expected)[:3]:
                    archived = settings.archive_dir / "t" / name
                    os.link(archived, settings.raw_dir / "t" / f"copy-{name}")
    done = subprocess.run(_load_cmd(), cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    _check_exact(settings, expected)


def test_kill_9_then_restart_loads_exactly_once(settings: Settings) -> None:
    _kill_loop(settings, kills=4, seed=1)


@pytest.mark.slow
def test_kill_9_many_times(settings: Settings) -> None:
    _kill_loop(settings, kills=40, seed=7)


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
    assert summary.loaded[0].rows == 9_000 and len(summary.events) == 4
    ids = bronze(settings, "t").column("id").to_pylist()
    assert sorted(ids) == list(range(9_000))


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
    assert [f.rows for f in again.loaded] == [9_000] and again.quarantined == []
    ids = bronze(settings, "t").column("id").to_pylist()
    assert sorted(ids) == [*range(9_000), 100_000, 100_001, 100_002]


def test_the_last_piece_says_complete_so_a_failed_reread_rolls_nothing_back(
    settings: Settings,
) -> None:
    import shutil

    settings = settings.model_copy(update={"chunk_rows": 10, "csv_max_bad_rows": 1})
    body = "id,v\n" + "".join(f"{i},{i}\n" for i in range(30)) + "99,1,extra\n"
    path = drop(settings, "t", "big.csv", body)  # 30 rows: exactly 3 pieces, one bad row
    file = identify(settings, "t", path)
    first = Loader(settings).load_pending()
    assert [f.rows for f in first.loaded] == [30]
    assert Bronze(settings, "t").watermark(file.batch_id) == COMPLETE

    # as if the loader died after the last commit, before archiving; the file now fails to read
    shutil.copy(settings.archive_dir / "t" / "big.csv", path)
    strict = settings.model_copy(update={"csv_max_bad_rows": 0})
    again = Loader(strict).load_pending()

    assert again.quarantined == [] and [s.file for s in again.skipped] == ["big.csv"]
    assert bronze(settings, "t").num_rows == 30  # nothing rolled back
