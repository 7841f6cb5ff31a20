"""An INT96 timestamp whose nanoseconds-of-day field is past 2**63: Impala's test file
``out_of_range_time_of_day.parquet`` (apache/impala@b21595276c testdata/data/, Apache-2.0, 427
bytes, embedded) holds ``0xFFFFFFFFFFFFFFFF`` on day 1970-01-01, which Impala reads as NULL,
DuckDB as 1970-01-01 00:00:00 and Arrow as 2554-07-21 23:34:33.709551: bronze stored that
instant after a 202, made up (review finding auditE 06, HIGH). Both refuse it now
(``lakehouse.parquet.int96_refusal`` reads each INT96 value's 12 bytes as written too; until
session 17 it read the columns with DuckDB), and INT96 files as writers write them still load,
whatever their name.
"""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import bronze_table, run

from lakehouse.settings import Settings

OUT_OF_DAY = bytes.fromhex(
    "5041523115041560154a4c1508150400003000ff0d010c8c3d25001101010c18ffff4e91944e00050c2c00004f91944e"
    "00008c3d25001500151415182c150815041506150600000a240200000008010203e40026a6011c150619250406191801"
    "641502160816b001169e01266c26081c3600280c00004f91944e00008c3d2500180cffffffffffffffff8c3d25000019"
    "2c1504150415020015001504150200000019110219180cffffffffffffffff8c3d250019180c00004f91944e00008c3d"
    "2500150219160000191c166c153a160000001502192c4806736368656d6115020015062502180164001608191c191c26"
    "a6011c150619250406191801641502160816b001169e01266c26081c3600280c00004f91944e00008c3d2500180cffff"
    "ffffffffffff8c3d250000192c150415041502001500150415020000169003151416c202154e00169e01160800284e69"
    "6d70616c612076657273696f6e20332e312e302d534e415053484f5420286275696c6420343834356639386265656363"
    "3930373735663538653865336562373237323165303232353266313829191c1c000000d100000050415231"
)


def test_nanoseconds_beyond_a_day_refuse_the_file(module_lakehouse: Settings) -> None:
    assert bytes.fromhex("ffffffffffffffff8c3d2500") in OUT_OF_DAY  # day 2440588, nanos 2**64-1
    table = "int96_out_of_day"
    outcome = run(module_lakehouse, [(table, "f.parquet", OUT_OF_DAY)], rows=False)[table]
    said = "nanoseconds of the day are beyond a day"
    assert outcome.api_status == 422 and said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "202, then a made-up instant in bronze"
    assert outcome.refused["kind"] == "type_conflict", outcome.refused
    assert said in outcome.refused["reason"] and "record 1" in outcome.refused["reason"]


def _int96_file() -> tuple[pa.Table, bytes]:
    at = [dt.datetime(1969, 12, 31, 23, 59, 59, 999999), dt.datetime(1583, 1, 1), None]
    table = pa.table(
        {
            "t": pa.array(at, pa.timestamp("us")),
            "l": pa.array([[at[0], None], [], None], pa.list_(pa.timestamp("us"))),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out, use_deprecated_int96_timestamps=True, row_group_size=2)
    return table, out.getvalue()


def test_int96_as_writers_write_it_still_loads(module_lakehouse: Settings) -> None:
    table, data = _int96_file()
    assert pq.ParquetFile(io.BytesIO(data)).schema.column(0).physical_type == "INT96"
    name = "int96_written"
    outcome = run(module_lakehouse, [(name, "[x]*?.parquet", data)], rows=False)[name]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    stored = bronze_table(module_lakehouse, name)
    assert (
        stored.column("t").cast(pa.int64()).to_pylist()
        == table.column("t").cast(pa.int64()).to_pylist()
    )


def _int96_nanos(ns: list[int]) -> bytes:
    out = io.BytesIO()
    table = pa.table({"id": list(range(len(ns))), "t": pa.array(ns, pa.timestamp("ns"))})
    pq.write_table(table, out, use_deprecated_int96_timestamps=True)
    return out.getvalue()


def test_nanoseconds_past_the_microsecond_refuse_the_file(module_lakehouse: Settings) -> None:
    """INT96 read in microseconds cuts them off, as an INT64 nanosecond column would lose
    them (review finding auditS 03, HIGH): refused alike, in the nanosecond rule's words."""
    files = [
        ("int96_sub_us", "a.parquet", _int96_nanos([0, 1_700_000_000_000_000_999])),
        ("int96_sub_us_early", "b.parquet", _int96_nanos([-5_000_000_000_000_000_001])),
        ("int96_whole_us", "c.parquet", _int96_nanos([1_700_000_000_000_001_000, -1000])),
    ]
    outcomes = run(module_lakehouse, files, rows=False)
    for table, value in (
        ("int96_sub_us", "2023-11-14T22:13:20.000000999"),
        ("int96_sub_us_early", "1811-07-23T"),
    ):
        outcome = outcomes[table]
        assert outcome.api_status == 422, (table, outcome.api_detail)
        assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
        assert "has nanoseconds; bronze stores microseconds" in outcome.refused["reason"]
        assert value in outcome.refused["reason"], outcome.refused
    whole = outcomes["int96_whole_us"]
    assert whole.api_status == 202 and whole.refused is None, whole.refused
    stored = bronze_table(module_lakehouse, "int96_whole_us").column("t").cast(pa.int64())
    assert stored.to_pylist() == [1_700_000_000_000_001, -1]
