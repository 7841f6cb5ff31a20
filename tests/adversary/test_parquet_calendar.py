"""Dates and timestamps before 1582-10-15 from a Parquet writer that may have used the hybrid
Julian calendar (the JVM's legacy date classes: Hive before 3.1, Spark 2, Spark 3 in its LEGACY
mode). Impala's ``hive2_pre_gregorian.parquet`` (apache/impala@b21595276c testdata/data/,
Apache-2.0, 326 bytes, embedded; written by Hive 2.1.1) holds 1582-10-04, -05, -06, -15, -16 by
Impala's own test; read as proleptic Gregorian day counts (pyarrow, DuckDB) the first three
come out 10 days later, and bronze stored them so after a 202 (review finding auditE 07,
HIGH). Both refuse such values now, as Spark 3 does by default, naming the writer
(``lakehouse.parquet.hybrid_writer``); writers known to be proleptic load them as written.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse import parquet
from lakehouse.settings import Settings

HIVE2 = bytes.fromhex(
    "504152311504151815184c1506150400008cd7fdff8dd7fdff8ed7fdff1500151415142c150a1504150615081c18048e"
    "d7fdff18048cd7fdff160028048ed7fdff18048cd7fdff00000002000000031f020364021502192c480b686976655f73"
    "6368656d6115020015022502180176250c4c6c000000160a191c191c26081c15021935040806191801761500160a16a0"
    "0116a00126083c18048ed7fdff18048cd7fdff160028048ed7fdff18048cd7fdff00192c150415041502001500150415"
    "0200000016a001160a00191c18117772697465722e6d6f64656c2e6e616d651815322e312e312d636468362e782d534e"
    "415053484f5400183f706172717565742d6d722076657273696f6e20312e392e302d636468362e782d534e415053484f"
    "5420286275696c6420247b6275696c644e756d6265727d29191c1c000000ea00000050415231"
)


def test_hive2_dates_before_gregorian_refuse_the_file(module_lakehouse: Settings) -> None:
    table = "hive2_dates"
    outcome = run(module_lakehouse, [(table, "f.parquet", HIVE2)], rows=False)[table]
    said = "is before 1582-10-15, and the file's writer (parquet-mr version 1.9.0-cdh6"
    assert outcome.api_status == 422 and said in str(outcome.api_detail), outcome.api_detail
    assert "hybrid Julian calendar" in str(outcome.api_detail)
    assert outcome.refused is not None, "202, then dates 10 days off in bronze"
    assert outcome.refused["kind"] == "type_conflict", outcome.refused
    assert said in outcome.refused["reason"], outcome.refused


def _file(metadata: dict[str, str] | None, day: dt.date) -> bytes:
    """Dates written by pyarrow (Arrow's schema kept), or by DuckDB with a JVM writer's keys."""
    if metadata is None:
        out = io.BytesIO()
        pq.write_table(pa.table({"d": [day, None], "l": [[day], []]}), out)
        return out.getvalue()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "f.parquet")
        keys = ", ".join(f"'{k}': '{v}'" for k, v in metadata.items())
        kv = f", KV_METADATA {{{keys}}}" if keys else ""
        duckdb.sql(
            f"copy (select * from (values (date '{day}', [date '{day}']), (null, []))"
            f" t(d, l)) to '{path}' (format parquet{kv})"
        )
        with open(path, "rb") as f:
            return f.read()


def _jvm(created_by: str, metadata: dict[str, str]) -> bytes:
    """DuckDB's file with the keys given, its footer's writer patched in place to
    ``created_by`` (padded to the same length)."""
    data = _file(metadata, dt.date(1500, 3, 1))
    own = pq.ParquetFile(io.BytesIO(data)).metadata.created_by.encode()
    other = created_by.encode().ljust(len(own))
    assert len(other) == len(own) and data.count(own) == 1
    return data.replace(own, other)


@pytest.mark.parametrize(
    ("created_by", "metadata", "hybrid"),
    [
        ("parquet-mr version 1.10.1 (build a)", {}, True),  # Hive 2, Java apps, Drill
        ("parquet-mr version 1.13.1 (build a)", {"iceberg.schema": "{}"}, False),
        ("parquet-mr-trino version 480", {}, False),  # Trino's own writer, java.time
    ],
)
def test_jvm_writers_by_name(created_by: str, metadata: dict[str, str], hybrid: bool) -> None:
    found = parquet.hybrid_writer(pq.ParquetFile(io.BytesIO(_jvm(created_by, metadata))).metadata)
    assert (found is not None) == hybrid, found


SPARK2 = {"org.apache.spark.version": "2.4.8"}
SPARK3 = {"org.apache.spark.version": "3.5.1"}
LEGACY = {"org.apache.spark.version": "3.5.1", "org.apache.spark.legacyDateTime": ""}
HIVE31 = {"writer.model.name": "3.1.3", "writer.date.proleptic": "true", "writer.time.zone": "UTC"}


@pytest.mark.parametrize(
    ("metadata", "writer"),
    [
        (None, None),  # Arrow's schema: pyarrow, arrow-rs
        ({}, None),  # DuckDB with no keys
        (SPARK3, None),
        (HIVE31, None),
        (SPARK2, "Spark 2.4.8"),
        (LEGACY, "Spark 3.5.1 in its LEGACY mode"),
    ],
)
def test_the_writer_decides_the_calendar(
    metadata: dict[str, str] | None, writer: str | None
) -> None:
    data = _file(metadata, dt.date(1500, 3, 1))
    found = parquet.hybrid_writer(pq.ParquetFile(io.BytesIO(data)).metadata)
    assert (found and found.writer) == writer
    if found is not None and metadata is LEGACY:  # Spark 3.1 on: legacyDateTime's columns only
        assert found.columns == frozenset({"d", "l"})
    else:
        assert found is None or found.columns is None
    assert parquet.hybrid_writer(pq.ParquetFile(io.BytesIO(HIVE2)).metadata) is not None


def test_by_the_writer_end_to_end(module_lakehouse: Settings) -> None:
    early, gregorian = dt.date(1500, 3, 1), dt.date(1582, 10, 15)
    files = [
        ("cal_arrow", "a.parquet", _file(None, early)),
        ("cal_spark3", "b.parquet", _file(SPARK3, early)),
        ("cal_spark2_first_day", "c.parquet", _file(SPARK2, gregorian)),
        ("cal_spark2", "d.parquet", _file(SPARK2, early)),
    ]
    outcomes = run(module_lakehouse, files, rows=False)
    for table, _, data in files[:3]:
        outcome = outcomes[table]
        assert outcome.api_status == 202 and outcome.refused is None, (table, outcome.refused)
        stored = bronze_table(module_lakehouse, table).column("d").to_pylist()
        assert stored == pq.read_table(io.BytesIO(data)).column("d").to_pylist()
    spark2 = outcomes["cal_spark2"]
    assert spark2.api_status == 422 and spark2.refused is not None
    assert "1500-03-01 is before 1582-10-15" in spark2.refused["reason"]
    assert "(Spark 2.4.8)" in spark2.refused["reason"]


# pyarrow's INT96 file (no Arrow schema) with the footer keys a Spark 3.0.1 file carries; ts =
# 1500-01-01 12:00 and 2020-01-01 (review finding auditF 02, HIGH: Spark 3.0 wrote INT96 in the
# hybrid calendar, and its legacyINT96 key exists only from 3.1)
SPARK30_INT96 = base64.b64decode(
    "UEFSMRUEFRAVFEwVBBUAEgAACBwBAAAAAgAAABUAFRIVFiwVBBUQFQYVBhwYBAIAAAAYBAEAAAAWACgEAgAAABgEAQAAABERAAAACSACAAAABAEBAwIVBBUwFTRMFQQVABIAABhcAICnSEonAAD8niIAAAAAAAAAAADihCUAFQAVEhUWLBUEFRAVBhUGHAAAAAkgAgAAAAQBAQMCFQQZPDUAGAZzY2hlbWEVBAAVAiUCGAJpZAAVBiUCGAJ0cwAWBBkcGSwmABwVAhk1AAYQGRgCaWQVAhYEFpwBFqQBJjgmCBwYBAIAAAAYBAEAAAAWACgEAgAAABgEAQAAABERABksFQQVABUCABUAFRAVAgA8KQYZJgAEAAAAJgAcFQYZNQAGEBkYAnRzFQIWBBaEARaMASb8ASasASksFQQVABUCABUAFRAVAgA8KQYZJgAEAAAAFqACFgQmCBawAgAZLBgYb3JnLmFwYWNoZS5zcGFyay52ZXJzaW9uGAUzLjAuMQAYKW9yZy5hcGFjaGUuc3Bhcmsuc3FsLnBhcnF1ZXQucm93Lm1ldGFkYXRhGJgBeyJ0eXBlIjoic3RydWN0IiwiZmllbGRzIjpbeyJuYW1lIjoiaWQiLCJ0eXBlIjoiaW50ZWdlciIsIm51bGxhYmxlIjp0cnVlLCJtZXRhZGF0YSI6e319LHsibmFtZSI6InRzIiwidHlwZSI6InRpbWVzdGFtcCIsIm51bGxhYmxlIjp0cnVlLCJtZXRhZGF0YSI6e319XX0AGCBwYXJxdWV0LWNwcC1hcnJvdyB2ZXJzaW9uIDI2LjAuMRksHAAAHAAAANgBAABQQVIx"
)


@pytest.mark.parametrize(("version", "refused"), [(b"3.0.1", True), (b"3.1.2", False)])
def test_spark_30_int96_before_1582_is_refused(
    module_lakehouse: Settings, version: bytes, refused: bool
) -> None:
    data = SPARK30_INT96.replace(b"3.0.1", version)
    table = "spark_int96_" + version.decode().replace(".", "_")
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    if refused:
        assert outcome.api_status == 422 and "hybrid Julian" in str(outcome.api_detail)
        assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
    else:
        assert outcome.api_status == 202 and outcome.refused is None, outcome.refused


def _spark30(columns: dict[str, pa.Array], legacy: bool = False) -> bytes:
    """pyarrow's file with a Spark 3.0.1 file's footer keys (no Arrow schema), timestamps as
    INT96, as Spark 3.0 wrote them by default (``spark.sql.parquet.outputTimestampType``)."""
    keys = {"org.apache.spark.version": "3.0.1"}
    if legacy:
        keys["org.apache.spark.legacyDateTime"] = ""
    table = pa.table(columns)
    out = io.BytesIO()
    with pq.ParquetWriter(
        out, table.schema, store_schema=False, use_deprecated_int96_timestamps=True
    ) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata(keys)
    return out.getvalue()


def test_spark_30_int96_confines_the_hybrid_calendar_to_its_columns(
    module_lakehouse: Settings,
) -> None:
    """Spark 3.0 wrote INT96 in the hybrid calendar (its int96RebaseModeInWrite came in 3.1)
    but DATE and TIMESTAMP_MICROS/MILLIS proleptic unless ``datetimeRebaseModeInWrite`` was
    LEGACY (then its ``org.apache.spark.legacyDateTime`` key says so): a pre-1582 date beside
    an INT96 column loads as written; a pre-1582 INT96 value beside it is still refused, and
    in LEGACY mode the date is refused too (review: Spark 3.0 + INT96 refused the whole file)."""
    early, late = dt.date(1500, 3, 1), dt.datetime(2020, 1, 1, 12)
    d = pa.array([early, None, dt.date(2020, 1, 1)])
    s = pa.array([{"d": early}, None, {"d": None}])
    ts = pa.array([late, None, late], pa.timestamp("us"))
    old = pa.array([dt.datetime(1500, 1, 1, 12), None, late], pa.timestamp("us"))
    files = [
        ("spark30_dates", "a.parquet", _spark30({"d": d, "s": s, "ts": ts})),
        ("spark30_old_int96", "b.parquet", _spark30({"d": d, "ts": old})),
        ("spark30_legacy", "c.parquet", _spark30({"d": d, "ts": ts}, legacy=True)),
    ]
    hybrid = parquet.hybrid_writer(pq.ParquetFile(io.BytesIO(files[0][2])).metadata)
    assert hybrid is not None and hybrid.columns == frozenset({"ts"}), hybrid
    outcomes = run(module_lakehouse, files, rows=False)
    dates = outcomes["spark30_dates"]
    assert dates.api_status == 202 and dates.refused is None, (dates.api_detail, dates.refused)
    stored = bronze_table(module_lakehouse, "spark30_dates")
    assert stored.column("d").to_pylist() == d.to_pylist()
    assert stored.column("s").to_pylist() == s.to_pylist()
    assert stored.column("ts").cast(pa.timestamp("us")).to_pylist() == ts.to_pylist()  # UTC
    for table, value in (
        ("spark30_old_int96", "1500-01-01T12:00"),
        ("spark30_legacy", "1500-03-01"),
    ):
        outcome = outcomes[table]
        assert outcome.api_status == 422, (table, outcome.api_detail)
        assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
        assert value in outcome.refused["reason"] and "hybrid Julian" in outcome.refused["reason"]
