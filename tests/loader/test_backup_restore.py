"""``lakehouse backup`` / ``lakehouse restore``: real tables, ledger and tokens, restored into an
empty root, give the same query results; the exactly-once watermarks survive the trip."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from loader_support import drop
from pydantic import SecretStr
from waiting import wait_for

from ingest import TokenStore, create_token
from lakehouse import Ledger, Settings, table_path
from lakehouse.backup import (
    MANIFEST,
    BackupError,
    Manifest,
    backup,
    backup_every,
    parse_interval,
    restore,
)
from lakehouse.maintenance import maintain_table
from loader import Loader

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
REPO = Path(__file__).resolve().parents[2]


def _lakehouse(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``lakehouse ARGS`` in the lakehouse at ``root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {"LAKEHOUSE_ROOT": str(root), "LAKEHOUSE_LOG_FORMAT": "text"}
    return subprocess.run([LAKEHOUSE, *args], env=env, capture_output=True, text=True, timeout=120)


def _query(path: Path, version: int | None = None) -> list[tuple[object, ...]]:
    """Every row, as DuckDB reads the table's Arrow data, in a stable order."""
    table = DeltaTable(str(path), version=version).to_pyarrow_table()
    con = duckdb.connect()
    con.register("t", table)
    return con.execute("select * from t order by all").fetchall()


def _orders(n: int, start: int = 0) -> str:
    """``n`` orders holding every column the contract requires (dbt ``bronze`` source)."""
    lines = ["order_id,customer_id,status,ordered_at,shipping_cents,updated_at"]
    at = "2026-01-01T00:00:00Z"
    lines += [f"{i},{i % 7},placed,{at},{i * 10},{at}" for i in range(start, start + n)]
    return "\n".join(lines) + "\n"


_CUSTOMERS = (
    "customer_id,email,country_code,created_at,updated_at\n"
    "1,a@example.com,PT,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n"
)


@pytest.fixture
def lakehouse(settings: Settings) -> tuple[Settings, str]:
    """Two bronze tables in several commits, a checkpoint, a gold table, a ledger, a token."""
    loader = Loader(settings)
    for i in range(3):
        drop(settings, "orders", f"orders_{i}.csv", _orders(50, start=i * 50))
        loader.load_pending()
    drop(settings, "customers", "customers.csv", _CUSTOMERS)
    loader.load_pending()
    maintain_table(settings, "bronze", "orders")  # compaction + checkpoint in the log
    gold = table_path(settings, "gold", "revenue")
    write_deltalake(str(gold), pa.table({"day": ["2026-01-01"], "amount": [10.5]}))
    write_deltalake(str(gold), pa.table({"day": ["2026-01-02"], "amount": [3.0]}), mode="append")
    token = create_token(settings, scopes=["admin"], tables=[], name="ops")
    return settings, token


@pytest.mark.slow
def test_backup_then_restore_into_an_empty_root_gives_the_same_results(
    lakehouse: tuple[Settings, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings, token = lakehouse
    dest = tmp_path_factory.mktemp("backups") / "b1"
    done = _lakehouse(settings.root, "backup", str(dest))
    assert done.returncode == 0, done.stderr
    assert "bronze/orders: version" in done.stdout
    assert "100% of" in done.stdout and "MB/s" in done.stdout  # progress: share, rate, time left
    manifest = Manifest.read(dest)
    versions = {f"{t.layer}/{t.name}": t.version for t in manifest.tables}
    assert set(versions) == {"bronze/orders", "bronze/customers", "gold/revenue"}
    assert {"ledger.sqlite", "tokens.json"} <= set(manifest.state)

    # the lakehouse goes on after the backup: the backup keeps the versions it copied
    drop(settings, "orders", "orders_late.csv", _orders(7, start=1000))
    Loader(settings).load_pending()
    orders = table_path(settings, "bronze", "orders")
    assert DeltaTable(str(orders)).version() > versions["bronze/orders"]

    fresh = tmp_path_factory.mktemp("fresh")
    done = _lakehouse(fresh, "restore", str(dest))
    assert done.returncode == 0, done.stderr
    restored = Settings(root=fresh, dbt_project_dir=REPO / "dbt_project", profiles_dir=REPO)
    for name, version in versions.items():
        layer, table = name.split("/")
        source = table_path(settings, layer, table)  # type: ignore[arg-type]
        target = table_path(restored, layer, table)  # type: ignore[arg-type]
        assert DeltaTable(str(target)).version() == version, name
        assert _query(target) == _query(source, version), name
    assert len(_query(table_path(restored, "bronze", "orders"))) == 150  # not the late 7

    # the ledger and the tokens came along, private
    before = {b.batch_id: b.state for b in Ledger(settings.ledger_file).batches(limit=1000)}
    after = {b.batch_id: b.state for b in Ledger(restored.ledger_file).batches(limit=1000)}
    assert after and set(after) <= set(before)
    assert TokenStore(restored.tokens_file).find(token) is not None
    for path in (restored.ledger_file, restored.tokens_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    # exactly-once survives: the same file dropped into the restored lakehouse loads nothing
    drop(restored, "orders", "orders_again.csv", _orders(50, start=0))
    summary = Loader(restored).load_pending()
    assert summary.rows == 0 and len(summary.skipped) == 1
    assert len(_query(table_path(restored, "bronze", "orders"))) == 150


def test_restore_refuses_a_lakehouse_that_is_not_empty(
    lakehouse: tuple[Settings, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings, _ = lakehouse
    dest = tmp_path_factory.mktemp("backups") / "b"
    backup(settings, dest)
    with pytest.raises(BackupError, match="not empty"):
        restore(settings, dest)
    with pytest.raises(BackupError, match="not empty"):
        backup(settings, dest)  # a backup never overwrites another
    done = _lakehouse(settings.root, "restore", str(dest))
    assert done.returncode == 1 and "not empty" in done.stderr
    (dest / MANIFEST).unlink()  # an unfinished backup
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(BackupError, match="not a finished backup"):
        restore(settings.model_copy(update={"dados": empty / "dados"}), dest)


def test_scheduled_backups_keep_the_newest(
    lakehouse: tuple[Settings, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings, _ = lakehouse
    parent = tmp_path_factory.mktemp("scheduled")
    stop = threading.Event()
    written: list[int] = []
    worker = threading.Thread(
        target=lambda: written.append(
            backup_every(settings, parent, every_s=0.05, keep=2, stop=stop)
        )
    )
    worker.start()
    try:
        finished = lambda: [p for p in parent.iterdir() if (p / MANIFEST).exists()]  # noqa: E731
        seen: set[str] = set()

        def three_written() -> bool:
            seen.update(p.name for p in finished())
            return len(seen) >= 3

        wait_for(three_written, 60, "three scheduled backups")
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert written[0] >= 3
    assert len(finished()) == 2  # the oldest went
    assert parse_interval("24h") == 86400 and parse_interval("30m") == 1800
    with pytest.raises(BackupError):
        parse_interval("daily")


def test_a_backup_says_it_leaves_the_postgresql_stores_out(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shared = settings.model_copy(
        update={"database_url": SecretStr("postgresql://u:p@127.0.0.1:1/x")}
    )
    said: list[str] = []
    dest = tmp_path_factory.mktemp("backups") / "pg"
    manifest = backup(shared, dest, progress=said.append)
    assert manifest.not_included and "pg_dump" in manifest.not_included[0]
    assert any(line.startswith("not in this backup: the run ledger") for line in said)
    assert Manifest.read(dest).not_included == manifest.not_included
