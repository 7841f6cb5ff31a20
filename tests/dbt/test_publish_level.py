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
