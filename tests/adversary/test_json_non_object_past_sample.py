"""A ``.json`` record that is no object past the first ``loader.readers.SAMPLE_RECORDS``
records (the records whose keys DuckDB samples): the API's 422 names it (``row``), the loader
said "a record must be a JSON object" naming no record (DuckDB's "Expected OBJECT" while
reading the records carries no place in a ``.json`` array), where docs/loading.md promises
"record N: a record must be a JSON object" (before-stop read A-05 of session 17). Sized just
past the sample: 25,000 small records, the non-object at place 21,000 and at the last.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings
from loader.readers import SAMPLE_RECORDS

_RECORDS = 25_000


def _body(place: int, array: bool) -> bytes:
    records = [b'{"a": %d}' % i for i in range(_RECORDS)]
    records.insert(place, b"7")
    return b"[" + b",".join(records) + b"]" if array else b"\n".join(records)


CASES = {
    "array_past_sample": (SAMPLE_RECORDS + 520, True),
    "array_last": (_RECORDS, True),
    "values_past_sample": (SAMPLE_RECORDS + 520, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_non_object_past_the_sample_is_named_by_its_record(
    module_lakehouse: Settings, case: str
) -> None:
    place, array = CASES[case]
    table = f"json_past_sample_{case}"
    outcome = run(module_lakehouse, [(table, "a.json", _body(place, array))], rows=False)[table]
    assert outcome.api_status == 422, (outcome.api_status, outcome.api_detail)
    assert outcome.api_detail[0]["row"] == place, outcome.api_detail
    assert outcome.api_detail[0]["msg"] == dialect.NOT_OBJECT
    assert outcome.refused is not None, "the loader loaded it"
    assert outcome.refused["kind"] == "unparseable"
    assert outcome.refused["reason"] == f"record {place + 1}: {dialect.NOT_OBJECT}"
