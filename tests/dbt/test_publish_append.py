"""An append of a batch's new keys to a local table: written by DuckDB, committed as an add
action with its statistics, read back exactly by every Delta reader (transform.publish)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, QueryBuilder

from lakehouse import Settings
from lakehouse.catalog import table_history
from lakehouse.storage import arrow_dataset
from transform.publish import ModelSpec, Publisher

COLUMNS = (
    "k, name, amount, ratio, ordered_at, day, paid, tags, _ingested_at"  # every kind of column
)
ROWS = """
    select i::bigint as k,
        case when i % 7 = 0 then null else 'név ' || i end as name,
        (i * 1.25)::decimal(12, 2) as amount,
        case when i % 11 = 0 then 'NaN'::double else i / 3 end as ratio,
        timestamptz '2025-01-01 00:00:00+00' + to_seconds(i * 3600) as ordered_at,
        date '2025-01-01' + (i % 365)::integer as day,
        i % 2 = 0 as paid,
        ['a', 'b' || i] as tags,
        timestamptz '{at}' as _ingested_at
    from range({first}, {last}) t(i)
"""


def _model() -> ModelSpec:
    return ModelSpec(
        unique_id="model.lakehouse.orders",
        name="orders",
        relation="main.orders",
        layer="silver",
        unique_key=("k",),
    )


def _rows(table: pa.Table) -> list[tuple[object, ...]]:
    return sorted(
        (tuple(str(v) for v in row.values()) for row in table.to_pylist()), key=lambda r: r[0]
    )


@pytest.mark.parametrize("diff_ranges_from", [10, 1_000_000])  # the newer rows' diff, or not
def test_new_keys_are_appended_as_a_file_duckdb_wrote_and_read_back_exactly(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path, diff_ranges_from: int
) -> None:
    settings = Settings(root=tmp_path)
    publisher = Publisher(settings, conn, diff_ranges_from=diff_ranges_from)
    model = _model()
    first = ROWS.format(first=1, last=201, at="2026-01-01 00:00:00+00")
    conn.execute(f"create table main.orders as {first}")
    assert publisher.publish(model).mode == "overwrite"
    table = DeltaTable(str(settings.dados / "silver" / "orders"))
    before = set(table.file_uris())
    batch = ROWS.format(first=201, last=251, at="2026-02-01 00:00:00+00")
    conn.execute(f"insert into main.orders {batch}")
    published = publisher.publish(model)
    assert published.mode == "append" and published.rows == 250
    table.update_incremental()
    added = [f for f in table.file_uris() if f not in before]
    assert len(added) == 1
    footer = pq.read_metadata(added[0].removeprefix("file://"))
    assert "duckdb" in footer.created_by.lower()  # delta-rs's append wrote "parquet-rs"
    assert footer.num_rows == 50
    last = table_history(table, 1)[0]  # what the append added, as delta-rs's appends say it
    assert (last["operation"], last["operationParameters"]["mode"]) == ("WRITE", "Append")
    assert last["operationMetrics"]["num_added_rows"] == 50
    assert last["operationMetrics"]["num_added_files"] == 1
    # the same values and types as the model, through deltalake's dataset and DataFusion
    expected = conn.sql(f"select {COLUMNS} from main.orders").to_arrow_table()
    found = arrow_dataset(table).to_table()
    assert found.schema.equals(pa.schema(table.schema().to_arrow()))
    assert _rows(found.select(expected.column_names)) == _rows(expected)
    hits = QueryBuilder().register("t", table).execute("select k from t where k > 200")
    assert sorted(pa.table(hits.read_all()).column("k").to_pylist()) == list(range(201, 251))
    # the add action's statistics: the batch's own bounds and null counts
    actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    (action,) = [a for a in actions if added[0].endswith("/" + a["path"])]
    assert action["num_records"] == 50
    assert (action["min.k"], action["max.k"]) == (201, 250)
    assert action["null_count.name"] == sum(1 for i in range(201, 251) if i % 7 == 0)
    assert "max.ratio" not in action  # no float bounds (NaN): lakehouse.delta_stats
    # the publish state follows the append: the same content again commits nothing
    again = publisher.publish(model)
    assert again.mode == "unchanged" and again.version == published.version


def test_a_batch_whose_types_are_not_the_tables_is_appended_by_delta_rs(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Rows whose Arrow types differ from the table's though their Delta types are the same
    (here DuckDB's fixed-size array, a list in Delta: delta-rs's own first write made it a
    plain list) go through ``write_deltalake``, which casts them to the table's schema, never
    into a file of other types. (A column whose Delta type changed, such as int32 to int64,
    rewrites the table with the model's types instead: test_publish_nested_types.py.)"""
    from deltalake import write_deltalake

    settings = Settings(root=tmp_path)
    location = settings.dados / "silver" / "orders"
    write_deltalake(
        str(location),
        pa.table(
            {
                "k": pa.array([1, 2], pa.int64()),
                "v": pa.array([[10], [20]], pa.list_(pa.int64())),
            }
        ),
    )
    conn.execute(
        "create table main.orders as select * from (values (1::bigint, [10]::bigint[1]),"
        " (2, [20]::bigint[1])) t(k, v)"
    )
    publisher = Publisher(settings, conn)
    model = _model()
    conn.execute("insert into main.orders values (3, [30]::bigint[1])")
    published = publisher.publish(model)
    table = DeltaTable(str(location))
    assert pa.schema(table.schema().to_arrow()).field("v").type == pa.list_(pa.int64())
    assert published.mode == "append"  # a new key: delta-rs cast it to the table's schema
    for uri in table.file_uris():
        meta = pq.read_metadata(uri.removeprefix("file://"))
        assert "duckdb" not in meta.created_by.lower()
    assert sorted(arrow_dataset(table).to_table().to_pylist(), key=lambda r: r["k"]) == [
        {"k": 1, "v": [10]},
        {"k": 2, "v": [20]},
        {"k": 3, "v": [30]},
    ]
