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


def test_ndjson_records_written_while_checked(client: TestClient, api_settings: Settings) -> None:
    """An NDJSON body is written (and fsynced) under a temporary name while it is checked: a
    refused one leaves nothing; an accepted one lands exactly what the check kept."""
    folder = api_settings.raw_dir / "fresh"
    nd = {"content-type": "application/x-ndjson"}
    for body in (b'{"a": 1}\n{"a": 1, "a": 2}\n', b'{"a": 1}\n{"a": \n', b'{"a": NaN}\n'):
        r = client.post("/v1/tables/fresh/records", content=body, headers=nd)
        assert 400 <= r.status_code < 500, (body, r.text)
        assert not folder.exists(), body
    for body, landed in (
        (b'{"a": 1}\n{"b": "x"}\n', b'{"a": 1}\n{"b": "x"}\n'),  # the body itself
        (b'{"a": 1}\n\n  \n{"b": "x"}\n', b'{"a": 1}\n{"b": "x"}\n'),  # blank lines dropped
        (b'{"a": 1}\n{"b": "x"}', b'{"a": 1}\n{"b": "x"}\n'),  # the last newline added
    ):
        r = client.post("/v1/tables/fresh/records", content=body, headers=nd)
        assert r.status_code == 202, r.text
        path = folder / r.json()["file"]
        assert path.read_bytes() == landed
        assert r.json()["bytes"] == len(landed)
        assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
