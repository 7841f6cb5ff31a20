"""A list or struct of dictionary-encoded strings in a Parquet file of more than one row group
(pyarrow's ParquetWriter writes a row group per ``write_table``; pandas categoricals in a struct
keep their dictionary in the file's ``ARROW:schema``): each row group has its own dictionary, and
pyarrow's batch reader cannot put a nested column's batch spanning two of them in one array
("Nested data conversions not implemented for chunked array outputs"). The API (413) and the
loader (``too_large``) took that for the 2 GiB case and refused a 2 KB file as holding "more
than 2 GiB of a nested column" (review finding auditp 01). Such a file is now read a row group
at a time, by both alike (``lakehouse.parquet.iter_batches``), and loads as DuckDB reads it; a
value refused in its second row group is named at its record in the file.
"""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings

N = 100


def _file(column: str, strings: pa.Array | None = None) -> bytes:
    if strings is None:
        strings = pa.array([f"c{i % 3}" for i in range(N)])
    values = strings.dictionary_encode()
    nested = {
        "s": pa.StructArray.from_arrays([values], ["d"]),
        "l": pa.ListArray.from_arrays(pa.array(range(N + 1), pa.int32()), values),
    }[column]
    table = pa.table({"id": pa.array(range(N)), column: nested})
    out = io.BytesIO()
    with pq.ParquetWriter(out, table.schema) as writer:  # two writes: two row groups
        writer.write_table(table.slice(0, N // 2))
        writer.write_table(table.slice(N // 2))
    data = out.getvalue()
    assert len(data) < 4096 and pq.ParquetFile(io.BytesIO(data)).metadata.num_row_groups == 2
    return data


@pytest.mark.parametrize("column", ["s", "l"])
def test_a_nested_dictionary_over_two_row_groups_loads(
    module_lakehouse: Settings, tmp_path: Path, column: str
) -> None:
    data = _file(column)
    table = f"nested_dictionary_{column}"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    path = tmp_path / "f.parquet"
    path.write_bytes(data)
    with duckdb.connect() as con:
        con.register("b", bronze_table(module_lakehouse, table))
        stored = con.sql(f"select id, {column}::varchar from b order by id").fetchall()
        want = con.execute(
            f"select id, {column}::varchar from read_parquet(?) order by id", [str(path)]
        ).fetchall()
    assert len(stored) == N and stored == want


def test_a_refusal_in_the_second_row_group_names_its_record(module_lakehouse: Settings) -> None:
    """A string that is not UTF-8 in record 76 (the second row group's 26th)."""
    strings = [f"c{i % 3}".encode() for i in range(N)]
    strings[75] = b"\xff"
    data = _file("s", pa.array(strings, pa.binary()).view(pa.string()))
    table = "nested_dictionary_refused"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    assert outcome.refused is not None, outcome
    assert outcome.refused["kind"] == "encoding", outcome.refused
    assert outcome.refused["reason"].startswith("record 76, column 's': "), outcome.refused
    assert outcome.api_status == 422, outcome.api_detail
    assert outcome.api_detail[0]["row"] == 75, outcome.api_detail  # the API's rows are 0-based
