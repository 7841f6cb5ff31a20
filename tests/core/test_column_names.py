"""The API's cache of bronze's column names and types (``lakehouse.catalog.ColumnNames``) never
keeps a schema read in the same clock tick as a commit (two reviewers' finding, session 8).

A log folder's mtime moves in coarse ticks: a commit in the tick of a read leaves the stamp as it
was, so a schema read just before that commit was kept until the next commit (the API judging a
body by a table missing its new column).
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakehouse import catalog
from lakehouse.layout import table_path
from lakehouse.settings import Settings


def _table(tmp_path: Path) -> tuple[Settings, Path]:
    settings = Settings(root=tmp_path)
    location = table_path(settings, "bronze", "t")
    assert isinstance(location, Path)
    write_deltalake(str(location), pa.table({"a": [1]}))
    return settings, location


def test_a_read_in_the_tick_of_a_commit_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, location = _table(tmp_path)
    log = location / "_delta_log"
    names = catalog.ColumnNames(settings)
    monkeypatch.setattr(catalog, "SETTLED_NS", 10**18)  # every read is in a commit's tick
    assert names.names("t") == ("a",)
    before = log.stat()
    write_deltalake(
        str(location), pa.table({"a": [2], "b": ["x"]}), mode="append", schema_mode="merge"
    )
    os.utime(log, ns=(before.st_atime_ns, before.st_mtime_ns))  # the same tick: the same mtime
    if log.stat().st_size != before.st_size:
        pytest.skip("this file system's folder size changed with the commit: no same stamp")
    assert names.names("t") == ("a", "b")


def test_a_settled_read_is_kept_until_the_log_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, location = _table(tmp_path)
    names = catalog.ColumnNames(settings)
    monkeypatch.setattr(catalog, "SETTLED_NS", 0)
    assert names.names("t") == ("a",)
    reads: list[str] = []
    opened = catalog.open_table

    def counted(*args: object, **kwargs: object) -> object:
        reads.append("read")
        return opened(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(catalog, "open_table", counted)
    assert names.names("t") == ("a",)
    assert reads == []  # cached
    write_deltalake(
        str(location), pa.table({"a": [2], "b": ["x"]}), mode="append", schema_mode="merge"
    )
    assert names.names("t") == ("a", "b")
    assert reads == ["read"]
    monkeypatch.setattr(catalog, "SETTLED_NS", 10**18)  # from now on, reads in a commit's tick
    write_deltalake(
        str(location),
        pa.table({"a": [3], "b": ["y"], "c": [True]}),
        mode="append",
        schema_mode="merge",
    )
    assert names.names("t") == ("a", "b", "c")
    assert names.names("t") == ("a", "b", "c")  # not kept: read again
    assert reads == ["read", "read", "read"]
