"""Our own bronze files' add actions bound every column a reader may guard, so a filtered read
finds every row (review findings auditL 01 to 03, auditS 01, session 8).

deltalake's Arrow dataset (dbt's read of bronze, the rows endpoint, DuckDB over
``lakehouse.storage.arrow_dataset``) skips a file for any filter on a column it expects bounds
for and finds none, or finds a maximum below the file's true maximum.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, lakehouse, run
from deltalake import CommitProperties, DeltaTable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse.layout import table_path
from lakehouse.settings import Settings
from lakehouse.storage import arrow_dataset
from transform.delta_files import write_files


def _bronze(settings: Settings, table: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("bronze", arrow_dataset(DeltaTable(str(table_path(settings, "bronze", table)))))
    return con


def _items(kind: str, rows: list[int]) -> pa.Array:
    if kind == "list_of_struct":
        return pa.array([[{f"f{j}": r for j in range(5)}] for r in rows])
    return pa.array([[("k", r)] for r in rows], pa.map_(pa.string(), pa.int64()))


def _wide(kind: str, rows: list[int]) -> bytes:
    columns = {"items": _items(kind, rows)}
    columns.update({f"c{i:02d}": pa.array([r * 100 + i for r in rows]) for i in range(32)})
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["list_of_struct", "map"])
def test_a_wide_table_with_a_nested_column_is_found_by_filters_on_every_column(
    module_lakehouse: Settings, kind: str
) -> None:
    """deltalake counts a list or a map as one of its 32 statistics columns; we counted the
    leaves inside, bounding 4 (list of 5-field structs) or 1 (map) columns too few."""
    table = f"bounds_{kind}"
    run(module_lakehouse, [(table, "a.parquet", _wide(kind, [0]))], rows=False)
    outcome = run(module_lakehouse, [(table, "b.parquet", _wide(kind, [1, 2]))], rows=False)
    assert outcome[table].api_status == 202 and outcome[table].refused is None
    dataset = arrow_dataset(DeltaTable(str(table_path(module_lakehouse, "bronze", table))))
    assert dataset.count_rows() == 3
    lost = [
        f"c{i:02d}"
        for i in range(32)
        for row in (0, 1, 2)
        if dataset.to_table(filter=pc.field(f"c{i:02d}") == row * 100 + i).num_rows != 1
    ]
    assert lost == []


@pytest.mark.parametrize("name", ["𠮷野家", "\U0002a6df", "\U00040000x", "\U0010ffff"])
def test_a_text_maximum_outside_plane_1_is_found(module_lakehouse: Settings, name: str) -> None:
    """Stats written as escaped surrogate pairs: deltalake reads planes 2, 4, 8 and 16 0x10000
    too low, a maximum below the maximum."""
    table = f"bounds_{ord(name[0]):x}"
    run(module_lakehouse, [(table, "a.csv", b"id,name\n1,a\n")], rows=False)
    later = f"id,name\n2,{name}\n3,b\n".encode()
    outcome = run(module_lakehouse, [(table, "b.csv", later)], rows=False)[table]
    assert outcome.api_status == 202 and outcome.refused is None
    con = _bronze(module_lakehouse, table)
    assert con.sql("select count(*) from bronze").fetchall() == [(3,)]
    assert con.execute("select id from bronze where name = ?", [name]).fetchall() == [(2,)]


def test_a_long_text_maximum_no_shorter_string_exceeds_is_its_own_bound(
    module_lakehouse: Settings,
) -> None:
    """70 x U+10FFFF: no 64-character string is above it; the column had no bound at all."""
    table = "bounds_top_code_points"
    run(module_lakehouse, [(table, "a.csv", b"s,k\nm,0\n")], rows=False)
    later = ("s,k\n" + "\U0010ffff" * 70 + ",1\nb,2\n").encode()
    outcome = run(module_lakehouse, [(table, "b.csv", later)], rows=False)[table]
    assert outcome.api_status == 202 and outcome.refused is None
    con = _bronze(module_lakehouse, table)
    assert con.sql("select k from bronze where s = 'b'").fetchall() == [(2,)]
    assert con.sql("select k from bronze where s > 'z'").fetchall() == [(1,)]


def _decimals(values: list[str]) -> bytes:
    out = io.BytesIO()
    rows = pa.table({"rate": pa.array([Decimal(v) for v in values], pa.decimal128(10, 6))})
    pq.write_table(rows, out)
    return out.getvalue()


def test_a_declared_small_decimal_is_found(tmp_path: Path) -> None:
    """Decimal bounds were JSON floats: 0.000010 written 1e-05, which deltalake reads as no
    bound (auditL 04)."""
    lake = lakehouse(tmp_path)
    declare(lake, "rates", {"id": "bigint", "rate": "decimal(10,6)"})
    run(lake, [("rates", "a.csv", b"id,rate\n1,1.000000\n")], rows=False)
    later = b"id,rate\n2,0.000010\n3,0.000050\n"
    outcome = run(lake, [("rates", "b.csv", later)], rows=False)["rates"]
    assert outcome.api_status == 202 and outcome.refused is None
    con = _bronze(lake, "rates")
    assert con.sql("select id from bronze where rate = 0.000050").fetchall() == [(3,)]


def test_a_parquet_small_decimal_is_found(module_lakehouse: Settings) -> None:
    table = "bounds_decimals"
    run(module_lakehouse, [(table, "a.parquet", _decimals(["1.000000"]))], rows=False)
    later = _decimals(["0.000010", "-0.000050"])
    outcome = run(module_lakehouse, [(table, "b.parquet", later)], rows=False)[table]
    assert outcome.api_status == 202 and outcome.refused is None
    con = _bronze(module_lakehouse, table)
    assert con.sql("select count(*) from bronze where rate < 0.00002").fetchall() == [(2,)]


_SCALES = st.integers(0, 15).flatmap(lambda p: st.tuples(st.just(p), st.integers(0, p)))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=_SCALES.filter(lambda ps: ps[0] >= 1),
    units=st.lists(st.integers(-(10**15), 10**15), min_size=1, max_size=4),
)
def test_published_decimal_bounds_read_back_exactly(
    tmp_path_factory: pytest.TempPathFactory, kind: tuple[int, int], units: list[int]
) -> None:
    """Every decimal of precision <= 15 a publish writes has bounds deltalake reads as the
    values themselves (tiny, huge, negative, zero)."""
    precision, scale = kind
    top = 10**precision - 1
    values = [Decimal(max(-top, min(top, u))).scaleb(-scale) for u in units]
    folder = tmp_path_factory.mktemp("model")
    con = duckdb.connect()
    con.register("v", pa.table({"d": pa.array(values, pa.decimal128(precision, scale))}))
    write_files(
        con, "select * from v", folder, current=None, mode="overwrite", commit=CommitProperties()
    )
    adds = pa.table(DeltaTable(str(folder)).get_add_actions(flatten=True)).to_pylist()
    low = min(a["min.d"] for a in adds if a["min.d"] is not None)
    high = max(a["max.d"] for a in adds if a["max.d"] is not None)
    assert (low, high) == (min(values), max(values))
    found = arrow_dataset(DeltaTable(str(folder))).to_table(filter=pc.field("d") == values[0])
    assert found.num_rows == values.count(values[0])
