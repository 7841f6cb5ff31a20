"""Published tables as Polars LazyFrames, with time travel (lakehouse.frames)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse import Settings, scan_table
from lakehouse.catalog import TableNotFoundError


def test_scan_a_published_table_now_and_at_an_earlier_version(settings: Settings) -> None:
    path = str(settings.dados / "gold" / "orders")
    write_deltalake(path, pa.table({"order_id": [1, 2], "amount": [10, 20]}))
    first = datetime.now(UTC)
    write_deltalake(path, pa.table({"order_id": [3], "amount": [30]}), mode="append")
    write_deltalake(path, pa.table({"order_id": [9], "amount": [90]}), mode="overwrite")
    assert DeltaTable(path).version() == 2

    latest = scan_table("gold", "orders", settings=settings)
    assert isinstance(latest, pl.LazyFrame)
    assert latest.collect()["order_id"].to_list() == [9]
    at_1 = scan_table("gold", "orders", version=1, settings=settings)
    total = at_1.filter(pl.col("order_id") > 1).select(pl.col("amount").sum()).collect()
    assert total.item() == 50
    at_time = scan_table("gold", "orders", version=first, settings=settings).collect()
    assert sorted(at_time["order_id"].to_list()) == [1, 2]


def test_a_missing_table_or_version_is_named(settings: Settings) -> None:
    with pytest.raises(TableNotFoundError, match="no gold table 'nope'"):
        scan_table("gold", "nope", settings=settings)
    write_deltalake(str(settings.dados / "silver" / "t"), pa.table({"a": [1]}))
    with pytest.raises(TableNotFoundError, match=r"silver\.t has no version 7"):
        scan_table("silver", "t", version=7, settings=settings)
