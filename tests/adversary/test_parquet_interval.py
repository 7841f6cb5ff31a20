"""A Parquet INTERVAL column (converted type INTERVAL: months, days and milliseconds in 12
bytes; DuckDB's writer, parquet.js) was refused in untrue words, by the API (422) and the loader
(``unparseable``): "its Parquet logical type is UNKNOWN (always null) ... loaded, they would be
stored as nulls" (pyarrow's logical type of it says UNKNOWN). Now the file is refused as what it
is, a Parquet INTERVAL bronze does not load (pyarrow reads it as its 12 bytes), by both alike
(``type_conflict``), naming the column (review finding auditg 03, MEDIUM). The null-typed
columns holding values (parquet-mr 1.12) keep their words (test_parquet_unknown_type.py).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from adversary_support import run

from lakehouse.settings import Settings


def test_a_duckdb_interval_is_refused_as_an_interval(
    module_lakehouse: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "i.parquet"
    duckdb.sql(
        "copy (select * from (values (1, interval '1 month 2 days 3.5 seconds'),"
        f" (2, interval '14 months'), (3, null)) t(id, i)) to '{path}' (format parquet)"
    )
    outcome = run(module_lakehouse, [("interval", "i.parquet", path.read_bytes())], rows=False)
    said = outcome["interval"]
    assert said.api_status == 422, said.api_detail
    refused = said.refused
    assert refused is not None and refused["kind"] == "type_conflict", refused
    for words in (str(said.api_detail), refused["reason"]):
        assert "column 'i': a Parquet INTERVAL" in words, words
        assert "UNKNOWN" not in words and "nulls" not in words, words
