"""fastparquet writes a pandas timedelta column as ``INT64`` annotated ``TIME_MICROS`` (its
``pandas`` metadata says ``pandas_type: timedelta64``) and reads it back as timedeltas. Bronze
read the annotation: 90 s was stored as the time of day ``'00:01:30.000000'``, and a file holding
-1 s or 2 days was refused as "a time of day ... outside the day" (review finding auditp 05).
The same frame written by pyarrow (``duration[us]``) is stored ``'90.000000 seconds'``
(``docs/loading.md``, Parquet: a duration). Now a top-level time column whose file's pandas
metadata says timedelta is that duration, by the API's check and the loader alike.

Files (tests/data/parquet-fastparquet, tests/data/README.md): written by fastparquet 2026.9.0
with pandas 3.1.1 (review auditp, session 12): ``fastparquet_timedelta_in_day.parquet`` (``id``
1..3, ``td`` 90 s, 1 h, NaT) and ``fastparquet_timedelta.parquet`` (``i64``; ``td`` 90 s, -1 s,
NaT, 0, 10**9 s).
"""

from __future__ import annotations

import io
import json
from datetime import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import bronze_table, declare, run

from lakehouse import parquet
from lakehouse.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "parquet-fastparquet"
IN_DAY = (DATA / "fastparquet_timedelta_in_day.parquet").read_bytes()
ANY = (DATA / "fastparquet_timedelta.parquet").read_bytes()


def test_a_fastparquet_timedelta_is_stored_as_a_duration(module_lakehouse: Settings) -> None:
    outcome = run(module_lakehouse, [("fp_in_day", "f.parquet", IN_DAY)], rows=False)["fp_in_day"]
    assert outcome.api_status == 202 and outcome.refused is None, outcome.refused
    bronze = bronze_table(module_lakehouse, "fp_in_day")
    assert pa.types.is_string(bronze.schema.field("td").type), bronze.schema
    rows = sorted(bronze.to_pylist(), key=lambda r: r["id"])
    # before: '00:01:30.000000', '01:00:00.000000' (a time of day)
    assert [r["td"] for r in rows] == ["90.000000 seconds", "3600.000000 seconds", None]


def test_a_negative_or_long_fastparquet_timedelta_loads(module_lakehouse: Settings) -> None:
    """Before: API 422 and the loader's type_conflict, 'a time of day, -1000000 us after
    midnight, is outside the day'."""
    outcome = run(module_lakehouse, [("fp_any", "f.parquet", ANY)], rows=False)["fp_any"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = sorted(bronze_table(module_lakehouse, "fp_any").to_pylist(), key=lambda r: r["i64"])
    assert [r["td"] for r in rows] == [
        "-1.000000 seconds",  # i64 -2**63
        "1000000000.000000 seconds",  # -1
        None,  # 0
        "0.000000 seconds",  # 1
        "90.000000 seconds",  # 2**63 - 1
    ]


def test_declared_columns_judge_the_duration_text(module_lakehouse: Settings) -> None:
    """Declared bigint: refused by the API and the loader for the duration's text, as a
    pyarrow duration is; declared varchar: stored as that text (before: the time of day)."""
    declare(module_lakehouse, "fp_int", {"td": "bigint"}, "quarantine")
    declare(module_lakehouse, "fp_text", {"td": "varchar"}, "quarantine")
    outcome = run(
        module_lakehouse, [("fp_int", "f.parquet", IN_DAY), ("fp_text", "f.parquet", IN_DAY)]
    )
    refused = outcome["fp_int"]
    assert refused.api_status == 422 and refused.refused is not None, refused
    assert "'90.000000 seconds' does not fit BIGINT" in str(refused.api_detail), refused
    assert "'90.000000 seconds' does not fit BIGINT" in refused.refused["reason"], refused
    stored = outcome["fp_text"]
    assert stored.api_status == 202 and stored.refused is None, stored.refused
    texts = sorted(r["td"] or "" for r in stored.loaded_rows or [])
    assert texts == ["", "3600.000000 seconds", "90.000000 seconds"]


def _written(pandas: object) -> pq.FileMetaData:
    table = pa.table({"t": pa.array([time(0, 1, 30)], pa.time64("us"))})
    text = pandas if isinstance(pandas, str) else json.dumps(pandas)
    table = table.replace_schema_metadata({"pandas": text} if pandas else None)
    out = io.BytesIO()
    pq.write_table(table, out)
    return pq.ParquetFile(io.BytesIO(out.getvalue())).metadata


def test_a_time_of_day_stays_a_time() -> None:
    """Only the writer's word makes a time column a duration: pandas' own time of day (pyarrow
    from ``datetime.time``: ``pandas_type: time``), no pandas metadata, or metadata that does
    not parse leaves it a time."""
    said_time = {"columns": [{"field_name": "t", "pandas_type": "time", "numpy_type": "object"}]}
    for pandas in (said_time, None, "{not json", {"columns": "t"}, [1]):
        metadata = _written(pandas)
        schema = parquet.plain_schema(metadata.schema.to_arrow_schema(), metadata)
        assert schema.field("t").type == pa.time64("us"), (pandas, schema)
    fastparquet = {"field_name": "t", "pandas_type": "timedelta64", "numpy_type": "timedelta64[us]"}
    by_numpy = {"name": "t", "pandas_type": "object", "numpy_type": "timedelta64[ns]"}
    for said in (fastparquet, by_numpy):
        metadata = _written({"columns": [said]})
        schema = parquet.plain_schema(metadata.schema.to_arrow_schema(), metadata)
        assert schema.field("t").type == pa.string(), (said, schema)
    times = pa.array([90_000_000, None, -1], pa.int64()).view(pa.time64("us"))
    assert parquet.plain_batch(pa.record_batch([times], ["t"]), schema).column(0).to_pylist() == [
        "90.000000 seconds",
        None,
        "-0.000001 seconds",
    ]
