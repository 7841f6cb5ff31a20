"""A JSON array file that does not end with its ``]`` is refused by the API and the loader
alike, and the reason is the true one of the two causes, in the same words (the loader tells
them apart by msgspec's parse of the file): cut short, or text after the array (review finding
auditL 13: ``[{"a": 1}] x`` was refused as "does not end with ']' (truncated?)", although its
array does end).
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings


@pytest.mark.parametrize(
    "data",
    [b'[{"a": 1}] x\n', b'[{"a": 1},\n', b'[{"a": 1}]\n{"a": 2}\n'],
    ids=["text_after", "cut_short", "object_after"],
)
def test_refused_alike_with_a_true_reason(module_lakehouse: Settings, data: bytes) -> None:
    table = f"array_end_{abs(hash(data)) % 10**8}"
    outcome = run(module_lakehouse, [(table, "f.json", data)])[table]
    assert outcome.api_status == 400, outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "unparseable"
    reason = outcome.refused["reason"]
    if data.startswith(b'[{"a": 1},'):  # cut short: said so
        assert reason == dialect.malformed_json(dialect.JSON_ARRAY_CUT), reason
    else:  # the array ends: the text after it named, in the API's words too
        assert reason.startswith(  # the API's words, whole (until session 17 without its head)
            "malformed JSON: JSON is malformed: text after the array's closing ']'"
        ), reason
        assert reason == outcome.api_detail, (reason, outcome.api_detail)
