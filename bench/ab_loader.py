"""One format's file → bronze, raw limit vs this tree's loader (vs another tree's), interleaved.

    uv run python -m bench.ab_loader --format ndjson --rows 1000000 --repeat 3
    git archive <commit> | tar -x -C /tmp/before        # the loader as it was, to compare
    uv run python -m bench.ab_loader --format ndjson --rows 1000000 --before /tmp/before
    uv run python -m bench.ab_loader --format parquet --shape lineitem --rows 6000000
    uv run python -m bench.ab_loader --format parquet --shape lineitem --rows 6000000 --floor
    uv run python -m bench.ab_loader --format ndjson --rows 1000000 --before /tmp/before --runnable

Each run is a child process (the same Python environment; ``--before``'s tree first on its
path), timed inside the child around the work only: wall seconds, CPU seconds of all its
threads, and its peak RSS (``VmHWM``, the child's own). Runs go round by round (raw, this
tree, the other tree; with ``--floor`` the raw limit plus the content hash and the bronze
columns, ``bench_loader.bronze_floor``), the 1-minute load average read before each; the
medians and the loader's share of the raw limit (raw time / loader time) are printed as
Markdown. The raw
limit and the loader are ``bench_loader.raw_limit`` and ``bench_loader.loader_run`` of the
tree under test (the file is generated once by ``bench_loader.generate``). Each run's cores
busy (CPU / wall) falls with the machine's load; ``--runnable`` also samples each child's
threads from outside every 5 ms and prints the mean of min(threads running or waiting for a
core, 2) over the run: the parallelism a run offers a 2-core machine, which the load bends
less (a change to the shape of a load shows there while the wall is waiting).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from bench.bench_loader import loader_run, raw_limit
from lakehouse import Settings
path, work = Path(sys.argv[3]), Path(sys.argv[4])
began = time.monotonic()
if sys.argv[2] == "raw":
    result = dict(raw_limit(path, work, Settings().read_batch_rows))
elif sys.argv[2] == "floor":
    from bench.bench_loader import bronze_floor
    result = dict(bronze_floor(path, work, Settings().read_batch_rows))
else:
    result = dict(loader_run(path, work))
result["span"] = [began, time.monotonic()]
status = Path("/proc/self/status").read_text()
hwm = next((ln.split()[1] for ln in status.splitlines() if ln.startswith("VmHWM:")), "0")
result["rss_mib"] = int(hwm) / 1024
print(json.dumps(result))
"""


def run_child(tree: Path, what: str, path: Path, work: Path, runnable: bool) -> dict[str, Any]:
    """One run in a child process; with ``runnable``, its threads' states sampled from here
    every 5 ms: ``runnable`` is the mean of min(threads running or waiting for a core, 2) over
    its run, the parallelism the run offers a 2-core machine whatever else takes the cores."""
    argv = [sys.executable, "-c", CHILD, str(tree), what, str(path), str(work)]
    samples: list[tuple[float, int]] = []
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:  # never a full pipe
        child = subprocess.Popen(argv, stdout=out, stderr=err, cwd=tree)
        while runnable and child.poll() is None:
            samples.append((time.monotonic(), _runnable(child.pid)))
            time.sleep(0.005)
        child.wait()
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, argv, text, errors)
    result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    began, ended = result.pop("span")
    inside = [n for at, n in samples if began <= at <= ended]
    if inside:
        result["runnable"] = statistics.mean(inside)
    return result


def _runnable(pid: int) -> int:
    """Threads of ``pid`` running or waiting for a core (state R), at most 2."""
    count = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for task in tasks:
        try:
            stat = Path(f"/proc/{pid}/task/{task}/stat").read_text()
        except OSError:
            continue  # the thread ended
        count += stat[stat.rindex(")") + 2] == "R"
    return min(count, 2)


def main() -> None:
    from bench.bench_loader import generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="ndjson", choices=["csv", "ndjson", "parquet"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shape", default="orders", choices=["orders", "lineitem"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another tree's loader, measured beside")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also the raw limit plus the content hash and the bronze columns (bench_loader."
        "bronze_floor): what bronze costs beyond the raw limit whatever the loader does",
    )
    parser.add_argument(
        "--runnable",
        action="store_true",
        help="sample each run's threads (Linux): the mean of min(threads wanting a core, 2), "
        "the parallelism a run offers, which a loaded machine bends less than CPU over wall",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    out = args.out.resolve()
    path = generate(out, args.rows, args.format, args.shape)
    here = Path(__file__).resolve().parents[1]
    variants = {"raw": (here, "raw"), "loader": (here, "loader")}
    if args.floor:
        variants = {"raw": (here, "raw"), "floor": (here, "floor"), "loader": (here, "loader")}
    if args.before is not None:
        variants["before"] = (args.before.resolve(), "loader")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    loads: list[float] = []
    for _ in range(args.repeat):
        for name, (tree, what) in variants.items():
            loads.append(os.getloadavg()[0])
            work = out / f"ab-{name}"
            work.mkdir(parents=True, exist_ok=True)
            runs[name].append(run_child(tree, what, path, work, args.runnable))
            print(name, runs[name][-1], f"load {loads[-1]:.1f}", file=sys.stderr, flush=True)
    loads.append(os.getloadavg()[0])

    def median(name: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in runs[name])

    print(
        f"\n{args.shape} {args.format} {args.rows:,} rows ({path.stat().st_size / 1e6:,.0f} MB),"
        f" medians of {args.repeat} interleaved rounds;"
        f" load average {min(loads):.1f}-{max(loads):.1f}\n"
    )
    extra = " runnable (≤ 2) |" if args.runnable else ""
    print(f"| run | wall s | CPU s | cores busy |{extra} peak RSS MiB | share of raw (wall, CPU) |")
    print("|---|---:|---:|---:|" + ("---:|" if args.runnable else "") + "---:|---|")
    for name in variants:
        wall, cpu = median(name, "wall_s"), median(name, "cpu_s")
        # CPU / wall of each run (its median): how many cores the run kept busy, which a
        # busy machine lowers for every run alike (read it beside the load average)
        busy = statistics.median(float(r["cpu_s"]) / float(r["wall_s"]) for r in runs[name])
        share = (
            ""
            if name == "raw"
            else f"{median('raw', 'wall_s') / wall:.0%}, {median('raw', 'cpu_s') / cpu:.0%}"
        )
        rss = median(name, "rss_mib")
        cells = f" {median(name, 'runnable'):.2f} |" if args.runnable else ""
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {busy:.2f} |{cells} {rss:.0f} | {share} |")


if __name__ == "__main__":
    main()
