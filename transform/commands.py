"""The one-shot commands of the dbt runtime: ``lakehouse build`` and ``lakehouse docs``."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lakehouse.exceptions import LakehouseError
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings
from transform.builder import record_build, retry_request
from transform.docs import annotate_docs, docs_target, serve_docs
from transform.session import DBT_LOCK, BuildRequest, BuildResult, DbtSession, DepsError

__all__ = ["DocsError", "generate_docs", "print_result", "run_build", "run_docs"]


def run_build(settings: Settings, request: BuildRequest) -> int:
    """``lakehouse build`` in this process: one dbt build + publish, printed; 0 or 1.

    ``request.failed`` (``lakehouse retry``) adds what failed (see
    :func:`~transform.builder.retry_request`); with nothing failed it builds nothing.
    """
    console = Console()
    ledger = Ledger.of(settings)
    if request.failed:
        resolved = retry_request(ledger, request)
        if resolved is None:
            print_result(
                console, settings, BuildResult(True, note="nothing failed: nothing to retry")
            )
            return 0
        request = resolved
    session = DbtSession(settings, log_level="info")
    build_id = ledger.start_build(request.describe())
    try:
        result = session.build(request)
    except DepsError as exc:  # the project's packages: nothing was built
        result = BuildResult(False, failures=[str(exc)], attributed=False)
        record_build(ledger, build_id, result, request=request)
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return 1
    result.build_id = build_id
    record_build(ledger, build_id, result, request=request)
    held = warehouse_holder(result)
    if held is not None:
        Console(stderr=True).print(f"[red]error:[/red] {held}", soft_wrap=True)
        return 1
    print_result(console, settings, result)
    return 0 if result.success else 1


def warehouse_holder(result: BuildResult) -> str | None:
    """What to tell a user whose build failed on the DuckDB warehouse lock, or ``None``."""
    for failure in result.failures:
        match = _LOCK_HOLDER.search(failure)
        if match is None:
            continue
        pid = int(match.group(1))
        return (
            f"the DuckDB warehouse is held by process {pid} ({_command_of(pid)}). A running "
            "`lakehouse up` or `lakehouse loader` takes `lakehouse build`, `retry` and `docs` "
            "itself (through dados/_lakehouse/control.json); this one did not answer. Wait for "
            "it to finish (`lakehouse load`), or stop it (Ctrl-C, or `kill "
            f"{pid}`) and run the command again."
        )
    return None


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in .*?\(PID (\d+)\)", re.S)


def _command_of(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "unknown command"
    words = [Path(a.decode(errors="replace")).name for a in argv if a]
    if "lakehouse" in words:
        words = words[words.index("lakehouse") :]
    return "`" + " ".join(words[:3]) + "`"


def print_result(console: Console, settings: Settings, result: BuildResult) -> None:
    """A build's summary: every table it published (or found unchanged), what it did not."""
    from rich.table import Table

    if result.note:
        console.print(result.note)
        return
    if not result.published and not result.failures:
        console.print("nothing published: no model built (no bronze table loaded yet?)")
        _print_unpublished(console, result)
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
    if result.unfed:
        console.print(f"built with no source feeding them: {', '.join(result.unfed)}")
    _print_unpublished(console, result)
    for failure in result.failures:
        console.print(f"[red]failed[/red] {escape(failure)}", soft_wrap=True)
    if result.build_id is not None:
        console.print(f"build {result.build_id}: {'succeeded' if result.success else 'failed'}")


def _print_unpublished(console: Console, result: BuildResult) -> None:
    for unique_id, why in sorted(result.kept.items()):
        console.print(f"not published (by rule) {unique_id}: {escape(why)}", soft_wrap=True)
    for unique_id, why in sorted(result.not_published.items()):
        console.print(f"[yellow]not published[/yellow] {unique_id}: {escape(why)}", soft_wrap=True)


def generate_docs(settings: Settings, session: DbtSession) -> tuple[Path, int]:
    """``dbt docs generate`` with ``session``, then each published model annotated (its Delta
    location, version and last publish); the site's folder and how many models."""
    from transform import dbt_plugin

    with DBT_LOCK:  # the pins are process-wide: not while a builder's build runs
        dbt_plugin.begin_build(settings)  # docs compile SQL (missing bronze tables are fine)
        outcome = session.invoke(["docs", "generate"])
    if not outcome.success:
        raise DocsError(f"dbt docs generate failed: {outcome.exception or 'see the log above'}")
    target = docs_target(settings)
    return target, annotate_docs(settings, target / "manifest.json")


class DocsError(LakehouseError):
    """dbt could not generate the docs."""


def run_docs(
    settings: Settings,
    *,
    serve: bool = False,
    port: int = 8080,
    host: str = "127.0.0.1",
    generated: tuple[Path, int] | None = None,
) -> int:
    """``lakehouse docs``: dbt docs generate (lineage + published Delta tables), serve.

    ``generated``: the docs a running service generated (its folder, models annotated).
    """
    console = Console()
    if generated is None:
        if _warehouse_in_use(settings):
            # held by a process that did not answer as a running service: lineage and docs
            # from the in-memory target; the catalog's column types are missing
            console.print(
                "[yellow]the warehouse is held by another process that did not answer as "
                "`lakehouse up`/`lakehouse loader`: docs from the in-memory target (no column "
                "types)[/]"
            )
            settings = settings.model_copy(update={"dbt_target": "ci"})
        try:
            generated = generate_docs(settings, DbtSession(settings, log_level="info"))
        except DocsError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            return 1
    target, count = generated
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
