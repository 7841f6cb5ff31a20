"""Values at the edge of what the published statistics can say: a model holding them publishes,
and every Delta reader still finds their rows (transform.publish, transform.delta_files)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, QueryBuilder, write_deltalake

from lakehouse import Settings
from lakehouse.delta_stats import STATS_COLUMNS
from lakehouse.storage import arrow_dataset
from transform.publish import ModelSpec, Publisher


def _model(name: str) -> ModelSpec:
    return ModelSpec(
        unique_id=f"model.lakehouse.{name}",
        name=name,
        relation=f"main.{name}",
        layer="gold",
        unique_key=("k",),
    )


def _ids(table: DeltaTable, where: str) -> list[int]:
    """The keys DataFusion (deltalake's ``QueryBuilder``) finds ``where``."""
    found = QueryBuilder().register("t", table).execute(f"select k from t where {where}")
    return sorted(pa.table(found.read_all()).column("k").to_pylist())


@pytest.mark.parametrize(
    "value",
    ["timestamptz '9999-12-31 23:59:59.999999+00'", "timestamp '9999-12-31 23:59:59.9999'"],
)
def test_a_model_holding_the_end_of_time_publishes(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path, value: str
) -> None:
    """The "end of time" of a slowly changing dimension (``valid_to``), in the last millisecond
    of 9999, has no millisecond above it to be the file's maximum: the column gets no bounds,
    and the build publishes (it failed with OverflowError on every build)."""
    conn.execute(
        "create table main.dim_customer as select 1::bigint as k,"
        f" timestamptz '2024-01-01 00:00:00+00' as valid_from, {value} as valid_to"
    )
    settings = Settings(root=tmp_path)
    published = Publisher(settings, conn).publish(_model("dim_customer"))
    assert published.mode == "overwrite" and published.rows == 1
    table = DeltaTable(str(settings.dados / "gold" / "dim_customer"))
    assert table.count() == 1
    kind = pa.schema(table.schema().to_arrow()).field("valid_to").type
    edge = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC if kind.tz else None)
    found = arrow_dataset(table).to_table(filter=pads.field("valid_to") > pa.scalar(edge, kind))
    assert found.column("k").to_pylist() == [1]


def test_nan_rows_published_by_every_path_are_found_by_delta_readers(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """A NaN in a published float column (DuckDB: ``'NaN'::double > 10``): written by DuckDB (a
    rewrite), then by delta-rs (an append of new rows, a merge of changed ones), it is found by
    DataFusion for ``x > 10``: no float bounds in the add actions, none in delta-rs's footers
    (which would leave NaN out: lakehouse.delta_stats)."""
    settings = Settings(root=tmp_path)
    publisher = Publisher(settings, conn, batch_rows=1024)
    model = _model("readings")
    conn.execute(
        "create table main.readings as select i::bigint as k,"
        " case when i = 5 then 'NaN'::double else i * 0.001 end as x from range(1, 2001) t(i)"
    )
    assert publisher.publish(model).mode == "overwrite"
    conn.execute("insert into main.readings values (2001, 'NaN'::double), (2002, 0.5), (2003, 0.7)")
    assert publisher.publish(model).mode == "append"
    table = DeltaTable(str(settings.dados / "gold" / "readings"))
    assert _ids(table, "x > 10") == [5, 2001]
    # in the small file: a NaN and a number both changed, a number kept
    conn.execute("update main.readings set x = 'NaN'::double where k = 2002")
    conn.execute("update main.readings set x = 0.9 where k = 2001")
    assert publisher.publish(model).mode == "merge"
    table.update_incremental()
    assert _ids(table, "x > 10") == [5, 2002]
    names = pa.table(table.get_add_actions(flatten=True)).schema.names
    assert "max.x" not in names and "max.k" in names
    for uri in table.file_uris():
        meta = pq.read_metadata(uri.removeprefix("file://"))
        x = meta.schema.names.index("x")
        groups = [meta.row_group(g).column(x).statistics for g in range(meta.num_row_groups)]
        assert not any(s is not None and s.has_min_max for s in groups), meta.created_by


@pytest.mark.parametrize(
    "where",
    ["at_ = timestamptz '2024-01-01 00:00:00+00'", "naive = timestamp '2024-01-01 00:00:00'"],
)
def test_a_model_holding_a_year_before_1000_is_found_by_filtered_reads(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path, where: str
) -> None:
    """A "beginning of time" (0001-01-01) or any year before 1000 gets a four-digit year in the
    file's bounds: ``1-01-01T00:00:00.000Z`` is no bound to deltalake, whose Arrow dataset (dbt's
    read, DuckDB over it) then skipped the file for any filter on the column."""
    conn.execute(
        "create table main.eras as select * from (values"
        " (1::bigint, timestamptz '0001-01-01 00:00:00+00', timestamp '0999-06-01 00:00:00'),"
        " (2::bigint, timestamptz '2024-01-01 00:00:00+00', timestamp '2024-01-01 00:00:00')"
        ") v(k, at_, naive)"
    )
    settings = Settings(root=tmp_path)
    assert Publisher(settings, conn).publish(_model("eras")).rows == 2
    table = DeltaTable(str(settings.dados / "gold" / "eras"))
    reader = duckdb.connect()
    reader.register("published", arrow_dataset(table))
    assert reader.sql("select count(*) from published").fetchall() == [(2,)]
    assert reader.sql(f"select k from published where {where}").fetchall() == [(2,)]
    assert _ids(table, where) == [2]


@pytest.mark.parametrize(
    "far",
    [
        "timestamptz '9999-12-31 00:00:00+00' + interval 2 days",
        "timestamptz '0001-01-01 00:00:00+00' - interval 3 days",
        "timestamp '9999-12-31 00:00:00' + interval 10000 years",
        "'infinity'::timestamptz",
        "date '9999-12-31' + 2",
        "date '0001-01-01' - 5",
    ],
)
def test_a_model_computing_a_time_past_9999_keeps_every_file_findable(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path, far: str
) -> None:
    """A model can compute an instant or date no Python ``datetime`` holds (past 9999-12-31,
    before year 1, infinite: DuckDB's reach to year 294247). Its file's add action can carry no
    readable bound for the column, and deltalake's Arrow dataset skipped that file for any
    filter on it (0 rows where 2 match). The publish keeps such a column out of the table's
    statistics columns, for a rewrite and for the appends and merges after it."""
    conn.execute(
        f"create table main.spans as select i::bigint as k, case when i = 0 then {far}"
        " else timestamptz '2024-01-01 00:00:00+00' end as valid_to from range(3) t(i)"
    )
    settings = Settings(root=tmp_path)
    publisher = Publisher(settings, conn)
    model = _model("spans")
    assert publisher.publish(model).rows == 3
    table = DeltaTable(str(settings.dados / "gold" / "spans"))
    kind = pa.schema(table.schema().to_arrow()).field("valid_to").type
    day: object = datetime(2024, 1, 1, tzinfo=UTC if getattr(kind, "tz", None) else None)
    if pa.types.is_date32(kind):
        day = datetime(2024, 1, 1).date()
    match = pads.field("valid_to") == pa.scalar(day, kind)
    assert arrow_dataset(table).count_rows(filter=match) == 2
    assert "valid_to" not in table.metadata().configuration[STATS_COLUMNS]
    assert "`k`" in table.metadata().configuration[STATS_COLUMNS]
    # later writes by delta-rs (an append of new rows, a merge of changed ones) keep it out
    conn.execute("insert into main.spans values (3, '2024-01-01'), (4, '2030-01-01')")
    assert publisher.publish(model).mode == "append"
    conn.execute("update main.spans set valid_to = '2031-01-01' where k = 4")
    assert publisher.publish(model).mode == "merge"
    table.update_incremental()
    assert arrow_dataset(table).count_rows(filter=match) == 3
    assert arrow_dataset(table).count_rows() == 5


def test_a_model_without_far_times_keeps_their_statistics(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Only a column holding such a value leaves the statistics: times within 0001-9999 (the
    end of time included) keep their bounds, and the table its default configuration."""
    conn.execute(
        "create table main.spans as select i::bigint as k, case when i = 0 then"
        " timestamptz '9999-12-31 23:59:59.999999+00' else timestamptz '0001-01-01 00:00:00+00'"
        " end as valid_to, date '9999-12-31' as until from range(3) t(i)"
    )
    settings = Settings(root=tmp_path)
    Publisher(settings, conn).publish(_model("spans"))
    table = DeltaTable(str(settings.dados / "gold" / "spans"))
    assert STATS_COLUMNS not in table.metadata().configuration
    names = pa.table(table.get_add_actions(flatten=True)).schema.names
    assert "min.valid_to" in names and "max.until" in names


@pytest.mark.parametrize("how", ["append", "merge"])
def test_a_time_past_9999_first_written_by_an_append_or_merge_leaves_the_statistics(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path, how: str
) -> None:
    """A far time that first comes with a batch (a new row appended, a row changed by a merge)
    is found in the rows written: the column leaves the statistics before delta-rs writes its
    file, and a filtered read still finds every row."""
    conn.execute(
        "create table main.spans as select i::bigint as k,"
        " timestamptz '2024-01-01 00:00:00+00' as valid_to from range(3) t(i)"
    )
    settings = Settings(root=tmp_path)
    publisher = Publisher(settings, conn)
    model = _model("spans")
    assert publisher.publish(model).mode == "overwrite"
    table = DeltaTable(str(settings.dados / "gold" / "spans"))
    assert STATS_COLUMNS not in table.metadata().configuration
    conn.execute("insert into main.spans values (3, '2024-01-01'), (4, '2024-01-01')")
    assert publisher.publish(model).mode == "append"  # a second file, for the merge to touch
    far = "timestamptz '9999-12-31 00:00:00+00' + interval 2 days"
    if how == "append":
        conn.execute(f"insert into main.spans values (5, {far}), (6, '2024-01-01')")
    else:
        conn.execute(f"update main.spans set valid_to = {far} where k = 4")
    assert publisher.publish(model).mode == how
    table.update_incremental()
    assert "valid_to" not in table.metadata().configuration[STATS_COLUMNS]
    match = pads.field("valid_to") == pa.scalar(
        datetime(2024, 1, 1, tzinfo=UTC), pa.timestamp("us", "UTC")
    )
    assert arrow_dataset(table).count_rows(filter=match) == (6 if how == "append" else 4)


def test_an_append_to_a_table_whose_files_hold_an_unbounded_time_reads_the_whole_model(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """A table written before the publish looked for far times (here by delta-rs itself) may
    hold one in a file whose add action then has no readable bound: the rows a later append
    writes are not all there is to check. The publish reads the whole model then, and the
    column leaves the statistics, so the old file is found again by a filtered read."""
    conn.execute(
        "create table main.spans as select i::bigint as k, case when i = 0 then"
        " timestamptz '9999-12-31 00:00:00+00' + interval 2 days"
        " else timestamptz '2024-01-01 00:00:00+00' end as valid_to from range(3) t(i)"
    )
    settings = Settings(root=tmp_path)
    path = settings.dados / "gold" / "spans"
    write_deltalake(str(path), conn.sql("select * from main.spans").to_arrow_table())
    table = DeltaTable(str(path))
    match = pads.field("valid_to") == pa.scalar(
        datetime(2024, 1, 1, tzinfo=UTC), pa.timestamp("us", "UTC")
    )
    # the defect the check prevents, in deltalake's own dataset (arrow_dataset keeps no
    # statistics guarantees since session 10)
    assert table.to_pyarrow_dataset().count_rows(filter=match) == 0
    conn.execute("insert into main.spans values (3, '2024-01-01'), (4, '2030-01-01')")
    assert Publisher(settings, conn).publish(_model("spans")).mode == "append"
    table.update_incremental()
    assert "valid_to" not in table.metadata().configuration[STATS_COLUMNS]
    assert arrow_dataset(table).count_rows(filter=match) == 3


def test_an_append_keeps_the_statistics_of_times_readers_can_bound(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The end of time and the beginning of it, in the published files and in an appended
    batch, keep the column's statistics (whether the whole model or the batch is read)."""
    conn.execute(
        "create table main.spans as select i::bigint as k, case when i = 0 then"
        " timestamptz '9999-12-31 23:59:59.999999+00' else timestamptz '0001-01-01 00:00:00+00'"
        " end as valid_to, date '9999-12-31' as until from range(3) t(i)"
    )
    settings = Settings(root=tmp_path)
    publisher = Publisher(settings, conn)
    publisher.publish(_model("spans"))
    conn.execute(
        "insert into main.spans values (3, '0001-01-01 00:00:00+00', '0001-01-01'),"
        " (4, '2024-01-01 00:00:00+00', '2024-01-01')"
    )
    assert publisher.publish(_model("spans")).mode == "append"
    table = DeltaTable(str(settings.dados / "gold" / "spans"))
    assert STATS_COLUMNS not in table.metadata().configuration
    names = pa.table(table.get_add_actions(flatten=True)).schema.names
    assert "min.valid_to" in names and "max.until" in names


@pytest.mark.parametrize(
    "far",
    [
        "timestamptz '9999-12-31 00:00:00+00' + interval 2 days",
        "'-infinity'::timestamptz",
        "date '0001-01-01' - 5",
    ],
)
def test_a_time_past_9999_inside_a_struct_leaves_the_statistics(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path, far: str
) -> None:
    """A struct's fields get bounds from delta-rs too (``{"span": {"to": "+10000-01-01..."}}``,
    a string no reader takes as a bound): a struct holding such a time at any depth leaves the
    statistics whole, as a column holding one does, before delta-rs writes a file (an append,
    a merge). Before, only top-level columns were looked at, and the appended file's add action
    carried the unreadable bound. A struct of times readers can bound keeps its statistics."""
    conn.execute(
        "create table main.spans as select i::bigint as k,"
        " {'from': timestamptz '2024-01-01 00:00:00+00',"
        "  'deep': {'to': timestamptz '2024-01-01 00:00:00+00'}} as span,"
        " {'on': date '2024-01-01'} as near from range(3) t(i)"
    )
    settings = Settings(root=tmp_path)
    publisher = Publisher(settings, conn)
    model = _model("spans")
    assert publisher.publish(model).mode == "overwrite"
    conn.execute(
        "insert into main.spans values (3, {'from': timestamptz '2024-01-01 00:00:00+00',"
        f" 'deep': {{'to': {far}}}}}, {{'on': date '2024-01-02'}})"
    )
    assert publisher.publish(model).mode == "append"  # written by delta-rs, with its bounds
    table = DeltaTable(str(settings.dados / "gold" / "spans"))
    listed = table.metadata().configuration[STATS_COLUMNS]
    assert "span" not in listed and "`near`" in listed and "`k`" in listed, listed
    bounded = []
    for commit in sorted(Path(table.table_uri.removeprefix("file://")).glob("_delta_log/*.json")):
        for line in commit.read_text().splitlines():
            add = json.loads(line).get("add")
            if add and add.get("stats"):
                stats = json.loads(add["stats"])
                bounded += [k for k in ("span", "near") if k in stats.get("minValues", {})]
    assert "span" not in bounded, bounded  # no add action bounds it (delta-rs wrote "+10000-")
    assert arrow_dataset(table).count_rows() == 4
