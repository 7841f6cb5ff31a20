"""The long-lived Builder with the real Loader, ``lakehouse build`` and ``lakehouse docs``.

Each test has its own lakehouse, project and Builder (``shop``) and loads what it needs first:
any test passes alone (``-k``) and in any order (``-p random_order --random-order``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from deltalake import DeltaTable
from runtime_support import append_bronze, customers, orders, project_settings, write_project

from app import run_load
from lakehouse import Ledger, LoadEvent, Settings
from loader import Loader
from transform import Builder, BuildRequest, docs_target, run_build, run_docs, serve_docs

REVENUE = """
    select count(*) as orders, sum(amount_cents) as revenue_cents from {{ ref('stg_orders') }}
"""
MODELS = {
    "models/staging/stg_orders.sql": """
        select
            cast(order_id as bigint) as order_id,
            cast(amount_cents as bigint) as amount_cents,
            _batch_id
        from {{ source('bronze', 'orders') }}
    """,
    "models/marts/revenue.sql": REVENUE,
}


class Shop:
    """A lakehouse in a temporary folder: landing zone, loader, builder, ledger."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ledger = Ledger(settings.ledger_file)
        self.builder = Builder(settings, attempts=2, backoff_s=0.05, max_backoff_s=0.1)
        self.loader = Loader(settings, on_event=self.builder.submit)
        self.files = 0

    def drop(self, rows: int = 3) -> None:
        """A CSV file of ``rows`` new orders, closed in the landing zone."""
        first = self.files * 100
        lines = ["order_id,amount_cents"] + [f"{first + i},{100 + i}" for i in range(rows)]
        folder = self.settings.raw_dir / "orders"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".orders-{self.files}.csv.tmp"
        tmp.write_text("\n".join(lines) + "\n")
        tmp.rename(folder / f"orders-{self.files}.csv")
        self.files += 1

    def load(self, files: int = 1) -> None:
        """Drop ``files`` files, load each (one bronze commit, one load event), await the builds."""
        for _ in range(files):
            self.drop()
            self.loader.load_pending()
        assert self.builder.wait_idle(120)

    def revenue(self) -> dict[str, int]:
        rows: list[dict[str, int]] = self.gold("revenue").to_pyarrow_table().to_pylist()
        return rows[0]

    def gold(self, name: str) -> DeltaTable:
        return DeltaTable(str(self.settings.dados / "gold" / name))


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    """A fresh lakehouse with its own copy of the project (a test may break a model)."""
    settings = project_settings(tmp_path, write_project(tmp_path / "project", MODELS), target="dev")
    shop = Shop(settings)
    shop.builder.start()
    yield shop
    shop.builder.stop()


def test_a_burst_of_loads_coalesces_and_gets_published(shop: Shop) -> None:
    shop.load(8)
    assert 1 <= shop.builder.builds < 8
    assert shop.revenue()["orders"] == 24
    counts = shop.ledger.count_by_state()
    assert counts == {"published": 8}, counts
    build = shop.ledger.builds(limit=1)[0]
    bronze = DeltaTable(str(shop.settings.dados / "bronze" / "orders"))
    assert build.state == "succeeded"
    assert build.read_versions == {"orders": bronze.version()}
    assert build.published == {
        "silver/stg_orders": DeltaTable(str(shop.settings.dados / "silver/stg_orders")).version(),
        "gold/revenue": shop.gold("revenue").version(),
    }


@pytest.mark.slow
def test_a_failing_model_is_retried_recorded_and_recovers(shop: Shop) -> None:
    shop.load()  # a first good build: 3 orders in gold
    assert shop.revenue()["orders"] == 3
    model = shop.settings.dbt_project_dir / "models" / "marts" / "revenue.sql"
    model.write_text("select no_such_column from {{ ref('stg_orders') }}\n")
    builds = shop.builder.builds
    shop.load()
    assert shop.builder.builds == builds + 2  # the first attempt and one retry
    failed = shop.ledger.builds(limit=2)
    assert [b.state for b in failed] == ["failed", "failed"]
    assert "no_such_column" in (failed[0].error or "")
    assert shop.ledger.count_by_state().get("failed") == 1  # after the retries ran out
    assert shop.revenue()["orders"] == 3  # gold still serves the last good build

    model.write_text(REVENUE)  # the analytics engineer fixes the model
    shop.load()  # loading went on; the next event builds again
    assert shop.ledger.builds(limit=1)[0].state == "succeeded"
    assert shop.revenue()["orders"] == 9  # the failed batch's rows are in too
    # ... so the ledger says so: the failed batch is healed to published
    assert shop.ledger.count_by_state() == {"published": 3}


def test_lakehouse_build_publishes_and_prints(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    shop.load()  # published by the builder first
    version = shop.gold("revenue").version()
    assert run_build(shop.settings, BuildRequest()) == 0
    out = capsys.readouterr().out
    assert "gold/revenue" in out and "unchanged" in out
    assert shop.gold("revenue").version() == version  # nothing new to publish
    assert shop.ledger.builds(limit=1)[0].selector is None


def test_docs_show_lineage_and_delta_locations(shop: Shop) -> None:
    assert run_docs(shop.settings, serve=False) == 0
    target = docs_target(shop.settings)
    manifest = json.loads((target / "manifest.json").read_text())
    revenue = manifest["nodes"]["model.lakehouse.revenue"]
    assert revenue["meta"]["delta_location"] == "dados/gold/revenue"
    assert "dados/gold/revenue" in revenue["description"]
    assert manifest["parent_map"]["model.lakehouse.revenue"] == ["model.lakehouse.stg_orders"]
    assert manifest["parent_map"]["model.lakehouse.stg_orders"] == [
        "source.lakehouse.bronze.orders"
    ]

    stop = threading.Event()
    urls: list[str] = []
    ready = threading.Event()

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    server = threading.Thread(
        target=serve_docs, kwargs={"directory": target, "port": 0, "ready": on_ready, "stop": stop}
    )
    server.start()
    try:
        assert ready.wait(10)
        with urllib.request.urlopen(urls[0] + "manifest.json", timeout=10) as response:
            assert b"dados/gold/revenue" in response.read()
        chromium = shutil.which("chromium")
        if chromium is None:
            pytest.skip("chromium is not installed (apt-get install -y chromium)")
        dom = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--virtual-time-budget=15000",
                "--dump-dom",
                urls[0] + "#!/model/model.lakehouse.revenue",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        assert "dados/gold/revenue" in dom
        assert "Published as Delta" in dom
    finally:
        stop.set()
        server.join(10)


def test_stop_ends_the_builder_thread(tmp_path: Path) -> None:
    settings = project_settings(tmp_path, write_project(tmp_path / "p", MODELS), target="dev")
    builder = Builder(settings)
    builder.start()
    assert builder.wait_idle(1)
    builder.stop()
    assert builder._thread is None


def test_docs_while_a_running_loader_holds_the_warehouse(tmp_path: Path) -> None:
    settings = project_settings(tmp_path, write_project(tmp_path / "p", MODELS), target="dev")
    settings.dados.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(120)",
            str(settings.dados / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert run_docs(settings) == 0
        manifest = json.loads((docs_target(settings) / "manifest.json").read_text())
        revenue = manifest["nodes"]["model.lakehouse.revenue"]
        assert revenue["meta"]["delta_location"] == "dados/gold/revenue"
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_mart_of_two_tables_builds_from_the_first_event(tmp_path: Path) -> None:
    models = {
        "models/staging/stg_orders.sql": "select * from {{ source('bronze', 'orders') }}",
        "models/staging/stg_customers.sql": "select * from {{ source('bronze', 'customers') }}",
        "models/marts/customer_orders.sql": """
            select c.customer_id, count(o.order_id) as orders
            from {{ ref('stg_customers') }} as c
            left join {{ ref('stg_orders') }} as o using (customer_id)
            group by c.customer_id
        """,
    }
    settings = project_settings(tmp_path, write_project(tmp_path / "p", models), target="dev")
    append_bronze(settings, "orders", orders(1, 6))  # loaded, but its event is not here yet
    append_bronze(settings, "customers", customers(3))
    builder = Builder(settings, attempts=1)
    builder.start()
    try:
        builder.submit(LoadEvent("customers", 0))
        assert builder.wait_idle(120)
        assert builder.last_result is not None and builder.last_result.success
        gold = DeltaTable(str(settings.dados / "gold" / "customer_orders"))
        assert sorted(r["orders"] for r in gold.to_pyarrow_table().to_pylist()) == [2, 2, 2]
    finally:
        builder.stop()


def test_lakehouse_load_exits_1_when_its_build_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = {
        **MODELS,
        "models/staging/_tests.yml": """
            version: 2
            models:
              - name: stg_orders
                columns:
                  - name: order_id
                    data_tests: [unique]
        """,
    }
    settings = project_settings(tmp_path, write_project(tmp_path / "p", models), target="dev")
    shop = Shop(settings)  # only for its drop(); run_load brings its own loader and builder
    shop.drop()
    assert run_load(settings) == 0  # loaded, built, tested, published
    assert shop.revenue()["orders"] == 3
    capsys.readouterr()

    duplicates = settings.raw_dir / "orders" / "duplicates.csv"
    duplicates.write_text("order_id,amount_cents\n900,1\n900,2\n")  # fails the unique test
    assert run_load(settings) == 1
    err = capsys.readouterr().err
    assert "build failed" in err and "unique" in err
    assert Ledger(settings.ledger_file).builds(limit=1)[0].state == "failed"
    assert shop.revenue()["orders"] == 3  # gold still serves the last good build

    shop.drop()  # loading alone (--no-build) still succeeds
    assert run_load(settings, build=False) == 0
