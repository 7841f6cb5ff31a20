"""An aggregate by day built incrementally is exactly its full refresh (docs/dbt.md, "An
aggregate by day, incremental"): the bench's ``daily_revenue`` (bench/bench_build.py, the model
``incremental_vs_full`` measures), real dbt on DuckDB over a small bronze.

Three copies of the model are built side by side after every batch: as written (incremental,
with its guard), the same without the guard, and the same as a table (what a full refresh
gives). The batches go through every way a day's figures change: new orders, orders moved to an
earlier or a later day, cancelled and uncancelled, a NULL status or ``ordered_at``, a day left
empty, a batch of old days only, an empty batch, an amount changed; then seeded random batches
of all of these at once. The incremental model must equal the table row for row after each;
without the guard, an order moved off a day before every new row's day stays counted there.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from dbt_harness import DbtProject, lakehouse_env
from deltalake import write_deltalake

from bench.bench_build import (
    DAILY_REVENUE,
    DAILY_REVENUE_GUARD,
    PROJECT,
    SCALE_MODELS,
    SOURCES,
    write_project,
)

pytestmark = pytest.mark.slow  # a module of real dbt builds: ~5% of the default run's time

SCHEMA = pa.schema(
    [
        ("order_id", pa.int64()),
        ("customer_id", pa.int64()),
        ("amount_cents", pa.int64()),
        ("ordered_at", pa.timestamp("us", tz="UTC")),
        ("status", pa.string()),
        ("_ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)
MODELS = ("daily_revenue", "daily_revenue_unguarded", "daily_revenue_full")
#: batches before whose build day 1's revenue is marked in the incremental model (-1)
MARKED = ("new orders on the latest day", "an order moved to a later day")
DAY_ONE = "where order_date = date '2025-01-01'"


def _day(n: int, hour: int = 12) -> datetime:
    """Noon (or ``hour``) of day ``n`` of January 2025, UTC."""
    return datetime(2025, 1, 1, hour, tzinfo=UTC) + timedelta(days=n - 1)


Order = tuple[int, int, datetime | None, str | None]  # order_id, amount_cents, ordered_at, status

#: the first load: 30 orders over days 1-10 (days 4 and 9 one order each), every status, a
#: NULL status, a NULL ordered_at
FIRST: list[Order] = [
    (i, 100 * i, _day(1 + (i % 10) if (i % 10) not in (3, 8) else 1, hour=i % 24), status)
    for i, status in zip(
        range(1, 29),
        ["paid", "shipped", "cancelled", None, "paid", "shipped", "paid"] * 4,
        strict=True,
    )
] + [(29, 2900, _day(4), "paid"), (30, 3000, _day(9), "paid"), (31, 3100, None, "paid")]

#: a batch whose day's revenue overflows a bigint: the run fails after the model's delete
FAILS = "a run that fails"

#: each batch: (name, orders appended to bronze, each a new version of its order_id)
BATCHES: list[tuple[str, list[Order]]] = [
    ("new orders on the latest day", [(100, 5, _day(12), "paid"), (101, 7, _day(12), "shipped")]),
    ("an order moved to a later day", [(5, 500, _day(13), "paid")]),
    ("an order moved to an earlier day", [(100, 5, _day(2), "paid")]),
    ("a day left empty before the new rows", [(29, 2900, _day(14), "paid")]),
    ("a day left empty after the new rows", [(102, 9, _day(8), "paid"), (30, 3000, None, "paid")]),
    ("an order cancelled on an old day", [(1, 100, _day(2, 1), "cancelled")]),
    ("an order uncancelled", [(3, 300, _day(4, 3), "paid")]),
    ("a status set NULL and one set back", [(2, 200, _day(3, 2), None), (4, 400, _day(5), "paid")]),
    ("an already cancelled order moved later", [(10, 1000, _day(14), "cancelled")]),
    ("a cancelled order moved off a day and paid", [(17, 1700, _day(15), "paid")]),
    ("an order dated NULL, one undated", [(6, 600, None, "paid"), (31, 3100, _day(1), "paid")]),
    ("only an order dated NULL, off day 1", [(8, 800, None, "paid")]),
    ("only old days", [(103, 11, _day(1), "paid"), (7, 777, _day(2), "shipped")]),
    ("an amount changed", [(9, 9999, _day(10, 9), "shipped")]),
    ("an empty batch", []),
    ("the latest day emptied", [(101, 7, _day(12), "cancelled"), (100, 5, _day(2), "cancelled")]),
    (FAILS, [(104, 2**62 + 1, _day(16), "paid"), (105, 2**62 + 1, _day(16), "paid")]),
    ("the amounts corrected", [(104, 1, _day(16), "paid"), (105, 1, _day(16), "paid")]),
]


def _random_batches(seed: int, count: int) -> list[tuple[str, list[Order]]]:
    """Batches of everything at once: new orders, moves both ways, statuses, NULLs."""
    rng = random.Random(seed)
    statuses = ["paid", "shipped", "cancelled", None]
    batches = []
    next_id = 1000
    for n in range(count):
        orders: dict[int, Order] = {}
        for _ in range(rng.randint(0, 6)):
            if rng.random() < 0.4:
                order_id, next_id = next_id, next_id + 1
            else:
                order_id = rng.randint(1, 40)  # an order of the first load, or none yet
            day = None if rng.random() < 0.05 else _day(rng.randint(1, 20), rng.randint(0, 23))
            orders[order_id] = (order_id, rng.randint(1, 10_000), day, rng.choice(statuses))
        batches.append((f"random batch {n + 1}", list(orders.values())))
    return batches


@dataclass
class Run:
    project: DbtProject
    #: per batch name: each model's rows after that batch's build
    after: dict[str, dict[str, list[tuple[Any, ...]]]] = field(default_factory=dict)
    #: per batch in MARKED: whether day 1's row, marked before the build, kept its mark
    marked: dict[str, bool] = field(default_factory=dict)


def _append(project: DbtProject, orders: list[Order], ingested: datetime) -> None:
    rows = [
        {
            "order_id": order_id,
            "customer_id": order_id % 7,
            "amount_cents": amount,
            "ordered_at": ordered_at,
            "status": status,
            "_ingested_at": ingested,
        }
        for order_id, amount, ordered_at, status in orders
    ]
    path = str(project.settings.dados / "bronze" / "orders")
    write_deltalake(path, pa.Table.from_pylist(rows, schema=SCHEMA), mode="append")


def _models() -> dict[str, str]:
    assert DAILY_REVENUE_GUARD in DAILY_REVENUE
    full = DAILY_REVENUE.replace("materialized='incremental'", "materialized='table'")
    assert full != DAILY_REVENUE
    return {
        "dbt_project.yml": PROJECT,
        "models/staging/_sources.yml": SOURCES,
        "models/staging/stg_orders.sql": SCALE_MODELS["models/staging/stg_orders.sql"],
        "models/marts/daily_revenue.sql": DAILY_REVENUE,
        "models/marts/daily_revenue_unguarded.sql": DAILY_REVENUE.replace(DAILY_REVENUE_GUARD, ""),
        "models/marts/daily_revenue_full.sql": full,
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("daily")
    project = DbtProject(root, write_project(root / "project", _models()))
    result = Run(project)
    ingested = datetime(2026, 1, 1, tzinfo=UTC)
    with lakehouse_env(project):
        _append(project, FIRST, ingested)
        for name, orders in [("first load", []), *BATCHES, *_random_batches(10, 4)]:
            if orders:
                ingested += timedelta(minutes=1)
                _append(project, orders, ingested)
            if name in MARKED:  # a mark on day 1: does the build recompute it?
                project.query(f"update main.daily_revenue set revenue_cents = -1 {DAY_ONE}")
            project.dbt("run", expect_success=name != FAILS)
            if name in MARKED:
                marked = project.query(f"select revenue_cents from main.daily_revenue {DAY_ONE}")
                result.marked[name] = marked == [(-1,)]
                project.query(  # as it was, for the comparison below
                    "update main.daily_revenue d set revenue_cents = f.revenue_cents"
                    " from main.daily_revenue_full f where d.order_date = f.order_date"
                )
            result.after[name] = {
                model: project.query(f"select * from main.{model} order by all") for model in MODELS
            }
        yield result


@pytest.mark.parametrize(
    "batch",
    ["first load", *(name for name, _ in BATCHES), *(f"random batch {n}" for n in range(1, 5))],
)
def test_the_incremental_aggregate_equals_a_full_refresh(run: Run, batch: str) -> None:
    after = run.after[batch]
    assert after["daily_revenue_full"], "the full refresh has rows"
    assert after["daily_revenue"] == after["daily_revenue_full"]


def test_the_batches_reach_every_case(run: Run) -> None:
    """The cases are real: a NULL day, a day emptied, a batch of only old days changed them."""
    full = {name: rows["daily_revenue_full"] for name, rows in run.after.items()}
    assert any(row[0] is None for row in full["first load"])  # orders with no ordered_at
    days = {name: {row[0] for row in rows} for name, rows in full.items()}
    assert datetime(2025, 1, 4).date() not in days["a day left empty before the new rows"]
    assert datetime(2025, 1, 9).date() not in days["a day left empty after the new rows"]
    assert datetime(2025, 1, 12).date() not in days["the latest day emptied"]
    assert full["only old days"] != full["only an order dated NULL, off day 1"]


def test_without_the_guard_a_day_an_order_left_keeps_counting_it(run: Run) -> None:
    """An order moved to a later day than every other new row: its old day is before the
    recomputed days, and only the guard sees that it no longer counts it."""
    after = run.after["an order moved to a later day"]
    assert after["daily_revenue"] == after["daily_revenue_full"]
    unguarded = {row[0]: row[1] for row in after["daily_revenue_unguarded"]}
    full = {row[0]: row[1] for row in after["daily_revenue_full"]}
    left = _day(6).date()  # order 5's day in the first load
    assert unguarded[left] == full[left] + 1


def test_a_batch_of_new_days_recomputes_only_those_days(run: Run) -> None:
    """The point of it: a batch on the latest day leaves the earlier days as they were (a mark
    put on day 1 stays); when the guard sees an order left an earlier day, every day is
    recomputed (the mark goes)."""
    assert run.marked == {
        "new orders on the latest day": True,
        "an order moved to a later day": False,
    }


def test_a_failed_run_changes_nothing(run: Run) -> None:
    """The hooks' delete is in the model's transaction: the run that fails after it leaves the
    model as it was, and the next run, from the same mark, gets every day right."""
    names = list(run.after)
    before = run.after[names[names.index(FAILS) - 1]]
    assert run.after[FAILS]["daily_revenue"] == before["daily_revenue"]
    corrected = run.after["the amounts corrected"]
    assert corrected["daily_revenue"] == corrected["daily_revenue_full"]
    assert corrected["daily_revenue"] != before["daily_revenue"]
