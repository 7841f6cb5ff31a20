"""A JSON string fits text, date and timestamp columns only, in the API and the loader alike.

docs/loading.md (JSON): ``"5"`` is no number, ``"true"`` no boolean. The API judged a JSON
string by its characters, so ``{"x": "7"}`` in a ``bigint`` column was 202, then the loader
quarantined the file (``on_mismatch: quarantine``) or stored null and rescued ``"7"`` (by
default) after the client was told the record kept the contract. One rule now
(``lakehouse.dialect.takes_json_string``): the API answers 422 and the loader refuses or
rescues the same value.
"""

from __future__ import annotations

import json

import pytest
from adversary_support import declare, run

from lakehouse import dialect
from lakehouse.settings import Settings

STRINGS = [
    ("bigint", '"7"'),
    ("double", '"1.5"'),
    ("float", '"1.5"'),
    ("decimal(6,2)", '"1.50"'),
    ("hugeint", '"7"'),
    ("utinyint", '"7"'),
    ("boolean", '"true"'),
]


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize(("declared", "value"), STRINGS)
@pytest.mark.parametrize("name", ["a.ndjson", "a.json"])
def test_a_json_string_in_a_number_or_boolean_column_is_a_mismatch(
    module_lakehouse: Settings, policy: str, declared: str, value: str, name: str
) -> None:
    assert not dialect.takes_json_string(declared)
    table = f"jstr_{policy}_{declared.split('(')[0]}_{name.split('.')[1]}"
    declare(module_lakehouse, table, {"x": declared, "k": "bigint"}, policy)
    record = f'{{"x": {value}, "k": 1}}'
    body = f"[{record}]" if name.endswith(".json") else f"{record}\n"
    outcome = run(module_lakehouse, [(table, name, body.encode())])[table]
    assert outcome.api_status == 422, outcome.api_detail
    assert "JSON string" in json.dumps(outcome.api_detail)
    if policy == "quarantine":
        assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
        return
    assert outcome.loaded_rows is not None, outcome.refused
    (row,) = outcome.loaded_rows
    assert row["x"] is None and json.loads(row["_rescued_data"]) == {"x": json.loads(value)}


@pytest.mark.parametrize(
    ("declared", "value"),
    [
        ("varchar", '"7"'),
        ("date", '"2024-01-02"'),
        ("timestamp", '"2024-01-02 03:04:05"'),
        ("bigint", "7"),
        ("boolean", "true"),
        ("decimal(6,2)", "1.50"),
        ("varchar", "7"),
    ],
)
def test_a_json_value_of_the_columns_kind_loads(
    module_lakehouse: Settings, declared: str, value: str
) -> None:
    table = f"jkind_{declared.split('(')[0]}_{'s' if value.startswith(chr(34)) else 'n'}"
    declare(module_lakehouse, table, {"x": declared}, "quarantine")
    outcome = run(module_lakehouse, [(table, "a.ndjson", f'{{"x": {value}}}\n'.encode())])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.loaded_rows is not None, outcome.refused
