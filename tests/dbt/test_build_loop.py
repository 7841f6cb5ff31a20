"""The build loop with real files, the real watching loader and a warm builder.

Related files arriving apart (orders, then their payments): the settle window builds them
together; when a build starts before the second file is in, its retry re-pins bronze and takes
the second commit in; when the retries ran out first, the batch is ``failed`` (naming the build)
until the next build, whatever triggered it, covers the table again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable
from fastapi.testclient import TestClient
from loop_support import Live, drop_orders, drop_payments, loop_settings, put, timed

from app.service import run_load, run_replay
from ingest import create_app
from lakehouse import Ledger, Settings
from transform import BuildRequest, run_build

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


def _built_together(live: Live, builds: int, *, published: int) -> None:
    """One more build than ``builds``, of orders and payments together; no batch failed."""
    assert live.builder.wait_idle(WAIT_S)
    assert live.builder.builds == builds + 1, live.ledger.builds(limit=3)
    build = live.ledger.builds(limit=1)[0]
    assert build.state == "succeeded"
    assert set(build.read_versions) == {"orders", "payments"}
    assert _no_batch_failed(live) == {"published": published}


def test_files_arriving_together_build_together(tmp_path: Path) -> None:
    # The window itself: payments land after the orders commit, with nothing in between in the
    # landing zone (the early start would build the orders alone; see the tests below).
    settings = loop_settings(
        tmp_path, build_settle_ms=1500, build_settle_max_ms=10_000, build_settle_early=False
    )
    with Live(settings) as live:
        _first_wave(live)
        builds = live.builder.builds
        drop_orders(settings, 11, 20)
        timed(lambda: live.bronze_version("orders") >= 1, WAIT_S, "the orders commit")
        drop_payments(settings, 11, 20)  # within the settle window of the orders commit
        seconds = timed(lambda: live.converged(20), WAIT_S, "gold with orders 11-20 paid")
        _built_together(live, builds, published=4)
    print(f"orders+payments 11-20, one build: gold in {seconds:.2f}s")  # noqa: T201


#: a settle window no test waits out: a build that starts within WAIT_S started early
LONG_MS = 600_000


def test_a_lone_wave_builds_without_waiting_out_the_window(tmp_path: Path) -> None:
    settings = loop_settings(tmp_path, build_settle_ms=LONG_MS, build_settle_max_ms=LONG_MS)
    drop_orders(settings, 1, 10)  # both in the landing zone before the loader starts
    drop_payments(settings, 1, 10)
    with Live(settings) as live:
        seconds = timed(lambda: live.converged(10), WAIT_S, "gold, long before the window ends")
        _built_together(live, 0, published=2)
        assert len(live.ledger.builds(limit=2)) == 1
    print(f"orders+payments 1-10 with a {LONG_MS} ms window: gold in {seconds:.2f}s")  # noqa: T201


def test_a_write_in_progress_holds_the_early_start(tmp_path: Path) -> None:
    # A client's batch of payments is still being received (the API's temporary file) when the
    # orders commit: the build waits for it instead of failing on the unpaid orders.
    settings = loop_settings(tmp_path, build_settle_ms=LONG_MS, build_settle_max_ms=LONG_MS)
    drop_orders(settings, 1, 10)
    drop_payments(settings, 1, 10)
    with Live(settings) as live:
        timed(lambda: live.converged(10), WAIT_S, "the first wave in gold")
        assert live.builder.wait_idle(WAIT_S)
        builds = live.builder.builds
        receiving = settings.raw_dir / "payments" / ".bat_0123456789abcdef0123456789abcdef.csv.tmp"
        receiving.write_text("payment_id,order_id,amount\n")
        drop_orders(settings, 11, 20)
        # the orders commit is pending and stays so (a build takes its pending commits at once)
        timed(lambda: live.builder.state()["pending"] == ["orders"], WAIT_S, "the orders held")
        assert not live.running_build()
        with receiving.open("a") as body:
            body.write("".join(f"{i},{i},10.50\n" for i in range(11, 21)))
        receiving.rename(settings.raw_dir / "payments" / "payments_11_20.csv")
        timed(lambda: live.converged(20), WAIT_S, "gold with orders 11-20 paid")
        _built_together(live, builds, published=4)


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
        with TestClient(create_app(settings, host="127.0.0.1")) as api:  # the client's view
            seen = api.get(f"/v1/batches/{failed.batch_id}").json()
        assert seen["state"] == "failed" and seen["build_id"] == build.build_id
        assert "not_null_order_totals_amount" in seen["error"]["detail"]

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


def _break_the_mart(settings: Settings) -> tuple[Path, str]:
    mart = settings.dbt_project_dir / "models" / "marts" / "order_totals.sql"
    good = mart.read_text()
    mart.write_text("select no_such_column from {{ ref('stg_orders') }}\n")
    return mart, good


def test_load_builds_what_failed_and_retry_rebuilds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = loop_settings(tmp_path, build_settle_ms=0)
    ledger = Ledger.of(settings)
    drop_orders(settings, 1, 5)
    drop_payments(settings, 1, 5)
    assert run_load(settings) == 0
    out = capsys.readouterr().out
    for table in ("silver/stg_orders", "silver/stg_payments", "gold/order_totals"):
        assert table in out  # the summary names every table the run published

    mart, good = _break_the_mart(settings)
    drop_orders(settings, 6, 8)
    drop_payments(settings, 6, 8)
    assert run_load(settings) == 1
    # the broken mart reads stg_orders only: the payments batch is published all the same
    assert ledger.count_by_state() == {"published": 3, "failed": 1}
    (failed,) = ledger.batches(states=["failed"])
    assert failed.table == "orders" and failed.error and failed.error["build_id"] == failed.build_id

    mart.write_text(good)  # the fix; no new file
    assert run_load(settings) == 0  # builds what failed (it used to exit 0 having built nothing)
    assert ledger.count_by_state() == {"published": 4}
    healed = ledger.get_batch(failed.batch_id)
    assert healed is not None and (healed.build_id or 0) > (failed.build_id or 0)
    assert len(DeltaTable(str(settings.dados / "gold" / "order_totals")).to_pyarrow_table()) == 8

    _break_the_mart(settings)
    drop_orders(settings, 9, 9)
    drop_payments(settings, 9, 9)
    assert run_load(settings) == 1
    mart.write_text(good)
    capsys.readouterr()
    assert run_build(settings, BuildRequest(failed=True)) == 0  # lakehouse retry
    out = capsys.readouterr().out
    assert "gold/order_totals" in out
    assert ledger.count_by_state() == {"published": 6}
    assert run_build(settings, BuildRequest(failed=True)) == 0
    assert "nothing failed" in capsys.readouterr().out


def test_replay_after_a_fix_keeps_the_old_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = loop_settings(tmp_path, build_settle_ms=0, on_mismatch="quarantine")
    ledger = Ledger.of(settings)
    drop_orders(settings, 1, 1)  # customer_id is a BIGINT column from now on
    assert run_load(settings, build=False) == 0
    put(settings, "orders", "typo.csv", "order_id,customer_id\n2,2\n3,x3\n")
    assert run_load(settings, build=False) == 0
    quarantined = settings.quarantine_dir / "orders" / "typo.csv"
    reason = json.loads(quarantined.with_name("typo.csv.error.json").read_text())
    assert (reason["kind"], reason["line"], reason["value"]) == ("type_conflict", 3, "x3")
    assert ledger.count_by_state() == {"loaded": 1, "quarantined": 1}

    assert run_replay(settings, "nope") == 1  # nothing matches: said, nothing moved
    assert "no quarantined file matches 'nope'" in capsys.readouterr().err

    fixed = settings.model_copy(update={"on_mismatch": "rescue"})  # the fix: a setting
    assert run_replay(fixed, "orders") == 0
    assert not quarantined.exists()
    assert (settings.raw_dir / "orders" / "typo.csv").is_file()
    (history,) = (settings.quarantine_dir / "orders" / "history").iterdir()
    assert history.name.startswith("typo.csv.") and history.name.endswith(".error.json")
    assert json.loads(history.read_text()) == reason  # the old reason, kept, not stale
    assert not list((settings.quarantine_dir / "orders").glob("*.error.json"))
    assert ledger.count_by_state() == {"loaded": 1, "accepted": 1}

    assert run_load(fixed, build=False) == 0
    assert ledger.count_by_state() == {"loaded": 2}
    rows = DeltaTable(str(settings.dados / "bronze" / "orders")).to_pyarrow_table()
    by_id = {r["order_id"]: (r["customer_id"], r["_rescued_data"]) for r in rows.to_pylist()}
    assert by_id[3] == (None, '{"customer_id": "x3"}')  # the value kept beside the row


def test_a_build_beside_a_process_holding_the_warehouse_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = loop_settings(tmp_path)
    drop_orders(settings, 1, 3)
    assert run_load(settings, build=False) == 0  # something to build
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(120)",
            str(settings.warehouse_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert run_build(settings, BuildRequest()) == 1
        err = capsys.readouterr().err
        assert f"held by process {holder.pid}" in err
        assert "`lakehouse up`" in err and "stop it" in err
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
