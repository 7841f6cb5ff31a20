"""Wide decimals in bronze: delta-rs writes their file bounds wrong, so bronze keeps them out.

A JSON integer beyond int64 is stored as DECIMAL(38, 0), a CSV number no float64 holds as
DECIMAL(38, s); delta-rs would write a maximum of 9223372036854775807 for 99999999999999999999
and a minimum of 1.2345678901234568e18 for 1234567890123456789.5, and readers that skip files
by those bounds (deltalake's Arrow dataset and DataFusion, Polars) would find no row.
"""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pytest
from deltalake import DeltaTable, QueryBuilder, write_deltalake
from loader_support import drop

from lakehouse import scan_table, table_path
from lakehouse.delta_stats import STATS_COLUMNS, guard, inexact, stats_configuration
from lakehouse.settings import Settings
from lakehouse.storage import arrow_dataset
from loader.loading import Loader

BIG = Decimal("99999999999999999999")
WIDE = Decimal("1234567890123456789.5")


def _bounds(table: DeltaTable, column: str) -> list[tuple[object, object]]:
    """(min, max) of ``column`` in each file's statistics (None: not written)."""
    files = pa.table(table.get_add_actions(flatten=True))
    names = files.schema.names
    lows = files.column(f"min.{column}").to_pylist() if f"min.{column}" in names else None
    highs = files.column(f"max.{column}").to_pylist() if f"max.{column}" in names else None
    return [(lows[i] if lows else None, highs[i] if highs else None) for i in range(files.num_rows)]


def _found(settings: Settings, table: str, column: str, op: str, value: Decimal) -> dict[str, int]:
    """Rows each reader finds for ``column op value``."""
    delta = DeltaTable(str(table_path(settings, "bronze", table)))
    kind = pa.schema(delta.schema().to_arrow()).field(column).type
    scalar = pa.scalar(value, kind)
    field = pads.field(column)
    expr = field > scalar if op == ">" else field <= scalar
    cast = f"cast('{value}' as decimal({kind.precision}, {kind.scale}))"
    sql = f'select count(*) as n from t where "{column}" {op} {cast}'
    batches = QueryBuilder().register("t", delta).execute(sql).read_all()
    lazy = scan_table("bronze", table, settings=settings)
    literal = pl.lit(value, dtype=pl.Decimal(kind.precision, kind.scale))
    polars_expr = pl.col(column) > literal if op == ">" else pl.col(column) <= literal
    return {
        "arrow dataset": arrow_dataset(delta).to_table(filter=expr).num_rows,
        "datafusion": int(pa.table(batches).column("n")[0].as_py()),
        "polars": lazy.filter(polars_expr).collect().height,
    }


def test_a_huge_json_integer_is_found_by_every_reader(settings: Settings) -> None:
    records = [{"id": 1, "big": int(BIG)}, {"id": 2, "big": 5}]
    drop(settings, "t", "a.ndjson", "\n".join(json.dumps(r) for r in records) + "\n")
    assert Loader(settings).load_pending().loaded
    delta = DeltaTable(str(table_path(settings, "bronze", "t")))
    assert pa.schema(delta.schema().to_arrow()).field("big").type == pa.decimal128(38, 0)
    assert all(bound == (None, None) for bound in _bounds(delta, "big"))
    assert _bounds(delta, "id") == [(1, 2)]  # exact columns keep their bounds
    found = _found(settings, "t", "big", ">", Decimal("10000000000000000000"))
    assert found == {"arrow dataset": 1, "datafusion": 1, "polars": 1}


def test_a_wide_decimal_column_added_later_is_found_by_every_reader(settings: Settings) -> None:
    drop(settings, "t", "a.csv", "id\n1\n")
    assert Loader(settings).load_pending().loaded
    drop(settings, "t", "b.csv", f"id,wide\n2,{WIDE}\n3,1234567890123456790.0\n")
    assert Loader(settings).load_pending().loaded
    delta = DeltaTable(str(table_path(settings, "bronze", "t")))
    assert pa.schema(delta.schema().to_arrow()).field("wide").type == pa.decimal128(38, 1)
    assert all(bound == (None, None) for bound in _bounds(delta, "wide"))
    assert _found(settings, "t", "wide", "<=", WIDE) == {
        "arrow dataset": 1,
        "datafusion": 1,
        "polars": 1,
    }


def test_delta_rs_writes_wrong_bounds_without_the_guard(tmp_path: object) -> None:
    """The reproduction (docs/pitfalls.md): if delta-rs fixes this, the guard can go."""
    path = str(tmp_path)
    data = pa.table({"big": pa.array([Decimal(1), BIG], pa.decimal128(38, 0))})
    write_deltalake(path, data)
    assert _bounds(DeltaTable(path), "big") == [(1, 2**63 - 1)]  # not 99999999999999999999


@pytest.mark.parametrize(
    ("kind", "wrong"),
    [
        (pa.decimal128(18, 0), False),
        (pa.decimal128(19, 0), True),
        (pa.decimal128(15, 2), False),
        (pa.decimal128(16, 2), True),
        (pa.struct([("d", pa.decimal128(38, 0))]), True),
        (pa.list_(pa.decimal128(38, 0)), True),
        (pa.int64(), False),
        (pa.string(), False),
    ],
)
def test_which_types_get_no_bounds(kind: pa.DataType, wrong: bool) -> None:
    assert inexact(kind) is wrong


def test_the_property_quotes_every_name_and_keeps_the_table_s_choice(tmp_path: object) -> None:
    schema = pa.schema([("a,b", pa.int64()), ("c `d`", pa.int64()), ("x", pa.decimal128(38, 0))])
    assert stats_configuration(schema) == {STATS_COLUMNS: "`a,b`,`c ``d```"}
    assert stats_configuration(pa.schema([("a", pa.int64())])) == {}
    path = str(tmp_path)
    write_deltalake(path, pa.table({"a,b": [1], "e": [2]}), configuration={STATS_COLUMNS: "e"})
    table = DeltaTable(path)
    assert not guard(table, pa.schema([("y", pa.decimal128(38, 0))]))  # not listed: no bounds
    assert guard(table, pa.schema([("e", pa.decimal128(38, 0))]))  # listed, now wide
    assert table.metadata().configuration[STATS_COLUMNS] == ""
