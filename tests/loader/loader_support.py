"""Small helpers for loader tests: drop files into the landing zone, read bronze back."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable

from lakehouse import Settings
from lakehouse.layout import raw_dir, table_path


def drop(settings: Settings, table: str, name: str, content: bytes | str) -> Path:
    """Write a landing file the way a careful producer does: a temporary name, then rename."""
    folder = raw_dir(settings, table)
    folder.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    if name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    tmp = folder / f".{name}.part"
    tmp.write_bytes(data)
    path = folder / name
    os.replace(tmp, path)
    return path


def bronze(settings: Settings, table: str) -> pa.Table:
    return DeltaTable(str(table_path(settings, "bronze", table))).to_pyarrow_table()


def bronze_version(settings: Settings, table: str) -> int:
    return DeltaTable(str(table_path(settings, "bronze", table))).version()


def csv_rows(n: int, start: int = 0) -> str:
    lines = ["id,name,amount"]
    lines += [f"{i},name {i},{i * 1.5}" for i in range(start, start + n)]
    return "\n".join(lines) + "\n"
