"""Where the 1% incremental batch's wall time goes: a timeline of one batch, in one process.

    uv run python -m bench.timeline_scale                  # on bench.ab_scale's bronze (10M)
    uv run python -m bench.timeline_scale --rows 1000000   # a fresh bronze of that size
    uv run python -m bench.timeline_scale --project DIR    # another dbt project on that bronze
    uv run python -m bench.timeline_scale --full           # the first build + publish instead

What ``bench_build.scale_variant("incremental")`` measures as ``one_percent_s``, instrumented:
a fresh warehouse, a full build (not shown), a 1% batch of new orders appended to bronze, then
``session.build(["source:bronze.orders+"])`` with, from its start,

* every dbt statement (``add_query``: start, end, the thread's own CPU, the thread),
* each model's publish (``Publisher.publish``) and, with ``--statements``, each statement of
  it (the cursor it is given, wrapped; DuckDB's own threads are not in a thread's CPU),
* the ``CHECKPOINT`` after the build,
* the cores the process wanted (its threads on a core or waiting for one:
  :class:`bench.harness.CoresWanted`, read every 10 ms), per 50 ms: on a busy machine this
  still says how many cores the batch could use, and so how much of a quiet machine it would
  leave idle (the buckets where it wanted fewer cores than there are).

With ``--full``, the first build + publish of the whole bronze instead (a fresh warehouse and
no silver or gold: what ``scale_variant("publish")`` measures for ``publish_vs_build``), and
no batch is appended.

Each run appends its batch to the shared bronze, as ``bench.ab_scale``'s children do. The
instrumentation costs a little (a Python wrapper per statement and the sampler thread): read
the shape, and take the figures of ``bench.ab_scale``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import bench_build
from bench.harness import CoresWanted

Event = tuple[str, float, float, float, str]  # what, start, end, thread CPU, thread


class Timeline:
    def __init__(self) -> None:
        self.origin = time.perf_counter()
        self.events: list[Event] = []
        self.wanted = CoresWanted(interval=0.01)

    def now(self) -> float:
        return time.perf_counter() - self.origin

    def timed(self, what: str, call: Callable[[], Any]) -> Any:
        start, cpu = self.now(), time.thread_time()
        try:
            return call()
        finally:
            self.events.append(
                (
                    what,
                    start,
                    self.now(),
                    time.thread_time() - cpu,
                    threading.current_thread().name,
                )
            )

    def start(self) -> None:
        self.events.clear()
        self.wanted.__enter__()
        self.origin = time.perf_counter()

    def stop(self) -> None:
        self.wanted.__exit__()

    def cores(self, bucket: float = 0.05) -> list[tuple[float, float]]:
        """(start, cores wanted) per ``bucket`` seconds (:class:`bench.harness.CoresWanted`'s
        readings: running or waiting for a core, which a busy machine does not shrink)."""
        readings = [(at - self.origin, runnable) for at, runnable in self.wanted.readings]
        out = []
        for k in range(int(self.now() / bucket) + 1):
            points = [r for r in readings if k * bucket <= r[0] < (k + 1) * bucket]
            if len(points) >= 2 and points[-1][0] > points[0][0]:
                span = points[-1][0] - points[0][0]
                out.append((k * bucket, (points[-1][1] - points[0][1]) / span))
        return out


def instrument(timeline: Timeline, statements: bool) -> None:
    """Wrap dbt's ``add_query``, ``Publisher.publish`` and the build's checkpoint."""
    from dbt.adapters.sql.connections import SQLConnectionManager

    import transform.session as session_module
    from transform.publish import Publisher

    add_query = SQLConnectionManager.add_query

    def timed_query(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        shown = " ".join(sql.split())
        if shown.startswith("/*"):  # dbt's query comment
            shown = shown.split("*/", 1)[-1].strip()
        return timeline.timed("dbt  " + shown[:110], lambda: add_query(self, sql, *args, **kwargs))

    SQLConnectionManager.add_query = timed_query  # type: ignore[method-assign]

    class Cursor:
        def __init__(self, cursor: Any) -> None:
            self._cursor = cursor

        def __getattr__(self, name: str) -> Any:
            return getattr(self._cursor, name)

        def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
            shown = "       " + " ".join(str(sql).split())[:110]
            return timeline.timed(shown, lambda: self._cursor.execute(sql, *args, **kwargs))

    publish = Publisher.publish

    def timed_publish(self: Any, model: Any, **kwargs: Any) -> Any:
        if statements and kwargs.get("cursor") is not None:
            kwargs["cursor"] = Cursor(kwargs["cursor"])
        start, cpu, mode = timeline.now(), time.thread_time(), "failed"
        try:
            done = publish(self, model, **kwargs)
            mode = done.mode
            return done
        finally:
            used, thread = time.thread_time() - cpu, threading.current_thread().name
            what = f"publish {model.target} ({mode})"
            timeline.events.append((what, start, timeline.now(), used, thread))

    Publisher.publish = timed_publish  # type: ignore[method-assign]
    checkpoint = session_module._checkpoint
    session_module._checkpoint = lambda: timeline.timed("checkpoint", checkpoint)


def run(root: Path, project: Path, statements: bool, full: bool = False) -> None:
    from transform import DbtSession

    settings = bench_build.settings_for(root, project)
    warehouse = settings.dados / "warehouse.duckdb"
    for leftover in (warehouse, Path(f"{warehouse}.wal")):
        leftover.unlink(missing_ok=True)
    for layer in ("silver", "gold"):
        shutil.rmtree(settings.dados / layer, ignore_errors=True)
    timeline = Timeline()
    instrument(timeline, statements)
    session = DbtSession(settings)
    session.invoke(["parse"])
    rows = bench_build.bronze_rows(settings)
    if not full:
        first = session.build()
        assert first.success, first.failures
        bench_build.make_bronze(settings, rows // 100, first=rows, on_arrival=True)
    load = os.getloadavg()[0]
    timeline.start()
    cpu = time.process_time()
    batch = session.build() if full else session.build(["source:bronze.orders+"])
    wall, cpu = timeline.now(), time.process_time() - cpu
    timeline.stop()
    assert batch.success, batch.failures
    assert "silver/stg_orders" in batch.published, batch.published
    count = os.cpu_count() or 1
    what = "first build + publish" if full else f"1% batch of {rows // 100:,} rows"
    print(
        f"{what} on {rows:,} rows: wall {wall:.3f} s, CPU {cpu:.3f} s"
        f" (dbt {batch.dbt_seconds:.3f} s, publish after dbt {batch.publish_seconds:.3f} s);"
        f" load {load:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"\n{'start':>7} {'end':>7} {'wall':>6} {'CPU':>6}  thread                what")
    for what, start, end, used, thread in sorted(timeline.events, key=lambda e: e[1]):
        print(f"{start:7.3f} {end:7.3f} {end - start:6.3f} {used:6.3f}  {thread[:20]:20}  {what}")
    cores = timeline.cores()
    print("\ncores wanted per 50 ms (start s: cores running or waiting for one):")
    print(" ".join(f"{at:.2f}:{wanted:.1f}" for at, wanted in cores))
    idle = sum(max(0.0, count - wanted) for _, wanted in cores) * 0.05
    print(
        f"over the batch: {cpu / wall:.2f} cores running, {timeline.wanted.wanted:.2f} wanted;"
        f" of {count} cores x the wall, what it did not want: {idle / (wall * count):.0%}"
        " (a 50 ms bucket the sampler missed counts as wanted)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="a fresh bronze of this many orders")
    parser.add_argument("--project", type=Path, help="the dbt project (default: the bench's)")
    parser.add_argument("--statements", action="store_true", help="each publish statement too")
    parser.add_argument(
        "--full", action="store_true", help="the first build + publish (publish_vs_build's)"
    )
    args = parser.parse_args()
    root = bench_build.OUT / ("ab-scale" if args.rows is None else "timeline-scale")
    project = root / "project"
    if args.rows is not None or not (root / "dados" / "bronze" / "orders").exists():
        shutil.rmtree(root, ignore_errors=True)
        bench_build.write_project(project, bench_build.SCALE_MODELS)
        settings = bench_build.settings_for(root, project)
        rows = args.rows or 10_000_000
        bench_build.make_bronze(settings, rows, ingested="2026-01-01 00:00:00+00")
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    run(root, (args.project or project).resolve(), args.statements, args.full)


if __name__ == "__main__":
    sys.exit(main())
