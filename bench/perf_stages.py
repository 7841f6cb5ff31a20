"""Where one load's CPU goes, stage by stage and thread by thread (``perf``, Linux).

    uv run python -m bench.perf_stages --format ndjson --rows 10000000              # the loader
    uv run python -m bench.perf_stages --format ndjson --rows 10000000 --what raw   # the raw limit

One child process runs ``bench_loader.loader_run`` (or ``raw_limit``) once on the generated file
under ``perf record -F <freq> --call-graph dwarf``; every sample (one thread, one instant of
CPU) is put in the stage of the innermost library frame its stack holds, with DuckDB's reading
split by the frames above it (JSON parse, writing values back as JSON text, the Arrow export,
the file's reads) and Arrow's Parquet writer apart from its compute kernels; a stack without
such a frame is Python (the interpreter's own work) or the kernel. Each stage's CPU seconds are
its samples / freq, with the share of them spent in page faults (``exc_page_fault``: fresh
pages, zeroed by the kernel). The child's imports are their own stage (outside the timed load).
Needs ``perf`` (``apt-get install linux-perf``) and ``perf_event_paranoid`` ≤ 1 or root; CPU
seconds, not wall: a busy machine stretches the run but not its samples much. Hold
``flock /work/team/bench.lock`` around it on a shared machine.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
from pathlib import Path

CHILD = """
import sys
from pathlib import Path
from bench.bench_loader import loader_run, raw_limit
from lakehouse import Settings
path, work = Path(sys.argv[2]), Path(sys.argv[3])
if sys.argv[1] == "raw":
    print(raw_limit(path, work, Settings().read_batch_rows))
else:
    print(loader_run(path, work))
"""

#: (stage, pattern over a frame's ``symbol@library``): a sample is in the first stage one of
#: its frames matches (DuckDB before delta-rs, which pulls DuckDB's batches on its own threads;
#: the Parquet writer before Arrow, whose snappy and buffers it calls); DuckDB's frames are split
#: further by :data:`DUCKDB`
LIBRARIES = [
    ("import", re.compile(r"^(import_find_and_load|_imp_\w+|_dl_relocate_object)@")),
    ("DuckDB", re.compile(r"@.*_duckdb\.")),
    ("Parquet writer (pyarrow)", re.compile(r"@.*libparquet\.|^parquet::")),
    ("delta-rs writer", re.compile(r"@.*deltalake/_internal")),
    ("number search (Hyperscan)", re.compile(r"@.*_hs_ext\.|^stringlib_find_char@")),
    ("content hash (BLAKE3)", re.compile(r"blake3")),
    (
        "file reads from Python (the search's, the hash's)",
        re.compile(r"^(os_preadv|_io_FileIO_readinto)"),
    ),
    ("Arrow compute (typing)", re.compile(r"@.*libarrow_compute\.|^arrow::compute::")),
    ("Arrow other (its CSV reader, buffers)", re.compile(r"@.*(libarrow\.|pyarrow/lib\.|arro3)")),
    ("garbage collector", re.compile(r"^gc_collect")),
]
DUCKDB = [
    ("DuckDB: JSON parse (yyjson)", re.compile(r"yyjson_read")),
    ("DuckDB: values written back as JSON text", re.compile(r"yyjson_val_write")),
    ("DuckDB: Arrow export", re.compile(r"ArrowAppend|ArrowFormat::|ArrowVarcharData|ArrowScalar")),
    ("DuckDB: file reads", re.compile(r"FileHandle::Read|LocalFileSystem::Read")),
]
_FRAME = re.compile(r"^\s*[0-9a-f]+ (.*?)(?: \(([^()]*)\))?$")


def samples(script: str) -> list[tuple[str, list[str]]]:
    """``perf script -F tid,ip,sym,dso`` output as (thread id, frames innermost first), each
    frame ``symbol@library``."""
    out: list[tuple[str, list[str]]] = []
    current: tuple[str, list[str]] | None = None
    for line in script.splitlines():
        if not line.strip():
            if current is not None:
                out.append(current)
            current = None
        elif not line.startswith("\t"):  # a sample's thread id (right-aligned), then its frames
            current = (line.split()[0], [])
        elif current is not None and (m := _FRAME.match(line)):
            current[1].append(f"{m[1]}@{m[2] or ''}")
    if current is not None:
        out.append(current)
    return out


def stage(frames: list[str]) -> str:
    """The stage of one sample (:data:`LIBRARIES`, :data:`DUCKDB`)."""
    for name, pattern in LIBRARIES:
        if any(pattern.search(f) for f in frames):
            if name == "DuckDB":
                for part, inner in DUCKDB:
                    if any(inner.search(f) for f in frames):
                        return part
                return "DuckDB: the rest (JSON/CSV scanning, casts, the pipeline)"
            return name
    if (
        frames
        and frames[0].endswith("[kernel.kallsyms]")
        and "exc_page_fault" not in "".join(frames)
    ):
        return "kernel (other)"
    return "Python and libc (other)"


def table(found: list[tuple[str, list[str]]], freq: float) -> str:
    """The stages' CPU seconds, their page-fault share, and the threads each ran on."""
    by_stage: collections.Counter[str] = collections.Counter()
    faults: collections.Counter[str] = collections.Counter()
    threads: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for tid, frames in found:
        name = stage(frames)
        by_stage[name] += 1
        threads[name][tid] += 1
        if any(f.startswith("exc_page_fault@") for f in frames):
            faults[name] += 1
    total = sum(by_stage.values())
    lines = [
        f"{total} samples at {freq:g} Hz: {total / freq:.2f} CPU s "
        f"({(total - by_stage['import']) / freq:.2f} without the imports)",
        "",
        "| stage | CPU s | share | of it page faults, s | threads (samples) |",
        "|---|---:|---:|---:|---|",
    ]
    for name, n in by_stage.most_common():
        busiest = ", ".join(f"{t}: {k}" for t, k in threads[name].most_common(4))
        lines.append(
            f"| {name} | {n / freq:.2f} | {n / total:.1%} | {faults[name] / freq:.2f} | {busiest} |"
        )
    return "\n".join(lines)


def main() -> None:
    from bench.bench_loader import generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="ndjson", choices=["csv", "ndjson", "parquet"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shape", default="orders", choices=["orders", "lineitem"])
    parser.add_argument("--what", default="loader", choices=["loader", "raw"])
    parser.add_argument("--freq", type=float, default=299)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    out = args.out.resolve()
    path = generate(out, args.rows, args.format, args.shape)
    here = Path(__file__).resolve().parents[1]
    work = out / f"perf-{args.what}"
    work.mkdir(parents=True, exist_ok=True)
    data = out / f"perf-{args.what}.data"
    record = ["perf", "record", "-q", "-F", f"{args.freq:g}", "--call-graph", "dwarf,32768"]
    child = [sys.executable, "-c", CHILD, args.what, str(path), str(work)]
    subprocess.run([*record, "-o", str(data), "--", *child], check=True, cwd=here)
    script = subprocess.run(
        ["perf", "script", "-i", str(data), "-F", "tid,ip,sym,dso"],
        check=True,
        capture_output=True,
        text=True,
        errors="replace",
    ).stdout
    print(f"\n{args.what}: {args.shape} {args.format} {args.rows:,} rows\n")
    print(table(samples(script), args.freq))


if __name__ == "__main__":
    main()
