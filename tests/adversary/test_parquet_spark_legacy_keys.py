"""Spark 3.1 on writes two LEGACY marks, each for its own kind of column, as its reader takes
them (DataSourceUtils.int96RebaseSpec, datetimeRebaseSpec): ``org.apache.spark.legacyINT96`` for
INT96 columns, ``org.apache.spark.legacyDateTime`` for DATE and TIMESTAMP_MILLIS/MICROS adjusted
to UTC; a TIMESTAMP_NTZ is never rebased. A value of the other kind, written proleptic, loads as
Spark reads it. Before (review finding s13 revp 06, MED), either key made every column hybrid:
API 422 / loader type_conflict "may have written it in the hybrid Julian calendar". Files:
tests/data/parquet-spark/ (Spark 4.3.0, revp's tools/gen_spark6.py and gen_spark8.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from adversary_support import lakehouse, run

DATA = Path(__file__).resolve().parents[1] / "data" / "parquet-spark"

CASES = {
    # legacyINT96 only (dates CORRECTED): DATE 1000-01-01 beside INT96 2024-01-01
    "spark6_int96legacy_only_olddate.parquet": ("d", dt.date(1000, 1, 1)),
    # legacyDateTime only (INT96 CORRECTED): INT96 1000-01-01 beside DATE 2024-01-01
    "spark6_datelegacy_only_oldint96.parquet": ("ts", dt.datetime(1000, 1, 1, tzinfo=dt.UTC)),
    # both keys, zone America/Los_Angeles: TIMESTAMP_NTZ 1000-01-01 (isAdjustedToUTC=false)
    "spark8_ntz_legacy_la.parquet": ("n", dt.datetime(1000, 1, 1, tzinfo=dt.UTC)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_other_kinds_proleptic_values_load(tmp_path: Path, name: str) -> None:
    column, want = CASES[name]
    outcome = run(lakehouse(tmp_path), [("s", name, (DATA / name).read_bytes())])["s"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    first = min(outcome.loaded_rows, key=lambda r: r["i"])
    assert first[column] == want
