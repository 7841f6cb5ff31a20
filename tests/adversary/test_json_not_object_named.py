"""A ``.json`` record that is no object is named by its place even when a record before it nests
past msgspec's reach (100,001 levels), where the loader's words come from DuckDB's "Expected
OBJECT" (``loader.readers._json_error``, the path of a record past the keys' sample).

*Before* (session 18's fixd saw it once in a pass of 26 tables: ``[{"a": <100,001 levels>},
250,000 records, 5]`` quarantined "a record must be a JSON object", no record named; two reruns
named the depth): the record's place was found by msgspec (``_json_first_non_object``), which
cannot read such a text, so none was named. Which of the two problems the loader meets first
depends on DuckDB's threads (its error for the ``5`` may come before the depth check of the
first batch): the order of two problems in one file is session 18's open item (revc 02); here
the refusal of the non-object names its record whichever comes. The file is read by the real
DuckDB, as the loader reads it (``read_json`` with ``records = true`` and JSON columns).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from loader import readers

DEEP = 100_001


def _deep(array: bool) -> bytes:
    deep = b'{"a": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    rest = [b'{"a": 1}'] * 10 + [b"5"]
    if array:
        return b"[" + b", ".join([deep, *rest]) + b"]"
    return b"\n".join([deep, *rest]) + b"\n"


@pytest.mark.parametrize("array", [True, False], ids=["array", "values"])
def test_a_non_object_after_a_record_too_deep_for_msgspec_is_named(
    tmp_path: Path, array: bool
) -> None:
    path = tmp_path / "d.json"
    path.write_bytes(_deep(array))
    fmt = "auto" if array else "unstructured"
    source = f"'{path}', format = '{fmt}', maximum_object_size = 100000000"
    with duckdb.connect() as con, pytest.raises(duckdb.Error) as raised:
        con.sql(
            f"select * from read_json({source}, records = true, columns = {{a: 'JSON'}})"
        ).fetchall()
    refused = readers._json_error(raised.value, path)
    assert str(refused) == "record 12: a record must be a JSON object", (raised.value, refused)
