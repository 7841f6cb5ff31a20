"""A value rescued in a small file streamed in pieces keeps its text in ``_rescued_data``.

A file of at most ``pieces.SMALL_FILE_BYTES`` holding more records than ``chunk_rows`` is not
buffered with others: it streams into bronze in pieces of ``chunk_rows`` rows, like a big file.
Its pieces must carry ``_rescued_data`` whenever a value may be rescued: without it, a value
that does not fit its column was made null and its text dropped with the column, the ledger
still counting it rescued (docs/loading.md, "Mismatches": every row loads, the column holds
null and ``_rescued_data`` the value's text). ``chunk_rows`` is small here, so a few hundred
rows stand for the millions of a real file (a CSV of 4M one-digit rows is under 8 MiB).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import _bronze, _drop, lakehouse

from lakehouse import Settings, dialect
from lakehouse.ledger import Ledger
from loader import Loader
from loader.loading import LoadSummary

CHUNK = 100
ROWS = 250  # three pieces; the file is a few hundred bytes

CONTRACT = """\
version: 2
sources:
  - name: bronze
    tables:
      - name: t
        columns:
          - {name: v, data_type: bigint}
"""


@pytest.fixture
def settings_(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    return lakehouse(tmp_path, chunk_rows=CHUNK, read_batch_rows=1024)


def _load(settings: Settings, name: str, data: bytes) -> LoadSummary:
    _drop(settings, "t", name, data)
    summary = Loader(settings).load_pending()
    assert summary.quarantined == [], summary.quarantined
    return summary


def _kept(
    settings: Settings, summary: LoadSummary, name: str, texts: list[str], rescued: set[str]
) -> list[dict[str, Any]]:
    """The file's rows in bronze: every value ``v`` its text (``texts``, in any order), those
    of ``rescued`` null and in ``_rescued_data``, which the ledger counts. Its rows."""
    rows = [r for r in _bronze(settings, "t") or [] if r["_source_file"] == name]
    assert len(rows) == len(texts)
    assert dialect.RESCUED_DATA in rows[0], sorted(rows[0])  # the column never made it
    kept = []
    back = []
    for row in rows:
        held = row[dialect.RESCUED_DATA]  # a JSON number is kept as written: its text
        extra = json.loads(held, parse_float=str, parse_int=str) if held else {}
        assert set(extra) <= {"v"}, extra
        if "v" in extra:
            assert row["v"] is None, row
            back.append(extra["v"])
            kept.append(extra["v"])
        else:
            kept.append(str(row["v"]))
    assert sorted(back) == sorted(rescued)
    assert sorted(kept) == sorted(texts)
    [loaded] = [f for f in summary.loaded if f.file == name]
    batch = Ledger.of(settings).get_batch(loaded.batch_id)
    assert batch is not None and batch.rescued == len(rescued)
    return rows


def _csv(texts: list[str]) -> bytes:
    return ("v\n" + "".join(f"{t}\n" for t in texts)).encode()


def test_a_csv_value_past_the_first_piece_is_rescued_into_the_tables_type(
    settings_: Settings,
) -> None:
    """The table holds ``v BIGINT``; a small CSV of three pieces brings ``00077`` in the last."""
    _load(settings_, "a.csv", b"v\n1\n2\n")
    texts = [str(i % 10) for i in range(ROWS)]
    texts[5], texts[220] = "x", "00077"
    summary = _load(settings_, "b.csv", _csv(texts))
    _kept(settings_, summary, "b.csv", texts, {"x", "00077"})


def test_a_csv_value_that_does_not_fit_its_declared_type_is_rescued_in_any_piece(
    settings_: Settings,
) -> None:
    (settings_.dbt_project_dir / "models" / "sources.yml").write_text(CONTRACT)
    texts = [str(i) for i in range(ROWS)]
    texts[0], texts[150], texts[249] = "007", "1.5", "x"
    summary = _load(settings_, "c.csv", _csv(texts))
    _kept(settings_, summary, "c.csv", texts, {"007", "1.5", "x"})


def test_json_values_past_the_inference_window_are_rescued(settings_: Settings) -> None:
    """The first records (a batch of ``read_batch_rows``, at least ``chunk_rows``) decide ``v``
    is BIGINT; later ones do not fit it (the string ``"5"`` is no number; ``1e5``, ``-0.0``
    and ``1.5`` no integers). Three pieces of 1000 records."""
    settings = settings_.model_copy(update={"chunk_rows": 1000})
    rows = 2500
    odd = {1100: '"5"', 1300: "1e5", 2180: "-0.0", 2499: "1.5"}
    data = "".join(f'{{"i": {i}, "v": {odd.get(i, i)}}}\n' for i in range(rows)).encode()
    summary = _load(settings, "d.ndjson", data)
    texts = [odd.get(i, str(i)).strip('"') for i in range(rows)]
    kept = _kept(settings, summary, "d.ndjson", texts, {"5", "1e5", "-0.0", "1.5"})
    by_i = {r["i"]: r for r in kept}
    assert by_i[1300][dialect.RESCUED_DATA] == '{"v": 1e5}'  # in its own row, as written
    assert by_i[1100][dialect.RESCUED_DATA] == '{"v": "5"}'  # the string stays a string


def test_a_parquet_value_that_does_not_fit_the_tables_type_is_rescued(
    settings_: Settings,
) -> None:
    """The table holds ``v BIGINT``; a small Parquet file of strings brings ``00077``."""

    def parquet(table: pa.Table) -> bytes:
        out = io.BytesIO()
        pq.write_table(table, out, row_group_size=60)
        return out.getvalue()

    _load(settings_, "a.parquet", parquet(pa.table({"v": pa.array([1, 2, 3], pa.int64())})))
    texts = [str(i % 10) for i in range(ROWS)]
    texts[5], texts[230] = "00077", "x"
    summary = _load(settings_, "b.parquet", parquet(pa.table({"v": pa.array(texts)})))
    _kept(settings_, summary, "b.parquet", texts, {"00077", "x"})


def test_a_column_a_piece_has_no_place_for_is_never_dropped() -> None:
    """The bronze columns' layout refuses rows holding a column their piece's schema lacks
    (it filled the piece's columns and dropped the rest: the defect above, without a word)."""
    from datetime import UTC, datetime

    from loader.landing import LandingFile
    from loader.pieces import BronzeColumns, bronze_schema, with_bronze_columns

    batch = pa.record_batch(
        [pa.array([None, 1], pa.int64()), pa.array(['{"v": "x"}', None])],
        names=["v", dialect.RESCUED_DATA],
    )
    file = LandingFile("t", Path("/nowhere/f.csv"), 1, "bat_" + "0" * 32)
    bronze = BronzeColumns(file, pa.scalar(datetime.now(UTC), pa.timestamp("us", tz="UTC")))
    with pytest.raises(ValueError, match="_rescued_data"):
        with_bronze_columns(batch, bronze_schema(pa.schema([("v", pa.int64())])), bronze)
    full = bronze_schema(batch.schema)
    assert with_bronze_columns(batch, full, bronze).column(1).to_pylist() == ['{"v": "x"}', None]
