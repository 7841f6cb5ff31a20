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


def collect_status(settings: Settings) -> dict[str, Any]:
    ledger = Ledger.of(settings)

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
        "recent_builds": [b.as_dict() for b in ledger.builds(limit=5)],
        "pending_files": files(settings.raw_dir),
        "quarantined_files": files(settings.quarantine_dir),
    }


def print_status(settings: Settings, *, as_json: bool = False) -> None:
    status = collect_status(settings)
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
    console.print(f"Batches by state: {status['batches'] or 'none yet'}")
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
    console.print(f"Pending files: {len(status['pending_files'])}")
    for name in status["pending_files"][:20]:
        console.print(f"  {name}")
    console.print(f"Quarantined files: {len(status['quarantined_files'])}")
    for name in status["quarantined_files"][:20]:
        console.print(f"  {name}")
