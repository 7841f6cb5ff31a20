"""A declared column over a struct column the table has (a JSON object's) is judged by the
struct's type, fields included, as the loader fits it (``lakehouse.nested.misfits``: the struct
grown by the fields the file's objects add, each object converted; one rule for both). A JSON
object whose field does not fit (``{"k": "x"}`` over ``struct<k: int64>``) is 422 naming the
field; an object bringing a new field is taken (the struct grows) and loaded. *Before:* (until
session 12) the API took any object (202) and the loader then quarantined the file (or rescued
the value) (review finding auditi 06, remainder; fixn.md 2).
"""

from __future__ import annotations

import json

import pytest
from adversary_support import declare, run
from fastapi.testclient import TestClient

from ingest.app import create_app
from lakehouse.settings import Settings

FIRST = b'{"id": 1, "o": {"k": 1, "s": {"d": 1.5}}}\n'

#: (name, the later file, the field the API's 422 names, or None: taken and loaded)
CASES = [
    ("field_text_in_bigint", b'{"id": 2, "o": {"k": "x"}}\n', "field 'k'"),
    ("field_string_number", b'{"id": 2, "o": {"k": "5"}}\n', "field 'k'"),
    ("deep_field", b'{"id": 2, "o": {"k": 2, "s": {"d": true}}}\n', "field 's.d'"),
    ("struct_field_not_object", b'{"id": 2, "o": {"s": 5}}\n', "field 's'"),
    ("case_clash_field", b'{"id": 2, "o": {"K": 2}}\n', "field 'K'"),
    ("fits", b'{"id": 2, "o": {"k": 2, "s": {"d": 2.25}}}\n', None),
    ("new_field", b'{"id": 2, "o": {"k": 3, "n": "new", "s": {"e": 1}}}\n', None),
    ("new_field_two_kinds", b'{"id": 2, "o": {"n": 1}}\n{"id": 3, "o": {"n": "x"}}\n', None),
]


def _lakehouse(settings: Settings) -> None:
    first = run(settings, [("t", "first.ndjson", FIRST)])["t"]
    assert first.loader_took, first
    declare(settings, "t", {"id": "bigint", "o": "varchar"}, policy="quarantine")


@pytest.mark.parametrize(("later", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_object_is_judged_by_the_struct_fields(
    one_lakehouse: Settings, later: bytes, field: str | None
) -> None:
    _lakehouse(one_lakehouse)
    out = run(one_lakehouse, [("t", "later.ndjson", later)])["t"]
    if field is None:
        assert out.api_status == 202, out.api_detail
        assert out.refused is None, out.refused
        assert out.loaded_rows is not None and len(out.loaded_rows) == 1 + later.count(b"\n")
        return
    assert out.api_status == 422, out.api_detail
    msg = out.api_detail[0]["msg"]
    assert out.api_detail[0]["field"] == "o" and field in msg, msg
    assert "struct<" in msg, msg  # the column's type named
    assert out.refused is not None and out.refused["kind"] == "type_conflict", out.refused


@pytest.mark.parametrize(("later", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_records_body_is_judged_alike(
    one_lakehouse: Settings, later: bytes, field: str | None
) -> None:
    _lakehouse(one_lakehouse)
    with TestClient(create_app(one_lakehouse)) as client:
        r = client.post(
            "/v1/tables/t/records",
            content=later,
            headers={"content-type": "application/x-ndjson"},
        )
    if field is None:
        assert r.status_code == 202, r.text
    else:
        assert r.status_code == 422, r.text
        assert field in r.json()["detail"][0]["msg"], r.text


def test_a_csv_field_holding_an_object_is_judged_alike(one_lakehouse: Settings) -> None:
    _lakehouse(one_lakehouse)
    bad = json.dumps({"k": "x"}).replace('"', '""')
    out = run(one_lakehouse, [("t", "later.csv", f'id,o\n2,"{bad}"\n'.encode())])["t"]
    assert out.api_status == 422, out.api_detail
    assert "field 'k'" in out.api_detail[0]["msg"], out.api_detail
    assert out.refused is not None and out.refused["kind"] == "type_conflict", out.refused
