"""Contracts from the dbt bronze sources YAML (lakehouse.contracts)."""

from __future__ import annotations

import os
from pathlib import Path

from api_support import SOURCES, make_settings, write_dbt_project

from lakehouse.contracts import ContractStore, load_contracts, normalize_type, type_kind


def test_bronze_sources_are_contracts(tmp_path: Path) -> None:
    contracts = load_contracts(make_settings(tmp_path))
    assert set(contracts) == {"orders", "customers"}  # not the other source's tables
    orders = contracts["orders"]
    assert orders.primary_key == ("order_id",)
    assert orders.required == ("order_id", "customer_id", "currency", "ordered_at")
    amount = orders.column("amount")
    assert amount is not None and amount.kind == "decimal" and not amount.required
    quantity = orders.column("quantity")
    assert quantity is not None and quantity.int_range == (-32768, 32767)
    assert contracts["customers"].required == ()


def test_type_names() -> None:
    assert normalize_type("decimal(12, 2)") == "DECIMAL"
    assert normalize_type("int8") == "BIGINT"
    assert normalize_type("timestamp with time zone") == "TIMESTAMPTZ"
    assert normalize_type("  varchar(20) ") == "VARCHAR"
    assert type_kind("timestamp   with time zone") == "timestamp"
    assert type_kind("integer[]") == "any"
    assert type_kind("struct(a int)") == "any"
    assert type_kind(None) == "any"


def test_yaml_variants_and_broken_files(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    models = settings.dbt_project_dir / "models"
    (models / "marts").mkdir()
    (models / "marts" / "broken.yml").write_text("sources: [unclosed\n")
    (models / "marts" / "more.yaml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        "      - name: events\n        meta: {primary_key: event_id}\n"
        "        columns:\n          - name: event_id\n            data_type: uuid\n"
        "      - name: Bad-Name\n"
    )
    contracts = load_contracts(settings)
    assert set(contracts) == {"orders", "customers", "events"}
    events = contracts["events"]
    assert events.primary_key == ("event_id",) and events.required == ("event_id",)


def test_store_rereads_changed_yaml(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = ContractStore(settings, refresh_s=0)
    assert store.get("orders") is not None
    path = write_dbt_project(tmp_path, SOURCES.replace("name: orders", "name: purchases"))
    os.utime(path / "models" / "staging" / "_bronze__sources.yml", ns=(1, 1))
    assert store.get("orders") is None
    assert store.get("purchases") is not None


def test_no_dbt_project_means_no_contracts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, dbt_project_dir=tmp_path / "missing")
    assert load_contracts(settings) == {}
