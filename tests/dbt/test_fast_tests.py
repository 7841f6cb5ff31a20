"""Built-in data tests evaluated together (transform.fast_tests) never hide a failing test.

A real dbt project on real bronze Delta tables: every built-in generic test kind (``unique``,
``not_null``, ``accepted_values``, ``relationships``), with ``severity: warn``, ``where``,
``limit``, ``warn_if``/``error_if`` and a custom ``fail_calc``, plus a singular test and a
custom generic test that always run through dbt. Each data set is built twice on the same bronze
snapshot, by the fast path and by dbt alone, and dbt's own results (``run_results.json``: status,
failures, message) and the build's outcome (failures, what was published) must be the same.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pyarrow as pa
import pytest
from runtime_support import append_bronze, bronze_sources, project_settings, write_project

from lakehouse import Settings
from transform import BuildRequest, DbtSession

SOURCES = bronze_sources("orders", "customers")
MODELS = """
version: 2
models:
  - name: stg_customers
    columns:
      - name: customer_id
        data_tests:
          - unique
          - not_null
          - accepted_values:
              arguments: {values: [1, 2, 3], quote: false}
              config: {store_failures: true}
  - name: stg_orders
    columns:
      - name: order_id
        data_tests:
          - unique
          - not_null
      - name: status
        data_tests:
          - accepted_values:
              arguments: {values: [paid, shipped]}
      - name: customer_id
        data_tests:
          - relationships:
              arguments: {to: ref('stg_customers'), field: customer_id}
      - name: note
        data_tests:
          - not_null:
              config: {severity: warn}
      - name: coupon
        data_tests:
          - not_null:
              config: {where: "status = 'paid'"}
      - name: region
        data_tests:
          - accepted_values:
              arguments: {values: [north, south]}
              config: {warn_if: ">1", error_if: ">3"}
          - not_null:
              config: {limit: 2, error_if: ">1"}
          - unique_pair:
              arguments: {other: status}
      - name: amount
        data_tests:
          - not_null:
              config: {fail_calc: "coalesce(sum(case when amount is null then 1 else 0 end), 0)"}
"""
UNIQUE_PAIR = """
{% test unique_pair(model, column_name, other) %}
select {{ column_name }}, {{ other }} from {{ model }}
where {{ column_name }} = 'nowhere'
{% endtest %}
"""
SINGULAR = """
select * from {{ ref('stg_orders') }} where amount < 0
"""
FILES = {
    "models/staging/_sources.yml": SOURCES,
    "models/staging/_models.yml": MODELS,
    "models/staging/stg_orders.sql": "select * from {{ source('bronze', 'orders') }}",
    "models/staging/stg_customers.sql": "select * from {{ source('bronze', 'customers') }}",
    "macros/unique_pair.sql": UNIQUE_PAIR,
    "tests/no_negative_amounts.sql": SINGULAR,
}
#: the built-in tests (the fast path's); the others always run through dbt
BUILTIN = 11


def _orders(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema(
        [
            ("order_id", pa.int64()),
            ("customer_id", pa.int64()),
            ("status", pa.string()),
            ("note", pa.string()),
            ("coupon", pa.string()),
            ("region", pa.string()),
            ("amount", pa.int64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema)


def _clean(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "order_id": i,
            "customer_id": i % 3 + 1,
            "status": "paid" if i % 2 else "shipped",
            "note": "n",
            "coupon": "c",
            "region": "north",
            "amount": i,
        }
        for i in range(first, first + count)
    ]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, DbtSession]:
    root = tmp_path_factory.mktemp("fast_tests")
    project = write_project(root / "project", FILES)
    settings = project_settings(root, project)
    append_bronze(settings, "customers", pa.table({"customer_id": pa.array([1, 2, 3], pa.int64())}))
    append_bronze(settings, "orders", _orders(_clean(1, 6)))
    session = DbtSession(settings)
    first = session.build(BuildRequest([], unit_tests=False))  # dbt runs every test once
    assert first.success, first.failures
    return settings, session


def _build(settings: Settings, session: DbtSession, *, fast: bool) -> tuple[Any, dict[str, Any]]:
    """One build of everything; the build's outcome and dbt's results per test."""
    session.fast_tests = fast
    try:
        result = session.build(BuildRequest([], unit_tests=False))
    finally:
        session.fast_tests = True
    results = json.loads((settings.dbt_project_dir / "target" / "run_results.json").read_text())
    tests = {
        r["unique_id"]: (r["status"], r["failures"], r["message"])
        for r in results["results"]
        if r["unique_id"].startswith("test.")
    }
    outcome = (
        result.success,
        sorted(result.failures),
        sorted(result.not_published),
        sorted(result.published_ids),
    )
    return outcome, tests


def _served(session: DbtSession) -> set[str]:
    fast = session._fast
    assert fast is not None
    return set(fast.served)


def _replace_orders(settings: Settings, rows: list[dict[str, Any]]) -> None:
    from deltalake import write_deltalake

    from lakehouse import table_path

    path = str(table_path(settings, "bronze", "orders"))
    write_deltalake(path, _orders(rows), mode="overwrite")


def _compare(settings: Settings, session: DbtSession, rows: list[dict[str, Any]]) -> Any:
    """The fast build and dbt's own on ``rows``: the same outcome, the same test results."""
    _replace_orders(settings, rows)
    fast_outcome, fast_tests = _build(settings, session, fast=True)
    served = _served(session)
    dbt_outcome, dbt_tests = _build(settings, session, fast=False)
    assert fast_tests == dbt_tests
    assert fast_outcome == dbt_outcome
    # only passes are served; everything else is dbt's own run
    assert all(dbt_tests[t][0] == "pass" for t in served)
    return dbt_outcome, dbt_tests, served


def test_clean_data_is_served_by_one_query_per_model(shop: tuple[Settings, DbtSession]) -> None:
    settings, session = shop
    outcome, tests, served = _compare(settings, session, _clean(1, 8))
    assert outcome[0] is True
    assert len(tests) == BUILTIN + 3 and all(s == "pass" for s, _, _ in tests.values())
    # every built-in test; not the singular one, the custom one, nor one storing its failures
    assert len(served) == BUILTIN
    kept_out = ("no_negative", "unique_pair", "accepted_values_stg_customers")
    assert not any(k in t for t in served for k in kept_out)
    assert any("accepted_values_stg_customers" in t for t in tests)


def _set(column: str, values: list[Any]) -> Any:
    """A change to ``rows``: ``column`` of the first rows set to ``values``."""

    def change(rows: list[dict[str, Any]]) -> None:
        for row, value in zip(rows, values, strict=False):
            row[column] = value

    return change


def _duplicate(rows: list[dict[str, Any]]) -> None:
    rows[1]["order_id"] = rows[0]["order_id"]


#: case -> (the change, the test it breaks, dbt's status for it)
CASES: dict[str, tuple[Any, str, str]] = {
    "duplicate order_id": (_duplicate, "unique_stg_orders_order_id", "fail"),
    "null order_id": (_set("order_id", [None]), "not_null_stg_orders_order_id", "fail"),
    "unknown status": (_set("status", ["lost"]), "accepted_values_stg_orders_status", "fail"),
    "orphan customer": (_set("customer_id", [99]), "relationships_stg_orders", "fail"),
    "null note (severity warn)": (_set("note", [None]), "not_null_stg_orders_note", "warn"),
    # order 2 is shipped: outside the test's where; order 1 is paid
    "null coupon outside the where": (
        _set("coupon", ["c", None]),
        "not_null_stg_orders_coupon",
        "pass",
    ),
    "null coupon inside the where": (_set("coupon", [None]), "not_null_stg_orders_coupon", "fail"),
    # accepted_values counts distinct values: 2 warn (warn_if >1), 4 fail (error_if >3)
    "two bad regions": (
        _set("region", ["east", "west"]),
        "accepted_values_stg_orders_region",
        "warn",
    ),
    "four bad regions": (
        _set("region", ["east", "west", "up", "down"]),
        "accepted_values_stg_orders_region",
        "fail",
    ),
    # 5 nulls, limit 2: dbt counts 2, error_if >1
    "null regions beyond the limit": (
        _set("region", [None] * 5),
        "not_null_stg_orders_region",
        "fail",
    ),
    "null amount (fail_calc)": (_set("amount", [None]), "not_null_stg_orders_amount", "fail"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_kind_failing_is_reported_as_dbt_reports_it(
    shop: tuple[Settings, DbtSession], case: str
) -> None:
    settings, session = shop
    change, failing, status = CASES[case]
    rows = _clean(1, 8)
    change(rows)
    outcome, tests, served = _compare(settings, session, rows)
    [test] = [t for t in tests if failing in t]
    assert tests[test][0] == status
    assert (test in served) == (status == "pass")
    assert outcome[0] is (status in ("pass", "warn"))
    if status == "fail":
        assert "model.lakehouse.stg_orders" in outcome[2]  # not published
    if case == "null regions beyond the limit":
        assert tests[test][1] == 2  # the limit holds


def test_adversarial_data_sets_agree_with_dbt(shop: tuple[Settings, DbtSession]) -> None:
    """Seeded random damage around every threshold: the fast build's verdicts are dbt's."""
    settings, session = shop
    rng = random.Random(10)
    for _ in range(4):
        rows = _clean(1, 10)
        for _ in range(rng.randint(0, 4)):
            row = rng.choice(rows)
            column = rng.choice(["order_id", "customer_id", "status", "note", "coupon", "region"])
            row[column] = rng.choice([None, rows[0][column], "east", 99, "lost"])
            if column in ("order_id", "customer_id") and isinstance(row[column], str):
                row[column] = None
            if column not in ("order_id", "customer_id") and isinstance(row[column], int):
                row[column] = "x"
        _compare(settings, session, rows)


def test_a_changed_column_set_is_compiled_again(shop: tuple[Settings, DbtSession]) -> None:
    """A kept compiled test is used only while its model's columns are what they were."""
    settings, session = shop
    _compare(settings, session, _clean(1, 8))
    assert _served(session)
    rows = [{**row, "extra": "x"} for row in _clean(1, 8)]
    table = _orders(_clean(1, 8)).append_column("extra", pa.array([r["extra"] for r in rows]))
    from deltalake import write_deltalake

    from lakehouse import table_path

    write_deltalake(
        str(table_path(settings, "bronze", "orders")),
        table,
        mode="overwrite",
        schema_mode="overwrite",
    )
    outcome, _ = _build(settings, session, fast=True)
    assert outcome[0] is True
    served = _served(session)
    # stg_orders changed its columns: its tests ran through dbt; stg_customers' did not
    assert served and not any("stg_orders" in t for t in served)
    outcome, _ = _build(settings, session, fast=True)
    assert any("stg_orders" in t for t in _served(session))
