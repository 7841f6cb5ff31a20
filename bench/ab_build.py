"""The sample shop's warm event build, this tree vs another tree's, interleaved (CPU and wall).

    uv run python -m bench.ab_build --rounds 3 --builds 8
    git archive <commit> | tar -x -C /tmp/before        # the runtime as it was, to compare
    uv run python -m bench.ab_build --before /tmp/before

What ``bench_build.latency`` measures inside its file closed → gold figure, without the loader's
watcher and the builder's settle window: in a child process (the same Python environment, the
tree under test first on its path, its own ``dbt_project/``), wave 1 of the sample shop
(``--preload`` orders) is loaded and built, then ``--builds`` times a batch of 5 orders is loaded
(not timed) and ``source:bronze.orders+`` built and published as the builder's event builds do
(``DbtSession.build``, unit tests left out), timed: wall seconds, CPU seconds of the process's
threads, dbt's and the publish's shares. Rounds alternate the trees; the 1-minute load average
is read before each child. Medians per tree are printed as Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import ab_rounds, child_json, load_range

CHILD = r"""
import json, shutil, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
tree, work = Path(sys.argv[1]), Path(sys.argv[2])
preload, builds = int(sys.argv[3]), int(sys.argv[4])
project = work / "project"
shutil.copytree(tree / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
from app import SampleFile, sample_files, write_file, write_files
from lakehouse import Settings
from loader import Loader
from transform import DbtSession, BuildRequest
settings = Settings(root=work, dbt_project_dir=project, profiles_dir=tree, dbt_target="dev")
write_files([f for f in sample_files(preload) if f.wave == 1], settings.raw_dir)
Loader(settings).load_pending()
session = DbtSession(settings)
first = session.build(BuildRequest([], unit_tests=False))
assert first.success, first.failures
template = next(f for f in sample_files(preload) if f.table == "orders").records[0]
runs = []
for i in range(builds + 1):  # the first one warms up
    records = [{**template, "order_id": 1_000_000 + i * 5 + k} for k in range(5)]
    write_file(SampleFile("orders", 9, f"orders_ab_{i:04d}.json", records), settings.raw_dir)
    Loader(settings).load_pending()
    cpu, wall = time.process_time(), time.perf_counter()
    result = session.build(BuildRequest(["source:bronze.orders+"], unit_tests=False))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result.success, result.failures
    if i:
        runs.append({"wall": wall, "cpu": cpu, "dbt": result.dbt_seconds,
                     "publish": result.publish_seconds})
print(json.dumps({k: statistics.median(r[k] for r in runs) for k in runs[0]}))
"""


def run_child(tree: Path, preload: int, builds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ab-build-") as work:
        return child_json(CHILD, [str(tree), work, str(preload), str(builds)], Path(work))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another tree to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--builds", type=int, default=8)
    parser.add_argument("--preload", type=int, default=200)
    args = parser.parse_args()
    results = ab_rounds(
        args.before,
        args.rounds,
        lambda tree: run_child(tree, args.preload, args.builds),
        lambda result: {k: round(v, 3) for k, v in result.items()},
    )
    print("\n| tree | build wall s | CPU s | dbt s | publish s | load (1 min) |")
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"| {name} | {med['wall']:.3f} | {med['cpu']:.3f} | {med['dbt']:.3f} "
            f"| {med['publish']:.3f} | {load_range(runs)} |"
        )


if __name__ == "__main__":
    main()
