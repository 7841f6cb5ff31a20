"""A UTF-32 CSV, or UTF-16 without a byte-order mark, is refused by the API and the loader
alike as what it is (review finding auditL 10: both said a column name "holds the control
character '\\x00'", an encoding problem reported as a name problem).
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

TEXT = "\ufeffid,name\n1,x\n"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (TEXT.encode("utf-32"), "UTF-32"),
        (TEXT.encode("utf-32-be"), "UTF-32"),
        (TEXT[1:].encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        (TEXT[1:].encode("utf-16-be"), "UTF-16 without a byte-order mark"),
    ],
    ids=["utf32_le", "utf32_be", "utf16_le_no_bom", "utf16_be_no_bom"],
)
def test_refused_as_its_encoding(module_lakehouse: Settings, data: bytes, said: str) -> None:
    table = f"encoding_{abs(hash(data)) % 10**8}"
    outcome = run(module_lakehouse, [(table, "f.csv", data)])[table]
    assert outcome.api_status == 400 and said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "encoding"
    assert said in outcome.refused["reason"], outcome.refused


@pytest.mark.parametrize("data", [TEXT.encode("utf-16"), TEXT.encode("utf-8")])
def test_utf8_and_utf16_with_a_mark_still_load(module_lakehouse: Settings, data: bytes) -> None:
    table = f"encoding_ok_{abs(hash(data)) % 10**8}"
    outcome = run(module_lakehouse, [(table, "f.csv", data)])[table]
    assert outcome.api_status == 202 and outcome.refused is None, outcome.refused
    assert [r["name"] for r in outcome.loaded_rows or []] == ["x"]
