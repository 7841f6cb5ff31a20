"""Table upkeep (``lakehouse maintain``): compact small files, checkpoint the log, vacuum.

Safe beside a running loader: compaction only rewrites files (an append never conflicts with
it), a checkpoint keeps the loader's app transactions (its exactly-once watermarks), and vacuum
only deletes files the log stopped referencing longer ago than the table's retention (Delta's
default: 7 days), so a reader of a recent version never loses a file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from deltalake import DeltaTable
from rich.console import Console
from rich.table import Table

from lakehouse.layout import LAYERS, Layer, list_tables, table_path
from lakehouse.settings import Settings

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
    metrics = table.optimize.compact()
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


def maintain_all(settings: Settings) -> tuple[list[Upkeep], list[tuple[str, str]]]:
    """Every table of every layer; (done, [(table, error)])."""
    done: list[Upkeep] = []
    failed: list[tuple[str, str]] = []
    for layer in LAYERS:
        for name in list_tables(settings, layer):
            try:
                done.append(maintain_table(settings, layer, name))
            except Exception as exc:  # one table's trouble does not stop the others
                log.exception("maintenance of %s/%s failed", layer, name)
                failed.append((f"{layer}/{name}", str(exc)))
    return done, failed


def run_maintain(settings: Settings) -> int:
    done, failed = maintain_all(settings)
    console = Console()
    report = Table(title="Maintenance")
    for column in ("table", "version", "files compacted", "files written", "files vacuumed"):
        report.add_column(column)
    for u in done:
        report.add_row(
            f"{u.layer}/{u.name}",
            str(u.version),
            str(u.files_removed),
            str(u.files_added),
            str(u.vacuumed),
        )
    console.print(report)
    for name, error in failed:
        Console(stderr=True).print(f"[red]failed:[/red] {name}: {error}")
    return 1 if failed else 0
