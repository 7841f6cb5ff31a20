"""What the API shows a client: Delta type names, a 404 naming the versions that exist, and no
absolute server paths in ``/ready`` or in a batch's error."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from api_support import order
from deltalake import DeltaTable, write_deltalake
from fastapi.testclient import TestClient

from lakehouse.ledger import Ledger
from lakehouse.settings import Settings


def test_columns_have_delta_type_names(client: TestClient, api_settings: Settings) -> None:
    data = pa.table(
        {
            "id": pa.array([1], pa.int64()),
            "amount": pa.array([Decimal("1.50")], pa.decimal128(10, 2)),
            "tags": pa.array([["a"]], pa.list_(pa.string())),
            "attrs": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int32())),
            "who": pa.array(
                [{"name": "x", "age": 3}], pa.struct([("name", pa.string()), ("age", pa.int16())])
            ),
            "at": pa.array([0], pa.timestamp("us", tz="UTC")),
        }
    )
    write_deltalake(str(api_settings.dados / "gold" / "kinds"), data)
    columns = client.get("/v1/tables/gold/kinds").json()["columns"]
    assert {c["name"]: c["type"] for c in columns} == {
        "id": "long",
        "amount": "decimal(10,2)",
        "tags": "array<string>",
        "attrs": "map<string,integer>",
        "who": "struct<name:string,age:short>",
        "at": "timestamp",
    }
    rows = client.get("/v1/tables/gold/kinds/rows").json()["columns"]
    assert rows == columns


def test_a_missing_version_is_a_404_naming_the_versions(
    client: TestClient, api_settings: Settings
) -> None:
    path = api_settings.dados / "silver" / "stg"
    write_deltalake(str(path), pa.table({"id": [1]}))
    write_deltalake(str(path), pa.table({"id": [2]}), mode="overwrite")
    r = client.get("/v1/tables/silver/stg/rows", params={"version": 7})
    assert r.status_code == 404
    assert r.json()["detail"] == "silver.stg has no version 7: versions 0 to 1 exist"
    # a version whose files vacuum removed: a 404 that says so, not a 500
    DeltaTable(str(path)).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    gone = client.get("/v1/tables/silver/stg/rows", params={"version": 0})
    assert gone.status_code == 404 and "removed by vacuum" in gone.json()["detail"]
    assert client.get("/v1/tables/silver/stg/rows", params={"version": 1}).status_code == 200


def test_ready_and_batch_errors_show_no_server_paths(
    client: TestClient, api_settings: Settings
) -> None:
    ready = client.get("/ready").text
    assert str(api_settings.root) not in ready
    assert "landing zone is writable" in ready
    r = client.post("/v1/tables/orders/records", json=[order(1)])
    batch_id = r.json()["batch_id"]
    landing = api_settings.raw_dir / "orders" / f"{batch_id}.ndjson"
    quarantined = api_settings.quarantine_dir / "orders" / f"{batch_id}.ndjson"
    Ledger(api_settings.ledger_file).mark_quarantined(
        batch_id,
        "orders",
        str(landing),
        {"reason": f"[Errno 13] Permission denied: '{landing}'", "moved_to": str(quarantined)},
    )
    body = client.get(f"/v1/batches/{batch_id}").json()
    text = json.dumps(body)
    assert str(api_settings.root) not in text and str(Path(api_settings.root).parent) not in text
    assert body["error"]["moved_to"] == f"landing_zone/data/quarantine/orders/{batch_id}.ndjson"
    assert f"'landing_zone/data/raw/orders/{batch_id}.ndjson'" in body["error"]["reason"]
