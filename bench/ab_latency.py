"""File closed → gold commit of the sample shop, this tree vs another tree's, interleaved.

    git archive <commit> | tar -x -C /tmp/before        # the tree to compare with
    uv run python -m bench.ab_latency --before /tmp/before --rounds 2 --batches 8

What ``python -m bench --only e2e`` measures for ``e2e_sample_p50_s`` (``bench_build.latency``:
the real watching Loader and the warm Builder with their default settings, the settle window
included; wave 1 of the sample shop preloaded, then batches of 5 orders, each file closed in the
landing zone and timed to the gold commit that holds it), without the cold CLI peer: each run is
a child process (the same Python environment, the tree under test first on its path, its own
``bench_build`` and ``dbt_project/``). Rounds alternate the trees; the 1-minute load average is
read before each child. Prints each run and the medians per tree: p50, p95, the build (pin +
dbt + publish), dbt and publish, and the child's CPU seconds (the preload, its build and every
batch: the same work in both trees).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from bench.harness import ab_rounds, child_json, load_range

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import bench.bench_build as bench_build
bench_build._cold_cli = lambda *args, **kwargs: [0.0]  # the peer is not measured here
cpu = time.process_time()
result = bench_build.latency(int(sys.argv[2]), "sample", preload=int(sys.argv[3]), cli_runs=1)
result["cpu_s"] = time.process_time() - cpu
print(json.dumps(result, default=str))
"""

FIELDS = ("p50_s", "p95_s", "p50_build_s", "p50_dbt_build_s", "p50_publish_s")


def run_child(tree: Path, batches: int, preload: int) -> dict[str, Any]:
    return child_json(CHILD, [str(tree), str(batches), str(preload)], tree)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another tree to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--preload", type=int, default=200)
    args = parser.parse_args()
    results = ab_rounds(
        args.before,
        args.rounds,
        lambda tree: run_child(tree, args.batches, args.preload),
        lambda result: {k: round(float(result[k]), 3) for k in (*FIELDS, "cpu_s", "load")},
    )
    print("\n| tree | p50 s | p95 s | build s | dbt s | publish s | child CPU s | load |")
    print("|---|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        med = {k: statistics.median(float(r[k]) for r in runs) for k in (*FIELDS, "cpu_s")}
        cells = " | ".join(f"{med[k]:.3f}" for k in (*FIELDS, "cpu_s"))
        print(f"| {name} | {cells} | {load_range(runs)} |")


if __name__ == "__main__":
    main()
