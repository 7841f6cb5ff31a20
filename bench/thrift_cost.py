"""The CPU a Parquet file's page headers cost the check before it is read (issue #8).

    uv run python -m bench.thrift_cost [--scale 1.0] [--normal-mib 100]

``lakehouse.parquet.written_page_bytes`` reads every page header pyarrow reads (and those past
it) with a Python Thrift reader made to read as Arrow C++ does; the API and the loader run it on
every Parquet file before pyarrow decompresses a page. A hostile file chooses the shape that
costs most a byte. Each shape below is built byte by byte (Thrift's compact protocol) and its
check timed in CPU seconds of this process (``time.process_time``), beside pyarrow's own read of
the same file where pyarrow reads it:

* ``pages past the values``: a million 7-byte page headers (the least a header takes; a file
  just under ``MOST_PAGES`` holds 64 times as many) after the chunk's one value, where pyarrow
  reads no further; ``skipped pages``: the same between its two values, of a type pyarrow reads
  and skips;
* ``one-value pages``: a million data pages of one value each, as pyarrow reads them;
* ``i32 list``, ``empty binaries``, ``empty structs``: an unknown field of a page header holding
  lists of a million items, 15 of them (a header of about 15 MiB, under pyarrow's 16 MiB);
* ``normal``: a pyarrow-written file of ``--normal-mib`` MiB (pyarrow's default pages).

Prints Markdown. ``--scale`` shrinks the hostile shapes (0.1: a tenth), for a quick look.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse import parquet


def _page(data: bytes, kind: int = 0, values: int = 1, extra: bytes = b"") -> bytes:
    """A page (``kind``: 0 a data page v1, PLAIN, uncompressed) holding ``data``; ``extra``:
    fields at the end of its header."""
    header = parquet._Compact()
    header.i32(1, kind)
    header.i32(2, len(data))
    header.i32(3, len(data))
    if kind == 0:
        header.begin(5)
        for fid, n in ((1, values), (2, 0), (3, 3), (4, 3)):
            header.i32(fid, n)
        header.end()
    return bytes(header.out) + extra + b"\x00" + data


def _file(pages: bytes, values: int) -> bytes:
    """A file of one row group whose one column chunk (``v``, a required INT32 of ``values``
    values, uncompressed) holds ``pages``."""
    footer = parquet._Compact()
    footer.i32(1, 1)
    footer.items(2, 12, 2)
    footer.begin()
    footer.text(4, "schema")
    footer.i32(5, 1)
    footer.end()
    footer.begin()
    footer.i32(1, 1)  # INT32
    footer.i32(3, 0)  # REQUIRED
    footer.text(4, "v")
    footer.end()
    footer.i64(3, values)
    footer.items(4, 12, 1)
    footer.begin()
    footer.items(1, 12, 1)
    footer.begin()
    footer.i64(2, 4)
    footer.begin(3)
    footer.i32(1, 1)
    footer.items(2, 5, 1)
    footer._zigzag(0)
    footer.items(3, 8, 1)
    footer._varint(1)
    footer.out += b"v"
    footer.i32(4, 0)  # UNCOMPRESSED
    footer.i64(5, values)
    footer.i64(6, len(pages))
    footer.i64(7, len(pages))
    footer.i64(9, 4)
    footer.end()
    footer.end()
    footer.i64(2, len(pages))
    footer.i64(3, values)
    footer.end()
    tail = bytes(footer.out) + b"\x00"
    return b"PAR1" + pages + tail + len(tail).to_bytes(4, "little") + b"PAR1"


def _unknown_lists(item: bytes, kind: int, lists: int, size: int) -> bytes:
    """An unknown field (id 100) of a struct holding ``lists`` lists of ``size`` items (each
    ``item``, of compact type ``kind``), in a struct of fields 1, 2, ..."""
    out = bytearray([0x0C, 200, 1])  # field 100, a struct
    for _ in range(lists):
        out.append(0x10 | 9)  # the next field, a list
        out.append(0xF0 | kind)
        n = size
        while n > 0x7F:
            out.append(n & 0x7F | 0x80)
            n >>= 7
        out.append(n)
        out += item * size
    return bytes(out) + b"\x00"


def shapes(scale: float) -> dict[str, bytes]:
    million = max(1, int(1_000_000 * scale))
    lists = max(1, int(15 * scale))
    one = (7).to_bytes(4, "little")
    skipped = _page(b"", kind=7)  # 7 bytes: a page type pyarrow skips
    return {
        "pages past the values": _file(_page(one) + skipped * million, 1),
        "skipped pages": _file(_page(one) + skipped * million + _page(one), 2),
        "one-value pages": _file(_page(one) * million, million),
        "i32 list": _file(_page(one, extra=_unknown_lists(b"\x02", 5, lists, 1_000_000)), 1),
        "empty binaries": _file(_page(one, extra=_unknown_lists(b"\x00", 8, lists, 1_000_000)), 1),
        "empty structs": _file(_page(one, extra=_unknown_lists(b"\x00", 12, lists, 1_000_000)), 1),
    }


def normal(work: Path, mib: int) -> Path:
    """A pyarrow-written file of about ``mib`` MiB (random integers and text, default pages)."""
    path = work / "normal.parquet"
    rows = mib * 2**20 // 24
    ints = pa.array(range(rows), pa.int64())
    texts = pa.array([f"{i * 7919 % 1000003:08x}" for i in range(rows)])
    pq.write_table(pa.table({"i": ints, "t": texts}), path, compression="none")
    return path


def cpu(fn: Callable[[], object]) -> tuple[float, str]:
    start = time.process_time()
    try:
        fn()
        outcome = "read"
    except (parquet.Unreadable, ValueError, OSError, pa.ArrowException) as exc:
        outcome = f"refused: {str(exc)[:90]}"
    return time.process_time() - start, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--normal-mib", type=int, default=100)
    args = parser.parse_args()
    print("| shape | bytes | check CPU s | check | pyarrow read CPU s |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = {name: work / f"{i}.parquet" for i, name in enumerate(shapes(args.scale))}
        for data, path in zip(shapes(args.scale).values(), files.values(), strict=True):
            path.write_bytes(data)
        files[f"normal ({args.normal_mib} MiB)"] = normal(work, args.normal_mib)
        for name, path in files.items():
            meta = pq.read_metadata(path)
            names = [meta.schema.column(j).path for j in range(meta.num_columns)]
            check, outcome = cpu(
                lambda p=path, n=names, m=meta: parquet.written_page_bytes(p, n, m.created_by or "")
            )
            read, _ = cpu(lambda p=path: pq.read_table(p))
            size = os.path.getsize(path)
            print(f"| {name} | {size:,} | {check:.2f} | {outcome} | {read:.2f} |")


if __name__ == "__main__":
    main()
