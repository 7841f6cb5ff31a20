"""The pipeline's history as a dbt source and a model: the run ledger published as the Delta
table dados/ops/batches, read by a project through `source('lakehouse', 'batches')` (the
sample's models/ops folder, copied as it is), built into gold/pipeline_latency, which
`lakehouse status` shows. A project without that source gets the table and nothing else.

Real loader, builder, dbt and Delta tables; waits are on events with bounded timeouts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from runtime_support import REPO, project_settings, write_project
from test_builder import MODELS, Shop
from waiting import wait_for

from lakehouse import Settings
from lakehouse.history import HISTORY_TABLE, _from_ledger, ops_table_path
from lakehouse.status import collect_status, latency_lines
from transform import Builder

OPS_CONFIG = """
    ops:
      +materialized: table
      +meta:
        publish: gold
"""


def _project(tmp_path: Path, *, with_ops: bool) -> Settings:
    files = dict(MODELS)
    if with_ops:
        from runtime_support import PROJECT_YML

        files["dbt_project.yml"] = PROJECT_YML + OPS_CONFIG
    project = write_project(tmp_path / "project", files)
    if with_ops:  # the sample project's own source and model, as they are
        shutil.copytree(REPO / "dbt_project" / "models" / "ops", project / "models" / "ops")
    return project_settings(tmp_path, project, target="dev")


def _gold(settings: Settings, name: str) -> pl.DataFrame:
    return pl.read_delta(str(settings.dados / "gold" / name))


@pytest.fixture
def shop_with_ops(tmp_path: Path) -> Shop:
    shop = Shop(_project(tmp_path, with_ops=True))
    shop.builder.start()
    yield shop  # type: ignore[misc]
    shop.builder.stop()


@pytest.mark.slow
def test_latency_is_a_model_status_shows(shop_with_ops: Shop) -> None:
    shop = shop_with_ops
    shop.load(3)
    refresh = shop.builder.history_now(120)
    assert refresh.error is None
    assert refresh.history is not None and refresh.history.rows == 3
    assert refresh.build is not None and refresh.build.success, refresh.build
    assert refresh.build.published["gold/pipeline_latency"] >= 0
    assert refresh.build.read_versions == {}  # it read no bronze: published no batch

    history = pl.read_delta(str(ops_table_path(shop.settings, HISTORY_TABLE)))
    assert sorted(history["batch_id"].to_list()) == sorted(
        b.batch_id for b in shop.ledger.batches(states=["published"])
    )
    model = _gold(shop.settings, "pipeline_latency").to_dicts()
    assert [r["table_name"] for r in model] == ["orders"] and model[0]["batches"] == 3
    # the model computes what the ledger says (the same figures, by another road)
    expected = {k: v for k, v in _from_ledger(shop.settings)[0].items() if k != "table"}
    got = {k: round(v, 3) if isinstance(v, float) else v for k, v in model[0].items()}
    assert {k: got[k] for k in expected} == expected
    assert 0 < got["to_bronze_p50_s"] <= got["total_p50_s"]

    status = collect_status(shop.settings)
    assert status["latency_source"].startswith("gold/pipeline_latency v")
    assert status["latency"][0]["table"] == "orders"
    assert status["latency"][0]["total_p95_s"] == round(model[0]["total_p95_s"], 3)
    lines = latency_lines(status["latency"], status["latency_source"])
    assert any("from gold/pipeline_latency v" in line for line in lines), lines
    assert all(len(line) <= 80 for line in lines), lines

    # nothing new: no commit to the history, no build of its models
    builds = shop.ledger.builds(limit=1)[0].build_id
    again = shop.builder.history_now(60)
    assert again.history is not None and again.history.rows == 0 and again.build is None
    assert shop.ledger.builds(limit=1)[0].build_id == builds


def test_a_running_loader_refreshes_it_by_itself(tmp_path: Path) -> None:
    settings = _project(tmp_path, with_ops=True)
    shop = Shop(settings)
    shop.builder = Builder(settings, history_every_s=0)
    shop.loader.on_event = shop.builder.submit
    shop.builder.start()
    try:
        shop.load(2)
        rows = wait_for(
            lambda: (
                (settings.dados / "gold" / "pipeline_latency").is_dir()
                and _gold(settings, "pipeline_latency").to_dicts()
            ),
            120,
            "gold/pipeline_latency published by the builder between builds",
        )
        assert rows[0]["batches"] == 2
        assert shop.builder.builds >= 1 and shop.builder.last_result is not None
        assert "gold/pipeline_latency" not in shop.builder.last_result.published  # not counted
    finally:
        shop.builder.stop()


def test_a_project_without_the_source_gets_the_table_only(tmp_path: Path) -> None:
    shop = Shop(_project(tmp_path, with_ops=False))
    shop.builder.start()
    try:
        shop.load(1)
        builds = shop.ledger.builds(limit=1)[0].build_id
        refresh = shop.builder.history_now(60)
        assert refresh.error is None and refresh.build is None
        assert refresh.history is not None and refresh.history.rows == 1
        assert shop.ledger.builds(limit=1)[0].build_id == builds  # no build for it
        assert collect_status(shop.settings)["latency_source"] == "run ledger"
    finally:
        shop.builder.stop()


def test_before_any_history_the_source_is_empty_not_missing(tmp_path: Path) -> None:
    """`lakehouse build` (or plain dbt) on a fresh lakehouse: no dados/ops/batches yet, so the
    source reads as the empty history (its columns, no rows); the model builds, empty."""
    from transform import BuildRequest

    shop = Shop(_project(tmp_path, with_ops=True))
    shop.builder.start()
    try:
        result = shop.builder.request(BuildRequest(["source:lakehouse.batches+"])).result(120)
        assert result.success, result.error
        assert "gold/pipeline_latency" in result.published
        assert _gold(shop.settings, "pipeline_latency").height == 0
        assert not ops_table_path(shop.settings, HISTORY_TABLE).exists()  # type: ignore[union-attr]
        assert collect_status(shop.settings)["latency"] == []
    finally:
        shop.builder.stop()


def test_a_failed_latency_model_is_built_again_once_fixed(shop_with_ops: Shop) -> None:
    shop = shop_with_ops
    model = shop.settings.dbt_project_dir / "models" / "ops" / "pipeline_latency.sql"
    good = model.read_text()
    model.write_text("select no_such_column from {{ source('lakehouse', 'batches') }}\n")
    shop.load(1)
    failed = shop.builder.history_now(120)
    assert failed.build is not None and not failed.build.success
    assert "no_such_column" in (failed.build.error or "")
    assert shop.builder.last_result is not None and shop.builder.last_result.success  # not it
    assert shop.ledger.count_by_state() == {"published": 1}  # no batch is failed by it

    model.write_text(good)
    fixed = shop.builder.history_now(120)
    assert fixed.history is not None and fixed.history.rows == 0  # nothing new in the history
    assert fixed.build is not None and fixed.build.success  # but the model is built again
    assert _gold(shop.settings, "pipeline_latency")["batches"].to_list() == [1]
