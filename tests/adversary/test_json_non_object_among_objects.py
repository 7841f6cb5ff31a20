"""A value that is not an object among objects one after another in a ``.json`` file, with no
line break between them (``{"a":1}{"a":2}5{"a":3}``, or spaces): the loader refused it in
DuckDB's untrue words, "the file does not parse as JSON: Malformed JSON in record 3: unexpected
content after document. Try auto-detecting the JSON format" (every value parses). It now gives
the rule's words, as for the same values one a line and as the API's 422 (review finding
auditi 05, MED).
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings

CASES = {
    "glued": b'{"a":1}{"a":2}5{"a":3}',
    "spaced": b'{"a":1} {"a":2} 5 {"a":3}',
    "glued_true": b'{"a":1}true{"a":3}',
    "one_a_line": b'{"a":1}\n{"a":2}\n5\n{"a":3}\n',
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_loader_says_a_record_is_no_object(module_lakehouse: Settings, case: str) -> None:
    table = f"json_no_object_{case}"
    outcome = run(module_lakehouse, [(table, "a.json", CASES[case])], rows=False)[table]
    assert outcome.api_status == 422 and "must be a JSON object" in str(outcome.api_detail)
    assert outcome.refused is not None and outcome.refused["kind"] == "unparseable"
    place = 2 if case == "glued_true" else 3  # the value that is no object, from 1
    reason = outcome.refused["reason"]  # the API's words and record, since session 17
    assert reason == f"record {place}: {dialect.NOT_OBJECT}", reason
    assert outcome.api_detail[0]["row"] == place - 1, outcome.api_detail
