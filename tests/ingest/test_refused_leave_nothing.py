"""A refused request leaves nothing in the landing zone: no temporary file, no empty
``raw/<table>/`` folder made for it; a folder that holds other files stays."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lakehouse import Settings

GOOD = b"id,name\n1,a\n"


def test_refused_files_leave_no_folder_behind(client: TestClient, api_settings: Settings) -> None:
    for body, media in (
        (b"", "text/csv"),  # empty
        (b"id,name\n1,a,extra\n", "text/csv"),  # a record with another field count
        (b'{"id": 1', "application/x-ndjson"),  # not JSON
    ):
        r = client.post("/v1/tables/fresh/files", content=body, headers={"content-type": media})
        assert 400 <= r.status_code < 500, (body, r.text)
        assert not (api_settings.raw_dir / "fresh").exists(), body
    r = client.post(
        "/v1/tables/fresh/records", content=b"[{", headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500
    assert not (api_settings.raw_dir / "fresh").exists()


def test_a_folder_with_other_files_stays(client: TestClient, api_settings: Settings) -> None:
    ok = client.post("/v1/tables/fresh/files", content=GOOD, headers={"content-type": "text/csv"})
    assert ok.status_code == 202, ok.text
    bad = client.post("/v1/tables/fresh/files", content=b"", headers={"content-type": "text/csv"})
    assert bad.status_code == 422
    folder = api_settings.raw_dir / "fresh"
    assert [p.name for p in folder.iterdir()] == [f"{ok.json()['batch_id']}.csv"]
