"""The pipeline's history as data: the run ledger's published batches appended to the Delta
table dados/ops/batches exactly once, and per-table p50/p95 of each stage (landed → bronze →
its build → published) from the ledger when no published model has them."""

from __future__ import annotations

import polars as pl
from deltalake import DeltaTable

from lakehouse.history import (
    HISTORY_APP_ID,
    HISTORY_COLUMNS,
    HISTORY_TABLE,
    latencies,
    ops_table_path,
    publish_history,
)
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings

BASE = "2026-11-29T10:00:"


def _build(db: Ledger, started: str, finished: str | None = None) -> int:
    build_id = db.start_build(None)
    with db._connect() as tx:
        tx.execute(
            "update builds set started_at = ?, finished_at = ?, state = ? where build_id = ?",
            (started, finished, "succeeded" if finished else "running", build_id),
        )
    return build_id


def _batch(
    db: Ledger,
    batch_id: str,
    table: str,
    landed: str,
    loaded: str,
    published: str,
    build_id: int,
) -> None:
    with db._connect() as tx:
        tx.execute(
            "insert into batches (batch_id, table_name, state, records, created_at, updated_at,"
            " loaded_at, published_at, build_id) values (?, ?, 'published', 3, ?, ?, ?, ?, ?)",
            (batch_id, table, landed, published, loaded, published, build_id),
        )


def _orders_and_customers(ledger: Ledger) -> None:
    """orders: landed → bronze 1..10 s, queued 1 s, build 1 s; customers: one batch."""
    for i in range(1, 11):
        build = _build(ledger, f"{BASE}{i + 1:02d}.000+00:00", f"{BASE}{i + 2:02d}.500+00:00")
        _batch(
            ledger,
            f"bat_{i:032x}",
            "orders",
            f"{BASE}00.000+00:00",
            f"{BASE}{i:02d}.000+00:00",
            f"{BASE}{i + 2:02d}.000+00:00",
            build,
        )
    build = _build(ledger, f"{BASE}01.500+00:00", f"{BASE}04.000+00:00")
    _batch(
        ledger,
        "bat_" + "f" * 32,
        "customers",
        f"{BASE}00.000+00:00",
        f"{BASE}00.500+00:00",
        f"{BASE}03.500+00:00",
        build,
    )


def test_p50_and_p95_per_table_and_stage(settings: Settings) -> None:
    ledger = Ledger.of(settings)
    _orders_and_customers(ledger)
    ledger.accept("bat_" + "e" * 32, "orders", source_file="x.ndjson", records=1, bytes=1)
    rows, source = latencies(settings)
    assert source == "run ledger"  # no published model: computed from the ledger
    by_table = {r["table"]: r for r in rows}
    assert set(by_table) == {"orders", "customers"}  # an accepted batch has no latency yet
    orders = by_table["orders"]
    assert orders["batches"] == 10
    assert orders["to_bronze_p50_s"] == 5.5 and orders["to_bronze_p95_s"] == 9.55
    assert orders["queued_p50_s"] == 1.0 and orders["building_p95_s"] == 1.0
    assert orders["total_p50_s"] == 7.5
    customers = by_table["customers"]
    assert customers["queued_p50_s"] == 1.0 and customers["building_p50_s"] == 2.0
    assert customers["total_p95_s"] == 3.5


def test_no_published_batch_no_rows(settings: Settings) -> None:
    assert latencies(settings) == ([], "run ledger")


def test_status_shows_the_latencies_in_80_columns(settings: Settings) -> None:
    from lakehouse.status import collect_status, latency_lines

    ledger = Ledger.of(settings)
    table = "t" + "x" * 62
    build = _build(ledger, "2026-11-29T10:00:02+00:00", "2026-11-29T10:00:05+00:00")
    _batch(
        ledger,
        "bat_" + "1" * 32,
        table,
        "2026-11-29T10:00:00+00:00",
        "2026-11-29T10:00:01+00:00",
        "2026-11-29T10:00:04+00:00",
        build,
    )
    status = collect_status(settings)
    assert status["latency"][0]["table"] == table
    assert status["latency_source"] == "run ledger"
    lines = latency_lines(status["latency"], status["latency_source"])
    assert all(len(line) <= 80 for line in lines), lines
    assert any(table in line for line in lines)
    assert any(
        "bronze 1.0/1.0" in line
        and "queued 1.0/1.0" in line
        and "build 2.0/2.0" in line
        and "total 4.0/4.0" in line
        for line in lines
    ), lines


def _history(settings: Settings) -> pl.DataFrame:
    return pl.read_delta(str(ops_table_path(settings, HISTORY_TABLE)))


def test_history_is_a_delta_table_appended_exactly_once(settings: Settings) -> None:
    ledger = Ledger.of(settings)
    assert publish_history(settings).rows == 0  # nothing published: nothing written
    assert not ops_table_path(settings, HISTORY_TABLE).exists()  # type: ignore[union-attr]

    _orders_and_customers(ledger)
    first = publish_history(settings)
    assert (first.rows, first.version, first.through_build) == (11, 0, 11)
    table = DeltaTable(str(ops_table_path(settings, HISTORY_TABLE)))
    assert table.transaction_version(HISTORY_APP_ID) == 11
    assert table.schema().to_arrow().names == HISTORY_COLUMNS.names
    data = _history(settings)
    assert data.height == 11 and data["batch_id"].n_unique() == 11
    customers = data.filter(pl.col("table_name") == "customers").row(0, named=True)
    assert str(customers["landed_at"]) == "2026-11-29 10:00:00+00:00"
    assert str(customers["build_started_at"]) == "2026-11-29 10:00:01.500000+00:00"
    assert customers["records"] == 3

    assert publish_history(settings).rows == 0  # again: nothing new, no commit
    assert DeltaTable(str(ops_table_path(settings, HISTORY_TABLE))).version() == 0

    # a build still running is not taken in; once finished, its batches are, once
    running = _build(ledger, f"{BASE}20.000+00:00")
    _batch(ledger, "bat_" + "a" * 32, "orders", f"{BASE}15.000+00:00", f"{BASE}16.000+00:00",
           f"{BASE}21.000+00:00", running)  # fmt: skip
    assert publish_history(settings).rows == 0
    with ledger._connect() as tx:
        tx.execute("update builds set finished_at = ? where build_id = ?", (f"{BASE}22.0", running))
    later = publish_history(settings)
    assert (later.rows, later.version, later.through_build) == (1, 1, running)
    assert _history(settings).height == 12


def test_history_starts_again_for_an_older_ledger(settings: Settings) -> None:
    """A ledger behind the table (restored from an older backup): the table is rewritten from
    it, not left holding builds the ledger never had (their ids would be taken again)."""
    _orders_and_customers(Ledger.of(settings))
    publish_history(settings)
    settings.ledger_file.unlink()
    ledger = Ledger.of(settings)
    build = _build(ledger, f"{BASE}01.000+00:00", f"{BASE}05.000+00:00")
    _batch(ledger, "bat_" + "b" * 32, "orders", f"{BASE}00.000+00:00", f"{BASE}00.500+00:00",
           f"{BASE}04.000+00:00", build)  # fmt: skip
    again = publish_history(settings)
    assert (again.rows, again.through_build) == (1, 1)
    assert _history(settings)["batch_id"].to_list() == ["bat_" + "b" * 32]


def test_history_compacts_itself(settings: Settings) -> None:
    small = settings.model_copy(update={"upkeep_small_files": 3})
    ledger = Ledger.of(small)
    for i in range(4):
        build = _build(ledger, f"{BASE}{i + 1:02d}.000+00:00", f"{BASE}{i + 2:02d}.000+00:00")
        _batch(ledger, f"bat_{i + 100:032x}", "orders", f"{BASE}00.000+00:00",
               f"{BASE}00.500+00:00", f"{BASE}{i + 2:02d}.000+00:00", build)  # fmt: skip
        publish_history(small)
    table = DeltaTable(str(ops_table_path(small, HISTORY_TABLE)))
    assert len(table.file_uris()) < 4  # the third append compacted the first three
    assert _history(small).height == 4
    assert table.transaction_version(HISTORY_APP_ID) == 4
