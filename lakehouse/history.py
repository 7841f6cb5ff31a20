"""The pipeline's own history as data: how long batches take from landing to gold, per table.

The run ledger records, per batch, when it was accepted (``created_at``: the file landed), when
its rows were committed to bronze (``loaded_at``) and when a build published what it feeds
(``published_at``). :data:`LATENCY_SQL` is the model over those rows (DuckDB SQL): per table,
the p50 and p95 of each stage, over the latest published batches. ``lakehouse status`` shows it.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lakehouse import duckdb_config
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings

#: published batches the latencies are computed over (the newest)
RECENT = 1000

LATENCY_SQL = """
with stages as (
    select
        table_name,
        epoch(cast(loaded_at as timestamptz) - cast(created_at as timestamptz)) as to_bronze_s,
        epoch(cast(published_at as timestamptz) - cast(loaded_at as timestamptz))
            as to_published_s,
        epoch(cast(published_at as timestamptz) - cast(created_at as timestamptz)) as total_s
    from batches
    where published_at is not null and loaded_at is not null
)
select
    table_name as "table",
    count(*) as batches,
    quantile_cont(to_bronze_s, 0.5) as to_bronze_p50_s,
    quantile_cont(to_bronze_s, 0.95) as to_bronze_p95_s,
    quantile_cont(to_published_s, 0.5) as to_published_p50_s,
    quantile_cont(to_published_s, 0.95) as to_published_p95_s,
    quantile_cont(total_s, 0.5) as total_p50_s,
    quantile_cont(total_s, 0.95) as total_p95_s
from stages
group by table_name
order by table_name
"""


def latencies(settings: Settings, *, recent: int = RECENT) -> list[dict[str, Any]]:
    """Per table: batches counted and the p50/p95 seconds of landed → bronze, bronze →
    published and landed → published, over the newest ``recent`` published batches."""
    rows = [b.as_dict() for b in Ledger.of(settings).batches(states=["published"], limit=recent)]
    columns = ("table", "created_at", "loaded_at", "published_at")
    batches = pa.table(
        {
            "table_name": pa.array([r["table"] for r in rows], pa.string()),
            **{c: pa.array([r[c] for r in rows], pa.string()) for c in columns[1:]},
        }
    )
    db = duckdb_config.connect(settings, "history")
    try:
        db.register("batches", batches)
        cursor = db.execute(LATENCY_SQL)
        names = [d[0] for d in cursor.description or []]
        found = cursor.fetchall()
    finally:
        db.close()
    return [
        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in zip(names, row, strict=True)}
        for row in found
    ]
