"""The build loop with real files, the real watching loader and a warm builder.

Related files arriving apart (orders, then their payments): the settle window builds them
together; when a build starts before the second file is in, its retry re-pins bronze and takes
the second commit in; when the retries ran out first, the batch is ``failed`` (naming the build)
until the next build, whatever triggered it, covers the table again.
"""

from __future__ import annotations

from pathlib import Path

from loop_support import Live, drop_orders, drop_payments, loop_settings, timed

from lakehouse import Settings

WAIT_S = 180.0


def _first_wave(live: Live) -> None:
    drop_orders(live.settings, 1, 10)
    drop_payments(live.settings, 1, 10)
    timed(lambda: live.converged(10), WAIT_S, "the first wave in gold")
    assert live.builder.wait_idle(WAIT_S)


def _no_batch_failed(live: Live) -> dict[str, int]:
    counts = live.ledger.count_by_state()
    assert "failed" not in counts, live.ledger.batches(states=["failed"])
    return counts


def test_files_arriving_together_build_together(tmp_path: Path) -> None:
    settings = loop_settings(tmp_path, build_settle_ms=1500, build_settle_max_ms=10_000)
    with Live(settings) as live:
        _first_wave(live)
        builds = live.builder.builds
        drop_orders(settings, 11, 20)
        timed(lambda: live.bronze_version("orders") >= 1, WAIT_S, "the orders commit")
        drop_payments(settings, 11, 20)  # within the settle window of the orders commit
        seconds = timed(lambda: live.converged(20), WAIT_S, "gold with orders 11-20 paid")
        assert live.builder.wait_idle(WAIT_S)
        assert live.builder.builds == builds + 1, live.ledger.builds(limit=3)
        build = live.ledger.builds(limit=1)[0]
        assert build.state == "succeeded"
        assert set(build.read_versions) == {"orders", "payments"}
        assert _no_batch_failed(live) == {"published": 4}
    print(f"orders+payments 11-20, one build: gold in {seconds:.2f}s")  # noqa: T201


def test_a_build_that_started_too_early_converges_on_its_retry(tmp_path: Path) -> None:
    # No settle window: the orders build starts before the payments file is even written.
    settings = loop_settings(tmp_path, build_settle_ms=0, build_settle_max_ms=0)
    with Live(settings, attempts=3, backoff_s=0.5) as live:
        _first_wave(live)
        builds = live.builder.builds
        drop_orders(settings, 11, 20)
        timed(live.running_build, WAIT_S, "the orders build to start")
        drop_payments(settings, 11, 20)
        seconds = timed(lambda: live.converged(20), WAIT_S, "gold with orders 11-20 paid")
        assert live.builder.wait_idle(WAIT_S)
        history = live.ledger.builds(limit=live.builder.builds - builds)
        assert history[-1].state == "failed", history  # the early build: payments missing
        assert "not_null_order_totals_amount" in (history[-1].error or "")
        assert history[0].state == "succeeded"
        assert set(history[0].read_versions) == {"orders", "payments"}
        assert _no_batch_failed(live) == {"published": 4}
    print(f"orders, payments during its build: gold in {seconds:.2f}s")  # noqa: T201


def test_a_failed_batch_is_healed_by_the_file_that_completes_it(tmp_path: Path) -> None:
    settings = loop_settings(tmp_path, build_settle_ms=0, build_settle_max_ms=0)
    with Live(settings, attempts=1) as live:
        _first_wave(live)
        orders = drop_orders(settings, 11, 20)
        timed(lambda: live.ledger.count_by_state().get("failed") == 1, WAIT_S, "a failed batch")
        (failed,) = live.ledger.batches(states=["failed"])
        assert failed.source_file == orders.name
        build = live.ledger.get_build(failed.build_id or 0)
        assert build is not None and build.state == "failed"
        assert failed.error is not None and failed.error["build_id"] == build.build_id
        assert "not_null_order_totals_amount" in failed.error["detail"]
        assert set(live.builder.owed) == {"orders"}
        assert len(live.totals()) == 10  # gold keeps the last good build meanwhile

        drop_payments(settings, 11, 20)  # a commit of *another* table completes the orders
        seconds = timed(lambda: live.converged(20), WAIT_S, "gold with orders 11-20 paid")
        timed(lambda: "failed" not in live.ledger.count_by_state(), WAIT_S, "the batch healed")
        healed = live.ledger.get_batch(failed.batch_id)
        assert healed is not None and healed.state == "published" and healed.error is None
        assert healed.build_id is not None and healed.build_id > build.build_id
        assert live.builder.owed == {}
        assert _no_batch_failed(live) == {"published": 4}
    print(f"failed orders healed by payments: gold in {seconds:.2f}s")  # noqa: T201


def test_the_settle_window_settings_are_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "dbt.md").read_text()
    for name in ("build_settle_ms", "build_settle_max_ms"):
        field = Settings.model_fields[name]
        assert field.description, name
        assert f"`{name}` (default {field.default} ms)" in docs, name
