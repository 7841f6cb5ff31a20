"""dbt's docs site: where it is generated, each published model's Delta location, a server."""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lakehouse.settings import Settings
from lakehouse.storage import Location

__all__ = ["annotate_docs", "docs_target", "serve_docs"]

log = logging.getLogger(__name__)


def docs_target(settings: Settings) -> Path:
    return settings.dbt_project_dir / "target"


def annotate_docs(settings: Settings, manifest_path: Path) -> int:
    """Write each published model's Delta location into the docs' manifest (meta + text)."""
    from transform.publish import publish_layer

    manifest = json.loads(manifest_path.read_text())
    count = 0
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        config = node.get("config") or {}
        meta = {**(node.get("meta") or {}), **(config.get("meta") or {})}
        layer = publish_layer(node.get("fqn") or [], meta)
        if layer is None or config.get("materialized") == "ephemeral":
            continue
        location = settings.dados / layer / node["name"]
        shown = _shown_path(settings, location)
        node.setdefault("meta", {})["delta_location"] = shown
        config.setdefault("meta", {})["delta_location"] = shown
        note = f"**Published as Delta ({layer}):** `{shown}`"
        description = node.get("description") or ""
        if note not in description:
            node["description"] = f"{description}\n\n{note}".strip()
        count += 1
    manifest_path.write_text(json.dumps(manifest))
    return count


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
