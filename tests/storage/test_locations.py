"""Where the tables live: a folder or a supported URL, and nothing else (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from lakehouse import Settings
from lakehouse.storage import ObjectUrl, StorageError, delta_options, parse_location


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("s3:/lake/dados", "two slashes"),  # what a path library makes of s3://lake/dados
        ("gs://lake/dados", "neither a local folder nor a supported URL"),
        ("https://lake.example/dados", "neither a local folder nor a supported URL"),
        ("s3://Lake/dados", "not a bucket name"),
        ("s3://lake/a/../b", "'..'"),
        ("s3://lake/dados?x=1", "no query"),
        ("file://host/dados", "file:///absolute/folder"),
    ],
)
def test_a_location_that_is_neither_a_folder_nor_a_supported_url_is_refused(
    tmp_path: Path, text: str, why: str
) -> None:
    with pytest.raises(ValidationError, match=why.replace("?", r"\?")):
        Settings(root=tmp_path, dados=text)
    # the mangled URL is refused as a Path too, never written as the folder ./s3:/lake/dados
    with pytest.raises(StorageError):
        parse_location(Path("s3://lake/dados"), tmp_path)
    assert not (tmp_path / "s3:").exists()


def test_an_s3_url_keeps_private_state_local_and_commits_safely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_DADOS", "s3://lake/prod/dados/")
    settings = Settings(root=tmp_path)
    assert settings.dados == ObjectUrl("s3", "lake", "prod/dados")
    assert str(settings.dados / "bronze" / "orders") == "s3://lake/prod/dados/bronze/orders"
    assert settings.meta_dir == tmp_path / "lakehouse_state"
    assert settings.ledger_file == tmp_path / "lakehouse_state" / "ledger.sqlite"
    assert settings.warehouse_path == tmp_path / "lakehouse_state" / "warehouse.duckdb"
    assert settings.storage_options == {"aws_conditional_put": "etag"}
    with pytest.raises(StorageError, match="local dados folder"):
        _ = settings.local_dados

    moved = Settings(root=tmp_path, state_dir="state")
    assert moved.meta_dir == tmp_path / "state"
    assert moved.warehouse_path == tmp_path / "state" / "warehouse.duckdb"


def test_a_local_folder_is_unchanged(tmp_path: Path) -> None:
    settings = Settings(root=tmp_path, dados="data")
    assert settings.dados == tmp_path / "data"
    assert settings.meta_dir == tmp_path / "data" / "_lakehouse"
    assert settings.warehouse_path == tmp_path / "data" / "warehouse.duckdb"
    assert settings.storage_options == {}
    assert Settings(root=tmp_path, dados=f"file://{tmp_path}/x").dados == tmp_path / "x"


def test_the_commit_safety_options() -> None:
    url = ObjectUrl("s3", "lake", "dados")
    # the user's own choice wins: a locking provider, or conditional put spelt otherwise
    dynamo = {"AWS_S3_LOCKING_PROVIDER": "dynamodb"}
    assert delta_options(url, dynamo) == dynamo
    assert delta_options(url, {"conditional_put": "etag"}) == {"conditional_put": "etag"}
    unsafe = {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}
    assert delta_options(url, unsafe) == unsafe  # development: as asked
    with pytest.raises(StorageError, match="refused in production"):
        delta_options(url, unsafe, production=True)
    assert delta_options(Path("/x"), {}) == {}
