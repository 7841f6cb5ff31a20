"""A rescued JSON value keeps its kind in ``_rescued_data`` (review finding auditi 01): a string
is a JSON string there, any other value the JSON value itself, as written. Before, every
rescued value was its text as a string, so the number ``1.5`` and the string ``"1.5"``, the
object ``{"K":2}`` and the string holding its text, ``1`` and ``"1"`` gave identical rows."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from adversary_support import declare, run

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


# The columns whose JSON values are decoded once to their text before they are typed (dates,
# times, timestamps, uuids): their rescued values keep their kind too (review finding auditj
# 05, session 12: every one was a JSON string, the number 20240102 and the string "20240102"
# one row shape). Reached after a 202: the table's column typed by an earlier CSV file.
MIXED = b'{"v":20240102}\n{"v":"20240102"}\n{"v":true}\n{"v":"true"}\n{"v":{"K":2}}\n{"v":[1]}\n'


@pytest.mark.parametrize(
    ("data_type", "first"),
    [
        ("date", b"v\n2024-01-02\n"),
        ("timestamp", b"v\n2024-01-02 03:04:05\n"),
        ("timestamptz", None),
        ("time", None),
        ("uuid", None),
    ],
)
def test_rescued_values_of_text_rule_columns_keep_their_kind(
    module_lakehouse: Settings, data_type: str, first: bytes | None
) -> None:
    table = f"kinds_{data_type}"
    if first is None:
        declare(module_lakehouse, table, {"v": data_type})
    else:  # typed by an earlier file, as a table's columns are without a contract
        assert run(module_lakehouse, [(table, "a.csv", first)])[table].loader_took
    outcome = run(module_lakehouse, [(table, "b.ndjson", MIXED)])[table]
    assert outcome.refused is None, outcome.refused
    if first is not None:
        assert outcome.api_status == 202, outcome.api_detail
    rows = [r for r in outcome.loaded_rows or [] if r["_rescued_data"] is not None]
    got = sorted((json.loads(r["_rescued_data"])["v"] for r in rows), key=repr)
    sent = [json.loads(line)["v"] for line in MIXED.splitlines()]
    assert got == sorted(sent, key=repr), [r["_rescued_data"] for r in rows]
