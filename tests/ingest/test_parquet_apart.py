"""The API checks an uploaded Parquet file in a worker process, never in its own
(``ingest.parsing``, ``docs/api.md``): a check that ends the process it runs in (Arrow C++
aborts on a fatal check: SIGABRT, past any ``except``) is refused for that file (422, in
``lakehouse.dialect.reader_ended``'s words), and every other check, running beside it or after
it, is answered as if nothing happened.

The aborts here are real: ``os.abort`` (SIGABRT, what Arrow C++ raises) in the real worker
processes of the real pool. No file was found that aborts Arrow C++ 26 through the API's checks
today (session 17's, DuckDB's ``MAP {'k': MAP()}``, is fixed; arrow-testing's 138 fuzzing
files, DuckDB's maps of maps and hand-made footers were tried): an abort is what the pool must
live through, whatever its cause. ``tests/adversary/test_parquet_null_keyed_map.py`` aborts a
real ``lakehouse api``'s worker from outside.

*Before*: the check ran in the server's own thread pool, and such a file ended the API.
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import pickle
import signal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.filecheck import FileError
from ingest.parsing import Parsers, _alone, not_checked
from ingest.validation import BodyError, RecordsError
from lakehouse.dialect import reader_ended
from lakehouse.formats import FileFormat
from lakehouse.settings import Settings

PARQUET = FileFormat("parquet", False)


def _settings(tmp_path: Path) -> Settings:
    return Settings(root=tmp_path, api_parquet_processes=2)  # type: ignore[call-arg]


def _parquet(path: Path, rows: int) -> Path:
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64())}), buf)
    path.write_bytes(buf.getvalue())
    return path


async def _checks(parsers: Parsers, good: Path) -> list[int | BaseException]:
    """An abort and two good files' checks at once, then one more good file's."""
    aborting = parsers.apart(functools.partial(os.abort))
    first = parsers.check_parquet(good, PARQUET, None)
    second = parsers.check_parquet(good, PARQUET, None)
    answers = await asyncio.gather(aborting, first, second, return_exceptions=True)
    return [*answers, await parsers.check_parquet(good, PARQUET, None)]


def test_a_check_that_aborts_its_process_is_refused_and_the_others_are_answered(
    tmp_path: Path,
) -> None:
    parsers = Parsers(_settings(tmp_path))
    try:
        answers = asyncio.run(_checks(parsers, _parquet(tmp_path / "a.parquet", 3)))
    finally:
        parsers.close()
    aborted, *good = answers
    assert good == [3, 3, 3], answers
    assert isinstance(aborted, FileError), aborted
    assert aborted.status == 422
    assert str(aborted) == reader_ended(-6)
    assert "(signal 6, SIGABRT: killed, e.g. by the kernel out of memory, or aborted)" in str(
        aborted
    )


async def _ends(parsers: Parsers) -> list[int | BaseException]:
    """A check whose process exits (no signal) and one that raises, then a good one."""
    exits = parsers.apart(functools.partial(os._exit, 3))
    raises = parsers.apart(functools.partial(int, "x"))
    answers = await asyncio.gather(exits, raises, return_exceptions=True)
    return [*answers, await parsers.apart(functools.partial(int, "9"))]


def test_a_check_whose_process_exits_is_no_refusal_of_the_file(tmp_path: Path) -> None:
    """A process that ends without a signal (it could not start, or exited) read no file to its
    death: 503, the file not refused; an error the check raises comes back as it is."""
    parsers = Parsers(_settings(tmp_path))
    try:
        exited, raised, good = asyncio.run(_ends(parsers))
    finally:
        parsers.close()
    assert good == 9
    assert isinstance(exited, FileError) and exited.status == 503, exited
    assert str(exited) == not_checked(
        "the process checking it ended before it answered, exit code 3"
    )
    assert isinstance(raised, ValueError) and "invalid literal" in str(raised), raised


def test_a_parquet_files_refusal_is_the_same_from_a_worker(tmp_path: Path) -> None:
    """What the check raises comes back whole: status, words."""
    parsers = Parsers(_settings(tmp_path))
    empty = _parquet(tmp_path / "e.parquet", 0)
    broken = tmp_path / "b.parquet"
    broken.write_bytes(b"PAR1 not a footer PAR1")
    try:
        for path, status, words in (
            (empty, 422, "the file holds no records"),
            (broken, 400, "the file does not parse as Parquet"),
        ):
            with pytest.raises(FileError) as refused:
                asyncio.run(parsers.check_parquet(path, PARQUET, None))
            assert refused.value.status == status
            assert str(refused.value).startswith(words), refused.value
    finally:
        parsers.close()


@pytest.mark.parametrize(
    "error",
    [
        FileError("too large", 413),
        BodyError("not JSON", row=4, unit="record"),
        RecordsError([{"row": 1, "loc": ["body", 1, "a"], "msg": "x"}], truncated=True),
    ],
)
def test_the_checks_refusals_cross_a_process_whole(error: Exception) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert back.__dict__ == error.__dict__


def test_how_a_process_ended_is_named() -> None:
    assert "(signal 9, SIGKILL:" in reader_ended(-9)
    assert "(exit code 1:" in reader_ended(1)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _workers() -> list[int]:
    """This process's forkserver's children: the workers of its pools."""
    me = os.getpid()

    def children(of: int) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[1]) == of and stat[0] != "Z":
                    found.append(int(entry.name))
        return found

    def forkserver(pid: int) -> bool:
        try:
            return b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # ended meanwhile
            return False

    servers = [p for p in children(me) if forkserver(p)]
    return [worker for server in servers for worker in children(server)]


def test_a_worker_hands_back_what_a_big_check_freed(tmp_path: Path) -> None:
    """After a check, what Arrow's allocator (mimalloc) kept of the memory it freed goes back
    to the system: an idle worker that had checked a 40 MB file of 3,000,000 records held ~120
    MiB more than before it (~45 now), in each of ``api_parquet_processes`` workers."""
    rows = 3_000_000
    big = tmp_path / "big.parquet"
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "s": pa.array([f"text value {i}" for i in range(rows)]),
        }
    )
    pq.write_table(table, big)
    del table
    small = _parquet(tmp_path / "small.parquet", 3)
    parsers = Parsers(Settings(root=tmp_path, api_parquet_processes=1))  # type: ignore[call-arg]
    try:
        before = set(_workers())
        assert asyncio.run(parsers.check_parquet(small, PARQUET, None)) == 3
        mine = [p for p in _workers() if p not in before]
        assert len(mine) == 1, mine  # the pool of one worker, this test's own
        idle = _rss_mib(mine[0])
        assert asyncio.run(parsers.check_parquet(big, PARQUET, None)) == rows
        assert _rss_mib(mine[0]) - idle < 80, (idle, _rss_mib(mine[0]))
    finally:
        parsers.close()


def _interrupted(rows: int) -> int:
    """A check that gets a terminal's Ctrl-C while it runs (SIGINT reaches the whole process
    group: the API's and its checkers'), then answers."""
    signal.raise_signal(signal.SIGINT)
    return rows


def test_a_ctrl_c_reaching_the_checkers_leaves_their_checks_answered(tmp_path: Path) -> None:
    """The API stops gracefully on SIGINT, finishing the requests in flight; their checks in
    the workers (a pool's, and a process alone) finish too. *Before* (session 18's before-stop
    read, readB 03): the pool's worker raised KeyboardInterrupt, which came back to the route as
    the check's error (a 500 for a good file); the process alone died of it (503)."""
    parsers = Parsers(_settings(tmp_path))
    try:
        try:
            pooled = asyncio.run(parsers.apart(functools.partial(_interrupted, 4)))
            alone = _alone(functools.partial(_interrupted, 5))
        except KeyboardInterrupt as exc:  # a worker's, sent back: not this test run's own
            pytest.fail(f"a checker's SIGINT came back to the API as {exc!r}")
    finally:
        parsers.close()
    assert (pooled, alone) == (4, 5)
