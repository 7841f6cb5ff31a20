"""Table upkeep: compact small files, checkpoint the log, vacuum, forget old watermarks.

``lakehouse maintain`` does all of it to every table now. The loader does it by itself
(:class:`AutoUpkeep`, called by its builder thread when no build is queued or running, so never
during one), table by table, only what a threshold calls for: a compaction once a table has
``upkeep_small_files`` files under ``upkeep_small_file_bytes``; a checkpoint once
``upkeep_checkpoint_commits`` commits came after the last one; in bronze, a vacuum every
``vacuum_every_hours``, deleting only files unused for ``vacuum_retention_hours``, and
forgetting exactly-once watermarks older than ``txn_retention_days`` (below); in silver and gold,
a vacuum once ``published_versions_kept`` versions came since the last one, keeping the files of
the last ``published_versions_kept`` versions and of every version that was current less than
``published_retention_minutes`` ago (a table rewritten by each small batch would otherwise keep
a copy per batch for the whole retention: disk grew 19 MB per batch at 2M orders).

Safe beside a running loader: compaction only rewrites files (an append never conflicts with
it), a checkpoint keeps the loader's app transactions (its exactly-once watermarks), a bronze
vacuum only deletes files the log stopped referencing longer ago than the table's retention
(Delta's default: 7 days), so a reader of a recent version never loses a file; silver and gold
are written by the builder alone, on the thread that runs this between builds.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, WriterProperties

from lakehouse import delta_stats
from lakehouse.layout import (
    LAYERS,
    Layer,
    is_candidate,
    landing_entries,
    list_tables,
    raw_dir,
    table_path,
)
from lakehouse.progress import WorkProgress
from lakehouse.settings import Settings
from lakehouse.storage import Location, read_bytes
from lakehouse.textout import INDENT, row

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Upkeep:
    layer: Layer
    name: str
    version: int
    files_removed: int
    files_added: int
    vacuumed: int


def maintain_table(settings: Settings, layer: Layer, name: str) -> Upkeep:
    """Compact, checkpoint and vacuum one Delta table."""
    table = DeltaTable(
        str(table_path(settings, layer, name)), storage_options=settings.storage_options or None
    )
    metrics = table.optimize.compact(writer_properties=_writer(table))
    table.update_incremental()
    table.create_checkpoint()
    vacuumed = table.vacuum(dry_run=False)
    table.cleanup_metadata()
    return Upkeep(
        layer=layer,
        name=name,
        version=table.version(),
        files_removed=int(metrics.get("numFilesRemoved", 0)),
        files_added=int(metrics.get("numFilesAdded", 0)),
        vacuumed=len(vacuumed),
    )


def _writer(table: DeltaTable) -> WriterProperties:
    """A compaction's Parquet options: no footer statistics for float columns, whose bounds
    would leave NaN out (:func:`lakehouse.delta_stats.writer_properties`)."""
    return delta_stats.writer_properties(pa.schema(table.schema().to_arrow()))


def table_bytes(settings: Settings, layer: Layer, name: str) -> int:
    """The bytes of a table's current data files (what copying or compacting it takes, about)."""
    import pyarrow as pa

    table = DeltaTable(
        str(table_path(settings, layer, name)), storage_options=settings.storage_options or None
    )
    sizes = pa.table(table.get_add_actions(flatten=True)).column("size_bytes").to_pylist()
    return int(sum(sizes))


def maintain_all(
    settings: Settings,
    *,
    progress: Callable[[Upkeep | None, str, WorkProgress], None] | None = None,
) -> tuple[list[Upkeep], list[tuple[str, str]]]:
    """Every table of every layer; (done, [(table, error)]). ``progress(upkeep or None when it
    failed, "layer/name", tally)`` after each table, which is also logged (``event:
    maintain_progress``)."""
    done: list[Upkeep] = []
    failed: list[tuple[str, str]] = []
    tables = [(layer, name) for layer in LAYERS for name in list_tables(settings, layer)]
    sizes = {t: table_bytes(settings, *t) for t in tables}
    tally = WorkProgress("maintain", "tables", len(tables), sum(sizes.values()))
    for layer, name in tables:
        upkeep: Upkeep | None = None
        try:
            upkeep = maintain_table(settings, layer, name)
            done.append(upkeep)
        except Exception as exc:  # one table's trouble does not stop the others
            log.exception("maintenance of %s/%s failed", layer, name)
            failed.append((f"{layer}/{name}", str(exc)))
        tally.advance(1, sizes[(layer, name)])
        log.info("maintain %s/%s: %s", layer, name, tally.line(), extra=tally.fields())
        if progress is not None:
            progress(upkeep, f"{layer}/{name}", tally)
    return done, failed


def run_maintain(settings: Settings) -> int:
    """``lakehouse maintain``: every table as it is done, one line each (whole names, 80
    columns), then how far the whole is: tables, bytes, rate and time left."""
    print("Maintenance")  # noqa: T201

    def show(u: Upkeep | None, name: str, tally: WorkProgress) -> None:
        if u is None:
            details = "failed (below)"
        else:
            details = (
                f"v{u.version:<5} compacted {u.files_removed} → {u.files_added} files, "
                f"vacuumed {u.vacuumed}"
            )
        for line in row(name, details, name_width=32):
            print(line)  # noqa: T201
        print(f"{INDENT}{INDENT}{tally.line()}", flush=True)  # noqa: T201

    _, failed = maintain_all(settings, progress=show)
    for name, error in failed:
        print(f"failed: {name}: {error}", file=sys.stderr)  # noqa: T201
    return 1 if failed else 0


# -- automatic upkeep ----------------------------------------------------------------------------

#: layers the builder rewrites (each changed model a new version): vacuumed by versions kept
PUBLISHED: frozenset[Layer] = frozenset({"silver", "gold"})
_VACUUM_COMMITS = {"VACUUM START", "VACUUM END"}
#: Delta's table property for expiring app transactions (the loader's watermarks)
TXN_RETENTION = "delta.setTransactionRetentionDuration"
#: what the property is set back to between expiries: nothing expires
TXN_KEEP = "interval 3650000 days"


@dataclass(slots=True)
class UpkeepDone:
    """What one table got in one round (logged as one line)."""

    layer: Layer
    name: str
    version: int = -1
    actions: list[str] = field(default_factory=list)
    files_compacted: int = 0
    files_written: int = 0
    vacuumed: int = 0
    seconds: float = 0.0


def small_files(table: DeltaTable, limit_bytes: int) -> int:
    """Data files of the current version smaller than ``limit_bytes``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sizes = pa.table(table.get_add_actions(flatten=True)).column("size_bytes")
    return int(pc.sum(pc.less(sizes, limit_bytes)).as_py() or 0)


def commits_since_checkpoint(
    path: Location, version: int, options: Mapping[str, str] | None = None
) -> int:
    """Commits after the last checkpoint (all of them when the table has none)."""
    text = read_bytes(path / "_delta_log" / "_last_checkpoint", options or {})
    try:
        last = int(json.loads(text or b"")["version"])
    except (ValueError, KeyError, TypeError):
        last = -1
    return version - last


def files_waiting(settings: Settings, name: str) -> bool:
    """Whether a landing file of table ``name`` waits in the landing zone (loaded or not)."""
    entries = landing_entries(raw_dir(settings, name), work=True)
    return any(is_candidate(Path(entry.path)) for entry in entries)


def _retention(days: float) -> str:
    return f"interval {max(1, round(days * 86400))} seconds"


def expire_watermarks(table: DeltaTable, retention_days: float) -> None:
    """Drop final watermarks (``lastUpdated`` set) older than ``retention_days`` from the log.

    The property is set only for this: a checkpoint written under it leaves the expired app
    transactions out, and the commits before a checkpoint are never read again; then it goes
    back to :data:`TXN_KEEP`. So watermarks are only ever forgotten here, when the caller has
    checked that no file of the table waits in the landing zone, never by a reader's clock
    (a loader stopped for longer than the retention with a loaded file still in its landing
    folder would otherwise load it again).
    """
    table.alter.set_table_properties({TXN_RETENTION: _retention(retention_days)})
    table.update_incremental()
    try:
        table.create_checkpoint()
    finally:
        table.alter.set_table_properties({TXN_RETENTION: TXN_KEEP})
        table.update_incremental()


def versions_to_keep(table: DeltaTable, last: int, min_age_s: float, now: float) -> list[int]:
    """The versions of ``table`` whose files a vacuum keeps: its last ``last`` versions (a
    vacuum's own commits not counted: they change no file), and every version that stopped
    being the current one less than ``min_age_s`` seconds before ``now`` (a reader may be in
    the middle of it)."""
    limit = 64
    while True:
        commits = table.history(limit)  # newest first
        keep: set[int] = set()
        counted = 0
        for commit in commits:
            version = int(commit["version"])
            recent = float(commit.get("timestamp", 0)) / 1000.0 >= now - min_age_s
            if counted >= last and not recent:
                return sorted(keep)
            if counted < last:
                keep.add(version)
                counted += str(commit.get("operation", "")) not in _VACUUM_COMMITS
            if recent and version > 0:
                keep.add(version - 1)  # the current one until ``version`` came, a moment ago
        if len(commits) < limit:
            return sorted(keep)
        limit *= 4


def vacuum_superseded(
    table: DeltaTable, last: int, min_age_s: float, now: float | None = None
) -> list[str]:
    """Delete the files of a published table that only versions older than
    :func:`versions_to_keep` use (and files no version uses); the paths deleted.

    Only for silver and gold, which the builder alone writes, on the thread that runs this
    upkeep between builds: no write is in flight, so no uncommitted file can be taken.
    """
    keep = versions_to_keep(table, last, min_age_s, time.time() if now is None else now)
    return table.vacuum(
        retention_hours=0, enforce_retention_duration=False, dry_run=False, keep_versions=keep
    )


class AutoUpkeep:
    """Upkeep by thresholds, one table at a time, for the loader's idle builder thread."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._vacuumed: dict[str, float] = {}
        #: the version each published table had at its last vacuum (by this process)
        self._vacuumed_at_version: dict[str, int] = {}
        self._expired: dict[str, float] = {}
        self._cursor = 0
        self.rounds = 0

    def run_due(self, should_stop: Callable[[], bool] = lambda: False) -> list[UpkeepDone]:
        """Every table's due upkeep; stops between tables once ``should_stop()`` is true.

        A round that was stopped resumes at the next table the next time, so under steady
        loading every table still gets its turn.
        """
        done: list[UpkeepDone] = []
        self.rounds += 1
        tables = [(layer, name) for layer in LAYERS for name in list_tables(self.settings, layer)]
        start = self._cursor % len(tables) if tables else 0
        tally = WorkProgress("upkeep", "tables", len(tables), 0)
        for layer, name in tables[start:] + tables[:start]:
            if should_stop():
                return done
            self._cursor = (tables.index((layer, name)) + 1) % len(tables)
            try:
                result = self.upkeep_table(layer, name, tally=tally.advance())
            except Exception:  # one table's trouble does not stop the others (or the loader)
                log.exception("upkeep of %s/%s failed", layer, name)
                continue
            if result.actions:
                done.append(result)
        return done

    def upkeep_table(
        self, layer: Layer, name: str, *, tally: WorkProgress | None = None
    ) -> UpkeepDone:
        """One table's due upkeep, logged when it did anything (``tally``: where the round
        is, in the same line: tables done of all, time left at this round's pace)."""
        s = self.settings
        started = time.monotonic()
        key = f"{layer}/{name}"
        path = table_path(s, layer, name)
        table = DeltaTable(str(path), storage_options=s.storage_options or None)
        done = UpkeepDone(layer, name)
        if table.metadata().configuration.get(TXN_RETENTION, TXN_KEEP) != TXN_KEEP:
            # an expiry was interrupted: no reader's clock may expire watermarks meanwhile
            table.alter.set_table_properties({TXN_RETENTION: TXN_KEEP})
            done.actions.append("keep-watermarks")
        if small_files(table, s.upkeep_small_file_bytes) >= s.upkeep_small_files:
            metrics = table.optimize.compact(
                target_size=s.upkeep_small_file_bytes * 4, writer_properties=_writer(table)
            )
            done.files_compacted = int(metrics.get("numFilesRemoved", 0))
            done.files_written = int(metrics.get("numFilesAdded", 0))
            done.actions.append("compact")
        table.update_incremental()
        now = self.clock()
        if (
            layer == "bronze"
            and s.txn_retention_days > 0
            and now - self._expired.get(key, 0.0) >= 86400.0
            and not files_waiting(s, name)
        ):
            expire_watermarks(table, s.txn_retention_days)
            self._expired[key] = now
            done.actions.append("expire-watermarks")
        elif (
            commits_since_checkpoint(path, table.version(), s.storage_options)
            >= s.upkeep_checkpoint_commits
        ):
            table.create_checkpoint()
            done.actions.append("checkpoint")
        if "checkpoint" in done.actions or "expire-watermarks" in done.actions:
            table.cleanup_metadata()
        if layer in PUBLISHED and (
            table.version() - self._vacuumed_at_version.get(key, -1) >= s.published_versions_kept
        ):
            removed = vacuum_superseded(
                table, s.published_versions_kept, s.published_retention_minutes * 60.0, now
            )
            self._vacuumed[key] = now
            self._vacuumed_at_version[key] = table.version()
            done.vacuumed = len(removed)
            done.actions.append("vacuum")
        elif now - self._vacuumed.get(key, 0.0) >= s.vacuum_every_hours * 3600.0:
            # full: also the files no version names (a write that failed after delta-rs wrote
            # part of it commits nothing but leaves them); the retention spares a write in flight
            removed = table.vacuum(
                retention_hours=int(max(1, s.vacuum_retention_hours)),
                enforce_retention_duration=False,
                dry_run=False,
                full=True,
            )
            self._vacuumed[key] = now
            done.vacuumed = len(removed)
            done.actions.append("vacuum")
        done.version = table.version()
        done.seconds = round(time.monotonic() - started, 3)
        if done.actions:
            where = {}
            if tally is not None:
                tally.elapsed = time.monotonic() - tally.started
                where = {
                    "tables_done": tally.items,
                    "tables_total": tally.total_items,
                    "eta_s": tally.fields()["eta_s"],
                }
            log.info(
                "upkeep %s: %s%s",
                key,
                ", ".join(done.actions),
                f" ({tally.line()})" if tally is not None else "",
                extra={
                    **where,
                    "event": "upkeep",
                    "table": key,
                    "version": done.version,
                    "actions": done.actions,
                    "files_compacted": done.files_compacted,
                    "files_written": done.files_written,
                    "vacuumed": done.vacuumed,
                    "duration_s": done.seconds,
                },
            )
        return done
