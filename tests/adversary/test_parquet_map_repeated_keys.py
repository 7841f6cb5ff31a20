"""A Parquet map repeating a key within one map (Parquet says keys are unique; pyarrow and
other writers do not check): the API took it (202) and the loader stored it, after which DuckDB,
the build's read of bronze, refused the whole table ("Map keys must be unique") (review finding
auditD 06, HIGH; -0.0 beside 0.0: auditR 07). Now both refuse the file, naming the record, the
column and the key, at any depth, as a JSON object repeating a key is refused; maps whose keys
differ still load.
"""

from __future__ import annotations

import io

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run

from lakehouse import parquet
from lakehouse.layout import table_path
from lakehouse.settings import Settings

_I = pa.int64()
M = pa.map_(pa.string(), _I)


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


REPEATED = {
    "top": pa.table({"id": [1, 2], "m": pa.array([[("a", 3)], [("k", 1), ("k", 2)]], M)}),
    "in_list": pa.table(
        {
            "id": [1, 2],
            "m": pa.array([[[("a", 1)]], [[("b", 1)], [("k", 1), ("k", 2)]]], pa.list_(M)),
        }
    ),
    "in_struct": pa.table(
        {
            "id": [1, 2],
            "m": pa.array([{"f": [("a", 1)]}, {"f": [("k", 1), ("k", 2)]}], pa.struct([("f", M)])),
        }
    ),
    "int_keys": pa.table(
        {
            "id": [1, 2],
            "m": pa.array([[(1, "x")], [(7, "y"), (7, "z")]], pa.map_(pa.int64(), pa.string())),
        }
    ),
    # -0.0 and 0.0 are one key to DuckDB (Arrow groups floats by their bits: auditR 07)
    "zeros": pa.table(
        {
            "id": [1, 2],
            "m": pa.array([[(1.0, 1)], [(0.0, 1), (-0.0, 2)]], pa.map_(pa.float64(), _I)),
        }
    ),
    "zeros_float32": pa.table(
        {
            "id": [1, 2],
            "m": pa.array([[(1.0, 1)], [(-0.0, 1), (0.0, 2)]], pa.map_(pa.float32(), _I)),
        }
    ),
    "zeros_in_list": pa.table(
        {
            "id": [1, 2],
            "m": pa.array([[], [[(0.0, 1), (-0.0, 2)]]], pa.list_(pa.map_(pa.float64(), _I))),
        }
    ),
    "zeros_in_struct_keys": pa.table(
        {
            "id": [1, 2],
            "m": pa.array(
                [[({"a": 1.0}, 1)], [({"a": 0.0}, 1), ({"a": -0.0}, 2)]],
                pa.map_(pa.struct([("a", pa.float64())]), _I),
            ),
        }
    ),
}


@pytest.mark.parametrize("shape", list(REPEATED))
def test_a_map_repeating_a_key_refuses_the_file_in_the_api_and_the_loader(
    module_lakehouse: Settings, shape: str
) -> None:
    table = f"map_repeats_{shape}"
    outcome = run(module_lakehouse, [(table, "f.parquet", _parquet(REPEATED[shape]))], rows=False)[
        table
    ]
    assert 400 <= outcome.api_status < 500, outcome.api_detail
    assert "repeats the key" in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None, "the loader stored a map no reader of bronze can read"
    assert refused["kind"] == "type_conflict" and "record 2" in refused["reason"], refused


def test_maps_whose_keys_differ_load_and_read_back(module_lakehouse: Settings) -> None:
    written = pa.table({"id": [1, 2, 3], "m": pa.array([[("k", 1), ("K", 2)], [], [("k", 1)]], M)})
    table = "map_unique"
    outcome = run(module_lakehouse, [(table, "f.parquet", _parquet(written))], rows=False)[table]
    assert outcome.api_status == 202 and outcome.refused is None, (
        outcome.api_detail,
        outcome.refused,
    )
    files = [str(p) for p in table_path(module_lakehouse, "bronze", table).glob("*.parquet")]
    rows = duckdb.sql(f"select id, m from read_parquet({files!r}) order by id").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]


def test_the_rule_names_the_first_map_that_repeats_a_key_of_a_slice() -> None:
    values = pa.array([[("k", 1), ("k", 2)], [("a", 1)], None, [("b", 1), ("b", 2)]], M)
    batch = pa.record_batch({"m": values})
    found = parquet.Values(batch.schema).refusal(batch)
    assert found is not None and (found.row, found.value) == (0, "k")
    later = parquet.Values(batch.schema).refusal(batch.slice(1))
    assert later is not None and (later.row, later.value) == (2, "b")
    assert parquet.Values(batch.schema).refusal(batch.slice(1, 2)) is None
