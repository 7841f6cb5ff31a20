"""Batch status (waiting too), catalog and previews, health, readiness, metrics, back-pressure."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
from api_support import make_settings, order
from deltalake import write_deltalake
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest import create_app
from lakehouse import Settings
from lakehouse.heartbeat import write_heartbeat
from lakehouse.ledger import Batch, Ledger


def test_batch_status_and_404(client: TestClient) -> None:
    r = client.post("/v1/tables/orders/records", json=[order(1)])
    status = client.get(r.json()["status_url"])
    assert status.status_code == 200
    body = status.json()
    assert body["state"] == "accepted" and body["table"] == "orders" and body["records"] == 1
    assert client.get("/v1/batches/bat_" + "0" * 32).status_code == 404
    assert client.get("/v1/batches/../../etc").status_code in (404, 422)
    assert client.get("/v1/batches/not-a-batch").status_code == 422
    assert client.get(r.json()["status_url"], params={"wait": -1}).status_code == 422


class WatchedLedger(Ledger):
    """The real run ledger, which also tells when the API has read a batch from it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.states_read: list[str] = []
        self.read = threading.Event()

    def get_batch(self, batch_id: str) -> Batch | None:
        batch = super().get_batch(batch_id)
        if batch is not None:
            self.states_read.append(batch.state)
            self.read.set()
        return batch


def test_wait_returns_when_the_loader_moves_the_batch(
    app: FastAPI, client: TestClient, api_settings: Settings
) -> None:
    r = client.post("/v1/tables/orders/records", json=[order(1)])
    batch_id = r.json()["batch_id"]
    watched = WatchedLedger(api_settings.ledger_file)
    app.state.context.ledger = watched

    def loader() -> None:  # another writer of the same ledger file, like the loader process
        watched.read.wait(30)  # the API has read the batch: its wait has begun
        Ledger(api_settings.ledger_file).mark_loaded(
            "orders", 4, {batch_id: (f"{batch_id}.ndjson", 1)}
        )

    thread = threading.Thread(target=loader)
    started = time.monotonic()
    thread.start()
    status = client.get(r.json()["status_url"], params={"wait": 10}).json()
    elapsed = time.monotonic() - started
    thread.join()
    assert watched.states_read[0] == "accepted"  # the change came while the request waited
    assert status["state"] == "loaded" and status["bronze_version"] == 4
    assert elapsed < 5  # returned on the change, not at the deadline


def test_wait_is_bounded_by_the_server(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, api_max_wait_s=0.2))) as c:
        r = c.post("/v1/tables/orders/records", json=[order(1)])
        started = time.monotonic()
        status = c.get(r.json()["status_url"], params={"wait": 600})
        assert status.json()["state"] == "accepted"
        assert time.monotonic() - started < 5


def _delta(settings: Settings, layer: str, name: str) -> Path:
    path = settings.dados / layer / name
    write_deltalake(str(path), pa.table({"id": [1, 2], "name": ["a", "b"]}))
    write_deltalake(str(path), pa.table({"id": [3], "name": ["c"]}), mode="append")
    return path


def test_catalog_and_time_travel(client: TestClient, api_settings: Settings) -> None:
    _delta(api_settings, "bronze", "orders")
    _delta(api_settings, "gold", "revenue")
    tables = client.get("/v1/tables").json()
    assert {(t["layer"], t["name"], t["version"], t["rows"]) for t in tables["tables"]} == {
        ("bronze", "orders", 1, 3),
        ("gold", "revenue", 1, 3),
    }
    assert {d["table"] for d in tables["declared"]} == {"orders", "customers"}
    detail = client.get("/v1/tables/bronze/orders").json()
    assert [c["name"] for c in detail["columns"]] == ["id", "name"]
    assert len(detail["history"]) == 2
    assert detail["contract"]["primary_key"] == ["order_id"]
    rows = client.get("/v1/tables/gold/revenue/rows", params={"limit": 10}).json()
    assert rows["version"] == 1 and sorted(r["id"] for r in rows["rows"]) == [1, 2, 3]
    old = client.get("/v1/tables/gold/revenue/rows", params={"version": 0}).json()
    assert old["version"] == 0 and sorted(r["id"] for r in old["rows"]) == [1, 2]
    limited = client.get("/v1/tables/gold/revenue/rows", params={"limit": 1}).json()
    assert len(limited["rows"]) == 1


def test_catalog_errors(client: TestClient, api_settings: Settings) -> None:
    _delta(api_settings, "silver", "stg_orders")
    assert client.get("/v1/tables/silver/nope").status_code == 404
    assert client.get("/v1/tables/silver/nope/rows").status_code == 404
    assert (
        client.get("/v1/tables/silver/stg_orders/rows", params={"version": 99}).status_code == 404
    )
    assert client.get("/v1/tables/platinum/stg_orders").status_code == 422
    assert client.get("/v1/tables/silver/..%2F..%2Fetc").status_code in (404, 422)
    assert client.get("/v1/tables/silver/stg_orders/rows", params={"limit": 0}).status_code == 422


def test_catalog_respects_token_tables(
    client: TestClient, api_settings: Settings, tokens: dict[str, str]
) -> None:
    _delta(api_settings, "bronze", "orders")
    _delta(api_settings, "bronze", "customers")
    auth = {"authorization": tokens["orders"]}
    assert [t["name"] for t in client.get("/v1/tables", headers=auth).json()["tables"]] == [
        "orders"
    ]
    assert client.get("/v1/tables/bronze/customers", headers=auth).status_code == 403
    assert client.get("/v1/tables/bronze/customers/rows", headers=auth).status_code == 403
    assert client.get("/v1/tables/bronze/orders/rows", headers=auth).status_code == 200


def test_health_needs_no_token(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_ready_follows_the_loader_heartbeat(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_ready_requires_loader=True, api_loader_stale_s=5)
    with TestClient(create_app(settings)) as c:
        r = c.get("/ready")
        assert r.status_code == 503
        assert r.json()["checks"]["loader"]["alive"] is False
        write_heartbeat(settings, pending_files=2, pending_bytes=10)
        r = c.get("/ready")
        assert r.status_code == 200
        assert r.json()["checks"]["loader"]["pending_files"] == 2


def test_back_pressure(tmp_path: Path) -> None:
    full = make_settings(tmp_path / "full", api_min_free_bytes=2**62)
    with TestClient(create_app(full)) as c:
        r = c.post("/v1/tables/orders/records", json=[order(1)])
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
        assert "disk" in r.json()["detail"]
        assert c.get("/ready").status_code == 503
    behind = make_settings(tmp_path / "behind", api_max_pending_files=10)
    with TestClient(create_app(behind)) as c:
        write_heartbeat(behind, pending_files=11, pending_bytes=0)
        r = c.post(
            "/v1/tables/orders/files", content=b"a\n1\n", headers={"content-type": "text/csv"}
        )
        assert r.status_code == 503 and "behind" in r.json()["detail"]
        write_heartbeat(behind, pending_files=3, pending_bytes=0)
        assert c.post("/v1/tables/orders/records", json=[order(1)]).status_code == 202


def test_metrics_count_requests_records_and_rejects(client: TestClient) -> None:
    client.post("/v1/tables/orders/records", json=[order(1), order(2)])
    client.post("/v1/tables/orders/records", json=[order(3, customer_id="x")])
    text = client.get("/metrics").text
    route = 'route="/v1/tables/{table}/records"'
    assert f'lakehouse_api_requests_total{{method="POST",{route},status="202"}} 1.0' in text
    assert "lakehouse_api_records_total 2.0" in text
    assert 'lakehouse_api_rejects_total{reason="invalid"} 1.0' in text
    assert "lakehouse_api_request_seconds_bucket" in text


def test_openapi_documents_the_contract(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "/v1/tables/{table}/records" in paths and "/v1/tables/{table}/files" in paths
    assert "/v1/batches/{batch_id}" in paths and "/v1/tables/{layer}/{name}/rows" in paths
    post = paths["/v1/tables/{table}/records"]["post"]
    assert {"application/json", "application/x-ndjson"} <= set(post["requestBody"]["content"])
    assert client.get("/docs").status_code == 200


def test_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "cdn" not in page.lower()
    script = page.split('<script src="', 1)[1].split('"', 1)[0]
    assert script.startswith("/") and client.get(script).status_code == 200
    assert client.get("/redoc").status_code == 200
