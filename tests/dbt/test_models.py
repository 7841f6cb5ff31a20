"""The sample domain's dbt project, built for real on bronze Delta tables loaded by the loader.

One module-scoped lakehouse goes through five builds, and the tests assert on what each left:

A. wave 1 of the sample data loaded, first build (every model created);
B. wave 2 loaded (updates, late stale versions, repeats), incremental build of silver;
C. a bronze commit stamped 3 minutes *before* the newest ``_ingested_at`` (out of order), build;
D. the same build again with nothing new (a retry);
E. ``--full-refresh`` of everything.

The fixture runs every build and keeps what each left; the tests only read that, so any of them
passes alone (``-k``) and in any order (``-p random_order --random-order``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from dbt_harness import REPO, DbtProject, lakehouse_env
from deltalake import DeltaTable

from app import sample_files, write_files
from loader import Loader

ROWS = 200
SILVER_KEYS = {
    "stg_shop__customers": "customer_id",
    "stg_shop__products": "product_id",
    "stg_shop__orders": "order_id",
    "stg_shop__order_lines": "order_line_id",
    "stg_shop__payments": "payment_id",
    "stg_shop__events": "event_id",
}
BRONZE = ("customers", "products", "orders", "order_lines", "payments", "events")
MARTS = (
    "orders",
    "daily_revenue",
    "customer_lifetime_value",
    "funnel_conversion",
    "customer_order_rhythm",
)
OUT_OF_ORDER_EVENTS = ("ooo-0001", "ooo-0002")

#: Stages B-D build everything incrementally (silver, int_orders_totaled, gold orders).
INCREMENTAL = ["build"]
FULL_REFRESH = ["build", "--full-refresh"]
#: Incremental models downstream of silver, with their keys: equal to a full refresh too.
DERIVED_KEYS = {"int_orders_totaled": "order_id", "orders": "order_id"}

Snapshot = dict[str, list[dict[str, Any]]]


@dataclass
class Shop:
    project: DbtProject
    results: dict[str, Any] = field(default_factory=dict)
    silver: dict[str, Snapshot] = field(default_factory=dict)
    derived: dict[str, Snapshot] = field(default_factory=dict)

    def snapshot(self, keys: dict[str, str] = SILVER_KEYS) -> Snapshot:
        return {
            model: self.project.table(model).sort_by(key).to_pylist() for model, key in keys.items()
        }


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    project = DbtProject(tmp_path_factory.mktemp("shop"), REPO / "dbt_project")
    settings = project.settings
    files = sample_files(ROWS)
    shop = Shop(project)
    with lakehouse_env(project):
        for wave, stage, args in ((1, "A", ["build"]), (2, "B", INCREMENTAL)):
            write_files([f for f in files if f.wave == wave], settings.raw_dir)
            summary = Loader(settings).load_pending()
            assert summary.loaded and not summary.quarantined
            shop.results[stage] = project.dbt(*args)
            shop.silver[stage] = shop.snapshot()
            shop.derived[stage] = shop.snapshot(DERIVED_KEYS)

        newest = max(shop.silver["B"]["stg_shop__events"], key=lambda r: r["_ingested_at"])
        known = dict(shop.silver["B"]["stg_shop__events"][0])
        late_new = [
            {**known, "event_id": event_id, "session_id": "ooo-session"}
            for event_id in OUT_OF_ORDER_EVENTS
        ]
        project.append_bronze(
            "events",
            [*late_new, known],  # two new events and a repeat of one already held
            _ingested_at=newest["_ingested_at"] - timedelta(minutes=3),
            _batch_id="bat_" + "0" * 32,
            _source_file="events_out_of_order.ndjson",
        )
        for stage, args in (("C", INCREMENTAL), ("D", INCREMENTAL), ("E", FULL_REFRESH)):
            shop.results[stage] = project.dbt(*args)
            shop.silver[stage] = shop.snapshot()
            shop.derived[stage] = shop.snapshot(DERIVED_KEYS)
        shop.results["freshness"] = project.dbt("source", "freshness")
        yield shop


def _bronze(shop: Shop, table: str) -> list[dict[str, Any]]:
    path = shop.project.settings.dados / "bronze" / table
    rows: list[dict[str, Any]] = DeltaTable(str(path)).to_pyarrow_dataset().to_table().to_pylist()
    return rows


def _latest(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    """The documented rule, written independently: latest updated_at, _ingested_at, _source_file."""
    winners: dict[Any, dict[str, Any]] = {}
    for row in rows:
        rank = (row["updated_at"], row["_ingested_at"], row["_source_file"])
        held = winners.get(row[key])
        if held is None or rank > (held["updated_at"], held["_ingested_at"], held["_source_file"]):
            winners[row[key]] = row
    return winners


def _statuses(result: Any) -> dict[str, str]:
    return {r.node.unique_id: str(r.status) for r in result.results}


@pytest.mark.parametrize("stage", ["A", "B", "C", "D", "E"])
def test_every_build_passes_every_model_and_test(shop: Shop, stage: str) -> None:
    statuses = _statuses(shop.results[stage])
    bad = {node: status for node, status in statuses.items() if status not in ("success", "pass")}
    assert not bad
    models = {n for n in statuses if n.startswith("model.")}
    assert len(models) == 14  # every stage builds every model (pipeline_latency included)
    assert sum(n.startswith("test.") for n in statuses) > 60


def test_unit_tests_run_in_dbt_build(shop: Shop) -> None:
    unit = {n: s for n, s in _statuses(shop.results["A"]).items() if n.startswith("unit_test.")}
    assert len(unit) == 4
    assert set(unit.values()) == {"pass"}


def test_source_freshness_is_declared_and_passes_on_fresh_bronze(shop: Shop) -> None:
    statuses = _statuses(shop.results["freshness"])
    assert sorted(statuses) == sorted(f"source.lakehouse.bronze.{t}" for t in BRONZE)
    assert set(statuses.values()) == {"pass"}


@pytest.mark.parametrize(
    ("model", "table", "key", "columns"),
    [
        ("stg_shop__orders", "orders", "order_id", {"order_status": "status"}),
        ("stg_shop__customers", "customers", "customer_id", {"email": "email"}),
        ("stg_shop__payments", "payments", "payment_id", {"payment_status": "status"}),
        ("stg_shop__order_lines", "order_lines", "order_line_id", {"quantity": "quantity"}),
    ],
)
def test_silver_keeps_the_documented_winner(
    shop: Shop, model: str, table: str, key: str, columns: dict[str, str]
) -> None:
    winners = _latest(_bronze(shop, table), key)
    silver = {row[key]: row for row in shop.silver["B"][model]}
    assert silver.keys() == winners.keys()
    for silver_column, bronze_column in columns.items():
        expected = {k: str(w[bronze_column]).lower() for k, w in winners.items()}
        got = {k: str(row[silver_column]).lower() for k, row in silver.items()}
        assert got == expected
    assert {k: r["updated_at"] for k, r in silver.items()} == {
        k: w["updated_at"] for k, w in winners.items()
    }


def test_late_stale_versions_lose_and_updates_win(shop: Shop) -> None:
    bronze = _bronze(shop, "orders")
    winners = _latest(bronze, "order_id")
    stale = [
        r for r in bronze if r["updated_at"] < winners[r["order_id"]]["updated_at"]
    ]  # the generator sends stale "placed" versions after newer ones, and updates
    late = [r for r in stale if r["_source_file"].startswith("orders_w2")]
    assert late, "the sample data must contain late stale versions"
    silver = {r["order_id"]: r for r in shop.silver["B"]["stg_shop__orders"]}
    for row in late:
        assert silver[row["order_id"]]["updated_at"] > row["updated_at"]
    updated = [r for r in bronze if r["_source_file"].startswith("orders_w2") and r not in stale]
    assert updated
    assert all(silver[r["order_id"]]["order_status"] == r["status"] for r in updated)


def test_repeated_records_collapse(shop: Shop) -> None:
    bronze_events = _bronze(shop, "events")
    distinct = {r["event_id"] for r in bronze_events}
    assert len(bronze_events) > len(distinct), "the sample data must repeat events"
    assert len(shop.silver["B"]["stg_shop__events"]) == len(distinct - set(OUT_OF_ORDER_EVENTS))
    lines = _bronze(shop, "order_lines")
    assert len(lines) > len({r["order_line_id"] for r in lines})
    assert len(shop.silver["B"]["stg_shop__order_lines"]) == len(
        {r["order_line_id"] for r in lines}
    )


def test_first_delivery_of_an_event_wins(shop: Shop) -> None:
    first: dict[str, tuple[Any, str]] = {}
    for row in _bronze(shop, "events"):
        rank = (row["_ingested_at"], row["_source_file"])
        first[row["event_id"]] = min(first.get(row["event_id"], rank), rank)
    silver = shop.silver["E"]["stg_shop__events"]
    assert {r["event_id"]: (r["_ingested_at"], r["_source_file"]) for r in silver} == first


def test_out_of_order_commit_is_absorbed(shop: Shop) -> None:
    before = {r["event_id"] for r in shop.silver["B"]["stg_shop__events"]}
    after = {r["event_id"] for r in shop.silver["C"]["stg_shop__events"]}
    assert after - before == set(OUT_OF_ORDER_EVENTS)
    assert (
        len(shop.silver["C"]["stg_shop__events"]) == len(shop.silver["B"]["stg_shop__events"]) + 2
    )


def test_a_retried_build_changes_nothing(shop: Shop) -> None:
    assert shop.silver["D"] == shop.silver["C"]


def test_incremental_equals_full_refresh(shop: Shop) -> None:
    assert shop.silver["E"] == shop.silver["D"]
    assert all(shop.silver["E"][model] for model in SILVER_KEYS)


def _without_lineage(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "_ingested_at"} for r in rows]


def test_incremental_marts_equal_a_full_refresh(shop: Shop) -> None:
    """int_orders_totaled and gold orders, built incrementally through B-D, then rebuilt."""
    for model in DERIVED_KEYS:
        incremental, full = shop.derived["D"][model], shop.derived["E"][model]
        assert incremental and incremental == full, model
    # wave 2's updates reached gold through the incremental path (stage B), not a rebuild
    orders_a = {r["order_id"]: r for r in shop.derived["A"]["orders"]}
    changed = [r for r in shop.derived["B"]["orders"] if orders_a.get(r["order_id"]) != r]
    assert changed
    assert all(
        r["_ingested_at"] > min(o["_ingested_at"] for o in orders_a.values()) for r in changed
    )
    assert _without_lineage(shop.derived["B"]["orders"]) != _without_lineage(
        shop.derived["A"]["orders"]
    )


def _declared_types() -> dict[str, dict[str, str]]:
    spec = yaml.safe_load((REPO / "dbt_project/models/marts/_marts__models.yml").read_text())
    return {m["name"]: {c["name"]: c["data_type"] for c in m["columns"]} for m in spec["models"]}


def _norm(data_type: str) -> str:
    return data_type.upper().replace(" ", "")


def test_gold_contracts_hold(shop: Shop) -> None:
    declared = _declared_types()
    assert set(declared) == set(MARTS)
    for mart in MARTS:
        actual = shop.project.column_types(mart)
        assert {c: _norm(t) for c, t in actual.items()} == {
            c: _norm(t) for c, t in declared[mart].items()
        }
        assert shop.project.query(f"select count(*) from main.{mart}")[0][0] > 0


def test_published_models_have_deliberate_types(shop: Shop) -> None:
    for model in [*SILVER_KEYS, *MARTS]:
        for column, data_type in shop.project.column_types(model).items():
            assert data_type not in ("HUGEINT", "TIMESTAMP", "TIMESTAMP_NS"), (model, column)
            assert not data_type.startswith("DECIMAL(38"), (model, column, data_type)


def test_gold_reconciles_with_silver(shop: Shop) -> None:
    (revenue,) = shop.project.query("select sum(net_revenue) from main.daily_revenue")[0]
    (clv,) = shop.project.query("select sum(lifetime_value) from main.customer_lifetime_value")[0]
    assert revenue == clv > 0
    (orders,) = shop.project.query("select count(*) from main.orders")[0]
    assert orders == len(shop.silver["E"]["stg_shop__orders"]) == ROWS


def test_every_model_and_column_is_described_and_tested(shop: Shop) -> None:
    manifest = shop.project.manifest()
    models = {k: n for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    tested = {
        dep
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        for dep in n["depends_on"]["nodes"]
    }
    for unique_id, node in models.items():
        assert node["description"].strip(), unique_id
        actual = set(shop.project.column_types(node["name"]))
        assert set(node["columns"]) == actual, unique_id
        assert all(c["description"].strip() for c in node["columns"].values()), unique_id
        assert unique_id in tested, unique_id
        publish = node["config"]["meta"]["publish"]
        folder = Path(node["original_file_path"]).parts[1]
        layers = {"staging": "silver", "marts": "gold", "ops": "gold", "intermediate": "none"}
        assert publish == layers[folder]
    for source in manifest["sources"].values():
        assert source["description"].strip() and source["columns"]
        assert all(c["description"].strip() and c["data_type"] for c in source["columns"].values())


def test_silver_keeps_bronze_lineage_columns(shop: Shop) -> None:
    batches = {r["_batch_id"] for r in _bronze(shop, "orders")}
    silver = shop.silver["E"]["stg_shop__orders"]
    assert {r["_batch_id"] for r in silver} <= batches
    assert all(isinstance(r["_source_file"], str) for r in silver)


def test_orders_mart_flags_revenue(shop: Shop) -> None:
    rows = shop.project.table("orders")
    flags = dict(
        zip(
            rows.column("order_status").to_pylist(),
            rows.column("is_revenue").to_pylist(),
            strict=True,
        )
    )
    assert flags.get("cancelled") is False
    assert flags.get("delivered") is True
    ordered_at = rows.schema.field("ordered_at").type
    assert pa.types.is_timestamp(ordered_at) and ordered_at.tz in ("UTC", "Etc/UTC")
