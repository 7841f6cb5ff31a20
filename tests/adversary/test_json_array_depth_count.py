"""A ``.json`` array's own level is no record's: a record nested past the parser's recursion limit
in a file that also fails to parse was named "nested 2002 levels deep" by the loader, counting
the array's ``[``, while the API (and docs/loading.md: the record is level 1) said 2001 (review
finding auditE 02, found with akheron/jansson@a8b3c5999e test/suites/invalid/recursion-depth,
MIT, wrapped into a record; the bytes here are written for the test). One count now
(``lakehouse.dialect.too_deep(..., array=True)``), the same words from both.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

CASES = {
    "unclosed_2000": (b'[{"v": ' + b"[" * 2000 + b"}]", 2001),
    "unclosed_1200_second_record": (b'[{"a": 1}, {"v": ' + b"[" * 1200 + b"}]", 1201),
    "blanks_before": (b' \r\n\t[{"v": ' + b"[" * 1500 + b"}]", 1501),
}


@pytest.mark.parametrize("case", CASES)
def test_the_depth_named_is_the_records(module_lakehouse: Settings, case: str) -> None:
    data, depth = CASES[case]
    outcome = run(module_lakehouse, [(case, "a.json", data)], rows=False)[case]
    said = f"nested {depth} levels deep; JSON records may nest at most 512 levels"
    assert outcome.api_status == 400 and said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "unparseable"
    assert said in outcome.refused["reason"], outcome.refused


def test_one_record_is_counted_from_itself(module_lakehouse: Settings) -> None:
    data = b'{"v": ' + b"[" * 1500 + b"}"  # a record, no array: its own brace is level 1
    outcome = run(module_lakehouse, [("one", "a.json", data)], rows=False)["one"]
    said = "nested 1501 levels deep"
    assert said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None and said in outcome.refused["reason"], outcome.refused
