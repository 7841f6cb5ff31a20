"""Values at the edge of what the published statistics can say: a model holding them publishes,
and every Delta reader still finds their rows (transform.publish, transform.delta_files)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pytest
from deltalake import DeltaTable, QueryBuilder

from lakehouse import Settings
from lakehouse.storage import arrow_dataset
from transform.publish import ModelSpec, Publisher


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    yield con
    con.close()


def _model(name: str) -> ModelSpec:
    return ModelSpec(
        unique_id=f"model.lakehouse.{name}",
        name=name,
        relation=f"main.{name}",
        layer="gold",
        unique_key=("k",),
    )


def _ids(table: DeltaTable, where: str) -> list[int]:
    found = QueryBuilder().register("t", table).execute(f"select k from t where {where}")
    return sorted(k for batch in found.read_all().to_pylist() for k in [batch["k"]])


@pytest.mark.parametrize(
    "value",
    ["timestamptz '9999-12-31 23:59:59.999999+00'", "timestamp '9999-12-31 23:59:59.9999'"],
)
def test_a_model_holding_the_end_of_time_publishes(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path, value: str
) -> None:
    """The "end of time" of a slowly changing dimension (``valid_to``), in the last millisecond
    of 9999, has no millisecond above it to be the file's maximum: the column gets no bounds,
    and the build publishes (it failed with OverflowError on every build)."""
    conn.execute(
        "create table main.dim_customer as select 1::bigint as k,"
        f" timestamptz '2024-01-01 00:00:00+00' as valid_from, {value} as valid_to"
    )
    settings = Settings(root=tmp_path)
    published = Publisher(settings, conn).publish(_model("dim_customer"))
    assert published.mode == "overwrite" and published.rows == 1
    table = DeltaTable(str(settings.dados / "gold" / "dim_customer"))
    assert table.count() == 1
    kind = pa.schema(table.schema().to_arrow()).field("valid_to").type
    edge = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC if kind.tz else None)
    found = arrow_dataset(table).to_table(filter=pads.field("valid_to") > pa.scalar(edge, kind))
    assert found.column("k").to_pylist() == [1]
