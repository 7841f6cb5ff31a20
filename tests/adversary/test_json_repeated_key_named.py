"""A JSON record that repeats a key is refused naming the record (a ``.json`` file's place, an
NDJSON file's line) and the key, by the loader as by the API: the loader said "an object
repeats a key", naming neither in a ``.json`` file, nor the key in NDJSON (brief of fixf,
session 15), early in the file or past the records DuckDB's detection samples."""

from __future__ import annotations

import json

import pytest
from adversary_support import run

from lakehouse.settings import Settings


@pytest.mark.parametrize("records", [10, 30_000])
@pytest.mark.parametrize("name", ["a.json", "a.ndjson"])
def test_a_repeated_key_is_named_with_its_record(
    one_lakehouse: Settings, name: str, records: int
) -> None:
    texts = [json.dumps({"id": i, "name": "x"}) for i in range(records)]
    at = records - 3  # 0-based
    texts[at] = '{"id": 5, "name": "y", "name": "z"}'
    if name.endswith(".ndjson"):
        data = ("\n".join(texts) + "\n").encode()
    else:
        data = ("[" + ",\n".join(texts) + "]").encode()
    outcome = run(one_lakehouse, [("t", name, data)], rows=False)["t"]
    assert outcome.api_status == 422, outcome.api_detail
    assert [(e["row"], e["field"]) for e in outcome.api_detail] == [(at, "name")]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "unparseable", refused
    where = f"line {at + 1}" if name.endswith(".ndjson") else f"record {at + 1}"
    assert refused["reason"] == f"{where}: an object repeats the key 'name'", refused
    assert refused["column"] == "name", refused
