"""A foreign project's habits: dbt packages (a ``local:`` one, offline), a model no source feeds
(a date spine), a model outside ``staging/`` and ``marts/`` (reported, not published), a Python
model on Polars; with real files, the real loader and a warm builder."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from deltalake import DeltaTable
from loop_support import drop_orders
from runtime_support import REPO, bronze_sources, write_project

from app.service import run_load
from lakehouse import Settings
from lakehouse.status import collect_status
from transform import BuildRequest, run_build

SOURCES = bronze_sources("orders")
MODELS = {
    "packages.yml": "packages:\n  - local: ../shop_utils\n",
    "models/staging/_sources.yml": SOURCES,
    "models/staging/stg_orders.sql": """
        select cast(order_id as bigint) as order_id,
            {{ shop_utils.euros('customer_id * 150') }} as amount
        from {{ source('bronze', 'orders') }}
    """,
    "models/marts/calendar.sql": """
        select cast(d as date) as day
        from range(date '2026-01-01', date '2026-01-08', interval 1 day) as t(d)
    """,
    "models/reports/orders_report.sql": "select count(*) as orders from {{ ref('stg_orders') }}",
}
PACKAGE = {
    "dbt_project.yml": """
        name: shop_utils
        version: "1.0.0"
        config-version: 2
        macro-paths: ["macros"]
    """,
    "macros/euros.sql": """
        {% macro euros(cents) %}cast(({{ cents }}) / 100 as decimal(18, 2)){% endmacro %}
    """,
}


@pytest.fixture
def foreign(tmp_path: Path) -> Settings:
    for name, text in PACKAGE.items():
        path = tmp_path / "shop_utils" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    project = write_project(tmp_path / "project", MODELS)
    return Settings(
        root=tmp_path,
        dbt_project_dir=project,
        profiles_dir=REPO,
        dbt_target="dev",
        batch_window_ms=0,
        build_settle_ms=0,
    )


def _gold(settings: Settings, name: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = (
        DeltaTable(str(settings.dados / "gold" / name)).to_pyarrow_table().to_pylist()
    )
    return rows


def test_packages_a_date_spine_and_models_outside_the_layers(
    foreign: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    drop_orders(foreign, 1, 3)
    assert run_load(foreign) == 0
    out = capsys.readouterr().out
    # dbt deps ran by itself: the local package's macro converted the cents
    assert (foreign.dbt_project_dir / "dbt_packages" / "shop_utils").exists()
    silver = DeltaTable(str(foreign.dados / "silver" / "stg_orders")).to_pyarrow_table()
    assert sorted(str(a) for a in silver["amount"].to_pylist()) == ["1.50", "3.00", "4.50"]
    # the date spine, which no bronze commit selects, was built by the first build, and said so
    assert [str(r["day"]) for r in _gold(foreign, "calendar")][:2] == ["2026-01-01", "2026-01-02"]
    assert "built with no source feeding them: calendar" in out
    # the model outside staging/ and marts/ built, was not published, and the summary says why
    assert "model.lakehouse.orders_report" in out and "models/staging/" in out
    assert not (foreign.dados / "silver" / "orders_report").exists()
    assert not (foreign.dados / "gold" / "orders_report").exists()
    status = collect_status(foreign)
    why = status["not_published"]["model.lakehouse.orders_report"]
    assert why.startswith("by rule:") and "reports/" in why

    calendar = DeltaTable(str(foreign.dados / "gold" / "calendar"))
    assert run_build(foreign, BuildRequest()) == 0  # lakehouse build: everything, spine too
    out = capsys.readouterr().out
    assert "gold/calendar" in out and "calendar" in out.split("no source feeding them:")[1]
    assert DeltaTable(str(foreign.dados / "gold" / "calendar")).version() == calendar.version()


def test_a_changed_packages_yml_installs_again_and_a_bad_one_is_named(
    foreign: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    drop_orders(foreign, 1, 3)
    assert run_load(foreign) == 0
    marker = foreign.dbt_project_dir / "dbt_packages" / ".lakehouse-deps"
    first = marker.read_text()
    (foreign.dbt_project_dir / "packages.yml").write_text("packages:\n  - local: ../nowhere\n")
    capsys.readouterr()
    assert run_build(foreign, BuildRequest()) == 1
    err = capsys.readouterr().err
    assert "dbt deps failed" in err
    assert marker.read_text() == first  # the failed install is not recorded as done
    manifest = foreign.dbt_project_dir / "target" / "manifest.json"
    assert json.loads(manifest.read_text())["metadata"]["project_name"] == "lakehouse"
