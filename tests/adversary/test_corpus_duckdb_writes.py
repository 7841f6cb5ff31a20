"""Parquet files DuckDB writes (``COPY ... TO ... (FORMAT parquet)``) of each of its types, flat and
nested, through the real API and the real loader: a corpus guard (review revc, session 17; the
probes that found DuckDB's empty ``MAP()`` aborting the API, findings revc 05 and 07, fixed by
fixg, tests/adversary/test_parquet_null_keyed_map.py).

A file the rule loads: the API answers 202 and bronze holds what pyarrow reads from the file,
value for value, after the documented normalisations (docs/loading.md, Parquet): a naive
timestamp is a UTC instant, a ``time`` or an ``arrow.uuid`` is its text. A file it refuses (an
INTERVAL, nanoseconds a microsecond cannot hold, a timestamp or date past those bronze holds):
refused by both, the API's 422 and the loader's ``type_conflict``, the loader's reason ending
with the API's words (it names the record and the column first).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import Outcome, bronze_table, run

from lakehouse.settings import Settings

#: name → (the SELECT list after ``1::BIGINT AS id``, the rule's verdict)
CASES: dict[str, tuple[str, str]] = {
    "hugeint": ("(-170141183460469231731687303715884105728)::HUGEINT AS v", "load"),
    "uhugeint": ("340282366920938463463374607431768211455::UHUGEINT AS v", "load"),
    "varint": ("123456789012345678901234567890::VARINT AS v", "load"),
    "decimal_38": ("12345678901234567890123456789012345678::DECIMAL(38,0) AS v", "load"),
    "bit": ("'0101'::BIT AS v", "load"),
    "blob": ("'\\xAA\\x00\\xBB'::BLOB AS v", "load"),
    "json": ("'{\"a\": [1, 2.50]}'::JSON AS v", "load"),
    "enum": ("'b'::ENUM('a', 'b') AS v", "load"),
    "text_nul": ("chr(0) || 'x' || chr(0) AS v", "load"),
    "doubles": ("'nan'::DOUBLE AS v, '-inf'::DOUBLE AS w, -0.0::DOUBLE AS x, 5e-324 AS y", "load"),
    "timestamp_bounds": (
        "TIMESTAMP '0001-01-01 00:00:00' AS v, TIMESTAMP '9999-12-31 23:59:59.999999' AS w",
        "load",
    ),
    "timestamptz": ("TIMESTAMPTZ '2020-06-01 12:00:00+02' AS v", "load"),
    "date_leap": ("DATE '2020-02-29' AS v", "load"),
    "time": ("TIME '23:59:59.999999' AS v", "load"),
    "uuid": ("'0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'::UUID AS v", "load"),
    "array_fixed": ("[1, 2, 3]::INT[3] AS v", "load"),
    "union": ("union_value(num := 2)::UNION(num INT, str VARCHAR) AS v", "load"),
    "list_nulls": ("[NULL, 1, NULL] AS v, [NULL] AS w, []::INT[] AS x", "load"),
    "struct_null_field": ("{'a': NULL, 'b': [1]} AS v", "load"),
    "map_struct_key": ("MAP {{'a': 1}: 2} AS v", "load"),
    "map_list_key": ("MAP {[1, 2]: 'x'} AS v", "load"),
    "map_date_key": ("MAP {DATE '2020-01-01': 1} AS v", "load"),
    "map_blob_key": ("MAP {'\\xFF'::BLOB: 1} AS v", "load"),
    "map_decimal_key": ("MAP {1.50::DECIMAL(5,2): 1} AS v", "load"),
    "map_null_value": ("MAP {'a': NULL} AS v", "load"),
    "map_in_map": ("MAP {'k': MAP {'j': [1, NULL]}} AS v", "load"),
    "deep_list": ("[[[[[[[[[[1]]]]]]]]]] AS v", "load"),
    "struct_null_rows": (
        "CASE WHEN id % 2 = 0 THEN NULL ELSE {'x': MAP {'a': [id]}} END AS v",
        "load",
    ),
    "interval": ("INTERVAL 1 MONTH + INTERVAL 3 DAY AS v", "type_conflict"),
    "timestamp_ns": ("'2020-01-01 00:00:00.123456789'::TIMESTAMP_NS AS v", "type_conflict"),
    "timestamp_infinity": ("'infinity'::TIMESTAMP AS v", "type_conflict"),
    "date_minus_infinity": ("'-infinity'::DATE AS v", "type_conflict"),
    "map_interval_value": ("MAP {'a': INTERVAL 1 DAY} AS v", "type_conflict"),
}


def _written(select: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder, duckdb.connect() as con:
        path = Path(folder) / "a.parquet"
        query = f"SELECT id, {select} FROM (SELECT range::BIGINT AS id FROM range(3))"
        con.execute(f"COPY ({query}) TO '{path}' (FORMAT parquet)")
        return path.read_bytes()


FILES = {name: _written(select) for name, (select, _) in CASES.items()}


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> dict[str, Outcome]:
    tables = {name: f"dw_{name}" for name in CASES}
    by_table = run(
        module_lakehouse, [(tables[n], "a.parquet", FILES[n]) for n in CASES], rows=False
    )
    return {name: by_table[table] for name, table in tables.items()}


def _documented(value: Any) -> Any:
    """A value pyarrow reads from the file as bronze holds it (docs/loading.md, Parquet)."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.time):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float) and value != value:
        return "nan"  # NaN equals no NaN: compared by its name
    if isinstance(value, dict):
        return {k: _documented(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_documented(v) for v in value)
    return value


def _stored(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_stored(v) for v in value)
    return value


def test_every_case_writes_a_file_of_three_rows() -> None:
    for name, data in FILES.items():
        assert pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows == 3, name


@pytest.mark.parametrize("name", list(CASES))
def test_a_duckdb_file_is_kept_as_written_or_refused_alike(
    outcomes: dict[str, Outcome], module_lakehouse: Settings, name: str
) -> None:
    outcome = outcomes[name]
    verdict = CASES[name][1]
    if verdict != "load":
        assert outcome.api_status == 422, (outcome.api_status, outcome.api_detail)
        assert outcome.refused is not None, "loaded, but the rule refuses it"
        assert outcome.refused["kind"] == verdict, outcome.refused
        said = outcome.api_detail[0]["msg"]
        assert outcome.refused["reason"].endswith(said), (said, outcome.refused["reason"])
        return
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    source = pq.read_table(pa.BufferReader(outcome.data)).to_pylist()
    stored = bronze_table(module_lakehouse, outcome.table).to_pylist()
    assert len(stored) == len(source) == 3
    by_id = {row["id"]: row for row in stored}
    for row in source:
        kept = by_id[row["id"]]
        for column, value in row.items():
            assert column in kept, f"column {column!r} not kept by name"
            assert _stored(kept[column]) == _documented(value), (column, kept[column], value)
