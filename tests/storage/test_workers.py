"""Several loader workers (``LAKEHOUSE_LOADER_LEASE_S``): two ``lakehouse loader`` processes on
one machine share the tables out by leases in the ledger; the one loading a big file is killed
(SIGKILL) between its pieces, its lease expires, the other takes the table over and resumes
after the last committed piece: every row once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable
from e2e.e2e_support import lakehouse_env
from waiting import wait_for

from lakehouse.layout import raw_dir, table_path
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
BIG_ROWS = 30_000
CHUNK = 500


def _rows(settings: Settings, table: str) -> int:
    path = table_path(settings, "bronze", table)
    if not DeltaTable.is_deltatable(str(path)):
        return 0
    actions = pa.table(DeltaTable(str(path)).get_add_actions(flatten=True))
    return int(pc.sum(actions.column("num_records")).as_py() or 0)


def _drop(settings: Settings, table: str, name: str, first: int, rows: int) -> None:
    folder = raw_dir(settings, table)
    folder.mkdir(parents=True, exist_ok=True)
    text = "id,note\n" + "".join(f"{i},row {i}\n" for i in range(first, first + rows))
    (folder / f".{name}.part").write_text(text)
    (folder / f".{name}.part").rename(folder / name)


@pytest.mark.slow
def test_a_killed_workers_table_is_taken_over_exactly_once(tmp_path: Path) -> None:
    _killed_worker_taken_over(tmp_path, {})


@pytest.mark.postgres
def test_workers_sharing_a_postgres_ledger(tmp_path: Path, postgres_url: str) -> None:
    """The same with the leases and the ledger in PostgreSQL (workers on several machines)."""
    _killed_worker_taken_over(tmp_path, {"database_url": postgres_url})
    batches = Ledger(postgres_url).count_by_state()
    assert batches == {"loaded": 5}  # big.csv and the four small files, recorded once each


def _killed_worker_taken_over(tmp_path: Path, extra: dict[str, str]) -> None:
    settings = Settings(root=tmp_path, loader_lease_s=2.0, chunk_rows=CHUNK, **extra)
    env = lakehouse_env(
        tmp_path, loader_lease_s="2", chunk_rows=str(CHUNK), log_format="text", **extra
    )
    logs = [tmp_path / "worker0.log", tmp_path / "worker1.log"]
    workers = []
    for log in logs:
        with open(log, "wb") as out:  # the child keeps its own descriptor
            workers.append(
                subprocess.Popen(
                    [LAKEHOUSE, "loader", "--no-build"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        _drop(settings, "big", "big.csv", 0, BIG_ROWS)
        for i in range(4):
            _drop(settings, "small", f"s{i}.csv", 100_000 + i * 10, 10)
        ledger = Ledger.of(settings)

        def loading_big() -> str | None:
            owner = ledger.lease_owner("big", now=time.time())
            return owner if owner and 0 < _rows(settings, "big") < BIG_ROWS // 3 else None

        owner = wait_for(loading_big, 60, "a worker committing the first pieces of big.csv")
        pid = int(owner.split(":")[1])
        victim = next(w for w in workers if w.pid == pid)
        survivor = next(w for w in workers if w.pid != pid)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        at_kill = _rows(settings, "big")
        assert 0 < at_kill < BIG_ROWS  # killed mid-file

        wait_for(lambda: _rows(settings, "big") == BIG_ROWS, 90, "the survivor finishing big.csv")
        wait_for(lambda: not any(raw_dir(settings, "big").iterdir()), 30, "big.csv archived")
        wait_for(lambda: _rows(settings, "small") == 40, 30, "the small files")
        assert survivor.poll() is None
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
    big = DeltaTable(str(table_path(settings, "bronze", "big"))).to_pyarrow_table()
    assert big.num_rows == BIG_ROWS
    assert pc.count_distinct(big.column("id")).as_py() == BIG_ROWS  # every row once
    survivor_log = logs[workers.index(survivor)].read_text()
    assert "took the lease on bronze big" in survivor_log, survivor_log[-3000:]
    small = DeltaTable(str(table_path(settings, "bronze", "small"))).to_pyarrow_table()
    assert sorted(small.column("id").to_pylist()) == [100_000 + i for i in range(40)]
