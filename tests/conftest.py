"""Shared fixtures: settings rooted in a temporary folder, so every test has its own lakehouse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse import Settings, get_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings whose data folders live under ``tmp_path``; the dbt project is the repo's."""
    for key in list(__import__("os").environ):
        if key.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(key)
    get_settings.cache_clear()
    yield Settings(
        root=tmp_path,
        dbt_project_dir=REPO / "dbt_project",
        profiles_dir=REPO,
        batch_window_ms=0,
    )
    get_settings.cache_clear()


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (a user's clone)")
    return SHARED
