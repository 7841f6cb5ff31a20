"""Parquet columns of Arrow extension types (``docs/loading.md``, Parquet): bronze stores a UUID
as its canonical text, ``arrow.bool8`` as a boolean, any other extension (``arrow.json``, a
fixed-shape tensor, opaque) as its storage values, with no extension left in the table's schema
or files: a UUID column kept as ``binary`` with its ``arrow.uuid`` name made every read of the
table fail ("Invalid storage type for UuidType: binary"), after a 202 and a loaded batch.

Each table is read back by every reader the product uses: ``lakehouse.storage.arrow_dataset``
(dbt's read of bronze), DuckDB over it, and the API's rows endpoint.
"""

from __future__ import annotations

import io
import uuid

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run
from deltalake import DeltaTable
from fastapi.testclient import TestClient

from ingest.app import create_app
from lakehouse import parquet
from lakehouse.layout import table_path
from lakehouse.settings import Settings
from lakehouse.storage import arrow_dataset

ONE = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
TWO = uuid.UUID(int=1)
_TENSOR = pa.fixed_shape_tensor(pa.int32(), [2, 2])
_OPAQUE = pa.opaque(pa.binary(), "geometry", "vendor")

#: column → (values as the file holds them, the values bronze must hold)
COLUMNS: dict[str, tuple[pa.Array, list[object]]] = {
    "u": (pa.array([ONE.bytes, None, TWO.bytes], pa.uuid()), [str(ONE), None, str(TWO)]),
    "uuids": (
        pa.ListArray.from_arrays(
            [0, 2, 2, 2],
            pa.array([ONE.bytes, None], pa.uuid()),
            mask=pa.array([False, True, False]),
        ),
        [[str(ONE), None], None, []],
    ),
    "s": (
        pa.StructArray.from_arrays(
            [pa.array([TWO.bytes, None, None], pa.uuid())],
            names=["id"],
            mask=pa.array([False, False, True]),
        ),
        [{"id": str(TWO)}, {"id": None}, None],
    ),
    "flag": (
        pa.ExtensionArray.from_storage(pa.bool8(), pa.array([1, 0, None], pa.int8())),
        [
            True,
            False,
            None,
        ],
    ),
    "doc": (pa.array(['{"a": 1}', None, "[]"], pa.json_()), ['{"a": 1}', None, "[]"]),
    "tensor": (
        pa.ExtensionArray.from_storage(
            _TENSOR, pa.array([[1, 2, 3, 4], None, [5, 6, 7, 8]], pa.list_(pa.int32(), 4))
        ),
        [[1, 2, 3, 4], None, [5, 6, 7, 8]],
    ),
    "blob": (
        pa.ExtensionArray.from_storage(_OPAQUE, pa.array([b"\x00\xff", None, b""])),
        [b"\x00\xff", None, b""],
    ),
}


def _file(column: str) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"n": [1, 2, 3], column: COLUMNS[column][0]}), out)
    return out.getvalue()


@pytest.fixture(scope="module")
def loaded(module_lakehouse: Settings) -> Settings:
    outcomes = run(
        module_lakehouse, [(f"ext_{c}", "f.parquet", _file(c)) for c in COLUMNS], rows=False
    )
    for column in COLUMNS:
        outcome = outcomes[f"ext_{column}"]
        assert outcome.api_status == 202, outcome.api_detail
        assert outcome.refused is None, outcome.refused
    return module_lakehouse


@pytest.mark.parametrize("column", list(COLUMNS))
def test_bronze_holds_the_values_and_every_reader_reads_them(loaded: Settings, column: str) -> None:
    delta = DeltaTable(str(table_path(loaded, "bronze", f"ext_{column}")))
    rows = arrow_dataset(delta).to_table().sort_by("n")
    assert rows.column(column).to_pylist() == COLUMNS[column][1]
    for f in pa.schema(delta.schema().to_arrow()):
        assert not parquet.has_extension(f.type) and not (f.metadata or {}), f
    con = duckdb.connect()
    con.register("bronze", arrow_dataset(delta))
    assert con.sql("select count(*) from bronze where n > 0").fetchall() == [(3,)]
    if column == "u":
        found = con.sql(f"select n from bronze where u = '{TWO}'").fetchall()
        assert found == [(3,)]
    with TestClient(create_app(loaded)) as client:
        r = client.get(f"/v1/tables/bronze/ext_{column}/rows")
        assert r.status_code == 200, r.text


def test_a_uuid_loads_as_the_text_a_csv_gives_the_same_table(loaded: Settings) -> None:
    """A CSV's UUID text and a Parquet UUID meet in one text column."""
    outcome = run(loaded, [("ext_u", "g.csv", f"n,u\n4,{ONE}\n".encode())], rows=False)["ext_u"]
    assert outcome.api_status == 202 and outcome.refused is None
    delta = DeltaTable(str(table_path(loaded, "bronze", "ext_u")))
    rows = arrow_dataset(delta).to_table().sort_by("n")
    assert rows.column("u").to_pylist() == [str(ONE), None, str(TWO), str(ONE)]


def test_uuid_text_of_a_slice() -> None:
    values = pa.array([ONE.bytes, None, TWO.bytes, ONE.bytes], pa.uuid()).slice(1, 2)
    assert parquet.plain_values(values).to_pylist() == [None, str(TWO)]
