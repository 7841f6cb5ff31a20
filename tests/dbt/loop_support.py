"""A live lakehouse for the build-loop tests: orders and payments, a real loader, a warm builder.

The project is the shape of a foreign analytics project: two staging models over two bronze
tables and a mart joining them, whose ``not_null`` test on ``amount`` fails while an order's
payment has not arrived yet (the race of related files arriving apart).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from deltalake import DeltaTable
from runtime_support import REPO, write_project
from waiting import wait_for

from lakehouse import Ledger, Settings
from loader import Loader
from transform import Builder

SOURCES = """
version: 2
sources:
  - name: bronze
    meta:
      plugin: lakehouse_bronze
    tables:
      - name: orders
        columns:
          - name: order_id
            data_tests: [not_null]
      - name: payments
        columns:
          - name: payment_id
            data_tests: [not_null]
"""

MODELS = {
    "models/staging/_sources.yml": SOURCES,
    "models/staging/stg_orders.sql": """
        select cast(order_id as bigint) as order_id, cast(customer_id as bigint) as customer_id
        from {{ source('bronze', 'orders') }}
    """,
    "models/staging/stg_payments.sql": """
        select cast(payment_id as bigint) as payment_id, cast(order_id as bigint) as order_id,
            cast(amount as decimal(12, 2)) as amount
        from {{ source('bronze', 'payments') }}
    """,
    "models/marts/order_totals.sql": """
        with paid as (
            select order_id, sum(amount) as amount from {{ ref('stg_payments') }}
            group by order_id
        )
        select o.order_id, o.customer_id, cast(paid.amount as decimal(18, 2)) as amount
        from {{ ref('stg_orders') }} as o left join paid on o.order_id = paid.order_id
    """,
    "models/marts/_marts.yml": """
        version: 2
        models:
          - name: order_totals
            columns:
              - name: order_id
                data_tests: [unique, not_null]
              - name: amount
                data_tests: [not_null]
    """,
}


def put(settings: Settings, table: str, name: str, text: str) -> Path:
    """A file closed in ``raw/<table>/`` (written aside, renamed in: the API's way)."""
    folder = settings.raw_dir / table
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    tmp.write_text(text)
    return tmp.rename(folder / name)


def drop_orders(settings: Settings, first: int, last: int) -> Path:
    rows = "".join(f"{i},{i % 3 + 1}\n" for i in range(first, last + 1))
    return put(settings, "orders", f"orders_{first}_{last}.csv", "order_id,customer_id\n" + rows)


def drop_payments(settings: Settings, first: int, last: int) -> Path:
    rows = "".join(f"{i},{i},10.50\n" for i in range(first, last + 1))
    header = "payment_id,order_id,amount\n"
    return put(settings, "payments", f"payments_{first}_{last}.csv", header + rows)


def loop_settings(tmp: Path, **overrides: Any) -> Settings:
    project = write_project(tmp / "project", MODELS)
    values: dict[str, Any] = {
        "root": tmp,
        "dbt_project_dir": project,
        "profiles_dir": REPO,
        "dbt_target": "dev",
        "batch_window_ms": 0,
    }
    values.update(overrides)
    return Settings(**values)


class Live:
    """``lakehouse loader`` in threads: the watching loader and a warm builder."""

    def __init__(self, settings: Settings, **builder: Any) -> None:
        self.settings = settings
        self.ledger = Ledger.of(settings)
        self.builder = Builder(settings, **builder)
        self.loader = Loader(settings, on_event=self.builder.submit)
        self.builder.busy = self.loader.holds_files
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.loader.run, args=(self._stop,), daemon=True)

    def __enter__(self) -> Live:
        self.builder.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)
        self.builder.stop()

    def totals(self) -> list[dict[str, Any]]:
        path = self.settings.dados / "gold" / "order_totals"
        try:
            rows: list[dict[str, Any]] = DeltaTable(str(path)).to_pyarrow_table().to_pylist()
        except Exception:  # not published yet
            return []
        return rows

    def converged(self, orders: int) -> bool:
        """gold/order_totals holds ``orders`` orders, every one paid."""
        rows = self.totals()
        return len(rows) == orders and all(r["amount"] is not None for r in rows)

    def bronze_version(self, table: str) -> int:
        try:
            return int(DeltaTable(str(self.settings.dados / "bronze" / table)).version())
        except Exception:  # not created yet
            return -1

    def running_build(self) -> bool:
        builds = self.ledger.builds(limit=1)
        return bool(builds) and builds[0].state == "running"


def timed(check: Any, timeout: float, what: str) -> float:
    """Seconds until ``check()`` is true (``wait_for``: bounded, fails naming ``what``)."""
    started = time.monotonic()
    wait_for(check, timeout, what)
    return time.monotonic() - started
