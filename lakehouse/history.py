"""The pipeline's own history as data: how long batches take from landing to gold, per table.

The run ledger records, per batch, when it landed (``created_at``), when its rows were committed
to bronze (``loaded_at``), which build published it and when (``build_id``, ``published_at``),
and, per build, when it started. :func:`publish_history` appends every batch a finished build
published to the Delta table ``dados/ops/batches`` (:data:`HISTORY_COLUMNS`), exactly once: the
table's app transaction ``lakehouse-history`` holds the last build it took in. The builder calls
it between builds; a dbt project reads the table as a source whose ``meta`` says ``folder:
ops`` (served by the ``lakehouse_bronze`` plugin), and the sample project's model
``pipeline_latency`` (published as ``gold/pipeline_latency``) computes per table the p50/p95 of
each stage: landed → bronze, bronze → the build that published it started, that build's start →
published, and the whole way.

``lakehouse status`` shows that model's output when the project has it (:func:`latencies`);
for a project without it, the same figures computed here from the ledger (:data:`LATENCY_SQL`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from lakehouse import duckdb_config
from lakehouse.layout import Layer, check_table_name, table_exists, table_path
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings
from lakehouse.storage import Location, has_delta_log

log = logging.getLogger(__name__)

#: the folder under ``dados/`` of the pipeline's own tables (not a layer: no API, no backup)
OPS_FOLDER = "ops"
#: the table :func:`publish_history` writes, ``dados/ops/batches``
HISTORY_TABLE = "batches"
#: the app transaction of the history table: its version is the last build taken in
HISTORY_APP_ID = "lakehouse-history"
#: the published model ``lakehouse status`` reads, when a project has it
LATENCY_MODEL: tuple[Layer, str] = ("gold", "pipeline_latency")
#: published batches per table the latencies are computed over (the newest)
RECENT = 1000
#: published batches (of all tables, the newest) the ledger fallback computes them over
FALLBACK_NEWEST = 10 * RECENT
#: the stages, in order: (column prefix, what it measures)
STAGES = (
    ("to_bronze", "landed → committed to bronze"),
    ("queued", "in bronze → the build that published it started"),
    ("building", "that build started → published"),
    ("total", "landed → published"),
)

_TS = pa.timestamp("us", tz="UTC")
#: the history table's columns: one row per published batch
HISTORY_COLUMNS = pa.schema(
    [
        ("batch_id", pa.string()),
        ("table_name", pa.string()),
        ("records", pa.int64()),
        ("bytes", pa.int64()),
        ("bronze_version", pa.int64()),
        ("build_id", pa.int64()),
        ("rescued", pa.int64()),
        ("landed_at", _TS),
        ("loaded_at", _TS),
        ("build_started_at", _TS),
        ("build_finished_at", _TS),
        ("published_at", _TS),
    ]
)
_FROM_LEDGER = {
    "landed_at": "created_at",
    "build_started_at": "started_at",
    "build_finished_at": "finished_at",
}

#: Per table, p50 and p95 seconds of each stage over its newest :data:`RECENT` published
#: batches, from a relation ``batches`` with :data:`HISTORY_COLUMNS`. The sample project's
#: ``pipeline_latency`` model is the same query over its ``lakehouse.batches`` source.
LATENCY_SQL = f"""
with recent as (
    select *
    from batches
    where published_at is not null and loaded_at is not null
    qualify row_number() over (partition by table_name order by published_at desc) <= {RECENT}
),
stages as (
    select
        table_name,
        epoch(loaded_at - landed_at) as to_bronze_s,
        epoch(build_started_at - loaded_at) as queued_s,
        epoch(published_at - build_started_at) as building_s,
        epoch(published_at - landed_at) as total_s
    from recent
)
select
    table_name,
    count(*) as batches,
    {
    ", ".join(
        f"quantile_cont({stage}_s, {q}) as {stage}_p{round(q * 100)}_s"
        for stage, _ in STAGES
        for q in (0.5, 0.95)
    )
}
from stages
group by table_name
order by table_name
"""
#: the columns a latency row has (the model's output must have them all to be shown)
LATENCY_COLUMNS = (
    "table_name",
    "batches",
    *(f"{stage}_p{p}_s" for stage, _ in STAGES for p in (50, 95)),
)


@dataclass(frozen=True, slots=True)
class HistoryPublished:
    """What one :func:`publish_history` did: rows appended, the table's version, the last
    build taken in (``rows == 0``: nothing new, nothing written)."""

    rows: int
    version: int | None
    through_build: int
    seconds: float


def ops_table_path(settings: Settings, name: str) -> Location:
    """``dados/ops/<name>``: a table of the pipeline's own history."""
    return settings.dados / OPS_FOLDER / check_table_name(name)


def publish_history(settings: Settings) -> HistoryPublished:
    """Append the batches published by builds finished since the last call to
    ``dados/ops/batches`` (one commit, exactly once); compact the table when its small files
    reach ``upkeep_small_files``.

    A ledger whose newest finished build is older than what the table took in (a ledger
    restored from a backup older than the table, a new ledger) makes it start again: the table
    is rewritten from the whole ledger.
    """
    from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

    started = time.monotonic()
    ledger = Ledger.of(settings)
    path = ops_table_path(settings, HISTORY_TABLE)
    options = settings.storage_options or None
    table = (
        DeltaTable(str(path), storage_options=options)
        if has_delta_log(path, settings.storage_options)
        else None
    )
    through = (table.transaction_version(HISTORY_APP_ID) or 0) if table is not None else 0
    last = ledger.last_finished_build()
    overwrite = False
    if through > last:
        log.warning(
            "pipeline history: it took in builds up to %d, the ledger has %d: rewritten",
            through,
            last,
        )
        through, overwrite = 0, True
    rows = ledger.published_history(through)
    if not rows and not overwrite:
        return HistoryPublished(0, table.version() if table else None, through, 0.0)
    data = _history_rows(rows)
    new_through = max([through, *(int(r["build_id"]) for r in rows)])
    commit = CommitProperties(app_transactions=[Transaction(HISTORY_APP_ID, new_through)])
    if overwrite:
        write_deltalake(
            str(path), data, mode="overwrite", storage_options=options, commit_properties=commit
        )
    else:
        write_deltalake(
            str(path), data, mode="append", storage_options=options, commit_properties=commit
        )
    table = DeltaTable(str(path), storage_options=options)
    _keep_small(settings, table)
    done = HistoryPublished(
        data.num_rows, table.version(), new_through, round(time.monotonic() - started, 3)
    )
    log.info(
        "pipeline history: %d batch(es) of builds up to %d into ops/%s v%s",
        done.rows,
        done.through_build,
        HISTORY_TABLE,
        done.version,
        extra={
            "event": "history",
            "rows": done.rows,
            "version": done.version,
            "through_build": done.through_build,
            "duration_s": done.seconds,
        },
    )
    return done


def _history_rows(rows: list[dict[str, Any]]) -> pa.Table:
    columns: dict[str, list[Any]] = {field.name: [] for field in HISTORY_COLUMNS}
    for r in rows:
        for field in HISTORY_COLUMNS:
            value = r[_FROM_LEDGER.get(field.name, field.name)]
            if field.type == _TS and value is not None:
                value = datetime.fromisoformat(value)
            columns[field.name].append(value)
    return pa.table(columns, schema=HISTORY_COLUMNS)


def _keep_small(settings: Settings, table: Any) -> None:
    """The history table gets one small commit per refresh: compacted and checkpointed here,
    since upkeep looks after the layers' tables only."""
    from lakehouse.maintenance import small_files

    if small_files(table, settings.upkeep_small_file_bytes) >= settings.upkeep_small_files:
        table.optimize.compact(target_size=settings.upkeep_small_file_bytes * 4)
        table.update_incremental()
        table.create_checkpoint()
        table.cleanup_metadata()
        table.vacuum(
            retention_hours=int(max(1, settings.vacuum_retention_hours)),
            enforce_retention_duration=False,
            dry_run=False,
        )


def latencies(settings: Settings) -> tuple[list[dict[str, Any]], str]:
    """Per table: batches counted and the p50/p95 seconds of each stage (:data:`STAGES`), and
    where they come from: the published model ``gold/pipeline_latency`` when it is there with
    the expected columns (``"gold/pipeline_latency v<N>"``), else computed now from the run
    ledger (``"run ledger"``)."""
    layer, name = LATENCY_MODEL
    if table_exists(settings, layer, name):
        try:
            rows, version = _read_model(settings)
        except _NotTheModel as exc:
            log.info(
                "%s/%s is not the latency model (%s): figures from the ledger", layer, name, exc
            )
        else:
            return rows, f"{layer}/{name} v{version}"
    return _from_ledger(settings), "run ledger"


class _NotTheModel(Exception):
    pass


def _read_model(settings: Settings) -> tuple[list[dict[str, Any]], int]:
    from deltalake import DeltaTable

    from lakehouse.frames import scan_table

    layer, name = LATENCY_MODEL
    table = DeltaTable(
        str(table_path(settings, layer, name)), storage_options=settings.storage_options or None
    )
    version = table.version()
    missing = set(LATENCY_COLUMNS) - set(table.schema().to_arrow().names)
    if missing:
        raise _NotTheModel(f"no column {', '.join(sorted(missing))}")
    frame = scan_table(layer, name, version=version, settings=settings)
    rows = frame.select(list(LATENCY_COLUMNS)).collect().to_dicts()
    return _rounded(sorted(rows, key=lambda r: str(r["table_name"]))), version


def _from_ledger(settings: Settings) -> list[dict[str, Any]]:
    rows = Ledger.of(settings).published_history(0, newest=FALLBACK_NEWEST)
    db = duckdb_config.connect(settings, "history")
    try:
        db.register("batches", _history_rows(rows))
        cursor = db.execute(LATENCY_SQL)
        names = [d[0] for d in cursor.description or []]
        found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        db.close()
    return _rounded(found)


def _rounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as ``lakehouse status`` shows them: ``table``, seconds to the millisecond."""
    return [
        {
            ("table" if k == "table_name" else k): (round(v, 3) if isinstance(v, float) else v)
            for k, v in r.items()
        }
        for r in rows
    ]
