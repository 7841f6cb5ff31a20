"""A Parquet footer and page headers are read here as pyarrow's Thrift reader reads them (issue
#8, session 17, before-stop reads A-06, A-07, A-10): ``lakehouse.parquet._thrift_struct`` bounds
the pages' inflation (``written_page_bytes``) and finds the INT96 leaves (``int96_refusal``)
from the file's bytes, so where it read a header otherwise than Thrift's C++ compact reader and
Parquet's generated C++ reader (pyarrow's), a hostile file read two ways:

- a field header of type nibble 0 and a nonzero high nibble (0x10..0xF0) is a STOP to C++; here
  it was "a value of Thrift compact type 0", and a file pyarrow reads was refused (A-06);
- a long-form field id (or an i16) is zigzagged on 32 bits and then cut to 16 by C++; here it was
  cut first: id varint 0x1FFFB is field 2 (uncompressed_page_size) to C++, an unknown field here,
  and a 770-byte file inflating to 20 MiB passed the bound (202, A-07);
- a declared field written with another wire type is skipped by C++, taken here: a page's size
  or a chunk's compressed size given once more as another type passed the bound (A-07), a
  SchemaElement's type given once more as an i64 hid an INT96 leaf from the INT96 check and its
  nanoseconds were cut without a word (202, A-10).

The files are built byte by byte (Thrift's compact protocol) with the page-header tests'
helpers."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parquet_page_headers import BOMB, _file, _page

from lakehouse import parquet
from lakehouse.settings import Settings


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _zz(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _packed(value: bytes) -> tuple[int, bytes]:
    data = len(value).to_bytes(4, "little") + value
    return len(data), pa.Codec("zstd").compress(data, asbytes=True)


def _header(
    value: bytes, size: int | None = None, extra: bytes = b"", stops: bytes = b"\0\0"
) -> bytes:
    """A data page of ``value`` (as :func:`_page`) whose header says ``size`` bytes uncompressed
    (its true size when None), ``extra`` fields at its end, its data page header's and its own
    STOP bytes ``stops``."""
    inflated, packed = _packed(value)
    header = parquet._Compact()
    header.i32(1, 0)
    header.i32(2, inflated if size is None else size)
    header.i32(3, len(packed))
    header.begin(5)
    for fid, n in ((1, 1), (2, 0), (3, 3), (4, 3)):
        header.i32(fid, n)
    header.out += stops[:1]
    return bytes(header.out) + extra + stops[1:] + packed


def _read(data: bytes) -> list[dict[str, object]] | None:
    try:
        return pq.read_table(pa.BufferReader(data)).to_pylist()
    except (OSError, pa.ArrowException):
        return None


def _counted(data: bytes) -> int:
    return parquet.written_page_bytes(pa.BufferReader(data), ["v"])


# -- a STOP of any high nibble ------------------------------------------------------------


@pytest.mark.parametrize("stop", [0x10, 0xF0])
@pytest.mark.parametrize("where", ["data page header", "page header", "footer"])
def test_a_stop_with_a_high_nibble_loads_as_pyarrow_reads_it(
    module_lakehouse: Settings, stop: int, where: str
) -> None:
    """On main the API said 400 and the loader ``unparseable``: "the file does not parse as
    Parquet: ... holds a value of Thrift compact type 0, which is none"."""
    if where == "footer":
        data = bytearray(_file(_page(b"hello")))
        assert data[-9] == 0
        data[-9] = stop
        data = bytes(data)
    else:
        stops = bytes([stop, 0]) if where == "data page header" else bytes([0, stop])
        data = _file(_header(b"hello", stops=stops))
    assert _read(data) == [{"v": b"hello"}]
    assert _counted(data) == 9
    table = f"stop_{where[0]}_{stop:x}"
    outcome = run(module_lakehouse, [(table, "s.parquet", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.loaded_rows is not None and outcome.refused is None, outcome.refused
    assert [row["v"] for row in outcome.loaded_rows] == [b"hello"]


# -- a page's size hidden from the bound ------------------------------------------------


def _long_id(fid_varint: int, kind: int) -> bytes:
    return bytes([kind]) + _varint(fid_varint)


#: A page's true size (20 MiB) hidden behind a decoy of 1,000 bytes, three ways.
_TRICKS = {
    # field 2 short-form = 1000, then long-form id 0x1FFFB (C++: 2) = the true size
    "long-form id": lambda n: (1_000, _long_id(0x1FFFB, 5) + _varint(_zz(n))),
    # field 2 = the true size, then once more as an i64 (C++ skips it) = 1000
    "another wire type": lambda n: (n, _long_id(_zz(2), 6) + _varint(_zz(1_000))),
    # an unknown field 10 ids on, a map of one boolean to a boolean (C++: a byte each, then a
    # field 15 ids on, a binary of 0 bytes); read with no byte for them (before-stop read
    # C-01, s17), the two bytes were a long-form field 2 saying 60
    "map of booleans": lambda n: (n, bytes([0xAB, 0x01, 0x11, 0x05, 0x04, 0xF8, 0x00])),
}


def _footer_wire() -> bytes:
    """The column chunk's total_compressed_size (i64) once more as an i32 saying 0: C++ skips
    it; taken, no page header was read and the footer's 1,000 bytes were trusted."""
    pages = _page(BOMB)
    data = _file(pages)
    length = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - length : -8]
    seq = b"\x16" + _varint(_zz(len(pages))) + b"\x26" + _varint(_zz(4))  # fields 7, 9
    assert footer.count(seq) == 1
    twice = b"\x16" + _varint(_zz(len(pages))) + b"\x05" + _varint(_zz(7)) + _varint(0)
    tricked = footer.replace(seq, twice + b"\x26" + _varint(_zz(4)))
    return data[: -8 - length] + tricked + len(tricked).to_bytes(4, "little") + b"PAR1"


def _bomb(trick: str) -> bytes:
    if trick == "honest":
        return _file(_page(BOMB))
    if trick == "footer wire type":
        return _footer_wire()
    size, extra = _TRICKS[trick](len(BOMB) + 4)
    return _file(_header(BOMB, size, extra))


@pytest.mark.parametrize(
    "trick", ["honest", "long-form id", "another wire type", "footer wire type", "map of booleans"]
)
def test_a_page_bomb_is_refused_alike_however_its_size_is_written(
    module_lakehouse: Settings, trick: str
) -> None:
    """pyarrow inflates the 20 MiB page of each (its size is C++'s reading of the header); on
    main the three tricked files passed the inflation bound (202) and loaded."""
    data = _bomb(trick)
    read = _read(data)
    assert read is not None and read[0]["v"] == BOMB
    assert _counted(data) == len(BOMB) + 4
    table = "bomb_" + trick.replace(" ", "_").replace("-", "_")
    outcome = run(module_lakehouse, [(table, "b.parquet", data)], rows=False)[table]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", (outcome.api_status, refused)
    said = f"its pages' headers count {len(BOMB) + 4} bytes uncompressed (its footer 1000)"
    assert said in refused["reason"], refused
    assert (outcome.api_status, outcome.api_detail) == (413, refused["reason"])


_SCALAR = st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8])


def _body(kind: int, value: int) -> bytes:
    if kind in (1, 2):
        return b""
    if kind == 3:
        return bytes([value & 0xFF])
    if kind in (4, 5, 6):
        return _varint(_zz(value) & (2**64 - 1))
    if kind == 7:
        return value.to_bytes(8, "little", signed=True)
    return _varint(3) + b"abc"


@st.composite
def _field(draw: st.DrawFn) -> bytes:
    """A field of any id (short-form delta, or long-form: any varint of 1 to 5 bytes, as a
    C++ and a 16-bit-first cut read differently) and any scalar wire type."""
    kind = draw(st.one_of(_SCALAR, st.just(11)))
    value = draw(st.sampled_from([0, 1, 3, 1_000, -1, 2**31 - 1]))
    if draw(st.booleans()):
        head = bytes([draw(st.integers(1, 15)) << 4 | kind])
    else:
        raw = draw(st.one_of(st.integers(0, 2**35 - 1), st.sampled_from([0x1FFFB, 0x1FFFD, 3, 5])))
        head = bytes([kind]) + _varint(raw)
    if kind == 11:  # a map of scalars, booleans a byte each inside it (C-01, s17)
        key, item = draw(_SCALAR), draw(_SCALAR)
        entries = draw(st.integers(0, 2))
        body = b"".join(
            _entry(key, draw(st.integers(0, 255))) + _entry(item, draw(st.integers(0, 255)))
            for _ in range(entries)
        )
        return head + _varint(entries) + (bytes([key << 4 | item]) if entries else b"") + body
    return head + _body(kind, value)


def _entry(kind: int, value: int) -> bytes:
    """A map's key or value: a boolean is a byte there (any byte: C++ reads 1 as true)."""
    return bytes([value]) if kind in (1, 2) else _body(kind, value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.lists(_field(), max_size=3),
    stops=st.tuples(st.integers(0, 15), st.integers(0, 15)),
)
def test_a_page_header_pyarrow_reads_is_read_with_pyarrows_sizes(
    fields: list[bytes], stops: tuple[int, int]
) -> None:
    """A page of 10 bytes (14 uncompressed) whose header ends with fields of any id and wire
    type, and STOP bytes of any high nibble: when pyarrow reads it (its size is then the true
    one: pyarrow checks the page inflates to it) the count here is 14, and the file is not
    refused as unreadable."""
    extra = b"".join(fields)
    data = _file(_header(b"x" * 10, extra=extra, stops=bytes([stops[0] << 4, stops[1] << 4])))
    if _read(data) == [{"v": b"x" * 10}]:
        assert _counted(data) == 14


# -- an INT96 leaf hidden from the INT96 check ----------------------------------------


def _int96(hidden: bool) -> bytes:
    """An INT96 column t = [0, 1600000000000000001 ns] (a nanosecond bronze does not hold);
    ``hidden``: its SchemaElement's type given once more as an i64 saying INT64, which C++
    skips (pyarrow reads INT96)."""
    t = pa.table({"t": pa.array([0, 1_600_000_000_000_000_001], pa.timestamp("ns"))})
    out = io.BytesIO()
    pq.write_table(t, out, use_deprecated_int96_timestamps=True, store_schema=False)
    data = out.getvalue()
    length = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - length : -8]
    if hidden:
        leaf = b"\x15\x06\x25"  # type INT96, then repetition_type
        assert footer.count(leaf) == 1
        footer = footer.replace(leaf, b"\x15\x06\x06" + _varint(_zz(1)) + _varint(_zz(2)) + b"\x25")
    return data[: -8 - length] + footer + len(footer).to_bytes(4, "little") + b"PAR1"


@pytest.mark.parametrize("hidden", [False, True])
def test_an_int96_leaf_is_checked_however_its_type_is_written(
    module_lakehouse: Settings, hidden: bool
) -> None:
    """On main the hidden file was taken (202) and bronze held 2020-09-13T12:26:40 without its
    nanosecond."""
    data = _int96(hidden)
    assert pq.read_metadata(pa.BufferReader(data)).schema.column(0).physical_type == "INT96"
    table = f"int96_hidden_{hidden}".lower()
    outcome = run(module_lakehouse, [(table, "t.parquet", data)], rows=False)[table]
    said = "the timestamp 2020-09-13T12:26:40.000000001 has nanoseconds"
    assert outcome.api_status == 422, outcome.api_detail
    assert [(d["row"], d["field"]) for d in outcome.api_detail] == [(1, "t")]
    assert said in outcome.api_detail[0]["msg"]
    assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
    assert outcome.refused["reason"].startswith(f"record 2, column 't': {said}")


def test_a_footer_read_two_ways_refuses_the_int96_check() -> None:
    """The belt: the INT96 leaves the footer's bytes name must be pyarrow's, leaf by leaf
    (physical types), or the check refuses the file rather than trust either reading."""
    int96 = pq.read_metadata(pa.BufferReader(_int96(False))).schema
    other = io.BytesIO()
    pq.write_table(pa.table({"t": pa.array([0], pa.int64())}), other)
    length = int.from_bytes(other.getvalue()[-8:-4], "little")
    meta, _ = parquet._thrift_struct(other.getvalue()[-8 - length : -8], spec=parquet._FILE_META)
    tree = parquet._schema_tree(meta[2])
    with pytest.raises(parquet.Unreadable, match="the footer reads two ways: pyarrow reads leaf"):
        parquet._same_leaves(tree, int96)
    parquet._same_leaves(tree, pq.read_metadata(other).schema)


def _rows_hidden(tricked: bool) -> bytes:
    """100 records of an INT96 column, the last 2020-09-13T12:26:40.000000001; ``tricked``: its
    row group ends in an unknown map of one boolean to a boolean, then a boolean field (C++:
    the map's booleans a byte each; read with none, the two bytes were a long-form num_rows
    field saying 9: before-stop read C-02, s17)."""
    values = [0] * 99 + [1_600_000_000_000_000_001]
    out = io.BytesIO()
    t = pa.table({"t": pa.array(values, pa.timestamp("ns"))})
    pq.write_table(t, out, use_deprecated_int96_timestamps=True, store_schema=False)
    data = out.getvalue()
    if not tricked:
        return data
    length = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - length : -8]
    meta, _ = parquet._thrift_struct(footer, spec=parquet._FILE_META)
    group = meta[4][0]
    assert max(group) == 6, sorted(group)
    last = b"\x16" + _varint(_zz(group[6])) + b"\x00"  # ordinal (i16 delta 1), STOP
    assert footer.count(last) == 1
    trick = b"\x0b" + _varint(_zz(20)) + b"\x01\x11\x06\x06\x12"
    footer = footer.replace(last, last[:-1] + trick + b"\x00")
    return data[: -8 - length] + footer + len(footer).to_bytes(4, "little") + b"PAR1"


@pytest.mark.parametrize("tricked", [False, True])
def test_an_int96_value_is_checked_however_its_row_group_is_written(
    module_lakehouse: Settings, tricked: bool
) -> None:
    """On main the tricked file was taken (202) and bronze held the 100th timestamp without its
    nanosecond: the check read 9 records of the row group, pyarrow 100."""
    data = _rows_hidden(tricked)
    assert pq.read_metadata(pa.BufferReader(data)).row_group(0).num_rows == 100
    table = f"int96_rows_{tricked}".lower()
    outcome = run(module_lakehouse, [(table, "t.parquet", data)], rows=False)[table]
    said = "the timestamp 2020-09-13T12:26:40.000000001 has nanoseconds"
    assert outcome.api_status == 422, outcome.api_detail
    assert [(d["row"], d["field"]) for d in outcome.api_detail] == [(99, "t")]
    assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict"
    assert outcome.refused["reason"].startswith(f"record 100, column 't': {said}")


def test_row_groups_read_two_ways_refuse_the_int96_check() -> None:
    """The belt for row groups: their records as the footer's bytes say must be pyarrow's, or
    the INT96 check (which reads the pages through the footer as read here) refuses the file."""
    read = pq.read_metadata(pa.BufferReader(_rows_hidden(False)))
    parquet._same_records([{3: 100}], read)
    with pytest.raises(parquet.Unreadable, match="row group 1 as 100 records, its bytes as 9"):
        parquet._same_records([{3: 9}], read)
    with pytest.raises(parquet.Unreadable, match="pyarrow reads 1 row groups, its bytes 2"):
        parquet._same_records([{3: 100}, {3: 1}], read)


def test_decoy_page_counts_size_no_int96_batch(tmp_path: Path) -> None:
    """Before-stop read A-03's loophole: each data page header of a list<INT96> column gets a
    decoy ``data_page_header`` (long-form id varint 0x1000A: field 5 when cut to 16 bits first,
    -32763 to C++, which skips it) counting 2**31-1 values, and the footer claims 2**60. On main
    the pages' counts read here were the decoys': the INT96 check read one record a batch
    (20,000 records: 7.85 s of CPU a side, then 202). Now they are pyarrow's."""
    records = 2_000
    t = pa.table({"t": pa.array([[0]] * records, pa.list_(pa.timestamp("ns")))})
    out = io.BytesIO()
    pq.write_table(
        t,
        out,
        use_deprecated_int96_timestamps=True,
        compression="none",
        use_dictionary=False,
        data_page_size=1,
        write_batch_size=500,
    )
    data = out.getvalue()
    column = pq.read_metadata(io.BytesIO(data)).row_group(0).column(0)
    start, size = column.data_page_offset, column.total_compressed_size
    decoy = b"\x0c" + _varint(0x1000A) + b"\x15" + _varint(_zz(2**31 - 1)) + b"\x00"
    pos, chunk = start, b""
    while pos < start + size:
        header, end = parquet._thrift_struct(data[pos : pos + 4096], 0, 1, 1, parquet._PAGE_HEADER)
        chunk += (
            data[pos : pos + end - 1] + decoy + b"\x00" + data[pos + end : pos + end + header[3]]
        )
        pos += end + header[3]
    grown = len(chunk) - size
    length = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - length : -8]
    sizes = [column.num_values, column.total_uncompressed_size, size]
    said = b"\x15\x00" + b"".join(b"\x16" + _varint(_zz(n)) for n in sizes)
    assert footer.count(said) == 1
    claims = [2**60, sizes[1] + grown, size + grown]
    footer = footer.replace(said, b"\x15\x00" + b"".join(b"\x16" + _varint(_zz(n)) for n in claims))
    path = tmp_path / "decoy.parquet"
    path.write_bytes(data[:start] + chunk + data[start + size : -8 - length] + footer)
    path.write_bytes(path.read_bytes() + len(footer).to_bytes(4, "little") + b"PAR1")
    assert pq.read_table(path).num_rows == records
    footers = parquet._int96_footers(path)
    assert footers is not None and footers.rows == [parquet.INT96_BATCH_ROWS]


def _chunk_fields(extra: bytes) -> bytes:
    """The honest file of a 10-byte page with ``extra`` fields at the end of its column chunk's
    ColumnMetaData (after data_page_offset, field 9)."""
    data = _file(_page(b"x" * 10))
    length = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - length : -8]
    offset = b"\x26" + _varint(_zz(4)) + b"\x00"  # data_page_offset, then its STOP
    assert footer.count(offset) == 1
    footer = footer.replace(offset, offset[:-1] + extra + b"\x00")
    return data[: -8 - length] + footer + len(footer).to_bytes(4, "little") + b"PAR1"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.lists(_field(), min_size=1, max_size=3))
def test_a_column_chunk_pyarrow_reads_is_read_with_pyarrows_counts(fields: list[bytes]) -> None:
    """A column chunk's metadata ending in fields of any id and scalar wire type: when pyarrow
    reads the file, the counts and offsets read here are pyarrow's and its page is counted."""
    data = _chunk_fields(b"".join(fields))
    if _read(data) != [{"v": b"x" * 10}]:
        return
    column = pq.read_metadata(pa.BufferReader(data)).row_group(0).column(0)
    chunks = parquet.written_chunks(pa.BufferReader(data))
    assert chunks is not None and chunks[0][0] is not None
    chunk = chunks[0][0]
    assert (chunk.values, chunk.uncompressed, chunk.compressed) == (
        column.num_values,
        column.total_uncompressed_size,
        column.total_compressed_size,
    )
    assert chunk.start == column.data_page_offset
    assert _counted(data) == 14


def test_leaves_of_other_levels_refuse_the_int96_check() -> None:
    """The belt for a leaf's nesting and nulls: a REQUIRED leaf read as OPTIONAL by the
    footer's bytes (before-stop read C-02, s17: the check then read the records as nulls)
    refuses the file; its levels as pyarrow reads them pass."""

    def footer(nullable: bool) -> tuple[parquet._Node, pq.ParquetSchema]:
        out = io.BytesIO()
        field = pa.field("t", pa.timestamp("ns"), nullable=nullable)
        t = pa.table({"t": pa.array([0], pa.timestamp("ns"))}, schema=pa.schema([field]))
        pq.write_table(t, out, use_deprecated_int96_timestamps=True)
        data = out.getvalue()
        length = int.from_bytes(data[-8:-4], "little")
        meta, _ = parquet._thrift_struct(data[-8 - length : -8], spec=parquet._FILE_META)
        return parquet._schema_tree(meta[2]), pq.read_metadata(pa.BufferReader(data)).schema

    optional, read_optional = footer(True)
    required, read_required = footer(False)
    parquet._same_leaves(optional, read_optional)
    parquet._same_leaves(required, read_required)
    with pytest.raises(parquet.Unreadable, match=r"levels \(0, 0\), its bytes \(1, 0\)"):
        parquet._same_leaves(optional, read_required)
