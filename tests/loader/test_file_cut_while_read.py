"""A landing file cut short by another process while the loader reads it through a memory map
does not kill the loader (SIGBUS on a page past the new end, carried since session 8).

Each test reads a real file in a child process (the reader the loader uses), stops it after its
first batch, has another process cut the file (``os.truncate``, what ``cp`` over it does by
``O_TRUNC``), then lets the reading go on. Before: the cut went through at once and the child
died of SIGBUS (rc -7) at its next page. Now the map is read under a read lease: the cut waits
while the reader holds it, the reader sees the break at its next batch and gives the file up
(``FileChanging``: the loader leaves it for the next pass), and the cut then goes through.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from waiting import wait_for

CHILD = r"""
import sys
from pathlib import Path

from loader import exceptions, readers

FileChanging = getattr(exceptions, "FileChanging", RuntimeError)  # (a tree before it: SIGBUS)

kind, path = sys.argv[1], Path(sys.argv[2])
if kind == "parquet":
    opened = readers.open_parquet(readers.detect(path), 1000)
    batches, stack = opened[1], opened[2]
elif kind == "csv":
    text = readers.open_csv(readers.detect(path), block=1 << 16)
    batches, stack = text.batches, text.stack
else:  # a .json file's bytes at once, for a refusal's words
    stack = None
    f = path.open("rb")
    whole = readers._whole(f)
    data = whole.__enter__()
    batches = iter([len(data), None])
it = iter(batches)
next(it)
print("ready", flush=True)
sys.stdin.readline()
try:
    if kind == "json":
        total = sum(data[i] for i in range(0, len(data), 4096))  # every page, after the cut
        whole.__exit__(None, None, None)
    else:
        for _ in it:
            pass
    print("read whole", flush=True)
except FileChanging as exc:
    print(f"changing: {exc}", flush=True)
finally:
    if stack is not None:
        stack.close()
"""


def _parquet(path: Path) -> None:
    n = 400_000
    out = io.BytesIO()
    table = pa.table({"id": pa.array(range(n)), "s": pa.array([f"value {i}" for i in range(n)])})
    pq.write_table(table, out, row_group_size=1000, compression="none")
    path.write_bytes(out.getvalue())


def _csv(path: Path) -> None:
    path.write_bytes(b"id,s\n" + b"".join(b"%d,value %d\n" % (i, i) for i in range(600_000)))


def _json(path: Path) -> None:
    path.write_bytes(b"[" + b",".join(b'{"a": %d}' % i for i in range(800_000)) + b"]")


def _breaking(path: Path) -> bool:
    """Whether a lease on ``path`` is being broken (``/proc/locks``: a process waits on it)."""
    inode = os.stat(path).st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        if "BREAKING" in line and line.split()[5].endswith(f":{inode}"):
            return True
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="read leases are Linux's")
@pytest.mark.parametrize(("kind", "make"), [("parquet", _parquet), ("csv", _csv), ("json", _json)])
def test_a_file_cut_while_mapped_is_given_up_not_a_crash(
    tmp_path: Path, kind: str, make: object
) -> None:
    path = tmp_path / f"a.{kind}"
    make(path)  # type: ignore[operator]
    size = path.stat().st_size
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, kind, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stdout or ()), daemon=True)
    reader.start()
    cutter = None
    try:
        wait_for(lambda: lines or child.poll() is not None, 60, "the child's first batch")
        assert lines == ["ready\n"], (lines, child.poll())
        cut = f"import os; os.truncate({str(path)!r}, 10)"
        cutter = subprocess.Popen([sys.executable, "-c", cut])
        # the cut is done (no lease: the old way), or waits on the reader's lease
        wait_for(lambda: cutter.poll() is not None or _breaking(path), 30, "the cut")
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        rc = child.wait(timeout=60)
        reader.join(timeout=10)
        assert rc == 0, (rc, lines, child.stderr.read() if child.stderr else "")  # -7: SIGBUS
        assert lines[1:] == [
            "changing: another process opened the file to write or cut it short while it was read\n"
        ], lines
        assert cutter.wait(timeout=60) == 0  # the cut goes through once the reader lets go
        assert path.stat().st_size == 10 < size
    finally:
        for proc in (child, cutter):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        reader.join(timeout=10)
        for pipe in (child.stdin, child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
