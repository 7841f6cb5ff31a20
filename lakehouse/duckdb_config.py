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
    """Apply the lakehouse's limits to a database someone else opened (dbt's), and let its
    group-bys by a dimension key take a perfect hash table (:func:`perfect_hash_bits`)."""
    for name, value in duckdb_options(settings, role).items():
        conn.execute(f"set {name} = '{value.replace(chr(39), chr(39) * 2)}'")
    limit, threads = conn.execute(
        "select current_setting('memory_limit'), current_setting('threads')"
    ).fetchall()[0]
    # global: dbt's and the publish's cursors are connections of their own (a plain set
    # would hold for this one only)
    bits = perfect_hash_bits(_bytes(str(limit)), int(threads))
    conn.execute(f"set global perfect_ht_threshold = {bits}")


#: DuckDB's own perfect_ht_threshold: a group key of at most 2**12 values
DUCKDB_PERFECT_BITS = 12
#: a group key of at most 2**17 = 131,072 values (customers, products, days of 359 years)
PERFECT_BITS = 17
#: the aggregate state of a group assumed in bounding the perfect hash table's array
_STATE_BYTES = 256
_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}


def perfect_hash_bits(memory_limit: int, threads: int) -> int:
    """The builds' ``perfect_ht_threshold``: how wide (in bits of its range, from the column's
    statistics) an integer group key may be for DuckDB to aggregate it in a perfect hash table,
    an array indexed by the key, instead of a hash table.

    A mart grouped by a dimension key (``group by customer_id`` over 10M orders of 100,000
    customers) then takes about half the CPU; the result is the same (a test compares them).
    Each of DuckDB's threads allocates the array whole, ``2**bits`` groups, outside
    ``memory_limit``, and a small table whose keys are spread over that range pays for it
    (~4 ms a query at 17 bits, 2 threads). So 17 bits only while that array, for a group
    state of 256 bytes, stays under an eighth of the memory limit on every thread (a
    container's 1 GiB on 4 threads: yes; 256 threads in 16 GiB: no); else DuckDB's 12."""
    if threads * (2**PERFECT_BITS) * _STATE_BYTES <= memory_limit // 8:
        return PERFECT_BITS
    return DUCKDB_PERFECT_BITS


def _bytes(shown: str) -> int:
    """DuckDB's ``current_setting('memory_limit')`` (``5.8 GiB``, ``512.0 MiB``) in bytes."""
    number, _, unit = shown.strip().partition(" ")
    return int(float(number) * _UNITS.get(unit.strip(), 1))
