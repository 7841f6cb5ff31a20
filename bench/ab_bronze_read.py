"""Reading bronze as written by this tree's loader vs another tree's, interleaved (CPU and wall).

    git archive <commit> | tar -x -C /tmp/before        # the loader as it was, to compare
    uv run python -m bench.ab_bronze_read --format csv --shape lineitem --rows 6000000 \\
        --before /tmp/before

What a change to how bronze's files are written (row groups, encodings) costs its readers. The
file (``bench_loader.generate``) is loaded once by each tree's loader into a table kept under
``--out``; then, round by round, a child process (this tree's code: only the files differ)
reads each table twice: a build's read (DuckDB ``read_parquet`` of the snapshot's files, as
``transform.dbt_plugin`` reads bronze, a sum of every column's hashes: every value decoded; a
maximum DuckDB may take from the footer) and
deltalake's Arrow dataset (``lakehouse.storage.arrow_dataset(...).to_table()``). Wall and CPU
seconds of each read, the 1-minute load average before each child; medians printed as Markdown,
with the files and row groups each table holds.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path
from typing import Any

from bench.harness import REPO, child_json, load_range

LOAD = r"""
import json, shutil, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from lakehouse import Settings
from loader import Loader
path, root = Path(sys.argv[2]), Path(sys.argv[3])
shutil.rmtree(root, ignore_errors=True)
settings = Settings(root=root)
inbox = settings.raw_dir / "t"
inbox.mkdir(parents=True)
(inbox / path.name).hardlink_to(path)
summary = Loader(settings).load_pending()
assert summary.loaded and not summary.quarantined, summary
print(json.dumps({"rows": summary.rows, "table": str(settings.dados / "bronze" / "t")}))
"""

READ = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import duckdb
import pyarrow.parquet as pq
from deltalake import DeltaTable
from bench.harness import timed
from lakehouse.storage import arrow_dataset
table = DeltaTable(sys.argv[2])
files = table.file_uris()
paths = ", ".join("'" + p.replace("'", "''") + "'" for p in files)
con = duckdb.connect()
names = [r[0] for r in con.sql(f"describe select * from read_parquet([{paths}])").fetchall()]
every = ", ".join(f'sum(hash("{n}"))' for n in names)
relation = (
    f"read_parquet([{paths}], union_by_name = true, hive_partitioning = false, can_have_nan = true)"
)
with timed() as duck:
    con.sql(f"select count(*), {every} from {relation}").fetchall()
with timed() as arrow:
    rows = arrow_dataset(table).to_table().num_rows
groups = sum(pq.read_metadata(f.removeprefix("file://")).num_row_groups for f in files)
print(json.dumps({
    "duckdb_wall_s": duck["wall_s"], "duckdb_cpu_s": duck["cpu_s"],
    "arrow_wall_s": arrow["wall_s"], "arrow_cpu_s": arrow["cpu_s"],
    "rows": rows, "files": len(files), "row_groups": groups,
}))
"""


def main() -> None:
    from bench.bench_loader import generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="csv", choices=["csv", "ndjson", "parquet"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shape", default="orders", choices=["orders", "lineitem"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, required=True, help="the other tree's loader")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    out = args.out.resolve()
    path = generate(out, args.rows, args.format, args.shape)
    trees = {"before": args.before.resolve(), "this tree": REPO}
    tables: dict[str, str] = {}
    for name, tree in trees.items():
        root = out / f"bronze-read-{'before' if name == 'before' else 'now'}"
        loaded = child_json(LOAD, [str(tree), str(path), str(root)], tree)
        tables[name] = loaded["table"]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name in trees:
            load = os.getloadavg()[0]
            result = child_json(READ, [str(REPO), tables[name]], REPO)
            result["load"] = load
            runs[name].append(result)
            print(name, result, flush=True)
    every = [r for name in trees for r in runs[name]]
    print(
        f"\n{args.shape} {args.format} {args.rows:,} rows, bronze read, medians of "
        f"{args.rounds} interleaved rounds; load average {load_range(every)}\n"
    )
    print(
        "| bronze written by | files | row groups | DuckDB wall s | DuckDB CPU s |"
        " Arrow dataset wall s | Arrow dataset CPU s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in trees:

        def median(key: str, name: str = name) -> float:
            return statistics.median(float(r[key]) for r in runs[name])

        first = runs[name][0]
        print(
            f"| {name} | {first['files']} | {first['row_groups']} | {median('duckdb_wall_s'):.2f}"
            f" | {median('duckdb_cpu_s'):.2f} | {median('arrow_wall_s'):.2f}"
            f" | {median('arrow_cpu_s'):.2f} |"
        )


if __name__ == "__main__":
    main()
