"""Parquet files from apache/parquet-testing (tests/data/parquet-testing, see tests/data/README.md)
and Parquet edge cases written here, through the real API (``/files``) and the real loader, in
one pass.

A file the rule loads: bronze holds every row, each value as pyarrow reads it from the file
(INT96 in microseconds, ``lakehouse.parquet``) after the documented normalisations of
``docs/loading.md`` (Parquet: naive timestamps as UTC microseconds, unsigned integers widened,
``float16`` as ``float``, dictionaries decoded, ``time``/``interval`` as text), and the API
answered 202. A file the rule refuses: the loader quarantines it with the expected kind (never a
crash of the loader) and the API answers a 4xx saying why.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from adversary_support import Outcome, run
from deltalake import DeltaTable

from lakehouse import Settings, parquet
from lakehouse.layout import table_path
from lakehouse.storage import arrow_dataset

DATA = Path(__file__).resolve().parents[1] / "data" / "parquet-testing"

#: file → ("load", rows) or ("refuse", quarantine kind); the why in a comment
CORPUS: dict[str, tuple[str, int | str]] = {
    # pages that do not decode: quarantined as unparseable (the loader crashed on these)
    "bad_data__ARROW-GH-45185.parquet": ("refuse", "unparseable"),
    "bad_data__ARROW-GH-47662.parquet": ("refuse", "unparseable"),
    "bad_data__ARROW-RS-GH-6229-DICTHEADER.parquet": ("refuse", "unparseable"),
    "bad_data__ARROW-RS-GH-6229-LEVELS.parquet": ("refuse", "unparseable"),
    "bad_data__PARQUET-1481.parquet": ("refuse", "unparseable"),
    "incorrect_map_schema.parquet": ("refuse", "unparseable"),
    # valid, but its strings exceed what one Arrow batch holds: pyarrow cannot read it
    "large_string_map.brotli.parquet": ("refuse", "unparseable"),
    # a bad page index only: the data decodes
    "bad_data__ARROW-GH-43605.parquet": ("load", 21186),
    # no rows: the API said 202, the loader quarantined it as empty
    "column_chunk_key_value_metadata.parquet": ("refuse", "empty"),
    # INT96 (Impala): as nanoseconds pyarrow wraps dates past 2262
    "alltypes_plain.parquet": ("load", 8),
    "alltypes_dictionary.parquet": ("load", 2),
    "byte_array_decimal.parquet": ("load", 24),
    "fixed_length_decimal.parquet": ("load", 24),
    "fixed_length_decimal_legacy.parquet": ("load", 24),
    "int32_decimal.parquet": ("load", 24),
    "int64_decimal.parquet": ("load", 24),
    "nested_lists.snappy.parquet": ("load", 3),
    "nested_maps.snappy.parquet": ("load", 6),
    "nulls.snappy.parquet": ("load", 8),
    "null_list.parquet": ("load", 1),
    "map_no_value.parquet": ("load", 3),
    "float16_nonzeros_and_nans.parquet": ("load", 8),
    "float16_zeros_and_nans.parquet": ("load", 3),
    "single_nan.parquet": ("load", 1),
    "nan_in_stats.parquet": ("load", 2),
    "rle_boolean_encoding.parquet": ("load", 68),
    "byte_stream_split.zstd.parquet": ("load", 300),
    "datapage_v2.snappy.parquet": ("load", 5),
    "datapage_v2_empty_datapage.snappy.parquet": ("load", 1),
    "old_list_structure.parquet": ("load", 1),
    "repeated_no_annotation.parquet": ("load", 6),
    "repeated_primitive_no_list.parquet": ("load", 4),
    "nullable.impala.parquet": ("load", 7),
    "nonnullable.impala.parquet": ("load", 1),
    "list_columns.parquet": ("load", 3),
    "binary.parquet": ("load", 12),
    "unknown-logical-type.parquet": ("load", 3),
    "dict-page-offset-zero.parquet": ("load", 39),
    "rle-dict-snappy-checksum.parquet": ("load", 1000),
    "geospatial__geospatial-with-nan.parquet": ("load", 3),
}

# Spark's INT96 timestamps (apache/parquet-testing data/int96_from_spark.md): read in
# microseconds they keep 9999-12-31 (in nanoseconds it wrapped to 1816-03-29); its last value,
# year 290000, is beyond microseconds in 64 bits (pyarrow wrapped it without a word): refused
CORPUS["int96_from_spark.parquet"] = ("refuse", "type_conflict")


def _written(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


_NS = pa.timestamp("ns")
_INT = pa.int64()
_PAIRS = pa.struct([("x", _INT), ("X", _INT)])

#: edge cases written here: name → (table, verdict)
WRITTEN: dict[str, tuple[pa.Table, tuple[str, int | str]]] = {
    "ns_whole_microseconds.parquet": (
        pa.table({"t": pa.array([1_000_000_000, None, -2_000], _NS)}),
        ("load", 3),
    ),
    "ns_lost.parquet": (
        pa.table({"t": pa.array([1_000_000_000, 1_000_000_001], _NS)}),
        ("refuse", "type_conflict"),
    ),
    "ns_lost_negative.parquet": (
        pa.table({"t": pa.array([-1_001], _NS)}),
        ("refuse", "type_conflict"),
    ),
    "ns_lost_nested.parquet": (
        pa.table({"s": pa.array([{"t": 5}], pa.struct([("t", _NS)]))}),
        ("refuse", "type_conflict"),
    ),
    "ns_tz_whole.parquet": (
        pa.table({"t": pa.array([1_000_000_001_000], pa.timestamp("ns", tz="+05:30"))}),
        ("load", 1),
    ),
    "struct_fields_by_case.parquet": (
        pa.table({"s": pa.array([{"x": 1, "X": 2}], _PAIRS)}),
        ("refuse", "invalid_column"),
    ),
    "list_of_struct_fields_by_case.parquet": (
        pa.table({"l": pa.array([[{"x": 1, "X": 2}]], pa.list_(_PAIRS))}),
        ("refuse", "invalid_column"),
    ),
    "no_rows.parquet": (pa.table({"i": pa.array([], _INT)}), ("refuse", "empty")),
    "no_columns.parquet": (pa.table({}), ("refuse", "empty")),
    "uint64_max.parquet": (pa.table({"u": pa.array([2**64 - 1, 0], pa.uint64())}), ("load", 2)),
    "struct_field_names_kept.parquet": (
        pa.table({"s": pa.array([{" a": 1, "": 2}], pa.struct([(" a", _INT), ("", _INT)]))}),
        ("load", 1),
    ),
    "timestamp_far.parquet": (
        pa.table({"t": pa.array([253402300799, -62135596800], pa.timestamp("s"))}),
        ("load", 2),
    ),
}


def _inputs() -> list[tuple[str, bytes, tuple[str, int | str]]]:
    files = [(name, (DATA / name).read_bytes(), verdict) for name, verdict in CORPUS.items()]
    files += [(name, _written(t), verdict) for name, (t, verdict) in WRITTEN.items()]
    return files


INPUTS = _inputs()
IDS = [name for name, _, _ in INPUTS]


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> dict[str, Outcome]:
    by_table = run(
        module_lakehouse,
        [(f"p{i}", name, data) for i, (name, data, _) in enumerate(INPUTS)],
        rows=False,
    )
    return {name: by_table[f"p{i}"] for i, (name, _, _) in enumerate(INPUTS)}


def _bronze(settings: Settings, outcome: Outcome) -> pa.Table:
    # read as Arrow, never as Python objects: dates past year 9999 are valid here
    return arrow_dataset(DeltaTable(str(table_path(settings, "bronze", outcome.table)))).to_table()


def _comparable(values: pa.ChunkedArray) -> list[Any]:
    """Values to compare: scalars through their text where Python cannot hold them."""
    t = values.type
    if pa.types.is_timestamp(t):
        ints = values.cast(pa.timestamp(t.unit, tz=t.tz)).cast(pa.int64())
        factor = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0}[t.unit]
        if factor:
            return [None if v is None else v * factor for v in ints.to_pylist()]
        return [None if v is None else v // 1000 for v in ints.to_pylist()]
    if pa.types.is_floating(t):
        return [None if v is None else repr(float(v)) for v in values.to_pylist()]
    if pa.types.is_date(t):
        return pc.cast(values.cast(pa.date32()), pa.int32()).to_pylist()
    if pa.types.is_time(t):
        return pc.cast(values, pa.string()).to_pylist()
    if pa.types.is_dictionary(t):
        return _comparable(values.cast(t.value_type))
    return values.to_pylist()


def _same(source: pa.ChunkedArray, stored: pa.ChunkedArray) -> bool:
    if pa.types.is_time(source.type) or pa.types.is_interval(source.type):
        return pc.cast(source, pa.string()).to_pylist() == stored.to_pylist()
    if pa.types.is_unsigned_integer(source.type) or pa.types.is_decimal(stored.type):
        return [None if v is None else int(v) for v in source.to_pylist()] == [
            None if v is None else int(v) for v in stored.to_pylist()
        ] or source.to_pylist() == stored.to_pylist()
    return bool(_comparable(source) == _comparable(stored))


@pytest.mark.parametrize("name", IDS)
def test_the_loader_keeps_it_exactly_or_refuses_it(
    outcomes: dict[str, Outcome], module_lakehouse: Settings, name: str
) -> None:
    outcome = outcomes[name]
    verdict, detail = next(v for n, _, v in INPUTS if n == name)
    if verdict == "refuse":
        assert outcome.refused is not None, "loaded, but the rule refuses it"
        assert outcome.refused["kind"] == detail, outcome.refused
        return
    assert outcome.refused is None, f"quarantined: {outcome.refused}"
    stored = _bronze(module_lakehouse, outcome)
    source = parquet.open_file(io.BytesIO(outcome.data)).read()
    assert stored.num_rows == source.num_rows == detail
    for column in source.column_names:
        assert column in stored.column_names, f"column {column!r} not kept by name"
        assert _same(source.column(column), stored.column(column)), column


@pytest.mark.parametrize("name", IDS)
def test_the_api_takes_it_or_says_why_not(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    verdict = next(v for n, _, v in INPUTS if n == name)[0]
    if verdict == "load":
        assert outcome.api_status == 202, outcome.api_detail
    else:
        assert 400 <= outcome.api_status < 500, outcome.api_status
        assert outcome.api_detail, "a 4xx must say why"


def test_int96_is_read_in_microseconds() -> None:
    """Spark's 9999-12-31T03:00:00Z stays that date (in nanoseconds it is 1816-03-29)."""
    values = parquet.open_file(DATA / "int96_from_spark.parquet").read().column("a")
    third = values.cast(pa.int64())[2].as_py()
    assert third == 253402225200000000
    assert dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=third) == dt.datetime(
        9999, 12, 31, 3
    )


def test_int96_past_the_microsecond_range_is_named(outcomes: dict[str, Outcome]) -> None:
    """Spark wrote year 290000 (9089380393200000000 µs, data/int96_from_spark.md) in row 6."""
    outcome = outcomes["int96_from_spark.parquet"]
    assert outcome.refused is not None
    assert outcome.refused["column"] == "a"
    assert outcome.refused["reason"].startswith("record 6, column 'a': an INT96 timestamp")
    assert outcome.api_detail[0]["row"] == 5
