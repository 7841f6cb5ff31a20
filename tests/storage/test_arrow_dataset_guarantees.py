"""``lakehouse.storage.arrow_dataset`` (the build's read of bronze on object storage and of a
table that is not plain; the publish's and the catalog's reads): a file written before a
column existed has no statistics for it, and deltalake 1.6.6 gives such a file the guarantee
``(c >= null) and (c <= null)``, so pyarrow (and DuckDB, which pushes ``where c is null`` into
the scan) skipped every older file without a word (review finding auditS 02, HIGH). Each file
now keeps only its partition values as its guarantee.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake

from lakehouse.storage import arrow_dataset


def _evolved(path: Path, partition: list[str] | None = None) -> DeltaTable:
    old = pa.table({"id": [1, 2], "p": ["a", None]})
    new = pa.table({"id": [3, 4], "p": ["a", "b"], "coupon": ["X", None]})
    write_deltalake(str(path), old, partition_by=partition)
    write_deltalake(str(path), new, mode="append", schema_mode="merge", partition_by=partition)
    return DeltaTable(str(path))


def _ids(dataset, where) -> list[int]:
    return sorted(dataset.to_table(filter=where).column("id").to_pylist())


def test_a_column_added_later_filters_every_file(tmp_path: Path) -> None:
    dataset = arrow_dataset(_evolved(tmp_path / "t"))
    assert _ids(dataset, pc.field("coupon").is_null()) == [1, 2, 4]
    assert _ids(dataset, pc.field("coupon") == "X") == [3]
    assert _ids(dataset, pc.field("id") > 1) == [2, 3, 4]
    con = duckdb.connect()
    con.register("bronze", dataset)
    got = con.sql("select id from bronze where coupon is null order by id").fetchall()
    assert got == [(1,), (2,), (4,)]


def test_partition_values_are_kept_and_filter(tmp_path: Path) -> None:
    dataset = arrow_dataset(_evolved(tmp_path / "t", ["p"]))
    rows = dataset.to_table().sort_by("id")
    assert rows.column("p").to_pylist() == ["a", None, "a", "b"]
    assert _ids(dataset, pc.field("p") == "a") == [1, 3]
    assert _ids(dataset, pc.field("p").is_null()) == [2]
    assert _ids(dataset, pc.field("coupon").is_null() & (pc.field("p") == "a")) == [1]
