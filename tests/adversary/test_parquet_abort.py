"""Parquet files whose column-chunk metadata pyarrow cannot build: an encrypted column behind a
plaintext footer (Parquet Modular Encryption) and a corrupt chunk's size statistics
(``tests/data/parquet-abort``). pyarrow's reader raises on them, but its metadata accessor,
``FileMetaData.row_group(i).column(j)``, throws through a path that cannot raise: the process
aborts (SIGABRT). The API and the loader looked at the footer's column chunks before reading
(the footer's counts, a column of logical type UNKNOWN): one POST killed the API (under
``lakehouse up``, the loader and the builder with it), and a dropped file killed the loader at
every restart (review finding auditg 08). They look at the chunks only once the reader has
met every one now: the API answers 400, the loader quarantines the file ``unparseable``.

Each side runs in a child process, so that an abort is seen without killing pytest. A footer
holding text that is not UTF-8 (its writer's name) gave the API a 500 where the loader said
``unparseable`` (auditg 09): both refuse it now in the same words.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

HERE = Path(__file__).resolve().parent
FILES = HERE.parent / "data" / "parquet-abort"

SCRIPT = """
import json, sys
sys.path.insert(0, {here!r})
from pathlib import Path
from adversary_support import lakehouse, run
outcome = run(lakehouse(Path({root!r})), [("e", "e.parquet", Path({file!r}).read_bytes())],
              rows=False)["e"]
print(json.dumps({{"status": outcome.api_status, "detail": str(outcome.api_detail),
                   "refused": outcome.refused}}))
"""


def _run(root: Path, file: Path) -> dict[str, object]:
    code = SCRIPT.format(here=str(HERE), root=str(root), file=str(file))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode != -signal.SIGABRT, f"aborted: {done.stderr[-400:]}"
    assert done.returncode == 0, done.stderr[-400:]
    out: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("encrypted_column.parquet", "Cannot decrypt ColumnMetadata"),
        pytest.param(
            "corrupt_size_statistics.parquet", "histogram size mismatch", marks=pytest.mark.slow
        ),
    ],
)
def test_a_file_pyarrow_cannot_describe_is_refused_by_both_without_an_abort(
    tmp_path: Path, name: str, said: str
) -> None:
    out = _run(tmp_path, FILES / name)
    assert out["status"] == 400, out
    assert "does not parse as Parquet" in str(out["detail"]) and said in str(out["detail"]), out
    refused = out["refused"]
    assert isinstance(refused, dict) and refused["kind"] == "unparseable", refused
    assert said in refused["reason"], refused


def test_a_writer_name_that_is_not_utf8_is_refused_alike(tmp_path: Path) -> None:
    buf = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2]}), buf)
    data = buf.getvalue()
    named = b"parquet-cpp-arrow version"
    assert data.count(named) == 1
    file = tmp_path / "w.parquet"
    file.write_bytes(data.replace(named, b"parquet-cpp-arrow versi\xf3n"))  # same length
    out = _run(tmp_path / "house", file)
    assert out["status"] == 400, out
    assert "does not parse as Parquet" in str(out["detail"]), out
    refused = out["refused"]
    assert isinstance(refused, dict) and refused["kind"] == "unparseable", refused
    assert "utf-8" in refused["reason"] and "utf-8" in str(out["detail"]), (refused, out)
