"""The zstd level of a publish's rewrite (transform.publish._compression_level): a small
published table, rewritten whole on every batch when its changed keys are scattered, is written
at level 3 (fewer bytes per batch); a big one at level 1 (less CPU); a new one at level 1."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from transform import publish


def test_small_tables_are_rewritten_at_level_3_big_ones_at_level_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "t")
    write_deltalake(path, pa.table({"k": pa.array(range(1000), pa.int64())}))
    table = DeltaTable(path)
    assert publish._compression_level(None) == 1
    assert publish._compression_level(table) == publish.SMALL_TABLE_LEVEL == 3
    size = sum(table.get_add_actions(flatten=True).column("size_bytes").to_pylist())
    monkeypatch.setattr(publish, "SMALL_TABLE_BYTES", size)
    assert publish._compression_level(table) == 1


def test_big_rewrites_are_snappy_small_tables_stay_zstd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local rewrite of at least ``SNAPPY_FROM`` rows is Snappy (less CPU for the write and
    for DuckDB's reads, bigger files), unless the table is small (zstd 3, as above); fewer rows
    or an unknown count: zstd at its level. The sample that sizes a rewrite's files is written
    with the rewrite's codec, and a table's own files tell its bytes per row only when theirs
    is the same (:func:`publish._written_with`)."""
    path = str(tmp_path / "t")
    write_deltalake(path, pa.table({"k": pa.array(range(1000), pa.int64())}))
    table = DeltaTable(path)
    assert publish._written_with(table) == "snappy"  # delta-rs's default
    big = publish.SNAPPY_FROM
    assert publish._compression(None, big) == ("snappy", 1)
    assert publish._compression(None, big - 1) == ("zstd", 1)
    assert publish._compression(None, None) == ("zstd", 1)
    assert publish._compression(table, big) == ("zstd", 3)  # a small table
    size = sum(table.get_add_actions(flatten=True).column("size_bytes").to_pylist())
    monkeypatch.setattr(publish, "SMALL_TABLE_BYTES", size)
    assert publish._compression(table, big) == ("snappy", 1)
    assert publish._compression(table, 10) == ("zstd", 1)
    zstd = str(tmp_path / "z")
    write_deltalake(
        zstd,
        pa.table({"k": pa.array(range(10), pa.int64())}),
        writer_properties=publish._writer(pa.schema([("k", pa.int64())])),
    )
    assert publish._written_with(DeltaTable(zstd)) == "zstd"
