"""A Parquet ``INT32`` annotated ``INT(8)``/``INT(16)``/``UINT(8)``/``UINT(16)`` holding a value
past that width (a writer that does not check its annotation): pyarrow and DuckDB alike read it cut
down to the annotation's width (-1000 as 24), and neither can read the physical value (pyarrow's
``read_table(schema=)`` with int32 casts what it read as int8). The API took such a file (202)
and bronze stored the wrapped number (review finding auditg 11 of session 11). Now, where the
footer's statistics hold such a value (``min_raw``/``max_raw``, the physical values; unsigned
for an unsigned annotation), the file is refused naming the column, the value and its row group,
by the API (422) and the loader (``type_conflict``); values within their annotation load.
"""

from __future__ import annotations

import io
import struct

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings


def _lying(
    column: pa.Array,
    old: int,
    new: int,
    groups: int = 1,
    *,
    statistics: bool = True,
    dictionary: bool = False,
) -> bytes:
    """A file of ``column`` (no compression; plain pages, or a plain dictionary page) with
    every INT32 ``old`` (in the page and the statistics alike) changed in place to ``new``;
    ``statistics``: whether the footer holds any."""
    table = pa.table({"id": pa.array(range(len(column)), pa.int64()), "v": column})
    out = io.BytesIO()
    pq.write_table(
        table,
        out,
        compression="none",
        use_dictionary=dictionary,
        store_schema=False,
        row_group_size=len(column) // groups,
        write_statistics=statistics,
    )
    data = out.getvalue().replace(struct.pack("<i", old), struct.pack("<i", new))
    read = pq.read_table(io.BytesIO(data)).column("v").to_pylist()
    assert new not in read, read  # what every reader gives: the value cut down
    return data


CASES = {
    # type, values written, the one changed, to what, the value named, its row group
    "int8": (pa.int8(), [90, 91], 90, -1000, "-1000", "row group 1, records 1 to 1"),
    "int16": (pa.int16(), [12345, 7], 12345, 100000, "100000", "row group 1, records 1 to 1"),
    "uint8": (pa.uint8(), [7, 90], 90, -1, "4294967295", "row group 2, records 2 to 2"),
    "uint16": (pa.uint16(), [7, 12345], 12345, 70000, "70000", "row group 2, records 2 to 2"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_integer_past_its_annotation_is_refused(module_lakehouse: Settings, case: str) -> None:
    t, values, old, new, shown, where = CASES[case]
    data = _lying(pa.array(values, t), old, new, groups=2)
    table = f"int_past_{case}"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    said = f"the footer's statistics say it holds {shown} ({where}), past its annotation"
    assert outcome.api_status == 422, outcome.api_detail
    assert said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "202, then the number cut down stored"
    assert outcome.refused["kind"] == "type_conflict", outcome.refused
    assert outcome.refused["column"] == "v", outcome.refused
    assert outcome.refused["reason"].startswith(f"column 'v': {said}"), outcome.refused


def test_integers_within_their_annotations_load(module_lakehouse: Settings) -> None:
    columns = {
        "i8": pa.array([-128, 127, None], pa.int8()),
        "u8": pa.array([0, 255, None], pa.uint8()),
        "i16": pa.array([-32768, 32767, None], pa.int16()),
        "u16": pa.array([0, 65535, None], pa.uint16()),
    }
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2, 3], **columns}), out, store_schema=False)
    outcome = run(module_lakehouse, [("ints_within", "f.parquet", out.getvalue())], rows=False)
    assert outcome["ints_within"].api_status == 202, outcome["ints_within"].api_detail
    assert outcome["ints_within"].refused is None, outcome["ints_within"].refused
    stored = bronze_table(module_lakehouse, "ints_within").sort_by("id")
    for name, values in columns.items():
        assert stored.column(name).to_pylist() == values.to_pylist(), name


NO_STATISTICS = {
    # type, values written, the one changed, to what, the value named, its row group, dictionary
    "int8": (pa.int8(), [90, 91, 92], 90, -1000, "-1000", "row group 1, records 1 to 3", False),
    "int16": (
        pa.int16(),
        [7, 9, 12345],
        12345,
        100000,
        "100000",
        "row group 1, records 1 to 3",
        True,
    ),
    "uint8": (pa.uint8(), [7, 90, 8], 90, -1, "4294967295", "row group 1, records 1 to 3", False),
    "uint16": (
        pa.uint16(),
        [7, 8, 12345],
        12345,
        70000,
        "70000",
        "row group 1, records 1 to 3",
        True,
    ),
}


@pytest.mark.parametrize("case", list(NO_STATISTICS))
def test_an_integer_past_its_annotation_without_statistics_is_refused(
    module_lakehouse: Settings, case: str
) -> None:
    """A chunk whose footer holds no minimum and maximum: its physical integers are read
    (the chunk's pages under a footer without the annotation), so the value written is named
    (before: stored cut down after a 202, -1000 as 24)."""
    t, values, old, new, shown, where, dictionary = NO_STATISTICS[case]
    data = _lying(pa.array(values, t), old, new, statistics=False, dictionary=dictionary)
    assert not pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(1).is_stats_set
    table = f"int_unstated_{case}"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    said = f"it holds {shown} ({where}), past its annotation"
    assert outcome.api_status == 422, outcome.api_detail
    assert said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "202, then the number cut down stored"
    assert outcome.refused["kind"] == "type_conflict", outcome.refused
    assert outcome.refused["column"] == "v", outcome.refused
    assert outcome.refused["reason"].startswith(f"column 'v': {said}"), outcome.refused


@pytest.mark.parametrize("compression", ["none", "snappy", "zstd"])
def test_integers_within_their_annotations_without_statistics_load(
    module_lakehouse: Settings, compression: str
) -> None:
    columns = {
        "i8": pa.array([-128, 127, None] * 50, pa.int8()),
        "u8": pa.array([0, 255, None] * 50, pa.uint8()),
        "i16": pa.array([-32768, 32767, None] * 50, pa.int16()),
        "u16": pa.array([0, 65535, None] * 50, pa.uint16()),
        "nulls": pa.array([None, None, None] * 50, pa.int8()),
    }
    out = io.BytesIO()
    table = pa.table({"id": range(150), **columns})
    pq.write_table(table, out, store_schema=False, write_statistics=False, compression=compression)
    name = f"ints_within_unstated_{compression}"
    outcome = run(module_lakehouse, [(name, "f.parquet", out.getvalue())], rows=False)[name]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    stored = bronze_table(module_lakehouse, name).sort_by("id")
    for column, values in columns.items():
        assert stored.column(column).to_pylist() == values.to_pylist(), column


def _page_only(column: pa.Array, old: int, new: int) -> bytes:
    """A file of ``column`` (statistics written, plain, no compression) whose page's INT32
    ``old`` is changed in place to ``new``, the footer's statistics left saying ``old``."""
    table = pa.table({"id": pa.array(range(len(column)), pa.int64()), "v": column})
    out = io.BytesIO()
    pq.write_table(table, out, compression="none", use_dictionary=False, store_schema=False)
    data = out.getvalue()
    chunk = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(1)
    start = chunk.data_page_offset
    at = data.rindex(struct.pack("<i", old), start, start + chunk.total_compressed_size)
    return data[:at] + struct.pack("<i", new) + data[at + 4 :]


PAGE_ONLY = {
    # type, values written, the one changed in the page alone, to what, the value named
    "int8": (pa.int8(), [90, 91], 91, 1000, "1000"),
    "int16": (pa.int16(), [7, 12345], 12345, 100000, "100000"),
    "uint8": (pa.uint8(), [7, 90], 90, -1, "4294967295"),
}


@pytest.mark.parametrize("case", list(PAGE_ONLY))
def test_an_integer_past_its_annotation_behind_its_statistics_is_refused(
    module_lakehouse: Settings, case: str
) -> None:
    """The footer's statistics lie within the annotation (the writer's own numbers, perhaps
    of the cut-down values), the page holds a value past it: the chunk's physical integers are
    read all the same. *Before:* (session 19, review revc s19 05) a chunk with statistics was
    judged by them alone: API 202, and bronze stored 1000 as -24 (100000 as -31072, 2**32-1
    as 255)."""
    t, values, old, new, shown = PAGE_ONLY[case]
    data = _page_only(pa.array(values, t), old, new)
    stats = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(1).statistics
    assert stats.has_min_max and int(stats.max_raw) == max(values)  # they say nothing past
    assert new not in pq.read_table(io.BytesIO(data)).column("v").to_pylist()  # cut down
    table = f"int_behind_{case}"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    said = f"column 'v': it holds {shown} (row group 1, records 1 to 2), past its annotation"
    assert outcome.api_status == 422, outcome.api_detail
    assert said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "202, then the number cut down stored"
    assert outcome.refused["kind"] == "type_conflict", outcome.refused
    assert outcome.refused["reason"].startswith(said), outcome.refused
