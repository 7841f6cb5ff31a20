"""Every DuckDB database the lakehouse opens gets a memory limit and a spill folder from Settings.

DuckDB's own default is 80% of the machine's memory per database, and an in-memory database
spills to ``.tmp`` in the working directory: a big build beside the loader could take the whole
box (9.7 GiB was seen at 100M rows) and get the process killed. Here each database gets
``duckdb_memory_limit`` (default ``25%``; docs/operations.md, Memory) and spills into a folder
of its own under ``duckdb_temp_dir`` (``<role>-<pid>-<n>``: DuckDB creates it on the first spill
and removes it when the database closes).
"""

from __future__ import annotations

import itertools
import logging
import os
from typing import TYPE_CHECKING, Any

from lakehouse.settings import Settings

if TYPE_CHECKING:
    import duckdb

__all__ = ["configure", "connect", "duckdb_options"]

_SERIAL = itertools.count()
log = logging.getLogger(__name__)


def duckdb_options(settings: Settings, role: str) -> dict[str, str]:
    """``memory_limit`` and ``temp_directory`` for one new database of ``role`` (a word)."""
    options = {"memory_limit": settings.duckdb_memory_limit.strip()}
    base = settings.duckdb_temp_dir
    assert base is not None  # set by Settings
    try:
        base.mkdir(parents=True, exist_ok=True)  # DuckDB makes only the last folder
    except OSError as exc:  # a read-only state folder (lakehouse status elsewhere): no spilling
        log.warning("DuckDB cannot spill to %s (%s): a query past the limit fails", base, exc)
        options["temp_directory"] = ""  # not DuckDB's .tmp in the working directory
        return options
    options["temp_directory"] = str(base / f"{role}-{os.getpid()}-{next(_SERIAL)}")
    return options


def connect(settings: Settings, role: str) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB database with the lakehouse's limits."""
    import duckdb

    config: dict[str, Any] = dict(duckdb_options(settings, role))
    return duckdb.connect(config=config)


def configure(conn: duckdb.DuckDBPyConnection, settings: Settings, role: str) -> None:
    """Apply the lakehouse's limits to a database someone else opened (dbt's)."""
    for name, value in duckdb_options(settings, role).items():
        conn.execute(f"set {name} = '{value.replace(chr(39), chr(39) * 2)}'")
