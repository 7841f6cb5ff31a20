"""auditC findings: the real API (TestClient of the real app) and the real loader on one file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from ingest import create_app
from lakehouse import Settings
from lakehouse.layout import raw_dir
from loader import Loader


def settings(root: Path, **overrides: Any) -> Settings:
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        del os.environ[key]
    (root / "dbt_project" / "models").mkdir(parents=True, exist_ok=True)
    return Settings(
        root=root,
        dbt_project_dir=root / "dbt_project",
        api_ready_requires_loader=False,
        api_min_free_bytes=0,
        api_rate_per_token=0,
        batch_window_ms=0,
        **overrides,
    )


def api(s: Settings, table: str, name: str, data: bytes) -> tuple[int, Any]:
    with TestClient(create_app(s)) as client:
        r = client.post(
            f"/v1/tables/{table}/files?filename={name}",
            content=data,
            headers={"content-type": "application/octet-stream"},
        )
    return r.status_code, r.json().get("detail")


def loader(s: Settings, table: str, name: str, data: bytes) -> dict[str, Any] | None:
    """The file dropped into the landing zone as is; one loader pass; its .error.json."""
    folder = raw_dir(s, table)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f".{name}.part").write_bytes(data)
    os.replace(folder / f".{name}.part", folder / name)
    Loader(s).load_pending()
    q = s.quarantine_dir / table
    for p in q.glob("*.error.json") if q.is_dir() else []:
        found: dict[str, Any] = json.loads(p.read_text())
        return found
    return None
