"""Values JSON cannot carry exactly have a documented fate (ingest/validation.py), never a 500.

Also runs JSONTestSuite (../shared/data/badinput) through the records endpoint: every ``n_``
file is refused with a 4xx; every ``y_`` file is accepted exactly when the endpoint's rule takes
it (an object or a non-empty array of objects, no duplicate key, keys bronze can keep as column
names), and otherwise refused with 422, never 400 (it is JSON); ``i_`` files may go either way;
no 5xx.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from api_support import landed
from fastapi.testclient import TestClient

from lakehouse import Settings
from lakehouse.dialect import check_names

JSON = {"content-type": "application/json"}
NDJSON = {"content-type": "application/x-ndjson"}
URL = "/v1/tables/edges/records"


@pytest.mark.parametrize(
    ("body", "status", "why"),
    [
        (b'[{"x": NaN}]', 400, "NaN is not JSON"),
        (b'[{"x": Infinity}]', 400, "Infinity is not JSON"),
        (b'[{"x": -Infinity}]', 400, "-Infinity is not JSON"),
        (b'[{"x": 1, "x": 2}]', 422, "duplicate key"),
        (b'[{"x": 1, "x": 1}]', 422, "duplicate key, same value"),
        (b'[{"a": {"x": "\\u003a", "x": 1}}]', 422, "duplicate hidden by an escaped colon"),
        (b'[{"x": "\xff"}]', 400, "invalid UTF-8"),
        (b'[{"x": "\xc0\xaf"}]', 400, "overlong UTF-8"),
        (b'[{"x": "\xed\xa0\x80"}]', 400, "a surrogate encoded in UTF-8"),
        (b'[{"x": "\\ud800"}]', 400, "lone high surrogate escape"),
        (b'[{"x": "\\udc00"}]', 400, "lone low surrogate escape"),
        (b"\xff\xfe[\x00{\x00}\x00]\x00", 400, "UTF-16 JSON"),
        (b'[{"": 1}]', 422, "a blank key"),
        (b'[{"a": 1}, {"A": 2}]', 422, "keys equal but for case"),
        # NFC and NFD keys print the same: twins as case twins are (session 14, revl 12)
        (b'[{"\\u00e9": 1, "e\\u0301": 2}]', 422, "keys equal but for normalization"),
        (b'[{"_batch_id": 1}]', 422, "a bronze column"),
        (b'[{"a\\u0000b": 1}]', 422, "a control character in a key"),
        (b'[{"x": 1}] [{"y": 2}]', 400, "two documents"),
        (b"", 400, "empty body"),
        (b"[]", 422, "no records"),
        (b"[1, 2]", 422, "not objects"),
        (b'"just a string"', 422, "not objects"),
        # no object first (the loader's order), session 17; until then "nested too deeply"
        (b"[" * 100_000 + b"]" * 100_000, 422, "nested too deeply, no object"),
    ],
)
def test_fate_of_edge_values(
    client: TestClient, api_settings: Settings, body: bytes, status: int, why: str
) -> None:
    r = client.post(URL, content=body, headers=JSON)
    assert r.status_code == status, (why, r.text)
    assert "detail" in r.json()
    assert landed(api_settings, "edges") == []


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        (b'[{"x": 9223372036854775807, "y": -9223372036854775808}]', b"9223372036854775807"),
        (b'[{"x": 1.000000000000000005}]', b"1.000000000000000005"),  # lands as sent
        (b'[{"x": 1e-999}]', b"1e-999"),  # underflows to 0.0 in any float64 reader
        (b'[{"x": "\\ud834\\udd1e"}]', b"\\ud834\\udd1e"),  # a valid surrogate pair
        (b'[{"x": "\\u0000"}]', b"\\u0000"),  # NUL in a string is a character like any
        (b'[{"x": "1234567890123456789012345"}]', b"1234567890123456789012345"),  # a string
        # numbers keep every digit: the loader stores them as decimals or text as written
        (b'[{"x": 1e999}]', b"1e999"),
        (b'[{"x": 9223372036854775808}]', b"9223372036854775808"),
        (b'[{"x": -9223372036854775809}]', b"-9223372036854775809"),
        (b'[{"x": 123456789012345678901234567890}]', b"123456789012345678901234567890"),
        (b'[{"x": {"y": [1, 18446744073709551615]}}]', b"18446744073709551615"),
        (b'[{"n": 99999999999999999999}, {"n": 1.0000000000000000001}]', b"1.0000000000000000001"),
        (b'\xef\xbb\xbf[{"x": 1}]', b'{"x": 1}'),  # a byte-order mark is not data
        # beyond float64 without an exponent, or an exponent beyond any decimal's: as sent
        (b'[{"x": 1' + b"0" * 400 + b".5}]", b"0" * 400 + b".5"),
        (b'[{"x": 1.0e+99999999999999999999}]', b"1.0e+99999999999999999999"),
        (b'{"x": 1e99999999999999999999}', b"1e99999999999999999999"),
    ],
)
def test_exact_values_land_unchanged(
    client: TestClient, api_settings: Settings, body: bytes, kept: bytes
) -> None:
    r = client.post(URL, content=body, headers=JSON)
    assert r.status_code == 202, r.text
    assert kept in landed(api_settings, "edges")[0].read_bytes()


@pytest.mark.parametrize(
    "body",
    [
        b'{"x": 1' + b"0" * 400 + b'.5}\n{"x": 1}\n',  # 400 before the point: beyond float64
        b'{"x": 1.0e+99999999999999999999}\n',  # was a 500: decimal.Decimal refused it
        b'{"x": 1e99999999999999999999, "y": {"z": 1}}\n{"x": 1}\n',
        # past the interpreter's 4,300 digits (was 422 "a record must be a JSON object")
        b'{"x": ' + b"9" * 5000 + b', "y": {"z": [-' + b"9" * 5000 + b"]}}\n",
        b'{"x": ' + b"9" * 5000 + b', "y": 1e999}\n',
    ],
)
def test_ndjson_numbers_beyond_float64_land_as_sent(
    client: TestClient, api_settings: Settings, body: bytes
) -> None:
    r = client.post(URL, content=body, headers=NDJSON)
    assert r.status_code == 202, r.text
    assert landed(api_settings, "edges")[0].read_bytes() == body


@pytest.mark.parametrize("number", [b"1e99999999999999999999", b"9" * 5000])
def test_a_repeated_key_beside_a_huge_number_is_422(client: TestClient, number: bytes) -> None:
    """The exact duplicate search reads numbers as their text (it raised on the first: a 500)."""
    body = b'{"x": ' + number + b', "y": {"z": 1, "z": 2}}\n'
    r = client.post(URL, content=body, headers=NDJSON)
    assert r.status_code == 422 and "an object repeats the key 'z'" in r.text, r.text
    r = client.post(URL, content=b"[" + body + b"]", headers=JSON)
    assert r.status_code == 422 and "an object repeats the key 'z'" in r.text, r.text


@pytest.mark.parametrize("depth", [1, 500, 2000])
def test_a_huge_integer_nests_as_deep_as_any_value(client: TestClient, depth: int) -> None:
    """Numbers kept as text are walked by a loop, not recursion: the same answers at every
    depth as a small number's (a recursive walk refused 500 levels with one)."""
    answers = []
    for number in (b"1", b"9" * 5000):
        body = b'{"x": ' + b"[" * depth + number + b"]" * depth + b', "y": {"z": 1}}\n'
        one = client.post(URL, content=body, headers=NDJSON)
        two = client.post(URL, content=body.replace(b'"z": 1', b'"z": 1, "z": 2'), headers=NDJSON)
        answers.append((one.status_code, two.status_code, two.json().get("detail")))
    assert answers[0] == answers[1]
    # deeper than dialect.MAX_JSON_DEPTH (512, the record level 1): 400, repeated key or not
    assert answers[0][:2] == ((202, 422) if depth <= 500 else (400, 400)), answers


def test_an_array_of_one_object_with_a_huge_integer_lands_as_sent(
    client: TestClient, api_settings: Settings
) -> None:
    body = b'{"x": ' + b"9" * 5000 + b"}"
    r = client.post(URL, content=body, headers=JSON)
    assert r.status_code == 202, r.text
    assert landed(api_settings, "edges")[0].read_bytes() == body + b"\n"


def test_ndjson_edges(client: TestClient) -> None:
    assert (
        client.post(URL, content=b'{"x":1}\n\n{"x":2}\r\n', headers=NDJSON).json()["records"] == 2
    )
    r = client.post(URL, content=b'{"x":1}\n{"x":NaN}\n', headers=NDJSON)
    assert r.status_code == 400 and "line 2" in r.json()["detail"]
    r = client.post(URL, content=b'{"x":1}\n{"y":1,"y":2}\n', headers=NDJSON)
    assert r.status_code == 422 and r.json()["detail"][0]["row"] == 1


# -- JSONTestSuite -------------------------------------------------------------------------------


def _no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _names_kept(records: list[dict[str, Any]]) -> bool:
    keys: set[str] = set().union(*records)
    return check_names(sorted(keys)) is None


def endpoint_takes(data: bytes) -> bool:
    """The documented rule for valid JSON (``y_`` files)."""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_dupes)
    except ValueError:
        return False
    records = [value] if isinstance(value, dict) else value
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) for r in records)
        and any(records)  # only empty objects: no column to store, the loader refuses them
        and _names_kept(records)
    )


def test_json_test_suite(client: TestClient, shared_dir: Path) -> None:
    folder = shared_dir / "data" / "badinput" / "JSONTestSuite" / "test_parsing"
    files = sorted(folder.glob("*.json"))
    assert len(files) > 300
    wrong = []
    for path in files:
        data = path.read_bytes()
        r = client.post(URL, content=data, headers=JSON)
        kind = path.name[0]
        if r.status_code >= 500:
            wrong.append((path.name, r.status_code))
        elif kind == "n" and r.status_code < 400:
            wrong.append((path.name, r.status_code))
        elif kind == "y":
            expected = 202 if endpoint_takes(data) else 422
            if r.status_code != expected:
                wrong.append((path.name, r.status_code, r.text[:200]))
        assert r.headers["content-type"].startswith("application/json"), path.name
    assert wrong == []


def test_json_test_suite_transforms(client: TestClient, shared_dir: Path) -> None:
    folder = shared_dir / "data" / "badinput" / "JSONTestSuite" / "test_transform"
    fates = {}
    for path in sorted(folder.glob("*.json")):
        data = path.read_bytes()
        body = data if data.lstrip().startswith(b"{") else b'{"v": ' + data + b"}"
        fates[path.name] = client.post(URL, content=body, headers=JSON).status_code
    assert all(code < 500 for code in fates.values()), fates
    assert fates["number_9223372036854775807.json"] == 202
    assert fates["number_9223372036854775808.json"] == 202  # every digit kept (a decimal)
    assert fates["number_-9223372036854775809.json"] == 202
    assert fates["number_10000000000000000999.json"] == 202
    assert fates["object_same_key_same_value.json"] == 422
    assert fates["object_same_key_different_values.json"] == 422
    assert fates["string_1_invalid_codepoint.json"] == 400


def test_an_array_element_beyond_float64_lands_as_sent(
    client: TestClient, api_settings: Settings
) -> None:
    r = client.post(URL, content=b'[{"x": 1}, {"x": 1e999}]', headers=JSON)
    assert r.status_code == 202, r.text
    assert landed(api_settings, "edges")[0].read_bytes() == b'{"x": 1}\n{"x": 1e999}\n'


def test_a_duplicate_key_names_the_record(client: TestClient) -> None:
    r = client.post(URL, content=b'[{"x": 1}, {"x": 1, "x": 2}]', headers=JSON)
    assert r.status_code == 422 and r.json()["detail"][0]["row"] == 1


@pytest.mark.parametrize("depth", [900, 990, 999, 5000])
def test_deep_nesting_on_the_slow_path_is_never_a_500(client: TestClient, depth: int) -> None:
    nested = b"[" * depth + b"12345678901234567890" + b"]" * depth
    body = b'{"a": ' + nested + b', "a": 1}\n'  # a big integer and a duplicate: the exact path
    r = client.post(URL, content=body, headers=NDJSON)
    assert r.status_code in (400, 422), r.text[:200]


@pytest.mark.parametrize("depth", [980, 990, 995, 999])
def test_deep_nesting_with_a_contract_is_never_a_500(client: TestClient, depth: int) -> None:
    nested = b"[" * depth + b"1" + b"]" * depth
    body = b'{"order_id": 1, "customer_id": 2, "currency": "EUR", '
    body += b'"ordered_at": "2024-01-01T00:00:00Z", "deep": ' + nested + b"}\n"
    r = client.post("/v1/tables/orders/records", content=body, headers=NDJSON)
    assert r.status_code in (202, 400), r.text[:200]
