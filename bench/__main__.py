"""``uv run python -m bench``: every speed and memory figure of the project, peers beside it.

    uv run python -m bench                  # the full run (< 20 min on 2 quiet cores)
    uv run python -m bench --quick          # smoke sizes (~1 min): every figure, none to quote
    uv run python -m bench --only api,e2e   # some sections (names below), at full size
    uv run python -m bench --huge           # also 100M bronze rows built and published (long)

Sections (each at three sizes where a size means something, so the growth is visible; runs
of the product and its limit or peer are interleaved, medians of --repeat rounds with min and
max): ``loader`` (CSV/NDJSON → bronze vs the raw DuckDB → Delta limit; a TPC-H-shaped
``lineitem`` CSV/Parquet vs the same), ``dlt`` (Parquet → bronze vs dlt's Arrow path; NDJSON vs
its dict path), ``bigcsv`` (peak RSS of a ≥ 2 GB CSV load), ``small`` (1,000 small files;
detection latency), ``upkeep`` (after 1,000, 3,000 and 10,000 one-row appends), ``e2e`` (file
closed → gold commit of the sample shop vs a cold ``dbt build`` CLI run after each load),
``scale`` (build + publish vs a plain warm build; a 1% incremental batch vs a full refresh,
with its peak RSS; each run interleaved with the others), ``api``
(``/records`` vs the raw HTTP ceiling and FastAPI ``list[Model]``; a 1 GB upload's RSS), ``huge``
(100M bronze rows built and published: too long for the 20-minute run).

Writes ``latest.json`` and ``latest.md`` to bench/results/ (full runs) or bench/out/quick/
(``--quick`` and ``--only``): the machine, versions, every section's command and the load
average before and after it, and every figure by a stable name under ``"figures"``.
The peers (dlt) install into their own venv, bench/out/peers, never the product's.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import HEADLINE, REPO, Results, update_readme

SECTIONS = ("loader", "dlt", "bigcsv", "small", "upkeep", "e2e", "scale", "api")
#: every headline figure must be in a run's results (CI's smoke run checks)
REQUIRED = HEADLINE


@dataclass(frozen=True)
class Sizes:
    repeat: int
    loader_rows: tuple[int, ...]
    lineitem_rows: tuple[int, ...]
    dlt_parquet_rows: tuple[int, ...]
    dlt_dict_rows: tuple[int, ...]
    big_csv_gb: float
    small_files: tuple[int, ...]
    latency_rows: tuple[int, ...]
    latency_files: int
    upkeep_appends: tuple[int, ...]
    e2e_preload: tuple[int, ...]
    e2e_batches: int
    scale_rows: tuple[int, ...]
    api_records: tuple[int, ...]
    api_requests: int
    upload_gb: float


FULL = Sizes(
    repeat=3,
    loader_rows=(100_000, 1_000_000, 10_000_000),
    lineitem_rows=(6_000_000,),
    dlt_parquet_rows=(100_000, 1_000_000, 5_000_000),
    dlt_dict_rows=(10_000, 50_000, 200_000),
    big_csv_gb=2.2,
    small_files=(100, 300, 1000),
    latency_rows=(1, 1_000, 100_000),
    latency_files=40,
    upkeep_appends=(1_000, 3_000, 10_000),
    e2e_preload=(200, 1_000, 5_000),
    e2e_batches=12,
    scale_rows=(100_000, 1_000_000, 10_000_000),
    api_records=(700, 7_000, 70_000),
    api_requests=560_000,  # records per endpoint and round: >= 26 posts of 7,000 (README)
    upload_gb=1.0,
)
QUICK = Sizes(
    repeat=1,
    loader_rows=(20_000,),
    lineitem_rows=(20_000,),
    dlt_parquet_rows=(20_000,),
    dlt_dict_rows=(2_000,),
    big_csv_gb=0.01,
    small_files=(20,),
    latency_rows=(1,),
    latency_files=3,
    upkeep_appends=(30,),
    e2e_preload=(200,),
    e2e_batches=2,
    scale_rows=(20_000,),
    api_records=(700,),
    api_requests=2_800,
    upload_gb=0.01,
)


def _n(rows: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{unit}"
    return str(rows)


def _median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass(frozen=True)
class Goal:
    """A figure's target as shown, and whether a value meets it."""

    text: str
    met: Callable[[float], bool]


RAW_LIMIT = Goal("≥ 80%", lambda v: v >= 0.8)
THRICE_DLT = Goal("≥ 3x", lambda v: v >= 3)
UNDER_1_GIB = Goal("< 1024 MiB", lambda v: v < 1024)
Run = dict[str, Any]


class Bench:
    def __init__(self, results: Results, sizes: Sizes, out: Path) -> None:
        self.r = results
        self.s = sizes
        self.out = out

    def figure(
        self,
        section: str,
        name: str,
        value: float,
        unit: str,
        what: str,
        goal: Goal | None = None,
    ) -> None:
        met = goal.met(value) if goal else None
        self.r.figure(section, name, value, unit, what, target=goal.text if goal else "", met=met)

    def sized(
        self,
        section: str,
        name: str,
        runs: Sequence[Run],
        value: Callable[[Run], float],
        unit: str,
        each: Callable[[Run], str],
        headline: Callable[[Run], str] | None = None,
        goal: Goal | None = None,
        *,
        size: str = "rows",
        pick: int = -1,
    ) -> None:
        """One figure per run (``<name>_<size>``), then the headline ``<name>`` from
        ``runs[pick]`` (the largest size unless said)."""
        for run in runs:
            self.figure(section, f"{name}_{_n(run[size])}", value(run), unit, each(run), goal)
        if headline is not None:
            chosen = runs[pick]
            self.figure(section, name, value(chosen), unit, headline(chosen), goal)

    # -- loader --------------------------------------------------------------------------

    def loader(self) -> None:
        from bench import bench_loader

        cmd = f"bench_loader.compare(csv|ndjson, rows={self.s.loader_rows}, repeat={self.s.repeat})"
        with self.r.section("loader", cmd) as sec:
            runs: list[Run] = []
            for fmt in ("csv", "ndjson"):
                some = [
                    bench_loader.compare(self.out, fmt, n, self.s.repeat)
                    for n in self.s.loader_rows
                ]
                runs += some
                self.sized(
                    "loader",
                    f"bronze_{fmt}_vs_raw",
                    some,
                    lambda r: float(r["vs_raw_wall"]),
                    "%",
                    lambda r: (
                        f"{r['format'].upper()} {r['rows']:,} rows → bronze, share of the raw"
                        f" limit (wall; CPU {r['vs_raw_cpu']:.0%})"
                    ),
                    lambda r: (
                        f"{r['format'].upper()} → bronze vs raw DuckDB → Delta, {r['rows']:,}"
                        f" rows (wall; CPU {r['vs_raw_cpu']:.0%})"
                    ),
                    RAW_LIMIT,
                )
            for fmt in ("csv", "parquet"):
                for rows in self.s.lineitem_rows:
                    result = bench_loader.compare(self.out, fmt, rows, self.s.repeat, "lineitem")
                    runs.append(result)
                    self.figure(
                        "loader",
                        f"bronze_lineitem_{fmt}_vs_raw",
                        result["vs_raw_wall"],
                        "%",
                        f"TPC-H-shaped lineitem {fmt} {rows:,} rows vs raw (wall; CPU"
                        f" {result['vs_raw_cpu']:.0%})",
                        RAW_LIMIT,
                    )
            sec["results"] = runs

    def dlt(self) -> None:
        from bench import bench_loader, peer_env

        cmd = (
            f"bench_loader.compare_dlt(parquet rows={self.s.dlt_parquet_rows}, ndjson rows="
            f"{self.s.dlt_dict_rows}, repeat={self.s.repeat}); peers: bench/peers/requirements.txt"
        )
        with self.r.section("dlt", cmd) as sec:
            sec["peer_versions"] = peer_env.versions()
            dlt = sec["peer_versions"]["dlt"]
            runs: list[Run] = []
            for fmt, sizes, name in (
                ("parquet", self.s.dlt_parquet_rows, "bronze_parquet_vs_dlt"),
                ("ndjson", self.s.dlt_dict_rows, "bronze_ndjson_vs_dlt_dicts"),
            ):
                some = [bench_loader.compare_dlt(self.out, fmt, n, self.s.repeat) for n in sizes]
                runs += some
                self.sized(
                    "dlt",
                    name,
                    some,
                    lambda r: float(r["vs_dlt_wall"]),
                    "x",
                    lambda r, f=fmt: (
                        f"{f} {r['rows']:,} rows: dlt's time / the loader's (CPU"
                        f" {r['vs_dlt_cpu']:.2f}x)"
                    ),
                    lambda r, f=fmt: (
                        f"{f} → bronze, times faster than dlt {dlt}"
                        f" ({r['dlt_mode']} path), {r['rows']:,} rows"
                    ),
                    THRICE_DLT if fmt == "parquet" else None,
                )
            sec["results"] = runs

    def bigcsv(self) -> None:
        from bench import bench_loader

        gb = self.s.big_csv_gb
        with self.r.section("bigcsv", f"lakehouse load --no-build of one {gb} GB CSV") as sec:
            result = bench_loader.big_rss(self.out, gb)
            sec["results"] = result
            self.figure(
                "bigcsv",
                "peak_rss_2gb_csv_mib",
                result["peak_rss_mib"],
                "MiB",
                f"peak RSS loading one {result['bytes'] / 1e9:.2f} GB CSV"
                f" ({result['rows']:,} rows, {result['wall_s']:.1f} s)",
                UNDER_1_GIB,
            )
            self.figure(
                "bigcsv",
                "big_csv_load_s",
                result["wall_s"],
                "s",
                f"time to load the {result['bytes'] / 1e9:.2f} GB CSV",
            )

    def small(self) -> None:
        from bench import bench_loader

        cmd = (
            f"bench_loader.many_files(files={self.s.small_files}, rows=100);"
            f" bench_loader.latency(files={self.s.latency_files}, rows={self.s.latency_rows})"
        )
        with self.r.section("small", cmd) as sec:
            many = [bench_loader.many_files(self.out, n) for n in self.s.small_files]
            for m in many:
                self.figure(
                    "small",
                    f"small_files_{m['files']}_s",
                    m["all_in_bronze_s"],
                    "s",
                    f"{m['files']:,} files of 100 rows dropped at once → all in bronze"
                    f" ({m['commits']} commits)",
                )
            lat = [
                bench_loader.latency(self.out, self.s.latency_files, 0.05, rows)
                for rows in self.s.latency_rows
            ]
            for one in lat:
                suffix = "" if one["rows"] == 1 else f"_{_n(one['rows'])}rows"
                self.figure(
                    "small",
                    f"detect_p50_ms{suffix}",
                    one["detect_p50_ms"],
                    "ms",
                    f"file of {one['rows']:,} rows closed → the loader holds it, p50"
                    f" (p95 {one['detect_p95_ms']:.2f} ms)",
                    Goal("< 10 ms", lambda v: v < 10),
                )
                self.figure(
                    "small",
                    f"commit_p50_ms{suffix}",
                    one["commit_p50_ms"],
                    "ms",
                    f"file of {one['rows']:,} rows closed → bronze commit, p50 (p95"
                    f" {one['commit_p95_ms']:.0f} ms; batch window {one['batch_window_ms']} ms)",
                )
            sec["results"] = {"many_files": many, "latency": lat}

    def upkeep(self) -> None:
        from bench import bench_upkeep

        counts = list(self.s.upkeep_appends)
        with self.r.section("upkeep", f"bench_upkeep.upkeep(appends={counts})") as sec:
            results = bench_upkeep.upkeep(self.out, counts)
            sec["results"] = results
            for one in results:
                n = one["appends"]
                self.figure(
                    "upkeep",
                    f"upkeep_after_{n}_appends_s",
                    one["upkeep_s"],
                    "s",
                    f"upkeep (compact, checkpoint, vacuum) after {n:,} one-row appends",
                )
                self.figure(
                    "upkeep",
                    f"read_after_{n}_appends_s",
                    one["read_before_s"],
                    "s",
                    f"open + scan after {n:,} appends, before upkeep"
                    f" ({one['files_before']:.0f} files; after: {one['read_after_s']:.3f} s,"
                    f" {one['files_after']:.0f} files)",
                )

    # -- dbt -----------------------------------------------------------------------------

    def e2e(self) -> None:
        from bench import bench_build

        cmd = (
            f"bench_build.latency_in_child(batches={self.s.e2e_batches}, project=sample,"
            f" preload={self.s.e2e_preload}, cli_runs={self.s.repeat})"
        )
        with self.r.section("e2e", cmd) as sec:
            runs = [
                bench_build.latency_in_child(self.s.e2e_batches, preload, self.s.repeat)
                for preload in self.s.e2e_preload
            ]
            for result in runs:
                preload = result["preload_orders"]
                tag = f"_{_n(preload)}orders"
                self.figure(
                    "e2e",
                    f"e2e_sample_p50_s{tag}",
                    result["p50_s"],
                    "s",
                    f"sample shop with {preload:,} orders: file closed → gold commit, p50"
                    f" (p95 {result['p95_s']:.2f} s; build {result['p50_build_s']:.2f} s: dbt"
                    f" {result['p50_dbt_build_s']:.2f} s, publish {result['p50_publish_s']:.2f} s;"
                    f" settle window {result['settle_ms']} ms"
                    + (
                        ", cut short when nothing more lands)"
                        if result.get("settle_early")
                        else ")"
                    ),
                )
                self.figure(
                    "e2e",
                    f"e2e_vs_cold_cli{tag}",
                    result["cold_cli_s"] / result["p50_s"],
                    "x",
                    f"sample shop with {preload:,} orders: cold `dbt build` CLI"
                    f" ({result['cold_cli_s']:.2f} s) / warm p50",
                )
            first = runs[0]
            what = f"sample shop ({first['preload_orders']} orders), `source:bronze.orders+`"
            batches = first["batches"]
            for name, value, text, goal in (
                ("p50_s", first["p50_s"], f"file closed → gold commit, p50 of {batches}", 1.0),
                ("p95_s", first["p95_s"], "p95", 1.5),
            ):
                target = Goal(f"≤ {goal} s", lambda v, g=goal: v <= g)
                self.figure("e2e", f"e2e_sample_{name}", value, "s", f"{what}: {text}", target)
            self.figure(
                "e2e",
                "e2e_vs_cold_cli",
                first["cold_cli_s"] / first["p50_s"],
                "x",
                f"{what}: cold `dbt build` CLI after each load ({first['cold_cli_s']:.2f} s,"
                " no publish) / warm p50",
                Goal("≥ 10x", lambda v: v >= 10),
            )
            sec["results"] = runs

    def scale(self) -> None:
        from bench import bench_build

        cmd = f"bench_build.scale(rows={self.s.scale_rows}, repeat={self.s.repeat})"
        with self.r.section("scale", cmd) as sec:
            runs = [
                bench_build.scale(rows, self.s.repeat, ("plain", "publish"))
                for rows in self.s.scale_rows
            ]

            def publish(r: Run) -> str:
                return f"{r['publish']['seconds']:.2f} s"

            def plain(r: Run) -> str:
                return f"{r['plain']['seconds']:.2f} s"

            def one_percent(r: Run) -> str:
                return f"{r['incremental']['one_percent_s']:.2f} s"

            def full(r: Run) -> str:
                return f"{r['incremental']['full_refresh_s']:.2f} s"

            def spread(r: Run) -> str:
                """The 1% batch's runs (one per round, interleaved with the other variants)."""
                runs = r["incremental"].get("all_one_percent_s", [])
                return (
                    f"; 1% batch {min(runs):.2f} to {max(runs):.2f} s in {len(runs)}"
                    if runs
                    else ""
                )

            inc_cpu = ("incremental", "one_percent_cpu_s")
            full_cpu = ("incremental", "full_refresh_cpu_s")

            def cpu(r: Run, a: tuple[str, str], b: tuple[str, str]) -> str:
                """The same ratio in CPU seconds (every thread; wall time lies on a busy
                machine): ``a`` and ``b`` name (part, key) of the result."""
                x, y = r[a[0]].get(a[1]), r[b[0]].get(b[1])
                return f"; CPU {x / y:.2f}: {x:.2f} s / {y:.2f} s" if x and y else ""

            self.sized(
                "scale",
                "publish_vs_build",
                runs,
                lambda r: float(r["publish"]["seconds"] / r["plain"]["seconds"]),
                "x",
                lambda r: (
                    f"{r['rows']:,} rows: build + publish ({publish(r)}) / plain warm"
                    f" build ({plain(r)})"
                ),
                lambda r: (
                    f"{r['rows']:,} rows: build + publish / plain warm build"
                    f" ({publish(r)} / {plain(r)}"
                    f"{cpu(r, ('publish', 'cpu_s'), ('plain', 'cpu_s'))})"
                ),
                Goal("≤ 1.3x", lambda v: v <= 1.3),
            )
            self.sized(
                "scale",
                "incremental_vs_full",
                runs,
                lambda r: float(
                    r["incremental"]["one_percent_s"] / r["incremental"]["full_refresh_s"]
                ),
                "%",
                lambda r: (
                    f"{r['rows']:,} rows: 1% batch build + publish ({one_percent(r)}) /"
                    f" full refresh ({full(r)})"
                ),
                lambda r: (
                    f"{r['rows']:,} rows: 1% batch, build + publish / full refresh"
                    f" ({one_percent(r)} / {full(r)}"
                    f"{cpu(r, inc_cpu, full_cpu)}{spread(r)})"
                ),
                Goal("≤ 25%", lambda v: v <= 0.25),
            )
            self.sized(
                "scale",
                "incremental_publish_rss_mib",
                runs,
                lambda r: float(r["incremental"]["one_percent_peak_rss_mib"]),
                "MiB",
                lambda r: (
                    f"{r['rows']:,} rows: peak RSS during the 1% build + publish (process"
                    f" {r['incremental']['one_percent_rss_before_mib']:.0f} MiB before it)"
                ),
                lambda r: (
                    f"{r['rows']:,} rows: peak RSS of the process during a 1% incremental"
                    " build + publish"
                ),
                UNDER_1_GIB,
            )
            sec["results"] = runs

    # -- API -----------------------------------------------------------------------------

    def api(self) -> None:
        from bench import bench_api, bench_loader

        cmd = (
            f"bench_api.throughput(records={self.s.api_records}, rounds={self.s.repeat},"
            " clients=2); bench_api.upload_rss"
        )
        with self.r.section("api", cmd) as sec:
            runs = []
            with bench_api.serving() as server:
                for records in self.s.api_records:
                    per_round = max(4, self.s.api_requests // records // max(1, self.s.repeat))
                    runs.append(bench_api.throughput(server, records, self.s.repeat, per_round, 2))
            middle = len(runs) // 2
            self.sized(
                "api",
                "api_records_vs_ceiling",
                runs,
                lambda r: float(r["records_vs_ceiling"]),
                "%",
                lambda r: (
                    f"/records, NDJSON, {r['records_per_body']:,} records"
                    f" ({r['ndjson_bytes']:,} B) per body, no contract / raw HTTP ceiling (MB/s)"
                ),
                lambda r: (
                    f"/records, NDJSON, no contract, {r['records_per_body']:,} records per"
                    " body, vs the raw HTTP ceiling"
                ),
                Goal("≥ 50%", lambda v: v >= 0.5),
                size="records_per_body",
                pick=middle,
            )
            self.sized(
                "api",
                "api_contract_vs_fastapi",
                runs,
                lambda r: float(r["contract_vs_fastapi"]),
                "x",
                lambda r: (
                    f"/records, NDJSON, 8-field contract, {r['records_per_body']:,} records"
                    " per body / FastAPI list[Model] (JSON array"
                    f" {r['contract_array_vs_fastapi']:.2f}x)"
                ),
                lambda r: (
                    "/records with an 8-field contract vs FastAPI list[Model],"
                    f" {r['records_per_body']:,} records per body"
                ),
                Goal("≥ 3x", lambda v: v >= 3),
                size="records_per_body",
                pick=middle,
            )
            rows = int(self.s.upload_gb * 1e9 / 60)
            source = bench_loader.generate(self.out, rows, "csv")
            upload = bench_api.upload_rss(source)
            self.figure(
                "api",
                "api_upload_1gb_rss_mib",
                upload["peak_rss_mib"],
                "MiB",
                f"API server's peak RSS over one {upload['bytes'] / 1e9:.2f} GB CSV upload"
                f" ({upload['seconds']:.1f} s; {upload['rss_before_mib']:.0f} MiB before)",
                Goal("< 256 MiB", lambda v: v < 256),
            )
            sec["results"] = {"throughput": runs, "upload": upload}

    def huge(self) -> None:
        from bench import bench_build

        cmd = "bench_build.scale(rows=100_000_000, repeat=1, variants=('publish',))"
        with self.r.section("huge", cmd) as sec:
            result = bench_build.scale(100_000_000, 1, ("publish",), incremental=False)
            sec["results"] = result
            self.figure(
                "huge",
                "huge_100m_build_publish_s",
                result["publish"]["seconds"],
                "s",
                f"100M bronze rows (written in {result['bronze_written_s']:.0f} s): build +"
                f" publish (dbt {result['publish']['dbt_s']:.0f} s, publish"
                f" {result['publish']['publish_s']:.0f} s)",
            )
            self.figure(
                "huge",
                "huge_100m_peak_rss_mib",
                result["publish"]["peak_rss_mb"],
                "MiB",
                "100M bronze rows: peak RSS of the build + publish process",
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke sizes: every figure, fast")
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument("--repeat", type=int, help="interleaved rounds (default 3; quick 1)")
    parser.add_argument("--huge", action="store_true", help="also 100M rows (long)")
    parser.add_argument("--results", type=Path, help="folder for latest.json and latest.md")
    parser.add_argument("--data", type=Path, help="generated files (default bench/out/data)")
    parser.add_argument(
        "--into",
        type=Path,
        help="measure --only's sections again into this earlier run's folder (the other "
        "sections and figures kept; each section says when and at which commit it was measured)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = Sizes(**{**sizes.__dict__, "repeat": args.repeat})
    chosen = [s.strip() for s in args.only.split(",")] if args.only else list(SECTIONS)
    unknown = set(chosen) - {*SECTIONS, "huge"}
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.huge and "huge" not in chosen:
        chosen.append("huge")
    partial = args.quick or args.only is not None
    folder = args.results or (REPO / "bench" / ("out/quick" if partial else "results"))
    command = "uv run python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    results = Results(quick=args.quick, command=command.strip())
    if args.into is not None:
        results.merge_from(args.into / "latest.json")
        results.command += f"; then {command.strip()}"
        folder = args.into
    data = args.data or REPO / "bench" / "out" / ("quick/data" if args.quick else "data")
    data.mkdir(parents=True, exist_ok=True)
    bench = Bench(results, sizes, data.resolve())
    for name in chosen:
        results.forget(name)
        getattr(bench, name)()
        results.write(folder)  # after every section: an interrupted run keeps what it measured
    path = results.write(folder)
    if (not partial and args.results is None) or (args.into is not None and not results.quick):
        update_readme(results.as_json())
    if args.quick and args.data is None:  # small generated files: not worth keeping
        shutil.rmtree(data, ignore_errors=True)
    print(f"\nwrote {path} and {path.with_suffix('.md')}")
    missing = check(path) if args.only is None or args.into is not None else []
    if missing or results.errors:
        print(f"missing figures: {missing}; errors: {results.errors}", file=sys.stderr)
        return 1
    return 0


def check(path: Path) -> list[str]:
    """The required figures a results file lacks (what CI's smoke run asserts)."""
    import json

    data: dict[str, Any] = json.loads(path.read_text())
    figures = data.get("figures", {})
    return [
        name
        for name in REQUIRED
        if not isinstance(figures.get(name, {}).get("value"), int | float)
        or figures[name].get("load_before") is None
    ]


if __name__ == "__main__":
    raise SystemExit(main())
