"""A rescued JSON value keeps its kind in ``_rescued_data`` (review finding auditi 01): a string
is a JSON string there, any other value the JSON value itself, as written. Before, every
rescued value was its text as a string, so the number ``1.5`` and the string ``"1.5"``, the
object ``{"K":2}`` and the string holding its text, ``1`` and ``"1"`` gave identical rows."""

from __future__ import annotations

import json
from decimal import Decimal

from adversary_support import run

from lakehouse.settings import Settings

FIRST = b'{"n": 1, "o": {"k": 1}, "b": true}\n'  # n BIGINT, o struct<k: bigint>, b BOOLEAN
SECOND = (
    b'{"n": 1.50, "o": {"K": 2}, "b": 1}\n'  # a number, an object, a number
    b'{"n": "1.50", "o": "{\\"K\\":2}", "b": "1"}\n'  # the strings of their texts
)


def test_a_rescued_json_value_keeps_its_kind(module_lakehouse: Settings) -> None:
    assert run(module_lakehouse, [("kinds", "a.ndjson", FIRST)])["kinds"].api_status == 202
    outcome = run(module_lakehouse, [("kinds", "b.ndjson", SECOND)])["kinds"]
    assert outcome.api_status == 202 and outcome.refused is None, outcome.refused
    rows = [r for r in outcome.loaded_rows or [] if r["_rescued_data"] is not None]
    assert len(rows) == 2 and all(r["n"] is r["o"] is r["b"] is None for r in rows), rows
    texts = sorted(r["_rescued_data"] for r in rows)
    assert texts == [
        '{"n": "1.50", "o": "{\\"K\\":2}", "b": "1"}',
        '{"n": 1.50, "o": {"K":2}, "b": 1}',
    ], texts
    # each is JSON, and reads back as the record's values, the number's digits kept
    values = [json.loads(t, parse_float=Decimal) for t in texts]
    sent = [json.loads(line, parse_float=Decimal) for line in SECOND.splitlines()]
    assert sorted(map(repr, values)) == sorted(map(repr, sent))
