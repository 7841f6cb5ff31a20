"""The one-shot commands of the dbt runtime: ``lakehouse build`` and ``lakehouse docs``."""

from __future__ import annotations

from rich.console import Console

from lakehouse.ledger import Ledger
from lakehouse.settings import Settings
from transform.builder import record_build
from transform.docs import annotate_docs, docs_target, serve_docs
from transform.session import DBT_LOCK, BuildRequest, BuildResult, DbtSession

__all__ = ["run_build", "run_docs"]


def run_build(settings: Settings, *, select: list[str], full_refresh: bool = False) -> int:
    """``lakehouse build``: one dbt build + publish; prints what was published; 0 or 1."""
    console = Console()
    ledger = Ledger.of(settings)
    session = DbtSession(settings, log_level="info")
    request = BuildRequest(select, full_refresh=full_refresh)
    build_id = ledger.start_build(request.describe())
    result = session.build(request)
    result.build_id = build_id
    record_build(ledger, build_id, result)
    _print_result(console, settings, result)
    return 0 if result.success else 1


def _print_result(console: Console, settings: Settings, result: BuildResult) -> None:
    from rich.table import Table

    if not result.published and not result.failures:
        console.print("nothing published: no model built (no bronze table loaded yet?)")
        return
    table = Table(title=f"published ({result.seconds:.1f}s)")
    table.add_column("table")
    table.add_column("version", justify="right")
    table.add_column("where")
    for target, version in sorted(result.published.items()):
        note = " (unchanged)" if target in result.unchanged else ""
        table.add_row(target, f"{version}{note}", str(settings.dados / target))
    console.print(table)
    if result.read_versions:
        read = ", ".join(f"{t} v{v}" for t, v in result.read_versions.items())
        console.print(f"read bronze: {read}")
    for unique_id, why in sorted(result.not_published.items()):
        console.print(f"[yellow]not published[/yellow] {unique_id}: {why}")
    for failure in result.failures:
        console.print(f"[red]failed[/red] {failure}")


def run_docs(
    settings: Settings, *, serve: bool = False, port: int = 8080, host: str = "127.0.0.1"
) -> int:
    """``lakehouse docs``: dbt docs generate (lineage + published Delta locations), serve."""
    from transform import dbt_plugin

    console = Console()
    if _warehouse_in_use(settings):
        # held by a running loader (`lakehouse up`): lineage and docs from the in-memory target;
        # only the catalog's column types are missing
        console.print("[yellow]the warehouse is in use: docs from the in-memory target[/]")
        settings = settings.model_copy(update={"dbt_target": "ci"})
    session = DbtSession(settings, log_level="info")
    with DBT_LOCK:  # the pins are process-wide: not while a builder's build runs
        dbt_plugin.begin_build(settings)  # docs compile SQL (missing bronze tables are fine)
        outcome = session.invoke(["docs", "generate"])
    if not outcome.success:
        console.print(f"[red]dbt docs generate failed[/red]: {outcome.exception or ''}")
        return 1
    target = docs_target(settings)
    count = annotate_docs(settings, target / "manifest.json")
    console.print(f"docs in {target / 'index.html'} ({count} published models annotated)")
    if serve:
        from lakehouse.signals import stop_on_signals

        with stop_on_signals("the docs site") as stop:  # Ctrl-C or SIGTERM: exit 0
            serve_docs(
                target,
                port=port,
                host=host,
                ready=lambda url: console.print(f"serving {url}"),
                stop=stop,
            )
    return 0


def _warehouse_in_use(settings: Settings) -> bool:
    """Whether another process holds the DuckDB warehouse file (its lock)."""
    import duckdb

    path = settings.warehouse_path
    if settings.dbt_target != "dev" or not path.exists():
        return False
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as exc:
        return "lock" in str(exc).lower()
    return False
