"""The publish's check for times no Delta reader can bound (transform.publish._unbounded_times)
reads each column's least and greatest value: it must name exactly the columns a test of every
row names, whatever the values (infinities, the edges of 0001-9999, NULLs) and whatever the
table went through (rows deleted or updated after the values were written)."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transform.publish import _FIRST_US, _LAST_US, _unbounded_times

_DAY_US = 86_400_000_000


def _every_row(cur: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> list[str]:
    """The reference: each row's value tested on its own."""
    checks = ", ".join(
        f"bool_or(isinf({c}) or epoch_us({c}) not between {_FIRST_US} and {_LAST_US})"
        for c in columns
    )
    [found] = cur.sql(f"select {checks} from {relation}").fetchall()
    return [c for c, far in zip(columns, found, strict=True) if far]


@pytest.fixture(scope="module")
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    yield con
    con.close()


_EDGES = [
    "'infinity'",
    "'-infinity'",
    None,
    "'9999-12-31 23:59:59.999999+00'",
    "'10000-01-01 00:00:00+00'",
    "'0001-01-01 00:00:00+00'",
    "'0001-01-01 00:00:00+00'::timestamptz - interval 1 microsecond",
    "'2024-05-06 07:08:09+00'",
]
_microseconds = st.integers(min_value=_FIRST_US - 50 * _DAY_US, max_value=_LAST_US + 50 * _DAY_US)
_value = st.one_of(
    st.sampled_from(_EDGES),
    _microseconds.map(lambda us: f"make_timestamptz({us})"),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stamps=st.lists(_value, min_size=1, max_size=12),
    dates=st.lists(_value, min_size=1, max_size=12),
    gone=st.sets(st.integers(min_value=0, max_value=11)),
    changed=st.sets(st.integers(min_value=0, max_value=11)),
)
def test_least_and_greatest_name_the_columns_every_row_names(
    conn: duckdb.DuckDBPyConnection,
    stamps: list[str | None],
    dates: list[str | None],
    gone: set[int],
    changed: set[int],
) -> None:
    rows = max(len(stamps), len(dates))

    def value(values: list[str | None], i: int, cast: str) -> str:
        item = values[i % len(values)]
        return f"null::{cast}" if item is None else f"({item})::timestamptz::{cast}"

    body = ", ".join(
        f"({i}, {value(stamps, i, 'timestamptz')}, {value(dates, i, 'date')},"
        f" {value(stamps, i + 1, 'timestamp')})"
        for i in range(rows)
    )
    conn.execute(
        "create or replace table far (k bigint, t timestamptz, d date, n timestamp);"
        f" insert into far values {body}"
    )
    # stored statistics widened by rows that went away or changed must not decide
    conn.execute(f"delete from far where k in ({', '.join(map(str, gone)) or 'null'})")
    conn.execute(
        "update far set t = timestamptz '2020-01-01 00:00:00+00', d = date '2020-01-01'"
        f" where k in ({', '.join(map(str, changed)) or 'null'})"
    )
    columns = ["t", "d", "n"]
    assert _unbounded_times(conn, "select * from far") == _every_row(conn, "far", columns)
    view = "select * from far where k % 2 = 0"
    assert _unbounded_times(conn, view) == _every_row(conn, f"({view})", columns)


def test_a_value_out_of_range_deleted_from_a_kept_table_no_longer_counts(
    tmp_path: object,
) -> None:
    """On a table DuckDB has checkpointed (its row groups' statistics on disk), a far value
    deleted or updated away no longer makes its column far: the answer is the rows' own."""
    con = duckdb.connect(f"{tmp_path}/w.duckdb")
    con.execute("set TimeZone = 'UTC'")
    con.execute(
        "create table far as select i::bigint as k, case when i = 7 then"
        " timestamptz 'infinity' when i = 9 then timestamptz '10000-01-01 00:00:00+00'"
        " else make_timestamptz(i * 1000000) end as t from range(300000) r(i)"
    )
    con.execute("checkpoint")
    assert _unbounded_times(con, "select * from far") == ["t"]
    con.execute("delete from far where k = 7")
    con.execute("update far set t = timestamptz '2020-01-01 00:00:00+00' where k = 9")
    con.execute("checkpoint")
    assert _unbounded_times(con, "select * from far") == []
    assert _every_row(con, "far", ["t"]) == []
    con.close()
