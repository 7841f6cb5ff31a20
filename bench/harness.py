"""What every benchmark of ``python -m bench`` shares: interleaved runs, their statistics, the
machine's load around each figure, and the results files (``latest.json``, ``latest.md``).

A *run* is one call that returns its measures (``{"wall_s": ..., "cpu_s": ..., ...}``). Runs of
the things compared with each other (the product and its raw limit or its peer) are
*interleaved*: round 1 of each, then round 2 of each..., so a neighbour's burst of work slows
every side alike; a figure is the median of the rounds, with their min and max beside it.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
Run = Callable[[], Mapping[str, Any]]


def cpu_seconds() -> float:
    """CPU seconds of this process, all threads (a busy machine disturbs it less than wall)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """``with timed() as t: ...`` → ``t["wall_s"]``, ``t["cpu_s"]`` (this process, all threads)."""
    out: dict[str, float] = {}
    wall, cpu = time.perf_counter(), cpu_seconds()
    yield out
    out["wall_s"] = time.perf_counter() - wall
    out["cpu_s"] = cpu_seconds() - cpu


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": [round(v, 4) for v in values],
    }


def interleaved(runs: Mapping[str, Run], repeat: int) -> dict[str, dict[str, Any]]:
    """Each of ``runs`` ``repeat`` times, round by round; per run, a summary of each measure."""
    seen: dict[str, list[Mapping[str, Any]]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            seen[name].append(run())
    out: dict[str, dict[str, Any]] = {}
    for name, results in seen.items():
        keys = [k for k, v in results[0].items() if isinstance(v, int | float)]
        out[name] = {k: summary([float(r[k]) for r in results]) for k in keys}
        out[name]["extra"] = {k: v for k, v in results[0].items() if k not in keys}
    return out


def ratio(numerator: dict[str, Any], denominator: dict[str, Any]) -> float:
    """A ratio of two medians."""
    return float(numerator["median"]) / float(denominator["median"])


class PeakRss:
    """Peak resident memory of a process (this one by default), sampled every 20 ms.

    For a child process, ``/proc/<pid>/status``'s VmHWM (the kernel's own high-water mark) is
    read too when the sampler stops, so a peak between two samples is not missed.
    """

    def __init__(self, pid: int | None = None, interval: float = 0.02) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.pid = pid or os.getpid()
        self.interval = interval
        self.peak = self.process.memory_info().rss
        self._start_hwm = _hwm(self.pid)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        self._sampler = str(threading.get_native_id())
        while not self._done.wait(self.interval or 0.02):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except Exception:  # the process ended
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        hwm = _hwm(self.pid)
        # the kernel's mark counts from the process' start: only trust it when it moved
        if hwm is not None and (self._start_hwm is None or hwm > self._start_hwm):
            self.peak = max(self.peak, hwm)

    @property
    def mib(self) -> float:
        return self.peak / 2**20


class CoresWanted:
    """How many cores this process kept busy *and wanted*: its threads running or runnable.

    ``/proc/self/task/*/schedstat`` gives each thread's time on a CPU and its time waiting in
    the run queue (runnable, no core free); their sum over the threads, per wall second, is the
    number of cores the process could have used at once. On a machine loaded by others, CPU
    seconds over wall (``cores used``) falls with the load while this mostly does not: a serial
    stage wants about 1, a stage that would keep both cores of a quiet 2-core machine busy 2 or
    more. Not wholly load-free: a thread that wakes for a moment (a timer, a sampler) waits in
    a loaded run queue far longer than it runs, and counts all that wait; and it is an average
    over the run (3 wanted in one half and 1 in the other read 2, where 2 cores give 1.5).
    Sampled every ``interval`` seconds, so a thread that ends (dbt's per-invocation pool) loses
    at most its last interval; ``None``: read at the start and the end only (no sampler thread,
    whose own wake-ups wait in the run queue of a loaded machine and would count as wanted when
    one ``CoresWanted`` runs inside another; a thread that ends in between is then missed).
    Linux only (``wanted`` is NaN elsewhere).
    """

    def __init__(self, interval: float | None = 0.02) -> None:
        self.interval = interval
        self._last: dict[str, int] = {}
        self._runnable_ns = 0
        #: (``time.perf_counter()``, runnable thread-seconds so far) at each read: how many
        #: cores were wanted over any part of the run (bench.timeline_scale)
        self.readings: list[tuple[float, float]] = []
        self._sampler = ""
        self._started = 0.0
        self.wall = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _read(self) -> None:
        for path in Path("/proc/self/task").glob("*/schedstat"):
            if path.parent.name == self._sampler:
                continue  # the sampler itself
            try:
                run, wait, _ = path.read_text().split()
            except (OSError, ValueError):
                continue  # the thread ended
            now = int(run) + int(wait)
            self._runnable_ns += now - self._last.get(str(path), now)
            self._last[str(path)] = now
        self.readings.append((time.perf_counter(), self._runnable_ns / 1e9))

    def _sample(self) -> None:
        self._sampler = str(threading.get_native_id())
        while not self._done.wait(self.interval or 0.02):
            self._read()

    def __enter__(self) -> CoresWanted:
        if Path("/proc/self/task").is_dir():
            self._read()
            if self.interval is not None:
                self._thread.start()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._started
        if self._thread.is_alive():
            self._done.set()
            self._thread.join()
        if self._last:
            self._read()

    @property
    def wanted(self) -> float:
        """Runnable thread-seconds per wall second (NaN without ``/proc``)."""
        if not self._last or self.wall <= 0:
            return float("nan")
        return self._runnable_ns / 1e9 / self.wall


def own_peak_rss_mib() -> float:
    """This process' peak RSS since its ``exec`` (VmHWM; not ``ru_maxrss``, see run_child)."""
    return (_hwm(os.getpid()) or 0) / 2**20


def _hwm(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass
class Child:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float
    peak_rss_mib: float


def run_child(
    args: list[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Child:
    """Run ``args`` to its end: its own CPU time (``wait4``) and its own peak RSS.

    The peak is the child's VmHWM, read every 20 ms while it runs: the high-water mark of its
    own memory since ``exec``. ``wait4``'s ``ru_maxrss`` would not do: Linux carries the
    parent's resident size at the fork into it, so a child of a large benchmark process would
    report the parent's size.
    """
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=err)
        peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _hwm(proc.pid) or 0)
            time.sleep(0.02)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace")[-4000:],
            wall,
            usage.ru_utime + usage.ru_stime,
            peak / 2**20,
        )


def child_json(code: str, args: list[str], cwd: Path) -> dict[str, Any]:
    """``python -c code *args`` with this Python, without ``LAKEHOUSE_`` settings or dbt's
    usage stats: the JSON its last line of output holds (raises with its stderr on failure)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[:1]}: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ab_rounds(
    before: Path | None,
    rounds: int,
    run: Callable[[Path], dict[str, Any]],
    shown: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    """This tree, and ``before`` when given, run alternately ``rounds`` times (``run(tree)``),
    the 1-minute load average read before each run (``"load"``); each run printed as
    ``shown`` makes it. The runs per tree name (``"before"``, ``"this tree"``)."""
    trees = {"this tree": REPO}
    if before is not None:
        trees = {"before": before.resolve(), **trees}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for _ in range(rounds):
        for name, tree in trees.items():
            load = os.getloadavg()[0]
            result = run(tree)
            result["load"] = load
            results[name].append(result)
            print(name, json.dumps(shown(result)), flush=True)
    return results


def load_range(runs: list[dict[str, Any]]) -> str:
    """The 1-minute load averages of ``runs`` as ``min-max``."""
    return f"{min(r['load'] for r in runs):.1f}-{max(r['load'] for r in runs):.1f}"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def machine() -> dict[str, Any]:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in (
        "duckdb",
        "deltalake",
        "pyarrow",
        "dbt-core",
        "dbt-duckdb",
        "fastapi",
        "uvicorn",
        "msgspec",
        "pydantic",
    ):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


@dataclass
class Figure:
    """One named figure of the run: what it is, its value, and the load while it was taken."""

    name: str
    value: float
    unit: str
    what: str
    section: str
    target: str = ""
    met: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Results:
    """Everything one ``python -m bench`` run measured, written as JSON and Markdown."""

    quick: bool
    command: str
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def section(self, name: str, command: str) -> Iterator[dict[str, Any]]:
        """A part of the run: its command, load average before and after, time, results."""
        record: dict[str, Any] = {
            "command": command,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": git_commit(),
            "load_before": load_average(),
        }
        print(f"\n== {name}: {command} (load {record['load_before']})", flush=True)
        started = time.perf_counter()
        try:
            yield record
        except Exception as exc:  # one section's failure must not lose the others' figures
            import traceback

            traceback.print_exc()
            self.errors[name] = f"{type(exc).__name__}: {exc}"
        finally:
            record["seconds"] = round(time.perf_counter() - started, 1)
            record["load_after"] = load_average()
            self.sections[name] = record
            print(f"== {name}: {record['seconds']} s (load {record['load_after']})", flush=True)

    def figure(
        self,
        section: str,
        name: str,
        value: float,
        unit: str,
        what: str,
        *,
        target: str = "",
        met: bool | None = None,
        **detail: Any,
    ) -> None:
        self.figures[name] = Figure(name, value, unit, what, section, target, met, detail)
        mark = "" if met is None else (" (met)" if met else " (NOT met)")
        print(f"   {name} = {_fmt(value, unit)}  {what} {target}{mark}", flush=True)

    def merge_from(self, path: Path) -> None:
        """Keep an earlier run's sections and figures (those measured again replace them)."""
        data = json.loads(path.read_text())
        self.started = data["date"]
        self.command = data["command"]
        self.quick = bool(data["quick"])
        self.sections.update(data["sections"])
        self.errors.update(data.get("errors", {}))
        for name, f in data["figures"].items():
            self.figures[name] = Figure(
                name,
                f["value"],
                f["unit"],
                f["what"],
                f["section"],
                f.get("target", ""),
                f.get("met"),
                f.get("detail", {}),
            )

    def forget(self, section: str) -> None:
        """Drop a section's earlier figures before it is measured again."""
        self.sections.pop(section, None)
        self.errors.pop(section, None)
        for name in [n for n, f in self.figures.items() if f.section == section]:
            del self.figures[name]

    def as_json(self) -> dict[str, Any]:
        figures = {}
        for f in self.figures.values():
            section = self.sections.get(f.section, {})
            figures[f.name] = {
                "value": f.value,
                "unit": f.unit,
                "what": f.what,
                "target": f.target,
                "met": f.met,
                "section": f.section,
                "command": section.get("command"),
                "load_before": section.get("load_before"),
                "load_after": section.get("load_after"),
                **({"detail": f.detail} if f.detail else {}),
            }
        return {
            "date": self.started,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": self.quick,
            "command": self.command,
            "commit": git_commit(),
            "machine": machine(),
            "versions": versions(),
            "commands": {name: s["command"] for name, s in self.sections.items()},
            "sections": self.sections,
            "figures": figures,
            "errors": self.errors,
        }

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        data = self.as_json()
        path = folder / "latest.json"
        path.write_text(json.dumps(data, indent=2, default=str) + "\n")
        (folder / "latest.md").write_text(markdown(data))
        return path


def _fmt(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:.0%}"
    if unit in ("s", "ms"):
        return f"{value:.3g} {unit}" if value < 10 else f"{value:,.1f} {unit}"
    return f"{value:,.0f} {unit}" if abs(value) >= 10 else f"{value:.3g} {unit}"


def _load(value: Any) -> str:
    return "/".join(f"{x:.1f}" for x in value[:1]) if value else "?"


def headline_rows(data: Mapping[str, Any], names: list[str]) -> list[str]:
    """Markdown table rows ``| figure | value | target | met | load before → after |``."""
    rows = []
    for name in names:
        f = data["figures"].get(name)
        if f is None:
            rows.append(f"| `{name}` | (not measured) | | | |")
            continue
        met = "" if f["met"] is None else ("yes" if f["met"] else "**no**")
        rows.append(
            f"| {f['what']} (`{name}`) | {_fmt(f['value'], f['unit'])} | {f['target']} | {met}"
            f" | {_load(f['load_before'])} → {_load(f['load_after'])} |"
        )
    return rows


HEADLINE = [
    "bronze_csv_vs_raw",
    "bronze_ndjson_vs_raw",
    "bronze_lineitem_csv_vs_raw",
    "bronze_lineitem_parquet_vs_raw",
    "bronze_parquet_vs_dlt",
    "bronze_ndjson_vs_dlt_dicts",
    "e2e_sample_p50_s",
    "e2e_sample_p95_s",
    "e2e_vs_cold_cli",
    "publish_vs_build",
    "incremental_vs_full",
    "api_records_vs_ceiling",
    "api_contract_vs_fastapi",
    "peak_rss_2gb_csv_mib",
    "incremental_publish_rss_mib",
    "api_upload_1gb_rss_mib",
]


def markdown(data: Mapping[str, Any]) -> str:
    m = data["machine"]
    kind = "quick: smoke sizes, not figures to quote" if data["quick"] else "full run"
    lines = [
        f"# Benchmark results ({kind})",
        "",
        f"`{data['command']}` at `{data['commit']}`, {data['date']} → {data['finished']} UTC.",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in data["versions"].items())
        + ".",
        "",
        "Load average (1 min) before → after the section each figure comes from: figures taken "
        "above ~1.5 on these 2 cores are slowed by other work; ratios (same run, interleaved) "
        "hold better than absolute times.",
        "",
        "## Headline",
        "",
        "| figure | value | target | met | load |",
        "|---|---:|---|---|---|",
        *headline_rows(data, HEADLINE),
        "",
        "## Every figure",
        "",
        "| figure | value | section |",
        "|---|---:|---|",
    ]
    for name, f in data["figures"].items():
        lines.append(f"| `{name}`: {f['what']} | {_fmt(f['value'], f['unit'])} | {f['section']} |")
    lines += ["", "## Sections (commands, time, load average before → after)", ""]
    for name, s in data["sections"].items():
        lines.append(
            f"- **{name}**: `{s['command']}`, {s['seconds']} s, load"
            f" {s['load_before']} → {s['load_after']}"
        )
    if data["errors"]:
        lines += ["", "## Errors", ""]
        lines += [f"- **{k}**: {v}" for k, v in data["errors"].items()]
    return "\n".join(lines) + "\n"


README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def _days(data: Mapping[str, Any]) -> str:
    """The run's day, or first → last day when sections were measured again later (--into)."""
    first, last = str(data["date"])[:10], str(data.get("finished") or data["date"])[:10]
    return first if first == last else f"{first} → {last}"


def update_readme(data: Mapping[str, Any], readme: Path = REPO / "README.md") -> None:
    """The README's speed table: the headline figures of the last full run, with its date."""
    section = "\n".join(
        [
            README_START,
            f"Measured {_days(data)} at `{data['commit']}` by `{data['command']}` on"
            f" {data['machine']['cores']} cores ({data['machine']['cpu']}); every figure, its"
            " command and the machine's load average: [bench/results/latest.md]"
            "(bench/results/latest.md). *load* is the 1-minute load average before → after the"
            " figure's section: above ~1.5 on these 2 cores other work shared the machine and"
            " slowed the wall times (ratios of interleaved runs hold better).",
            "",
            "| figure | value | target | met | load |",
            "|---|---:|---|---|---|",
            *headline_rows(data, HEADLINE),
            README_END,
        ]
    )
    text = readme.read_text()
    if README_START in text and README_END in text:
        before, rest = text.split(README_START, 1)
        text = before + section + rest.split(README_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Speed\n\n" + section + "\n"
    readme.write_text(text)
