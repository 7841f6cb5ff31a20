"""A model's TIMESTAMP_NS values (a dbt Python model on Polars or pandas, a Parquet written by
pandas, ``timestamp_ns``/``make_timestamp_ns`` SQL) are published as microseconds: a value that
is not a whole microsecond is refused, never rounded (review finding auditR 02: 00:00:00.123456789
was published as .123457, nothing said). docs/dbt.md, "Types on the way out"."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from lakehouse import Settings
from lakehouse.storage import arrow_dataset
from transform.publish import ModelSpec, Publisher, PublishError

WHOLE = "2024-01-01 00:00:00.123456"
AT = datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)


def _spec(**kw: Any) -> ModelSpec:
    return ModelSpec(
        unique_id="model.lakehouse.events",
        name="events",
        relation="main.events",
        layer="gold",
        unique_key=("k",),
        **kw,
    )


def _rows(settings: Settings) -> list[dict[str, Any]]:
    table = DeltaTable(str(settings.dados / "gold" / "events"))
    return arrow_dataset(table).to_table().sort_by("k").to_pylist()


#: (the column, a TIMESTAMP_NS ``{}`` inside it, its field path, the value published)
SHAPES = {
    "top": ("{}", "", lambda v: v),
    "struct": ("struct_pack(seen := {}, n := 1)", " (ts.seen)", lambda v: {"seen": v, "n": 1}),
    "list": ("[null, {}]", " (ts[])", lambda v: [None, v]),
    "map": ("map {{'a': {}}}", " (ts.value)", lambda v: [("a", v)]),
    "depth_2": ("[struct_pack(seen := [{}])]", " (ts[].seen[])", lambda v: [{"seen": [v]}]),
}


@pytest.mark.parametrize("timestamps", ["utc", "ntz"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_nanosecond_that_is_no_whole_microsecond_is_refused(
    settings: Settings, conn: duckdb.DuckDBPyConnection, shape: str, timestamps: str
) -> None:
    template, field, _ = SHAPES[shape]
    conn.execute(
        "create table events as select i::bigint as k,"
        f" {template.format('timestamp_ns ' + repr(WHOLE) + ' + to_microseconds(i)')} as ts"
        " from range(3) t(i)"
    )
    conn.execute(  # the second row gets 789 ns past its microsecond
        f"update events set ts = {template.format(repr(WHOLE + '789') + '::timestamp_ns')}"
        " where k = 1"
    )
    words = re.escape(f"model events, column ts{field}: ") + r".*2024-01-01 00:00:00\.123456789"
    with pytest.raises(PublishError, match=words + ".*not a whole microsecond"):
        Publisher(settings, conn).publish(_spec(timestamps=timestamps))
    assert not (settings.dados / "gold" / "events").exists()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_whole_microseconds_publish_exactly(
    settings: Settings, conn: duckdb.DuckDBPyConnection, shape: str
) -> None:
    template, _, published = SHAPES[shape]
    conn.execute(
        "create table events as select 1::bigint as k,"
        f" {template.format(repr(WHOLE + '000') + '::timestamp_ns')} as ts"
        " union all select 2, null"
        f" union all select 3, {template.format(repr('infinity') + '::timestamp_ns')}"
    )
    Publisher(settings, conn).publish(_spec())
    table = DeltaTable(str(settings.dados / "gold" / "events"))
    assert table.count() == 3  # infinity is no fraction of a microsecond (Python has no datetime
    # for it: the first two rows are read)
    rows = arrow_dataset(table).to_table(filter=pc.field("k") < 3).sort_by("k").to_pylist()
    assert rows == [{"k": 1, "ts": published(AT)}, {"k": 2, "ts": None}]


def test_a_refused_change_leaves_the_published_table_as_it_was(
    settings: Settings, conn: duckdb.DuckDBPyConnection
) -> None:
    conn.execute(f"create table events as select 1::bigint as k, '{WHOLE}'::timestamp_ns as ts")
    publisher = Publisher(settings, conn)
    publisher.publish(_spec())
    conn.execute(f"insert into events values (2, '{WHOLE}001'::timestamp_ns)")
    with pytest.raises(PublishError, match=r"column ts: 2024-01-01 00:00:00\.123456001 holds"):
        publisher.publish(_spec())
    assert DeltaTable(str(settings.dados / "gold" / "events")).version() == 0
    assert _rows(settings) == [{"k": 1, "ts": AT}]


def test_a_polars_frame_of_nanoseconds(settings: Settings, conn: duckdb.DuckDBPyConnection) -> None:
    """What a dbt Python model on Polars returns: ``pl.Datetime('ns')`` is TIMESTAMP_NS."""
    frame = pl.DataFrame(
        {
            "k": [1, 2],
            "ts": pl.Series([1_704_067_200_123_456_000, 1_704_067_200_123_456_789]).cast(
                pl.Datetime("ns")
            ),
        }
    )
    conn.register("frame", frame)
    conn.execute("create table events as select * from frame")
    assert str(conn.sql("select ts from events").types[0]) == "TIMESTAMP_NS"
    with pytest.raises(PublishError, match=r"00:00:00\.123456789 holds a TIMESTAMP_NS"):
        Publisher(settings, conn).publish(_spec())
    conn.execute("delete from events where k = 2")
    Publisher(settings, conn).publish(_spec())
    assert _rows(settings) == [{"k": 1, "ts": AT}]


def test_map_keys_that_become_one_microsecond_are_refused(
    settings: Settings, conn: duckdb.DuckDBPyConnection
) -> None:
    """A silver model's MAP whose TIMESTAMP_NS keys differ only below the microsecond: cut to
    microseconds they would be one key. The check through microseconds raised DuckDB's own
    "Map keys must be unique" (an InvalidInputException, no model or column named); now a
    PublishError names the model, the column, the map, and why."""
    conn.execute(
        "create table events as select 1::bigint as k,"
        f" map {{'{WHOLE}001'::timestamp_ns: 1, '{WHOLE}002'::timestamp_ns: 2}} as m"
        f" union all select 2, map {{'{WHOLE}'::timestamp_ns: 3}}"
    )
    spec = ModelSpec(
        unique_id="model.lakehouse.events",
        name="events",
        relation="main.events",
        layer="silver",
        unique_key=("k",),
    )
    words = re.escape("model events, column m (m.key): {'2024-01-01 00:00:00.123456001'=1")
    with pytest.raises(PublishError, match=words + ".*would become one key"):
        Publisher(settings, conn).publish(spec)
    assert not (settings.dados / "silver" / "events").exists()
