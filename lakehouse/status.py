"""``lakehouse status``: tables per layer, recent runs, pending and quarantined files."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from lakehouse.catalog import list_table_infos
from lakehouse.contracts import read_contracts
from lakehouse.history import RECENT, latencies
from lakehouse.layout import is_candidate, unread_in_raw
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings
from lakehouse.textout import INDENT, WIDTH, clip, name_width, row


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

    pending, unread = _landing(settings)
    latency, latency_source = latencies(settings)
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
        # the pipeline's own history: p50/p95 per stage and table (lakehouse.history), from
        # the published model gold/pipeline_latency when there is one, else the run ledger
        "latency": latency,
        "latency_source": latency_source,
        "pending_files": pending,
        # files in raw/ the loader does not read: a folder whose name is no table name, a file
        # directly in raw/ (each with why, and how many files it holds)
        "unread_in_landing": unread,
        # while one of these does not parse, the pending files are held (lakehouse.contracts)
        "unreadable_contracts": [str(u) for u in read_contracts(settings).unreadable],
        "quarantined_files": files(settings.quarantine_dir),
    }


def _landing(settings: Settings) -> tuple[list[str], list[dict[str, Any]]]:
    """The landing zone's files waiting in ``raw/<table>/`` (at any depth), and the entries of
    ``raw/`` the loader does not read (``layout.unread_in_raw``)."""
    pending: list[str] = []
    unread: list[dict[str, Any]] = []
    if not settings.raw_dir.is_dir():
        return pending, unread
    for entry in sorted(settings.raw_dir.iterdir()):
        if not is_candidate(entry):
            continue
        inside = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        names = sorted(str(p.relative_to(settings.raw_dir)) for p in inside if is_candidate(p))
        why = unread_in_raw(entry)
        if why is None:
            pending += names
        elif names:
            unread.append({"path": entry.name, "files": len(names), "reason": why})
    return pending, unread


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
    # 80 columns in any terminal (text wraps, whole names stay whole); colour only on a tty
    out = Console(width=WIDTH, soft_wrap=False)
    for line in table_lines(status["tables"]):
        print(line)  # noqa: T201
    _print_service(out, status["service"])
    counts = ", ".join(f"{n} {state}" for state, n in sorted(status["batches"].items()))
    out.print(f"Batches: {counts or 'none yet'}")
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
        out.print(failed)
    for line in [*rescued_lines(status["recent_batches"]), *build_lines(status["recent_builds"])]:
        print(line)  # noqa: T201
    for line in [
        *latency_lines(status["latency"], status["latency_source"]),
        *unreadable_lines(status["unreadable_contracts"]),
    ]:
        print(line)  # noqa: T201
    for unique_id, why in sorted(status["not_published"].items()):
        out.print(f"not published: {unique_id}: {why}", markup=False)
    lines = [
        *file_lines("Pending", status["pending_files"]),
        *unread_lines(status["unread_in_landing"]),
        *file_lines("Quarantined", status["quarantined_files"]),
    ]
    for line in lines:
        print(line)  # noqa: T201


def file_lines(title: str, names: list[str]) -> list[str]:
    """How many files, and the first 20 of them."""
    lines = [f"{title} files: {len(names)}", *(f"{INDENT}{name}" for name in names[:20])]
    if len(names) > 20:
        lines.append(f"{INDENT}… and {len(names) - 20} more (--json lists them all)")
    return lines


def unread_lines(unread: list[dict[str, Any]]) -> list[str]:
    """Entries of ``raw/`` whose files the loader does not read, and why."""
    return [f"{INDENT}{u['reason']} ({u['files']} file(s))" for u in unread]


def unreadable_lines(unreadable: list[str]) -> list[str]:
    """A YAML file of the dbt project that does not parse: why every pending file waits."""
    return [
        f"Contracts: {u}: writes are refused (503) and pending files held (neither loaded nor"
        " quarantined) until it parses"
        for u in unreadable
    ]


def table_lines(tables: list[dict[str, Any]]) -> list[str]:
    """Tables, one per line (two when a long name and its details do not fit 80 columns)."""
    lines = ["Tables"]
    names = [f"{t['layer']}/{t['name']}" for t in tables]
    width = name_width(names)
    for name, t in zip(names, tables, strict=True):
        updated = (t["updated_at"] or "")[:16].replace("T", " ")
        files = "file " if t["files"] == 1 else "files"
        details = f"v{t['version']:<5} {t['rows']:>12,} rows {t['files']:>5} {files}  {updated}"
        lines += row(name, details, name_width=width)
    if not tables:
        lines.append(f"{INDENT}none yet")
    return lines


def latency_lines(rows: list[dict[str, Any]], source: str = "run ledger") -> list[str]:
    """Per bronze table, p50/p95 seconds of each stage of a batch's way to gold: landed →
    bronze, waiting for the build that published it, that build, and the whole way."""
    lines = [
        f"Latency, p50/p95 seconds, newest {RECENT} published batches per table",
        clip(f"{INDENT}from {source}", WIDTH),
        f"{INDENT}bronze: landed → in bronze; queued: → its build started; build: → published",
    ]
    for r in rows:
        lines.append(f"{INDENT}{r['table']} ({r['batches']:,} batches)")
        lines.append(
            f"{INDENT}{INDENT}bronze {_pair(r, 'to_bronze')}  queued {_pair(r, 'queued')}  "
            f"build {_pair(r, 'building')}  total {_pair(r, 'total')}"
        )
    if not rows:
        lines.append(f"{INDENT}no published batch yet")
    return lines


def _pair(r: dict[str, Any], stage: str) -> str:
    return f"{_seconds(r[f'{stage}_p50_s'])}/{_seconds(r[f'{stage}_p95_s'])}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def build_lines(builds: list[dict[str, Any]]) -> list[str]:
    """Recent builds: id, state, when, and what they published or why they failed."""
    lines = ["Recent builds"]
    for b in builds:
        when = str(b["finished_at"] or b["started_at"] or "")[:19].replace("T", " ")
        head = f"#{b['build_id']:<5} {b['state']:<9} {when}  "
        published = b["published"] or {}
        if b["state"] == "failed" and b.get("error"):
            tail = str(b["error"])
        else:
            tail = f"{len(published)} tables published" if published else "nothing published"
        lines.append(INDENT + head + clip(tail, WIDTH - len(INDENT) - len(head)))
    if not builds:
        lines.append(f"{INDENT}none yet")
    return lines


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


def rescued_lines(recent: list[dict[str, Any]]) -> list[str]:
    """Recent batches whose values did not fit their columns, kept in ``_rescued_data``."""
    return [
        f"rescued: {b['rescued']} value(s) of {b['table']}/{b['source_file']} "
        f"(batch {b['batch_id']}) in _rescued_data"
        for b in recent
        if b.get("rescued")
    ]
