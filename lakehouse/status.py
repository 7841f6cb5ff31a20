"""``lakehouse status``: tables per layer, recent runs, pending and quarantined files."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from lakehouse.catalog import list_table_infos
from lakehouse.layout import is_candidate
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings


def collect_status(settings: Settings, *, service: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything ``lakehouse status`` shows; ``service``: what a running service says of
    itself (``lakehouse up``: its builder's pending and owed tables)."""
    ledger = Ledger.of(settings)
    builds = ledger.builds(limit=5)

    def files(base: Any) -> list[str]:
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and is_candidate(p)
        )

    return {
        "tables": [info.as_dict() for info in list_table_infos(settings)],
        "batches": ledger.count_by_state(),
        "recent_batches": [b.as_dict() for b in ledger.batches(limit=10)],
        "failed_batches": [b.as_dict() for b in ledger.batches(states=["failed"], limit=20)],
        "recent_builds": [b.as_dict() for b in builds],
        # models the latest finished build did not publish: by rule (outside staging/ and
        # marts/, meta.publish: none) or because they or their tests failed
        "not_published": _not_published(builds),
        "service": service,
        "pending_files": files(settings.raw_dir),
        "quarantined_files": files(settings.quarantine_dir),
    }


def _not_published(builds: list[Any]) -> dict[str, str]:
    for build in builds:
        if build.state != "running":
            detail = build.detail or {}
            return {
                **{k: f"by rule: {v}" for k, v in (detail.get("kept") or {}).items()},
                **(detail.get("not_published") or {}),
            }
    return {}


def print_status(
    settings: Settings, *, as_json: bool = False, service: dict[str, Any] | None = None
) -> None:
    status = collect_status(settings, service=service)
    if as_json:
        print(json.dumps(status, indent=2, default=str))  # noqa: T201
        return
    console = Console()
    tables = Table(title="Tables")
    for column in ("layer", "name", "version", "rows", "files", "updated_at"):
        tables.add_column(column)
    for info in status["tables"]:
        tables.add_row(
            *(str(info[c]) for c in ("layer", "name", "version", "rows", "files", "updated_at"))
        )
    console.print(tables)
    _print_service(console, status["service"])
    console.print(f"Batches by state: {status['batches'] or 'none yet'}")
    if status["failed_batches"]:
        failed = Table(title="Failed batches (the latest build that covered them failed)")
        for column in ("batch_id", "table", "file", "build", "why"):
            failed.add_column(column, overflow="fold")
        for b in status["failed_batches"]:
            error = b["error"] or {}
            failed.add_row(
                b["batch_id"],
                b["table"],
                str(b["source_file"]),
                str(b["build_id"]),
                str(error.get("detail") or error.get("error") or ""),
            )
        console.print(failed)
    builds = Table(title="Recent builds")
    for column in ("build_id", "state", "selector", "published", "finished_at"):
        builds.add_column(column)
    for b in status["recent_builds"]:
        builds.add_row(
            str(b["build_id"]),
            b["state"],
            str(b["selector"]),
            json.dumps(b["published"]),
            str(b["finished_at"]),
        )
    console.print(builds)
    for unique_id, why in sorted(status["not_published"].items()):
        console.print(f"not published: {unique_id}: {why}", soft_wrap=True, markup=False)
    console.print(f"Pending files: {len(status['pending_files'])}")
    for name in status["pending_files"][:20]:
        console.print(f"  {name}")
    console.print(f"Quarantined files: {len(status['quarantined_files'])}")
    for name in status["quarantined_files"][:20]:
        console.print(f"  {name}")


def _print_service(console: Console, service: dict[str, Any] | None) -> None:
    if service is None:
        console.print("Service: none running on this lakehouse (`lakehouse up` starts one)")
        return
    builder = service.get("builder") or {}
    doing = "building" if builder.get("running") else "idle"
    console.print(
        f"Service: running (pid {service['pid']}); builder {doing}, "
        f"{builder.get('builds', 0)} build(s) since start; "
        f"pending: {', '.join(builder.get('pending') or []) or 'none'}; "
        f"owed after a failure: {', '.join(builder.get('owed') or []) or 'none'}"
    )
