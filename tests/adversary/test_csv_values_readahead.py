"""The API's values pass over a CSV (``ingest.filecheck._csv_values``: the count of the rescued
text of columns new to the table, and a contract's checked types) reads the file with pyarrow's
streaming reader, which on its own reads up to 32 blocks ahead of the batch taken: at the API's
4 MiB blocks 128 MiB more, whatever the file's size once it has that many blocks (issue #10: a
1.01 GB upload peaked at 395 MiB against 134 before session 16's ac5c920 made the pass run on
files of ~600 MB and more). ``lakehouse.paced.Paced`` holds it to a few blocks.

Each case runs the check in a child and measures what its peak grows by during the check of the
file (VmHWM reset through ``/proc/self/clear_refs`` after a check of a small file has paid for
the modules and pyarrow's first reader)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb
import pytest
from adversary_support import run_measured

CHILD = textwrap.dedent(
    """
    import re, sys
    from pathlib import Path
    import ingest.filecheck as filecheck
    from ingest.filecheck import check_file
    from lakehouse import dialect, rescued
    from lakehouse.contracts import Column, Contract
    from lakehouse.formats import from_name

    path, warm, case = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    if case == "rescue":
        # the bound on a batch's rescued text lowered so that the count runs on a 100 MB file
        # as on a ~600 MB one at the real bound (no batch here rescues anything)
        rescued.RESCUED_BATCH_BYTES = 2**20
        contract = None
    else:  # a contract's checked type: the pass by blocks of CHUNK, here the loader's 4 MiB
        filecheck.CHUNK = dialect.CSV_BLOCK_BYTES
        contract = Contract("t", (Column("id", "bigint", required=True),))


    def check(p):
        return check_file(p, from_name(p.name), contract, stored={}, window=10_000)


    def vm(field):
        return int(re.search(field + r":\\s+(\\d+) kB", open("/proc/self/status").read())[1])


    check(warm)  # the modules the pass imports, pyarrow's first reader: paid before
    open("/proc/self/clear_refs", "w").write("5")  # VmHWM from here on
    before = vm("VmRSS")
    print("rows", check(path))
    print("grew", (vm("VmHWM") - before) // 1024)
    """
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 100 MB CSV (24 of the 4 MiB blocks) and a small one of the same columns."""
    folder = tmp_path_factory.mktemp("readahead")
    rows = {"big.csv": 3_400_000, "warm.csv": 20_000}
    for name, count in rows.items():
        duckdb.sql(
            f"copy (select i as id, i * 7 as n, 'note ' || i as note from range({count}) t(i))"
            f" to '{folder / name}' (header)"
        )
    return folder / "big.csv", folder / "warm.csv"


@pytest.mark.parametrize("case", ["rescue", "contract"])
def test_the_values_pass_reads_a_few_blocks_ahead(files: tuple[Path, Path], case: str) -> None:
    big, warm = files
    lines, _ = run_measured(CHILD, str(big), str(warm), case)
    assert lines[0] == "rows 3400000", lines
    grew = int(lines[1].split()[1])
    # before Paced: 156 MiB (rescue) and 118 MiB (contract), pyarrow's queue of blocks; now
    # 50-54 and 38-39 MiB (the batch checked, the blocks read ahead, the allocators' own)
    assert grew < 80, f"the check's peak grew by {grew} MiB"
