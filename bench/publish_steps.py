"""Where a rewrite publish of ``bench_build.scale``'s ``stg_orders`` goes, step by step.

    uv run python -m bench.ab_scale --before <tree> --rounds 1 --variants plain --keep
    uv run python -m bench.publish_steps [--rounds 3] [--tree DIR]...

The warehouse the last ``ab_scale`` child left (``bench/out/build/ab-scale``) is copied aside
once; each round, each tree (``--tree``, default this one; interleaved) publishes
``stg_orders`` from a fresh copy of it in a child process, alone (a first publish: no silver
table), with the table warmed by one scan first (after a build, DuckDB holds it in memory).
Printed per step of the publisher: process CPU seconds (every thread) and the cores it wanted
(``bench.harness.CoresWanted``: a figure the machine's load does not lower). Then the ``COPY``
alone, this tree's way (``file_size_bytes``: DuckDB's "Copy To File") against a "Batch Copy To
File" (no file size), the same key ranges, each with its CPU seconds and cores wanted.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
SCALE = HERE / "bench" / "out" / "build" / "ab-scale"
WORK = HERE / "bench" / "out" / "publish-steps"
RELATION = '"warehouse"."main"."stg_orders"'
#: the publisher's methods and functions timed, in the order a rewrite calls them
STEPS = {
    "Publisher": ["_fingerprint", "_key_parts", "_write"],
    "publish": ["_row_groups", "_unbounded_times"],
    "delta_files": ["dictionary_limit", "enum_members", "add_action"],
}


def child(tree: Path, copy: Path) -> dict[str, Any]:
    """One publish of ``stg_orders`` from ``copy`` by ``tree``'s publisher, in this process."""
    sys.path.insert(0, str(tree))
    import duckdb

    from bench import bench_build
    from bench.harness import CoresWanted
    from transform import delta_files, publish

    steps: dict[str, list[float]] = {}

    def timed(owner: Any, name: str) -> None:
        wrapped = getattr(owner, name, None)
        if wrapped is None:  # a step this tree does not have
            return

        @functools.wraps(wrapped)
        def run(*args: Any, **kwargs: Any) -> Any:
            with CoresWanted(interval=None) as cores:
                cpu = time.process_time()
                result = wrapped(*args, **kwargs)
                spent = time.process_time() - cpu
            # an outer step's figures include its inner ones (_key_parts: its sample file)
            got = steps.setdefault(name, [0.0, 0.0])
            got[0] += spent
            got[1] = cores.wanted
            return result

        setattr(owner, name, run)

    owners = {"Publisher": publish.Publisher, "publish": publish, "delta_files": delta_files}
    for owner, names in STEPS.items():
        for name in names:
            timed(owners[owner], name)
    root = copy.parent
    shutil.rmtree(root / "dados" / "silver", ignore_errors=True)
    shutil.copy(copy, root / "dados" / "warehouse.duckdb")
    settings = bench_build.settings_for(root, SCALE / "project")
    con = duckdb.connect(str(root / "dados" / "warehouse.duckdb"))
    con.execute(f"select count(*), sum(hash(t)) from {RELATION} as t").fetchall()  # warm
    model = publish.ModelSpec(
        unique_id="model.lakehouse.stg_orders",
        name="stg_orders",
        relation=RELATION,
        layer="silver",
        materialized="incremental",
        unique_key=("order_id",),
    )
    with CoresWanted(interval=None) as cores:
        cpu = time.process_time()
        published = publish.Publisher(settings, con).publish(model)
        spent = time.process_time() - cpu
    files = sorted((root / "dados" / "silver" / "stg_orders").glob("*.parquet"))
    out: dict[str, Any] = {
        "publish": [spent, cores.wanted],
        **steps,
        "mode": published.mode,
        "rows": published.rows,
        "files": len(files),
        "mb": sum(f.stat().st_size for f in files) / 1e6,
    }
    out.update(_copies(con, root))
    con.close()
    return out


def _copies(con: Any, root: Path) -> dict[str, list[float]]:
    """The ``COPY`` of the model's two key halves: with ``file_size_bytes`` (the publisher's
    form) and without (DuckDB then plans a "Batch Copy To File")."""
    from bench.harness import CoresWanted

    low, high = con.execute(f"select min(order_id), max(order_id) from {RELATION}").fetchone()
    cut = (int(low) + int(high) + 1) // 2
    options = "format parquet, compression snappy, parquet_version v1, dictionary_size_limit 4096"
    out: dict[str, list[float]] = {}
    for name, sized in (("copy_file_size_bytes", True), ("copy_batch", False)):
        folder = root / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        with CoresWanted(interval=None) as cores:
            cpu = time.process_time()
            for where in (f"order_id < {cut}", f"order_id >= {cut}"):
                target = folder if sized else folder / f"part-{uuid.uuid4()}.parquet"
                extra = (
                    ", file_size_bytes '128MB', filename_pattern 'part-{uuid}',"
                    " overwrite_or_ignore true"
                    if sized
                    else ""
                )
                con.execute(
                    f"copy (select * from {RELATION} where {where}) to '{target}'"
                    f" ({options}{extra})"
                ).fetchall()
            spent = time.process_time() - cpu
        out[name] = [spent, cores.wanted]
        shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, action="append", help="a tree to run (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), Path(args.child[1]))))
        return
    warehouse = SCALE / "dados" / "warehouse.duckdb"
    if not warehouse.exists():
        raise SystemExit(f"no {warehouse}: run bench.ab_scale first (see the docstring)")
    trees = [t.resolve() for t in (args.tree or [HERE])]
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "dados").mkdir(parents=True)
    copy = WORK / "warehouse.source.duckdb"
    shutil.copy(warehouse, copy)
    runs: dict[Path, list[dict[str, Any]]] = {t: [] for t in trees}
    try:
        for _ in range(args.rounds):
            for tree in trees:
                load = os.getloadavg()[0]
                done = subprocess.run(
                    [sys.executable, __file__, "--child", str(tree), str(copy)],
                    capture_output=True,
                    text=True,
                    env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
                )
                if done.returncode != 0:
                    raise RuntimeError(f"{tree}: {done.stderr[-3000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                result["load"] = load
                runs[tree].append(result)
                print(tree, json.dumps(result), flush=True)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    median: Callable[[list[float]], float] = statistics.median
    for tree, results in runs.items():
        print(f"\n{tree}: medians of {len(results)} rounds, CPU s (cores wanted)")
        for key, value in results[0].items():
            if isinstance(value, list):
                cpu = median([r[key][0] for r in results])
                wanted = median([r[key][1] for r in results])
                print(f"  {key:22s} {cpu:6.3f} ({wanted:.2f})")
        print(
            f"  files {results[0]['files']}, {results[0]['mb']:.0f} MB, mode {results[0]['mode']}"
        )
    loads = [r["load"] for results in runs.values() for r in results]
    print(f"\nload (1 min) before each child: {min(loads):.1f}-{max(loads):.1f}")


if __name__ == "__main__":
    main()
