"""A UTF-16 CSV whose text starts with a second U+FEFF keeps it in its first name for the
API's value pass too (``ingest.filecheck._Utf8Of``): its contract declaring that column
(``\\ufeffid``, as bronze names it) was refused by the API, 400 "the file does not parse as CSV:
Column '\\ufeffid' in include_columns does not exist in CSV file", and loaded by the loader.
pyarrow's own UTF-16 transcoding drops the second mark as a UTF-8 one; the structure pass kept
it (review finding audith 08, MED; the fuzz's f0527.csv, cut down).
"""

from __future__ import annotations

import gzip
import json

import pytest
from adversary_support import run

from lakehouse.settings import Settings

NAME = "\ufeffid"


def _contract(settings: Settings, name: str, data_type: str, required: bool) -> None:
    tests = ", tests: [not_null]" if required else ""
    (settings.dbt_project_dir / "models" / "t.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n        columns:\n"
        f"          - {{name: {json.dumps(name, ensure_ascii=False)}, "
        f"data_type: {data_type}{tests}}}\n"
    )


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("required", [False, True], ids=["typed", "required"])
def test_a_declared_column_named_with_the_second_mark_is_taken(
    one_lakehouse: Settings, required: bool, encoding: str, gz: bool
) -> None:
    _contract(one_lakehouse, NAME, "bigint", required)
    data = "\ufeff\ufeffid,v\n1,2\n".encode(encoding)
    sent = ("t.csv.gz", gzip.compress(data)) if gz else ("t.csv", data)
    out = run(one_lakehouse, [("t", *sent)])["t"]
    assert out.refused is None and out.loaded_rows is not None, out.refused
    assert out.loaded_rows[0][NAME] == 1
    assert out.api_status == 202, out.api_detail


def test_its_values_are_judged_by_the_declared_type(one_lakehouse: Settings) -> None:
    _contract(one_lakehouse, NAME, "bigint", False)
    data = "\ufeff\ufeffid,v\n1,2\nx\u00e9,3\n".encode("utf-16-le")
    out = run(one_lakehouse, [("t", "t.csv", data)], rows=False)["t"]
    assert out.api_status == 422, out.api_detail
    assert [(d["row"], d["field"]) for d in out.api_detail] == [(1, NAME)], out.api_detail
    assert "x\u00e9" in out.api_detail[0]["msg"]


def test_a_single_mark_declared_is_read_as_before(one_lakehouse: Settings) -> None:
    _contract(one_lakehouse, "id", "bigint", True)
    data = "\ufeffid,v\n1,2\n".encode("utf-16-le")
    out = run(one_lakehouse, [("t", "t.csv", data)])["t"]
    assert out.api_status == 202, out.api_detail
    assert out.loaded_rows is not None and out.loaded_rows[0]["id"] == 1
