"""A landing zone on a real S3 server: the API lands objects in the bucket, the loader takes
them by listing with a persisted cursor, exactly once (a lost cursor, a producer's own object,
the same object listed again)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from deltalake import DeltaTable
from fastapi.testclient import TestClient

from ingest.app import create_app
from lakehouse.layout import table_path
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings
from loader.loading import Loader

pytestmark = pytest.mark.s3


def _ids(settings: Settings, table: str) -> list[int]:
    data = DeltaTable(str(table_path(settings, "bronze", table))).to_pyarrow_table()
    return sorted(data.column("id").to_pylist())


def test_the_api_lands_in_a_bucket_and_the_loader_takes_it_once(
    s3_bucket: str, tmp_path: Path
) -> None:
    settings = Settings(
        root=tmp_path,
        landing_url=f"s3://{s3_bucket}/landing",
        batch_window_ms=0,
        api_ready_requires_loader=False,
    )
    s3 = boto3.client("s3")
    with TestClient(create_app(settings)) as api:
        for first in (0, 10):
            body = [{"id": i, "name": f"n{i}"} for i in range(first, first + 10)]
            assert api.post("/v1/tables/orders/records", json=body).status_code == 202
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert len(keys) == 2 and all(k.startswith("landing/raw/orders/bat_") for k in keys)
    assert not any((settings.raw_dir / "orders").glob("bat_*"))  # nothing landed locally

    # another producer puts its own object in the bucket
    csv = "id,name\n" + "".join(f"{i},p{i}\n" for i in range(100, 105))
    s3.put_object(Bucket=s3_bucket, Key="landing/raw/orders/partner.csv", Body=csv.encode())

    loader = Loader(settings)
    summary = loader.load_pending()
    assert summary.rows == 25
    assert _ids(settings, "orders") == [*range(20), *range(100, 105)]
    batch = Ledger.of(settings).get_batch(keys[0].rsplit("/", 1)[-1].split(".")[0])
    assert batch is not None and batch.state == "loaded"

    # the cursor: nothing new, nothing taken again
    assert loader.inbox is not None and loader.inbox.poll() == 0
    assert Loader(settings).load_pending().rows == 0

    # a lost cursor takes every object again: the watermarks load none of them twice
    Ledger.of(settings).set_cursor(loader.inbox.cursor_name, "")
    again = Loader(settings).load_pending()
    assert again.rows == 0 and len(again.skipped) == 3
    assert _ids(settings, "orders") == [*range(20), *range(100, 105)]

    # an object put later is taken on the next pass
    s3.put_object(Bucket=s3_bucket, Key="landing/raw/orders/late.csv", Body=b"id,name\n7000,x\n")
    assert Loader(settings).load_pending().rows == 1
    assert _ids(settings, "orders")[-1] == 7000


def test_objects_in_sub_folders_are_taken_as_files_in_sub_folders(
    s3_bucket: str, tmp_path: Path
) -> None:
    """``raw/<table>/dt=1/part-0.csv`` in the bucket loads as the same file in the local
    landing zone does (docs/loading.md, "Sub-folders"); a writer's work folder is left alone.
    *Before:* such objects were left in the bucket with a warning, never loaded."""
    settings = Settings(root=tmp_path, landing_url=f"s3://{s3_bucket}/landing", batch_window_ms=0)
    s3 = boto3.client("s3")
    for key, body in {
        "dt=1/part-0.csv": b"id\n1\n",
        "dt=2/part-0.csv": b"id\n2\n",
        "_temporary/0/part-0.csv": b"id\n3\n",
    }.items():
        s3.put_object(Bucket=s3_bucket, Key=f"landing/raw/orders/{key}", Body=body)

    summary = Loader(settings).load_pending()

    assert sorted(f.file for f in summary.loaded) == ["dt=1/part-0.csv", "dt=2/part-0.csv"]
    assert _ids(settings, "orders") == [1, 2]
    assert not (settings.raw_dir / "orders" / "_temporary").exists()


def test_an_unreachable_landing_bucket_does_not_stop_the_local_files(
    s3_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A landing bucket that cannot be listed (here: it does not exist) is a problem of the
    pass, named in its summary and by ``lakehouse load`` (exit 1); the files already in the
    local landing zone load all the same. *Before:* the listing's error ended the pass before
    any local file was read."""
    from app.service import run_load

    settings = Settings(
        root=tmp_path, landing_url=f"s3://{s3_bucket}-gone/landing", batch_window_ms=0
    )
    folder = settings.raw_dir / "orders"
    folder.mkdir(parents=True)
    (folder / "local.csv").write_text("id,name\n1,a\n2,b\n")
    summary = Loader(settings).load_pending()
    assert summary.rows == 2 and _ids(settings, "orders") == [1, 2]
    assert len(summary.problems) == 1
    assert summary.problems[0].startswith(
        f"the landing bucket s3://{s3_bucket}-gone/landing/raw could not be listed"
    )
    (folder / "later.csv").write_text("id,name\n3,c\n")
    assert run_load(settings, build=False) == 1
    out = capsys.readouterr().out
    assert "loaded 1 file(s), 1 rows" in out
    assert f"error: the landing bucket s3://{s3_bucket}-gone/landing/raw could not be listed" in out
    assert _ids(settings, "orders") == [1, 2, 3]
