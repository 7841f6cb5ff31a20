"""Delta tables on a real S3 server (moto on loopback): load, catalog, time travel, upkeep,
backup and restore, all with ``LAKEHOUSE_DADOS=s3://bucket/dados`` and nothing on local disk."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from deltalake import DeltaTable

from lakehouse import AutoUpkeep, Settings, maintain_all
from lakehouse.backup import backup, restore
from lakehouse.catalog import list_table_infos, read_rows, table_info
from lakehouse.layout import list_tables, raw_dir, table_exists
from loader import Loader
from loader.bronze import COMPLETE, app_id

pytestmark = pytest.mark.s3


def _keys(bucket: str, prefix: str) -> list[str]:
    pages = (
        boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    )
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _drop(settings: Settings, table: str, name: str, first: int, rows: int) -> None:
    folder = raw_dir(settings, table)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id,name"] + [f"{i},name {i}" for i in range(first, first + rows)]
    (folder / f".{name}.part").write_text("\n".join(lines) + "\n")
    (folder / f".{name}.part").rename(folder / name)


def _ids(settings: Settings, table: str, version: int | None = None) -> list[int]:
    uri = str(settings.dados / "bronze" / table)
    data = DeltaTable(uri, version=version, storage_options=settings.storage_options)
    return sorted(data.to_pyarrow_table().column("id").to_pylist())


def test_load_catalog_time_travel_and_upkeep_on_s3(s3_settings: Settings, s3_bucket: str) -> None:
    settings = s3_settings
    for i in range(3):
        _drop(settings, "widgets", f"o{i}.csv", i * 10, 10)
        summary = Loader(settings).load_pending()
        assert [f.rows for f in summary.loaded] == [10]
    # in the bucket, not in a local folder named after the URL
    keys = _keys(s3_bucket, "dados/bronze/widgets/")
    assert "dados/bronze/widgets/_delta_log/00000000000000000002.json" in keys
    assert not any(p.name.startswith("s3") for p in settings.root.iterdir())
    assert not (settings.root / "dados").exists()
    assert list_tables(settings, "bronze") == ["widgets"] and table_exists(
        settings, "bronze", "widgets"
    )

    info = table_info(settings, "bronze", "widgets")
    assert (info.version, info.rows, info.files) == (2, 30, 3)
    assert info.location.startswith(f"s3://{s3_bucket}/dados/bronze/widgets")
    assert [i.name for i in list_table_infos(settings)] == ["widgets"]
    preview = read_rows(settings, "bronze", "widgets", limit=100, version=0)
    assert preview["version"] == 0 and sorted(r["id"] for r in preview["rows"]) == list(range(10))
    assert _ids(settings, "widgets", version=1) == list(range(20))

    # the same content again is recognised from the watermark in the S3 log
    _drop(settings, "widgets", "again.csv", 10, 10)
    assert [s.file for s in Loader(settings).load_pending().skipped] == ["again.csv"]

    done, failed = maintain_all(settings)
    assert failed == [] and [(u.name, u.files_removed) for u in done] == [("widgets", 3)]
    table = DeltaTable(
        str(settings.dados / "bronze/widgets"), storage_options=settings.storage_options
    )
    assert len(table.file_uris()) == 1 and _ids(settings, "widgets") == list(range(30))
    assert any(k.endswith(".checkpoint.parquet") for k in _keys(s3_bucket, "dados/bronze/widgets/"))
    batch = summary.loaded[0].batch_id
    assert table.transaction_version(app_id(batch)) == COMPLETE


def test_backup_from_s3_and_restore_into_another_prefix(
    s3_settings: Settings, s3_bucket: str, tmp_path: Path
) -> None:
    settings = s3_settings
    _drop(settings, "widgets", "o.csv", 0, 25)
    Loader(settings).load_pending()
    manifest = backup(settings, tmp_path / "backup")
    assert [(t.layer, t.name, t.version) for t in manifest.tables] == [("bronze", "widgets", 0)]
    assert (tmp_path / "backup" / "bronze" / "widgets" / "_delta_log").is_dir()

    elsewhere = Settings(
        root=tmp_path / "other", dados=f"s3://{s3_bucket}/restored", batch_window_ms=0
    )
    restore(elsewhere, tmp_path / "backup")
    assert _ids(elsewhere, "widgets") == list(range(25))
    assert elsewhere.ledger_file.exists()  # local state restored locally
    # the watermarks came along: the restored lakehouse does not load the file twice
    _drop(elsewhere, "widgets", "o.csv", 0, 25)
    assert len(Loader(elsewhere).load_pending().skipped) == 1
    assert _ids(elsewhere, "widgets") == list(range(25))


def test_the_loaders_automatic_upkeep_on_s3(s3_settings: Settings, s3_bucket: str) -> None:
    settings = s3_settings.model_copy(
        update={"upkeep_small_files": 2, "upkeep_checkpoint_commits": 2, "txn_retention_days": 0}
    )
    for i in range(3):
        _drop(settings, "widgets", f"o{i}.csv", i * 10, 10)
        Loader(settings).load_pending()
    done = AutoUpkeep(settings).run_due()
    assert [(d.name, "compact" in d.actions, "checkpoint" in d.actions) for d in done] == [
        ("widgets", True, True)
    ]
    assert any(k.endswith("_last_checkpoint") for k in _keys(s3_bucket, "dados/bronze/widgets/"))
    assert _ids(settings, "widgets") == list(range(30))
