"""Watch mode: files dropped while ``Loader.run`` runs reach bronze within a bounded wait."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from deltalake import DeltaTable
from loader_support import csv_rows, drop
from waiting import wait_for

from lakehouse import LoadEvent, Settings, table_path
from lakehouse.heartbeat import read_heartbeat
from loader import Loader, LoaderBusyError

WAIT_S = 15.0


def bronze_rows(settings: Settings, table: str) -> int:
    path = table_path(settings, "bronze", table)
    if not any((path / "_delta_log").glob("*.json")):  # the log folder comes before commit 0
        return 0
    return DeltaTable(str(path)).to_pyarrow_table(columns=["id"]).num_rows


class Running:
    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.loader.run(self.stop)
        except BaseException as exc:
            self.error = exc


@pytest.fixture(params=["inotify", "polling"])
def running(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Running]:
    if request.param == "polling":
        settings = settings.model_copy(update={"force_polling": True, "poll_interval_s": 0.1})
    run = Running(Loader(settings))
    run.thread.start()
    yield run
    run.stop.set()
    run.thread.join(timeout=20)
    assert not run.thread.is_alive() and run.error is None


def test_files_dropped_while_running_are_loaded(running: Running, tmp_path: Path) -> None:
    settings = running.loader.settings
    folder = settings.raw_dir / "t"
    folder.mkdir(parents=True, exist_ok=True)
    events: list[LoadEvent] = []
    running.loader.on_event = events.append

    (folder / "written.csv").write_text(csv_rows(5, start=0))  # written in place, then closed
    drop(settings, "t", "renamed.csv", csv_rows(5, start=5))  # tmp name, then rename
    outside = tmp_path / "outside.csv"
    outside.write_text(csv_rows(5, start=10))
    os.replace(outside, folder / "moved-in.csv")  # moved in from another folder
    (folder / "ignored.csv.tmp").write_text(csv_rows(5, start=100))
    (folder / ".hidden.csv").write_text(csv_rows(5, start=200))

    wait_for(lambda: bronze_rows(settings, "t") == 15, WAIT_S, "15 rows in bronze")
    left = [".hidden.csv", "ignored.csv.tmp"]  # the others are archived after their commit
    wait_for(
        lambda: sorted(p.name for p in folder.iterdir()) == left,
        WAIT_S,
        "the loaded files archived",
    )
    wait_for(lambda: sum(e.rows for e in events) == 15, WAIT_S, "load events for 15 rows")
    beat = read_heartbeat(settings)
    assert beat is not None and beat.pid == os.getpid() and beat.age() < 5


def test_files_present_at_start_are_picked_up(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    drop(settings, "t", "early.csv", csv_rows(7))
    run = Running(Loader(settings))
    run.thread.start()
    standby: Running | None = None
    try:
        wait_for(lambda: bronze_rows(settings, "t") == 7, WAIT_S, "early.csv in bronze")
        # while it runs, a one-shot load on the same lakehouse is refused clearly
        with pytest.raises(LoaderBusyError, match="another loader"):
            Loader(settings).load_pending()

        # a second watcher stands by (it says so) ...
        caplog.set_level(logging.WARNING, logger="loader.loading")
        standby = Running(Loader(settings))
        standby.thread.start()
        wait_for(
            lambda: any("standing by" in r.getMessage() for r in caplog.records),
            WAIT_S,
            "the second loader to say it stands by",
        )
        assert standby.thread.is_alive() and standby.error is None
        # ... and takes over when the first one stops: a file dropped after that is loaded
        run.stop.set()
        run.thread.join(timeout=20)
        assert not run.thread.is_alive() and run.error is None
        drop(settings, "t", "late.csv", csv_rows(5, start=7))
        wait_for(lambda: bronze_rows(settings, "t") == 12, WAIT_S, "late.csv loaded by the standby")
    finally:
        run.stop.set()
        run.thread.join(timeout=20)
        if standby is not None:
            standby.stop.set()
            standby.thread.join(timeout=20)
    assert run.error is None
    assert standby is not None and not standby.thread.is_alive() and standby.error is None


def test_a_copy_of_a_file_quarantined_in_the_same_pass_is_quarantined_too(
    settings: Settings,
) -> None:
    """A running loader takes both copies of a refused content in one pass (there at its
    start): both are quarantined, neither archived as "already in bronze" (fixc s14)."""
    bad = "id,name\n1\n"  # a short row: column_count
    drop(settings, "t", "a.csv", bad)
    drop(settings, "t", "b.csv", bad)
    run = Running(Loader(settings))
    run.thread.start()
    try:
        folder = settings.quarantine_dir / "t"
        wait_for(
            lambda: (
                folder.is_dir()
                and sorted(p.name for p in folder.iterdir())
                == ["a.csv", "a.csv.error.json", "b.csv", "b.csv.error.json"]
            ),
            WAIT_S,
            "both copies quarantined",
        )
    finally:
        run.stop.set()
        run.thread.join(timeout=20)
    assert not run.thread.is_alive() and run.error is None
    assert not (settings.archive_dir / "t").exists() or not any(
        (settings.archive_dir / "t").iterdir()
    )
