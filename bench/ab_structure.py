"""The API's CSV structure pass (``ingest.filecheck._csv_layout``: encoding, header, quoting,
every record's field count, none past ``max_csv_record_bytes``) of this tree vs another
tree's, on the same generated file: interleaved child processes, each the pass once, its CPU
seconds (every thread; steadier than wall on a shared machine), medians with min and max.

    uv run python -m bench.ab_structure --before DIR [--rows 2000000] [--shape orders] [--repeat 3]

``DIR``: another tree (``git archive main | tar -x -C DIR``), read with this tree's venv. The
file is ``bench_loader.generate``'s (made once in ``bench/out``). ``--no-bound``: a third
child per round, this tree's pass with ``dialect.BoundedLines`` replaced by the plain text
(what the record bound costs)."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from pathlib import Path
tree, path, bare = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "1"
sys.path.insert(0, tree)
from ingest import filecheck
from lakehouse import dialect, formats
if bare:
    import itertools
    class Plain:
        def __init__(self, text, limit, before=0, first=(), most=None):
            self._lines = itertools.chain(list(first), text)
            self.done = [0]
        def follow(self, reader): pass
        def ended(self, lines=None): pass
        def __iter__(self): return self._lines
    dialect.BoundedLines = Plain
kind = formats.from_name(path.name)
ru = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
layout = filecheck._csv_layout(path, kind, (16 * 1024**3, 250.0), 0, None)
wall = time.perf_counter() - start
end = resource.getrusage(resource.RUSAGE_SELF)
cpu = end.ru_utime + end.ru_stime - ru.ru_utime - ru.ru_stime
print(json.dumps({"cpu_s": cpu, "wall_s": wall, "rows": layout.rows}))
"""


def _run(tree: Path, path: Path, bare: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tree), str(path), "1" if bare else "0"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    from bench.bench_loader import generate

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--shape", default="orders")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-bound", action="store_true")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    path = generate(here / "bench" / "out", args.rows, "csv", args.shape)
    runs: dict[str, list[dict[str, float]]] = {"this": [], "before": []}
    if args.no_bound:
        runs["this, no bound"] = []
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[0]
    for _ in range(args.repeat):
        runs["this"].append(_run(here, path, False))
        runs["before"].append(_run(args.before.resolve(), path, False))
        if args.no_bound:
            runs["this, no bound"].append(_run(here, path, True))
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[0]
    print(f"{path.name}, {args.repeat} rounds, load {load_before} -> {load_after}")
    print("| tree | CPU s, median (min-max) | wall s, median | rows |")
    print("|---|---:|---:|---:|")
    for name, rounds in runs.items():
        cpu = [r["cpu_s"] for r in rounds]
        wall = [r["wall_s"] for r in rounds]
        print(
            f"| {name} | {statistics.median(cpu):.3f} ({min(cpu):.3f}-{max(cpu):.3f})"
            f" | {statistics.median(wall):.2f} | {rounds[0]['rows']:,} |"
        )


if __name__ == "__main__":
    main()
