"""The run ledger's state machine, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from lakehouse import Ledger


def test_a_batch_goes_from_accepted_to_published(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.accept("bat_a", "orders", source_file="bat_a.ndjson", records=3, bytes=10)
    assert ledger.get_batch("bat_a").state == "accepted"  # type: ignore[union-attr]
    ledger.mark_loaded("orders", 4, {"bat_a": ("bat_a.ndjson", 3)})
    build = ledger.start_build("source:bronze.orders+")
    assert ledger.mark_published(build, {"orders": 3}) == 0  # the build read an older version
    assert ledger.mark_published(build, {"orders": 4}) == 1
    batch = ledger.get_batch("bat_a")
    assert batch is not None
    assert (batch.state, batch.bronze_version, batch.build_id) == ("published", 4, build)


def test_a_failed_batch_is_healed_by_a_later_publish(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.mark_loaded("orders", 0, {"bat_a": ("a.csv", 1)})
    ledger.mark_failed("bat_a", "orders", "a.csv", {"reason": "build failed after 3 attempts"})
    assert ledger.get_batch("bat_a").state == "failed"  # type: ignore[union-attr]
    build = ledger.start_build(None)
    assert ledger.mark_published(build, {"orders": 0}) == 1
    batch = ledger.get_batch("bat_a")
    assert batch is not None
    assert (batch.state, batch.error) == ("published", None)


def test_a_quarantined_batch_is_never_published(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.accept("bat_q", "orders")
    ledger.mark_quarantined("bat_q", "orders", "q.csv", {"kind": "empty"})
    build = ledger.start_build(None)
    assert ledger.mark_published(build, {"orders": 10}) == 0
    batch = ledger.get_batch("bat_q")
    assert batch is not None
    assert (batch.state, batch.error) == ("quarantined", {"kind": "empty"})
