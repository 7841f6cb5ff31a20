"""Fixtures for the adversary: one lakehouse per module, its environment cleared."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from adversary_support import lakehouse

from ingest.parsing import Parsers
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


@pytest.fixture
def parquet_checked_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's Parquet checks run in this process, not in its worker processes
    (``ingest.parsing.Parsers.apart``, session 18): for a test that lowers a module's bound
    (``monkeypatch.setattr``) to show on a small file what the real bound does, which the
    workers, importing the module afresh, would not see. Everything else is the real route."""

    async def here(self: Parsers, check: functools.partial[int]) -> int:
        return await asyncio.to_thread(check)

    monkeypatch.setattr(Parsers, "apart", here)
