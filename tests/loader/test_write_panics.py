"""A file on which bronze's writer (delta-rs) panics alike, pass after pass, is refused after
``WRITE_PANICS`` passes (``unwritable``, saying what the panic said) instead of being retried for
ever; a panic that does not come again lets the file load.

The panic is delta-rs's own: where the loader's write calls ``write_deltalake``, a real write of
a date past delta-rs's range into a scratch table raises it (the known panics of this kind are
refused before the write now; the writer may have others). Bronze's own Parquet files
(``loader.own_files``) are switched off here so that every write goes through delta-rs, as it
still does for a new column, another type, a partitioned table or object storage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import write_deltalake
from deltalake.exceptions import DeltaError
from loader_support import bronze, drop

from lakehouse import Settings
from loader import Loader, own_files
from loader import bronze as bronze_module
from loader.loading import WRITE_PANICS, panic_message


def _panicking(scratch: Path, times: int | None) -> Callable[..., Any]:
    """``write_deltalake`` that panics (delta-rs itself) the first ``times`` calls (None:
    always), then writes."""
    calls = {"n": 0}

    def write(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if times is None or calls["n"] <= times:
            bad_day = pa.table({"d": pa.array([2**31 - 1], pa.date32())})
            write_deltalake(str(scratch / f"t{calls['n']}"), bad_day)  # raises: a panic
            raise AssertionError("delta-rs wrote a date past its range")
        return write_deltalake(*args, **kwargs)

    return write


def test_a_panic_every_time_refuses_the_file_after_a_bound(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(own_files, "ENABLED", False)
    monkeypatch.setattr(bronze_module, "write_deltalake", _panicking(tmp_path / "scratch", None))
    drop(settings, "t", "a.csv", "id\n1\n")
    loader = Loader(settings)
    for _ in range(WRITE_PANICS - 1):  # the file stays for the next pass, held
        held = loader.load_pending().held
        assert [h.file for h in held] == ["a.csv"] and "panicked" in held[0].reason
        assert (settings.raw_dir / "t" / "a.csv").exists()
    summary = loader.load_pending()
    assert [q.kind for q in summary.quarantined] == ["unwritable"]
    reason = summary.quarantined[0].reason
    assert reason == (
        f"bronze's writer (delta-rs) panicked writing this file, {WRITE_PANICS} times alike: "
        "`NaiveDate + TimeDelta` overflowed"
    )
    error = json.loads((settings.quarantine_dir / "t" / "a.csv.error.json").read_text())
    assert error["kind"] == "unwritable" and "panicked" in error["detail"]
    assert not (settings.raw_dir / "t" / "a.csv").exists()


def test_a_panic_that_does_not_come_again_lets_the_file_load(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(own_files, "ENABLED", False)
    monkeypatch.setattr(bronze_module, "write_deltalake", _panicking(tmp_path / "scratch", 1))
    drop(settings, "t", "a.csv", "id\n1\n")
    loader = Loader(settings)
    held = loader.load_pending().held
    assert [h.file for h in held] == ["a.csv"] and "panicked" in held[0].reason
    summary = loader.load_pending()
    assert summary.quarantined == []
    assert bronze(settings, "t").column("id").to_pylist() == [1]


def test_the_panic_message_is_read_from_delta_rs_words() -> None:
    text = (
        "Generic DeltaTable error: writer join error: task 20 panicked with message "
        '"`NaiveDate + TimeDelta` overflowed"'
    )
    assert panic_message(DeltaError(text)) == "`NaiveDate + TimeDelta` overflowed"
    assert panic_message(DeltaError("Generic error: connection reset by peer")) is None
