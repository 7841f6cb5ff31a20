"""A blank JSON key was named by the API by its place among the keys sorted ("column 1 has a
blank name") where it is the file's third (the loader: "column 3 has a blank name"); then (until
session 18, review finding auditi 03, LOW) by no place ("a column has a blank name ('')"), its
keys a set. The API now keeps the keys as first seen in the file, as the loader lists them, and
both name the key's place among them: "column 3 has a blank name ('')".
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

CASES = {
    "ndjson": ("a.ndjson", b'{"id": 1, "a": 2, "": 3}\n'),
    "json": ("a.json", b'[{"id": 1, "a": 2, "": 3}]'),
    "later_record": ("a.ndjson", b'{"id": 1}\n{"id": 2, "b": 1, " ": 3}\n'),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_blank_key_is_named_truly(module_lakehouse: Settings, case: str) -> None:
    name, data = CASES[case]
    table = f"blank_key_{case}"
    outcome = run(module_lakehouse, [(table, name, data)], rows=False)[table]
    assert outcome.refused is not None and outcome.refused["kind"] == "invalid_column"
    assert "column 3 has a blank name" in outcome.refused["reason"], outcome.refused
    assert outcome.api_status == 422
    msg = outcome.api_detail[0]["msg"]
    assert msg == outcome.refused["reason"], msg
