"""``/files`` reads a ``Content-Disposition`` file name as RFC 6266 says: ``filename*``
(charset and percent-escapes decoded, RFC 8187) before ``filename``
(``ingest.routers.files._disposition_name``, the standard library's MIME parser). Before,
``filename*=UTF-8''orders.ndjson`` alone got 415 "needs a file name (?filename=)" though one was
sent, and with both the plain ``filename`` won (review finding auditi 07, LOW).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ingest import create_app
from lakehouse.settings import Settings

CASES = {
    "star_only": ("attachment; filename*=UTF-8''orders.ndjson", "orders.ndjson"),
    "star_escaped": ("attachment; filename*=UTF-8''caf%C3%A9.ndjson", "caf\u00e9.ndjson"),
    "both_star_first": (
        "attachment; filename*=UTF-8''b.ndjson; filename=\"a.csv\"",
        "b.ndjson",
    ),
    "both_plain_first": (
        "attachment; filename=\"a.csv\"; filename*=UTF-8''b.ndjson",
        "b.ndjson",
    ),
    "plain_quoted_semicolon": ('attachment; filename="x;y.ndjson"', "x;y.ndjson"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_disposition_names_the_file(one_lakehouse: Settings, case: str) -> None:
    header, name = CASES[case]
    with TestClient(create_app(one_lakehouse)) as client:
        r = client.post(
            "/v1/tables/t/files",
            content=b'{"a": 1}\n',
            headers={"content-type": "application/octet-stream", "content-disposition": header},
        )
    assert r.status_code == 202, r.text
    assert r.json()["filename"] == name
    assert r.json()["file"].endswith(".ndjson")  # the format told by the name read
