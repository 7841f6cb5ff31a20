"""A Parquet file's page headers bound its pages' inflation whatever its footer says (issue #8,
session 17): the footer can understate its sizes, so ``lakehouse.parquet.written_page_bytes``
reads every page header pyarrow reads. Until session 17 that reading gave up on a footer or
page header nesting Thrift structures past 32 levels (pyarrow reads 64) or past 1,000,000
pages, and the footer's sizes were then trusted: a 1 KB file holding a 20 MiB page under a
footer saying 1,000 bytes loaded. Now the headers are read to pyarrow's own limits (Arrow's
``ThriftDeserializer``: 64 levels, counted as it counts them), a file past them is refused by
the API and the loader in one set of words, and past ``MOST_PAGES`` pages too. The files are
built here byte by byte (Thrift's compact protocol): an unknown field, as a newer writer may
add, holds the nesting."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.filecheck import FileError, check_file
from lakehouse import parquet
from lakehouse.formats import from_name
from lakehouse.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data"
#: 20 MiB of zeros: zstd makes them about 700 bytes
BOMB = bytes(20 * 2**20)


def _nested(levels: int, leaf: bool = False) -> bytes:
    """An unknown field (id 100) holding ``levels`` structs, each in the last; ``leaf``: an i32
    in the innermost. Its innermost value is ``levels`` (+1 with the leaf) deeper than the
    struct holding the field, as pyarrow's Thrift reader counts."""
    out = bytes([0x0C, 200, 1]) + bytes([0x1C]) * (levels - 1)
    return out + (bytes([0x15, 2]) if leaf else b"") + bytes(levels)


def _page(value: bytes, extra: bytes = b"", values: int = 1) -> bytes:
    """A data page (v1, PLAIN, zstd) of one BYTE_ARRAY ``value`` (``values``: the count its
    header says), ``extra`` fields at the end of its header."""
    data = len(value).to_bytes(4, "little") + value
    packed = pa.Codec("zstd").compress(data, asbytes=True)
    header = parquet._Compact()
    header.i32(1, 0)  # DATA_PAGE
    header.i32(2, len(data))
    header.i32(3, len(packed))
    header.begin(5)
    for fid, n in ((1, values), (2, 0), (3, 3), (4, 3)):  # values, PLAIN, RLE, RLE
        header.i32(fid, n)
    header.end()
    return bytes(header.out) + extra + b"\x00" + packed


def _file(pages: bytes, values: int = 1, extra: bytes = b"") -> bytes:
    """A file of one row group whose one column chunk (``v``, a required BYTE_ARRAY of
    ``values`` values) holds ``pages``, under a footer saying they inflate to 1,000 bytes;
    ``extra`` fields at the end of the footer."""
    footer = parquet._Compact()
    footer.i32(1, 1)  # version
    footer.items(2, 12, 2)  # schema: the root and the column
    footer.begin()
    footer.text(4, "schema")
    footer.i32(5, 1)
    footer.end()
    footer.begin()
    footer.i32(1, 6)  # BYTE_ARRAY
    footer.i32(3, 0)  # REQUIRED
    footer.text(4, "v")
    footer.end()
    footer.i64(3, values)
    footer.items(4, 12, 1)  # one row group
    footer.begin()
    footer.items(1, 12, 1)  # one column chunk
    footer.begin()
    footer.i64(2, 4)
    footer.begin(3)  # ColumnMetaData
    footer.i32(1, 6)
    footer.items(2, 5, 1)
    footer._zigzag(0)
    footer.items(3, 8, 1)
    footer._varint(1)
    footer.out += b"v"
    footer.i32(4, 6)  # ZSTD
    footer.i64(5, values)
    footer.i64(6, 1_000)  # understated
    footer.i64(7, len(pages))
    footer.i64(9, 4)
    footer.end()
    footer.end()
    footer.i64(2, 1_000)  # understated
    footer.i64(3, values)
    footer.end()
    tail = bytes(footer.out) + extra + b"\x00"
    return b"PAR1" + pages + tail + len(tail).to_bytes(4, "little") + b"PAR1"


def _read_by_pyarrow(data: bytes) -> bool:
    try:
        pq.read_table(pa.BufferReader(data))
    except (OSError, pa.ArrowException):
        return False
    return True


def _counted(data: bytes) -> int:
    return parquet.written_page_bytes(pa.BufferReader(data), ["v"])


@pytest.mark.parametrize(
    ("where", "levels"),
    [("header", 33), ("header", 63), ("footer", 33), ("footer", 63)],
)
def test_nesting_pyarrow_reads_is_read_and_the_headers_bound_the_file(
    module_lakehouse: Settings, where: str, levels: int
) -> None:
    """Nested 34 and 64 levels deep (pyarrow reads both): until session 17 the reading gave up
    past 32 and trusted the footer's 1,000 bytes, and the 20 MiB page loaded (202)."""
    if where == "header":
        data = _file(_page(BOMB, _nested(levels)))
    else:
        data = _file(_page(BOMB), extra=_nested(levels))
    assert _read_by_pyarrow(data)  # a file pyarrow reads whole
    table = f"nested_{where}_{levels}"
    outcome = run(module_lakehouse, [(table, "n.parquet", data)], rows=False)[table]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", (outcome.api_status, refused)
    said = f"its pages' headers count {len(BOMB) + 4} bytes uncompressed (its footer 1000)"
    assert f"(max_inflate_ratio): {said} from {len(data)}" in refused["reason"], refused
    assert (outcome.api_status, outcome.api_detail) == (413, refused["reason"])


def test_a_page_header_nested_past_pyarrows_depth_is_refused_alike(
    module_lakehouse: Settings,
) -> None:
    """65 levels: pyarrow does not read the page ("Exceeded depth limit"); until session 17
    the footer was trusted and the refusal came from pyarrow's read, in its words."""
    data = _file(_page(BOMB, _nested(64)))
    assert not _read_by_pyarrow(data)
    outcome = run(module_lakehouse, [("deep", "d.parquet", data)], rows=False)["deep"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "unparseable", refused
    assert refused["reason"] == (
        "the file does not parse as Parquet: column 'v', row group 1: the page header at"
        " byte 4 nests a value 65 levels deep: pyarrow's Thrift reader takes 64"
    )
    assert (outcome.api_status, outcome.api_detail) == (400, refused["reason"])


def test_pages_past_the_most_read_are_refused_alike(
    module_lakehouse: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Past ``MOST_PAGES`` (64M; here 3, the same rule on a file a test can hold) the file is
    refused: until session 17 the footer's sizes were trusted past 1,000,000 pages. The API
    checks a Parquet file in a worker process (session 18), which the patch does not reach:
    its check (``ingest.filecheck.check_file``, what the worker runs) is called here."""
    monkeypatch.setattr(parquet, "MOST_PAGES", 3)
    data = _file(b"".join(_page(BOMB[: 2**20]) for _ in range(4)), values=4)
    assert _read_by_pyarrow(data)
    outcome = run(module_lakehouse, [("pages", "p.parquet", data)], rows=False)["pages"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", (outcome.api_status, refused)
    assert refused["reason"] == (
        "the file holds more than 3 pages (lakehouse.parquet.MOST_PAGES): more than a file"
        " within the size limits holds; their headers are not read further"
    )
    path = tmp_path / "p.parquet"
    path.write_bytes(data)
    kind = from_name(path.name)
    assert kind is not None
    with pytest.raises(FileError) as api:
        check_file(path, kind, None)
    assert (api.value.status, str(api.value)) == (413, refused["reason"])


# a value Thrift nests: a struct holding one field, a list or map of one item, or a leaf
_LEAF = st.sampled_from([b"\x15\x02", b"\x18\x01x", b"\x11", b"\x17" + bytes(8), b""])


def _shape() -> st.SearchStrategy[list[str]]:
    """Nestings of 1 to 70 levels, as many of each depth (pyarrow's limit is 64)."""
    kinds = st.sampled_from(["struct", "list", "map"])
    return st.integers(1, 70).flatmap(lambda n: st.lists(kinds, min_size=n, max_size=n))


def _value(shape: list[str], leaf: bytes) -> tuple[int, bytes]:
    """The compact type and bytes of a value nesting ``shape`` (outermost first) around
    ``leaf`` (a struct field's bytes, or nothing)."""
    kind, body = 12, leaf + b"\x00"
    for outer in reversed(shape):
        if outer == "struct":
            kind, body = 12, bytes([0x10 | kind]) + body + b"\x00"
        elif outer == "list":
            kind, body = 9, bytes([0x10 | kind]) + body
        else:  # a map of one i32 key
            kind, body = 11, b"\x01" + bytes([0x50 | kind]) + b"\x02" + body
    return kind, body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=_shape(), leaf=_LEAF, inside=st.booleans())
def test_a_page_header_is_read_exactly_when_pyarrow_reads_it(
    shape: list[str], leaf: bytes, inside: bool
) -> None:
    """Any nesting of structs, lists and maps in an unknown field of a page header (or of its
    data page header): read here exactly when pyarrow reads it, refused saying how deep."""
    kind, body = _value(shape, leaf)
    extra = bytes([kind]) + bytes([200, 1]) + body  # field 100
    if inside:  # in the data page header
        page = _page(b"x" * 10)
        cut = page.index(b"\x00\x00")  # its and the page header's stops
        data = _file(page[:cut] + extra + page[cut:])
    else:
        data = _file(_page(b"x" * 10, extra))
    if _read_by_pyarrow(data):
        assert _counted(data) == 14
    else:
        with pytest.raises(parquet.Unreadable, match="levels deep: pyarrow's Thrift reader"):
            _counted(data)


@settings(max_examples=60, deadline=None)
@given(shape=_shape(), leaf=_LEAF)
def test_a_footer_pyarrow_opens_is_read(shape: list[str], leaf: bytes) -> None:
    kind, body = _value(shape, leaf)
    data = _file(_page(b"x" * 10), extra=bytes([kind, 200, 1]) + body)
    try:
        pq.ParquetFile(pa.BufferReader(data))
    except (OSError, pa.ArrowException):
        return
    assert _counted(data) == 14


def test_every_parquet_file_pyarrow_reads_has_its_headers_read() -> None:
    """The Parquet files of tests/data (arrow-testing's, parquet-testing's, DuckDB's, writers'
    oddities): the page headers of each pyarrow opens are read, or it is one pyarrow does not
    read either."""
    opened = refused = 0
    for path in sorted(DATA.rglob("*.parquet")):
        try:
            pf = pq.ParquetFile(path)
        except (OSError, pa.ArrowException):
            continue
        meta = pf.metadata
        names = [meta.schema.column(j).path for j in range(meta.num_columns)]
        opened += 1
        try:
            parquet.written_page_bytes(path, names, meta.created_by or "")
        except parquet.Unreadable:
            refused += 1
            with pytest.raises((OSError, pa.ArrowException)):
                pf.read()
    assert opened >= 40 and refused < opened


@pytest.mark.parametrize("mib", [2, 17])
def test_a_long_page_header_is_read_as_far_as_pyarrow_reads(mib: int) -> None:
    """A page header holding ``mib`` MiB of an unknown binary field (statistics can make a
    header long): one of 2 MiB is read past the first block read of a chunk (1 MiB), as are
    the pages after it; one past 16 MiB, the most pyarrow reads, is refused, as pyarrow does."""
    length = mib * 2**20
    field = parquet._Compact()
    field.out += bytes([0x08, 200, 1])  # field 100, binary
    field._varint(length)
    data = _file(_page(b"x" * 10, bytes(field.out) + bytes(length)) + _page(b"y" * 20), values=2)
    if mib < 16:
        assert _read_by_pyarrow(data)
        assert _counted(data) == 14 + 24
        return
    assert not _read_by_pyarrow(data)
    with pytest.raises(parquet.Unreadable, match="is longer than 16777216 bytes, the most"):
        _counted(data)


def test_bytes_past_the_pages_pyarrow_reads_refuse_nothing() -> None:
    """Pyarrow reads a column chunk's pages until they hold its count of values: bytes past
    them that are no page header do not refuse the file, and the pages there are not counted
    (session 18: pyarrow never decompresses them; until then they were, and 64M of them cost
    100 s of CPU before the file's one value was read); the first header there is read, and a
    data page of values refuses the file (session 19: its values would be lost). Past a data
    page of none, bytes that are no page header end the reading (pyarrow ends there, or
    refuses the file)."""
    junk = b"\xff" * 30
    for data, counted in (
        (_file(_page(b"x" * 10) + junk), 14),
        (_file(_page(b"", values=0) + junk + _page(b"x" * 10)), 4),
    ):
        assert _read_by_pyarrow(data)
        assert _counted(data) == counted
    # a data page past the chunk's count of values: pyarrow reads the first page alone, the
    # second's value would be lost without a word; its header alone is read (not its 20 MiB),
    # and the file is refused as corrupt (session 19, review finding revc 04)
    past = _file(_page(b"x" * 10) + _page(BOMB))
    assert _read_by_pyarrow(past)
    with pytest.raises(parquet.Unreadable, match="counts 1 values, its pages hold more"):
        _counted(past)
    # and behind a data page of none (*before:* session 19's first fix read one header past the
    # count: a page of none there hid the page of values after it, lost without a word)
    hidden = _file(_page(b"x" * 10) + _page(b"", values=0) + _page(b"y" * 10))
    assert pq.read_table(pa.BufferReader(hidden)).column("v").to_pylist() == [b"x" * 10]
    with pytest.raises(parquet.Unreadable, match="counts 1 values, its pages hold more"):
        _counted(hidden)
    nones = _file(_page(b"x" * 10) + _page(b"", values=0) * 3)  # nothing lost: read
    assert _counted(nones) == 14


def test_a_page_past_a_data_page_of_none_is_counted(module_lakehouse: Settings) -> None:
    """Review finding reada 02 (session 18): pages [one value][none][20 MiB] in a chunk of 2
    values. Pyarrow's column reader ends at the page of none, but its record reader calls it
    again while records are still wanted, and it decompresses the 20 MiB page whole: an
    825-byte file loaded a 20 MiB value (ratio ~25,000, past max_inflate_ratio's 250) where
    the page-header count stopped at the page of none. The page is counted now, and the API
    (413) and the loader (``too_large``) refuse the file in one set of words (``run``)."""
    data = _file(_page(b"x") + _page(b"", values=0) + _page(BOMB), values=2)
    rows = pq.read_table(pa.BufferReader(data)).column("v").to_pylist()
    assert [len(v) for v in rows] == [1, len(BOMB)]  # pyarrow does read past the page of none
    assert _counted(data) == 5 + 4 + len(BOMB) + 4
    outcome = run(module_lakehouse, [("none", "z.parquet", data)], rows=False)["none"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", (outcome.api_status, refused)
    assert "(max_inflate_ratio): its pages' headers count" in refused["reason"], refused
    assert (outcome.api_status, outcome.api_detail) == (413, refused["reason"])


#: a page of the drawn chunks: one value of ``n`` bytes, or a data page of none
_PAGES = st.lists(st.one_of(st.integers(1, 3000), st.none()), min_size=1, max_size=8)


@settings(max_examples=80, deadline=None)
@given(pages=_PAGES, extra=st.integers(-2, 2), batch=st.integers(1, 4))
def test_every_page_pyarrow_decompresses_is_counted(
    pages: list[int | None], extra: int, batch: int
) -> None:
    """Chunks of pages of one value and data pages of none in any order, under a footer
    saying about as many values as they hold: every page up to the last one whose value
    pyarrow returns (read whole, and in batches) is counted by the headers' reading (until
    session 18's fix, pages past a data page of none were not, though pyarrow read them)."""
    made = [_page(b"v" * n if n else b"", values=1 if n else 0) for n in pages]
    sizes = [4 + (n or 0) for n in pages]
    ones = sum(1 for n in pages if n)
    values = max(0, ones + extra)
    data = _file(b"".join(made), values=values)
    try:
        reads = [pq.read_table(pa.BufferReader(data)).column("v").to_pylist()]
        file = pq.ParquetFile(pa.BufferReader(data))
        reads.append(
            [v for b in file.iter_batches(batch_size=batch) for v in b.column(0).to_pylist()]
        )
    except (OSError, pa.ArrowException):
        return
    try:
        counted = _counted(data)
    except parquet.Unreadable as exc:  # pages of values past the footer's count: refused
        assert "its pages hold" in str(exc) and ones > values, (pages, values, str(exc))
        assert all(len(read) < ones for read in reads)  # pyarrow lost a value, unsaid
        return
    for read in reads:
        lengths = [len(v) for v in read]
        last = -1  # the last page read: the pages of one value, in order, as returned
        for length in lengths:
            last = next(j for j in range(last + 1, len(pages)) if pages[j] == length)
        assert counted >= sum(sizes[: last + 1]), (pages, values, lengths)
