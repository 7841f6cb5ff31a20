"""How many times a publish runs a model's query: a view is its query, so each pass over it runs
the query again (transform.publish.Publisher._overwrite)."""

from __future__ import annotations

from pathlib import Path

import duckdb
from deltalake import DeltaTable

from lakehouse import Settings
from lakehouse.storage import arrow_dataset
from transform.publish import ModelSpec, Publisher


def test_a_big_view_is_not_counted_before_its_rows_are_hashed(tmp_path: Path) -> None:
    """Whether a rewrite keeps shadow rows depends on the model's row count; for a view that
    count runs its query, so the fingerprint's pass over the rows gives it: a big view of one
    integer key and ``_ingested_at`` is run by the fingerprint, the time-bounds check, the
    write and the newest ``_ingested_at`` (4 passes; 5 when it was counted first)."""
    rows = 300
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    conn.execute("create sequence seen")  # counts the rows the view's query reads
    conn.execute(
        "create table main.base as select i::bigint as k, i * 2 as v,"
        " timestamptz '2026-01-01 00:00:00+00' as _ingested_at from range(?) r(i)",
        [rows],
    )
    conn.execute(
        "create view main.orders_view as select * from main.base where nextval('seen') > 0"
    )
    settings = Settings(root=tmp_path)
    model = ModelSpec(
        unique_id="model.lakehouse.orders_view",
        name="orders_view",
        relation="main.orders_view",
        layer="silver",
        unique_key=("k",),
    )
    published = Publisher(settings, conn, diff_ranges_from=100).publish(model)
    assert published.mode == "overwrite" and published.rows == rows
    [(calls,)] = conn.sql("select currval('seen')").fetchall()
    assert calls <= 4 * rows, calls / rows
    # the view kept no shadow rows (its count decided it), and every row is published
    state = conn.sql("select lazy, rows from _lakehouse_publish.silver__orders_view__state")
    assert state.fetchall() == [(True, rows)]
    table = DeltaTable(str(settings.dados / "silver" / "orders_view"))
    assert arrow_dataset(table).count_rows() == rows
    conn.close()


def test_a_small_view_keeps_its_shadow_rows(tmp_path: Path) -> None:
    """Under ``diff_ranges_from`` rows the same view keeps its shadow, as before."""
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    conn.execute(
        "create table main.base as select i::bigint as k, i * 2 as v,"
        " timestamptz '2026-01-01 00:00:00+00' as _ingested_at from range(50) r(i)"
    )
    conn.execute("create view main.small_view as select * from main.base")
    settings = Settings(root=tmp_path)
    model = ModelSpec(
        unique_id="model.lakehouse.small_view",
        name="small_view",
        relation="main.small_view",
        layer="silver",
        unique_key=("k",),
    )
    assert Publisher(settings, conn, diff_ranges_from=100).publish(model).rows == 50
    state = conn.sql("select lazy from _lakehouse_publish.silver__small_view__state")
    assert state.fetchall() == [(False,)]
    assert conn.sql("select count(*) from _lakehouse_publish.silver__small_view").fetchall() == [
        (50,)
    ]
    conn.close()
