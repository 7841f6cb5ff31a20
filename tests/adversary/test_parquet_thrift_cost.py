"""What a hostile Parquet file's page headers cost the check before pyarrow reads it (issue #8,
session 18). ``lakehouse.parquet.written_page_bytes`` reads the page headers with a Python Thrift
reader made to read as Arrow C++ does (test_parquet_thrift_as_cpp.py); until session 18 a file
could make it do work pyarrow never does:

- page headers past the ones pyarrow reads (after the chunk's values, a second dictionary
  page) were read to the chunk's end: 64M headers of 7 bytes after a chunk's
  one value cost 100 s of CPU, pyarrow's read of the file none;
- a field no schema here declares (an unknown field, as a newer writer may add) was read item by
  item into Python values: 15 lists of a million i32s in one 15 MiB page header cost 5.5 s,
  pyarrow's read 0.17 s.

Now the reading stops where pyarrow's does, and an unknown field is passed over as a whole where
its items are numbers (a list or a map of them), without copying a binary, and item by item
without making values otherwise; the words of a refusal are the item-by-item reading's. The
tests count the work done (headers read, the reader's calls), never time; ``bench/thrift_cost.py``
measures the CPU."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from adversary_support import run
from hypothesis import given, settings
from hypothesis import strategies as st
from test_parquet_page_headers import _counted, _file, _page, _read_by_pyarrow

from ingest.filecheck import FileError, check_file
from lakehouse import parquet
from lakehouse.formats import from_name
from lakehouse.settings import Settings

#: a page header of a page type pyarrow skips (7), sizes 0: the least bytes a header takes
SKIPPED = bytes([0x15, 14, 0x15, 0, 0x15, 0, 0])


def _dictionary_page() -> bytes:
    """A dictionary page (PLAIN) of one BYTE_ARRAY value, uncompressed... as zstd, the codec
    of :func:`_file`'s chunk."""
    data = (1).to_bytes(4, "little") + b"x"
    packed = pa.Codec("zstd").compress(data, asbytes=True)
    header = parquet._Compact()
    header.i32(1, 2)  # DICTIONARY_PAGE
    header.i32(2, len(data))
    header.i32(3, len(packed))
    header.begin(7)
    header.i32(1, 1)  # num_values
    header.i32(2, 0)  # PLAIN
    header.end()
    return bytes(header.out) + b"\x00" + packed


def test_headers_past_the_values_are_not_read(
    module_lakehouse: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A chunk of one value, then headers pyarrow never reads (here 10, past ``MOST_PAGES``
    patched to 3, as a file of 64M would be past the real one): they are not read, and the file
    loads as pyarrow reads it. On main they were read to the chunk's end (refused as holding
    more than ``MOST_PAGES`` pages; under it, 100 s of CPU for 64M). The API's check runs in a
    worker process the patch does not reach: it is called here too (what the worker runs)."""
    monkeypatch.setattr(parquet, "MOST_PAGES", 3)
    data = _file(_page(b"x" * 10) + SKIPPED * 10)
    assert _read_by_pyarrow(data)
    assert _counted(data) == 14
    path = tmp_path / "p.parquet"
    path.write_bytes(data)
    kind = from_name(path.name)
    assert kind is not None
    assert check_file(path, kind, None) == 1
    outcome = run(module_lakehouse, [("past", "p.parquet", data)], rows=True)["past"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None and outcome.loaded_rows is not None, outcome
    assert [row["v"] for row in outcome.loaded_rows] == [b"x" * 10]


def test_headers_past_a_second_dictionary_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pyarrow refuses a chunk at its second dictionary page ("Column cannot have more than one
    dictionary") and reads no header past it: nor does the check (on main: all of them)."""
    monkeypatch.setattr(parquet, "MOST_PAGES", 3)
    one = _dictionary_page()
    assert _read_by_pyarrow(_file(one + _page(b"x")))
    data = _file(one * 12 + _page(b"x"))
    assert not _read_by_pyarrow(data)
    assert _counted(data) == 2 * 5


def test_skipped_pages_between_values_are_still_read() -> None:
    """Pages of a type pyarrow skips, between the chunk's values, are read as pyarrow reads
    them (a page header there still counts)."""
    bomb = bytes([0x15, 14, 0x15]) + bytes([0x80, 0x80, 0x80, 0x80, 0x04]) + b"\x15\x00\x00"
    data = _file(_page(b"x") + bomb + _page(b"y"), values=2)
    assert _read_by_pyarrow(data)
    assert _counted(data) == 5 + (1 << 29) + 5  # the size zigzagged


def test_pages_pyarrow_skips_past_the_most_read_are_refused_alike(
    module_lakehouse: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Pages of a type pyarrow skips (here of type 7, none parquet.thrift names), between a
    chunk's values: pyarrow reads each header and skips its page; no writer writes them. Past
    ``MOST_SKIPPED_PAGES`` (65,536; here 3) the file is refused, by the loader and by the
    API's check (``check_file``, what its worker runs) in one set of words. On main all were
    read: 64M of them cost the check about 100 s of CPU, and the file loaded."""
    monkeypatch.setattr(parquet, "MOST_SKIPPED_PAGES", 3)
    data = _file(_page(b"x") + SKIPPED * 4 + _page(b"y"), values=2)
    assert _read_by_pyarrow(data)
    said = (
        "the file holds more than 3 pages of a type pyarrow skips (lakehouse.parquet."
        "MOST_SKIPPED_PAGES: index pages or of no page type, which no writer writes); their"
        " headers are not read further"
    )
    outcome = run(module_lakehouse, [("skips", "s.parquet", data)], rows=False)["skips"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", (outcome.api_status, refused)
    assert refused["reason"] == said
    path = tmp_path / "s.parquet"
    path.write_bytes(data)
    kind = from_name(path.name)
    assert kind is not None
    with pytest.raises(FileError) as api:
        check_file(path, kind, None)
    assert (api.value.status, str(api.value)) == (413, said)
    assert _counted(_file(_page(b"x") + SKIPPED * 3 + _page(b"y"), values=2)) == 10


_READER = (
    "_thrift_value",
    "_thrift_struct",
    "_thrift_items",
    "_thrift_entry",
    "_thrift_binary",
    "_varint",
)


@contextmanager
def _calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The number of calls of the Thrift reader's functions while inside (each call counted,
    the function itself run)."""
    count = [0]
    for name in _READER:
        inner: Callable[..., Any] = getattr(parquet, name)

        def counted(*args: Any, _inner: Callable[..., Any] = inner, **kwargs: Any) -> Any:
            count[0] += 1
            return _inner(*args, **kwargs)

        monkeypatch.setattr(parquet, name, counted)
    yield count
    monkeypatch.undo()


def _unknown(kind: int, body: bytes) -> bytes:
    """An unknown field (id 100) of compact type ``kind`` holding ``body``."""
    return bytes([kind, 200, 1]) + body


def _long_list(item: int, size: int) -> bytes:
    out = bytearray([0xF0 | item])
    while size > 0x7F:
        out.append(size & 0x7F | 0x80)
        size >>= 7
    out.append(size)
    return bytes(out)


N = 100_000
_SHAPES = {
    "i32s": _unknown(9, _long_list(5, N) + b"\x02" * N),
    "long i64s": _unknown(9, _long_list(6, N) + (b"\xff" * 9 + b"\x01") * N),
    "doubles": _unknown(9, _long_list(7, N) + bytes(8 * N)),
    "empty binaries": _unknown(9, _long_list(8, N) + bytes(N)),
    "binaries": _unknown(9, _long_list(8, N) + b"\x03abc" * N),
    "empty structs": _unknown(9, _long_list(12, N) + bytes(N)),
    "map of i32s": _unknown(11, _long_list(0, N)[1:] + b"\x55" + b"\x02\x04" * N),
    "map of booleans": _unknown(11, _long_list(0, N)[1:] + b"\x11" + b"\x01\x02" * N),
}


@pytest.mark.parametrize("shape", list(_SHAPES))
def test_an_unknown_field_costs_no_work_an_item(
    monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    """A page header's unknown field of 100,000 numbers, binaries or empty structs: read as
    pyarrow reads it, with a few calls of the reader (on main one or more an item: 15 lists
    of a million i32s took 5.5 s in a 15 MiB header)."""
    data = _file(_page(b"x" * 10, _SHAPES[shape]))
    assert _read_by_pyarrow(data)
    with _calls(monkeypatch) as calls:
        assert _counted(data) == 14
    assert calls[0] < 1_000, calls[0]


#: pieces of a list's or map's items: varints of 1, 2, 10 and 11 bytes, bytes of any kind
_PIECES = st.sampled_from(
    [b"\x00", b"\x02", b"\x7f", b"\x80\x01", b"\xff" * 9 + b"\x01", b"\xff" * 10 + b"\x01"]
)
_OTHER_PIECES = st.sampled_from(
    [b"\x03abc", b"\x15\x02\x00", b"\x90", b"\x0f", b"\x1c\x00", b"\x19\x15\x02"]
) | st.sampled_from([b"\x18\x00", b"\x19\x00", b"\x1b\x00", b"\x1c\xf0", b"\x18\x80\x00", b"\x10"])


@st.composite
def _values(draw: st.DrawFn) -> tuple[bytes, int]:
    """A binary, list, set, map or struct's bytes (a header of up to 200 items of any type, then
    up to 300 pieces, cut anywhere) and its compact type."""
    kind = draw(st.sampled_from([8, 9, 10, 11, 12]))
    size = draw(st.integers(0, 200))
    types = draw(st.integers(0, 15)) << 4 | draw(st.integers(0, 15))
    if kind in (9, 10):
        head = bytes([size << 4 | types & 0x0F]) if size < 15 else _long_list(types & 0x0F, size)
    elif kind == 11:
        head = _long_list(0, size)[1:] + (bytes([types]) if size else b"")
    elif kind == 8:
        head = _long_list(0, size)[1:]
    else:
        head = b""
    body = b"".join(draw(st.lists(_PIECES | _OTHER_PIECES, max_size=300)))
    data = head + body
    return data[: draw(st.integers(0, len(data)))], kind


def _outcome(read: Callable[[], int]) -> tuple[str, object]:
    try:
        return "read", read()
    except parquet._Unreadable as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=400, deadline=None)
@given(value=_values(), depth=st.sampled_from([1, 2, 62, 63, 64, 65]), step=st.integers(0, 1))
def test_a_value_passed_over_ends_where_it_reads(
    value: tuple[bytes, int], depth: int, step: int
) -> None:
    """Passing over a value (``_thrift_skip``) ends where reading it (``_thrift_value``, read
    as Thrift C++ does) ends, or refuses it in the same words, at every depth."""
    buf, kind = value
    assert _outcome(lambda: parquet._thrift_skip(buf, 0, kind, depth, step)) == _outcome(
        lambda: parquet._thrift_value(buf, 0, kind, depth, step)[1]
    )
