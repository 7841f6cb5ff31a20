"""The ingest API of this tree vs another tree's, interleaved: wall MB/s and server CPU per post.

    git archive <commit> | tar -x -C /tmp/before          # the API as it was, to compare
    uv run python -m bench.ab_api --before /tmp/before --records 7000 --posts 16 --rounds 4
    uv run python -m bench.ab_api --phases records,ceiling --records 700

Both servers (``bench_api.serving`` of each tree: one uvicorn worker each, the same Python
environment, each tree's own code first on its path) run at once; each round posts every
phase to each server in turn (``bench_api.phases``: the real endpoints and the peers beside
them), 2 connections. Besides the wall throughput, each post's cost is read from the server
process itself (user + system CPU seconds from ``/proc/<pid>/stat``, all its threads), which
the other work on a shared machine barely changes, unlike the wall time. Medians of the rounds,
with min and max, and the load average before and after.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parents[1]


def _bench_api(tree: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, tree / "bench" / "bench_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--before",
        type=Path,
        action="append",
        default=[],
        help="another tree (git archive of a commit); repeat it to run several at once",
    )
    parser.add_argument("--records", type=int, default=7000, help="records per body")
    parser.add_argument("--posts", type=int, default=16, help="posts per phase and round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--phases",
        default="records_contract,fastapi_list_model,records,ceiling",
        help="bench_api.phases names, comma-separated",
    )
    args = parser.parse_args()
    trees = [HERE] + [tree.resolve() for tree in args.before]
    labels = ["this"] + [tree.name for tree in trees[1:]]
    modules = [_bench_api(tree, f"bench_api_{i}") for i, tree in enumerate(trees)]
    names = args.phases.split(",")
    n = args.records
    with ExitStack() as stack:
        servers = [stack.enter_context(m.serving()) for m in modules]
        _, ndjson, array = modules[0].bodies(n)
        steps = {
            name: (path, body, kind) for name, path, body, kind in modules[0].phases(ndjson, array)
        }
        for server in servers:  # warm up every route
            for name in names:
                path, body, kind = steps[name]
                modules[0].run_phase(server.url, path, body, kind, n, 3, 1)
        seen: dict[tuple[int, str], list[tuple[float, float]]] = {
            (i, name): [] for i in range(len(trees)) for name in names
        }
        before = _load()
        for _ in range(args.rounds):
            for name in names:
                for i, server in enumerate(servers):
                    path, body, kind = steps[name]
                    start = cpu_seconds(server.pid)
                    out = modules[0].run_phase(server.url, path, body, kind, n, args.posts, 2)
                    cpu_ms = (cpu_seconds(server.pid) - start) / args.posts * 1000
                    seen[(i, name)].append((out["mb_s"], cpu_ms))
                    modules[0]._clear(server.root)
        after = _load()
    print(f"{n:,} records per body ({len(ndjson):,} B NDJSON), {args.rounds} rounds of")
    print(f"{args.posts} posts, 2 connections; load {before} -> {after}\n")
    print("| tree | phase | MB/s median (min-max) | server CPU ms/post median (min-max) |")
    print("|---|---|---:|---:|")
    for (i, name), runs in seen.items():
        mb, cpu = [r[0] for r in runs], [r[1] for r in runs]
        print(
            f"| {labels[i]} | {name} | {statistics.median(mb):.1f}"
            f" ({min(mb):.1f}-{max(mb):.1f}) | {statistics.median(cpu):.1f}"
            f" ({min(cpu):.1f}-{max(cpu):.1f}) |"
        )
    if {"records_contract", "fastapi_list_model"} <= set(names):
        for i in range(len(trees)):
            pairs = list(
                zip(seen[(i, "records_contract")], seen[(i, "fastapi_list_model")], strict=True)
            )
            wall = statistics.median(a[0] / b[0] for a, b in pairs)
            cpu = statistics.median(b[1] / a[1] for a, b in pairs)
            print(
                f"\n{labels[i]}: contract vs FastAPI list[Model]: {wall:.2f}x wall, {cpu:.2f}x CPU"
            )


if __name__ == "__main__":
    main()
