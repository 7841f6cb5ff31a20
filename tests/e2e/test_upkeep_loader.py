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

import httpx
import pytest
from deltalake import DeltaTable
from e2e_support import free_port, lakehouse_env
from waiting import wait_for

from lakehouse import Ledger, Settings

REPO = Path(__file__).resolve().parents[2]
LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")

CUSTOMERS = "customer_id,email,first_name,last_name,country_code,created_at,updated_at\n"


def _customers(i: int) -> str:
    return CUSTOMERS + (
        f"{i},c{i}@example.com,Ana,Silva,PT,2026-01-01T10:00:00Z,2026-01-01T10:00:00Z\n"
    )


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(url, timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.slow
@pytest.mark.e2e
def test_the_loader_keeps_its_tables_up_and_reports_metrics_and_log_lines(tmp_path: Path) -> None:
    metrics_port = free_port()
    env = lakehouse_env(
        tmp_path,
        log_format="json",
        upkeep_interval_s="0.2",
        upkeep_small_files="4",
        loader_metrics_port=str(metrics_port),
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
            lambda: (
                ledger.builds(limit=50)
                and all(b.finished_at for b in ledger.builds(limit=50))
                and all(b.state == "published" for b in ledger.batches(limit=100))
            ),
            120,
            "the builds to finish and publish",
        )
        # the upkeep counter moves once the whole upkeep pass (compact, checkpoint, vacuum) ends,
        # which can be after the compaction's commit is visible: wait for it, do not race it
        scraped: dict[object, float] = {}

        def upkeep_counted() -> bool:
            scraped.clear()
            scraped.update(_scrape(f"http://127.0.0.1:{metrics_port}/metrics"))
            return scraped.get(("lakehouse_upkeep_actions_total", (("action", "compact"),)), 0) >= 1

        wait_for(upkeep_counted, 60, "the compaction counted in the loader's metrics")
        metrics = scraped
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()

    # the pipeline's metrics: what it loaded, built, published and kept up
    assert metrics[("lakehouse_loader_rows_total", (("table", "customers"),))] == 4
    assert metrics[("lakehouse_loader_batches_total", (("table", "customers"),))] == 4
    assert metrics[("lakehouse_builds_total", (("outcome", "succeeded"),))] >= 1
    assert metrics[("lakehouse_upkeep_actions_total", (("action", "compact"),))] >= 1
    assert metrics[("lakehouse_batches", (("state", "published"),))] == 4
    version = DeltaTable(str(bronze)).version()
    assert metrics[("lakehouse_table_version", (("layer", "bronze"), ("table", "customers")))] >= (
        version - 2  # upkeep may have committed since the scrape
    )
    assert metrics[("lakehouse_publish_seconds_count", ())] >= 1
    assert metrics[("lakehouse_loader_backlog_files", ())] == 0

    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    # one line per load, build and publish, with batch ids, versions and durations
    loads = [e for e in lines if e.get("event") == "load"]
    assert sum(len(e["batch_ids"]) for e in loads) == 4
    assert all(e["table"] == "customers" and e["version"] >= 0 for e in loads)
    built = [e for e in lines if e.get("event") == "build" and e["success"]]
    assert built and all("customers" in e["read_versions"] for e in built)
    assert all(e["duration_s"] > 0 for e in built)
    assert any(e.get("event") == "publish" and e["published"] for e in lines)
    upkeeps = [e for e in lines if e.get("event") == "upkeep"]
    assert any("compact" in e["actions"] and e["table"] == "bronze/customers" for e in upkeeps)
    builds = [
        (datetime.fromisoformat(b.started_at), datetime.fromisoformat(b.finished_at or ""))
        for b in ledger.builds(limit=50)
    ]
    assert builds
    for e in upkeeps:
        end = datetime.fromisoformat(e["ts"])
        # the log's time and the duration are in milliseconds: an upkeep begun as a build
        # ended reads as starting at its end (or a millisecond before)
        start = end - timedelta(seconds=e["duration_s"]) + timedelta(milliseconds=1)
        for b_start, b_end in builds:
            assert end < b_start or start >= b_end, f"upkeep {e} during build {b_start} to {b_end}"
