"""Parquet files whose footer's counts of records disagree with their pages: Impala's test files
``zero_rows_one_row_group.parquet`` (footer 0 records, one row group of 1) and
``huge_num_rows.parquet`` (footer and row group 4,294,967,294 records, its column 1 value), from
apache/impala@b21595276c testdata/data/ (Apache-2.0, 236 and 314 bytes, embedded). Arrow reads
1 record of each without a word; both were taken (202) and loaded as 1 row, where Impala refuses
the first as corrupt (review finding auditE 08). Both refuse them now, in the same words, from
the footer alone (``lakehouse.parquet.count_disagreement``), and a file of several row groups
and nested columns, whose counts agree, still loads (as does parquet-rs 0.3's footer of 0 over
its row groups: ``tests/adversary/test_parquet_corpus.py``, ``repeated_no_annotation.parquet``).
A footer whose counts agree with each other but say more records than the pages hold (its
Thrift rewritten here) is refused by both after the read (``count_read_disagreement``).
"""

from __future__ import annotations

import io
import struct

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run

from lakehouse import parquet
from lakehouse.settings import Settings

ZERO_ROWS_ONE_ROW_GROUP = bytes.fromhex(
    "5041523115041508150c4c150215040000040c010000001500151215162c150215041506150800000920020000000201"
    "01020026661c150219350604001918035f6330150216021656165e262e260800001502192c4806736368656d61150200"
    "1502250218035f6330001600191c191c26661c150219350604001918035f6330150216021656165e262e26080000165e"
    "160200284e696d70616c612076657273696f6e20322e382e302d534e415053484f5420286275696c6420363463333934"
    "3832376162366638386533393534356463366337623461623165356262303063393129009300000050415231"
)
HUGE_NUM_ROWS = bytes.fromhex(
    "5041523115041508150c4c150215040000040c7b0000001500151215162c15021504150615081c18047b00000018047b"
    "00000000000009200200000002010102002682011c1502193504080619180169150216021672167a262e26081c18047b"
    "00000018047b00000000192c150415041502001500150415020000001502192c4806736368656d611502001502250218"
    "01690016fcffffff1f191c191c2682011c1502193504080619180169150216021672167a262e26081c18047b00000018"
    "047b00000000192c15041504150200150015041502000000167a16fcffffff1f00284e696d70616c612076657273696f"
    "6e20322e392e302d534e415053484f5420286275696c6420626132363133616266623339333537383433653061366535"
    "646664326435656434396233366561332900b600000050415231"
)


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("zero_rows", ZERO_ROWS_ONE_ROW_GROUP, "the footer says 0 records, its row groups hold 1"),
        ("huge_rows", HUGE_NUM_ROWS, "says 4294967294 records, its column 'i' holds 1 values"),
    ],
)
def test_a_footer_disagreeing_with_its_pages_refuses_the_file(
    module_lakehouse: Settings, name: str, data: bytes, said: str
) -> None:
    assert pq.read_table(io.BytesIO(data)).num_rows == 1  # what Arrow reads, without a word
    outcome = run(module_lakehouse, [(name, f"{name}.parquet", data)], rows=False)[name]
    assert outcome.api_status == 400 and said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "loaded as read: the footer's counts were not looked at"
    assert outcome.refused["kind"] == "unparseable", outcome.refused
    assert said in outcome.refused["reason"], outcome.refused
    assert outcome.refused["reason"] == outcome.api_detail


def test_counts_that_agree_load(module_lakehouse: Settings) -> None:
    table = pa.table(
        {
            "i": pa.array([1, None, 3, 4, 5]),
            "l": pa.array([[1, 2], [], None, [None], [3]]),
            "s": pa.array([{"a": 1}, None, {"a": None}, {"a": 2}, {"a": 3}]),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=2)
    data = out.getvalue()
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    assert meta.num_row_groups == 3 and parquet.count_disagreement(meta) is None
    assert parquet.count_read_disagreement(meta, 4) is not None  # a page read short
    outcome = run(module_lakehouse, [("agree", "agree.parquet", data)])["agree"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None and outcome.loaded_rows is not None
    assert sorted(r["i"] or 0 for r in outcome.loaded_rows) == [0, 1, 3, 4, 5]


# -- a footer whose counts agree with each other, and not with the pages ------------------------
# Parquet's footer (FileMetaData) is Thrift's compact protocol, between the data and its 4-byte
# little-endian length and ``PAR1``. A field's header byte holds its id's delta from the last
# (high nibble) and its type (low nibble); integers are zigzag varints.


_Spans = dict[tuple[int, ...], tuple[int, int]]


def _varint(data: bytes, pos: int) -> int:
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


def _value(data: bytes, pos: int, kind: int, path: tuple[int, ...], out: _Spans) -> int:
    """The end of the value of compact type ``kind`` at ``pos``; each integer's (start, end)
    into ``out`` by its path of field ids and list indices."""
    if kind in (1, 2):  # a boolean: in the header itself
        return pos
    if kind == 3:  # a byte
        return pos + 1
    if kind in (4, 5, 6):  # i16, i32, i64
        out[path] = (pos, _varint(data, pos))
        return out[path][1]
    if kind == 7:  # a double
        return pos + 8
    if kind == 8:  # binary: its length, a varint
        end = _varint(data, pos)
        length = sum((b & 0x7F) << (7 * i) for i, b in enumerate(data[pos:end]))
        return end + length
    if kind in (9, 10):  # a list or a set: its size and element type, then its elements
        size, element = data[pos] >> 4, data[pos] & 0x0F
        assert size != 15, "no list in these footers is that long"
        pos += 1
        for i in range(size):
            pos = _value(data, pos, element, (*path, i), out)
        return pos
    assert kind == 12, kind  # a struct: its fields, then a stop byte
    last = 0
    while data[pos]:
        head = data[pos]
        assert head >> 4, "no long field header in these footers"
        last += head >> 4
        pos = _value(data, pos + 1, head & 0x0F, (*path, last), out)
    return pos + 1


def _is_count(path: tuple[int, ...]) -> bool:
    """FileMetaData.num_rows (3), RowGroup.num_rows (4 → 0 → 3) and each column's
    ColumnMetaData.num_values (4 → 0 → 1 columns → k → 3 meta_data → 5)."""
    return path in ((3,), (4, 0, 3)) or (path[:3] == (4, 0, 1) and path[4:] == (3, 5))


def _footer_says(data: bytes, rows: int, more: int) -> bytes:
    """``data`` (one row group of ``rows`` records, flat columns) with its footer's counts of
    records, and of each column's values, ``rows + more``: they agree with each other, so only
    a reading of the pages can tell (each a zigzag varint of the same length)."""
    length = struct.unpack("<I", data[-8:-4])[0]
    start = len(data) - 8 - length
    out: _Spans = {}
    assert _value(data, start, 12, (), out) == len(data) - 8
    patched = bytearray(data)
    for path in filter(_is_count, out):
        at, end = out[path]
        old, new = 2 * rows, 2 * (rows + more)  # zigzag
        assert bytes(patched[at:end]) == bytes([old]) and new < 0x80
        patched[at:end] = bytes([new])
    return bytes(patched)


def test_a_footer_saying_more_than_its_pages_is_refused_by_both(
    module_lakehouse: Settings,
) -> None:
    """The pages hold 3 records, the footer says 4 everywhere (its records, the row group's,
    the column's values): they agree with each other (``count_disagreement`` passes) and Arrow
    reads 3 without a word. Until session 11 only a direct call of
    ``parquet.count_read_disagreement`` was tested; through the real paths the API refuses it
    (400) and the loader quarantines it (``unparseable``), in the same words."""
    table = pa.table({"i": pa.array([1, 2, 3]), "s": pa.array(["a", None, "c"])})
    out = io.BytesIO()
    pq.write_table(table, out, write_statistics=False, use_dictionary=False)
    data = _footer_says(out.getvalue(), 3, 1)
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    assert (meta.num_rows, meta.row_group(0).num_rows) == (4, 4)
    assert [meta.row_group(0).column(i).num_values for i in (0, 1)] == [4, 4]
    assert parquet.count_disagreement(meta) is None  # the footer alone cannot tell
    assert pq.read_table(io.BytesIO(data)).num_rows == 3  # what Arrow reads, without a word
    name = "footer_says_more"
    outcome = run(module_lakehouse, [(name, "f.parquet", data)], rows=False)[name]
    said = "the file does not parse as Parquet: the footer says 4 records, its pages hold 3"
    assert outcome.api_status == 400 and said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "loaded 3 of the 4 records the footer says"
    assert outcome.refused["kind"] == "unparseable", outcome.refused
    assert said in outcome.refused["reason"], outcome.refused
    assert outcome.refused["reason"] == outcome.api_detail


def _zero_footer_nanos() -> bytes:
    """A footer saying 0 records over a row group of 1 holding a nanosecond timestamp that is
    no whole microsecond (a value the rule refuses)."""
    out = io.BytesIO()
    table = pa.table({"t": pa.array([1], pa.timestamp("ns"))})
    pq.write_table(table, out, coerce_timestamps=None, store_schema=False)
    data = out.getvalue()
    n = int.from_bytes(data[-8:-4], "little")
    foot = data[-8 - n : -8]
    # FileMetaData.num_rows (field 3, i64 zigzag 1 = 0x02) just before row_groups (list of 1)
    assert foot.count(b"\x16\x02\x19\x1c") == 1
    bad = data[: -8 - n] + foot.replace(b"\x16\x02\x19\x1c", b"\x16\x00\x19\x1c") + data[-8:]
    assert pq.ParquetFile(io.BytesIO(bad)).metadata.num_rows == 0
    return bad


def test_a_refused_value_comes_before_the_footers_counts_for_both(
    module_lakehouse: Settings,
) -> None:
    """The footer's column chunks are looked at after the pages (a chunk pyarrow cannot
    describe aborts its accessor: test_parquet_abort.py); the loader refuses at the first value,
    so the API names the value before the footer's counts too (review finding audits 03)."""
    out = run(module_lakehouse, [("zero_nanos", "o.parquet", _zero_footer_nanos())], rows=False)
    got = out["zero_nanos"]
    assert got.api_status == 422 and "has nanoseconds" in str(got.api_detail), got.api_detail
    assert got.refused is not None and got.refused["kind"] == "type_conflict", got.refused
    assert "has nanoseconds" in got.refused["reason"], got.refused


def _written(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, compression="NONE", write_statistics=False)
    return out.getvalue()


def _pages_of(values: int, per_page: int) -> bytes:
    """One int64 column ``a`` of 0..values-1, written in data pages of ``per_page`` values."""
    out = io.BytesIO()
    table = pa.table({"a": pa.array(range(values), pa.int64())})
    pq.write_table(
        table, out, compression="NONE", write_statistics=False, use_dictionary=False,
        data_page_size=1, write_batch_size=per_page,
    )  # fmt: skip
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        (
            "second_page",  # pages of 40 and 20 values, every footer count 40
            _footer_says(_pages_of(60, 40), 60, -20),
            "column 'a', row group 1: its footer counts 40 values, its pages hold more (a data"
            " page of 20 at byte",
        ),
        (
            "one_page",  # one page of 3 values per column, every footer count 2
            _footer_says(
                _written(pa.table({"a": pa.array([1, 2, 3]), "s": pa.array(["x", "y", "z"])})),
                3,
                -1,
            ),
            "column 'a', row group 1: its footer counts 2 values, its pages hold 3: a corrupt",
        ),
    ],
)
def test_pages_holding_more_than_the_footer_counts_are_refused_by_both(
    module_lakehouse: Settings, name: str, data: bytes, said: str
) -> None:
    """Review finding revc 04 (session 19): a footer whose counts agree with each other and
    say fewer values than the column chunk's pages hold. Pyarrow and DuckDB read the footer's
    count and stop: 20 of 60 rows (one of 3) were loaded nowhere, with 202, without a word.
    Now the API (400) and the loader (``unparseable``) refuse it in one set of words."""
    assert parquet.count_disagreement(pq.ParquetFile(io.BytesIO(data)).metadata) is None
    rows = pq.read_table(io.BytesIO(data)).num_rows
    assert rows < {"second_page": 60, "one_page": 3}[name]  # what pyarrow reads, unsaid
    outcome = run(module_lakehouse, [(name, "f.parquet", data)], rows=False)[name]
    assert outcome.api_status == 400 and said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, f"loaded {rows} rows"
    assert outcome.refused["kind"] == "unparseable", outcome.refused
    assert outcome.refused["reason"] == outcome.api_detail
