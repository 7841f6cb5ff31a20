"""A valid Parquet file holding a decimal of more digits than Arrow's 76 (parquet-mr 1.12's
``bigdecimal.parquet``: a BYTE_ARRAY ``DECIMAL(77,38)``; the spec bounds no BYTE_ARRAY
decimal's precision, and DuckDB reads it) was refused as "the file does not parse as Parquet"
(400; loader ``unparseable``): pyarrow cannot open its footer. A ``decimal256(50,1)`` was
refused for its digits (422; ``type_conflict``). Now both are (review finding auditg 02,
MEDIUM): the column and its type read from the footer by DuckDB.

File: tests/data/parquet-duckdb/bigdecimal.parquet, DuckDB's
``data/parquet-testing/bigdecimal.parquet`` (duckdb/duckdb@044a04a, Apache-2.0).
"""

from __future__ import annotations

from pathlib import Path

from adversary_support import run

from lakehouse import parquet
from lakehouse.settings import Settings

FILE = Path(__file__).resolve().parents[1] / "data" / "parquet-duckdb" / "bigdecimal.parquet"


def test_a_decimal_of_77_digits_is_refused_for_its_digits(module_lakehouse: Settings) -> None:
    outcome = run(module_lakehouse, [("bigdec", "b.parquet", FILE.read_bytes())], rows=False)
    said = outcome["bigdec"]
    words = parquet.too_many_digits("bigdec", "DECIMAL(77,38)")  # one sentence (revc 06)
    assert said.api_status == 422, said.api_detail
    assert [(e["field"], e["msg"]) for e in said.api_detail] == [("bigdec", words)]
    refused = said.refused
    assert refused is not None and refused["kind"] == "type_conflict", refused
    assert (refused["column"], refused["reason"]) == ("bigdec", words)
