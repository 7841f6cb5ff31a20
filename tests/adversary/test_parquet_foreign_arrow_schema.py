"""A Parquet file whose key-value metadata holds an ``ARROW:schema`` that is no Arrow schema
(another application's value under Arrow's key: DuckDB's ``KV_METADATA`` writes any). DuckDB reads
such a file; pyarrow decodes that key opening any file, with no option to ignore it, and cannot
open it. Both the API and the loader called it a file that "does not parse as Parquet: Invalid
base64 input" (400, ``unparseable``), untrue: its pages parse (review finding auditg 02 of session
11, second case). Now both refuse it for its key, naming it (API 422, loader ``unsupported``); a
key that is an Arrow schema, even another file's, is read past by pyarrow, and the file loads.
"""

from __future__ import annotations

import base64
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings


def _written(path: Path, arrow_schema: str) -> bytes:
    duckdb.sql(
        f"copy (select 1::INTEGER as a, 'x' as s) to '{path}' "
        f"(format parquet, KV_METADATA {{'ARROW:schema': '{arrow_schema}'}})"
    )
    assert duckdb.sql(f"select a, s from '{path}'").fetchall() == [(1, "x")]  # it parses
    return path.read_bytes()


FOREIGN = {
    "not-base64": "x!",
    "base64-of-no-schema": base64.b64encode(b"not an Arrow schema").decode(),
}


@pytest.mark.parametrize("case", list(FOREIGN))
def test_a_foreign_arrow_schema_key_is_refused_for_it_not_as_unparseable(
    module_lakehouse: Settings, tmp_path: Path, case: str
) -> None:
    data = _written(tmp_path / "f.parquet", FOREIGN[case])
    table = f"foreign_arrow_schema_{case.replace('-', '_')}"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    said = f"{outcome.api_detail} | {outcome.refused}"
    assert "does not parse" not in said, said
    assert outcome.api_status == 422, outcome.api_detail
    assert "holds an 'ARROW:schema' that is no Arrow schema" in str(outcome.api_detail), said
    assert outcome.refused is not None, outcome
    assert outcome.refused["kind"] == "unsupported", outcome.refused
    assert "holds an 'ARROW:schema' that is no Arrow schema" in outcome.refused["reason"], said


def test_an_arrow_schema_key_of_another_file_is_read_past(
    module_lakehouse: Settings, tmp_path: Path
) -> None:
    other = pa.schema([("b", pa.timestamp("s")), ("c", pa.int8())]).serialize().to_pybytes()
    data = _written(tmp_path / "f.parquet", base64.b64encode(other).decode())
    table = "other_arrow_schema"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    stored = bronze_table(module_lakehouse, table)
    assert stored.select(["a", "s"]).to_pylist() == [{"a": 1, "s": "x"}]


def test_a_polars_int128_column_is_refused_naming_it(
    module_lakehouse: Settings, tmp_path: Path
) -> None:
    """polars writes its Int128 as FIXED_LEN_BYTE_ARRAY(16) without an annotation, the type
    only in ``ARROW:schema``, which pyarrow does not implement ("Integers with more than 64 bits
    not implemented"): refused naming the column, never loaded as its 16 bytes (review finding
    auditp 02)."""
    import polars as pl

    path = tmp_path / "f.parquet"
    values = pl.Series("i128", [2**127 - 1, -(2**127), 0, None], dtype=pl.Int128)
    pl.DataFrame({"i64": [1, 2, 3, None]}).with_columns(values).write_parquet(path)
    assert duckdb.sql(f"select count(*) from '{path}'").fetchall() == [(4,)]  # it parses
    table = "polars_int128"
    outcome = run(module_lakehouse, [(table, "f.parquet", path.read_bytes())], rows=False)[table]
    said = f"{outcome.api_detail} | {outcome.refused}"
    assert "does not parse" not in said, said
    assert outcome.api_status == 422, said
    assert "in column 'i128' (Int128 to polars" in str(outcome.api_detail), said
    assert outcome.refused is not None and outcome.refused["kind"] == "unsupported", said
    assert outcome.refused["column"] == "i128", said
    assert "does not implement (Integers with more than 64 bits" in outcome.refused["reason"]
