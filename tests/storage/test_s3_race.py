"""Concurrent commits to one table on S3 without a lock service (conditional put): two loaders
(two machines: own landing zones and local state, one bucket) and ``lakehouse maintain`` race;
no commit is lost or duplicated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from lakehouse import Settings
from loader.bronze import COMPLETE, app_id

pytestmark = pytest.mark.s3

WORKER = str(Path(__file__).with_name("storage_worker.py"))
FILES = 20
ROWS = 50


def test_two_loaders_and_maintain_race_on_one_table(s3_bucket: str, tmp_path: Path) -> None:
    dados = f"s3://{s3_bucket}/dados"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                WORKER,
                "load",
                str(tmp_path / f"m{tag}"),
                dados,
                "events",
                str(FILES),
                str(ROWS),
                str(tag),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in (1, 2)
    ]
    procs.append(
        subprocess.Popen(
            [sys.executable, WORKER, "maintain", str(tmp_path / "m3"), dados, "events", "6"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert outputs[0] == outputs[1] == {"loaded": FILES, "rows": FILES * ROWS}
    assert outputs[2]["rounds"] == 6

    settings = Settings(root=tmp_path / "reader", dados=dados)
    table = DeltaTable(
        str(settings.dados / "bronze/events"), storage_options=settings.storage_options
    )
    data = table.to_pyarrow_table()
    assert data.num_rows == 2 * FILES * ROWS  # nothing lost, nothing twice
    assert pc.count_distinct(data.column("id")).as_py() == data.num_rows
    batches = pc.unique(data.column("_batch_id")).to_pylist()
    assert len(batches) == 2 * FILES
    assert all(table.transaction_version(app_id(b)) == COMPLETE for b in batches)
    # every commit has its own version: 2 x FILES appends plus the compactions in between
    history = table.history()
    writes = sorted(h["version"] for h in history if h.get("operation") == "WRITE")
    assert len(writes) == 2 * FILES
    # and upkeep really raced them: a compaction committed between two loader commits
    compactions = [h["version"] for h in history if h.get("operation") == "OPTIMIZE"]
    assert any(writes[0] < v < writes[-1] for v in compactions), (writes, compactions)
