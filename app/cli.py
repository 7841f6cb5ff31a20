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
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from lakehouse import LakehouseError, Settings, get_settings
from lakehouse.settings import require_root, settings_error

app = typer.Typer(
    help="full-lakehouse: landing zone → bronze Delta → dbt on DuckDB → silver/gold Delta.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
console = Console(stderr=True)


def _settings() -> Settings:
    return require_root(get_settings())


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


SelectOption = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        "-s",
        help="dbt node selection (dbt's syntax: a model, +model, tag:gold, path:models/marts, "
        "source:bronze.orders+ ...); repeat it or separate by spaces. Default: everything.",
    ),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="dbt nodes to leave out (same syntax as --select)."),
]
FullRefreshOption = Annotated[
    bool,
    typer.Option(
        "--full-refresh",
        help="Rebuild incremental models from scratch, and republish their tables whole.",
    ),
]
VarsOption = Annotated[
    str | None,
    typer.Option(
        "--vars",
        help='dbt variables as YAML or JSON, e.g. \'{"start_date": "2026-01-01"}\' '
        "(a new value makes dbt parse the project again).",
    ),
]
TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        "-t",
        help="The dbt target of profiles.yml (default: the lakehouse's, dev). A running "
        "`lakehouse up` builds its own target; another one is built here.",
    ),
]


@app.command()
def build(
    select: SelectOption = None,
    exclude: ExcludeOption = None,
    full_refresh: FullRefreshOption = False,
    vars: VarsOption = None,
    target: TargetOption = None,
    failed: Annotated[
        bool,
        typer.Option(
            "--failed",
            help="Also what failed: tables whose latest build failed and the selection of the "
            "latest build if it failed (the same as `lakehouse retry`).",
        ),
    ] = False,
) -> None:
    """dbt build + publish silver and gold; prints every table published.

    While `lakehouse up` (or `lakehouse loader`) runs, the build is sent to it and runs on its
    warm builder, between its own builds.
    """
    from app.control import build_command
    from transform import BuildRequest

    request = BuildRequest(
        select or [], exclude or [], full_refresh=full_refresh, vars=vars, failed=failed
    )
    raise typer.Exit(build_command(_settings(), request, target=target))


@app.command()
def retry(
    full_refresh: FullRefreshOption = False,
    vars: VarsOption = None,
    target: TargetOption = None,
) -> None:
    """Rebuild what failed: every table whose latest build failed, and the latest build's
    selection if it failed. Nothing failed: nothing to do (exit 0)."""
    from app.control import build_command
    from transform import BuildRequest

    request = BuildRequest(full_refresh=full_refresh, vars=vars, failed=True)
    raise typer.Exit(build_command(_settings(), request, target=target))


@app.command()
def replay(
    what: Annotated[
        str,
        typer.Argument(
            help="A table (all its quarantined files), or one file: <table>/<file> or its path."
        ),
    ],
) -> None:
    """Move quarantined files back into the landing zone after a fix (a contract, a setting).

    Each file's old .error.json moves to quarantine/<table>/history/ (kept, not stale). A
    running `lakehouse up` loads them at once; otherwise run `lakehouse load`.
    """
    from app.service import run_replay

    raise typer.Exit(run_replay(_settings(), what))


@app.command()
def status(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Tables per layer, the running service, recent batches and builds, pending and
    quarantined files."""
    from app.control import service_state
    from lakehouse import print_status

    settings = _settings()
    print_status(settings, as_json=json_output, service=service_state(settings))


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
    """dbt docs generate (lineage, each published model's Delta table), optionally serve.

    While `lakehouse up` runs, the docs are generated by it (its warehouse's catalog).
    """
    from app.control import docs_command

    raise typer.Exit(docs_command(_settings(), serve=serve, port=port, host=host))


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


@token_app.command("list")
def token_list(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The tokens issued: id, name, scopes, tables, created (never the token or its hash)."""
    import json

    from ingest.tokens import list_tokens

    tokens = list_tokens(_settings())
    if json_output:
        print(json.dumps(tokens, indent=2))  # noqa: T201
        return
    if not tokens:
        print("no tokens (issue one with: lakehouse token create --scope write)")  # noqa: T201
        return
    for t in tokens:
        tables = ",".join(t["tables"]) or "all tables"
        print(  # noqa: T201
            f"{t['id']}  {t['name']:<16} {','.join(t['scopes']):<18} {tables}  {t['created_at']}"
        )


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The id shown by `lakehouse token list`.")],
) -> None:
    """Revoke a token: a running API refuses it from its next request on."""
    from ingest.tokens import revoke_token

    token = revoke_token(_settings(), token_id)
    print(f"revoked {token.id} ({token.name})")  # noqa: T201


def main() -> None:
    """Run the command, then leave without the interpreter's teardown.

    delta-rs's Rust runtime can abort a process while Python finalizes ("terminate called
    without an active exception", exit 134; delta-io/delta-rs#2184): here, 11 of 30 runs of a
    script that writes a Delta table and reads it back. That would turn a command that did its
    job into a failed one. By the time ``_run`` returns, the work is committed and closed; the
    streams and log handlers are flushed below, then the process exits with the command's code.
    """
    code = _run()
    _release_semaphores()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def _release_semaphores() -> None:
    """Unlink the named semaphores of multiprocessing locks (dbt makes some for every build).

    Their finalizers run at interpreter exit, which ``os._exit`` skips; the resource tracker
    then warns about "leaked semaphore objects" on stderr, a line that is not a log record.
    """
    util = sys.modules.get("multiprocessing.util")
    if util is None:
        return
    try:
        util._run_finalizers(0)
    except Exception:  # best effort: the work is done
        logging.getLogger(__name__).debug("releasing semaphores failed", exc_info=True)


def _run() -> int:
    try:
        app()
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)  # noqa: T201  # what sys.exit("...") would print
        return 1
    except ValidationError as exc:  # a bad LAKEHOUSE_* value: one line each, no traceback
        for line in settings_error(exc).splitlines():
            console.print(f"[red]error:[/red] {escape(line)}", soft_wrap=True)
        return 2
    except LakehouseError as exc:
        # unwrapped: a path or an exact message broken over lines cannot be copied or matched
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0
