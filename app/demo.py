"""``lakehouse demo``: the sample shop's data in, gold Delta tables out, on a fresh clone.

1. Generate the sample domain (:mod:`app.sample_data`, deterministic, ``rows`` orders).
2. Deliver it in two waves, as the shop's systems would: the tables systems push through the
   ingest API (:func:`deliver_api_batches`: ``POST /v1/tables/{table}/files`` over real HTTP, each
   with an ``Idempotency-Key`` derived from its content, so a re-sent file lands nothing new) and
   the clickstream files dropped in the landing zone (:func:`drop_files`).
3. Load each wave with the loader, hand its load events to the warm builder (dbt build of what
   the new data affects, then publish silver and gold), wait until it is idle, then follow every
   API batch through ``GET /v1/batches/{id}`` until it is ``published``.
4. Print what was built and where to look.

The caller (``lakehouse demo`` in :mod:`app.compose`) starts the API and passes its address;
without one (``api=None``) the API's batches are dropped in the landing zone like the others.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from app.sample_data import API_TABLES, SampleFile, render, sample_files, write_files
from lakehouse import LAYERS, LoadEvent, Settings, list_tables, table_path
from lakehouse.catalog import open_table, table_info
from lakehouse.history import latencies
from lakehouse.status import latency_lines
from lakehouse.storage import Location, arrow_dataset
from loader import Loader
from transform import Builder

#: How long the demo waits for one wave's build and publish.
BUILD_TIMEOUT_S = 900.0
#: Gold tables shown with their first rows.
SHOWN_GOLD = 2
SHOWN_ROWS = 5
SHOWN_COLUMNS = 6
#: Media type of each sample format on ``POST /v1/tables/{table}/files``.
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json", "ndjson": "application/x-ndjson"}


@dataclass(frozen=True, slots=True)
class ApiTarget:
    """A running ingest API: its base URL and a bearer token (None: development, anonymous)."""

    url: str
    token: str | None = None

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60.0)


def deliver_api_batches(api: ApiTarget, files: Sequence[SampleFile]) -> list[str]:
    """POST each file to the ingest API as the shop's systems would; returns the batch ids.

    The ``Idempotency-Key`` is the content's hash: a file sent twice (the demo re-sends one on
    purpose, and a second ``lakehouse demo`` re-sends them all) is answered with the first
    batch and lands nothing new.
    """
    batch_ids: list[str] = []
    with api.client() as client:
        for sample in files:
            body = render(sample)
            response = client.post(
                f"/v1/tables/{sample.table}/files",
                params={"filename": sample.name},
                content=body,
                headers={
                    "Content-Type": MEDIA_TYPES[sample.format],
                    "Idempotency-Key": f"demo-{hashlib.sha256(body).hexdigest()[:40]}",
                },
            )
            if response.status_code not in (200, 201, 202):
                raise RuntimeError(
                    f"the API refused {sample.table}/{sample.name}: "
                    f"{response.status_code} {response.text[:500]}"
                )
            batch_ids.append(response.json()["batch_id"])
    return list(dict.fromkeys(batch_ids))


def follow_batches(api: ApiTarget, batch_ids: Sequence[str], timeout: float) -> dict[str, str]:
    """Wait (``?wait=``, bounded) until each batch is terminal; returns ``{batch_id: state}``."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    with api.client() as client:
        for batch_id in batch_ids:
            state = "accepted"
            while state in ("accepted", "loaded") and time.monotonic() < deadline:
                wait = max(1, min(30, int(deadline - time.monotonic())))
                response = client.get(f"/v1/batches/{batch_id}", params={"wait": wait})
                response.raise_for_status()
                state = response.json()["state"]
            states[batch_id] = state
    return states


def drop_files(settings: Settings, files: Sequence[SampleFile]) -> list[Path]:
    """Files that systems drop straight into the landing zone (the clickstream)."""
    return write_files(files, settings.raw_dir)


def run_demo(settings: Settings, *, rows: int = 1000, api: ApiTarget | None = None) -> int:
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
            if not _deliver_load_build(settings, builder, console, files, wave, api):
                return 1
        # the pipeline's own history (dados/ops/batches) and the model over it
        history = builder.history_now(BUILD_TIMEOUT_S)
        if history.error or (history.build is not None and not history.build.success):
            why = history.error or (history.build.error if history.build else None)
            console.print(f"[yellow]the pipeline history was not built[/yellow]: {why}")
    finally:
        builder.stop()
    gold = list_tables(settings, "gold")
    if not gold:
        console.print("[red]no gold table was published[/red]")
        return 1
    _print_tables(settings, console)
    _print_gold_rows(settings, console, gold[:SHOWN_GOLD])
    figures, source = latencies(settings)
    for line in latency_lines(figures, source):
        console.print(line, markup=False, highlight=False)
    console.print(
        f"done in {time.perf_counter() - started:.1f}s. Next: [bold]uv run lakehouse status[/bold]"
        ", [bold]uv run lakehouse docs --serve[/bold] (lineage), read any table above with a "
        "Delta reader, or drop more files into the landing zone under `lakehouse up`."
    )
    return 0


def _deliver_load_build(
    settings: Settings,
    builder: Builder,
    console: Console,
    files: list[SampleFile],
    wave: int,
    api: ApiTarget | None,
) -> bool:
    in_wave = [f for f in files if f.wave == wave]
    pushed = [f for f in in_wave if f.table in API_TABLES]
    batch_ids: list[str] = []
    if api is None:
        drop_files(settings, pushed)
    else:
        batch_ids = deliver_api_batches(api, pushed)
        console.print(
            f"wave {wave}: {len(pushed)} file(s) POSTed to {api.url}/v1/tables/<table>/files "
            f"→ {len(batch_ids)} batch id(s) in the answers"
        )
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
            LoadEvent(table, open_table(settings, "bronze", table).version())
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
    if api is not None and batch_ids:
        return _report_batches(api, console, wave, batch_ids)
    return True


def _report_batches(api: ApiTarget, console: Console, wave: int, batch_ids: list[str]) -> bool:
    states = follow_batches(api, batch_ids, timeout=BUILD_TIMEOUT_S)
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    console.print(f"wave {wave}: API batches by state (GET /v1/batches/<id>): {counts}")
    stuck = {b: s for b, s in states.items() if s != "published"}
    for batch_id, state in stuck.items():
        console.print(f"  [red]{batch_id}: {state}[/red]")
    return not stuck


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
        dataset = arrow_dataset(open_table(settings, "gold", name))
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


def _shown(settings: Settings, path: Location) -> str:
    """``path`` relative to the lakehouse root when it is inside it (shorter to read)."""
    if not isinstance(path, Path):
        return str(path)
    try:
        return str(path.relative_to(settings.root))
    except ValueError:
        return str(path)
