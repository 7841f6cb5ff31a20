"""A ``.json`` file of objects one after another (pretty-printed, or with no line break between
them): the loader loaded it, the API refused it with 400 "trailing characters" (audit8 finding
08). docs/loading.md says what a ``.json`` file is; the API now reads it so
(``ingest.validation.concatenated_values``) and checks each object as a record. What the loader
refuses (an array after an object, a number, objects separated by commas) the API refuses.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

TAKEN = {
    "no_break": (
        b'{"duck":42}{"goose":43}\n',
        [{"duck": 42, "goose": None}, {"duck": None, "goose": 43}],
    ),
    "pretty": (b'{"a":\n1}\n{"a":2}\n', [{"a": 1}, {"a": 2}]),
    "pretty_indented": (
        b'{\n  "a": 1,\n  "b": "x\\ny"\n}\n\n{\n  "a": 2,\n  "b": "y"\n}\n',
        [{"a": 1, "b": "x\ny"}, {"a": 2, "b": "y"}],
    ),
    "space": (b'{"a":1} \t{"a":2}', [{"a": 1}, {"a": 2}]),
    "nested": (
        b'{\n "a": [1,\n 2],\n "s": {"x": 1}\n}{"a": [3], "s": {"x": 2}}',
        [{"a": "[1,2]", "s": {"x": 1}}, {"a": "[3]", "s": {"x": 2}}],
    ),
}

REFUSED = {
    "object_then_array": b'{"a":1} [1]',
    "object_then_number": b'{"a":1} 5',
    "commas": b'{"a":1},{"a":2}',
    "arrays": b'[{"a":1}][{"a":2}]',
    "repeated_key": b'{"a":1}\n{"a":2,\n"a":3}',
    "lone_surrogate": b'{"a":1}\n{"a":\n"\\ud800"}',
}


def _plain(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


@pytest.mark.parametrize("case", list(TAKEN))
def test_objects_one_after_another_are_taken_and_loaded_exactly(
    module_lakehouse: Settings, case: str
) -> None:
    data, rows = TAKEN[case]
    table = f"json_seq_{case}"
    outcome = run(module_lakehouse, [(table, "a.json", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None and outcome.loaded_rows is not None, outcome.refused
    assert sorted(map(str, _plain(outcome.loaded_rows))) == sorted(map(str, rows))


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_the_loader_refuses_the_api_refuses(module_lakehouse: Settings, case: str) -> None:
    table = f"json_seq_bad_{case}"
    outcome = run(module_lakehouse, [(table, "a.json", REFUSED[case])])[table]
    assert 400 <= outcome.api_status < 500, outcome.api_detail
    assert outcome.refused is not None, outcome.loaded_rows
    assert outcome.refused["kind"] == "unparseable"


def test_a_refusal_names_the_record(module_lakehouse: Settings) -> None:
    outcome = run(module_lakehouse, [("json_seq_where", "a.json", REFUSED["lone_surrogate"])])
    detail = outcome["json_seq_where"].api_detail
    assert "(record 2)" in str(detail), detail
