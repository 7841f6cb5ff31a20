"""``lakehouse demo``: the sample shop's data in, gold Delta tables out, on a fresh clone.

1. Generate the sample domain (:mod:`loader.sample_data`, deterministic, ``rows`` orders).
2. Deliver it in two waves, as the shop's systems would: the tables systems push through the API
   (:func:`deliver_api_batches`, the seam the API issue replaces with real HTTP requests) and the
   clickstream files dropped in the landing zone (:func:`drop_files`).
3. Load each wave with the loader, hand its load events to the warm builder (dbt build of what
   the new data affects, then publish silver and gold), wait until it is idle.
4. Print what was built and where to look.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from deltalake import DeltaTable
from rich.console import Console
from rich.table import Table

from lakehouse.catalog import table_info
from lakehouse.events import LoadEvent
from lakehouse.layout import LAYERS, list_tables, table_path
from lakehouse.settings import Settings
from loader.builder import Builder
from loader.loading import Loader
from loader.sample_data import API_TABLES, SampleFile, sample_files, write_files

#: How long the demo waits for one wave's build and publish.
BUILD_TIMEOUT_S = 900.0
#: Gold tables shown with their first rows.
SHOWN_GOLD = 2
SHOWN_ROWS = 5
SHOWN_COLUMNS = 6


def deliver_api_batches(settings: Settings, files: Sequence[SampleFile]) -> list[Path]:
    """Deliver the batches the shop's systems push through the ingest API.

    For now they land the way an accepted API request does: a file in the table's landing
    folder. The API's demo replaces this with ``POST /v1/tables/{table}/records|files``.
    """
    return write_files(files, settings.raw_dir)


def drop_files(settings: Settings, files: Sequence[SampleFile]) -> list[Path]:
    """Files that systems drop straight into the landing zone (the clickstream)."""
    return write_files(files, settings.raw_dir)


def run_demo(settings: Settings, *, rows: int = 1000) -> int:
    """Generate, deliver, load, build and publish the sample domain; 0 when gold is published."""
    console = Console()
    started = time.perf_counter()
    files = sample_files(rows)
    console.print(
        f"[bold]lakehouse demo[/bold]: {len(files)} files of sample shop data ({rows} orders) "
        f"into {settings.raw_dir}"
    )
    builder = Builder(settings)
    builder.start()
    try:
        for wave in sorted({f.wave for f in files}):
            if not _deliver_load_build(settings, builder, console, files, wave):
                return 1
    finally:
        builder.stop()
    gold = list_tables(settings, "gold")
    if not gold:
        console.print("[red]no gold table was published[/red]")
        return 1
    _print_tables(settings, console)
    _print_gold_rows(settings, console, gold[:SHOWN_GOLD])
    console.print(
        f"done in {time.perf_counter() - started:.1f}s. Next: [bold]uv run lakehouse status[/bold]"
        ", [bold]uv run lakehouse docs --serve[/bold] (lineage), read any table above with a "
        "Delta reader, or drop more files into the landing zone under `lakehouse up`."
    )
    return 0


def _deliver_load_build(
    settings: Settings, builder: Builder, console: Console, files: list[SampleFile], wave: int
) -> bool:
    in_wave = [f for f in files if f.wave == wave]
    deliver_api_batches(settings, [f for f in in_wave if f.table in API_TABLES])
    drop_files(settings, [f for f in in_wave if f.table not in API_TABLES])
    # Load the whole wave first, then build once: a build of a table's models before the other
    # tables they join have arrived would only fail and be retried.
    events: list[LoadEvent] = []
    summary = Loader(settings, on_event=events.append).load_pending()
    console.print(
        f"wave {wave}: loaded {len(summary.loaded)} file(s), {summary.rows} rows in "
        f"{len(summary.events)} bronze commit(s); {len(summary.skipped)} skipped as already "
        f"loaded; {len(summary.quarantined)} quarantined"
    )
    for q in summary.quarantined:
        console.print(f"  [yellow]quarantined[/yellow] {q.table}/{q.file}: {q.reason}")
    if not events and not list_tables(settings, "gold"):
        # Nothing new (a second run) but nothing published yet either: build what bronze has.
        events = [
            LoadEvent(table, DeltaTable(str(table_path(settings, "bronze", table))).version())
            for table in list_tables(settings, "bronze")
        ]
    if not events:
        return True
    for event in events:
        builder.submit(event)
    if not builder.wait_idle(BUILD_TIMEOUT_S):
        console.print(f"[red]wave {wave}: the build did not finish in {BUILD_TIMEOUT_S:.0f}s[/red]")
        return False
    result = builder.last_result
    if result is None or not result.success:
        console.print(f"[red]wave {wave}: the build failed[/red]: {result and result.error}")
        return False
    console.print(
        f"wave {wave}: built and published {len(result.published)} table(s) "
        f"in {result.seconds:.1f}s"
    )
    return True


def _print_tables(settings: Settings, console: Console) -> None:
    table = Table(title="Delta tables")
    for column in ("layer", "table", "version", "rows", "location"):
        table.add_column(column, justify="right" if column in ("version", "rows") else "left")
    for layer in LAYERS:
        for name in list_tables(settings, layer):
            info = table_info(settings, layer, name)
            where = _shown(settings, table_path(settings, layer, name))
            table.add_row(layer, name, str(info.version), str(info.rows), where)
    console.print(table)


def _print_gold_rows(settings: Settings, console: Console, names: Sequence[str]) -> None:
    for name in names:
        dataset = DeltaTable(str(table_path(settings, "gold", name))).to_pyarrow_dataset()
        sample = dataset.head(10_000)  # gold is small; sort a bounded sample for reading
        data = sample.sort_by(sample.column_names[0]).slice(0, SHOWN_ROWS)
        columns = data.column_names[:SHOWN_COLUMNS]
        more = len(data.column_names) - len(columns)
        title = f"gold/{name}: first {data.num_rows} rows" + (f", +{more} columns" if more else "")
        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for row in data.select(columns).to_pylist():
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(table)


def _shown(settings: Settings, path: Path) -> str:
    """``path`` relative to the lakehouse root when it is inside it (shorter to read)."""
    try:
        return str(path.relative_to(settings.root))
    except ValueError:
        return str(path)
