"""A quote inside an unquoted header name is a character, for the API as for the loader.

docs/loading.md: a quote inside an unquoted field is a character (``37°36'37.8"N``). The API
read the header's lines while they held an odd count of quotes and gave them to Python's strict
CSV reader as one line, so ``id,screen 15"`` followed by records got 400 "new-line character
seen in unquoted field" while the loader loaded the same bytes exactly.
"""

from __future__ import annotations

import re

import pytest
from adversary_support import Table, expected, mismatches, run

from lakehouse.settings import Settings

CASES = {
    "end_of_header": b'id,screen 15"\n1,ok\n2,fine\n',
    "crlf": b'id,screen 15"\r\n1,ok\r\n',
    "first_name": b'size 5",id\n1,2\n3,4\n',
    "semicolons": b'id;screen 15"\n1;ok\n',
    "quoted_name": b'"a,""b""",c\n1,2\n',
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_quote_inside_an_unquoted_header_name_is_a_character(
    module_lakehouse: Settings, case: str
) -> None:
    data = CASES[case]
    want = expected("a.csv", data)
    assert isinstance(want, Table), want  # valid by the documented rule
    table = f"header_quote_{case}"
    outcome = run(module_lakehouse, [(table, "a.csv", data)])[table]
    assert outcome.refused is None and outcome.loaded_rows is not None
    assert mismatches(outcome.loaded_rows, want, js=False) == []
    assert outcome.api_status == 202, outcome.api_detail


@pytest.mark.parametrize(
    ("data", "line"),
    [(b'id,screen 15"\n1,ok\n2\n', 3), (b'id,x"\n1,"a\nb"\n2\n', 4), (b'id,x"\n1,"a"b\n', 2)],
)
def test_the_api_names_the_line_after_such_a_header(
    module_lakehouse: Settings, data: bytes, line: int
) -> None:
    outcome = run(module_lakehouse, [("header_quote_lines", "a.csv", data)])["header_quote_lines"]
    assert outcome.api_status == 400, outcome.api_detail
    assert re.search(rf"\bline {line}\b", str(outcome.api_detail)), outcome.api_detail
