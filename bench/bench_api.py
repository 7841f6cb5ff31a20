"""Benchmark: NDJSON records through ``POST /v1/tables/{table}/records`` into the landing zone.

One uvicorn worker on loopback (a subprocess of this script), beside, in the same server and run:

- the raw ceiling: ``POST /bench/raw/{table}`` streams the body to a landing file (temp name,
  fsync, rename: the same landing) without parsing anything;
- the usual FastAPI way: ``POST /bench/pydantic/{table}`` with a ``list[Order]`` body (Pydantic
  models of the same 8 typed fields), landing the validated records as NDJSON.

Figures: records/s and MB/s for ~1 MB bodies (body bytes as sent), without a contract (table
``free``) and with a contract of 8 typed fields (table ``orders``); p50/p99 latency under 32
concurrent clients for a bounded time. Run: ``uv run python -m bench.bench_api [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from bench.harness import summary
from bench.servers import free_port

SOURCES = """\
version: 2
sources:
  - name: bronze
    tables:
      - name: orders
        columns:
          - {name: order_id, data_type: bigint, data_tests: [not_null]}
          - {name: customer_id, data_type: integer, data_tests: [not_null]}
          - {name: amount, data_type: "decimal(12,2)"}
          - {name: currency, data_type: varchar, data_tests: [not_null]}
          - {name: status, data_type: varchar}
          - {name: is_gift, data_type: boolean}
          - {name: ordered_at, data_type: timestamp with time zone, data_tests: [not_null]}
          - {name: note, data_type: varchar}
"""


# -- the server side ----------------------------------------------------------------------------


class Order(BaseModel):
    """The usual FastAPI way: a Pydantic model per record."""

    order_id: int
    customer_id: int
    amount: Decimal | None = None
    currency: str
    status: str | None = None
    is_gift: bool | None = None
    ordered_at: datetime
    note: str | None = None


def serve(root: Path, port: int, parse_processes: int | None = None) -> None:
    import uvicorn

    from ingest import create_app
    from ingest.landing import Landing, land_bytes
    from lakehouse import Settings
    from lakehouse.layout import new_batch_id

    settings = Settings(
        root=root,
        dbt_project_dir=root / "dbt_project",
        api_rate_per_token=0,
        api_min_free_bytes=0,
        api_ready_requires_loader=False,
        **({} if parse_processes is None else {"api_parse_processes": parse_processes}),
    )
    app = create_app(settings)
    ledger = app.state.context.ledger

    @app.post("/bench/raw/{table}", status_code=202)
    async def raw(table: str, request: Request) -> dict[str, object]:
        landing = Landing(settings, table, new_batch_id(), ".ndjson")
        async for chunk in request.stream():
            landing.write(chunk)
        await run_in_threadpool(landing.commit, ledger, records=None)  # as the records path
        return {"batch_id": landing.batch_id, "bytes": landing.bytes}

    @app.post("/bench/bare/{table}", status_code=202)
    async def bare(table: str, request: Request) -> dict[str, object]:
        folder = settings.raw_dir / table
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{new_batch_id()}.ndjson"
        size = 0
        with open(path, "wb") as f:  # no fsync, no rename, no ledger: the wire and the page cache
            async for chunk in request.stream():
                f.write(chunk)
                size += len(chunk)
        return {"bytes": size}

    @app.post("/bench/pydantic/{table}", status_code=202)
    def pydantic_list(table: str, records: list[Order]) -> dict[str, object]:
        data = b"".join(r.model_dump_json().encode() + b"\n" for r in records)
        batch_id = new_batch_id()
        land_bytes(settings, ledger, table, batch_id, ".ndjson", data, records=len(records))
        return {"batch_id": batch_id, "records": len(records)}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the client side ----------------------------------------------------------------------------


def make_rows(n: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [
        {
            "order_id": i,
            "customer_id": rng.randint(1, 1_000_000),
            "amount": round(rng.random() * 1000, 2),
            "currency": rng.choice(["EUR", "USD", "BRL"]),
            "status": rng.choice(["placed", "shipped", "delivered", "returned"]),
            "is_gift": rng.random() < 0.2,
            "ordered_at": f"2024-05-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:12:00Z",
            "note": "x" * rng.randint(0, 24),
        }
        for i in range(n)
    ]


def run_phase(
    url: str, path: str, body: bytes, content_type: str, records: int, requests: int, clients: int
) -> dict[str, float]:
    """``requests`` posts of ``body`` over ``clients`` connections; throughput figures."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                t0 = time.perf_counter()
                r = http.post(path, content=body, headers={"content-type": content_type})
                elapsed = time.perf_counter() - t0
                with lock:
                    if r.status_code != 202:
                        failures.append(f"{path}: {r.status_code} {r.text[:300]}")
                        return
                    latencies.append(elapsed)

    failures: list[str] = []
    wall = _in_threads(worker, clients)
    if failures:
        raise SystemExit(failures[0])
    return {
        "records_s": records * requests / wall,
        "mb_s": len(body) * requests / wall / 1e6,
        "p50_ms": statistics.median(latencies) * 1000,
    }


def _in_threads(worker: Callable[[], None], clients: int) -> float:
    """Run ``worker`` in ``clients`` threads at once; the wall seconds until all end."""
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def run_latency(
    url: str, path: str, body: bytes, content_type: str, clients: int, seconds: float
) -> dict[str, float]:
    """``clients`` connections posting as fast as they can for ``seconds``; latency figures."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                r = http.post(path, content=body, headers={"content-type": content_type})
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    if r.status_code != 202:
                        errors.append(f"{r.status_code}")

    wall = _in_threads(worker, clients)
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "req_s": len(latencies) / wall,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def _clear(root: Path) -> None:
    shutil.rmtree(root / "landing_zone" / "data" / "raw", ignore_errors=True)


@dataclass
class Server:
    url: str
    pid: int
    root: Path


@contextmanager
def serving(parse_processes: int | None = None) -> Iterator[Server]:
    """This module's server (the real app plus the comparison routes) in a subprocess."""
    root = Path(tempfile.mkdtemp(prefix="bench-api-"))
    (root / "dbt_project" / "models").mkdir(parents=True)
    (root / "dbt_project" / "models" / "_bronze__sources.yml").write_text(SOURCES)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_api", "--serve", str(root), str(port)]
        + ([] if parse_processes is None else ["--parse-processes", str(parse_processes)]),
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield Server(url, server.pid, root)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def bodies(records: int) -> tuple[list[dict[str, object]], bytes, bytes]:
    rows = make_rows(records)
    return rows, b"".join(orjson.dumps(r) + b"\n" for r in rows), orjson.dumps(rows)


def phases(ndjson: bytes, array: bytes) -> list[tuple[str, str, bytes, str]]:
    nd, js = "application/x-ndjson", "application/json"
    return [
        ("ceiling", "/bench/raw/free", ndjson, nd),
        ("records", "/v1/tables/free/records", ndjson, nd),
        ("records_contract", "/v1/tables/orders/records", ndjson, nd),
        ("records_contract_array", "/v1/tables/orders/records", array, js),
        ("fastapi_list_model", "/bench/pydantic/orders", array, js),
        ("bare_write", "/bench/bare/free", ndjson, nd),
    ]


PHASE_NAMES = {
    "ceiling": "raw ceiling: same landing (fsync, rename, ledger), no parsing",
    "records": "records, NDJSON, no contract",
    "records_contract": "records, NDJSON, 8-field contract",
    "records_contract_array": "records, JSON array, 8-field contract",
    "fastapi_list_model": "FastAPI list[Model] (Pydantic), JSON array",
    "bare_write": "bare write: no fsync, no rename, no ledger (for context)",
}


def throughput(
    server: Server, records: int, rounds: int, per_round: int, clients: int
) -> dict[str, Any]:
    """Every endpoint, ``rounds`` interleaved rounds of ``per_round`` posts of one body."""
    _, ndjson, array = bodies(records)
    steps = phases(ndjson, array)
    for _, path, body, ctype in steps:  # warm up every route
        run_phase(server.url, path, body, ctype, records, 2, 1)
    _clear(server.root)
    seen: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in steps}
    for _ in range(rounds):
        for name, path, body, ctype in steps:
            seen[name].append(run_phase(server.url, path, body, ctype, records, per_round, clients))
            _clear(server.root)
    out: dict[str, Any] = {"records_per_body": records, "ndjson_bytes": len(ndjson)}
    for name, runs in seen.items():
        out[name] = {k: summary([r[k] for r in runs]) for k in runs[0]}
    mb = {name: out[name]["mb_s"]["median"] for name in seen}
    out["records_vs_ceiling"] = mb["records"] / mb["ceiling"]
    out["contract_vs_fastapi"] = mb["records_contract"] / mb["fastapi_list_model"]
    out["contract_array_vs_fastapi"] = mb["records_contract_array"] / mb["fastapi_list_model"]
    return out


def upload_rss(source: Path) -> dict[str, Any]:
    """One file of ``source``'s size through ``POST /v1/tables/{t}/files`` in a fresh server.

    The server's peak RSS is the kernel's high-water mark (VmHWM) after the 202: the upload
    (streamed to the landing zone), the file's check and the landing, beside the server's
    resident size before it.
    """
    with serving() as server:
        before = _vm(server.pid, "VmRSS")
        started = time.perf_counter()
        with source.open("rb") as f, httpx.Client(base_url=server.url, timeout=1800) as http:
            r = http.post(
                f"/v1/tables/orders_upload/files?filename={source.name}",
                content=f,
                headers={"content-type": "application/octet-stream"},
            )
        elapsed = time.perf_counter() - started
        if r.status_code != 202:
            raise RuntimeError(f"upload refused: {r.status_code} {r.text[:500]}")
        return {
            "bytes": source.stat().st_size,
            "records": r.json().get("records"),
            "seconds": elapsed,
            "rss_before_mib": before / 2**20,
            "peak_rss_mib": _vm(server.pid, "VmHWM") / 2**20,
        }


def _vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=7000, help="records per body (~1 MB)")
    parser.add_argument("--requests", type=int, default=60, help="requests per endpoint, in all")
    parser.add_argument("--clients", type=int, default=2, help="connections for throughput")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--seconds", type=float, default=10, help="each latency phase")
    parser.add_argument("--serve", nargs=2, metavar=("ROOT", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--parse-processes", type=int, help="the API's api_parse_processes")
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.parse_processes)
        return
    with serving(args.parse_processes) as server:
        per_round = max(1, args.requests // args.rounds)
        result = throughput(server, args.records, args.rounds, per_round, args.clients)
        print(f"bodies: {args.records} records, NDJSON {result['ndjson_bytes']} B")
        print("\n| endpoint | records/s | MB/s | p50 ms |\n|---|---:|---:|---:|")
        for key, label in PHASE_NAMES.items():
            r = result[key]
            print(
                f"| {label} | {r['records_s']['median']:,.0f} | {r['mb_s']['median']:.1f}"
                f" | {r['p50_ms']['median']:.1f} |"
            )
        print(f"\nno contract: {result['records_vs_ceiling']:.0%} of the raw ceiling")
        print(f"8-field contract, NDJSON: {result['contract_vs_fastapi']:.2f}x FastAPI list[Model]")
        print(f"8-field contract, JSON array: {result['contract_array_vs_fastapi']:.2f}x")
        rows, ndjson, _ = bodies(args.records)
        small = b"".join(orjson.dumps(r) + b"\n" for r in rows[:100])
        print("\n| 32 clients, contract | body | requests | req/s | p50 ms | p99 ms | errors |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for label, body in (("100 records", small), ("~1 MB", ndjson)):
            nd = "application/x-ndjson"
            r2 = run_latency(server.url, "/v1/tables/orders/records", body, nd, 32, args.seconds)
            _clear(server.root)
            print(
                f"| records, NDJSON | {label} ({len(body)} B) | {r2['requests']} | "
                f"{r2['req_s']:.1f} | {r2['p50_ms']:.1f} | {r2['p99_ms']:.1f} | {r2['errors']} |"
            )


if __name__ == "__main__":
    main()
