"""``lakehouse load --no-build`` end to end in a subprocess, and ``lakehouse status`` after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from loader_support import csv_rows, drop
from waiting import wait_for

from lakehouse import Settings

REPO = Path(__file__).resolve().parents[2]
LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_ROOT"] = str(root)
    return subprocess.run(
        [LAKEHOUSE, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.e2e
@pytest.mark.slow
def test_lakehouse_load_end_to_end(settings: Settings) -> None:
    drop(settings, "orders", "o1.csv", csv_rows(10))
    drop(settings, "orders", "o2.ndjson.gz", '{"id": 10, "name": "x", "amount": 1}\n')
    drop(settings, "orders", "broken.csv", "id,name\n1,a,extra\n")
    drop(settings, "customers", "c.json", '[{"id": 1}, {"id": 2}]')

    done = _run(settings.root, "load", "--no-build")

    assert done.returncode == 0, done.stderr
    assert "broken.csv" in done.stdout and "quarantined" in done.stdout
    assert "13 rows" in done.stdout
    status = _run(settings.root, "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    tables = {(t["layer"], t["name"]): t["rows"] for t in report["tables"]}
    assert tables == {("bronze", "customers"): 2, ("bronze", "orders"): 11}
    assert report["batches"] == {"loaded": 3, "quarantined": 1}
    assert report["pending_files"] == []
    assert any(name.endswith("broken.csv") for name in report["quarantined_files"])
    # nothing left to do: a second run is a clean no-op
    again = _run(settings.root, "load", "--no-build")
    assert again.returncode == 0 and "loaded 0 file(s)" in again.stdout


@pytest.mark.e2e
def test_lakehouse_load_refuses_when_another_loader_runs(settings: Settings) -> None:
    import fcntl

    settings.meta_dir.mkdir(parents=True, exist_ok=True)
    with (settings.meta_dir / "loader.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = _run(settings.root, "load", "--no-build")
    assert done.returncode == 1
    assert "another loader" in done.stderr


@pytest.mark.e2e
def test_lakehouse_loader_watches_until_sigterm(settings: Settings) -> None:
    import signal

    from lakehouse.heartbeat import read_heartbeat

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_ROOT"] = str(settings.root)
    proc = subprocess.Popen(
        [LAKEHOUSE, "loader", "--no-build"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def alive(event: Callable[[], object]) -> Callable[[], object]:
        def check() -> object:
            assert proc.poll() is None, f"lakehouse loader exited with {proc.returncode}"
            return event()

        return check

    try:
        wait_for(alive(lambda: read_heartbeat(settings)), 60, "the loader's first heartbeat")
        drop(settings, "orders", "live.csv", csv_rows(4))
        archived = settings.archive_dir / "orders" / "live.csv"
        wait_for(alive(archived.exists), 60, "live.csv to be loaded and archived")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    status = _run(settings.root, "status", "--json")
    tables = {t["name"]: t["rows"] for t in json.loads(status.stdout)["tables"]}
    assert tables == {"orders": 4}
