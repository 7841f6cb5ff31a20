"""Benchmark the bronze loader against the raw DuckDB → Delta limit on this machine.

    uv run python bench/bench_loader.py                      # everything (about 10 minutes)
    uv run python bench/bench_loader.py --rows 1000000 --skip-big --skip-watch   # quick

Measures (results go in bench/RESULTS-loader.md, by hand):
1. CSV → bronze and NDJSON → bronze rows/s and MB/s at each --rows, beside the raw limit
   measured in the same run: DuckDB ``read_csv``/``read_json`` → ``to_arrow_reader`` →
   ``write_deltalake`` of the same file into a fresh table;
2. peak RSS of a ``lakehouse load`` process loading one CSV of --big-gb GB;
3. 1,000 files of 100 rows dropped at once into a running loader: time until all are in
   bronze, and the number of Delta commits;
4. detection latency (file closed → the loader's worker holds it), p50 / p95, and apart from
   it the time to the bronze commit, which includes the batching window.

Data is generated under --out (default bench/out/, gitignored), never committed.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
from deltalake import DeltaTable, write_deltalake

from lakehouse import LoadEvent, Settings
from loader import Loader

ORDERS = """
select
    i as order_id,
    (i * 7919) % 100000 as customer_id,
    timestamp '2024-01-01' + to_seconds(i % 31536000) as ordered_at,
    ['placed', 'shipped', 'delivered', 'returned'][1 + i % 4] as status,
    round(((i * 37) % 100000) / 100.0, 2) as amount,
    1 + i % 9 as quantity,
    'note ' || (i % 1000) as note
from range({rows}) t(i)
"""


def generate(out: Path, rows: int, fmt: str) -> Path:
    path = out / f"orders-{rows}.{fmt}"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        option = "(header, delimiter ',')" if fmt == "csv" else "(format json)"
        duckdb.sql(f"copy ({ORDERS.format(rows=rows)}) to '{tmp}' {option}")
        tmp.rename(path)
    return path


def raw_limit(path: Path, work: Path, batch_rows: int) -> tuple[float, float]:
    target = work / "raw-limit"
    shutil.rmtree(target, ignore_errors=True)
    reader = "read_csv" if path.suffix == ".csv" else "read_json"
    start, cpu = time.perf_counter(), _cpu()
    con = duckdb.connect()
    rel = con.sql(f"select * from {reader}('{path}')")
    write_deltalake(str(target), rel.to_arrow_reader(batch_rows), mode="append")
    elapsed, used = time.perf_counter() - start, _cpu() - cpu
    con.close()
    shutil.rmtree(target, ignore_errors=True)
    return elapsed, used


def _cpu() -> float:
    """CPU seconds of this process, all threads (fairer than wall time on a busy machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def loader_run(path: Path, work: Path, *, dedup: bool = True) -> tuple[float, float, int]:
    root = work / "lakehouse"
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings(root=root, dedup_by_content=dedup)
    inbox = settings.raw_dir / "orders"
    inbox.mkdir(parents=True)
    os.link(path, inbox / path.name)  # same inode: no copy, and the archive move is a rename
    start, cpu = time.perf_counter(), _cpu()
    summary = Loader(settings).load_pending()
    elapsed, used = time.perf_counter() - start, _cpu() - cpu
    rows = DeltaTable(str(settings.dados / "bronze" / "orders")).count()
    assert rows == summary.rows, (rows, summary.rows)
    shutil.rmtree(root, ignore_errors=True)
    return elapsed, used, len(summary.events)


def throughput(out: Path, rows_list: list[int], repeat: int) -> None:
    print(f"\n## Throughput (best of {repeat}, interleaved; wall s / CPU s of all threads)\n")
    print(
        "| format | rows | MB | raw limit | raw rows/s | loader | loader rows/s | loader MB/s"
        " | loader / limit (wall, CPU) | commits | loader, no content hash | its / limit |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    batch_rows = Settings().read_batch_rows
    for fmt in ("csv", "ndjson"):
        for rows in rows_list:
            path = generate(out, rows, "csv" if fmt == "csv" else "ndjson")
            mb = path.stat().st_size / 1e6
            limits, runs, unhashed = [], [], []
            for _ in range(repeat):  # interleaved: a busy machine slows all alike
                limits.append(raw_limit(path, out, batch_rows))
                runs.append(loader_run(path, out))
                unhashed.append(loader_run(path, out, dedup=False))
            lw, lc = min(w for w, _ in limits), min(c for _, c in limits)
            bw, bc = min(r[0] for r in runs), min(r[1] for r in runs)
            fw, fc = min(r[0] for r in unhashed), min(r[1] for r in unhashed)
            commits = runs[0][2]
            print(
                f"| {fmt} | {rows:,} | {mb:,.0f} | {lw:.2f} / {lc:.2f} | {rows / lw / 1e6:.2f} M"
                f" | {bw:.2f} / {bc:.2f} | {rows / bw / 1e6:.2f} M | {mb / bw:.0f}"
                f" | {lw / bw:.0%}, {lc / bc:.0%} | {commits} | {fw:.2f} / {fc:.2f}"
                f" | {lw / fw:.0%}, {lc / fc:.0%} |",
                flush=True,
            )


def big_rss(out: Path, gb: float) -> None:
    rows = int(gb * 1e9 / 60)  # about 60 bytes per orders row
    path = generate(out, rows, "csv")
    root = out / "big-lakehouse"
    shutil.rmtree(root, ignore_errors=True)
    inbox = root / "landing_zone" / "data" / "raw" / "orders"
    inbox.mkdir(parents=True)
    os.link(path, inbox / path.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_ROOT"] = str(root)
    lakehouse = str(Path(sys.executable).parent / "lakehouse")
    start = time.perf_counter()
    done = subprocess.run([lakehouse, "load", "--no-build"], env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr.decode()
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    count = DeltaTable(str(root / "dados" / "bronze" / "orders")).count()
    assert count == rows, (count, rows)
    size = path.stat().st_size
    print("\n## Big file\n")
    print(f"- file: {size / 1e9:.2f} GB CSV, {rows:,} rows")
    print(
        f"- `lakehouse load --no-build`: {elapsed:.1f} s ({rows / elapsed / 1e6:.2f} M rows/s,"
        f" {size / 1e6 / elapsed:.0f} MB/s), peak RSS {peak_mib:,.0f} MiB"
    )
    shutil.rmtree(root, ignore_errors=True)


class Watching:
    def __init__(self, settings: Settings) -> None:
        self.events: list[LoadEvent] = []
        self.detected: dict[str, float] = {}
        self.committed: dict[str, float] = {}
        self.loader = Loader(settings, on_event=self._event)
        self.loader.on_detect = lambda path, at: self.detected.setdefault(path.name, at)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loader.run, args=(self.stop,), daemon=True)
        self.rows = 0
        self.done = threading.Condition()

    def _event(self, event: LoadEvent) -> None:
        now = time.time()
        with self.done:
            self.events.append(event)
            self.rows += event.rows
            for name in list(self.detected):
                self.committed.setdefault(name, now)
            self.done.notify_all()

    def wait_rows(self, rows: int, timeout: float) -> bool:
        with self.done:
            return self.done.wait_for(lambda: self.rows >= rows, timeout)

    def __enter__(self) -> Watching:
        self.thread.start()
        time.sleep(1.0)  # let the observer start
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def _write(folder: Path, name: str, text: str) -> float:
    path = folder / name
    with path.open("w") as f:
        f.write(text)
    return time.time()


def many_files(out: Path) -> None:
    root = out / "many-lakehouse"
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings(root=root)
    inbox = settings.raw_dir / "orders"
    inbox.mkdir(parents=True)
    bodies = []
    for f in range(1000):
        lines = ["order_id,customer_id,amount,status"]
        lines += [f"{f * 100 + i},{i},{i * 1.5},placed" for i in range(100)]
        bodies.append("\n".join(lines) + "\n")
    with Watching(settings) as w:
        start = time.perf_counter()
        for f, body in enumerate(bodies):
            _write(inbox, f"part-{f:04}.csv", body)
        written = time.perf_counter() - start
        ok = w.wait_rows(100_000, timeout=300)
        elapsed = time.perf_counter() - start
    assert ok, "not all rows arrived"
    print("\n## 1,000 files of 100 rows dropped at once (watch mode, inotify)\n")
    print(f"- writing the 1,000 files took {written:.2f} s")
    print(
        f"- first write → all 100,000 rows in bronze: {elapsed:.2f} s,"
        f" in {len(w.events)} Delta commits (batch_max_files={settings.batch_max_files},"
        f" batch_window_ms={settings.batch_window_ms})"
    )
    shutil.rmtree(root, ignore_errors=True)


def latency(out: Path, files: int, gap_s: float) -> None:
    root = out / "latency-lakehouse"
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings(root=root)
    inbox = settings.raw_dir / "orders"
    inbox.mkdir(parents=True)
    closed: dict[str, float] = {}
    with Watching(settings) as w:
        for f in range(files):
            name = f"one-{f:04}.csv"
            closed[name] = _write(inbox, name, f"order_id,amount\n{f},1.5\n")
            w.wait_rows(f + 1, timeout=30)
            time.sleep(gap_s)  # an idle loader each time: latency, not queueing
    detect = sorted((w.detected[n] - closed[n]) * 1000 for n in closed)
    commit = sorted((w.committed[n] - closed[n]) * 1000 for n in closed)

    def pct(values: list[float], p: float) -> float:
        return statistics.quantiles(values, n=100)[int(p) - 1]

    print(f"\n## Latency over {files} files, one at a time (inotify)\n")
    print(
        f"- file closed → loader's worker holds it: p50 {pct(detect, 50):.2f} ms,"
        f" p95 {pct(detect, 95):.2f} ms, max {max(detect):.2f} ms"
    )
    print(
        f"- file closed → bronze commit done: p50 {pct(commit, 50):.1f} ms,"
        f" p95 {pct(commit, 95):.1f} ms (includes batch_window_ms="
        f"{settings.batch_window_ms} and the Delta commit)"
    )
    shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--rows", default="1000000,10000000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--big-gb", type=float, default=2.2)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--skip-watch", action="store_true")
    parser.add_argument("--latency-files", type=int, default=200)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.out = args.out.resolve()
    print(
        f"# bench_loader: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}, duckdb {duckdb.__version__}"
    )
    throughput(args.out, [int(r) for r in args.rows.split(",")], args.repeat)
    if not args.skip_big:
        big_rss(args.out, args.big_gb)
    if not args.skip_watch:
        many_files(args.out)
        latency(args.out, args.latency_files, 0.1)


if __name__ == "__main__":
    main()
