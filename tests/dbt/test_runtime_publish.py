"""Publishing DuckDB relations as Delta tables (transform.publish), without dbt: fast and exact."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from lakehouse import Settings
from lakehouse.catalog import table_history
from transform.publish import ModelSpec, Publisher, PublishError, keys_from_tests, publish_layer


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
    assert done.mode == "append"  # the shadow is rebuilt from the published table itself
    assert delta(settings, "silver/orders").count() == 12
    conn.execute("insert into orders values (12, 12)")
    assert publisher.publish(model).mode == "append"  # back to publishing changes only
    assert delta(settings, "silver/orders").count() == 13


def test_incremental_without_key_appends_even_a_repeated_row(
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
    conn.execute("insert into clicks values (5)")  # a second copy of a published row
    assert publisher.publish(model).mode == "append"  # rows are compared as a multiset
    assert delta(settings, "gold/clicks").count() == 111
    conn.execute("delete from clicks where n = 5 and rowid = (select max(rowid) from clicks)")
    assert publisher.publish(model).mode == "overwrite"  # one of two equal rows: rewrite
    assert sorted(delta(settings, "gold/clicks").to_pyarrow_table()["n"].to_pylist()) == list(
        range(110)
    )


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


def test_a_keyed_diff_compares_only_the_key_ranges_that_changed(
    settings: Settings, conn: duckdb.DuckDBPyConnection
) -> None:
    # every shadow is compared by key range first (not only from 100,000 rows)
    publisher = Publisher(settings, conn, batch_rows=1024, diff_ranges_from=0)
    model = spec("orders", layer="silver", materialized="incremental", unique_key=("order_id",))
    conn.execute(
        "create table orders as select i as order_id, md5(i::varchar) as v from range(20000) t(i)"
    )
    publisher.publish(model)
    conn.execute("insert into orders select i, 'new' from range(20000, 20010) t(i)")
    cursor = conn.cursor()
    done = publisher.publish(model, cursor=cursor)
    assert (done.mode, done.rows) == ("append", 20010)
    # ranges of 5 keys (20,000 keys in 4,096 ranges): the new keys fill two of them
    assert cursor.execute("select count(*) from _lh_ranges").fetchall() == [(2,)]
    assert delta(settings, "silver/orders").count() == 20010
    cursor.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_keyed_diff_by_key_range_publishes_exactly_the_model(
    settings: Settings, conn: duckdb.DuckDBPyConnection, seed: int
) -> None:
    """Random rounds of updates, deletes and inserts (NULL keys, keys below, inside and far
    above the published span, the extremes of BIGINT): after each publish Delta holds exactly
    the model's rows, and publishing again commits nothing."""
    import random

    rng = random.Random(seed)
    publisher = Publisher(settings, conn, batch_rows=1024, diff_ranges_from=0)
    model = spec("m", layer="silver", materialized="incremental", unique_key=("k",))
    conn.execute("create table m as select i * 7 as k, i as v from range(3000) t(i)")
    conn.execute("insert into m values (null, -1)")
    used = {i * 7 for i in range(3000)}
    order = [("k", "ascending"), ("v", "ascending")]
    for round_ in range(8):
        done = publisher.publish(model)
        published = delta(settings, "silver/m").to_pyarrow_table().sort_by(order).to_pylist()
        assert published == conn.sql("select * from m").to_arrow_table().sort_by(order).to_pylist()
        assert publisher.publish(model).mode == "unchanged", (round_, done)
        kind = rng.choice(["update", "delete", "insert", "mixed"])
        if kind in ("update", "mixed"):
            k = rng.choice(sorted(used))
            conn.execute(f"update m set v = v + 1 where k = {k} or k is null")
        if kind in ("delete", "mixed"):
            k = rng.choice(sorted(used))
            used.discard(k)
            conn.execute(f"delete from m where k = {k}")
        if kind in ("insert", "mixed"):
            fresh = rng.choice([-5, 10**6, 2**63 - 1, -(2**63), 25_000]) + round_
            fresh = min(max(fresh, -(2**63)), 2**63 - 1)
            if fresh not in used:
                used.add(fresh)
                conn.execute(f"insert into m values ({fresh}, {round_})")


def test_a_batch_of_newer_rows_is_diffed_without_the_key_ranges(
    settings: Settings, conn: duckdb.DuckDBPyConnection
) -> None:
    """An incremental model whose new and changed rows carry a newer ``_ingested_at``: only
    those rows are compared with the shadow (no key ranges counted and summed on both sides),
    and the rest of the model is proven unchanged by its row count and hash sum."""
    publisher = Publisher(settings, conn, batch_rows=1024, diff_ranges_from=0)
    model = spec("orders", layer="silver", materialized="incremental", unique_key=("order_id",))
    conn.execute(
        "create table orders as select i as order_id, md5(i::varchar) as v,"
        " timestamptz '2026-01-01 00:00:00+00' as _ingested_at from range(20000) t(i)"
    )
    publisher.publish(model)
    for batch, (first, mode) in enumerate([(20000, "append"), (20010, "merge")], start=2):
        at = f"timestamptz '2026-0{batch}-01 00:00:00+00'"
        conn.execute(
            f"insert into orders select i, 'new', {at} from range({first}, {first + 10}) t(i)"
        )
        if mode == "merge":  # and a row of the last batch changed
            conn.execute(
                f"update orders set v = 'changed', _ingested_at = {at} where order_id = 20003"
            )
        cursor = conn.cursor()
        done = publisher.publish(model, cursor=cursor)
        assert (done.mode, done.rows) == (mode, first + 10)
        with pytest.raises(duckdb.CatalogException):  # the key ranges were never compared
            cursor.execute("select count(*) from _lh_ranges")
        changed = 10 if mode == "append" else 11
        assert cursor.execute("select count(*) from _lh_changes").fetchall() == [(changed,)]
        cursor.close()
    expected = conn.sql("select * from orders order by order_id").to_arrow_table()
    assert rows(delta(settings, "silver/orders"), "order_id") == expected.to_pylist()
    assert publisher.publish(model).mode == "unchanged"


def _shadow_kept(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = conn.execute(
        "select count(*) from duckdb_tables() where schema_name = '_lakehouse_publish'"
        " and table_name = ?",
        [name],
    ).fetchall()
    return bool(found[0][0])


@pytest.mark.slow
def test_a_rewrite_keeps_no_shadow_rows_and_its_diffs_read_the_published_ones(
    settings: Settings, conn: duckdb.DuckDBPyConnection
) -> None:
    """An overwrite of a model with one integer key and bronze's ``_ingested_at`` keeps only
    the published rows' count and hash sum, no shadow rows: its next diffs of newer rows read
    the published rows in their key range from the table's files, and prove the rest
    unchanged by that count and sum; a change they cannot prove (a row changed in place)
    builds the shadow from the published table, and nothing is missed. A state written
    before the count was recorded (a kept warehouse) keeps its shadow and works as before."""
    publisher = Publisher(settings, conn, batch_rows=1024, diff_ranges_from=0)
    model = spec("orders", layer="silver", materialized="incremental", unique_key=("order_id",))
    conn.execute(
        "create table orders as select i as order_id, md5(i::varchar) as v,"
        " timestamptz '2026-01-01 00:00:00+00' as _ingested_at from range(50000) t(i)"
    )

    def published_is_the_model() -> None:
        expected = conn.sql("select * from orders order by order_id").to_arrow_table()
        assert rows(delta(settings, "silver/orders"), "order_id") == expected.to_pylist()
        assert publisher.publish(model).mode == "unchanged"

    assert publisher.publish(model).mode == "overwrite"
    assert not _shadow_kept(conn, "silver__orders")
    state = '_lakehouse_publish."silver__orders__state"'
    assert conn.execute(f"select lazy, rows from {state}").fetchall() == [(True, 50000)]
    published_is_the_model()
    # newer rows: new keys (an append), then more and a row of that batch updated (a merge
    # of the batch's own small file)
    for batch, (first, mode) in enumerate([(50000, "append"), (50010, "merge")], start=2):
        at = f"timestamptz '2026-0{batch}-01 00:00:00+00'"
        conn.execute(
            f"insert into orders select i, 'new', {at} from range({first}, {first + 10}) t(i)"
        )
        if mode == "merge":
            conn.execute(
                f"update orders set v = 'changed', _ingested_at = {at} where order_id = 50003"
            )
        cursor = conn.cursor()
        assert publisher.publish(model, cursor=cursor).mode == mode
        # only the published rows in the newer rows' key range were read: none, then those
        # of the last batch from the updated key on (50003..50009)
        read = cursor.execute("select count(*) from _lh_shadow_part").fetchall()
        assert read == [(0 if mode == "append" else 7,)]
        cursor.close()
        assert not _shadow_kept(conn, "silver__orders")
        assert conn.execute(f"select lazy, rows from {state}").fetchall() == [(True, first + 10)]
        published_is_the_model()
    at = "timestamptz '2026-05-01 00:00:00+00'"
    # a row changed in place (its _ingested_at did not move): the count and sum disagree, so
    # the shadow is built from the published table and the change found
    conn.execute("update orders set v = 'in place' where order_id = 50005")
    assert publisher.publish(model).mode == "merge"
    assert _shadow_kept(conn, "silver__orders")
    assert conn.execute(f"select lazy from {state}").fetchall() == [(False,)]
    published_is_the_model()
    # a full rewrite keeps no shadow rows again; a state as session 6 wrote it keeps its rows
    conn.execute("update orders set v = 'all'")
    assert publisher.publish(model).mode == "overwrite"
    assert not _shadow_kept(conn, "silver__orders")
    published_is_the_model()
    kept = Publisher(settings, conn, batch_rows=1024, diff_ranges_from=10**9)
    conn.execute("update orders set v = 'all again'")
    assert kept.publish(model).mode == "overwrite" and _shadow_kept(conn, "silver__orders")
    conn.execute(
        f"create or replace table {state} as select seq, keys, newest, hashed from {state}"
    )
    conn.execute(f"insert into orders select i, 'newer', {at} from range(50020, 50030) t(i)")
    assert publisher.publish(model).mode == "append"
    assert _shadow_kept(conn, "silver__orders")
    published_is_the_model()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_diff_of_the_newer_rows_publishes_exactly_the_model(
    settings: Settings, conn: duckdb.DuckDBPyConnection, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random rounds against the diff of the rows newer than the last publish: rows added or
    updated with a newer ``_ingested_at`` (its case), but also rows updated in place with an
    older one, rows deleted, a late row older than the last publish, a key repeated by a newer
    row, NULL keys, a delete and an insert of as many rows: after each publish Delta holds
    exactly the model's rows, every version written is the model at its publish, and
    publishing again commits nothing."""
    import random

    from transform import publish

    monkeypatch.setattr(publish, "MERGE_MAX_SHARE", 1.0)  # merge whatever the share it touches
    rng = random.Random(seed)
    publisher = Publisher(settings, conn, batch_rows=1024, diff_ranges_from=0)
    model = spec("m", layer="silver", materialized="incremental", unique_key=("k",))
    conn.execute(
        "create table m as select i * 3 as k, i as v, timestamptz '2026-01-01 00:00:00+00'"
        " + to_seconds(i % 5) as _ingested_at from range(3000) t(i)"
    )
    order = [("k", "ascending"), ("v", "ascending"), ("_ingested_at", "ascending")]
    kinds = ["newer", "newer", "in_place", "delete", "late", "repeat", "null", "swap", "mixed"]
    added: list[int] = []
    for round_ in range(12):
        before = (
            delta(settings, "silver/m").version() if (settings.dados / "silver/m").exists() else -1
        )
        publisher.publish(model)
        expected = conn.sql("select * from m").to_arrow_table().sort_by(order).to_pylist()
        table = delta(settings, "silver/m")
        for version in range(before + 1, table.version() + 1):
            at = DeltaTable(table.table_uri, version=version).to_pyarrow_table()
            assert at.sort_by(order).to_pylist() == expected, (round_, version)
        assert publisher.publish(model).mode == "unchanged", round_
        now = f"timestamptz '2026-02-01 00:00:00+00' + to_seconds({round_})"
        # rows of earlier batches (each in a small file of its own: merged, not rewritten)
        k = rng.choice(added or [0])
        kind = rng.choice(kinds)
        if kind in ("newer", "mixed"):  # a batch: new keys and an update, all newer
            new = [10000 + round_ * 10 + i for i in range(5)]
            conn.execute(f"insert into m select unnest({new}), 1, {now}")
            conn.execute(f"update m set v = v + 1, _ingested_at = {now} where k = {k}")
            added.extend(new)
        if kind in ("in_place", "mixed"):  # changed, yet its _ingested_at did not move
            conn.execute(f"update m set v = v - 7 where k = {rng.choice(added or [3])}")
        if kind == "delete":
            conn.execute(f"delete from m where k = {k}")
        if kind == "late":  # a new row older than everything published
            conn.execute(f"insert into m values ({-1 - round_}, 0, timestamptz '2020-01-01')")
        if kind == "repeat":  # a newer row repeats a published key: the key is not unique
            conn.execute(f"insert into m values ({k}, -5, {now})")
        if kind == "null":
            conn.execute(f"insert into m values (null, {round_}, {now})")
        if kind == "swap":  # as many rows go as come, the newer ones not among them
            conn.execute(f"delete from m where k = {k}")
            conn.execute(f"insert into m values ({k + 1}, 1, timestamptz '2020-01-01')")


# -- a table model publishes what changed, compared as sets ------------------------------------


def added_bytes(table: DeltaTable, since: int) -> int:
    """Bytes of the data files the versions after ``since`` added (what a publish wrote)."""
    before = set(DeltaTable(table.table_uri, version=since).file_uris())
    return sum(
        int(size)
        for path, size in zip(
            pa.table(table.get_add_actions(flatten=True))["path"].to_pylist(),
            pa.table(table.get_add_actions(flatten=True))["size_bytes"].to_pylist(),
            strict=True,
        )
        if not any(uri.endswith(path) for uri in before)
    )


def table_bytes(table: DeltaTable) -> int:
    return int(pa.compute.sum(pa.table(table.get_add_actions(flatten=True))["size_bytes"]).as_py())


def test_a_table_with_a_key_writes_only_the_rows_that_changed(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    model = spec("orders", unique_key=("order_id",))  # a table model (the default)
    conn.execute(
        "create table orders as select i as order_id, i % 97 as customer_id,"
        " md5(i::varchar) as note from range(200000) t(i)"
    )
    assert publisher.publish(model).mode == "overwrite"
    first = delta(settings, "gold/orders")
    whole = table_bytes(first)
    # the model is rebuilt from scratch (a table): new rows, in another order
    conn.execute(
        "create or replace table orders as select i as order_id, i % 97 as customer_id,"
        " md5(i::varchar) as note from range(201000) t(i) order by hash(i)"
    )
    done = publisher.publish(model)
    assert (done.mode, done.rows) == ("append", 201000)
    table = delta(settings, "gold/orders")
    assert table_history(table, 1)[0]["operationMetrics"]["num_added_rows"] == 1000
    assert added_bytes(table, first.version()) < whole / 20  # grows with the change
    conn.execute("update orders set note = 'changed' where order_id in (200500, 200501)")
    conn.execute("delete from orders where order_id = 200999")
    done = publisher.publish(model)
    assert done.mode == "merge"  # the changed keys sit in the small appended file
    metrics = delta(settings, "gold/orders").history(1)[0]["operationMetrics"]
    assert (metrics["num_target_rows_updated"], metrics["num_target_rows_deleted"]) == (2, 1)
    assert metrics["num_target_files_skipped_during_scan"] >= 1
    expected = conn.sql("select * from orders order by order_id").to_arrow_table()
    assert rows(delta(settings, "gold/orders"), "order_id") == expected.to_pylist()
    assert publisher.publish(model).mode == "unchanged"


def test_row_order_and_ties_the_model_does_not_promise_commit_little_or_nothing(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    # a customer's orders numbered with row_number() over a day: two orders of one day tie
    conn.execute(
        "create table numbered as select * from (values (1, 7, 1), (2, 7, 2), (3, 8, 1))"
        " t(order_id, customer_id, customer_order_number)"
    )
    keyed = spec("numbered", unique_key=("order_id",))
    publisher.publish(keyed)
    version = delta(settings, "gold/numbered").version()
    conn.execute(
        "create or replace table numbered as select * from numbered order by order_id desc"
    )
    assert publisher.publish(keyed).mode == "unchanged"  # another row order: the same set
    conn.execute(  # the tie broken the other way
        "create or replace table numbered as select * from (values (3, 8, 1), (1, 7, 2),"
        " (2, 7, 1)) t(order_id, customer_id, customer_order_number)"
    )
    done = publisher.publish(keyed)
    assert done.mode in ("merge", "overwrite")
    assert delta(settings, "gold/numbered").version() == version + 1
    # without a key, a table whose rows only moved commits nothing either
    conn.execute("create table days as select i as day, i % 3 as n from range(50) t(i)")
    keyless = spec("days")
    publisher.publish(keyless)
    conn.execute("create or replace table days as select * from days order by n, day desc")
    assert publisher.publish(keyless).mode == "unchanged"
    assert delta(settings, "gold/days").version() == 0


def appended_a_file(
    conn: duckdb.DuckDBPyConnection, publisher: Publisher, model: ModelSpec, insert: str
) -> None:
    """A second file in the published table (an append): a keyless change that deletes is then
    merged, not rewritten as a table of one file is."""
    conn.execute(insert)
    assert publisher.publish(model).mode == "append"


def test_a_keyless_change_to_a_table_of_one_file_rewrites_it(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    """Rows gone from a keyless table published as one file: a merge would rewrite that file
    anyway (after reading the published rows it deletes and joining every row by value), so
    the table is rewritten, exactly; an append still only appends."""
    model = spec("per_customer")
    conn.execute(
        "create table per_customer as select i % 1000 as customer, count(*) as orders"
        " from range(5000) t(i) group by all"
    )
    publisher.publish(model)
    conn.execute("update per_customer set orders = orders + 1 where customer in (3, 500)")
    done = publisher.publish(model)
    assert done.mode == "overwrite"
    order = [("customer", "ascending")]
    published = delta(settings, "gold/per_customer").to_pyarrow_table().sort_by(order).to_pylist()
    expected = conn.sql("select * from per_customer").to_arrow_table().sort_by(order).to_pylist()
    assert published == expected
    appended_a_file(conn, publisher, model, "insert into per_customer values (1000, 1)")
    assert publisher.publish(model).mode == "unchanged"


def test_a_table_without_a_key_is_diffed_row_by_row(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    model = spec("daily")
    conn.execute(
        "create table daily as select i as day, case when i % 5 = 0 then null else i end as n,"
        " i / 4 as share from range(40) t(i)"
    )
    publisher.publish(model)
    appended_a_file(conn, publisher, model, "insert into daily values (100, 1, 1.0)")
    conn.execute("update daily set n = -1 where day = 7")  # one row changes
    conn.execute("delete from daily where day = 10")  # one row, with a NULL, goes
    conn.execute("insert into daily values (40, 40, 10.0), (41, null, 10.25)")
    done = publisher.publish(model)
    assert done.mode == "merge"
    metrics = delta(settings, "gold/daily").history(1)[0]["operationMetrics"]
    assert (metrics["num_target_rows_deleted"], metrics["num_target_rows_inserted"]) == (2, 3)
    order = [("day", "ascending")]
    published = delta(settings, "gold/daily").to_pyarrow_table().sort_by(order).to_pylist()
    assert published == conn.sql("select * from daily").to_arrow_table().sort_by(order).to_pylist()
    assert publisher.publish(model).mode == "unchanged"


def test_a_keyless_model_may_name_its_columns_anything(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    conn.execute("create table odd as select i as h, i as n, i as mn, i as sn from range(30) t(i)")
    publisher.publish(spec("odd"))
    appended_a_file(conn, publisher, spec("odd"), "insert into odd values (100, 1, 1, 1)")
    conn.execute("update odd set n = -1 where h = 3")
    assert publisher.publish(spec("odd")).mode == "merge"
    published = delta(settings, "gold/odd").to_pyarrow_table().sort_by("h").to_pylist()
    assert published == conn.sql("select * from odd order by h").to_arrow_table().to_pylist()


def test_a_keyless_row_a_merge_cannot_match_is_rewritten_not_lost(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    model = spec("ratios")
    conn.execute(
        "create table ratios as select i as k, case when i = 3 then 'nan'::double"
        " else i / 2 end as r from range(20) t(i)"
    )
    publisher.publish(model)
    appended_a_file(conn, publisher, model, "insert into ratios values (100, 1.0)")
    conn.execute("delete from ratios where k = 3")  # NaN equals nothing in SQL
    publisher.publish(model)
    published = delta(settings, "gold/ratios").to_pyarrow_table()
    assert sorted(published["k"].to_pylist()) == [k for k in [*range(20), 100] if k != 3]
    assert publisher.publish(model).mode == "unchanged"


def test_a_shadow_keyed_otherwise_is_rebuilt_from_the_published_table(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    conn.execute("create table m as select i as id, i as v from range(1000) t(i)")
    publisher.publish(spec("m"))  # no key yet: a shadow of whole rows
    conn.execute("insert into m values (1000, 1)")
    done = publisher.publish(spec("m", unique_key=("id",)))  # now with one (a passed test)
    assert done.mode == "append"
    conn.execute("create or replace table m as select id, v from m union all select 1000, 2")
    with_twin = publisher.publish(spec("m", unique_key=("id",)))  # said unique, is not
    assert with_twin.rows == 1002
    assert delta(settings, "gold/m").count() == 1002
    assert publisher.publish(spec("m")).mode == "unchanged"  # keyless again: rebuilt, the same


def test_keys_come_from_config_constraints_or_tests_that_passed() -> None:
    def node(**config: object) -> SimpleNamespace:
        return SimpleNamespace(
            unique_id="model.p.orders",
            name="orders",
            relation_name="main.orders",
            fqn=["p", "marts", "orders"],
            meta={},
            constraints=[],
            columns={"order_id": SimpleNamespace(constraints=[])},
            config=SimpleNamespace(
                materialized="table", meta={}, get=lambda k, d=None: config.get(k, d)
            ),
        )

    plain = node()
    assert ModelSpec.from_node(plain).unique_key == ()  # type: ignore[union-attr]
    assert ModelSpec.from_node(plain, ("order_id",)).unique_key == ("order_id",)  # type: ignore[union-attr]
    assert ModelSpec.from_node(node(unique_key="id")).unique_key == ("id",)  # type: ignore[union-attr]
    keyed = node()
    keyed.columns["order_id"].constraints = [SimpleNamespace(type="primary_key")]
    assert ModelSpec.from_node(keyed).unique_key == ("order_id",)  # type: ignore[union-attr]

    def test(name: str, model: str, where: str | None = None, **kwargs: object) -> SimpleNamespace:
        return SimpleNamespace(
            test_metadata=SimpleNamespace(name=name, kwargs=kwargs),
            attached_node=model,
            config=SimpleNamespace(where=where),
        )

    passed = [
        test("unique", "model.p.a", column_name="id"),
        test("not_null", "model.p.a", column_name="id"),
        test("unique", "model.p.b", column_name="id"),  # may be NULL: not a key
        test("unique", "model.p.c", column_name="id", where="id > 0"),  # some rows only
        test("not_null", "model.p.c", column_name="id"),
        test("unique", "model.p.d", column_name="lower(email)"),  # an expression
        test("not_null", "model.p.d", column_name="lower(email)"),
        test("unique_combination_of_columns", "model.p.e", combination_of_columns=["a", "b"]),
    ]
    assert keys_from_tests(passed) == {"model.p.a": ("id",), "model.p.e": ("a", "b")}


def test_wide_decimals_get_no_file_bounds_from_delta_rs(
    settings: Settings, conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    """delta-rs writes a wide decimal's bounds wrong (lakehouse.delta_stats): an appended file
    must carry none, or readers skip the file holding 99999999999999999999."""
    import pyarrow.dataset as pads

    from lakehouse.storage import arrow_dataset

    big = "99999999999999999999"
    conn.execute(
        "create table m as select i::bigint as id, i::decimal(38,0) as big from range(1, 1001) t(i)"
    )
    model = spec("m", unique_key=("id",))
    assert publisher.publish(model).mode == "overwrite"
    conn.execute(f"insert into m values (1001, {big})")
    assert publisher.publish(model).mode == "append"  # delta-rs writes this file's bounds
    table = delta(settings, "gold/m")
    files = pa.table(table.get_add_actions(flatten=True))
    assert "max.big" not in files.schema.names or files.column("max.big").null_count == len(files)
    assert "max.id" in files.schema.names  # exact columns keep theirs
    wanted = pads.field("big") > pa.scalar(10**19, pa.decimal128(38, 0))
    assert arrow_dataset(table).to_table(filter=wanted).column("id").to_pylist() == [1001]


@pytest.mark.parametrize("diff_ranges_from", [0, 10**9])
def test_a_column_named_like_the_row_alias_hides_no_change(
    settings: Settings, conn: duckdb.DuckDBPyConnection, diff_ranges_from: int
) -> None:
    # The publisher once hashed rows as hash(r) over "(...) as r": a model column named r was
    # hashed instead of the row, and a change to any other column was never published.
    publisher = Publisher(settings, conn, batch_rows=1024, diff_ranges_from=diff_ranges_from)
    keyed = spec("t", layer="silver", materialized="incremental", unique_key=("id",))
    conn.execute(
        "create table t as select i as id, 1 as r, i * 100 as cents from range(1, 1001) t(i)"
    )
    assert publisher.publish(keyed).mode == "overwrite"
    conn.execute("update t set cents = -1 where id = 5")
    assert publisher.publish(keyed).mode != "unchanged"
    expected = conn.sql("select * from t order by id").to_arrow_table().to_pylist()
    assert rows(delta(settings, "silver/t"), "id") == expected
    keyless = spec("u", layer="gold")
    conn.execute("create table u as select * from t")
    assert publisher.publish(keyless).mode == "overwrite"
    conn.execute("update u set cents = -2 where id = 6")
    assert publisher.publish(keyless).mode != "unchanged"
    assert (
        rows(delta(settings, "gold/u"), "id")
        == conn.sql("select * from u order by id").to_arrow_table().to_pylist()
    )


def test_a_column_with_the_publishers_prefix_is_refused_by_name(
    conn: duckdb.DuckDBPyConnection, publisher: Publisher
) -> None:
    conn.execute("create table v as select 1 as id, 2 as _lh_hash")
    with pytest.raises(PublishError, match="'_lh_hash' starts with '_lh_'"):
        publisher.publish(spec("v"))


@pytest.mark.slow
def test_a_key_whose_scoped_test_missed_a_repeat_is_never_merged_wrongly(
    settings: Settings, conn: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``unique`` test scoped to the rows that changed (``where: "__changed_rows__"``) passes
    although a new row repeats the key of an older one (an append-only model): the key is
    taken as tested, yet the publisher must never merge by it. Every Delta version written
    holds exactly the model's rows at that publish (no wrong version in between)."""
    from transform import delta_files
    from transform.publish import CHANGED_SINCE, CHANGED_SINCE_DDL

    monkeypatch.setattr(delta_files, "FILE_BYTES", "1KB")  # a file per row group
    publisher = Publisher(settings, conn, batch_rows=1024)
    conn.execute(CHANGED_SINCE_DDL)
    conn.execute(
        "create table m as select i as k, 'ok' as v,"
        " timestamptz '2026-03-01 00:00:00+00' as _ingested_at from range(300000) t(i)"
    )
    model = spec(
        "m",
        layer="silver",
        materialized="incremental",
        unique_key=("k",),
        # taken from its unique and not_null tests, which passed on the rows in scope
        parts=("memory", "main", "m"),
    )
    order = [("k", "ascending"), ("v", "ascending")]

    def batch(rows: str, at: str, since: str) -> None:
        """An incremental run: its rows appended, the watermark it used recorded."""
        conn.execute(f"insert into m select *, timestamptz '{at}' from (values {rows})")
        conn.execute(
            f"insert into {CHANGED_SINCE} select database_name, schema_name, table_name,"
            f" table_oid, timestamptz '{since}' from duckdb_tables() where table_name = 'm'"
        )

    def publish_exactly() -> None:
        before = (
            delta(settings, "silver/m").version() if (settings.dados / "silver/m").exists() else -1
        )
        publisher.publish(model)
        conn.execute(f"delete from {CHANGED_SINCE}")  # published: the build forgets its entries
        expected = conn.sql("select * from m").to_arrow_table().sort_by(order).to_pylist()
        table = delta(settings, "silver/m")
        for version in range(before + 1, table.version() + 1):
            at = DeltaTable(table.table_uri, version=version).to_pyarrow_table()
            assert at.sort_by(order).to_pylist() == expected, f"version {version}"

    publish_exactly()
    # key 5 again, in a new batch: the scoped test saw only this batch's rows and passed
    batch("(5, 'again')", "2026-03-01 01:00:00+00", "2026-03-01 00:00:00+00")
    publish_exactly()
    # the next batch's scope holds the repeated row again, beside one new key
    batch("(400000, 'new')", "2026-03-01 02:00:00+00", "2026-03-01 00:50:00+00")
    publish_exactly()
    batch("(400001, 'new')", "2026-03-01 03:00:00+00", "2026-03-01 01:50:00+00")
    publish_exactly()


@pytest.mark.parametrize(("seed", "ranges_from"), [(1, 0), (2, 0), (3, 100_000), (8, 100_000)])
def test_a_key_that_is_not_unique_never_publishes_a_wrong_version(
    settings: Settings, conn: duckdb.DuckDBPyConnection, seed: int, ranges_from: int
) -> None:
    """A model merged by a key it does not hold unique (a ``unique_key`` that lies, a tested key
    repeated later): random rounds add and remove repeats, update, delete and insert, compared
    by key range or whole. Every Delta version written holds exactly the model's rows."""
    import random

    rng = random.Random(seed)
    publisher = Publisher(settings, conn, batch_rows=1024, diff_ranges_from=ranges_from)
    model = spec("m", layer="silver", materialized="incremental", unique_key=("k",))
    conn.execute("create table m as select i as k, i as v from range(4000) t(i)")
    order = [("k", "ascending"), ("v", "ascending")]
    version = -1
    merges = 0
    for round_ in range(24):
        merges += publisher.publish(model).mode == "merge"
        expected = conn.sql("select * from m").to_arrow_table().sort_by(order).to_pylist()
        table = delta(settings, "silver/m")
        for v in range(version + 1, table.version() + 1):
            at = DeltaTable(table.table_uri, version=v).to_pyarrow_table()
            assert at.sort_by(order).to_pylist() == expected, (round_, v)
        version = table.version()
        kind = rng.choice(["repeat", "unrepeat", "update", "delete", "insert", "append"])
        keys = [
            r[0]
            for r in conn.execute("select distinct k from m where k >= 4000 order by k").fetchall()
        ]
        # mostly keys of the small appended files: a merge there rewrites little
        k = rng.choice(keys) if keys and rng.random() < 0.8 else rng.randrange(4000)
        if kind == "repeat":  # a second row for a published key
            conn.execute(f"insert into m values ({k}, {-round_ - 1})")
        elif kind == "unrepeat":  # one copy of a repeated key goes
            conn.execute(
                "delete from m where rowid = (select max(rowid) from m where k in"
                " (select k from m group by k having count(*) > 1))"
            )
        elif kind == "update":
            conn.execute(f"update m set v = v + 1000000 where k = {k}")
        elif kind == "delete":
            conn.execute(f"delete from m where k = {k}")
        elif kind == "insert":
            conn.execute(f"insert into m values ({5000 + round_}, {round_})")
        else:  # new rows, one of them repeating a key of this batch
            first = 10_000 + 10 * round_
            conn.execute(f"insert into m select i, i from range({first}, {first + 5}) t(i)")
            if rng.random() < 0.5:
                conn.execute(f"insert into m values ({first}, -1)")
    assert merges  # some rounds merged (the others rewrote or appended)


def test_an_overwrite_writes_rows_in_key_order(
    settings: Settings,
    conn: duckdb.DuckDBPyConnection,
    publisher: Publisher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each file of an overwrite holds a narrow key range (later merges rewrite few files),
    whether the model had to be sorted, already was in key order, or is a view (no rowid:
    sorted). Asserted through the real publish only (until session 11 also through
    ``_in_key_order``, a helper no code called)."""
    from transform import delta_files

    monkeypatch.setattr(delta_files, "FILE_BYTES", "100B")  # a file per row group (v2 too)
    shuffled = spec("shuffled", unique_key=("k",))
    conn.execute("create table shuffled as select i as k from range(300000) t(i) order by hash(i)")
    ordered = spec("ordered", unique_key=("k",))
    conn.execute("create table ordered as select i as k from range(300000) t(i)")
    conn.execute("create view a_view as select * from shuffled")
    a_view = spec("a_view", unique_key=("k",))
    for model in (shuffled, ordered, a_view):
        publisher.publish(model)
        table = delta(settings, f"gold/{model.name}")
        assert sorted(table.to_pyarrow_table()["k"].to_pylist()) == list(range(300000))
        files = pa.table(table.get_add_actions(flatten=True))
        ranges = sorted(zip(files["min.k"].to_pylist(), files["max.k"].to_pylist(), strict=True))
        assert len(ranges) == 3  # (DuckDB may write the row groups in either order)
        assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges)), (model.name, ranges)


#: The encodings Spark's vectorized Parquet reader (its default) read exactly in 3.5.7 and
#: 4.0.1 from DuckDB's v2 files (docs/dbt.md, "Parquet files"): what ``auto`` may write
SPARK_35_ENCODINGS = {
    "PLAIN",
    "RLE",
    "BIT_PACKED",
    "RLE_DICTIONARY",
    "PLAIN_DICTIONARY",
    "DELTA_BINARY_PACKED",
    "DELTA_LENGTH_BYTE_ARRAY",
}


def test_auto_parquet_version_is_v2_only_for_a_model_without_floats(
    settings: Settings, conn: duckdb.DuckDBPyConnection
) -> None:
    """``publish_parquet_version: auto`` writes v2 (delta encodings) for a model
    without a FLOAT or DOUBLE column at any depth, using only encodings Spark 3.5's vectorized
    reader reads; a float anywhere (DuckDB writes it byte-stream-split in v2) makes it v1."""
    assert settings.publish_parquet_version == "v1"  # the default: every reader
    settings = settings.model_copy(update={"publish_parquet_version": "auto"})
    publisher = Publisher(settings, conn, batch_rows=1024)
    conn.execute("set TimeZone = 'UTC'")
    base = (
        "select i::bigint as id, 'v' || (i * 7919 % 100000)::varchar as s, i % 3 as few,"
        " (i * 1.5)::decimal(12, 2) as d, timestamptz '2025-01-01' + to_seconds(i) as ts,"
        " date '2020-01-01' + (i % 900)::int as dt, [i, null] as l, {'a': i, 's': 'x'} as st"
    )
    models = {
        "no_floats": "",
        "a_double": ", i / 7 as f",
        "floats_in_a_list": ", [i::float] as fl",
        "a_double_in_a_struct": ", {'x': i::double} as fs",
        "a_double_in_a_map": ", map([1], [i::double]) as fm",
    }
    for name, extra in models.items():
        conn.execute(f"create table {name} as {base}{extra} from range(3000) t(i)")
        assert publisher.publish(spec(name, layer="silver", unique_key=("id",))).mode == (
            "overwrite"
        )
        files = [u.removeprefix("file://") for u in delta(settings, f"silver/{name}").file_uris()]
        found = {
            str(e)
            for (encodings,) in conn.execute(
                "select encodings from parquet_metadata(?)", [files]
            ).fetchall()
            for e in str(encodings).split(",")
        }
        if name == "no_floats":
            assert "DELTA_BINARY_PACKED" in found and "DELTA_LENGTH_BYTE_ARRAY" in found
            assert found <= SPARK_35_ENCODINGS, found
        else:  # v1: plain and dictionary encodings only
            assert not any(e.startswith("DELTA") or e == "BYTE_STREAM_SPLIT" for e in found), (
                name,
                found,
            )
        published = arrow_rows(delta(settings, f"silver/{name}"))
        assert published == conn.sql(f"select * from {name} order by id").to_arrow_table()


def arrow_rows(table: DeltaTable) -> pa.Table:
    from lakehouse.storage import arrow_dataset

    return arrow_dataset(table).to_table().sort_by("id")


@pytest.mark.parametrize(
    ("version", "codec"), [("v1", "ZSTD"), ("v2", "ZSTD"), ("auto", "ZSTD"), ("v1", "SNAPPY")]
)
def test_parquet_v2_files_read_back_exactly_by_every_reader(
    settings: Settings,
    conn: duckdb.DuckDBPyConnection,
    monkeypatch: pytest.MonkeyPatch,
    version: str,
    codec: str,
) -> None:
    """``publish_parquet_version``: the files of a rewrite hold every type exactly (decimals
    narrow and wide, zoned timestamps, nested values, NULLs) for pyarrow, Polars, DuckDB and
    deltalake's DataFusion (a filtered query), and delta-rs merges into them; ``v2`` writes
    the delta encodings, ``v1`` never does. Snappy: the codec of a big rewrite
    (``publish.SNAPPY_FROM`` rows, lowered here), zstd below it."""
    from deltalake import QueryBuilder

    from lakehouse import scan_table
    from lakehouse.storage import arrow_dataset
    from transform import publish

    if codec == "SNAPPY":
        monkeypatch.setattr(publish, "SNAPPY_FROM", 1000)
    tuned = settings.model_copy(update={"publish_parquet_version": version})
    publisher = Publisher(tuned, conn, batch_rows=1024)
    conn.execute("set TimeZone = 'UTC'")
    conn.execute(
        "create table t as select i::bigint as id,"
        " case when i % 7 = 0 then null else (i * 1.25)::decimal(18, 2) end as d18,"
        " (i::hugeint * 1000000000000000000)::decimal(38, 0) as d38,"
        " timestamptz '2025-01-01 00:00:00+00' + to_microseconds(i * 1234567) as ts,"
        " case when i % 5 = 0 then null else 'txt' || (i % 100)::varchar end as s,"
        " [i, i + 1, null] as lst, {'a': i, 'b': 'x' || i::varchar} as st,"
        " (i % 3 = 0) as b, i::double / 3 as f, date '2020-01-01' + (i % 1000)::int as dt"
        " from range(2000) t(i)"
    )
    model = spec("t", layer="silver", unique_key=("id",))
    order = [("id", "ascending")]

    def check() -> None:
        expected = conn.sql("select * from t").to_arrow_table().sort_by(order)
        table = delta(tuned, "silver/t")
        published = arrow_dataset(table).to_table().sort_by(order)
        assert published.to_pylist() == expected.to_pylist()
        frame = scan_table("silver", "t", settings=tuned).collect().sort("id")
        assert frame.to_arrow().to_pylist() == expected.to_pylist()
        uris = [u.removeprefix("file://") for u in table.file_uris()]
        read = conn.sql(f"select * from read_parquet({uris})").to_arrow_table().sort_by(order)
        assert read.to_pylist() == expected.to_pylist()
        if version == "v2":  # DataFusion cannot skip rows inside a v2 page (docs/dbt.md)
            return
        found = (
            QueryBuilder()
            .register("t", table)
            .execute("select id from t where ts >= '2025-01-01T00:05:00Z' and s = 'txt1'")
        )
        wanted = conn.sql(
            "select id from t where ts >= timestamptz '2025-01-01 00:05:00+00' and s = 'txt1'"
        )
        assert sorted(pa.table(found.read_all()).column("id").to_pylist()) == sorted(
            i for (i,) in wanted.fetchall()
        )

    assert publisher.publish(model).mode == "overwrite"
    check()
    (path,) = delta(tuned, "silver/t").file_uris()
    meta = pq.read_metadata(path.removeprefix("file://"))
    encodings = {e for c in range(meta.num_columns) for e in meta.row_group(0).column(c).encodings}
    assert ("DELTA_BINARY_PACKED" in encodings) == (version == "v2")
    assert {meta.row_group(0).column(c).compression for c in range(meta.num_columns)} == {codec}
    conn.execute(
        "insert into t select t.* replace (t.id + 20000 * r.k as id) from t, range(1, 4) r(k)"
    )
    assert publisher.publish(model).mode == "append"  # a second file, three times larger
    conn.execute("update t set s = 'changed', d18 = 1.01 where id in (3, 1999)")
    conn.execute("delete from t where id = 17")
    # the changed keys sit in the first file: delta-rs reads it and rewrites it
    assert publisher.publish(model).mode == "merge"
    check()
