"""The ``lakehouse`` command (typer). It composes the packages; it holds no logic of its own.

Each command imports what it needs lazily, so ``lakehouse status`` does not pay for dbt.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from lakehouse import LakehouseError, Settings, get_settings

app = typer.Typer(
    help="full-lakehouse: landing zone → bronze Delta → dbt on DuckDB → silver/gold Delta.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
console = Console(stderr=True)


def _settings() -> Settings:
    return get_settings()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    from lakehouse import configure_logging

    configure_logging(logging.DEBUG if verbose else logging.INFO, _settings().log_format)


@app.command()
def demo(
    rows: Annotated[int, typer.Option(help="Rows of generated sample data.")] = 1000,
) -> None:
    """Sample data through the API and the landing zone; wait until gold is published."""
    from app.compose import run_demo

    raise typer.Exit(run_demo(_settings(), rows=rows))


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="API host (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="API port (default from settings).")] = None,
) -> None:
    """API + loader + builder together until Ctrl-C."""
    from app.compose import run_up

    raise typer.Exit(run_up(_settings(), host=host, port=port))


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Host to bind (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
) -> None:
    """The ingest API alone (uvicorn)."""
    from ingest import serve

    raise typer.Exit(serve(_settings(), host=host, port=port))


@app.command()
def loader(
    build: Annotated[bool, typer.Option(help="Run dbt builds on load events.")] = True,
) -> None:
    """The loader alone: watch the landing zone until Ctrl-C."""
    from app.service import run_loader

    raise typer.Exit(run_loader(_settings(), build=build))


@app.command()
def load(
    build: Annotated[bool, typer.Option(help="Build and publish after loading.")] = True,
) -> None:
    """Load what is in the landing zone now, build, publish, exit."""
    from app.service import run_load

    raise typer.Exit(run_load(_settings(), build=build))


@app.command()
def build(
    select: Annotated[list[str] | None, typer.Option("--select", "-s")] = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh")] = False,
) -> None:
    """dbt build + publish silver and gold."""
    from transform import run_build

    raise typer.Exit(run_build(_settings(), select=select or [], full_refresh=full_refresh))


@app.command()
def status(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Tables per layer, recent runs, pending and quarantined files."""
    from lakehouse import print_status

    print_status(_settings(), as_json=json_output)


@app.command()
def maintain() -> None:
    """Compact, checkpoint and vacuum every table."""
    from lakehouse import run_maintain

    raise typer.Exit(run_maintain(_settings()))


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="A new or empty folder for the backup.")],
    every: Annotated[
        str | None,
        typer.Option(help="Keep running: a backup per interval (24h, 30m) in DEST/<UTC time>."),
    ] = None,
    keep: Annotated[int, typer.Option(min=1, help="With --every: how many backups stay.")] = 7,
) -> None:
    """Copy every Delta table (one version each), the run ledger and the tokens to a folder."""
    from lakehouse import run_backup

    raise typer.Exit(run_backup(_settings(), dest, every=every, keep=keep))


@app.command()
def restore(
    src: Annotated[Path, typer.Argument(help="A folder written by lakehouse backup.")],
) -> None:
    """Restore a backup into an empty lakehouse (no tables, no ledger yet)."""
    from lakehouse import run_restore

    raise typer.Exit(run_restore(_settings(), src))


@app.command()
def docs(
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve the docs after generating.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8080,
    host: Annotated[
        str, typer.Option(help="Address for --serve (0.0.0.0 in a container).")
    ] = "127.0.0.1",
) -> None:
    """dbt docs generate (lineage), optionally serve."""
    from transform import run_docs

    raise typer.Exit(run_docs(_settings(), serve=serve, port=port, host=host))


@token_app.command("create")
def token_create(
    scope: Annotated[list[str], typer.Option("--scope", help="write, read or admin.")],
    table: Annotated[
        list[str] | None, typer.Option("--table", help="Limit to these tables.")
    ] = None,
    name: Annotated[str, typer.Option(help="A label for the token.")] = "token",
) -> None:
    """Issue an API token: printed once on stdout, stored hashed."""
    from ingest import create_token

    print(create_token(_settings(), scopes=scope, tables=table or [], name=name))  # noqa: T201


def main() -> None:
    """Run the command, then leave without the interpreter's teardown.

    delta-rs's Rust runtime can abort a process while Python finalizes ("terminate called
    without an active exception", exit 134; delta-io/delta-rs#2184): here, 11 of 30 runs of a
    script that writes a Delta table and reads it back. That would turn a command that did its
    job into a failed one. By the time ``_run`` returns, the work is committed and closed; the
    streams and log handlers are flushed below, then the process exits with the command's code.
    """
    code = _run()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def _run() -> int:
    try:
        app()
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)  # noqa: T201  # what sys.exit("...") would print
        return 1
    except LakehouseError as exc:
        # unwrapped: a path or an exact message broken over lines cannot be copied or matched
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0
