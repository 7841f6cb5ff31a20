"""Atomic landing: the loader never sees a partial file; the ledger never runs ahead of the data."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from api_support import make_settings

from ingest.landing import Landing, sweep_temporaries
from lakehouse import Ledger
from lakehouse.layout import WRITE_IN_PROGRESS_S, is_candidate, landing_in_flight, new_batch_id


def test_a_landing_in_progress_is_invisible(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    ledger = Ledger(settings.ledger_file)
    landing = Landing(settings, "orders", new_batch_id(), ".ndjson")
    landing.write(b'{"a":1}\n')
    landing.close()
    # what a crash here leaves: a temporary the loader ignores, nothing in the ledger
    assert [p.name for p in landing.folder.iterdir()] == [landing.tmp.name]
    assert not is_candidate(landing.tmp)
    assert ledger.get_batch(landing.batch_id) is None
    path = landing.commit(ledger, records=1)
    assert is_candidate(path) and path.read_bytes() == b'{"a":1}\n'
    batch = ledger.get_batch(landing.batch_id)
    assert batch is not None and batch.state == "accepted" and batch.bytes == 8
    assert not landing.tmp.exists()


def test_the_builder_sees_a_batch_being_received_and_one_not_loaded(tmp_path: Path) -> None:
    """What lets a build start early (docs/dbt.md, "When builds run"): nothing in flight."""
    settings = make_settings(tmp_path)
    assert landing_in_flight(settings) is None  # no landing zone yet
    ledger = Ledger(settings.ledger_file)
    landing = Landing(settings, "payments", new_batch_id(), ".ndjson")
    landing.write(b'{"a":1}\n')
    assert landing_in_flight(settings) == landing.tmp  # a client's batch being received
    path = landing.commit(ledger, records=1)
    assert landing_in_flight(settings) == path  # landed, not loaded yet
    path.unlink()  # what the loader does once it committed (or quarantined) the file
    assert landing_in_flight(settings) is None
    # what never loads: a crash's old temporary, a hidden file, a folder that is no table
    crashed = landing.folder / ".bat_crashed.csv.tmp"
    crashed.write_bytes(b"")
    old = time.time() - WRITE_IN_PROGRESS_S - 5
    os.utime(crashed, (old, old))
    (landing.folder / ".DS_Store").write_bytes(b"")
    (settings.raw_dir / "Not-A-Table").mkdir()
    (settings.raw_dir / "Not-A-Table" / "x.csv").write_text("a\n1\n")
    assert landing_in_flight(settings) is None
    part = landing.folder / "big.csv.part"  # a system still copying a file in
    part.write_bytes(b"a\n")
    assert landing_in_flight(settings) == part


def test_stale_temporaries_are_swept(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    old = Landing(settings, "orders", new_batch_id(), ".csv")
    old.close()
    fresh = Landing(settings, "orders", new_batch_id(), ".csv")
    fresh.close()
    hour_ago = time.time() - 7200
    os.utime(old.tmp, (hour_ago, hour_ago))
    other = old.folder / ".someone-elses.tmp"  # not the API's: left alone
    other.write_bytes(b"")
    os.utime(other, (hour_ago, hour_ago))
    assert sweep_temporaries(settings) == 1
    assert not old.tmp.exists() and fresh.tmp.exists() and other.exists()


@pytest.mark.parametrize(
    ("batch_id", "ext"),
    [("bat_x", ".ndjson"), (new_batch_id(), ".exe")],
    ids=["not-a-batch-id", "unknown-format"],  # stable: every xdist worker collects the same ids
)
def test_only_batch_names_and_known_formats(tmp_path: Path, batch_id: str, ext: str) -> None:
    with pytest.raises(ValueError):
        Landing(make_settings(tmp_path), "orders", batch_id, ext)


def test_a_ledger_failure_after_the_rename_is_not_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Once the file is renamed into place the batch exists and will load; answering with an
    # error would make the client retry (and forget its Idempotency-Key): a second copy.
    settings = make_settings(tmp_path)
    ledger = Ledger(settings.ledger_file)
    sqlite3.connect(settings.ledger_file).execute("drop table batches")  # accept() now fails
    landing = Landing(settings, "orders", new_batch_id(), ".ndjson")
    landing.write(b'{"a":1}\n')
    path = landing.commit(ledger, records=1)
    assert path.read_bytes() == b'{"a":1}\n' and is_candidate(path)
    assert "could not record it in the ledger" in caplog.text


def test_a_batch_renamed_into_place_while_the_builder_looks_is_still_in_flight(
    tmp_path: Path,
) -> None:
    """The API's rename of its temporary (``.<batch>.csv.tmp`` to the batch's file) may fall
    between the builder's listing of the folder and its look at the temporary's age: the file
    was there a moment ago and is somewhere now (renamed into place, or taken by the loader),
    so a load may still come from it. Seen in CI (test_build_loop's write in progress): the
    listing held only the temporary, the temporary was gone when looked at, so nothing was in
    flight and the orders were built without their payments."""
    settings = make_settings(tmp_path)
    landing = Landing(settings, "payments", new_batch_id(), ".csv")
    landing.write(b"payment_id\n1\n")
    landing.close()
    names = (landing.tmp, landing.folder / f"{landing.batch_id}.csv")
    stop = threading.Event()
    moves = 0

    def rename_back_and_forth() -> None:
        nonlocal moves
        while not stop.is_set():  # one of the two names holds the file at every instant
            os.rename(names[moves % 2], names[(moves + 1) % 2])
            moves += 1

    mover = threading.Thread(target=rename_back_and_forth, daemon=True)
    mover.start()
    try:
        missed = [landing_in_flight(settings) for _ in range(20_000)].count(None)
    finally:
        stop.set()
        mover.join(10)
    assert moves > 1_000  # the renames ran beside the looks
    assert missed == 0, f"{missed} looks of 20,000 found nothing in flight"
