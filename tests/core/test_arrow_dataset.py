"""Reading a Delta table through :func:`lakehouse.storage.arrow_dataset`.

The same rows as delta-rs's own dataset (partition values with characters a path escapes
included), and a short process that read a table exits cleanly: deltalake's default
``to_pyarrow_dataset()`` aborts about one exit in three on this stack (delta-rs issue 2184).
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from lakehouse.storage import arrow_dataset

READ_AND_EXIT = """
import sys
from deltalake import DeltaTable
from lakehouse.storage import arrow_dataset
rows = arrow_dataset(DeltaTable(sys.argv[1])).to_table().num_rows
print(rows)
"""


def _table(tmp_path: Path) -> Path:
    path = tmp_path / "a folder with spaces" / "t"
    data = pa.table({"id": [1, 2, 3], "part": ["a b/c%", "x", "x"]})
    write_deltalake(str(path), data, partition_by=["part"])
    write_deltalake(str(path), pa.table({"id": [4], "part": ["é"]}), mode="append")
    return path


def test_the_same_rows_as_delta_rs_reads(tmp_path: Path) -> None:
    table = DeltaTable(str(_table(tmp_path)))
    ours = arrow_dataset(table).to_table().sort_by("id")
    theirs = table.to_pyarrow_dataset().to_table().sort_by("id")
    assert ours.to_pylist() == theirs.to_pylist()
    assert ours.column("part").to_pylist() == ["a b/c%", "x", "x", "é"]


def test_a_short_process_that_read_a_table_exits_cleanly(tmp_path: Path) -> None:
    path = _table(tmp_path)

    def run(_: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", READ_AND_EXIT, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    # With deltalake's default reader 1 exit in 3 aborted on an idle 2-core machine (1 in 20
    # under load: the abort is a race with finalization); 10 clean exits are the outcome.
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(run, range(10)))
    assert [(r.returncode, r.stdout.strip(), r.stderr) for r in runs] == [(0, "4", "")] * 10
