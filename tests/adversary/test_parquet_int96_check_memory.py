"""The INT96 check (``lakehouse.parquet.int96_refusal``, the API's and the loader's) reads a
file's INT96 leaves a batch at a time, in each of its readings (microseconds, milliseconds,
nanoseconds, the bytes as written; DuckDB's until session 17): it read each row group whole,
four times, so a file of equal INT96 timestamps (Spark's default, pyarrow's
``use_deprecated_int96_timestamps``), which compress to nothing, took memory with its row
group's values: a 144 KB file of 64Mi took the API 4.3 GB and ended in an untrue 400 "malloc
... failed" (review finding revl s14 16, HIGH). A value the check refuses is still named at
its row, past batches and row groups, and the check prints nothing into the API's or the
loader's output (DuckDB's progress bar did).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run_measured

from lakehouse import parquet

ROWS = 1 << 24  # 16Mi values: 128 MiB in each reading of the row group

WRITE = textwrap.dedent(
    """
    import sys
    import pyarrow as pa, pyarrow.parquet as pq
    rows = int(sys.argv[2])
    ts = pa.nulls(rows, pa.int64()).fill_null(1_600_000_000_000_000).cast(pa.timestamp("us"))
    pq.write_table(pa.table({"ts": ts}), sys.argv[1], use_deprecated_int96_timestamps=True,
                   row_group_size=rows, compression="zstd")
    """
)

CHECK = textwrap.dedent(
    """
    import sys
    from lakehouse import parquet
    print("verdict", parquet.int96_refusal(sys.argv[1]))
    """
)


@pytest.mark.slow
def test_the_int96_check_holds_a_batch_not_a_row_group(tmp_path: Path) -> None:
    path = tmp_path / "i96.parquet"
    # written in a process of its own: 128 MiB of values would raise this one's peak, which
    # other tests' children inherit in ru_maxrss
    subprocess.run([sys.executable, "-c", WRITE, str(path), str(ROWS)], timeout=120, check=True)
    assert pq.ParquetFile(path).metadata.num_row_groups == 1
    size = path.stat().st_size
    assert size < 200_000
    printed, peak = run_measured(CHECK, str(path), timeout=120)
    # the only output: DuckDB's progress bar printed there too
    assert printed == ["verdict None"], printed[-5:]
    assert peak < 400, f"{peak} MiB of peak RSS to check a {size:,}-byte file"


def test_a_refused_value_is_named_at_its_row_past_batches_and_row_groups(tmp_path: Path) -> None:
    rows = 3 * parquet.INT96_BATCH_ROWS + 17
    at = 2 * parquet.INT96_BATCH_ROWS + 5  # the third row group, its second batch
    ns = pa.array(
        [1_600_000_000_000_000_000 + (1 if i == at else 0) for i in range(rows)],
        pa.timestamp("ns"),
    )
    path = tmp_path / "finer.parquet"
    pq.write_table(
        pa.table({"id": pa.array(range(rows)), "ts": ns}),
        path,
        use_deprecated_int96_timestamps=True,
        row_group_size=parquet.INT96_BATCH_ROWS + parquet.INT96_BATCH_ROWS // 2,
    )
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    found = parquet.int96_refusal(path)
    assert found is not None
    assert (found.column, found.row) == ("ts", at), found
    assert found.value == "2020-09-13T12:26:40.000000001", found
    assert "has nanoseconds" in found.why, found.why
