"""``uv run python -m bench``: every speed and memory figure of the project, peers beside it.

    uv run python -m bench                  # the full run (< 20 min on 2 quiet cores)
    uv run python -m bench --quick          # smoke sizes (~1 min): every figure, none to quote
    uv run python -m bench --only api,e2e   # some sections (names below), at full size
    uv run python -m bench --huge           # also 100M bronze rows built and published (long)

Sections (each at three sizes where a size means something, so the growth is visible; runs
of the product and its limit or peer are interleaved, medians of --repeat rounds with min and
max): ``loader`` (CSV/NDJSON → bronze vs the raw DuckDB → Delta limit; a TPC-H-shaped
``lineitem`` CSV/Parquet vs the same), ``dlt`` (Parquet → bronze vs dlt's Arrow path; NDJSON vs
its dict path), ``bigcsv`` (peak RSS of a ≥ 2 GB CSV load), ``small`` (1,000 small files; detection
latency), ``upkeep`` (after 10,000 small appends), ``e2e`` (file closed → gold commit of the
sample shop vs a cold ``dbt build`` CLI run after each load), ``scale`` (build + publish vs a
plain warm build; a 1% incremental batch vs a full refresh, with its peak RSS), ``api``
(``/records`` vs the raw HTTP ceiling and FastAPI ``list[Model]``; a 1 GB upload's RSS), ``huge``
(100M bronze rows built and published; upkeep after 10,000 one-row appends: both too long for
the 20-minute run).

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
    upkeep_appends=(300, 1_000, 3_000),
    e2e_preload=(200, 1_000, 5_000),
    e2e_batches=12,
    scale_rows=(100_000, 1_000_000, 10_000_000),
    api_records=(700, 7_000, 70_000),
    api_requests=70_000,
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


class Bench:
    def __init__(self, results: Results, sizes: Sizes, out: Path) -> None:
        self.r = results
        self.s = sizes
        self.out = out

    # -- loader --------------------------------------------------------------------------

    def loader(self) -> None:
        from bench import bench_loader

        cmd = f"bench_loader.compare(csv|ndjson, rows={self.s.loader_rows}, repeat={self.s.repeat})"
        with self.r.section("loader", cmd) as sec:
            runs = []
            for fmt in ("csv", "ndjson"):
                for rows in self.s.loader_rows:
                    result = bench_loader.compare(self.out, fmt, rows, self.s.repeat)
                    runs.append(result)
                    self.r.figure(
                        "loader",
                        f"bronze_{fmt}_vs_raw_{_n(rows)}",
                        result["vs_raw_wall"],
                        "%",
                        f"{fmt.upper()} {rows:,} rows → bronze, share of the raw limit (wall;"
                        f" CPU {result['vs_raw_cpu']:.0%})",
                        target="≥ 80%",
                        met=result["vs_raw_wall"] >= 0.8,
                    )
                big = runs[-1]
                self.r.figure(
                    "loader",
                    f"bronze_{fmt}_vs_raw",
                    big["vs_raw_wall"],
                    "%",
                    f"{fmt.upper()} → bronze vs raw DuckDB → Delta, {big['rows']:,} rows (wall;"
                    f" CPU {big['vs_raw_cpu']:.0%})",
                    target="≥ 80%",
                    met=big["vs_raw_wall"] >= 0.8,
                )
            for fmt in ("csv", "parquet"):
                for rows in self.s.lineitem_rows:
                    result = bench_loader.compare(self.out, fmt, rows, self.s.repeat, "lineitem")
                    runs.append(result)
                    self.r.figure(
                        "loader",
                        f"bronze_lineitem_{fmt}_vs_raw",
                        result["vs_raw_wall"],
                        "%",
                        f"TPC-H-shaped lineitem {fmt} {rows:,} rows vs raw (wall; CPU"
                        f" {result['vs_raw_cpu']:.0%})",
                        target="≥ 80%",
                        met=result["vs_raw_wall"] >= 0.8,
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
            runs = []
            for fmt, sizes, name in (
                ("parquet", self.s.dlt_parquet_rows, "bronze_parquet_vs_dlt"),
                ("ndjson", self.s.dlt_dict_rows, "bronze_ndjson_vs_dlt_dicts"),
            ):
                for rows in sizes:
                    result = bench_loader.compare_dlt(self.out, fmt, rows, self.s.repeat)
                    runs.append(result)
                    self.r.figure(
                        "dlt",
                        f"{name}_{_n(rows)}",
                        result["vs_dlt_wall"],
                        "x",
                        f"{fmt} {rows:,} rows: dlt's time / the loader's (CPU"
                        f" {result['vs_dlt_cpu']:.2f}x)",
                        target="≥ 3x" if fmt == "parquet" else "",
                        met=result["vs_dlt_wall"] >= 3 if fmt == "parquet" else None,
                    )
                big = runs[-1]
                self.r.figure(
                    "dlt",
                    name,
                    big["vs_dlt_wall"],
                    "x",
                    f"{fmt} → bronze, times faster than dlt {sec['peer_versions']['dlt']}"
                    f" ({big['dlt_mode']} path), {big['rows']:,} rows",
                    target="≥ 3x" if fmt == "parquet" else "",
                    met=big["vs_dlt_wall"] >= 3 if fmt == "parquet" else None,
                )
            sec["results"] = runs

    def bigcsv(self) -> None:
        from bench import bench_loader

        gb = self.s.big_csv_gb
        with self.r.section("bigcsv", f"lakehouse load --no-build of one {gb} GB CSV") as sec:
            result = bench_loader.big_rss(self.out, gb)
            sec["results"] = result
            self.r.figure(
                "bigcsv",
                "peak_rss_2gb_csv_mib",
                result["peak_rss_mib"],
                "MiB",
                f"peak RSS loading one {result['bytes'] / 1e9:.2f} GB CSV"
                f" ({result['rows']:,} rows, {result['wall_s']:.1f} s)",
                target="< 1024 MiB",
                met=result["peak_rss_mib"] < 1024,
            )
            self.r.figure(
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
                self.r.figure(
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
                self.r.figure(
                    "small",
                    f"detect_p50_ms{suffix}",
                    one["detect_p50_ms"],
                    "ms",
                    f"file of {one['rows']:,} rows closed → the loader holds it, p50"
                    f" (p95 {one['detect_p95_ms']:.2f} ms)",
                    target="< 10 ms",
                    met=one["detect_p50_ms"] < 10,
                )
                self.r.figure(
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
                self.r.figure(
                    "upkeep",
                    f"upkeep_after_{n}_appends_s",
                    one["upkeep_s"],
                    "s",
                    f"upkeep (compact, checkpoint, vacuum) after {n:,} one-row appends",
                )
                self.r.figure(
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
            runs = []
            for preload in self.s.e2e_preload:
                result = bench_build.latency_in_child(self.s.e2e_batches, preload, self.s.repeat)
                runs.append(result)
                tag = f"_{_n(preload)}orders"
                self.r.figure(
                    "e2e",
                    f"e2e_sample_p50_s{tag}",
                    result["p50_s"],
                    "s",
                    f"sample shop with {preload:,} orders: file closed → gold commit, p50"
                    f" (p95 {result['p95_s']:.2f} s; dbt {result['p50_dbt_build_s']:.2f} s,"
                    f" publish {result['p50_publish_s']:.2f} s)",
                )
                self.r.figure(
                    "e2e",
                    f"e2e_vs_cold_cli{tag}",
                    result["cold_cli_s"] / result["p50_s"],
                    "x",
                    f"sample shop with {preload:,} orders: cold `dbt build` CLI"
                    f" ({result['cold_cli_s']:.2f} s) / warm p50",
                )
            first = runs[0]
            what = f"sample shop ({first['preload_orders']} orders), `source:bronze.orders+`"
            self.r.figure(
                "e2e",
                "e2e_sample_p50_s",
                first["p50_s"],
                "s",
                f"{what}: file closed → gold commit, p50 of {first['batches']}",
                target="≤ 1.0 s",
                met=first["p50_s"] <= 1.0,
            )
            self.r.figure(
                "e2e",
                "e2e_sample_p95_s",
                first["p95_s"],
                "s",
                f"{what}: p95",
                target="≤ 1.5 s",
                met=first["p95_s"] <= 1.5,
            )
            ratio = first["cold_cli_s"] / first["p50_s"]
            self.r.figure(
                "e2e",
                "e2e_vs_cold_cli",
                ratio,
                "x",
                f"{what}: cold `dbt build` CLI after each load ({first['cold_cli_s']:.2f} s,"
                " no publish) / warm p50",
                target="≥ 10x",
                met=ratio >= 10,
            )
            sec["results"] = runs

    def scale(self) -> None:
        from bench import bench_build

        cmd = f"bench_build.scale(rows={self.s.scale_rows}, repeat={self.s.repeat})"
        with self.r.section("scale", cmd) as sec:
            runs = []
            for rows in self.s.scale_rows:
                result = bench_build.scale(rows, self.s.repeat, ("plain", "publish"))
                runs.append(result)
                plain, publish = result["plain"]["seconds"], result["publish"]["seconds"]
                inc = result["incremental"]
                tag = f"_{_n(rows)}"
                self.r.figure(
                    "scale",
                    f"publish_vs_build{tag}",
                    publish / plain,
                    "x",
                    f"{rows:,} rows: build + publish ({publish:.2f} s) / plain warm build"
                    f" ({plain:.2f} s)",
                    target="≤ 1.3x",
                    met=publish / plain <= 1.3,
                )
                self.r.figure(
                    "scale",
                    f"incremental_vs_full{tag}",
                    inc["one_percent_s"] / inc["full_refresh_s"],
                    "%",
                    f"{rows:,} rows: 1% batch build + publish ({inc['one_percent_s']:.2f} s) /"
                    f" full refresh ({inc['full_refresh_s']:.2f} s)",
                    target="≤ 25%",
                    met=inc["one_percent_s"] / inc["full_refresh_s"] <= 0.25,
                )
                self.r.figure(
                    "scale",
                    f"incremental_publish_rss_mib{tag}",
                    inc["one_percent_peak_rss_mib"],
                    "MiB",
                    f"{rows:,} rows: peak RSS during the 1% build + publish (process"
                    f" {inc['one_percent_rss_before_mib']:.0f} MiB before it)",
                    target="< 1024 MiB",
                    met=inc["one_percent_peak_rss_mib"] < 1024,
                )
            big = runs[-1]
            plain, publish = big["plain"]["seconds"], big["publish"]["seconds"]
            inc = big["incremental"]
            rows = big["rows"]
            self.r.figure(
                "scale",
                "publish_vs_build",
                publish / plain,
                "x",
                f"{rows:,} rows: build + publish / plain warm build"
                f" ({publish:.2f} s / {plain:.2f} s)",
                target="≤ 1.3x",
                met=publish / plain <= 1.3,
            )
            self.r.figure(
                "scale",
                "incremental_vs_full",
                inc["one_percent_s"] / inc["full_refresh_s"],
                "%",
                f"{rows:,} rows: 1% batch, build + publish / full refresh"
                f" ({inc['one_percent_s']:.2f} s / {inc['full_refresh_s']:.2f} s)",
                target="≤ 25%",
                met=inc["one_percent_s"] / inc["full_refresh_s"] <= 0.25,
            )
            self.r.figure(
                "scale",
                "incremental_publish_rss_mib",
                inc["one_percent_peak_rss_mib"],
                "MiB",
                f"{rows:,} rows: peak RSS of the process during a 1% incremental build + publish",
                target="< 1024 MiB",
                met=inc["one_percent_peak_rss_mib"] < 1024,
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
                    per_round = max(2, self.s.api_requests // records // max(1, self.s.repeat))
                    result = bench_api.throughput(server, records, self.s.repeat, per_round, 2)
                    runs.append(result)
                    tag = f"_{_n(records)}"
                    self.r.figure(
                        "api",
                        f"api_records_vs_ceiling{tag}",
                        result["records_vs_ceiling"],
                        "%",
                        f"/records, NDJSON, {records:,} records ({result['ndjson_bytes']:,} B)"
                        " per body, no contract / raw HTTP ceiling (MB/s)",
                        target="≥ 50%",
                        met=result["records_vs_ceiling"] >= 0.5,
                    )
                    self.r.figure(
                        "api",
                        f"api_contract_vs_fastapi{tag}",
                        result["contract_vs_fastapi"],
                        "x",
                        f"/records, NDJSON, 8-field contract, {records:,} records per body /"
                        " FastAPI list[Model] (JSON array"
                        f" {result['contract_array_vs_fastapi']:.2f}x)",
                        target="≥ 3x",
                        met=result["contract_vs_fastapi"] >= 3,
                    )
            middle = runs[len(runs) // 2]
            self.r.figure(
                "api",
                "api_records_vs_ceiling",
                middle["records_vs_ceiling"],
                "%",
                f"/records, NDJSON, no contract, {middle['records_per_body']:,} records per body,"
                " vs the raw HTTP ceiling",
                target="≥ 50%",
                met=middle["records_vs_ceiling"] >= 0.5,
            )
            self.r.figure(
                "api",
                "api_contract_vs_fastapi",
                middle["contract_vs_fastapi"],
                "x",
                f"/records with an 8-field contract vs FastAPI list[Model],"
                f" {middle['records_per_body']:,} records per body",
                target="≥ 3x",
                met=middle["contract_vs_fastapi"] >= 3,
            )
            rows = int(self.s.upload_gb * 1e9 / 60)
            source = bench_loader.generate(self.out, rows, "csv")
            upload = bench_api.upload_rss(source)
            self.r.figure(
                "api",
                "api_upload_1gb_rss_mib",
                upload["peak_rss_mib"],
                "MiB",
                f"API server's peak RSS over one {upload['bytes'] / 1e9:.2f} GB CSV upload"
                f" ({upload['seconds']:.1f} s; {upload['rss_before_mib']:.0f} MiB before)",
                target="< 256 MiB",
                met=upload["peak_rss_mib"] < 256,
            )
            sec["results"] = {"throughput": runs, "upload": upload}

    def huge(self) -> None:
        from bench import bench_build

        self.s = Sizes(**{**self.s.__dict__, "upkeep_appends": (10_000,)})
        self.upkeep()  # 10,000 one-row appends: ~19 min at load 7 (delta-rs commits slow with N)

        cmd = "bench_build.scale(rows=100_000_000, repeat=1, variants=('publish',))"
        with self.r.section("huge", cmd) as sec:
            result = bench_build.scale(100_000_000, 1, ("publish",), incremental=False)
            sec["results"] = result
            self.r.figure(
                "huge",
                "huge_100m_build_publish_s",
                result["publish"]["seconds"],
                "s",
                f"100M bronze rows (written in {result['bronze_written_s']:.0f} s): build +"
                f" publish (dbt {result['publish']['dbt_s']:.0f} s, publish"
                f" {result['publish']['publish_s']:.0f} s)",
            )
            self.r.figure(
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
