"""``lakehouse loader`` keeps its tables up by itself: a compaction once the small-file threshold
is passed, run between builds, never during one (the ledger's build times against the upkeep
log lines)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable
from e2e_support import lakehouse_env
from waiting import wait_for

from lakehouse import Ledger, Settings

REPO = Path(__file__).resolve().parents[2]
LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")

CUSTOMERS = "customer_id,email,first_name,last_name,country_code,created_at,updated_at\n"


def _customers(i: int) -> str:
    return CUSTOMERS + (
        f"{i},c{i}@example.com,Ana,Silva,PT,2026-01-01T10:00:00Z,2026-01-01T10:00:00Z\n"
    )


@pytest.mark.e2e
def test_the_loader_compacts_by_itself_between_builds(tmp_path: Path) -> None:
    env = lakehouse_env(
        tmp_path, log_format="json", upkeep_interval_s="0.2", upkeep_small_files="4"
    )
    settings = Settings(root=tmp_path, dbt_project_dir=tmp_path / "dbt_project", profiles_dir=REPO)
    ledger = Ledger(settings.ledger_file)
    bronze = settings.dados / "bronze" / "customers"
    log = tmp_path / "loader.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([LAKEHOUSE, "loader"], env=env, stdout=out, stderr=out)
    try:
        raw = settings.raw_dir / "customers"
        raw.mkdir(parents=True)
        for i in range(1, 5):  # four commits, four small files
            (raw / f".c{i}.part").write_text(_customers(i))
            os.replace(raw / f".c{i}.part", raw / f"c{i}.csv")
            wait_for(
                lambda i=i: (
                    proc.poll() is None
                    and bronze.is_dir()
                    and len(ledger.batches(limit=100)) >= i
                    and all(b.state != "accepted" for b in ledger.batches(limit=100))
                ),
                120,
                f"file {i} in bronze",
            )
        assert proc.poll() is None, log.read_text()

        def compacted() -> bool:
            assert proc.poll() is None, log.read_text()
            table = DeltaTable(str(bronze))
            return len(table.file_uris()) == 1 and table.to_pyarrow_table().num_rows == 4

        wait_for(compacted, 120, "the loader to compact bronze.customers by itself")
        wait_for(
            lambda: ledger.builds(limit=50) and all(b.finished_at for b in ledger.builds(limit=50)),
            120,
            "the builds to finish",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()

    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    upkeeps = [e for e in lines if e.get("event") == "upkeep"]
    assert any("compact" in e["actions"] and e["table"] == "bronze/customers" for e in upkeeps)
    builds = [
        (datetime.fromisoformat(b.started_at), datetime.fromisoformat(b.finished_at or ""))
        for b in ledger.builds(limit=50)
    ]
    assert builds
    for e in upkeeps:
        end = datetime.fromisoformat(e["ts"])
        start = end - timedelta(seconds=e["duration_s"])
        for b_start, b_end in builds:
            assert end < b_start or start > b_end, f"upkeep {e} during build {b_start} to {b_end}"
