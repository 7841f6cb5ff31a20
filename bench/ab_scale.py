"""``bench_build.scale``'s variants, this tree vs another tree's, interleaved (wall and CPU).

    git archive <commit> | tar -x -C /tmp/before        # the runtime as it was, to compare
    uv run python -m bench.ab_scale --before /tmp/before --rows 10000000 --rounds 3
    # --after /tmp/after: another frozen tree instead of this one (edits during a run then
    # do not leak into it)

One bronze table of ``--rows`` orders (``bench_build.make_bronze``) is shared by every run;
each run is ``bench_build.py scale-variant <variant>`` of one tree in a fresh child process
(the same Python environment, that tree first on its path; that tree's own project, its
``SCALE_MODELS``; a fresh warehouse and fresh silver/gold): ``plain`` (warm ``dbt build``, no
publish), ``publish`` (build + publish) and ``incremental`` (a full build, then a 1% batch
built and published, then a full refresh). Rounds alternate the trees and the 1-minute load
average is read before each child (each ``incremental`` child appends its 1% batch to the
shared bronze, which grows by 1% a run: ``--keep`` goes on from the last run's). Printed per
tree: medians of wall and CPU seconds (every thread of the child), and the two figures of
issue #10 from them, ``publish_vs_build`` and ``incremental_vs_full``, in wall and in CPU; and
the cores each build wanted (its threads' time running or runnable per wall second:
``bench.harness.CoresWanted``, a figure the neighbours' load does not lower; NaN for a tree
whose bench does not measure it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import bench_build

HERE = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return env


def write_project(tree: Path, project: Path) -> None:
    """``tree``'s own bench project (its ``SCALE_MODELS``) at ``project``: each tree builds the
    models it measures (a tree may change them, as the incremental ``daily_revenue`` did)."""
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        " from bench import bench_build as b; b.write_project(Path(sys.argv[2]), b.SCALE_MODELS)"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tree), str(project)], check=True, cwd=tree, env=_env()
    )


def run(tree: Path, variant: str, root: Path, project: Path) -> dict[str, Any]:
    env = _env()
    script = tree / "bench" / "bench_build.py"
    done = subprocess.run(
        [sys.executable, str(script), "scale-variant", variant, str(root), str(project)],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tree} {variant}: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="another tree to compare")
    parser.add_argument("--after", type=Path, default=HERE, help="the tree under test (this)")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default="plain,publish,incremental")
    parser.add_argument("--keep", action="store_true", help="reuse bench/out/build/ab-scale")
    args = parser.parse_args()
    root = bench_build.OUT / "ab-scale"
    project = root / "project"
    if not (args.keep and (root / "dados" / "bronze" / "orders").exists()):
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        bench_build.write_project(project, bench_build.SCALE_MODELS)
        settings = bench_build.settings_for(root, project)
        bench_build.make_bronze(settings, args.rows, ingested="2026-01-01 00:00:00+00")
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    projects = {name: root / f"project-{name}" for name in trees}
    for name, tree in trees.items():
        write_project(tree, projects[name])
    variants = args.variants.split(",")
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {v: [] for v in variants} for name in trees
    }
    for _ in range(args.rounds):
        for variant in variants:
            for name, tree in trees.items():
                load = os.getloadavg()[0]
                result = run(tree, variant, root, projects[name])
                result["load"] = load
                results[name][variant].append(result)
                shown = {k: round(v, 3) for k, v in result.items() if isinstance(v, float)}
                print(name, variant, json.dumps(shown), flush=True)
    print(f"\n{args.rows:,} rows, {args.rounds} rounds interleaved; medians, wall s (CPU s)")
    print(
        "\n| tree | plain | build + publish | ratio | 1% batch | full refresh | 1% / full"
        " | cores wanted: plain / publish |"
    )
    print("|---|---|---|---|---|---|---|---|")

    def med(runs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(float(r.get(key, "nan")) for r in runs) if runs else float("nan")

    for name, by in results.items():
        plain = (med(by.get("plain", []), "seconds"), med(by.get("plain", []), "cpu_s"))
        pub = (med(by.get("publish", []), "seconds"), med(by.get("publish", []), "cpu_s"))
        inc = by.get("incremental", [])
        one = (med(inc, "one_percent_s"), med(inc, "one_percent_cpu_s"))
        full = (med(inc, "full_refresh_s"), med(inc, "full_refresh_cpu_s"))
        # runnable threads per wall second, whatever the load (bench.harness.CoresWanted)
        wanted = (
            med(by.get("plain", []), "cores_wanted"),
            med(by.get("publish", []), "cores_wanted"),
        )
        print(
            f"| {name} | {plain[0]:.2f} ({plain[1]:.2f}) | {pub[0]:.2f} ({pub[1]:.2f}) "
            f"| {pub[0] / plain[0]:.2f}x ({pub[1] / plain[1]:.2f}x) "
            f"| {one[0]:.2f} ({one[1]:.2f}) | {full[0]:.2f} ({full[1]:.2f}) "
            f"| {one[0] / full[0]:.0%} ({one[1] / full[1]:.0%}) "
            f"| {wanted[0]:.2f} / {wanted[1]:.2f} |"
        )
    loads = [r["load"] for by in results.values() for runs in by.values() for r in runs]
    print(f"\nload (1 min) before each child: {min(loads):.1f}-{max(loads):.1f}")


if __name__ == "__main__":
    main()
