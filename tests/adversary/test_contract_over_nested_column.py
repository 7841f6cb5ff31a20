"""A contract declared after its bronze table exists, naming a nested column (a JSON object's
struct, a Parquet list or map) with any type (``varchar``, ``json``, ``bigint``, ``date``): the
API judged the column by the declared type, answered 202 for ``{"o": "s"}``, and the loader then
quarantined it under ``on_mismatch: quarantine`` ("'s' does not fit OBJECT" / "UNFIT") or
rescued it (review finding auditi 06, HIGH). The API now judges such a column by the table's
type, as the loader does: a struct takes a JSON object only, a list or map only null; what fits
is taken by both.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, declare, lakehouse, run

from lakehouse.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    return lakehouse(tmp_path)


def _parquet() -> bytes:
    out = io.BytesIO()
    table = pa.table(
        {
            "id": [1],
            "l": pa.array([[1, 2]], pa.list_(pa.int64())),
            "m": pa.array([[("a", 1)]], pa.map_(pa.string(), pa.int64())),
        }
    )
    pq.write_table(table, out)
    return out.getvalue()


STRUCT = b'{"id": 1, "o": {"k": 1}}\n'
CASES = {  # first file, declared afterwards, a later body the loader refuses, one it takes
    "struct_varchar": ("a.ndjson", STRUCT, {"o": "varchar"}, b'{"id": 2, "o": "s"}\n'),
    "struct_json": ("a.ndjson", STRUCT, {"o": "json"}, b'{"id": 2, "o": [1]}\n'),
    "struct_bigint": ("a.ndjson", STRUCT, {"o": "bigint"}, b'{"id": 2, "o": 5}\n'),
    "struct_date": ("a.ndjson", STRUCT, {"o": "date"}, b'{"id": 2, "o": "2024-01-02"}\n'),
    "struct_text_of_object": ("a.ndjson", STRUCT, {"o": "varchar"}, b'{"id": 2, "o": "{}"}\n'),
    "list_varchar": ("a.parquet", None, {"l": "varchar"}, b'{"id": 2, "l": "s"}\n'),
    "map_varchar": ("a.parquet", None, {"m": "varchar"}, b'{"id": 2, "m": "s"}\n'),
}
TAKEN = {"o": b'{"id": 3, "o": {"k": 2}}\n', "l": b'{"id": 3, "l": null}\n'}


@pytest.mark.parametrize("case", list(CASES))
def test_a_value_the_nested_column_refuses_gets_422(settings: Settings, case: str) -> None:
    name, first, declared, later = CASES[case]
    table = "nested_later"
    assert run(settings, [(table, name, first or _parquet())], rows=False)[table].api_status == 202
    declare(settings, table, declared, policy="quarantine")
    outcome = run(settings, [(table, "later.ndjson", later)], rows=False)[table]
    # the loader refuses the same bytes (dropped as they are): the API says so, with a 422
    assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
    assert outcome.api_status == 422, (outcome.api_status, outcome.refused["reason"])
    column = next(iter(declared))
    msg = outcome.api_detail[0]["msg"]
    assert f"bronze's column {column!r}" in msg and f"the contract's {declared[column]}" in msg
    # what the table's column takes is taken by both
    taken = TAKEN.get(column, TAKEN["l"])
    fits = run(settings, [(table, "fits.ndjson", taken)], rows=False)[table]
    assert fits.api_status == 202, fits.api_detail
    assert bronze_table(settings, table).num_rows == 2  # the first file's row and this one


@pytest.mark.parametrize("declared", ["object", "unfit", " Object "])
def test_a_declared_object_or_unfit_type_is_no_nested_rule(
    settings: Settings, declared: str
) -> None:
    """``object`` and ``unfit`` are the API's names for the rule of a nested column the table
    has: a contract declaring them on a fresh table (no nested column) was taken for that rule,
    a Parquet POST 500 and an NDJSON one 422 where the loader loads it (review finding audits
    07). They name no DuckDB type: kept as text, as any such name, by both."""
    declare(settings, "p", {"o": declared})
    declare(settings, "j", {"o": declared})
    out = io.BytesIO()
    pq.write_table(pa.table({"o": ["x", "y"], "id": [1, 2]}), out)
    ndjson = b'{"o":"x","id":1}\n{"o":{"k":1},"id":2}\n'
    got = run(settings, [("p", "p.parquet", out.getvalue()), ("j", "j.ndjson", ndjson)])
    for table, outcome in got.items():
        assert outcome.api_status == 202, (table, outcome.api_status, outcome.api_detail)
        assert outcome.refused is None, (table, outcome.refused)
    assert sorted(bronze_table(settings, "j").column("o").to_pylist()) == ["x", '{"k":1}']
