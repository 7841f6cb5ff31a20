"""A ``.json`` file (an array, or objects one after another) that is no such JSON: the loader
says why as the API does, at the byte of the JSON text. DuckDB's words named a record the file
does not hold ("record/value 4" for the third of three: it counts from 2) and a byte inside it,
or, for ``[{"a": 1},]`` and ``[{"a": 1}]]``, "input length is 0" (review findings auditC 01
and 02, MEDIUM: json.org's and nlohmann/json's fail cases). The refusal's path parses the file
with msgspec, as the API's check does. (Of objects one after another the API names the record,
0-based, and the byte inside it; the loader the byte of the text.)
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

CASES = [
    (b'[{"a": 1}, {"a": 2}, {"a": 3 x}]', "expected ',' or '}' (byte 29)"),
    (b'\xef\xbb\xbf[{"a": 1}, {"a": truth}]', "invalid character (byte 18)"),
    (b'{"a": 1 + 2}', "expected ',' or '}' (byte 8)"),
    (b'[{"a": 1},]', "trailing comma in array (byte 10)"),
    (b'[{"a": 1}]]', "text after the array's closing ']': ']'"),
    (b'[{"a": 1}] ]', "text after the array's closing ']': ']'"),
    (b'{"a":1}{"a": [1,}', "invalid character (byte 16)"),
]


@pytest.mark.parametrize(("data", "said"), CASES)
def test_the_loader_names_the_cause_and_byte_as_the_api(
    module_lakehouse: Settings, data: bytes, said: str
) -> None:
    table = f"json_reason_{CASES.index((data, said))}"
    outcome = run(module_lakehouse, [(table, "a.json", data)], rows=False)[table]
    assert outcome.api_status == 400, outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "unparseable", refused
    reason = refused["reason"]
    assert said in reason, reason
    assert "record/value" not in reason and "input length is 0" not in reason, reason
    if data.lstrip(b"\xef\xbb\xbf").startswith(b"["):  # the same place as the API's
        assert said in str(outcome.api_detail), outcome.api_detail


DEEP = [
    b"[" * 100_000,  # an array cut short, nested past msgspec's recursion limit
    b'[{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}] x",  # text after such an array
    b'{"a": 1}' + b'{"a":' * 100_000,  # objects one after another, the second that deep
]


@pytest.mark.parametrize("data", DEEP, ids=["cut", "text_after", "objects"])
def test_json_nested_past_the_parsers_limit_is_refused_not_a_crash(
    module_lakehouse: Settings, data: bytes
) -> None:
    """The loader raised RecursionError on the first two (never quarantined: every pass met
    them again), the API answered 500 on the third (review findings auditC 06 and 07)."""
    table = f"json_deep_{DEEP.index(data)}"
    outcome = run(module_lakehouse, [(table, "a.json", data)], rows=False)[table]
    assert outcome.api_status == 400, outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "unparseable", refused
