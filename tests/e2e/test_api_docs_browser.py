"""The OpenAPI UI renders in a real (headless) browser with no internet: assets are served here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ingest import BackgroundServer
from lakehouse import Settings


@pytest.mark.e2e
def test_swagger_ui_renders_offline(settings: Settings, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on this machine")
    with BackgroundServer(settings) as server:
        dom = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                f"{server.url}/docs",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        ).stdout
    assert "opblock" in dom  # Swagger UI ran and drew the operations
    assert "/v1/tables/{table}/records" in dom and "/v1/batches/{batch_id}" in dom
