"""A writer's marker or Parquet summary file is set aside only when its content proves it holds
no rows (before-stop read readA 01, session 14, HIGH): by its name alone, ``_committed_orders.csv``,
a ``_SUCCESS`` holding bytes and a ``_metadata`` holding rows were archived unread, "holds no
rows", their rows in no table (the API loaded the same bytes, 202)."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse import Settings
from lakehouse.layout import raw_dir
from loader import Loader
from loader.landing import marker_reason


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def test_names_alone_never_set_rows_aside(settings: Settings) -> None:
    raw = raw_dir(settings, "t")
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "_committed_orders.csv").write_bytes(b"id,amount\n1,10\n2,20\n")
    (raw / "_SUCCESS").write_bytes(b"id,amount\n3,30\n")
    (raw / "_metadata").write_bytes(_parquet(pa.table({"id": [4, 5]})))
    summary = Loader(settings).load_pending()
    assert summary.set_aside == [], summary.set_aside
    loaded = {f.file for f in summary.loaded}
    quarantined = {f.file for f in summary.quarantined}
    assert loaded == {"_committed_orders.csv"}, summary
    # no extension: a format the loader does not read, said so (its bytes kept in quarantine)
    assert quarantined == {"_SUCCESS", "_metadata"}, summary


def test_what_proves_it_holds_no_rows_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / "_SUCCESS").write_bytes(b"")
    (tmp_path / "_started_42").write_bytes(b"")
    (tmp_path / "_committed_42").write_bytes(b'{"added":["part-0.parquet"],"removed":[]}')
    schema_only = io.BytesIO()
    pq.write_metadata(pa.schema([("id", pa.int64())]), schema_only)
    (tmp_path / "_common_metadata").write_bytes(schema_only.getvalue())
    for name in ("_SUCCESS", "_started_42", "_committed_42", "_common_metadata"):
        assert marker_reason(tmp_path / name) is not None, name
    (tmp_path / "_started_x").write_bytes(b"")
    (tmp_path / "_committed_orders.csv").write_bytes(b"")
    (tmp_path / "_metadata").write_bytes(b"not parquet")
    for name in ("_started_x", "_committed_orders.csv", "_metadata"):
        assert marker_reason(tmp_path / name) is None, name
