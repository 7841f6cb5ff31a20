"""Spark in its LEGACY rebase mode writes timestamps before 1900-01-01T00:00:00Z through the JVM's
legacy calendar in its session zone, whose offsets before 1900 are Local Mean Time, not the tz
database's: Los Angeles 1850-01-01 00:00 is stored as 08:00:00Z where Spark reads 07:52:58Z back
(Kolkata: 23 min 28 s off). Such a timestamp refuses the file (API 422, loader type_conflict, the
same words, naming the column and Spark's bound) unless the file's ``org.apache.spark.timeZone``
is UTC. Before (review finding s13 revp 05, HIGH), only values before 1582-10-15 were refused:
these were stored minutes off after a 202. Files: tests/data/parquet-spark/ (Spark 4.3.0)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import lakehouse, run

DATA = Path(__file__).resolve().parents[1] / "data" / "parquet-spark"
SPARK = sorted(p.name for p in DATA.glob("spark6_*_legacy_*_1850.parquet"))


def test_the_spark_files_are_here() -> None:
    assert len(SPARK) == 3


@pytest.mark.parametrize("name", SPARK)
def test_spark_legacy_zone_timestamp_before_1900_is_refused(tmp_path: Path, name: str) -> None:
    outcome = run(lakehouse(tmp_path), [("s", name, (DATA / name).read_bytes())])["s"]
    assert outcome.api_status == 422, outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
    reason = outcome.refused["reason"]
    assert "column 'ts'" in reason and "before 1900-01-01T00:00:00Z" in reason, reason
    zone = "America/Los_Angeles" if "_la_" in name else "Asia/Kolkata"
    assert zone in reason
    assert outcome.api_detail[0]["msg"] in reason


def _spark_legacy(zone: str | None, when: dt.datetime) -> bytes:
    """A file as Spark 3.5 in LEGACY mode would mark it (no Arrow schema)."""
    kv = {"org.apache.spark.version": "3.5.0", "org.apache.spark.legacyDateTime": ""}
    if zone is not None:
        kv["org.apache.spark.timeZone"] = zone
    table = pa.table({"ts": pa.array([when], pa.timestamp("us", tz="UTC"))})
    out = io.BytesIO()
    with pq.ParquetWriter(out, table.schema, store_schema=False) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata(kv)
    data = out.getvalue()
    assert b"ARROW:schema" not in data and b"legacyDateTime" in data
    return data


def test_utc_legacy_timestamp_from_1582_loads(tmp_path: Path) -> None:
    """Written in UTC the legacy calendar has no Local Mean Time: 1850 is the instant meant."""
    when = dt.datetime(1850, 1, 1, 8, tzinfo=dt.UTC)
    outcome = run(lakehouse(tmp_path), [("u", "u.parquet", _spark_legacy("UTC", when))])["u"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    assert [r["ts"] for r in outcome.loaded_rows] == [when]


@pytest.mark.parametrize("zone", [None, "Europe/Paris"])
def test_legacy_timestamp_before_1900_in_a_zone_or_none_is_refused(
    tmp_path: Path, zone: str | None
) -> None:
    when = dt.datetime(1899, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
    outcome = run(lakehouse(tmp_path), [("z", "z.parquet", _spark_legacy(zone, when))])["z"]
    assert outcome.api_status == 422, outcome.api_detail
    assert outcome.refused is not None
    assert "1899-12-31" in outcome.refused["reason"]
    assert (zone or "a time zone it does not name") in outcome.refused["reason"]


def test_legacy_timestamp_from_1900_loads(tmp_path: Path) -> None:
    when = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
    data = _spark_legacy("America/Los_Angeles", when)
    outcome = run(lakehouse(tmp_path), [("n", "n.parquet", data)])["n"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.loaded_rows is not None
    assert [r["ts"] for r in outcome.loaded_rows] == [when]
