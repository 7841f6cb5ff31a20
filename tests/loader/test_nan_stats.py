"""A NaN in a bronze float column: every Delta reader that orders NaN above every number (Spark,
DataFusion, Polars, DuckDB: ``NaN > 10`` is true) finds its row for ``x > 10``.

delta-rs leaves NaN out of a float column's bounds, in the add action's ``maxValues`` and in the
Parquet footer (``[0.5, 1.0, NaN]`` gets a maximum of 1.0): readers would skip the file or its
row group. So bronze keeps float columns out of its Delta statistics
(``delta.dataSkippingStatsColumns``, lakehouse.delta_stats) and out of its footers (delta-rs's
writer options); a table written before gets the property on its next append, which retires
its old files' float bounds, and a compaction rewrites their footers.
"""

from __future__ import annotations

import io

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, QueryBuilder, write_deltalake
from loader_support import drop

from lakehouse import scan_table, table_path
from lakehouse.delta_stats import STATS_COLUMNS, writer_properties
from lakehouse.maintenance import maintain_table
from lakehouse.settings import Settings
from loader.loading import Loader
from transform import dbt_plugin

NAN = float("nan")


def _parquet(ids: list[int], xs: list[float]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": ids, "x": pa.array(xs, pa.float64())}), out)
    return out.getvalue()


def _load(settings: Settings, name: str, ids: list[int], xs: list[float]) -> None:
    drop(settings, "readings", name, _parquet(ids, xs))
    summary = Loader(settings).load_pending()
    assert summary.rows == len(ids) and not summary.quarantined


def _table(settings: Settings) -> DeltaTable:
    return DeltaTable(str(table_path(settings, "bronze", "readings")))


def _above_ten(settings: Settings) -> dict[str, list[int]]:
    """The ids each reader finds for ``x > 10``."""
    sql = "select id from t where x > 10 order by id"
    found = pa.table(QueryBuilder().register("t", _table(settings)).execute(sql).read_all())
    lazy = scan_table("bronze", "readings", settings=settings)
    polars = lazy.filter(pl.col("x") > 10).sort("id").collect()["id"].to_list()
    pin = dbt_plugin.BuildPins(settings=settings).get("readings")
    assert pin.files
    query = sql.replace("from t", f"from {pin.relation}")
    build = [r[0] for r in duckdb.connect().execute(query).fetchall()]
    return {"datafusion": found.column("id").to_pylist(), "polars": polars, "build": build}


def _float_bounds(table: DeltaTable) -> list[str]:
    names = pa.table(table.get_add_actions(flatten=True)).schema.names
    return [n for n in names if n in ("min.x", "max.x")]


def _footer_bounds(table: DeltaTable) -> list[bool]:
    """Per data file: whether its footer holds bounds of ``x``."""
    found = []
    for uri in table.file_uris():
        meta = pq.read_metadata(uri.removeprefix("file://"))
        column = meta.schema.names.index("x")
        stats = [meta.row_group(g).column(column).statistics for g in range(meta.num_row_groups)]
        found.append(any(s is not None and s.has_min_max for s in stats))
    return found


def test_every_reader_finds_the_nan_row(settings: Settings) -> None:
    _load(settings, "a.parquet", [1, 2, 3], [0.5, 1.0, NAN])
    _load(settings, "b.parquet", [4, 5], [20.0, 2.0])
    table = _table(settings)
    assert "`x`" not in table.metadata().configuration[STATS_COLUMNS]
    assert "`id`" in table.metadata().configuration[STATS_COLUMNS]  # the others keep theirs
    assert _float_bounds(table) == []
    assert _footer_bounds(table) == [False, False]
    assert _above_ten(settings) == {"datafusion": [3, 4], "polars": [3, 4], "build": [3, 4]}


def test_a_table_written_before_loses_its_float_bounds(settings: Settings) -> None:
    """A bronze table written with delta-rs's defaults (as before this rule): its files carry
    NaN-less float bounds. The next load sets the property (readers then ignore the old files'
    float bounds); the old footers stay until a compaction rewrites them."""
    path = str(table_path(settings, "bronze", "readings"))
    old = pa.table({"id": [1, 2, 3], "x": [0.5, 1.0, NAN]})
    write_deltalake(path, old)
    assert _float_bounds(_table(settings)) == ["min.x", "max.x"]
    assert _above_ten(settings)["datafusion"] == []  # the wrong answer of such a table
    _load(settings, "b.parquet", [4], [20.0])
    table = _table(settings)
    assert "`x`" not in table.metadata().configuration[STATS_COLUMNS]
    assert _float_bounds(table) == []
    assert sorted(_footer_bounds(table)) == [False, True]  # the old file's footer
    assert _above_ten(settings)["build"] == [3, 4]  # builds read it with can_have_nan
    maintain_table(settings, "bronze", "readings")  # compaction: the old footer rewritten
    table = _table(settings)
    assert _footer_bounds(table) == [False]
    assert _above_ten(settings) == {"datafusion": [3, 4], "polars": [3, 4], "build": [3, 4]}


def test_writer_options_turn_off_only_float_statistics() -> None:
    schema = pa.schema([("id", pa.int64()), ("x", pa.float64()), ("y", pa.float32())])
    text = str(writer_properties(schema, compression="ZSTD", compression_level=3))
    assert "column 'x': " in text and "column 'y': " in text and "column 'id'" not in text
    assert "statistics_enabled: NONE" in text and "ZSTD(3)" in text
    assert "column_properties: None" in str(writer_properties(pa.schema([("id", pa.int64())])))
