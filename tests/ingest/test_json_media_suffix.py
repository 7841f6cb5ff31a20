"""A media type with the ``+json`` structured syntax suffix (RFC 6839, 3.1) is JSON:
``/records`` reads its body as ``application/json`` (a JSON array of objects or one object;
never NDJSON), and ``/files`` takes it as a ``.json`` file. ``text/json`` is no registered type
(RFC 8259 registers ``application/json`` only): 415 naming what to send. Before (session 13),
every ``+json`` type got 415 (``application/vnd.api+json``, JSON:API's; ``application/ld+json``,
JSON-LD's; ``application/problem+json``)."""

from __future__ import annotations

import pytest
from api_support import landed
from deltalake import DeltaTable
from fastapi.testclient import TestClient

from lakehouse import Settings
from lakehouse.formats import media_kind
from lakehouse.layout import table_path
from lakehouse.storage import arrow_dataset
from loader import Loader

SUFFIXED = [
    "application/vnd.api+json",
    "application/ld+json",
    "application/problem+json",
    "application/geo+json",
    "Application/VND.Example.Orders+JSON",
]


def _rows(settings: Settings, table: str) -> list[dict[str, object]]:
    Loader(settings).load_pending()
    found = DeltaTable(str(table_path(settings, "bronze", table)))
    rows: list[dict[str, object]] = arrow_dataset(found).to_table().to_pylist()
    return sorted(rows, key=lambda row: str(row["id"]))


@pytest.mark.parametrize("media", SUFFIXED)
def test_records_with_a_json_suffix_are_read_as_json(
    client: TestClient, api_settings: Settings, media: str
) -> None:
    body = b'[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]'
    r = client.post("/v1/tables/suffixed/records", content=body, headers={"content-type": media})
    assert r.status_code == 202, r.text
    assert r.json()["records"] == 2
    assert [(row["id"], row["name"]) for row in _rows(api_settings, "suffixed")] == [
        (1, "a"),
        (2, "b"),
    ]


def test_a_json_suffix_takes_a_charset_as_json_does(client: TestClient) -> None:
    body = b'{"id": 1}'
    ok = client.post(
        "/v1/tables/suffixed/records",
        content=body,
        headers={"content-type": "application/ld+json; charset=utf-8"},
    )
    assert ok.status_code == 202, ok.text
    refused = client.post(
        "/v1/tables/suffixed/records",
        content=body,
        headers={"content-type": "application/ld+json; charset=latin-1"},
    )
    assert refused.status_code == 415, refused.text


def test_a_json_suffix_is_no_ndjson(client: TestClient) -> None:
    """Objects on lines of their own are refused as ``application/json`` refuses them (400,
    naming NDJSON's media type), as is a body that is no JSON: the same answer, word for word."""
    for body in (b'{"id": 1}\n{"id": 2}\n', b"[1,"):
        plain = client.post(
            "/v1/tables/suffixed/records",
            content=body,
            headers={"content-type": "application/json"},
        )
        suffixed = client.post(
            "/v1/tables/suffixed/records",
            content=body,
            headers={"content-type": "application/vnd.api+json"},
        )
        assert plain.status_code == 400, plain.text
        assert (suffixed.status_code, suffixed.json()) == (plain.status_code, plain.json())


@pytest.mark.parametrize("media", ["text/json", "application/+json", "application/json-seq"])
def test_other_json_like_types_are_415_naming_what_to_send(
    client: TestClient, api_settings: Settings, media: str
) -> None:
    r = client.post(
        "/v1/tables/suffixed/records", content=b'{"id": 1}', headers={"content-type": media}
    )
    assert r.status_code == 415, r.text
    assert "application/json" in r.json()["detail"] and "+json" in r.json()["detail"]
    assert landed(api_settings, "suffixed") == []


def test_files_take_a_json_suffix_as_a_json_file(
    client: TestClient, api_settings: Settings
) -> None:
    body = b'[{"id": 1, "name": "a"}]'
    r = client.post(
        "/v1/tables/suffixed/files?filename=a.json",
        content=body,
        headers={"content-type": "application/ld+json"},
    )
    assert r.status_code == 202, r.text
    bare = client.post(
        "/v1/tables/suffixed/files",
        content=body,
        headers={"content-type": "application/vnd.api+json"},
    )
    assert bare.status_code == 202, bare.text
    assert [row["name"] for row in _rows(api_settings, "suffixed")] == ["a", "a"]
    other = client.post(
        "/v1/tables/suffixed/files?filename=a.ndjson",
        content=b'{"id": 1}\n',
        headers={"content-type": "application/ld+json"},
    )
    assert other.status_code == 415, other.text  # a JSON type, an NDJSON name: no agreement


def test_media_kind() -> None:
    assert media_kind("application/json") == "json"
    assert media_kind("application/x-ndjson") == "ndjson"
    assert media_kind("application/vnd.api+json") == "json"
    assert media_kind("text/json") is None
    assert media_kind("application/+json") is None
    assert media_kind("text/csv") == "csv"
