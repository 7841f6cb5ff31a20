"""A NaN in a bronze float column is a value like any other: a filter it satisfies in DuckDB
(``'NaN'::double > 10`` is true, as in Spark and DataFusion) returns its row in every build.

delta-rs and pyarrow write Parquet footers whose float bounds leave NaN out (``[0.5, 1.0, NaN]``
gets a maximum of 1.0); DuckDB trusts such bounds unless told ``can_have_nan``, and would skip
the row group holding the NaN. Builds read bronze files directly in two places: a source's
pinned files (``transform.dbt_plugin.Pin.relation``) and ``bronze_since()``'s new files
(``dbt_project/macros/bronze_since.sql``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from runtime_support import append_bronze, bronze_sources, watermark_settings

from lakehouse import Settings
from loader import Loader
from transform import DbtSession, dbt_plugin

NAN = float("nan")


def test_a_build_reading_bronze_sees_the_nan_row(tmp_path: Path) -> None:
    settings = Settings(root=tmp_path / "lake")
    inbox = settings.raw_dir / "readings"
    inbox.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2, 3], "x": [0.5, 1.0, NAN]}), inbox / "r.parquet")
    summary = Loader(settings).load_pending()
    assert summary.rows == 3 and not summary.quarantined
    pin = dbt_plugin.BuildPins(settings=settings).get("readings")
    assert pin.files, "a local bronze table is read from its files"
    con = duckdb.connect()
    assert con.execute("select 'NaN'::double > 10, 'NaN'::double <> 1").fetchone() == (True, True)
    above = con.execute(f"select id from {pin.relation} where x > 10").fetchall()
    other = con.execute(f"select id from {pin.relation} where x <> 1 order by id").fetchall()
    assert (above, other) == ([(3,)], [(1,), (3,)])


FILES = {
    "models/staging/_sources.yml": bronze_sources("readings"),
    "models/staging/high_readings.sql": """
        {{ config(materialized='incremental', incremental_strategy='append') }}
        select id from {{ bronze_since(source('bronze', 'readings')) }} where x > 10
    """,
}


@pytest.fixture
def dbt_settings(tmp_path: Path) -> Iterator[Settings]:
    yield watermark_settings(tmp_path, FILES)
    from transform import _dbt_duckdb_internals

    _dbt_duckdb_internals.drop_environment()


def _readings(settings: Settings, ids: list[int], xs: list[float]) -> None:
    stamp = pa.array([datetime(2026, 3, 1, tzinfo=UTC)] * len(ids), pa.timestamp("us", tz="UTC"))
    data = {"id": ids, "x": pa.array(xs, pa.float64()), "_ingested_at": stamp}
    append_bronze(settings, "readings", pa.table(data))


def test_an_incremental_model_over_new_bronze_files_keeps_the_nan_row(
    dbt_settings: Settings,
) -> None:
    session = DbtSession(dbt_settings)
    _readings(dbt_settings, [1, 2], [0.5, 20.0])
    assert session.build().success
    _readings(dbt_settings, [3, 4], [1.0, NAN])
    result = session.build()
    assert result.success, result.failures
    compiled = list(
        (dbt_settings.dbt_project_dir / "target" / "compiled").rglob("high_readings.sql")
    )
    assert "read_parquet(" in compiled[0].read_text()  # the new file, read directly
    conn = dbt_plugin.connection()
    assert conn is not None
    ids = conn.execute("select id from main.high_readings order by id").fetchall()
    assert ids == [(2,), (4,)]
