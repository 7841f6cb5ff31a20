"""Publishing DuckDB relations as Delta tables (transform.publish), without dbt: fast and exact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from lakehouse.settings import Settings
from transform.publish import ModelSpec, Publisher, PublishError, publish_layer


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    yield con
    con.close()


@pytest.fixture
def publisher(settings: Settings, conn: duckdb.DuckDBPyConnection) -> Publisher:
    return Publisher(settings, conn, batch_rows=1024)


def spec(name: str, **kw: object) -> ModelSpec:
    defaults: dict[str, object] = {
        "unique_id": f"model.lakehouse.{name}",
        "name": name,
        "relation": f"main.{name}",
        "layer": "gold",
    }
    return ModelSpec(**{**defaults, **kw})  # type: ignore[arg-type]


def delta(settings: Settings, target: str) -> DeltaTable:
    return DeltaTable(str(settings.dados / target))


def rows(table: DeltaTable, key: str) -> list[dict[str, object]]:
    return table.to_pyarrow_table().sort_by(key).to_pylist()


def test_folder_and_meta_decide_the_layer() -> None:
    assert publish_layer(["p", "staging", "stg_a"], {}) == "silver"
    assert publish_layer(["p", "marts", "finance", "revenue"], {}) == "gold"
    assert publish_layer(["p", "intermediate", "int_a"], {}) is None
    assert publish_layer(["p", "top_level"], {}) is None
    assert publish_layer(["p", "intermediate", "int_a"], {"publish": "gold"}) == "gold"
    assert publish_layer(["p", "marts", "m"], {"publish": "none"}) is None
    with pytest.raises(PublishError, match="silver, gold or none"):
        publish_layer(["p", "marts", "m"], {"publish": "platinum"})


def test_model_spec_from_a_manifest_node() -> None:
    node = SimpleNamespace(
        unique_id="model.lakehouse.stg_orders",
        name="stg_orders",
        relation_name='"memory"."main"."stg_orders"',
        fqn=["lakehouse", "staging", "stg_orders"],
        meta={},
        config=SimpleNamespace(
            materialized="incremental",
            meta={"publish_timestamps": "ntz"},
            get=lambda key, default=None: ["order_id", "line"] if key == "unique_key" else default,
        ),
    )
    model = ModelSpec.from_node(node)
    assert model is not None
    assert (model.layer, model.target, model.unique_key) == (
        "silver",
        "silver/stg_orders",
        ("order_id", "line"),
    )
    assert model.timestamps == "ntz"
    node.config.materialized = "ephemeral"
    assert ModelSpec.from_node(node) is None


def test_types_are_deliberate_and_readable_by_old_readers(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    conn.execute(
        "create table revenue as select i::bigint as customer_id,"
        " sum(i::bigint) over () as total,"  # HUGEINT: must not become DECIMAL(38,0)
        " (i * 10)::ubigint as visits,"
        " 3::utinyint as tiny,"
        " timestamp '2026-01-02 03:04:05' as naive_at,"
        " timestamptz '2026-01-02 03:04:05+01' as aware_at,"
        " gen_random_uuid() as token,"
        " 1.5::decimal(10, 2) as price"
        " from range(5) t(i)"
    )
    done = publisher.publish(spec("revenue"))
    assert (done.mode, done.rows, done.version) == ("overwrite", 5, 0)
    table = delta(settings, "gold/revenue")
    schema = pa.schema(table.schema().to_arrow())
    assert schema.field("total").type == pa.int64()
    assert schema.field("visits").type == pa.int64()
    assert schema.field("tiny").type == pa.int16()
    assert schema.field("naive_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("aware_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("token").type in (pa.string(), pa.large_string(), pa.string_view())
    assert schema.field("price").type == pa.decimal128(10, 2)
    protocol = table.protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
    first = rows(table, "customer_id")[0]
    assert first["total"] == 10
    assert first["naive_at"].isoformat() == "2026-01-02T03:04:05+00:00"


def test_naive_timestamps_can_be_kept_or_refused(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    conn.execute("create table events as select timestamp '2026-01-02 03:04:05' as at")
    with pytest.raises(PublishError, match="timestampNtz"):
        publisher.publish(spec("events", timestamps="error"))
    assert not (settings.dados / "gold" / "events").exists()
    publisher.publish(spec("events", timestamps="ntz"))
    protocol = delta(settings, "gold/events").protocol()
    assert protocol.min_reader_version == 3  # the model asked for timestampNtz


def test_types_delta_cannot_hold_are_refused_by_name(
    conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    conn.execute("create table opening as select 1 as id, time '09:00' as opens_at")
    with pytest.raises(PublishError, match="opens_at"):
        publisher.publish(spec("opening"))


def test_overwrite_is_idempotent_and_follows_the_model(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    conn.execute("create table daily as select i as day, i * 2 as amount from range(3) t(i)")
    assert publisher.publish(spec("daily")).version == 0
    again = publisher.publish(spec("daily"))
    assert (again.mode, again.version) == ("unchanged", 0)
    conn.execute("create or replace table daily as select i as day, 'x' as note from range(2) t(i)")
    done = publisher.publish(spec("daily"))
    assert (done.mode, done.version) == ("overwrite", 1)
    table = delta(settings, "gold/daily")
    assert table.schema().to_arrow().names == ["day", "note"]
    assert table.count() == 2
    conn.execute("create or replace table daily as select * from daily where false")
    assert publisher.publish(spec("daily")).version == 2
    assert delta(settings, "gold/daily").count() == 0


def test_incremental_merges_only_what_changed(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    model = spec("orders", layer="silver", materialized="incremental", unique_key=("order_id",))
    conn.execute(
        "create table orders as select i as order_id, i * 100 as cents from range(1, 1001) t(i)"
    )
    assert publisher.publish(model).mode == "overwrite"  # first publish: one file, keys 1-1000
    assert publisher.publish(model).mode == "unchanged"
    for first in (1001, 2001, 3001):  # only new keys: appends, one more file each
        conn.execute(f"insert into orders select i, i from range({first}, {first + 1000}) t(i)")
        assert publisher.publish(model).mode == "append"
    conn.execute("update orders set cents = -1 where order_id in (5, 6)")
    conn.execute("delete from orders where order_id = 10")
    done = publisher.publish(model)
    assert done.mode == "merge"  # the changed keys sit in one file of four
    table = delta(settings, "silver/orders")
    last = table.history(1)[0]
    assert last["operation"] == "MERGE"
    assert last["operationMetrics"]["num_source_rows"] == 3  # 2 updated + 1 deleted
    assert last["operationMetrics"]["num_target_files_skipped_during_scan"] == 3
    expected = conn.sql("select * from orders order by order_id").to_arrow_table()
    assert rows(table, "order_id") == expected.to_pylist()
    assert publisher.publish(model).mode == "unchanged"
    assert delta(settings, "silver/orders").version() == table.version()


def test_incremental_overwrites_when_a_merge_would_rewrite_most_files(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    model = spec("orders", layer="silver", materialized="incremental", unique_key=("order_id",))
    conn.execute("create table orders as select i as order_id, i as cents from range(1000) t(i)")
    publisher.publish(model)
    conn.execute("update orders set cents = 0 where order_id % 100 = 0")  # spread over the file
    assert publisher.publish(model).mode == "overwrite"
    assert publisher.publish(model).mode == "unchanged"  # and the shadow is in step again
    conn.execute("insert into orders values (1000, 1)")
    assert publisher.publish(model).mode == "append"
    table = delta(settings, "silver/orders")
    expected = conn.sql("select * from orders order by order_id").to_arrow_table()
    assert rows(table, "order_id") == expected.to_pylist()


def test_incremental_heals_when_its_shadow_is_lost(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    model = spec("orders", layer="silver", materialized="incremental", unique_key=("order_id",))
    conn.execute("create table orders as select i as order_id, i as v from range(10) t(i)")
    publisher.publish(model)
    conn.execute("insert into orders values (10, 10)")
    publisher.publish(model)  # a merge: no whole-table fingerprint in that commit
    conn.execute("drop schema _lakehouse_publish cascade")  # e.g. the DuckDB file was lost
    conn.execute("insert into orders values (11, 11)")
    done = publisher.publish(model)
    assert done.mode == "overwrite"
    assert delta(settings, "silver/orders").count() == 12
    conn.execute("insert into orders values (12, 12)")
    assert publisher.publish(model).mode == "append"  # back to publishing changes only
    assert delta(settings, "silver/orders").count() == 13


def test_incremental_without_key_appends(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    model = spec("clicks", materialized="incremental")
    conn.execute("create table clicks as select i as n from range(100) t(i)")
    publisher.publish(model)
    conn.execute("insert into clicks select i from range(100, 110) t(i)")
    assert publisher.publish(model).mode == "append"
    table = delta(settings, "gold/clicks")
    assert table.history(1)[0]["operationParameters"]["mode"] == "Append"
    assert table.count() == 110
    conn.execute("insert into clicks values (5)")  # a duplicate of a published row
    assert publisher.publish(model).mode == "overwrite"  # cannot be told apart: rewrite
    assert delta(settings, "gold/clicks").count() == 111


def test_a_failed_publish_is_redone_by_the_next(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher, tmp_path: Path
) -> None:
    conn.execute("create table daily as select 1 as day")
    blocker = settings.dados / "gold" / "daily"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a table")  # the place is taken: the write fails
    with pytest.raises(Exception):  # noqa: B017  # whatever delta-rs raises
        publisher.publish(spec("daily"))
    blocker.unlink()
    assert publisher.publish(spec("daily")).mode == "overwrite"
    assert delta(settings, "gold/daily").count() == 1


def test_incremental_rows_whose_key_is_null_are_published_once(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    model = spec("m", layer="silver", materialized="incremental", unique_key=("k",))
    conn.execute("create table m as select * from (values (1, 'a'), (null, 'b')) t(k, v)")

    def published_matches_model() -> bool:
        order = [("k", "ascending"), ("v", "ascending")]
        table = delta(settings, "silver/m").to_pyarrow_table().sort_by(order)
        return (
            table.to_pylist()
            == conn.sql("select * from m").to_arrow_table().sort_by(order).to_pylist()
        )

    def publish_and_repeat(mode: str | None = None) -> None:
        done = publisher.publish(model)
        assert mode is None or done.mode == mode
        assert published_matches_model()
        version = delta(settings, "silver/m").version()
        assert publisher.publish(model).mode == "unchanged"  # a repeat changes nothing
        assert delta(settings, "silver/m").version() == version

    publish_and_repeat()
    conn.execute("insert into m values (11, 'c')")  # the NULL-key row is unchanged
    publish_and_repeat("append")
    conn.execute("update m set v = 'z' where k is null")  # the only change: a NULL-key row
    publish_and_repeat()
    conn.execute("insert into m values (null, 'd')")  # two rows whose key is NULL
    publish_and_repeat()
    conn.execute("insert into m values (12, 'e')")
    publish_and_repeat()
    conn.execute("delete from m where k is null and v = 'z'")
    publish_and_repeat()
    assert delta(settings, "silver/m").count() == 4
