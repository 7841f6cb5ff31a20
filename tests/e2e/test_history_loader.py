"""``lakehouse loader`` (the real command, its own process) keeps the pipeline's history by
itself: after its builds it appends the published batches to dados/ops/batches and builds the
sample's gold/pipeline_latency, which ``lakehouse status --json`` (asking the running service)
shows as the source of its latency figures; it stops cleanly, with no leaked-semaphore line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import polars as pl
import pytest
from e2e_support import free_port, lakehouse_env
from test_upkeep_loader import LAKEHOUSE, _customers
from waiting import wait_for

from lakehouse import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.e2e
def test_the_running_loader_publishes_its_history_and_status_shows_it(tmp_path: Path) -> None:
    env = lakehouse_env(
        tmp_path,
        log_format="json",
        history_interval_s="0.2",
        loader_metrics_port=str(free_port()),
    )
    settings = Settings(root=tmp_path, dbt_project_dir=tmp_path / "dbt_project", profiles_dir=REPO)
    latency = settings.dados / "gold" / "pipeline_latency"
    log = tmp_path / "loader.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([LAKEHOUSE, "loader"], env=env, stdout=out, stderr=out)
    try:
        raw = settings.raw_dir / "customers"
        raw.mkdir(parents=True)
        for i in (1, 2):
            (raw / f".c{i}.part").write_text(_customers(i))
            os.replace(raw / f".c{i}.part", raw / f"c{i}.csv")

        def counted() -> list[dict[str, object]] | None:
            assert proc.poll() is None, log.read_text()
            if not (latency / "_delta_log").is_dir():
                return None
            rows = pl.read_delta(str(latency)).to_dicts()
            return rows if rows and rows[0]["batches"] == 2 else None

        rows = wait_for(counted, 180, "gold/pipeline_latency counting both customers batches")
        assert rows[0]["table_name"] == "customers"
        assert 0 <= rows[0]["to_bronze_p50_s"] <= rows[0]["total_p95_s"]  # type: ignore[operator]

        status = subprocess.run(
            [LAKEHOUSE, "status", "--json"], env=env, capture_output=True, text=True, timeout=120
        )
        assert status.returncode == 0, status.stderr
        shown = json.loads(status.stdout)
        assert shown["service"] is not None  # it asked the running service
        assert shown["latency_source"].startswith("gold/pipeline_latency v")
        assert [r["table"] for r in shown["latency"]] == ["customers"]
        assert shown["latency"][0]["batches"] == 2
        text = subprocess.run(
            [LAKEHOUSE, "status"], env=env, capture_output=True, text=True, timeout=120
        )
        assert "from gold/pipeline_latency v" in text.stdout
        assert all(len(line) <= 80 for line in text.stdout.splitlines())
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    output = log.read_text()
    assert code == 0, output
    assert "leaked semaphore" not in output
    events = [json.loads(x) for x in output.splitlines() if x.startswith("{")]
    history = [e for e in events if e.get("event") == "history"]
    assert sum(e["rows"] for e in history) == 2  # each batch appended once
    history_table = pl.read_delta(str(settings.dados / "ops" / "batches"))
    assert sorted(history_table["batch_id"].to_list()) == sorted(set(history_table["batch_id"]))
    assert history_table.height == 2
