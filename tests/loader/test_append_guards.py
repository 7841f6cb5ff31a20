"""Appends to bronze that any way of writing its files must get right.

Two cases found in review against a faster bronze write that commits its own Parquet files:

* a bronze table made partitioned by another tool (``write_deltalake(partition_by=...)``) keeps
  each appended row's partition value, as Delta readers see it, not null;
* a timestamp in the last microsecond of 9999 (the "end of time" of slowly changing dimensions)
  loads, first file or later, and its file's statistics are no reason to crash.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake
from loader_support import drop

from lakehouse import table_path
from lakehouse.settings import Settings
from lakehouse.storage import arrow_dataset
from loader.loading import Loader

END_OF_TIME = dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)


def _rows(path: str, *columns: str) -> list[tuple[object, ...]]:
    table = arrow_dataset(DeltaTable(path)).to_table().select(list(columns))
    return sorted(tuple(row.values()) for row in table.to_pylist())


def test_append_to_a_partitioned_bronze_table_keeps_partition_values(settings: Settings) -> None:
    drop(settings, "t", "a.csv", "id,part\n1,p1\n")
    Loader(settings).load_pending()
    path = str(table_path(settings, "bronze", "t"))
    data = arrow_dataset(DeltaTable(path)).to_table()
    write_deltalake(path, data, partition_by=["part"], mode="overwrite", schema_mode="overwrite")
    assert DeltaTable(path).metadata().partition_columns == ["part"]

    drop(settings, "t", "b.csv", "id,part\n2,p2\n3,p1\n")
    result = Loader(settings).load_pending()

    assert not result.quarantined
    assert _rows(path, "id", "part") == [(1, "p1"), (2, "p2"), (3, "p1")]
    files = [uri.removeprefix("file://") for uri in DeltaTable(path).file_uris()]
    seen = duckdb.sql(
        f"select id, part from read_parquet({files!r}, union_by_name = true, "
        "hive_partitioning = true) order by id"
    ).fetchall()
    assert seen == [(1, "p1"), (2, "p2"), (3, "p1")]


def _times(rows: list[dt.datetime]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(len(rows)), pa.int64()),
            "t": pa.array(rows, pa.timestamp("us", tz="UTC")),
        }
    )


def test_end_of_time_timestamp_loads_in_a_later_file(settings: Settings) -> None:
    first = settings.raw_dir / "t"
    first.mkdir(parents=True)
    pq.write_table(_times([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)]), first / ".a.part")
    (first / ".a.part").rename(first / "a.parquet")
    assert not Loader(settings).load_pending().quarantined

    pq.write_table(_times([END_OF_TIME, END_OF_TIME]), first / ".b.part")
    (first / ".b.part").rename(first / "b.parquet")
    assert not Loader(settings).load_pending().quarantined

    path = str(table_path(settings, "bronze", "t"))
    stored = [row[0] for row in _rows(path, "t")]
    assert stored == [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), END_OF_TIME, END_OF_TIME]
