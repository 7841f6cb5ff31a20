"""A gold model's SQL on a real Spark cluster (standalone master + one worker on loopback),
reading the published silver tables, gives exactly the published gold table (bench/spark_gold.py).

Needs the ``distributed`` dependency group (``uv sync --group distributed``: pyspark, sqlglot) and
a Java runtime; skipped, saying which is missing, otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from storage_support import REPO, write_project

from lakehouse.layout import raw_dir
from lakehouse.settings import Settings
from loader.loading import Loader
from transform.session import DbtSession

pytestmark = pytest.mark.spark
MODELS = {
    "models/staging/stg_orders.sql": """
        select cast(id as bigint) as order_id, customer, cast(cents as bigint) as cents,
            cast(placed as timestamptz) as ordered_at
        from {{ source('bronze', 'orders') }}
    """,
    "models/intermediate/int_orders_dated.sql": """
        select *, cast(timezone('UTC', ordered_at) as date) as order_date
        from {{ ref('stg_orders') }}
    """,
    "models/marts/daily_customers.sql": """
        select order_date, customer, count(*) as orders,
            count(*) filter (where cents >= 100) as big_orders,
            cast(sum(cents) / 100.0 as decimal(18, 2)) as amount
        from {{ ref('int_orders_dated') }} group by order_date, customer
    """,
}


def test_a_gold_models_sql_on_a_spark_cluster(tmp_path: Path) -> None:
    pytest.importorskip("pyspark", reason="uv sync --group distributed installs pyspark")
    pytest.importorskip("sqlglot", reason="uv sync --group distributed installs sqlglot")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (Spark needs one: Debian's default-jre-headless)")
    from bench.spark_gold import run

    project = write_project(tmp_path / "project", MODELS)
    settings = Settings(root=tmp_path, dbt_project_dir=project, profiles_dir=REPO, dbt_target="dev")
    folder = raw_dir(settings, "orders")
    folder.mkdir(parents=True)
    rows = [
        f"{i},{('ann', 'bob', 'cy')[i % 3]},{(i * 37) % 250},"
        f"2026-03-0{1 + (i // 3) % 3}T2{i % 4}:30:00Z"
        for i in range(60)
    ]
    (folder / "orders.csv").write_text("id,customer,cents,placed\n" + "\n".join(rows) + "\n")
    Loader(settings).load_pending()
    built = DbtSession(settings).build()
    assert built.success, built.failures
    assert "gold/daily_customers" in built.published

    result = run(settings, "daily_customers", tmp_path / "spark")
    assert result["master"].startswith("spark://127.0.0.1:")
    assert result["rows"] == 9  # 3 days x 3 customers
    assert result["matches"], result["first_difference"]
