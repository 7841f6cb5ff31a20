"""Fixtures for the ingest API: settings with a contract of our own, apps, clients, tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest import create_app, create_token
from lakehouse import Settings


@pytest.fixture
def api_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Settings in ``tmp_path`` (the shared fixture clears LAKEHOUSE_* first)."""
    return make_settings(tmp_path)


@pytest.fixture
def app(api_settings: Settings) -> FastAPI:
    """Development mode, no tokens, loopback: anonymous full access."""
    return create_app(api_settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def tokens(api_settings: Settings) -> dict[str, str]:
    """Tokens issued for real (so anonymous access ends): name -> bearer header value."""
    issued = {
        "write": create_token(api_settings, scopes=["write"], tables=[], name="w"),
        "read": create_token(api_settings, scopes=["read"], tables=[], name="r"),
        "admin": create_token(api_settings, scopes=["admin"], tables=[], name="a"),
        "orders": create_token(
            api_settings, scopes=["write", "read"], tables=["orders"], name="orders only"
        ),
    }
    return {name: f"Bearer {token}" for name, token in issued.items()}
