"""``lakehouse status`` and ``lakehouse maintain`` in a pipe: 80 columns, whole table names, no
colour codes, no raw JSON."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from lakehouse.ledger import Ledger
from lakehouse.settings import Settings

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
LONG = "t" + "x" * 61 + "z"  # 63 characters: the longest table name there is


def _run(settings: Settings, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {"LAKEHOUSE_ROOT": str(settings.root), "COLUMNS": "200", "LAKEHOUSE_LOG_FORMAT": "text"}
    done = subprocess.run([LAKEHOUSE, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _lakehouse(settings: Settings) -> None:
    for layer, name in (("bronze", LONG), ("bronze", "orders"), ("gold", f"g{LONG[1:]}")):
        for _ in range(2):
            write_deltalake(
                str(settings.dados / layer / name), pa.table({"id": [1, 2]}), mode="append"
            )
    ledger = Ledger.of(settings)
    ok = ledger.start_build("source:bronze.orders+ " * 10)
    ledger.finish_build(ok, "succeeded", published={f"gold/m{i}": i for i in range(30)})
    bad = ledger.start_build(None)
    ledger.finish_build(bad, "failed", error="dbt test failed: " + "a very long reason " * 20)
    quarantine = settings.quarantine_dir / "orders"
    quarantine.mkdir(parents=True)
    (quarantine / "bad.csv").write_text("x\n")


def test_status_fits_80_columns_with_whole_names(settings: Settings) -> None:
    _lakehouse(settings)
    text = _run(settings, "status")
    lines = text.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "\x1b[" not in text
    assert f"bronze/{LONG}" in text and f"gold/g{LONG[1:]}" in text
    assert "30 tables published" in text and '"gold/m1"' not in text
    assert "failed" in text and "…" in text  # a long error is clipped, on one line
    assert "orders/bad.csv" in text


def test_maintain_shows_whole_names_in_80_columns(settings: Settings) -> None:
    _lakehouse(settings)
    text = _run(settings, "maintain")
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "\x1b[" not in text
    assert f"bronze/{LONG}" in text and "bronze/orders" in text
    assert "compacted 2 → 1 files" in text
