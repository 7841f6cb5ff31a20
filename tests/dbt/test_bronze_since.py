"""The version watermark (transform/bronze_since.py, dbt_project/macros/bronze_since.sql).

First the log walk on real Delta tables: the files it names hold exactly the rows committed
after a version (appends; a compaction of old rows only; a compaction mixing old and new rows;
a roll-back of a half-loaded file), and it answers "everything" (``None``) where it cannot tell
(a restore, old rows rewritten, a mixed compaction's sources vacuumed).

Then through dbt and the runtime: a keyless model that *appends* every row bronze_since()
gives it must hold bronze exactly, as a multiset, after each build: a row missed or read twice
shows. Between builds: new batches, a compaction mixing read and unread rows, a failed run (its
watermark must not advance), a full refresh.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake
from runtime_support import append_bronze, bronze_sources, watermark_settings

from lakehouse import Settings, table_path
from lakehouse.storage import arrow_dataset
from transform import DbtSession, dbt_plugin
from transform.bronze_since import commit_stamp, files_since


def _batch(first: int, count: int, batch: str = "b") -> pa.Table:
    ids = list(range(first, first + count))
    return pa.table(
        {"id": pa.array(ids, pa.int64()), "batch": pa.array([batch] * count, pa.string())}
    )


def _append(path: Path, data: pa.Table) -> int:
    write_deltalake(str(path), data, mode="append")
    return DeltaTable(str(path)).version()


def _new_ids(path: Path, version: int) -> list[int] | None:
    """The ids in the files ``files_since`` names from ``version`` to the latest."""
    table = DeltaTable(str(path))
    present = frozenset(u.removeprefix("file://") for u in table.file_uris())
    found = files_since(path, version, table.version(), present)
    if found is None:
        return None
    return sorted(i for f in found for i in pq.read_table(f).column("id").to_pylist())


def test_appends_are_read_from_after_the_version(tmp_path: Path) -> None:
    path = tmp_path / "t"
    first = _append(path, _batch(1, 5))
    _append(path, _batch(6, 3))
    _append(path, _batch(9, 2))
    assert _new_ids(path, first) == list(range(6, 11))
    assert _new_ids(path, DeltaTable(str(path)).version()) == []


def test_a_compaction_of_read_rows_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "t"
    _append(path, _batch(1, 5))
    read = _append(path, _batch(6, 5))
    DeltaTable(str(path)).optimize.compact()
    assert _new_ids(path, read) == []
    _append(path, _batch(11, 2))
    assert _new_ids(path, read) == [11, 12]


def test_a_compaction_mixing_read_and_new_rows_gives_the_new_rows_only(tmp_path: Path) -> None:
    path = tmp_path / "t"
    _append(path, _batch(1, 5))
    read = _append(path, _batch(6, 5))
    _append(path, _batch(11, 3))
    _append(path, _batch(14, 2))
    DeltaTable(str(path)).optimize.compact()  # one file: read rows and new ones
    assert len(DeltaTable(str(path)).file_uris()) == 1
    assert _new_ids(path, read) == list(range(11, 16))
    # the files that held the new rows before the compaction gone: read everything
    DeltaTable(str(path)).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    assert _new_ids(path, read) is None


def test_a_compaction_into_several_files_gives_each_new_row_once(tmp_path: Path) -> None:
    """Every output of a mixed compaction may hold new rows: each pre-compaction file is named
    once (a review found them named once per output, every new row read several times)."""
    path = tmp_path / "t"
    for i in range(4):
        read = _append(path, _batch(i * 500, 500))
    for i in range(4, 8):
        _append(path, _batch(i * 500, 500))
    sizes = [
        Path(u.removeprefix("file://")).stat().st_size for u in DeltaTable(str(path)).file_uris()
    ]
    DeltaTable(str(path)).optimize.compact(target_size=sum(sizes) // 3)
    assert len(DeltaTable(str(path)).file_uris()) > 1  # several outputs mixing read and new rows
    assert _new_ids(path, read) == list(range(2000, 4000))


def test_a_folder_put_back_from_a_copy_then_written_on_reads_everything(tmp_path: Path) -> None:
    """Same table id, versions counted again: the commit read as version V is not the commit
    numbered V now, and the walk from V would miss the rows of the new commits up to V (a
    review's reproduction: ids 5 and 6 never read)."""
    import shutil

    path = tmp_path / "t"
    _append(path, _batch(1, 1))
    _append(path, _batch(2, 1))
    shutil.copytree(path, tmp_path / "copy")  # at version 1
    _append(path, _batch(3, 1))
    read = _append(path, _batch(4, 1))
    stamp = commit_stamp(path, read)
    assert stamp is not None
    table = DeltaTable(str(path))
    present = frozenset(u.removeprefix("file://") for u in table.file_uris())
    assert files_since(path, read, table.version(), present, stamp) == []  # the same commit
    shutil.rmtree(path)
    shutil.copytree(tmp_path / "copy", path)
    for i in (5, 6, 7):
        _append(path, _batch(i, 1))  # versions 2, 3, 4 again
    table = DeltaTable(str(path))
    present = frozenset(u.removeprefix("file://") for u in table.file_uris())
    assert files_since(path, read, table.version(), present) is not None  # the walk alone: fooled
    assert files_since(path, read, table.version(), present, stamp) is None  # read everything


def test_a_rolled_back_file_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "t"
    read = _append(path, _batch(1, 5, "old"))
    _append(path, _batch(6, 5, "rolled"))
    _append(path, _batch(11, 2, "kept"))
    DeltaTable(str(path)).delete("batch = 'rolled'")
    assert _new_ids(path, read) == [11, 12]


def test_old_rows_rewritten_or_a_restore_read_everything(tmp_path: Path) -> None:
    path = tmp_path / "t"
    _append(path, _batch(1, 5))
    read = _append(path, _batch(6, 5))
    DeltaTable(str(path)).delete("id = 2")  # rewrites a file of rows already read
    assert _new_ids(path, read) is None

    other = tmp_path / "u"
    _append(other, _batch(1, 5))
    read = _append(other, _batch(6, 5))
    _append(other, _batch(11, 5))
    DeltaTable(str(other)).restore(0)
    assert _new_ids(other, read) is None
    # a version newer than the table's (a table restored from an older backup)
    assert files_since(other, 99, DeltaTable(str(other)).version(), frozenset()) is None


# -- through dbt: an append-only model must hold bronze exactly ---------------------------------

FILES = {
    "models/staging/_sources.yml": bronze_sources("orders"),
    # keyless, appended: a row read twice is a second copy, a row missed is absent
    "models/staging/stg_orders.sql": """
        {{ config(materialized='incremental', incremental_strategy='append') }}
        select
            order_id,
            order_id % 7 as customer_id,
            _ingested_at,
            {% if env_var('LH_TEST_FAIL', '') == '1' %} (select 1 from no_such_table)
            {% else %} 1 {% endif %} as ok
        from {{ bronze_since(source('bronze', 'orders')) }}
    """,
    # downstream, incremental by key: each run recounts the customers whose orders changed
    "models/marts/customer_orders.sql": """
        {{ config(materialized='incremental', unique_key='customer_id') }}
        select customer_id, count(*) as orders, max(_ingested_at) as _ingested_at
        from {{ ref('stg_orders') }}
        {% if is_incremental() %}
            where customer_id in ({{ changed_keys([ref('stg_orders')], 'customer_id') }})
        {% endif %}
        group by customer_id
    """,
}


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    yield watermark_settings(tmp_path, FILES)
    from transform import _dbt_duckdb_internals

    _dbt_duckdb_internals.drop_environment()


def _orders(settings: Settings, first: int, count: int, minute: int = 0) -> None:
    from datetime import UTC, datetime, timedelta

    stamp = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minute)
    append_bronze(
        settings,
        "orders",
        pa.table(
            {
                "order_id": pa.array(range(first, first + count), pa.int64()),
                # by default every batch stamped alike: a time watermark could not tell them apart
                "_ingested_at": pa.array([stamp] * count, pa.timestamp("us", tz="UTC")),
            }
        ),
    )


def _model(settings: Settings) -> Counter[int]:
    conn = dbt_plugin.connection()
    assert conn is not None
    rows = conn.execute("select order_id from main.stg_orders").fetchall()
    return Counter(int(r[0]) for r in rows)


def _bronze(settings: Settings) -> Counter[int]:
    table = DeltaTable(str(table_path(settings, "bronze", "orders")))
    return Counter(int(i) for i in arrow_dataset(table).to_table().column("order_id").to_pylist())


def _compiled(settings: Settings) -> str:
    found = list((settings.dbt_project_dir / "target" / "compiled").rglob("stg_orders.sql"))
    assert len(found) == 1, found
    return found[0].read_text()


@pytest.mark.slow
def test_an_append_only_model_reads_every_row_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = DbtSession(settings)
    _orders(settings, 1, 50)
    assert session.build().success
    assert _model(settings) == _bronze(settings)

    _orders(settings, 51, 5)
    _orders(settings, 56, 5)
    result = session.build()
    assert result.success, result.failures
    assert "read_parquet(" in _compiled(settings)  # the new files only, not the whole table
    assert _model(settings) == _bronze(settings)
    assert sum(_model(settings).values()) == 60

    # nothing new: nothing read
    assert session.build().success
    assert _model(settings) == _bronze(settings)

    # a compaction of read rows with unread ones
    _orders(settings, 61, 3)
    DeltaTable(str(table_path(settings, "bronze", "orders"))).optimize.compact()
    assert session.build().success
    assert "read_parquet(" in _compiled(settings)
    assert _model(settings) == _bronze(settings)

    # a failed run advances nothing: the next one reads its rows
    _orders(settings, 64, 4)
    monkeypatch.setenv("LH_TEST_FAIL", "1")
    failed = session.build()
    assert not failed.success
    monkeypatch.delenv("LH_TEST_FAIL")
    assert session.build().success
    assert _model(settings) == _bronze(settings)
    assert sum(_model(settings).values()) == 67

    # a full refresh reads everything once, and the next run goes on from it
    assert session.build(full_refresh=True).success
    assert _model(settings) == _bronze(settings)
    _orders(settings, 68, 2)
    assert session.build().success
    assert _model(settings) == _bronze(settings)
    assert sum(_model(settings).values()) == 69


def _customer_orders() -> dict[int, int]:
    conn = dbt_plugin.connection()
    assert conn is not None
    rows = conn.execute("select customer_id, orders from main.customer_orders").fetchall()
    return {int(c): int(n) for c, n in rows}


def _expected_customer_orders(settings: Settings) -> dict[int, int]:
    counts: Counter[int] = Counter()
    for order_id, copies in _bronze(settings).items():
        counts[order_id % 7] += copies
    return dict(counts)


def test_a_model_downstream_recounts_every_customer_that_changed(settings: Settings) -> None:
    """``changed_keys`` / ``input_since``: the keys of the upstream rows changed since the model
    last read them, whatever their ``_ingested_at`` (a commit stamped an hour before the rows
    already read, far outside a time look-back, is still counted)."""
    session = DbtSession(settings)
    _orders(settings, 1, 20, minute=100)
    assert session.build().success
    assert _customer_orders() == _expected_customer_orders(settings)
    for first, count, minute in ((21, 3, 110), (24, 2, 120), (26, 1, 60), (27, 9, 130)):
        _orders(settings, first, count, minute=minute)
        result = session.build()
        assert result.success, result.failures
        assert _customer_orders() == _expected_customer_orders(settings), (first, minute)
    # the runs of a model are kept only while a model downstream may not have read them: the
    # last one it read and the newer ones (trimmed by the model's own next run)
    conn = dbt_plugin.connection()
    assert conn is not None
    kept = conn.execute(
        "select table_name, count(*) from _lakehouse_absorbed.runs group by all"
    ).fetchall()
    assert dict(kept) == {"stg_orders": 2, "customer_orders": 1}, kept
    compiled = next((settings.dbt_project_dir / "target" / "compiled").rglob("customer_orders.sql"))
    assert "_ingested_at >= '2026-03-01 02:10:00.000000+00'::timestamptz" in compiled.read_text()


def test_a_pin_names_its_folder_as_its_file_list_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk's paths must match the snapshot's file list, or every build would read
    everything (correct but slow): the pin's folder is taken from the table's own URI, the
    prefix of its files, whatever form the settings' root took (here a relative one)."""
    monkeypatch.chdir(tmp_path)
    settings = Settings(root=Path("here"))
    append_bronze(settings, "orders", _batch(1, 3))
    read = DeltaTable(str(table_path(settings, "bronze", "orders"))).version()
    append_bronze(settings, "orders", _batch(4, 2))
    pin = dbt_plugin.BuildPins(settings=settings).get("orders")
    assert pin.root and all(f.startswith(pin.root + "/") for f in pin.files)
    found = files_since(Path(pin.root), read, pin.version, frozenset(pin.files))
    assert found is not None and len(found) == 1


def test_a_table_not_read_as_plain_files_is_filtered_by_time(settings: Settings) -> None:
    """A partitioned bronze table (like one on object storage) is read through an Arrow
    dataset, not a file list: bronze_since() filters it with the time watermark, as before."""
    from datetime import UTC, datetime, timedelta

    def batch(first: int, minute: int) -> pa.Table:
        stamp = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minute)
        return pa.table(
            {
                "order_id": pa.array(range(first, first + 3), pa.int64()),
                "_ingested_at": pa.array([stamp] * 3, pa.timestamp("us", tz="UTC")),
                "part": pa.array(["a"] * 3, pa.string()),
            }
        )

    session = DbtSession(settings)
    append_bronze(settings, "orders", batch(1, 0), partition_by=["part"])
    assert session.build().success
    append_bronze(settings, "orders", batch(4, 60), partition_by=["part"])
    assert session.build().success
    compiled = _compiled(settings)
    assert "read_parquet(" not in compiled
    assert "where _ingested_at >= '2026-02-28 23:50:00.000000+00'::timestamptz" in compiled
    # nothing missed; within the look-back the first batch is read again (a keyless model
    # holds it twice: the time watermark is for models merged by key)
    assert set(_model(settings)) == set(_bronze(settings))
    assert sum(_model(settings).values()) == 9


def test_a_history_the_walk_cannot_follow_reads_everything(settings: Settings) -> None:
    """Rows already read rewritten by a delete: the whole snapshot is read again (no row
    missed; a keyless model holds the old ones twice, documented)."""
    session = DbtSession(settings)
    _orders(settings, 1, 5)
    assert session.build().success
    DeltaTable(str(table_path(settings, "bronze", "orders"))).delete("order_id = 2")
    _orders(settings, 6, 2)
    assert session.build().success
    compiled = _compiled(settings)
    assert "read_parquet(" not in compiled and "where false" not in compiled
    model = _model(settings)
    assert set(model) == set(range(1, 8))  # 2 from the first run
    assert sum(model.values()) == 5 + 6


def test_bronze_put_back_from_a_copy_is_read_again(settings: Settings, tmp_path: Path) -> None:
    """The plugin keeps the stamp of each pinned commit: a bronze folder put back from an older
    copy and written on past the version a model read is read whole, never from that number."""
    import shutil

    session = DbtSession(settings)
    _orders(settings, 1, 5)
    assert session.build().success
    path = table_path(settings, "bronze", "orders")
    shutil.copytree(path, tmp_path / "copy")
    _orders(settings, 6, 5)
    _orders(settings, 11, 5)
    assert session.build().success  # the model read up to version 2
    shutil.rmtree(path)
    shutil.copytree(tmp_path / "copy", path)  # version 0 again
    for first in (16, 21, 26):
        _orders(settings, first, 5)  # versions 1, 2, 3: new commits under old numbers
    result = session.build()
    assert result.success, result.failures
    assert set(range(16, 31)) <= set(_model(settings))
