"""The dbt database's group-bys by a key of up to 2**17 values take DuckDB's perfect hash table
(lakehouse.duckdb_config.perfect_hash_bits): the same result as its hash table, bounded memory."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from lakehouse import duckdb_config
from lakehouse.settings import Settings

GIB = 2**30

#: group-bys a mart writes: counts, sums (to hugeint), bounds, distinct counts, averages,
#: ordered lists, text, on one key or two, with NULL keys and negative keys
QUERIES = [
    "select k, count(*), count(v), sum(v), min(v), max(v), avg(v), count(distinct v)"
    " from t group by k",
    "select k, j, sum(v)::hugeint, max(s), min(s), bool_or(v > 0) from t group by k, j",
    "select k, list(v order by v nulls first), string_agg(s, ',' order by s) from t group by k",
    "select k // 7 as b, count(*), sum(v) from t group by all",
]


@pytest.fixture
def conn(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    duckdb_config.configure(con, settings, "dbt")
    yield con
    con.close()


def _rows(conn: duckdb.DuckDBPyConnection, query: str, bits: int) -> list[tuple[object, ...]]:
    conn.execute(f"set perfect_ht_threshold = {bits}")
    return sorted(conn.sql(query).fetchall(), key=repr)


def test_the_dbt_database_takes_17_bits_within_its_memory(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    (threads,) = conn.execute("select current_setting('threads')").fetchall()[0]
    expected = duckdb_config.perfect_hash_bits(
        duckdb_config._bytes(
            str(conn.execute("select current_setting('memory_limit')").fetchall()[0][0])
        ),
        int(threads),
    )
    for cursor in (conn, conn.cursor()):  # dbt and the publish query through cursors
        shown = cursor.execute("select current_setting('perfect_ht_threshold')").fetchall()
        assert int(shown[0][0]) == expected
    conn.execute("create table t as select (i * 20)::bigint as k, i as v from range(5000) t(i)")
    plan = conn.sql("explain select k, count(*) from t group by k").fetchall()[0][1]
    assert ("PERFECT" in plan.upper()) == (expected >= 17)


def test_the_array_stays_an_eighth_of_the_limit_else_duckdbs_default() -> None:
    assert duckdb_config.perfect_hash_bits(GIB, 4) == 17  # a 1 GiB container, 4 threads
    assert duckdb_config.perfect_hash_bits(6 * GIB, 2) == 17
    assert duckdb_config.perfect_hash_bits(GIB // 2, 4) == 12
    assert duckdb_config.perfect_hash_bits(16 * GIB, 256) == 12
    assert duckdb_config._bytes("5.8 GiB") == int(5.8 * GIB)
    assert duckdb_config._bytes("512.0 MiB") == 512 * 2**20
    assert duckdb_config._bytes("0 bytes") == 0


keys = st.one_of(st.none(), st.integers(-70_000, 70_000))
values = st.one_of(st.none(), st.integers(-(2**62), 2**62))
rows = st.lists(
    st.tuples(keys, st.integers(-3, 3), values, st.one_of(st.none(), st.text(max_size=3))),
    max_size=300,
)


@given(rows=rows, spread=st.sampled_from([1, 2, 97]))
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_perfect_hash_aggregate_gives_the_hash_aggregates_result(
    conn: duckdb.DuckDBPyConnection,
    rows: list[tuple[int | None, int, int | None, str | None]],
    spread: int,
) -> None:
    """Keys within 2**17 of each other (the range DuckDB reads from the table's statistics),
    NULL and negative keys, sums past int64: every query gives the same rows either way."""
    conn.execute("create or replace table t (k bigint, j integer, v bigint, s varchar)")
    if rows:
        conn.executemany(
            "insert into t values (?, ?, ?, ?)",
            [(None if k is None else k // spread, j, v, s) for k, j, v, s in rows],
        )
    for query in QUERIES:
        assert _rows(conn, query, 17) == _rows(conn, query, 12), query
