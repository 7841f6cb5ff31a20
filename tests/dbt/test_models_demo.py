"""``lakehouse demo`` end to end, as a user runs it: the real command in a fresh folder."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_harness import REPO
from deltalake import DeltaTable

from app import TABLES, render, sample_files
from lakehouse import Ledger, Settings, list_tables
from lakehouse.contracts import load_contracts

MARTS = [
    "customer_lifetime_value",
    "customer_order_rhythm",
    "daily_revenue",
    "funnel_conversion",
    "orders",
]


@pytest.mark.slow
@pytest.mark.e2e
def test_demo_publishes_gold_and_a_second_run_is_a_no_op(tmp_path: Path) -> None:
    # a copy of the project: dbt writes target/ beside it, and other runs use the repo's
    project = shutil.copytree(
        REPO / "dbt_project",
        tmp_path / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs"),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {
        "LAKEHOUSE_ROOT": str(tmp_path),
        "LAKEHOUSE_DBT_PROJECT_DIR": str(project),
        "LAKEHOUSE_PROFILES_DIR": str(REPO),
        "COLUMNS": "200",
    }
    command = [str(Path(sys.executable).parent / "lakehouse"), "demo", "--rows", "60"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert first.returncode == 0, first.stdout + first.stderr
    # dbt's multiprocessing locks are released before the command exits (issue #11's polish)
    assert "leaked semaphore" not in first.stderr
    assert "gold/daily_revenue" in first.stdout
    assert "lakehouse docs --serve" in first.stdout

    settings = Settings(root=tmp_path)
    assert list_tables(settings, "bronze") == sorted(TABLES)
    assert list_tables(settings, "gold") == sorted([*MARTS, "pipeline_latency"])
    orders = DeltaTable(str(settings.dados / "gold" / "orders")).to_pyarrow_table()
    assert orders.num_rows == 60
    _check_order_rhythm(settings)
    _run_the_readme_example(tmp_path)
    # every batch that reached bronze is published (the ledger followed it to gold)
    ledger = Ledger(settings.ledger_file)
    batches = set()
    for table in TABLES:
        bronze = DeltaTable(str(settings.dados / "bronze" / table)).to_pyarrow_table()
        batches |= set(bronze.column("_batch_id").to_pylist())
    states = {b: ledger.get_batch(b).state for b in batches}  # type: ignore[union-attr]
    assert set(states.values()) == {"published"}
    # the pipeline's own history: a model over it, per bronze table, which the demo prints
    latency = DeltaTable(str(settings.dados / "gold" / "pipeline_latency")).to_pyarrow_table()
    per_table = {r["table_name"]: r["batches"] for r in latency.to_pylist()}
    published: dict[str, int] = {}
    for b in batches:
        table = ledger.get_batch(b).table  # type: ignore[union-attr]
        published[table] = published.get(table, 0) + 1
    assert per_table == published
    assert "from gold/pipeline_latency v" in first.stdout
    assert re.search(r"bronze [\d.]+/[\d.]+  queued [\d.-]+/[\d.-]+  build ", first.stdout)

    gold = [*MARTS, "pipeline_latency"]
    versions = {m: DeltaTable(str(settings.dados / "gold" / m)).version() for m in gold}
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "skipped as already loaded" in second.stdout
    assert {m: DeltaTable(str(settings.dados / "gold" / m)).version() for m in gold} == versions


def test_sample_data_is_deterministic_and_scales() -> None:
    small = [render(f) for f in sample_files(40, seed=3)]
    assert small == [render(f) for f in sample_files(40, seed=3)]
    assert small != [render(f) for f in sample_files(40, seed=4)]
    big = sample_files(400, seed=3)
    orders = sum(len(f.records) for f in big if f.table == "orders" and f.wave == 1)
    assert orders == 400
    assert {f.table for f in big} == set(TABLES)
    assert {f.name.rsplit(".", 1)[1] for f in big} == {"csv", "json", "ndjson"}
    resent = [f for f in big if f.name == "payments_w2_resent.ndjson"]
    assert len(resent) == 1 and render(resent[0]) == render(
        next(f for f in big if f.name == "payments_w1_0001.ndjson")
    )
    with pytest.raises(ValueError, match="rows"):
        sample_files(0)


def test_sample_data_honours_the_bronze_contracts() -> None:
    """The source YAML is the API's contract: every column the shop sends is declared there,
    and every required column is present and not null in every generated record."""
    contracts = load_contracts(Settings(root=REPO, dbt_project_dir=REPO / "dbt_project"))
    assert set(contracts) == set(TABLES)
    kinds = {bool: ("boolean",), int: ("integer",), str: ("string", "timestamp")}
    for sample in sample_files(60, seed=11):
        contract = contracts[sample.table]
        declared = {c.name: c for c in contract.columns}
        assert contract.primary_key and set(contract.primary_key) <= set(contract.required)
        for record in sample.records:
            assert set(record) == set(declared), (sample.name, set(record) ^ set(declared))
            for name in contract.required:
                assert record[name] is not None, (sample.name, name)
            for name, value in record.items():
                if value is not None:
                    assert declared[name].kind in kinds[type(value)], (sample.name, name)


def _check_order_rhythm(settings: Settings) -> None:
    """The Polars model (gold/customer_order_rhythm), recomputed here from gold/orders."""
    orders = DeltaTable(str(settings.dados / "gold" / "orders")).to_pyarrow_table().to_pylist()
    placed: dict[int, list[datetime]] = {}
    for order in orders:
        if order["order_status"] != "cancelled":
            placed.setdefault(order["customer_id"], []).append(order["ordered_at"])
    rhythm = DeltaTable(str(settings.dados / "gold" / "customer_order_rhythm"))
    rows = {r["customer_id"]: r for r in rhythm.to_pyarrow_table().to_pylist()}
    assert set(rows) == set(placed) and len(rows) > 1
    for customer, times in placed.items():
        times.sort()
        row = rows[customer]
        assert row["orders_count"] == len(times)
        assert (row["first_ordered_at"], row["last_ordered_at"]) == (times[0], times[-1])
        gaps = [(b - a).total_seconds() / 86400 for a, b in itertools.pairwise(times)]
        median = None if not gaps else statistics.median(gaps)
        expected = None if median is None else Decimal(str(round(median, 2)))
        assert row["median_days_between_orders"] == expected, (customer, gaps)
        weeks = sorted({(t - timedelta(days=t.weekday())).date() for t in times})
        longest = run = 1
        for a, b in itertools.pairwise(weeks):
            run = run + 1 if (b - a).days == 7 else 1
            longest = max(longest, run)
        assert row["longest_weekly_streak"] == longest, (customer, weeks)


def _run_the_readme_example(root: Path) -> None:
    """README's Polars example (scan_table, time travel) runs against the demo's lakehouse."""
    readme = (REPO / "README.md").read_text()
    found = re.search(r"## Reading the tables.*?```python\n(.*?)```", readme, re.S)
    assert found is not None
    script = found.group(1) + "print(change.columns, change.height)\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    ran = subprocess.run(
        [sys.executable, "-c", script],
        env=env | {"LAKEHOUSE_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("['order_date', 'delta']")
    then = DeltaTable(str(root / "dados" / "gold" / "daily_revenue"), version=1).to_pyarrow_table()
    now = DeltaTable(str(root / "dados" / "gold" / "daily_revenue")).to_pyarrow_table()
    before = {r["order_date"]: r["net_revenue"] for r in then.to_pylist()}
    after = {r["order_date"]: r["net_revenue"] for r in now.to_pylist()}
    changed = sum(after.get(d, 0) != before.get(d, 0) for d in before.keys() | after.keys())
    assert ran.stdout.strip().endswith(f" {changed}")
