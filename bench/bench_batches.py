"""Small batches at scale: a new batch costs what it changes, not what the tables hold.

    uv run python bench/bench_batches.py [--orders 2000000] [--batches 20] [--batch-orders 1000]
        [--seed 7] [--sessions-per-order 0.1] [--lines-file-orders 1000000] [--no-write]

The sample shop (``dbt_project/``, its own models, tests and ``dbt_project.yml``) on data made
by a seeded generator in DuckDB SQL (``generate``: the sample shop's six tables in its own
landing formats, the shape of ``app/sample_data.py``'s wave 1: orders with 1-4 lines, about 4
orders per customer, a payment per order that is not cancelled, clickstream sessions), streamed
to files so millions of orders never sit in Python memory. Then:

1. **first load**: every file dropped in the landing zone, a real ``lakehouse loader`` process
   (the loader, its warm builder and the automatic upkeep, as ``lakehouse up`` runs them) loads
   and builds everything; wall time, peak RSS, disk.
2. **plain ``dbt build``** of the same project on the same bronze, a cold CLI into a fresh
   DuckDB file (no publish): the yardstick.
3. **batches**: ``--batches`` times, a file of ``--batch-orders`` new orders and a file of their
   lines, closed one after the other in the landing zone, one batch at a time; per batch: file
   closed → published (the run ledger's ``published_at`` of the later of the two), Delta bytes
   written to silver and gold (files the batch added), the loader's peak RSS, builds.
4. **checks**: every version of ``silver/stg_shop__order_lines`` and ``gold/orders`` holds whole
   files only (no partial publish: the order lines of the first load come in files bigger than
   ``chunk_rows``, loaded in pieces while builds run), and gold equals a plain build's marts.
5. the plain ``dbt build`` again, and the disk after the batches.

Results go to ``bench/RESULTS-batches.md`` (the command, the load average before and after, the
figures and ratios of the same run). Data lives under ``bench/out/batches/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import duckdb
import psutil

from bench.servers import stop

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "batches"
RESULTS = REPO / "bench" / "RESULTS-batches.md"
sys.path.insert(0, str(REPO))

START = "2026-01-01 00:00:00+00"
DAYS = 28
ORDERS_PER_FILE = 100_000


# -- the generator -----------------------------------------------------------------------------


def _ts(expr: str) -> str:
    """An ISO 8601 UTC text with ``Z``, as the shop's systems send it."""
    return f"strftime({expr}, '%Y-%m-%dT%H:%M:%SZ')"


def _h(seed: int, *parts: object) -> str:
    """A deterministic pseudo-random unsigned 64-bit number from the seed and ``parts``."""
    return f"hash({seed}, {', '.join(str(p) for p in parts)})"


class Shop:
    """The sample shop's tables for ``orders`` orders, as SQL over ``range`` (nothing in memory)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, orders: int, seed: int) -> None:
        self.con = con
        self.seed = seed
        self.customers = max(20, orders // 4)
        self.products = max(20, min(2000, orders // 10))
        con.execute("set TimeZone = 'UTC'")

    def orders_sql(self, first: int, last: int) -> str:
        s = self.seed
        return f"""
            select
                i as order_id,
                ({_h(s, "i", 1)} % {self.customers} + 1)::bigint as customer_id,
                ['placed', 'placed', 'placed', 'paid', 'paid', 'paid', 'shipped', 'shipped',
                 'delivered', 'delivered', 'cancelled'][({_h(s, "i", 2)} % 11 + 1)::int] as status,
                timestamptz '{START}' + to_seconds(({_h(s, "i", 3)} % {DAYS * 86400})::bigint)
                    as ordered,
                [0, 0, 399, 599][({_h(s, "i", 4)} % 4 + 1)::int]::bigint as shipping_cents,
                to_minutes(({_h(s, "i", 5)} % 600 + 1)::bigint) as later
            from range({first}, {last + 1}) t(i)
        """

    def order_file(self, first: int, last: int) -> str:
        return f"""
            select order_id, customer_id, status, {_ts("ordered")} as ordered_at, shipping_cents,
                   {_ts("ordered + later")} as updated_at
            from ({self.orders_sql(first, last)}) order by order_id
        """

    def lines_sql(self, first: int, last: int) -> str:
        s = self.seed
        return f"""
            select
                o.order_id * 4 + k as order_line_id,
                o.order_id,
                k as line_number,
                ({_h(s, "o.order_id", 10, "k")} % {self.products} + 1)::bigint as product_id,
                ({_h(s, "o.order_id", 11, "k")} % 3 + 1)::bigint as quantity,
                o.ordered
            from ({self.orders_sql(first, last)}) as o, range(1, 5) l(k)
            where k <= {_h(s, "o.order_id", 12)} % 4 + 1
        """

    def priced_lines_sql(self, first: int, last: int) -> str:
        s = self.seed
        return f"""
            select l.*,
                (199 + {_h(s, "l.product_id", 20)} % 19801)::bigint as unit_price_cents,
                case when {_h(s, "l.order_line_id", 13)} % 5 = 0
                     then (199 + {_h(s, "l.product_id", 20)} % 19801)::bigint * quantity // 10
                     else 0 end::bigint as discount_cents
            from ({self.lines_sql(first, last)}) as l
        """

    def lines_file(self, first: int, last: int) -> str:
        return f"""
            select order_line_id, order_id, line_number, product_id, quantity, unit_price_cents,
                   discount_cents, {_ts("ordered")} as updated_at
            from ({self.priced_lines_sql(first, last)}) order by order_line_id
        """

    def payments_file(self, first: int, last: int) -> str:
        s = self.seed
        return f"""
            with totals as (
                select order_id, sum(unit_price_cents * quantity - discount_cents) as merchandise
                from ({self.priced_lines_sql(first, last)}) group by order_id
            )
            select o.order_id as payment_id, o.order_id,
                ['card', 'paypal', 'bank_transfer', 'gift_card'][
                    ({_h(s, "o.order_id", 30)} % 4 + 1)::int] as payment_method,
                case when o.status = 'placed' then 'pending' else 'succeeded' end as status,
                (o.shipping_cents + t.merchandise)::bigint as amount_cents,
                {_ts("o.ordered + interval 30 second")} as created_at,
                {_ts("o.ordered + o.later")} as updated_at
            from ({self.orders_sql(first, last)}) as o join totals as t using (order_id)
            where o.status <> 'cancelled' order by o.order_id
        """

    def customers_file(self) -> str:
        s = self.seed
        return f"""
            select i as customer_id,
                lower(f || '.' || l || '.' || i || '@example.com') as email,
                f as first_name, l as last_name,
                ['PT', 'ES', 'FR', 'DE', 'IT', 'NL', 'BE', 'IE'][
                    ({_h(s, "i", 41)} % 8 + 1)::int] as country_code,
                {_ts("created")} as created_at, {_ts("created")} as updated_at
            from (
                select i,
                    ['Ana', 'Bruno', 'Carla', 'Diogo', 'Eva', 'Filipe', 'Gil', 'Helena', 'Ines',
                     'Joao'][({_h(s, "i", 42)} % 10 + 1)::int] as f,
                    ['Almeida', 'Braga', 'Costa', 'Dias', 'Esteves', 'Faria', 'Gomes', 'Lopes',
                     'Sousa'][({_h(s, "i", 43)} % 9 + 1)::int] as l,
                    timestamptz '{START}'
                        - to_seconds(({_h(s, "i", 44)} % 31536000 + 86400)::bigint) as created
                from range(1, {self.customers + 1}) t(i)
            ) order by i
        """

    def products_file(self) -> str:
        s = self.seed
        return f"""
            select i as product_id, 'SKU-' || lpad(i::varchar, 6, '0') as sku,
                upper(c[1]) || c[2:] || ' item ' || i as product_name, c as category,
                (199 + {_h(s, "i", 20)} % 19801)::bigint as unit_price_cents,
                {_h(s, "i", 51)} % 20 <> 0 as is_active,
                {_ts(f"timestamptz '{START}' - interval 30 day")} as updated_at
            from (
                select i, ['books', 'games', 'garden', 'kitchen', 'music', 'outdoor', 'toys'][
                    ({_h(s, "i", 50)} % 7 + 1)::int] as c
                from range(1, {self.products + 1}) t(i)
            ) order by i
        """

    def events_file(self, first: int, last: int, per_order: float) -> str:
        """A converting session (five steps) for a share ``per_order`` of the orders."""
        s = self.seed
        every = max(1, round(1 / per_order)) if per_order > 0 else 0
        steps = "['page_view', 'product_view', 'add_to_cart', 'checkout_started', 'order_placed']"
        return f"""
            select md5(o.order_id || '-' || k) as event_id, md5('s' || o.order_id) as session_id,
                o.customer_id, {steps}[k] as event_type,
                case when k in (2, 3) then ({_h(s, "o.order_id", 10, 1)} % {self.products} + 1)
                     end::bigint as product_id,
                case when k = 5 then o.order_id end as order_id,
                ['desktop', 'mobile', 'tablet'][({_h(s, "o.order_id", 60)} % 3 + 1)::int] as device,
                ['/', '/products', '/cart', '/checkout', '/checkout/done'][k] as page_path,
                {_ts("o.ordered - to_seconds((6 - k) * 40)")} as occurred_at
            from ({self.orders_sql(first, last)}) as o, range(1, 6) e(k)
            where {every} > 0 and o.order_id % {every or 1} = 0
            order by o.order_id, k
        """

    def write(self, sql: str, path: Path, fmt: str) -> int:
        """``sql`` to ``path`` (a hidden temporary name, then renamed: a closed file); rows."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.tmp"
        options = {
            "json": "(format json, array true)",
            "ndjson": "(format json)",
            "csv": "(format csv, header true)",
        }[fmt]
        rows = self.con.execute(f"copy ({sql}) to '{tmp}' {options}").fetchone()
        os.replace(tmp, path)
        return int(rows[0]) if rows else 0


@dataclass
class Landed:
    """Rows per table and per file written to the landing zone."""

    rows: dict[str, int] = field(default_factory=dict)
    line_files: list[int] = field(default_factory=list)  # rows of each order lines file

    def add(self, table: str, rows: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows


def generate(
    raw: Path, orders: int, seed: int, sessions_per_order: float, lines_file_orders: int
) -> Landed:
    shop = Shop(duckdb.connect(), orders, seed)
    landed = Landed()
    landed.add("customers", shop.write(shop.customers_file(), raw / "customers/c.csv", "csv"))
    landed.add("products", shop.write(shop.products_file(), raw / "products/p.csv", "csv"))
    for first in range(1, orders + 1, ORDERS_PER_FILE):
        last = min(orders, first + ORDERS_PER_FILE - 1)
        tag = f"{first:09d}"
        landed.add(
            "orders", shop.write(shop.order_file(first, last), raw / f"orders/o{tag}.json", "json")
        )
        landed.add(
            "payments",
            shop.write(shop.payments_file(first, last), raw / f"payments/p{tag}.ndjson", "ndjson"),
        )
        landed.add(
            "events",
            shop.write(
                shop.events_file(first, last, sessions_per_order),
                raw / f"events/e{tag}.ndjson",
                "ndjson",
            ),
        )
    for first in range(1, orders + 1, lines_file_orders):  # big files: loaded in pieces
        last = min(orders, first + lines_file_orders - 1)
        rows = shop.write(
            shop.lines_file(first, last), raw / f"order_lines/l{first:09d}.ndjson", "ndjson"
        )
        landed.add("order_lines", rows)
        landed.line_files.append(rows)
    return landed


def write_batch(
    raw: Path, orders: int, seed: int, first: int, count: int, i: int
) -> tuple[int, int, float]:
    """Batch ``i``: a file of ``count`` new orders, then a file of their lines.

    (orders, lines, when the first file was closed).
    """
    shop = Shop(duckdb.connect(), orders, seed)  # the same customers and products
    last = first + count - 1
    n = shop.write(shop.order_file(first, last), raw / f"orders/batch_{i:03d}.json", "json")
    closed = time.time()
    lines = shop.write(
        shop.lines_file(first, last), raw / f"order_lines/batch_{i:03d}.ndjson", "ndjson"
    )
    return n, lines, closed


# -- measuring -----------------------------------------------------------------------------------


class Peak:
    """Samples a process tree's RSS every 50 ms; ``take()`` returns the peak since last time."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                rss = self.proc.memory_info().rss
                rss += sum(c.memory_info().rss for c in self.proc.children(recursive=True))
            except psutil.Error:
                continue
            self._peak = max(self._peak, rss)

    def take(self) -> int:
        peak, self._peak = self._peak, 0
        return peak

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the process tree used so far (children alive now)."""
        total = 0.0
        for proc in [self.proc, *self.proc.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        self._stop.set()


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def disk(dados: Path) -> dict[str, int]:
    """Bytes on disk under ``dados``, by part (the DuckDB file with its write-ahead log)."""
    parts = {layer: du(dados / layer) for layer in ("bronze", "silver", "gold", "_lakehouse")}
    parts["warehouse.duckdb"] = du(dados / "warehouse.duckdb") + du(dados / "warehouse.duckdb.wal")
    return parts


def data_files(dados: Path) -> dict[str, int]:
    """Every Parquet file of silver and gold, with its size."""
    out: dict[str, int] = {}
    for layer in ("silver", "gold"):
        for p in (dados / layer).rglob("*.parquet"):
            out[str(p)] = p.stat().st_size
    return out


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def ledger_state(ledger: Path) -> dict[str, tuple[str, str | None]]:
    """``{source file: (state, published_at)}`` of every batch in the run ledger."""
    if not ledger.exists():
        return {}
    con = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute("select source_file, state, published_at from batches").fetchall()
    except sqlite3.OperationalError:  # being created
        return {}
    finally:
        con.close()
    return {r[0]: (r[1], r[2]) for r in rows}


def wait_published(ledger: Path, files: list[str], timeout: float) -> dict[str, float]:
    """Until every file of ``files`` is published; their ``published_at`` (epoch seconds)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = ledger_state(ledger)
        bad = [f for f in files if states.get(f, ("", None))[0] in ("quarantined", "failed")]
        if bad:
            raise RuntimeError(f"not loaded or not built: {bad}: {[states[f] for f in bad]}")
        if all(states.get(f, ("", None))[0] == "published" for f in files):
            return {f: datetime.fromisoformat(str(states[f][1])).timestamp() for f in files}
        time.sleep(0.05)
    raise TimeoutError(f"not published within {timeout} s: {files}")


@contextmanager
def running_loader(
    root: Path, log: Path, chunk_rows: int | None
) -> Iterator[subprocess.Popen[bytes]]:
    """``lakehouse loader`` on ``root`` with the repo's dbt project, as ``lakehouse up`` runs it."""
    env = {
        **os.environ,
        **({"LAKEHOUSE_CHUNK_ROWS": str(chunk_rows)} if chunk_rows else {}),
        "LAKEHOUSE_ROOT": str(root),
        "LAKEHOUSE_DBT_PROJECT_DIR": str(REPO / "dbt_project"),
        "LAKEHOUSE_PROFILES_DIR": str(REPO),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    lakehouse = Path(sys.executable).parent / "lakehouse"
    with log.open("ab") as out:
        proc = subprocess.Popen([str(lakehouse), "loader"], env=env, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        stop(proc, 120)


def plain_dbt_build(dados: Path, place: Path) -> dict[str, float]:
    """A cold ``dbt build`` CLI of the sample project on ``dados``' bronze, a fresh DuckDB file."""
    shutil.rmtree(place, ignore_errors=True)
    place.mkdir(parents=True)
    env = {
        **os.environ,
        "LAKEHOUSE_DADOS": str(dados),
        "LAKEHOUSE_WAREHOUSE": str(place / "warehouse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = Path(sys.executable).parent / "dbt"
    args = [
        "build",
        "--project-dir",
        str(REPO / "dbt_project"),
        "--profiles-dir",
        str(REPO),
        "--target-path",
        str(place / "target"),
        "--log-path",
        str(place / "logs"),
        "--quiet",
    ]
    started = time.perf_counter()
    proc = subprocess.Popen([str(dbt), *args], env=env, cwd=place)
    peak = Peak(proc.pid)
    _, code, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(code)
    seconds = time.perf_counter() - started
    peak.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"plain dbt build failed ({proc.returncode})")
    return {"seconds": seconds, "rss": peak.take(), "cpu_s": usage.ru_utime + usage.ru_stime}


# -- checks ------------------------------------------------------------------------------------


class VersionWatcher:
    """Reads every version of some Delta tables as it is committed, while the loader runs.

    ``count(*)`` and ``sum`` of the given columns at each version, checked at once: the upkeep
    vacuums silver and gold down to their last versions (``published_versions_kept``), so a
    version can only be checked while it is among them (or current within
    ``published_retention_minutes``: this thread keeps up well within that).
    """

    def __init__(self, tables: dict[Path, list[str]], every_s: float = 0.25) -> None:
        self.tables = tables
        self.every_s = every_s
        self.seen: dict[Path, list[dict[str, Any]]] = {path: [] for path in tables}
        self.missed: dict[Path, list[int]] = {path: [] for path in tables}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        con = duckdb.connect()
        while True:
            stopping = self._stop.is_set()
            try:
                self._catch_up(con)
            except Exception as exc:  # reported, never silent
                self.errors.append(repr(exc))
            if stopping:
                return
            self._stop.wait(self.every_s)

    def _catch_up(self, con: duckdb.DuckDBPyConnection) -> None:
        from deltalake import DeltaTable

        from lakehouse.storage import arrow_dataset

        for path, columns in self.tables.items():
            if not DeltaTable.is_deltatable(str(path)):
                continue
            latest = DeltaTable(str(path)).version()
            done = self.seen[path]
            first = (done[-1]["version"] + 1) if done else 0
            for v in range(first, latest + 1):
                try:
                    con.register("data", arrow_dataset(DeltaTable(str(path), version=v)))
                    sums = ", ".join(f"sum({c})::bigint" for c in columns)
                    row = con.execute(
                        f"select count(*){', ' + sums if sums else ''} from data"
                    ).fetchall()[0]
                except Exception as exc:  # vacuumed before this thread read it
                    if "not found" not in str(exc).lower():
                        raise
                    self.missed[path].append(v)
                    done.append({"version": v, "missed": True})
                    continue
                finally:
                    con.unregister("data")
                entry = {"version": v, "rows": int(row[0])}
                entry.update(zip(columns, row[1:], strict=True))
                done.append(entry)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(600)


def subset_sums(sizes: list[int]) -> set[int]:
    return {sum(c) for n in range(len(sizes) + 1) for c in combinations(sizes, n)}


def gold_matches_plain(dados: Path, plain: Path) -> dict[str, bool]:
    """Each published gold mart equals the plain build's model (as sets of rows)."""
    from deltalake import DeltaTable

    from lakehouse.storage import arrow_dataset

    con = duckdb.connect(str(plain / "warehouse.duckdb"), read_only=True)
    out = {}
    for mart in ("orders", "daily_revenue", "customer_lifetime_value", "funnel_conversion"):
        published = arrow_dataset(DeltaTable(str(dados / "gold" / mart)))
        con.register("published", published)
        columns = ", ".join(f'"{c}"' for c in published.schema.names)
        row = con.execute(
            f"select (select count(*) from (select {columns} from published except all"
            f" select {columns} from main.{mart})), (select count(*) from (select {columns}"
            f" from main.{mart} except all select {columns} from published))"
        ).fetchall()[0]
        con.unregister("published")
        out[mart] = row == (0, 0)
    con.close()
    return out


# -- the run -----------------------------------------------------------------------------------


def run(args: argparse.Namespace, out: Path = OUT) -> dict[str, Any]:
    """The whole benchmark in ``out`` (emptied first); every figure and check, as a dict."""
    root = out / "root"
    shutil.rmtree(out, ignore_errors=True)
    raw = root / "landing_zone" / "data" / "raw"
    dados = root / "dados"
    result: dict[str, Any] = {"load_before": load_average(), "args": vars(args)}

    started = time.perf_counter()
    landed = generate(raw, args.orders, args.seed, args.sessions_per_order, args.lines_file_orders)
    result["generate_s"] = time.perf_counter() - started
    result["landed"] = landed.rows
    result["line_files"] = landed.line_files
    files = [p.name for p in raw.rglob("*") if p.is_file()]

    log = out / "loader.log"
    watched = {
        dados / "silver" / "stg_shop__order_lines": [],
        dados / "gold" / "orders": ["lines_count"],
    }
    watcher = VersionWatcher(watched)
    with running_loader(root, log, args.chunk_rows) as proc:
        peak = Peak(proc.pid)
        started = time.time()
        wait_published(root / "dados" / "_lakehouse" / "ledger.sqlite", files, args.timeout)
        result["first_load_s"] = time.time() - started
        loaded_at = time.time()
        result["first_load_rss"] = peak.take()
        result["disk_first_load"] = disk(dados)
        result["plain_before"] = plain_dbt_build(dados, out / "plain")
        peak.take()

        batches = []
        next_order = args.orders + 1
        ledger = dados / "_lakehouse" / "ledger.sqlite"
        for i in range(args.batches):
            before = data_files(dados)
            warehouse_before = disk(dados)["warehouse.duckdb"]
            cpu_before = peak.cpu_seconds()
            n, lines, closed = write_batch(
                raw, args.orders, args.seed, next_order, args.batch_orders, i
            )
            published = wait_published(
                ledger, [f"batch_{i:03d}.json", f"batch_{i:03d}.ndjson"], args.timeout
            )
            after = data_files(dados)
            written = {
                layer: sum(
                    size
                    for path, size in after.items()
                    if path not in before and f"/{layer}/" in path
                )
                for layer in ("silver", "gold")
            }
            batches.append(
                {
                    "batch": i,
                    "orders": n,
                    "lines": lines,
                    "closed_to_published_s": max(published.values()) - closed,
                    # the loader process (its builder, watcher and upkeep) from the first file
                    # written to the last published
                    "cpu_s": peak.cpu_seconds() - cpu_before,
                    "load_1min": os.getloadavg()[0],
                    # silver re-reads bronze rows of the last bronze_lookback_minutes (10)
                    "minutes_after_first_load": (closed - loaded_at) / 60,
                    "silver_bytes": written["silver"],
                    "gold_bytes": written["gold"],
                    "warehouse_growth": disk(dados)["warehouse.duckdb"] - warehouse_before,
                    "rss": peak.take(),
                }
            )
            next_order += args.batch_orders
            print(json.dumps(batches[-1]), flush=True)
        result["batches"] = batches
        time.sleep(1)  # the builder idles; the upkeep may run between builds
        result["disk_after"] = disk(dados)
        peak.stop()

    result["plain_after"] = plain_dbt_build(dados, out / "plain")
    result["gold_matches_plain"] = gold_matches_plain(dados, out / "plain")
    batch_lines = [b["lines"] for b in batches]
    allowed_lines = {
        s + sum(batch_lines[:k])
        for s in subset_sums(landed.line_files)
        for k in range(len(batch_lines) + 1)
    }
    watcher.stop()
    silver, gold = (watcher.seen[path] for path in watched)
    result["versions"] = {
        "silver/stg_shop__order_lines": len(silver),
        "gold/orders": len(gold),
    }
    result["versions_missed"] = {str(p.relative_to(dados)): m for p, m in watcher.missed.items()}
    result["watch_errors"] = watcher.errors
    result["partial"] = {
        "silver/stg_shop__order_lines": [
            v for v in silver if not v.get("missed") and v["rows"] not in allowed_lines
        ],
        "gold/orders": [
            v for v in gold if not v.get("missed") and (v["lines_count"] or 0) not in allowed_lines
        ],
    }
    result["load_after"] = load_average()
    return result


# -- report --------------------------------------------------------------------------------------


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(r: dict[str, Any], command: str) -> str:
    import deltalake

    b = r["batches"]
    lat = [x["closed_to_published_s"] for x in b]
    written = [x["silver_bytes"] + x["gold_bytes"] for x in b]
    plain = statistics.median([r["plain_before"]["seconds"], r["plain_after"]["seconds"]])
    plain_cpu = statistics.median([r["plain_before"]["cpu_s"], r["plain_after"]["cpu_s"]])
    cpu = [x["cpu_s"] for x in b]
    missed = sum(len(v) for v in r["versions_missed"].values())
    first_disk = sum(r["disk_first_load"].values())
    after_disk = sum(r["disk_after"].values())
    partial = sum(len(v) for v in r["partial"].values())
    lines = [
        "# Small batches at scale (bench_batches.py)",
        "",
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; "
        f"duckdb {duckdb.__version__}, deltalake {deltalake.__version__}.",
        f"Load average (1, 5, 15 min) before: **{r['load_before']}**; after: "
        f"**{r['load_after']}** (2 cores, shared).",
        "",
        f"Data: {', '.join(f'{t} {n:,}' for t, n in sorted(r['landed'].items()))} rows in the "
        f"landing zone (generated in {r['generate_s']:.1f} s); order lines in "
        f"{len(r['line_files'])} files of up to {max(r['line_files']):,} rows (loaded in pieces).",
        "",
        "| what | figure |",
        "|---|---|",
        f"| first load: landing files → every batch published | {r['first_load_s']:.1f} s, "
        f"peak RSS {mb(r['first_load_rss'])} MB |",
        f"| plain `dbt build` (cold CLI, fresh DuckDB file), before / after the batches | "
        f"{r['plain_before']['seconds']:.1f} s / {r['plain_after']['seconds']:.1f} s "
        f"({r['plain_before']['cpu_s']:.1f} / {r['plain_after']['cpu_s']:.1f} CPU s), "
        f"peak RSS {mb(r['plain_before']['rss'])} MB |",
        f"| batch: file closed → published, p50 / p95 / max ({len(b)} batches) | "
        f"**{statistics.median(lat):.2f} s / {pct(lat, 0.95):.2f} s / {max(lat):.2f} s** |",
        f"| ratio batch p50 / plain `dbt build` (median of the two) | "
        f"**{statistics.median(lat) / plain:.2f}x** (target ≤ 0.5x) |",
        f"| CPU seconds: batch p50 / max (the loader process, file written → published) | "
        f"{statistics.median(cpu):.1f} / {max(cpu):.1f} CPU s; ratio to the plain build's "
        f"{plain_cpu:.1f} CPU s: **{statistics.median(cpu) / plain_cpu:.2f}x** |",
        f"| bytes written to silver + gold per batch, p50 / max | "
        f"**{mb(statistics.median(written))} MB / {mb(max(written))} MB** (target ≤ 20 MB) |",
        f"| loader process peak RSS during the batches (max) | {mb(max(x['rss'] for x in b))} MB |",
        f"| disk after the first load / after {len(b)} batches | {mb(first_disk)} MB / "
        f"{mb(after_disk)} MB: **{after_disk / first_disk:.2f}x** (target ≤ 1.5x) |",
        f"| versions checked for partial files (each read as it was committed) | "
        f"{r['versions']}: **{partial} partial**; {missed} vacuumed before read; watcher "
        f"errors: {len(r['watch_errors'])} |",
        f"| gold equals the plain build's marts (as sets of rows) | {r['gold_matches_plain']} |",
        "",
        "Per batch:",
        "",
        "| batch | minutes after the first load | orders | lines | closed → published (s) | "
        "CPU s | load (1 min) | silver written (MB) | gold written (MB) | "
        "warehouse.duckdb growth (MB) | peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in b:
        lines.append(
            f"| {x['batch']} | {x['minutes_after_first_load']:.1f} | {x['orders']} | "
            f"{x['lines']} | {x['closed_to_published_s']:.2f} | {x['cpu_s']:.1f} | "
            f"{x['load_1min']:.1f} | "
            f"{mb(x['silver_bytes'])} | {mb(x['gold_bytes'])} | {mb(x['warehouse_growth'])} | "
            f"{mb(x['rss'])} |"
        )
    lines += [
        "",
        "Disk by part (MB), after the first load → after the batches: "
        + "; ".join(
            f"{k} {mb(r['disk_first_load'][k])} → {mb(r['disk_after'][k])}"
            for k in r["disk_first_load"]
        ),
        "",
    ]
    return "\n".join(lines)


def machine() -> str:
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
        f"Python {platform.python_version()}"
    )


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-orders", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sessions-per-order", type=float, default=0.1)
    parser.add_argument("--lines-file-orders", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=None, help="Default: the setting's.")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--no-write", action="store_true", help="Print, do not write results.")
    return parser


def main() -> int:
    args = arguments().parse_args()
    command = "uv run python bench/bench_batches.py " + " ".join(sys.argv[1:])
    result = run(args)
    (OUT / "result.json").write_text(json.dumps(result, indent=2, default=str))
    text = report(result, command.strip())
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
