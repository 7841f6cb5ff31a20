"""A JSON array file that does not end with its ``]`` is refused by the API and the loader
alike, and the loader's reason is true of both causes: cut short, or text after the array
(review finding auditL 13: ``[{"a": 1}] x`` was refused as "does not end with ']'
(truncated?)", although its array does end).
"""

from __future__ import annotations

import pytest
from adversary_support import run

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
    assert "cut short" in reason and "text follows its closing ']'" in reason, reason
