"""Models published while dbt builds the rest (transform.session._Overlap): only a model that
built and whose every test passed in this build, never one that failed, was rolled back, was
blocked by a test, or whose test did not run; everything else is published after dbt, as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from runtime_support import append_bronze, orders, project_settings, write_project

from lakehouse import Settings
from transform import BuildRequest, DbtSession
from transform import session as session_module

MODELS = {
    "models/staging/stg_good.sql": """
        select order_id, amount_cents from {{ source('bronze', 'orders') }}
    """,
    "models/staging/stg_warned.sql": """
        select order_id, null::bigint as missing from {{ source('bronze', 'orders') }}
    """,
    "models/staging/stg_bad_test.sql": """
        select order_id, null::bigint as missing from {{ source('bronze', 'orders') }}
    """,
    "models/staging/stg_error.sql": """
        select order_id from {{ source('bronze', 'orders') }} where no_such_column > 0
    """,
    "models/staging/stg_rolled_back.sql": """
        {{ config(post_hook="select * from no_such_table") }}
        select order_id, amount_cents * 2 as doubled from {{ source('bronze', 'orders') }}
    """,
    "models/staging/_staging.yml": """
        version: 2
        models:
          - name: stg_good
            columns:
              - name: order_id
                data_tests: [unique, not_null]
          - name: stg_warned
            columns:
              - name: missing
                data_tests: [{not_null: {config: {severity: warn}}}]
          - name: stg_bad_test
            columns:
              - name: missing
                data_tests: [not_null]
    """,
    "models/marts/gold_ok.sql": """
        select count(*) as orders, sum(amount_cents) as cents from {{ ref('stg_good') }}
    """,
    "models/marts/gold_after_bad.sql": """
        select count(*) as orders from {{ ref('stg_bad_test') }}
    """,
}


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, DbtSession, list]:
    """A project, a warm session (its first build done), and the models each later build's
    overlap published (a list per build)."""
    good = {k: v for k, v in MODELS.items() if "stg_rolled_back" not in k}
    good["models/staging/stg_rolled_back.sql"] = """
        select order_id, amount_cents * 2 as doubled from {{ source('bronze', 'orders') }}
    """
    settings = project_settings(tmp_path, write_project(tmp_path / "project", good))
    append_bronze(settings, "orders", orders(1, 20))
    taken: list[list[str]] = []
    real = session_module._Overlap.finish

    def finish(self: Any) -> dict[str, Any]:
        done = real(self)
        taken.append([m for m, early in done.items() if early.published is not None])
        return done

    monkeypatch.setattr(session_module._Overlap, "finish", finish)
    session = DbtSession(settings)
    first = session.build()
    assert "silver/stg_rolled_back" in first.published  # its post-hook still works
    return settings, session, taken


def published_rows(settings: Settings, target: str) -> list[dict[str, Any]]:
    table = DeltaTable(str(settings.dados / target)).to_pyarrow_table()
    return sorted(table.to_pylist(), key=lambda r: r["order_id"])


def test_only_models_built_and_passing_every_test_are_published_during_the_build(
    built: tuple[Settings, DbtSession, list],
) -> None:
    settings, session, taken = built
    # the post-hook now fails: dbt rolls the model's new rows back (status error)
    (settings.dbt_project_dir / "models/staging/stg_rolled_back.sql").write_text(
        MODELS["models/staging/stg_rolled_back.sql"]
    )
    before = published_rows(settings, "silver/stg_rolled_back")
    append_bronze(settings, "orders", orders(21, 5))
    result = session.build()
    assert not result.success
    # published during the build: the models that built and passed (or only warned)
    assert set(taken[-1]) == {
        "model.lakehouse.stg_good",
        "model.lakehouse.stg_warned",
        "model.lakehouse.gold_ok",
    }, taken
    assert {"silver/stg_good", "silver/stg_warned", "gold/gold_ok"} <= set(result.published)
    for blocked in ("stg_bad_test", "stg_error", "stg_rolled_back", "gold_after_bad"):
        assert f"model.lakehouse.{blocked}" in result.not_published, blocked
        assert not any(t.endswith(f"/{blocked}") for t in result.published), blocked
    assert not (settings.dados / "silver" / "stg_bad_test").exists()
    assert not (settings.dados / "silver" / "stg_error").exists()
    assert not (settings.dados / "gold" / "gold_after_bad").exists()
    # the rolled-back model keeps what its last good build published
    assert published_rows(settings, "silver/stg_rolled_back") == before
    assert len(published_rows(settings, "silver/stg_good")) == 25
    gold = DeltaTable(str(settings.dados / "gold" / "gold_ok")).to_pyarrow_table().to_pylist()
    assert gold == [{"orders": 25, "cents": sum(i * 100 for i in range(1, 26))}]


def test_a_model_whose_test_is_not_in_the_build_is_published_after_it(
    built: tuple[Settings, DbtSession, list],
) -> None:
    """The overlap waits for every test of a model; one this build leaves out never reports,
    so the model is published after dbt, by the publish rule as before."""
    settings, session, taken = built
    append_bronze(settings, "orders", orders(21, 5))
    request = BuildRequest(["stg_good", "gold_ok"], exclude=["unique_stg_good_order_id"])
    result = session.build(request)
    assert result.success, result.failures
    # the unique test did not run: stg_good waits for the end; gold_ok (no tests) went early
    assert taken[-1] == ["model.lakehouse.gold_ok"], taken
    assert {"silver/stg_good", "gold/gold_ok"} <= set(result.published)
    assert len(published_rows(settings, "silver/stg_good")) == 25


def test_no_overlap_publishes_the_same(
    built: tuple[Settings, DbtSession, list],
) -> None:
    settings, session, taken = built
    session.overlap = False
    builds = len(taken)
    append_bronze(settings, "orders", orders(21, 5))
    result = session.build(BuildRequest(["stg_good", "gold_ok"]))
    assert result.success, result.failures
    assert len(taken) == builds  # no overlap in this build
    assert len(published_rows(settings, "silver/stg_good")) == 25


@pytest.mark.slow
def test_a_test_saved_as_the_build_starts_blocks_the_publish(
    built: tuple[Settings, DbtSession, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project file saved between the overlap's parse and dbt's: the build runs on the new
    parse, whose new failing test the overlap never heard of: nothing is published early."""
    settings, session, taken = built
    before = DeltaTable(str(settings.dados / "silver" / "stg_good")).version()
    append_bronze(settings, "orders", orders(21, 5))
    real, saved = DbtSession.ensure_deps, []

    def ensure_deps(self: DbtSession) -> None:  # the operator saves a test at this moment
        if not saved:
            saved.append(True)
            test = settings.dbt_project_dir / "tests" / "stg_good_is_empty.sql"
            test.parent.mkdir(exist_ok=True)
            test.write_text("select * from {{ ref('stg_good') }}\n")  # fails: it has rows
        real(self)

    monkeypatch.setattr(DbtSession, "ensure_deps", ensure_deps)
    result = session.build(BuildRequest(["stg_good"]))

    assert saved and not result.success and taken[-1] == []
    assert "model.lakehouse.stg_good" in result.not_published
    after = DeltaTable(str(settings.dados / "silver" / "stg_good")).version()
    assert after == before, "published although its test failed in this build"
