"""Prometheus metrics of the pipeline: the loader, the builder and upkeep (the API has its own).

One registry per process that runs a loader, served on ``loader_metrics_host:loader_metrics_port``
(``/metrics``; port 0: not served). Counters and histograms are fed by the composer as events
happen (load events, build results, upkeep rounds); gauges that describe the lakehouse's state
(backlog and lag, batches by state, table versions) are read when Prometheus scrapes, from the
same places ``lakehouse status`` reads: the heartbeat, the landing zone, the ledger, the Delta
logs. Table names are labels here: they are the lakehouse's own tables, not client input.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from lakehouse.catalog import open_table
from lakehouse.events import LoadEvent
from lakehouse.heartbeat import read_heartbeat
from lakehouse.layout import LAYERS, is_candidate, landing_entries, list_tables, table_path
from lakehouse.ledger import Ledger
from lakehouse.maintenance import UpkeepDone
from lakehouse.settings import Settings

log = logging.getLogger(__name__)

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)


class PipelineMetrics:
    """The loader's, builder's and upkeep's metrics in their own registry."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self._server: Any = None
        r = self.registry
        self.commits = Counter(
            "lakehouse_loader_commits", "Bronze commits, by table.", ["table"], registry=r
        )
        self.files = Counter(
            "lakehouse_loader_batches",
            "Landing files (batches) committed to bronze, by table.",
            ["table"],
            registry=r,
        )
        self.rows = Counter(
            "lakehouse_loader_rows", "Rows committed to bronze, by table.", ["table"], registry=r
        )
        self.builds = Counter(
            "lakehouse_builds", "dbt builds, by outcome.", ["outcome"], registry=r
        )
        self.build_seconds = Histogram(
            "lakehouse_build_seconds",
            "Duration of a build (dbt and publish).",
            buckets=_SECONDS,
            registry=r,
        )
        self.dbt_seconds = Histogram(
            "lakehouse_build_dbt_seconds", "dbt's part of a build.", buckets=_SECONDS, registry=r
        )
        self.publish_seconds = Histogram(
            "lakehouse_publish_seconds",
            "Publishing silver and gold after dbt (models published beside dbt count in its part).",
            buckets=_SECONDS,
            registry=r,
        )
        self.published = Counter(
            "lakehouse_published_tables",
            "Tables published (a new version), by table.",
            ["table"],
            registry=r,
        )
        self.upkeep = Counter(
            "lakehouse_upkeep_actions",
            "Upkeep actions (compact, checkpoint, vacuum, expire-watermarks), by action.",
            ["action"],
            registry=r,
        )
        self.upkeep_seconds = Histogram(
            "lakehouse_upkeep_seconds", "Upkeep of one table.", buckets=_SECONDS, registry=r
        )
        self.vacuumed = Counter(
            "lakehouse_upkeep_vacuumed_files", "Files deleted by vacuum.", registry=r
        )
        r.register(_StateCollector(settings))

    # -- events -------------------------------------------------------------------------------

    def loaded(self, event: LoadEvent) -> None:
        self.commits.labels(event.table).inc()
        self.files.labels(event.table).inc(len(event.batch_ids))
        self.rows.labels(event.table).inc(event.rows)

    def built(
        self,
        *,
        success: bool,
        seconds: float,
        dbt_seconds: float,
        publish_seconds: float,
        published: Mapping[str, int],
        unchanged: Iterable[str] = (),
    ) -> None:
        self.builds.labels("succeeded" if success else "failed").inc()
        self.build_seconds.observe(seconds)
        self.dbt_seconds.observe(dbt_seconds)
        self.publish_seconds.observe(publish_seconds)
        same = set(unchanged)
        for table in published:
            if table not in same:
                self.published.labels(table).inc()

    def upkept(self, done: Iterable[UpkeepDone]) -> None:
        for table in done:
            for action in table.actions:
                self.upkeep.labels(action).inc()
            self.upkeep_seconds.observe(table.seconds)
            self.vacuumed.inc(table.vacuumed)

    # -- serving ------------------------------------------------------------------------------

    def serve(self) -> int | None:
        """Serve ``/metrics`` on the configured address; the port, or None when not served."""
        s = self.settings
        if s.loader_metrics_port == 0:
            return None
        try:
            server, _ = start_http_server(
                s.loader_metrics_port, addr=s.loader_metrics_host, registry=self.registry
            )
        except OSError as exc:  # the pipeline runs without its metrics rather than not at all
            log.warning(
                "pipeline metrics not served on %s:%s: %s",
                s.loader_metrics_host,
                s.loader_metrics_port,
                exc.strerror or exc,
            )
            return None
        self._server = server
        port = int(server.server_address[1])
        log.info("pipeline metrics on http://%s:%d/metrics", s.loader_metrics_host, port)
        return port

    def close(self) -> None:
        """Stop serving (the port is free again)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _StateCollector(Collector):
    """Gauges read at scrape time: backlog and lag, batches by state, table versions."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s = self.settings
        beat = read_heartbeat(s)
        yield _gauge(
            "lakehouse_loader_backlog_files",
            "Landing files not loaded yet (the loader's heartbeat).",
            beat.pending_files if beat else float("nan"),
        )
        yield _gauge(
            "lakehouse_loader_backlog_bytes",
            "Bytes of landing files not loaded yet.",
            beat.pending_bytes if beat else float("nan"),
        )
        yield _gauge(
            "lakehouse_loader_heartbeat_age_seconds",
            "Age of the loader's heartbeat.",
            beat.age() if beat else float("nan"),
        )
        yield _gauge(
            "lakehouse_loader_lag_seconds",
            "Age of the oldest landing file waiting to be loaded (0: none waits).",
            _oldest_waiting_s(s),
        )
        batches = GaugeMetricFamily(
            "lakehouse_batches", "Batches in the run ledger, by state.", labels=["state"]
        )
        per_table: dict[str, tuple[int, int, int]] = {}
        try:
            if s.database_target is not None or s.ledger_file.exists():
                ledger = Ledger.of(s)
                counts = ledger.count_by_state()
                per_table = ledger.counts_by_table()
            else:
                counts = {}
        except Exception:  # a scrape never fails on a busy or missing ledger
            counts = {}
        for state in ("accepted", "loaded", "published", "quarantined", "failed"):
            batches.add_metric([state], counts.get(state, 0))
        yield batches
        families = [
            GaugeMetricFamily(
                "lakehouse_quarantined_batches",
                "Batches quarantined (in the run ledger), by table.",
                labels=["table"],
            ),
            GaugeMetricFamily(
                "lakehouse_rescued_batches",
                "Batches with values kept in _rescued_data (in the run ledger), by table.",
                labels=["table"],
            ),
            GaugeMetricFamily(
                "lakehouse_rescued_values",
                "Values that did not fit their column, kept in _rescued_data, by table.",
                labels=["table"],
            ),
        ]
        for table, figures in sorted(per_table.items()):
            for family, value in zip(families, figures, strict=True):
                family.add_metric([table], value)
        yield from families
        versions = GaugeMetricFamily(
            "lakehouse_table_version", "Delta version of each table.", labels=["layer", "table"]
        )
        for layer in LAYERS:
            for name in list_tables(s, layer):
                location = table_path(s, layer, name)
                try:
                    version = (
                        _log_version(location)
                        if isinstance(location, Path)
                        else open_table(s, layer, name).version()
                    )
                except Exception:  # a table being written or removed: the next scrape
                    version = None
                if version is not None:
                    versions.add_metric([layer, name], version)
        yield versions


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _oldest_waiting_s(settings: Settings) -> float:
    oldest: float | None = None
    try:
        tables = list(os.scandir(settings.raw_dir))
    except FileNotFoundError:
        return 0.0
    for folder in tables:
        if not folder.is_dir():
            continue
        for entry in landing_entries(Path(folder.path)):
            if is_candidate(Path(entry.path)):
                try:
                    mtime = entry.stat().st_mtime
                except FileNotFoundError:  # taken meanwhile
                    continue
                oldest = mtime if oldest is None else min(oldest, mtime)
    return 0.0 if oldest is None else max(0.0, time.time() - oldest)


def _log_version(path: Path) -> int | None:
    """The newest commit in a table's log, from the file names (no Delta snapshot load)."""
    newest: int | None = None
    try:
        entries = os.scandir(path / "_delta_log")
    except FileNotFoundError:
        return None
    with entries:
        for entry in entries:
            name = entry.name
            if name.endswith(".json") and name[:20].isdigit() and len(name) == 25:
                version = int(name[:20])
                newest = version if newest is None else max(newest, version)
    if newest is None:  # the log was cleaned up to a checkpoint: no later commit yet
        try:
            newest = int(
                json.loads((path / "_delta_log" / "_last_checkpoint").read_text())["version"]
            )
        except (FileNotFoundError, ValueError, KeyError):
            return None
    return newest
