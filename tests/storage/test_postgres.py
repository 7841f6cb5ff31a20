"""The shared stores on a real PostgreSQL server (started on loopback by the fixture): the run
ledger, API tokens and idempotency keys, shared by two API replicas as they would be behind a
proxy."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.app import create_app
from ingest.idempotency import IdempotencyStore, KeyConflictError
from ingest.tokens import TokenStore, create_token
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings

pytestmark = pytest.mark.postgres


def _settings(tmp_path: Path, url: str, name: str = "a") -> Settings:
    return Settings(root=tmp_path / name, database_url=url, api_ready_requires_loader=False)


def test_the_ledger_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    ledger = Ledger.of(_settings(tmp_path, postgres_url))
    assert ledger.db.dialect == "postgresql"
    ledger.accept("bat_a", "orders", source_file="bat_a.ndjson", records=3, bytes=10)
    ledger.accept("bat_a", "orders")  # known: a no-op
    ledger.accept("bat_q", "orders")
    ledger.mark_quarantined("bat_q", "orders", "q.csv", {"kind": "empty"})
    ledger.mark_loaded("orders", 4, {"bat_a": ("bat_a.ndjson", 3)}, rescued={"bat_a": 2})
    first = ledger.start_build("source:bronze.orders+")
    assert ledger.mark_published(first, {"orders": 3}) == 0  # read an older version
    assert ledger.mark_published(first, {"orders": 4}) == 1
    ledger.finish_build(first, "succeeded", read_versions={"orders": 4}, published={"gold/x": 2})
    second = ledger.start_build(None)
    assert second == first + 1

    # another process (another machine) sees the same truth
    other = Ledger(postgres_url)
    batch = other.get_batch("bat_a")
    assert batch is not None
    assert (batch.state, batch.records, batch.bronze_version, batch.build_id) == (
        "published",
        3,
        4,
        first,
    )
    assert other.count_by_state() == {"published": 1, "quarantined": 1}
    assert other.counts_by_table() == {"orders": (1, 1, 2)}  # the metrics' per-table counts
    build = other.get_build(first)
    assert build is not None and build.published == {"gold/x": 2}
    assert [b.build_id for b in other.builds()] == [second, first]
    assert [b.batch_id for b in other.batches(states=["quarantined"])] == ["bat_q"]


def test_one_new_key_claimed_by_two_requests_at_once(postgres_url: str) -> None:
    stores = [IdempotencyStore(postgres_url, ttl_s=60) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(store: IdempotencyStore) -> None:
        barrier.wait()
        try:
            outcomes.append("claimed" if store.begin("k1", "h") is None else "replayed")
        except KeyConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["claimed", "conflict"]  # one claims, the other is told so
    stores[0].finish("k1", 202, {"batch_id": "bat_1"})
    replay = stores[1].begin("k1", "h")
    assert replay is not None and (replay.status, replay.body) == (202, {"batch_id": "bat_1"})
    with pytest.raises(KeyConflictError, match="another body"):
        stores[1].begin("k1", "other")


def test_two_api_replicas_share_tokens_keys_and_batches(tmp_path: Path, postgres_url: str) -> None:
    one, two = _settings(tmp_path, postgres_url, "one"), _settings(tmp_path, postgres_url, "two")
    token = create_token(one, scopes=["write", "read"], tables=[], name="shared")
    assert not one.tokens_file.exists()  # in the database, not in a file
    assert [t.name for t in TokenStore.of(two).tokens()] == ["shared"]
    auth = {"Authorization": f"Bearer {token}", "Idempotency-Key": "order-7"}
    body = [{"id": 7, "name": "seven"}]
    with TestClient(create_app(one)) as a, TestClient(create_app(two)) as b:
        first = a.post("/v1/tables/orders/records", json=body, headers=auth)
        assert first.status_code == 202, first.text
        again = b.post("/v1/tables/orders/records", json=body, headers=auth)  # the other replica
        assert again.status_code == 202 and again.json() == first.json()
        batch_id = first.json()["batch_id"]
        status = b.get(f"/v1/batches/{batch_id}", headers={"Authorization": auth["Authorization"]})
        assert status.status_code == 200 and status.json()["state"] == "accepted"
        refused = b.get("/v1/tables", headers={"Authorization": "Bearer lh_x_wrong"})
        assert refused.status_code == 401
    # one record landed, in the replica that accepted it; the other landed nothing
    assert len(list((one.raw_dir / "orders").iterdir())) == 1
    assert not (two.raw_dir / "orders").exists()


def test_table_leases_on_postgres(postgres_url: str) -> None:
    one, two = Ledger(postgres_url), Ledger(postgres_url)
    assert one.take_lease("orders", "worker-a", 10, now=100.0)
    assert not two.take_lease("orders", "worker-b", 10, now=105.0)  # held by a
    assert one.take_lease("orders", "worker-a", 10, now=108.0)  # a renews until 118
    assert not two.take_lease("orders", "worker-b", 10, now=117.0)
    assert two.lease_owner("orders", now=117.0) == "worker-a"
    assert two.take_lease("orders", "worker-b", 10, now=118.5)  # a died: expired, b takes over
    assert one.lease_owner("orders", now=119.0) == "worker-b"
    one.release_lease("orders", "worker-a")  # not a's any more: no effect
    assert one.lease_owner("orders", now=119.0) == "worker-b"
    two.release_lease("orders", "worker-b")
    assert one.lease_owner("orders", now=119.0) is None


def test_a_persisted_cursor_on_postgres(postgres_url: str) -> None:
    one, two = Ledger(postgres_url), Ledger(postgres_url)
    assert one.get_cursor("inbox:s3://b/raw") is None
    one.set_cursor("inbox:s3://b/raw", '{"newest": "2026-01-01T00:00:00+00:00", "seen": []}')
    two.set_cursor("inbox:s3://b/raw", '{"newest": "2026-01-02T00:00:00+00:00", "seen": ["k"]}')
    assert '"seen": ["k"]' in (one.get_cursor("inbox:s3://b/raw") or "")


def test_tokens_listed_and_revoked_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    from ingest.tokens import TokenError, list_tokens, revoke_token

    settings = _settings(tmp_path, postgres_url, "revoke")
    keep = create_token(settings, scopes=["read"], tables=[], name="keep")
    gone = create_token(settings, scopes=["read"], tables=[], name="gone")
    names = {t["name"] for t in list_tokens(settings)}
    assert {"keep", "gone"} <= names
    assert all("hash" not in t for t in list_tokens(settings))
    revoked = revoke_token(settings, gone.split("_")[1])
    assert revoked.name == "gone"
    store = TokenStore.of(settings)
    assert store.find(gone) is None and store.find(keep) is not None
    with pytest.raises(TokenError, match="no token with id"):
        revoke_token(settings, gone.split("_")[1])
