"""``lakehouse loader`` and ``lakehouse load``: the loader, its load events wired to the builder.

The loader emits a :class:`~lakehouse.events.LoadEvent` after each bronze commit; here each is
handed to the builder (``Builder.submit``), which coalesces them into dbt builds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from app.control import serve_control
from lakehouse import (
    AutoUpkeep,
    LakehouseError,
    LoadEvent,
    LoadEventHandler,
    Settings,
    stop_on_signals,
)
from lakehouse.metrics import PipelineMetrics
from lakehouse.signals import FolderGuard
from loader import Loader, LoaderBusyError, LoadSummary
from loader.progress import FileProgress, describe
from transform import Builder, RunLog

__all__ = ["print_run", "print_summary", "run_load", "run_loader", "run_replay"]

log = logging.getLogger(__name__)

#: How long ``lakehouse load`` waits for the builds its loads triggered.
BUILD_WAIT_S = 3600.0


@contextmanager
def _builder(
    settings: Settings, build: bool, *, metrics: PipelineMetrics | None = None
) -> Iterator[Builder | None]:
    """The running dbt builder when ``build``, else None (loading only).

    With ``metrics`` (the long-running loader), the builder also keeps the tables up between
    builds (lakehouse.maintenance) and reports builds and upkeep to the metrics.
    """
    if not build:
        yield None
        return
    between = None
    on_result = None
    if metrics is not None:
        if settings.upkeep:
            upkeep = AutoUpkeep(settings)
            between = lambda should_stop: metrics.upkept(upkeep.run_due(should_stop))  # noqa: E731
        on_result = lambda r: metrics.built(  # noqa: E731
            success=r.success,
            seconds=r.seconds,
            dbt_seconds=r.dbt_seconds,
            publish_seconds=r.publish_seconds,
            published=r.published,
            unchanged=r.unchanged,
        )
    builder = Builder(
        settings,
        between_builds=between,
        between_every_s=settings.upkeep_interval_s,
        on_result=on_result,
        # the long-running loader keeps the pipeline's history up by itself; `lakehouse load`
        # refreshes it once, at the end (history_now)
        history_every_s=settings.history_interval_s if metrics is not None else None,
    )
    builder.start()
    try:
        yield builder
    finally:
        builder.stop()


def _handler(
    builder: Builder | None, metrics: PipelineMetrics | None = None
) -> LoadEventHandler | None:
    """What a load event goes to: a log line, the metrics, the builder."""
    if metrics is None:
        return None if builder is None else builder.submit

    def on_event(event: LoadEvent) -> None:
        log.info(
            "loaded %d batch(es), %d rows into bronze %s v%d",
            len(event.batch_ids),
            event.rows,
            event.table,
            event.version,
            extra={
                "event": "load",
                "table": event.table,
                "version": event.version,
                "batch_ids": list(event.batch_ids),
                "rows": event.rows,
            },
        )
        metrics.loaded(event)
        if builder is not None:
            builder.submit(event)

    return on_event


def print_summary(summary: LoadSummary, console: Console) -> None:
    console.print(
        f"loaded {len(summary.loaded)} file(s), {summary.rows} rows, in "
        f"{len(summary.events)} commit(s); {len(summary.skipped)} already in bronze; "
        f"{len(summary.quarantined)} quarantined"
    )
    for aside in summary.set_aside:
        console.print(f"set aside {aside.table}/{aside.file}: {aside.reason}", markup=False)
    resumed = [f for f in summary.loaded if f.resumed_at]
    if resumed:
        console.print(
            f"{len(resumed)} file(s) resumed: their first "
            f"{sum(f.resumed_at for f in resumed)} rows were in bronze before this run"
        )
    if summary.quarantined:
        table = Table(title="Quarantined files")
        for column in ("table", "file", "why", "line", "column", "moved to"):
            table.add_column(column, overflow="fold")
        for q in summary.quarantined:
            table.add_row(
                q.table,
                q.file,
                q.reason,
                "" if q.line is None else str(q.line),
                q.column or "",
                q.moved_to,
            )
        console.print(table)
    for problem in summary.problems:
        console.print(f"error: {problem}", markup=False, soft_wrap=True)
    if summary.held:
        tables = sorted({h.table for h in summary.held})
        console.print(
            f"{len(summary.held)} file(s) held in the landing zone ({', '.join(tables)}), "
            f"neither loaded nor quarantined: {summary.held[0].reason}",
            markup=False,
        )


def run_load(settings: Settings, *, build: bool = True) -> int:
    """``lakehouse load``: load (or quarantine) every landing file now, build, exit.

    0 when every file was loaded or quarantined and, with ``build``, the last build (after its
    retries) built, tested and published; 1 when the loader could not do its job (files held:
    the contracts do not parse, or a table could not be loaded into; or the landing bucket
    could not be listed) or that build failed (its
    error is printed; the ledger has it too).
    """
    console = Console()
    errors = Console(stderr=True)
    with _builder(settings, build) as builder:
        try:
            loader = Loader(settings, on_event=_handler(builder))
            with live_progress(console) as loader.on_progress:
                summary = loader.load_pending()
        except LoaderBusyError as exc:
            errors.print(f"[red]error:[/red] {exc}")
            errors.print(
                "`lakehouse up` or `lakehouse loader` loads and builds what lands by itself: "
                "follow it with `lakehouse status`; `lakehouse build`, `lakehouse retry` and "
                "`lakehouse docs` run in it while it runs."
            )
            return 1
        print_summary(summary, console)
        if builder is None:
            return 1 if summary.held or summary.problems else 0
        owed = builder.ledger.tables_in_state("loaded", "failed")
        for table, batch_ids in owed.items():  # loaded earlier, never published: build them too
            builder.submit(LoadEvent(table, -1, tuple(batch_ids)))
        if not summary.events and not owed:
            return 1 if summary.held or summary.problems else 0
        if not builder.wait_idle(BUILD_WAIT_S):
            errors.print("[red]error:[/red] builds did not finish in time")
            return 1
        result = builder.last_result
        if result is not None and result.success:
            builder.history_now(BUILD_WAIT_S)  # the pipeline's history, and what reads it
        print_run(builder.run, console)
        if result is None or not result.success:
            why = "no build ran" if result is None else result.error or "unknown error"
            errors.print(f"[red]error:[/red] build failed: {escape(why)}", soft_wrap=True)
            return 1
    return 1 if summary.held or summary.problems else 0


class _NoProgressLines(logging.Filter):
    """Drops the loader's per-piece lines while a progress bar shows the same figures."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "event", None) != "load_progress"


@contextmanager
def live_progress(console: Console) -> Iterator[Callable[[FileProgress], None] | None]:
    """On a terminal, a bar per big file (rows, bytes, rate, time left) in place of the
    loader's line per piece; elsewhere (a pipe, a log file) None: those lines stay."""
    if not console.is_terminal:
        yield None
        return
    quiet = _NoProgressLines()
    handlers = logging.getLogger().handlers
    for handler in handlers:
        handler.addFilter(quiet)
    bars = Progress(TextColumn("{task.description}"), BarColumn(), console=console)
    tasks: dict[tuple[str, str], TaskID] = {}

    def show(p: FileProgress) -> None:
        key = (p.table, p.file)
        if key not in tasks:
            tasks[key] = bars.add_task(describe(p), total=p.expected)
        bars.update(tasks[key], description=describe(p), total=p.expected, completed=p.rows)

    try:
        with bars:
            yield show
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


def print_run(run: RunLog, console: Console) -> None:
    """Every table the builds of this run published, and the models they did not."""
    if not run.builds:
        return
    names = [
        f"{target} v{version}" + (" (unchanged)" if target in run.unchanged else "")
        for target, version in sorted(run.published.items())
    ]
    console.print(
        f"{run.builds} build(s); published: {', '.join(names) or 'nothing'}", soft_wrap=True
    )
    if run.unfed:
        console.print(f"built with no source feeding them: {', '.join(sorted(run.unfed))}")
    for unique_id, why in sorted(run.kept.items()):
        console.print(f"not published (by rule): {unique_id}: {escape(why)}", soft_wrap=True)
    for unique_id, why in sorted(run.not_published.items()):
        console.print(f"[yellow]not published[/yellow] {unique_id}: {escape(why)}", soft_wrap=True)


def run_loader(settings: Settings, *, build: bool = True) -> int:
    """``lakehouse loader``: watch the landing zone and load until SIGINT/SIGTERM, or until
    its folders are removed under it (then a LakehouseError says which)."""
    metrics = PipelineMetrics(settings)
    metrics.serve()
    folders = [settings.meta_dir, settings.landing_zone]
    if isinstance(settings.dados, Path):
        folders.append(settings.dados)
    try:
        with (
            stop_on_signals("the loader") as stop,
            FolderGuard(folders, stop, every_s=0.5) as guard,
            _builder(settings, build, metrics=metrics) as builder,
        ):
            log.info("loader watching %s", settings.raw_dir)
            loader = Loader(settings, on_event=_handler(builder, metrics))
            if builder is None:
                loader.run(stop)
            else:
                builder.busy = loader.holds_files  # files in the loader's hands build with them
                with serve_control(settings, builder):  # lakehouse build|retry|docs|status
                    loader.run(stop)
    finally:
        metrics.close()
    if guard.gone is not None:
        raise LakehouseError(
            f"{guard.gone} was removed while the lakehouse ran: it stopped. Put it back "
            "(`lakehouse restore` from a backup) or start again on an empty folder."
        )
    return 0


def run_replay(settings: Settings, what: str) -> int:
    """``lakehouse replay``: quarantined files back into the landing zone, their reasons kept."""
    from app.control import Control
    from lakehouse import Ledger
    from loader import replay

    console = Console()
    try:
        replayed = replay(settings, what)
    except FileNotFoundError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        return 1
    ledger = Ledger.of(settings)
    for r in replayed:
        if r.batch_id is not None:
            ledger.mark_replayed(r.batch_id)
        kept = f"; its last error kept in {r.history}" if r.history else ""
        console.print(f"{r.table}/{r.file} → {r.moved_to}{kept}", soft_wrap=True)
    if Control.find(settings) is not None:
        console.print("the running service loads them now: follow with `lakehouse status`")
    else:
        console.print("run `lakehouse load` to load them (or start `lakehouse up`)")
    return 0
