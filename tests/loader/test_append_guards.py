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
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
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


D18 = pa.decimal128(18, 0)
D12 = pa.decimal128(12, 2)
UTC_US = pa.timestamp("us", tz="UTC")
FILTERED = {
    "text over 64 characters": (
        {"s": ["a"]},
        {"s": ["x" * 100, "short"]},
        pads.field("s") == "short",
    ),
    "text over 4,096 bytes": (
        {"s": ["a"]},
        {"s": ["x" * 5000, "short"]},
        pads.field("s") == "short",
    ),
    "long non-ASCII text": (
        {"s": ["a"]},
        {"s": ["\U0001f600" * 70, "short"]},
        pads.field("s") == "short",
    ),
    "bytes": ({"b": [b"a"]}, {"b": [b"\xff\x00", b"q"]}, pads.field("b") == b"q"),
    "decimal(18, 0)": (
        {"d": pa.array([1], D18)},
        {"d": pa.array([5, 2**59], D18)},
        pads.field("d") == pa.scalar(5, D18),
    ),
    "decimal(12, 2)": (
        {"d": pa.array([1], D12)},
        {"d": pa.array([5, 7], D12)},
        pads.field("d") == pa.scalar(5, D12),
    ),
    "struct field": ({"st": [{"a": 1}]}, {"st": [{"a": 5}, {"a": 6}]}, pads.field("st", "a") == 5),
    "end of time": (
        {"t": pa.array([dt.datetime(2020, 1, 1, tzinfo=dt.UTC)], UTC_US)},
        {"t": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC), END_OF_TIME], UTC_US)},
        pads.field("t") == pa.scalar(END_OF_TIME, UTC_US),
    ),
    "beginning of time": (
        {"t": pa.array([dt.datetime(2020, 1, 1, tzinfo=dt.UTC)], UTC_US)},
        {
            "t": pa.array(
                [dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 1, tzinfo=dt.UTC)],
                UTC_US,
            )
        },
        pads.field("t") == pa.scalar(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), UTC_US),
    ),
    "first and last date": (
        {"d": [dt.date(2020, 1, 1)]},
        {"d": [dt.date(1, 1, 1), dt.date(9999, 12, 31)]},
        pads.field("d") == pa.scalar(dt.date(1, 1, 1)),
    ),
}


@pytest.mark.parametrize("case", list(FILTERED))
def test_filtered_reads_of_bronze_find_every_appended_row(settings: Settings, case: str) -> None:
    """Readers skip a file by its add action's bounds: a bound that is wrong, or a stats column
    a file gives no bound for (deltalake's Arrow dataset then skips the file for any filter on
    it), loses rows without a word."""
    first, second, wanted = FILTERED[case]
    inbox = settings.raw_dir / "t"
    inbox.mkdir(parents=True)
    for i, columns in enumerate((first, second)):
        ids = pa.array(range(i * 10, i * 10 + len(next(iter(columns.values())))), pa.int64())
        pq.write_table(pa.table({"id": ids, **columns}), inbox / f".{i}.part")
        (inbox / f".{i}.part").rename(inbox / f"{i}.parquet")
        assert not Loader(settings).load_pending().quarantined

    table = DeltaTable(str(table_path(settings, "bronze", "t")))
    assert arrow_dataset(table).count_rows(filter=wanted) == 1
    everything = arrow_dataset(table).to_table()
    assert everything.num_rows == 1 + len(next(iter(second.values())))


def _parquet_times(micros: list[int]) -> bytes:
    out = pa.BufferOutputStream()
    pq.write_table(pa.table({"t": pa.array(micros, UTC_US)}), out)
    return bytes(out.getvalue().to_pybytes())


def test_an_appended_instant_past_9999_does_not_stop_the_pass(settings: Settings) -> None:
    """A timestamp past 9999 in an appended file's statistics is no Python datetime: the pass
    raised OverflowError (on every resume; other tables' files in it were not loaded)."""
    drop(settings, "t", "a.parquet", _parquet_times([0]))
    assert not Loader(settings).load_pending().quarantined
    drop(settings, "t", "b.parquet", _parquet_times([253_402_300_800_000_000 + 86_400_000_000, 5]))
    drop(settings, "beside", "y.csv", b"id\n1\n")
    Loader(settings).load_pending()
    assert (
        arrow_dataset(DeltaTable(str(table_path(settings, "bronze", "beside")))).count_rows() == 1
    )
    assert not list((settings.raw_dir / "t").glob("*.parquet"))  # loaded or refused, not left
    Loader(settings).load_pending()  # and the next pass
