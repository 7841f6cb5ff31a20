"""dbt on DuckDB over bronze tables in a real S3 server, publishing silver and gold there.

The bronze pin plugin reads the remote tables through delta-rs (Arrow datasets), the publisher
writes, merges and appends through delta-rs: no DuckDB extension is involved.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from deltalake import DeltaTable
from storage_support import REPO, write_project

from lakehouse import Settings
from lakehouse.catalog import read_rows
from lakehouse.layout import list_tables, raw_dir
from loader import Loader
from transform import DbtSession

pytestmark = pytest.mark.s3

MODELS = {
    "models/staging/stg_orders.sql": """
        select cast(id as bigint) as order_id, customer, cast(cents as bigint) as cents
        from {{ source('bronze', 'orders') }}
    """,
    "models/marts/revenue.sql": """
        select customer, sum(cents)::bigint as cents, count(*) as orders
        from {{ ref('stg_orders') }} group by customer
    """,
    "models/marts/order_book.sql": """
        {{ config(materialized='incremental', unique_key='order_id') }}
        select order_id, max(cents) as cents from {{ ref('stg_orders') }} group by order_id
    """,
}


def _drop(settings: Settings, name: str, rows: list[tuple[int, str, int]]) -> None:
    folder = raw_dir(settings, "orders")
    folder.mkdir(parents=True, exist_ok=True)
    text = "id,customer,cents\n" + "".join(f"{i},{c},{v}\n" for i, c, v in rows)
    (folder / name).write_text(text)


def _gold(settings: Settings, name: str) -> list[dict[str, object]]:
    uri = str(settings.dados / "gold" / name)
    rows = DeltaTable(uri, storage_options=settings.storage_options).to_pyarrow_table()
    return sorted(rows.to_pylist(), key=lambda r: tuple(str(v) for v in r.values()))


def test_build_reads_and_publishes_on_s3(s3_bucket: str, tmp_path: Path) -> None:
    project = write_project(tmp_path / "project", MODELS)
    settings = Settings(
        root=tmp_path,
        dados=f"s3://{s3_bucket}/lake",
        dbt_project_dir=project,
        profiles_dir=REPO,
        dbt_target="dev",  # the DuckDB file: local, in the state folder
        batch_window_ms=0,
    )
    _drop(settings, "a.csv", [(1, "ann", 100), (2, "bob", 250), (3, "ann", 5)])
    Loader(settings).load_pending()
    session = DbtSession(settings)

    first = session.build()
    assert first.success, first.failures
    assert first.read_versions == {"orders": 0}
    assert set(first.published) == {"silver/stg_orders", "gold/revenue", "gold/order_book"}
    assert _gold(settings, "revenue") == [
        {"customer": "ann", "cents": 105, "orders": 2},
        {"customer": "bob", "cents": 250, "orders": 1},
    ]
    assert settings.warehouse_path.is_file()  # dbt's working copy stays local
    assert list_tables(settings, "gold") == ["order_book", "revenue"]
    keys = boto3.client("s3").list_objects_v2(Bucket=s3_bucket, Prefix="lake/gold/")["Contents"]
    assert any(k["Key"].startswith("lake/gold/revenue/_delta_log/") for k in keys)

    # an update and a new order: the incremental model publishes by merge into the S3 table
    _drop(settings, "b.csv", [(2, "bob", 300), (4, "cy", 7)])
    Loader(settings).load_pending()
    second = session.build()
    assert second.success, second.failures
    assert second.read_versions == {"orders": 1}
    assert _gold(settings, "order_book") == [
        {"order_id": 1, "cents": 100},
        {"order_id": 2, "cents": 300},
        {"order_id": 3, "cents": 5},
        {"order_id": 4, "cents": 7},
    ]
    book = read_rows(settings, "gold", "order_book", version=0)
    assert sorted(r["order_id"] for r in book["rows"]) == [1, 2, 3]  # time travel on S3
