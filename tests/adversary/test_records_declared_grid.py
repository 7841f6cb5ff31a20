"""The declared-type grid through ``/records``: what the API takes (202) loads with the value
kept by the rule, what it refuses (422) the loader refuses in the same words under
``on_mismatch: quarantine`` and rescues under ``rescue`` (issue #8; session 19's review revd).

Records reach the contract's fast tests (``ingest.fastcontract``: ``whole_records`` for flat
records of declared keys, ``holds`` beside an undeclared nested key) before the exact check;
each body here is sent as ``application/x-ndjson`` (flat, and beside a nested key) and as a
pretty-printed ``application/json`` array, and a body the API refuses is dropped into the
landing zone as the same bytes (``.ndjson`` / ``.json``). A representative subset of the grid
revd ran (21 types x 266 values x 7 forms x both policies, all agreeing but for finding revd 01):
per type, values on both sides of its rule.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from adversary_support import _error, bronze_table, declare, lakehouse, same_json, same_text
from fastapi.testclient import TestClient

from ingest.app import create_app
from lakehouse import dialect
from lakehouse.layout import raw_dir, table_path
from loader.loading import Loader

#: declared type -> JSON values (as written) on both sides of its rule
GRID: dict[str, list[str]] = {
    "boolean": ["true", "1", '"true"'],
    "bigint": ["-9223372036854775808", "9223372036854775808", "-0", "1.0"],
    "smallint": ["-32768", "32768", '"1"'],
    "ubigint": ["18446744073709551615", "-1"],
    "hugeint": ["170141183460469231731687303715884105727", "1e3"],
    "double": ["0.30000000000000004", "1e400", "-0.0", "1.7976931348623157e308"],
    "real": ["0.1", "1.17549435e-38", "3.4028236e38"],
    "decimal(12,2)": ["1.50", "-0.5", "1.005", "9999999999.99", "99999999999.99"],
    "date": ['"2024-02-29"', '"2023-02-29"', '"0001-01-01"', '"20240101"', "20240101"],
    "timestamp": ['"2024-01-01T00:00:00.123456"', '"2024-01-01 24:00:00"', '"2024-06-30 23:59:60"'],
    "timestamp(3)": ['"2024-01-01 00:00:00.123"', '"2024-01-01 00:00:00.1234"'],
    "timestamptz": [
        '"2024-01-01 00:00:00+05:30"',
        '"9999-12-31 23:59:59-01:00"',
        '"0001-01-01 00:00:00+01:00"',
        '"2024-01-01T00:00:00Z"',
    ],
    "time": ['"23:59:59.999999"', '"24:00:00"', '"12:00"'],
    "uuid": ['"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"', '"0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"'],
    "varchar": ['"\\u0031"', "1.50", "true"],
    "blob": ['"\\u00e9"', "1"],
    "json": ["1.50", '{"a":1}', '"x"'],
}

FORMS = {
    "ndjson": ("application/x-ndjson", "a.ndjson", lambda v: f'{{"v": {v}}}\n'),
    "nested": ("application/x-ndjson", "a.ndjson", lambda v: f'{{"v": {v}, "x": [1]}}\n'),
    "array": ("application/json", "a.json", lambda v: f'[\n  {{\n    "v": {v}\n  }}\n]\n'),
}


def _kept(stored: object, raw: str, declared: str) -> bool:
    """Whether bronze's ``stored`` value says the JSON value written ``raw`` by the rule."""
    value = json.loads(raw)
    if declared == "json":
        return isinstance(stored, str) and json.loads(stored) == value
    if declared == "blob":
        return stored == value.encode()
    if declared == "real" and isinstance(stored, float):  # a float32 says its shortest text
        import struct

        f32 = struct.unpack("f", struct.pack("f", float(raw)))[0]
        return stored == f32
    if declared in ("time", "uuid") and isinstance(value, str):
        return isinstance(stored, (str, dt.time)) and str(stored).lower() == value.lower()
    if isinstance(value, str) and not isinstance(stored, str):
        return same_text(stored, value)
    return same_json(stored, raw.encode())


def _cases() -> list[tuple[str, str, str]]:
    """Every value flat as NDJSON and in a JSON array; a type's first two beside a nested key."""
    return [
        (t, v, f)
        for t, values in GRID.items()
        for i, v in enumerate(values)
        for f in FORMS
        if f != "nested" or i < 2
    ]


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
def test_records_the_api_takes_load_and_what_it_refuses_the_loader_refuses_alike(
    tmp_path: Path, policy: str
) -> None:
    settings = lakehouse(tmp_path)
    cases = {f"g{i}": case for i, case in enumerate(_cases())}
    for table, (declared, _, _) in cases.items():
        declare(settings, table, {"v": declared}, policy)
    answers = {}
    with TestClient(create_app(settings)) as client:
        for table, (_, raw, form) in cases.items():
            media, name, body = FORMS[form]
            data = body(raw).encode()
            r = client.post(
                f"/v1/tables/{table}/records", content=data, headers={"content-type": media}
            )
            answers[table] = (r.status_code, r.json().get("detail"))
            if r.status_code != 202:
                folder = raw_dir(settings, table)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
    Loader(settings).load_pending()
    taken = refused = 0
    for table, (declared, raw, form) in cases.items():
        status, detail = answers[table]
        error = _error(settings, table)
        loaded = (table_path(settings, "bronze", table) / "_delta_log").is_dir()
        case = (declared, raw, form, status, detail, error)
        if status == 202:
            taken += 1
            assert error is None and loaded, case
            [row] = bronze_table(settings, table).to_pylist()
            assert row.get(dialect.RESCUED_DATA) is None, case
            assert _kept(row["v"], raw, declared), (case, row["v"])
            continue
        refused += 1
        assert status == 422, case
        msg = detail[0]["msg"]
        if policy == "quarantine":
            assert error is not None and error["kind"] == "type_conflict", case
            where = "record 1" if form == "array" else "line 1"
            assert error["reason"] == dialect.placed(where, f"column 'v': {msg}"), case
        else:
            assert error is None and loaded, case
            [row] = bronze_table(settings, table).to_pylist()
            text = row[dialect.RESCUED_DATA] or "{}"
            rescued = json.loads(text, parse_float=Decimal, parse_int=Decimal)
            assert row["v"] is None and list(rescued) == ["v"], (case, row)
            assert rescued["v"] == json.loads(raw, parse_float=Decimal, parse_int=Decimal), case
            if isinstance(rescued["v"], Decimal):  # a number's literal as written
                assert raw in text, (case, text)
    assert taken and refused
