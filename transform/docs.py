"""dbt's docs site: where it is generated, each published model's Delta location, a server."""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lakehouse.layout import Layer
from lakehouse.settings import Settings
from lakehouse.storage import Location

__all__ = ["annotate_docs", "docs_target", "serve_docs"]

log = logging.getLogger(__name__)


def docs_target(settings: Settings) -> Path:
    return settings.dbt_project_dir / "target"


def annotate_docs(settings: Settings, manifest_path: Path) -> int:
    """Write each published model's Delta table into the docs' manifest (meta + text): its
    location, current version and last publish time; a model that is not published says so.
    The number of published models."""
    from transform.publish import publish_layer

    manifest = json.loads(manifest_path.read_text())
    count = 0
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        config = node.get("config") or {}
        meta = {**(node.get("meta") or {}), **(config.get("meta") or {})}
        if config.get("materialized") == "ephemeral":
            continue
        layer = publish_layer(node.get("fqn") or [], meta)
        if layer is None:
            _describe(
                node,
                "**Not published:** stays in DuckDB (not under models/staging/ or "
                "models/marts/, or meta.publish: none)",
            )
            continue
        facts = _delta_facts(settings, layer, node["name"])
        for where in (node.setdefault("meta", {}), config.setdefault("meta", {})):
            where.update(facts)
        if facts.get("delta_version") is None:
            when = "not published yet"
        else:
            when = f"version {facts['delta_version']}, last published {facts['delta_published_at']}"
        _describe(node, f"**Published as Delta ({layer}):** `{facts['delta_location']}`, {when}")
        count += 1
    manifest_path.write_text(json.dumps(manifest))
    return count


_NOTE_MARKS = ("**Published as Delta", "**Not published:**")


def _describe(node: dict[str, Any], note: str) -> None:
    """``note`` as the last paragraph of the node's description (an older note replaced)."""
    kept = [
        p
        for p in (node.get("description") or "").split("\n\n")
        if not p.strip().startswith(_NOTE_MARKS)
    ]
    node["description"] = "\n\n".join([*kept, note]).strip()


def _delta_facts(settings: Settings, layer: Layer, name: str) -> dict[str, Any]:
    """Where a model is published, its current version and when it was last published."""
    from deltalake.exceptions import TableNotFoundError

    from lakehouse.catalog import open_table

    facts: dict[str, Any] = {
        "delta_location": _shown_path(settings, settings.dados / layer / name),
        "delta_version": None,
        "delta_published_at": None,
    }
    try:
        table = open_table(settings, layer, name)
    except (TableNotFoundError, OSError):
        return facts
    facts["delta_version"] = table.version()
    for commit in table.history(100):  # the newest publish (upkeep commits skipped)
        if "lakehouse.model" in commit and commit.get("timestamp"):
            stamp = datetime.fromtimestamp(commit["timestamp"] / 1000, UTC)
            facts["delta_published_at"] = stamp.isoformat(timespec="seconds")
            break
    return facts


def _shown_path(settings: Settings, path: Location) -> str:
    if not isinstance(path, Path):
        return str(path)
    try:
        return str(path.relative_to(settings.root))
    except ValueError:
        return str(path)


def serve_docs(
    directory: Path,
    *,
    port: int,
    host: str = "127.0.0.1",
    ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve the generated docs on ``host:port`` until Ctrl-C (or ``stop`` is set)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    with ThreadingHTTPServer((host, port), handler) as server:
        url = f"http://{host}:{server.server_address[1]}/"
        if ready is not None:
            ready(url)
        if stop is None:
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
            return
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stop.wait()
        server.shutdown()
        thread.join()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("docs: " + format, *args)
