"""A/B: what checking an uploaded Parquet file in a worker process costs (``ingest.parsing``).

A real API (``ingest.server.BackgroundServer``, a thread of this process) on loopback takes
``--posts`` small Parquet files one after another (``--rows`` records of 3 columns) on
``POST /v1/tables/{table}/files``, after ``--warmup`` posts not counted. Figures: the median
and p90 wall time of a post, the CPU of one post (this process and all its descendants, from
``/proc``), and the memory of the worker processes (their RSS and PSS, ``smaps_rollup``).

Run it on two trees to compare, e.g. main before session 18 (the check in the server's own
thread pool) against after: ``PYTHONPATH=<tree> uv run python -m bench.ab_parquet_apart``.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.server import BackgroundServer
from lakehouse.settings import Settings


def _stat(pid: int) -> tuple[int, float] | None:
    """``pid``'s parent and CPU seconds (user + system), or None once it has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents[int(entry.name)] = stat[0]
    found, todo = [], [pid]
    while todo:
        at = todo.pop()
        kids = [child for child, parent in parents.items() if parent == at]
        found += kids
        todo += kids
    return found


def _cpu() -> float:
    """CPU seconds of this process and its live descendants."""
    return sum((_stat(p) or (0, 0.0))[1] for p in [os.getpid(), *_descendants(os.getpid())])


def _memory(pid: int) -> tuple[int, int]:
    """RSS and PSS of ``pid``, KiB."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    kib = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:]}
    return kib["Rss"], kib["Pss"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    n = args.rows
    table = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "name": pa.array([f"name {i}" for i in range(n)]),
            "amount": pa.array([i / 4 for i in range(n)]),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    data = buf.getvalue()
    with tempfile.TemporaryDirectory() as root:
        settings = Settings(  # type: ignore[call-arg]
            root=Path(root), api_min_free_bytes=0, api_rate_per_token=0
        )
        with BackgroundServer(settings) as server, httpx.Client(base_url=server.url) as api:
            walls, cpus = [], []
            for i in range(args.warmup + args.posts):
                cpu, start = _cpu(), time.perf_counter()
                r = api.post(
                    "/v1/tables/t/files",
                    params={"filename": f"f{i}.parquet"},
                    content=data,
                    headers={"content-type": "application/octet-stream"},
                    timeout=120,
                )
                wall, spent = time.perf_counter() - start, _cpu() - cpu
                assert r.status_code == 202, r.text
                if i == 0:
                    first = wall
                if i >= args.warmup:
                    walls.append(wall)
                    cpus.append(spent)
            workers = [
                p
                for p in _descendants(os.getpid())
                if b"forkserver" in Path(f"/proc/{p}/cmdline").read_bytes()
            ]
            memory = [(p, *_memory(p)) for p in workers]
    walls.sort()
    print(f"the first post (the workers started): {first * 1e3:.0f} ms")
    print(f"file: {len(data):,} bytes, {n:,} records; {args.posts} posts after {args.warmup}")
    print(
        f"wall per post: median {statistics.median(walls) * 1e3:.2f} ms,"
        f" p90 {walls[int(len(walls) * 0.9)] * 1e3:.2f} ms, max {walls[-1] * 1e3:.0f} ms"
    )
    print(
        f"CPU per post (all processes): median {statistics.median(cpus) * 1e3:.1f} ms,"
        f" mean {statistics.mean(cpus) * 1e3:.1f} ms"
    )
    for pid, rss, pss in memory:
        print(f"worker process {pid}: RSS {rss / 1024:.0f} MiB, PSS {pss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
