"""Fixtures for the adversary: one lakehouse per module, its environment cleared."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from adversary_support import lakehouse

from ingest.server import BackgroundServer
from lakehouse import Settings


@pytest.fixture(scope="module")
def module_lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("LAKEHOUSE_"):
                mp.delenv(key)
        yield lakehouse(Path(tmp_path_factory.mktemp("adversary")))


@pytest.fixture
def one_lakehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A lakehouse of one test, its environment cleared."""
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    return lakehouse(tmp_path)


@pytest.fixture
def api(one_lakehouse: Settings) -> Iterator[httpx.Client]:
    """A client of the real API serving ``one_lakehouse`` (uvicorn on loopback, a free port)."""
    with BackgroundServer(one_lakehouse) as server, httpx.Client(base_url=server.url) as client:
        yield client
