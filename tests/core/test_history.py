"""The pipeline's history as data: per-table p50/p95 of landed → bronze → published, from the
run ledger's own timestamps."""

from __future__ import annotations

from lakehouse.history import latencies
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings


def _batch(db: Ledger, batch_id: str, table: str, landed: str, loaded: str, published: str) -> None:
    with db._connect() as tx:
        tx.execute(
            "insert into batches (batch_id, table_name, state, created_at, updated_at,"
            " loaded_at, published_at) values (?, ?, 'published', ?, ?, ?, ?)",
            (batch_id, table, landed, published, loaded, published),
        )


def test_p50_and_p95_per_table_and_stage(settings: Settings) -> None:
    ledger = Ledger.of(settings)
    base = "2026-11-29T10:00:"
    # orders: landed → bronze 1..10 s, bronze → published 2 s each
    for i in range(1, 11):
        _batch(
            ledger,
            f"bat_{i:032x}",
            "orders",
            f"{base}00.000+00:00",
            f"{base}{i:02d}.000+00:00",
            f"{base}{i + 2:02d}.000+00:00",
        )
    _batch(
        ledger,
        "bat_" + "f" * 32,
        "customers",
        f"{base}00.000+00:00",
        f"{base}00.500+00:00",
        f"{base}03.500+00:00",
    )
    ledger.accept("bat_" + "e" * 32, "orders", source_file="x.ndjson", records=1, bytes=1)
    rows = {r["table"]: r for r in latencies(settings)}
    assert set(rows) == {"orders", "customers"}  # an accepted batch has no latency yet
    orders = rows["orders"]
    assert orders["batches"] == 10
    assert orders["to_bronze_p50_s"] == 5.5 and orders["to_bronze_p95_s"] == 9.55
    assert orders["to_published_p50_s"] == 2.0 and orders["to_published_p95_s"] == 2.0
    assert orders["total_p50_s"] == 7.5
    assert rows["customers"]["total_p95_s"] == 3.5


def test_no_published_batch_no_rows(settings: Settings) -> None:
    assert latencies(settings) == []


def test_status_shows_the_latencies_in_80_columns(settings: Settings) -> None:
    from lakehouse.status import collect_status, latency_lines

    ledger = Ledger.of(settings)
    table = "t" + "x" * 62
    _batch(
        ledger,
        "bat_" + "1" * 32,
        table,
        "2026-11-29T10:00:00+00:00",
        "2026-11-29T10:00:01+00:00",
        "2026-11-29T10:00:04+00:00",
    )
    status = collect_status(settings)
    assert status["latency"][0]["table"] == table
    lines = latency_lines(status["latency"])
    assert all(len(line) <= 80 for line in lines), lines
    assert any(table in line for line in lines)
    assert any("landed→bronze 1.0/1.0" in line and "total 4.0/4.0" in line for line in lines)
