"""Our own bronze files' add actions bound every column a reader may guard, so a filtered read
finds every row (review findings auditL 01 to 03, auditS 01, session 8).

deltalake's Arrow dataset (dbt's read of bronze, the rows endpoint, DuckDB over
``lakehouse.storage.arrow_dataset``) skips a file for any filter on a column it expects bounds
for and finds none, or finds a maximum below the file's true maximum.
"""

from __future__ import annotations

import io

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from adversary_support import run
from deltalake import DeltaTable

from lakehouse.layout import table_path
from lakehouse.settings import Settings
from lakehouse.storage import arrow_dataset


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
