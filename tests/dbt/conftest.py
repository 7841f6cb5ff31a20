"""Fixtures shared by the dbt and publish tests."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection in UTC (the publisher's own setting), as the runtime's is.
    A module may define its own ``conn`` (another scope, no time zone, its own types)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    yield con
    con.close()
