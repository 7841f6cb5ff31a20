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

import base64
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from adversary_support import Outcome, run
from deltalake import DeltaTable, write_deltalake

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
    # valid, but its two 1 GiB map keys exceed what one Arrow array holds, in one read: too
    # large, saying so alike in the API (413) and the loader (was: unparseable, with
    # pyarrow's "Nested data conversions not implemented for chunked array outputs")
    "large_string_map.brotli.parquet": ("refuse", "too_large"),
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


def _written(table: pa.Table, **options: Any) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **options)
    return out.getvalue()


_NS = pa.timestamp("ns")
_FIRST_US = parquet.FIRST_MICROSECOND
_LAST_US = parquet.LAST_MICROSECOND
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
    "struct_fields_one_letter_twice.parquet": (  # one-letter names: the same str object
        pa.table({"s": pa.StructArray.from_arrays([pa.array([1]), pa.array([2])], ["a", "a"])}),
        ("refuse", "invalid_column"),
    ),
    "struct_fields_twice.parquet": (
        pa.table({"s": pa.StructArray.from_arrays([pa.array([1]), pa.array([2])], ["ab", "ab"])}),
        ("refuse", "invalid_column"),
    ),
    # the first and last day and microsecond bronze holds (docs/loading.md, Parquet)
    "date_bounds.parquet": (
        pa.table({"d": pa.array([parquet.FIRST_DAY, parquet.LAST_DAY, None], pa.date32())}),
        ("load", 3),
    ),
    "timestamp_bounds.parquet": (
        pa.table({"t": pa.array([_FIRST_US, _LAST_US], pa.timestamp("us"))}),
        ("load", 2),
    ),
    "timestamp_ms_bounds.parquet": (
        pa.table({"t": pa.array([-(-_FIRST_US // 1000), _LAST_US // 1000], pa.timestamp("ms"))}),
        ("load", 2),
    ),
    # past them: the writer panicked (a date: "NaiveDate + TimeDelta overflowed"; the loader
    # took it for storage trouble, retried forever), the cast to microseconds raised (a
    # timestamp in ms or s past year 294247: the loader crashed), the API having said 202; or
    # an instant past 9999 (deltalake reads such a file statistic as no bound and skipped the
    # whole file for any filter on the column) or before year 1
    "date_past_last_day.parquet": (
        pa.table({"d": pa.array([0, parquet.LAST_DAY + 1], pa.date32())}),
        ("refuse", "type_conflict"),
    ),
    "date_before_first_day.parquet": (
        pa.table({"d": pa.array([parquet.FIRST_DAY - 1], pa.date32())}),
        ("refuse", "type_conflict"),
    ),
    "date_max.parquet": (
        pa.table({"d": pa.array([2**31 - 1], pa.date32())}),
        ("refuse", "type_conflict"),
    ),
    "timestamp_infinity.parquet": (
        pa.table({"t": pa.array([_LAST_US + 1], pa.timestamp("us", tz="UTC"))}),
        ("refuse", "type_conflict"),
    ),
    "timestamp_minus_infinity.parquet": (
        pa.table({"t": pa.array([_FIRST_US - 1], pa.timestamp("us"))}),
        ("refuse", "type_conflict"),
    ),
    "timestamp_ms_past_microseconds.parquet": (
        pa.table({"t": pa.array([10**17], pa.timestamp("ms"))}),
        ("refuse", "type_conflict"),
    ),
    "timestamp_ms_past_last_microsecond.parquet": (
        pa.table({"t": pa.array([_LAST_US // 1000 + 1], pa.timestamp("ms"))}),
        ("refuse", "type_conflict"),
    ),
    "timestamp_s_past_microseconds.parquet": (
        pa.table({"t": pa.array([-(10**14)], pa.timestamp("s"))}),
        ("refuse", "type_conflict"),
    ),
    "timestamp_ms_past_microseconds_nested.parquet": (
        pa.table({"l": pa.array([[], None, [0, 10**17]], pa.list_(pa.timestamp("ms")))}),
        ("refuse", "type_conflict"),
    ),
    "date_past_last_day_in_a_map.parquet": (
        pa.table({"m": pa.array([[(1, 0)], [(2, 2**31 - 1)]], pa.map_(_INT, pa.date32()))}),
        ("refuse", "type_conflict"),
    ),
}

#: edge cases written here with INT96 timestamps (``use_deprecated_int96_timestamps``):
#: year 300000 is beyond microseconds in 64 bits, where pyarrow's INT96 read wraps it (to 1685)
_YEAR_300000_MS = 300_000 * 365 * 86_400 * 1_000
_MS = pa.timestamp("ms")
INT96_WRITTEN: dict[str, tuple[pa.Table, tuple[str, int | str]]] = {
    "int96_in_a_struct.parquet": (
        pa.table({"c": pa.array([{"t": 0}, {"t": _YEAR_300000_MS}], pa.struct([("t", _MS)]))}),
        ("refuse", "type_conflict"),
    ),
    "int96_in_a_list.parquet": (
        pa.table({"c": pa.array([[0], [0, _YEAR_300000_MS]], pa.list_(_MS))}),
        ("refuse", "type_conflict"),
    ),
    # before 4713 BC: a negative Julian day, which Arrow reads unsigned (another instant)
    "int96_before_julian_day_0.parquet": (
        pa.table({"c": pa.array([0, -8_000 * 365 * 86_400 * 1_000], _MS)}),
        ("refuse", "type_conflict"),
    ),
    "int96_nested_kept.parquet": (
        pa.table({"c": pa.array([[253402300799000], None, [-62135596800000]], pa.list_(_MS))}),
        ("load", 3),
    ),
}


#: Files pyarrow cannot write, as bytes: name → (bytes, verdict)
EMBEDDED: dict[str, tuple[bytes, tuple[str, int | str]]] = {
    # DuckDB's data/parquet-testing/empty-group/empty_group_test.parquet (MIT): `id int64,
    # nested struct<inner: struct<>>, optional_data int32`, an empty group pyarrow's batches
    # leave out (the loader paired its plans one off and raised on every pass; the API said
    # 202): refused alike, naming the column
    "empty_group_test.parquet": (
        base64.b64decode(
            "UEFSMRUGFRQVFBWssvXKB0wVAhUAFQIVABUEFQASHBgIAQAAAAAAAAAYCAEAAAAAAAAAFgAoCAEAAAAAAAAAGAgB"
            "AAAAAAAAAAAAAAIBAQAAAAAAAAAVBhUMFQwVmKXy0g5MFQIVABUCFQAVBBUAEhwYBGQAAAAYBGQAAAAWACgEZAAA"
            "ABgEZAAAAAAAAAIBZAAAABkSABkYCAEAAAAAAAAAGRgIAQAAAAAAAAAVABkWACkmAAIAGRIAGRgEZAAAABkYBGQA"
            "AAAVABkWACkmAAIAGRwWCBWkARYAAAAZHBasARV8FgAAABUEGVxIA1JvdxUGABUEFYABFQIYAmlkJSRMrBNAEQAA"
            "ADUCGAZuZXN0ZWQVAgA1AhgFaW5uZXIVAAAVAhVAFQIYDW9wdGlvbmFsX2RhdGElIkysEyARAAAAFgIZHBksJgAc"
            "FQQZJQAGGRgCaWQVABYCFqQBFqQBJgg8NgAoCAEAAAAAAAAAGAgBAAAAAAAAAAAZHBUGFQAVAgA8OSYAAgAAFqQD"
            "FRYWqAIVRgAmABwVAhklAAYZGA1vcHRpb25hbF9kYXRhFQAWAhZ8FnwmrAE8NgAoBGQAAAAYBGQAAAAAGRwVBhUA"
            "FQIAPDkmAAIAABa6AxUWFu4CFTYAFqACFgIZDBYIFqACABkMGENnaXRodWIuY29tL3BhcnF1ZXQtZ28vcGFycXVl"
            "dC1nbyB2ZXJzaW9uIDAuMjYuMihidWlsZCA4OGYyYTdmMGNlMTcpGSwcAAAcAAAAWAEAAFBBUjE="
        ),
        ("refuse", "invalid_column"),
    ),
}


def _inputs() -> list[tuple[str, bytes, tuple[str, int | str]]]:
    files = [(name, (DATA / name).read_bytes(), verdict) for name, verdict in CORPUS.items()]
    files += [(name, data, verdict) for name, (data, verdict) in EMBEDDED.items()]
    files += [(name, _written(t), verdict) for name, (t, verdict) in WRITTEN.items()]
    files += [
        (name, _written(t, use_deprecated_int96_timestamps=True), verdict)
        for name, (t, verdict) in INT96_WRITTEN.items()
    ]
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
    if pa.types.is_list(source.type) and source.type != stored.type:  # e.g. naive → UTC inside
        return bool(source.cast(stored.type).to_pylist() == stored.to_pylist())
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


def test_the_calendar_agrees_with_python_where_python_has_it() -> None:
    """``lakehouse.parquet``'s day arithmetic (any year) against ``datetime`` (years 1-9999),
    and its inverse beyond that, to the first and last day bronze holds."""
    epoch = dt.date(1970, 1, 1)
    for day in [*range(-719_162, 2_932_897, 997), -719_162, 2_932_896]:
        date = epoch + dt.timedelta(days=day)
        assert parquet.days_from_civil(date.year, date.month, date.day) == day
        assert parquet._civil(day) == (date.year, date.month, date.day)
    for day in [-(10**8), -1_000_000, -719_163, 2_932_897, 10**6, 10**8]:
        assert parquet.days_from_civil(*parquet._civil(day)) == day
    assert parquet._civil(parquet.FIRST_DAY) == (1, 1, 1)
    assert parquet._civil(parquet.LAST_DAY) == (9_999, 12, 31)


def test_a_date_or_timestamp_past_the_range_is_named_by_both(
    outcomes: dict[str, Outcome],
) -> None:
    """10**17 ms is 1157407407 days and 09:46:40 after 1970, in the 3rd record's list: the
    loader names the record, the column and the value; the API's 422 the same."""
    outcome = outcomes["timestamp_ms_past_microseconds_nested.parquet"]
    assert outcome.refused is not None
    value = outcome.refused["value"]
    year, month, day = (int(part) for part in value.split("T")[0].split("-"))
    assert parquet.days_from_civil(year, month, day) == 1_157_407_407
    assert value.endswith("T09:46:40.000")
    assert outcome.refused["column"] == "l"
    assert outcome.refused["reason"].startswith(f"record 3, column 'l': a timestamp, {value}, ")
    assert (
        "(0001-01-01T00:00:00.000000Z to 9999-12-31T23:59:59.999999Z" in outcome.refused["reason"]
    )
    error = outcome.api_detail[0]
    assert (error["row"], error["field"]) == (2, "l")
    assert value in error["msg"]
    date = outcomes["date_past_last_day.parquet"]
    assert date.refused is not None and date.refused["value"] == "10000-01-01"
    assert date.refused["reason"] == (
        "record 2, column 'd': a date, 10000-01-01, is beyond those bronze holds (0001-01-01 "
        "to 9999-12-31: deltalake reads a file's date statistics as Python dates)"
    )
    assert date.api_detail[0]["row"] == 1 and "10000-01-01" in date.api_detail[0]["msg"]


@pytest.mark.parametrize("name", ["int96_in_a_struct.parquet", "int96_in_a_list.parquet"])
def test_int96_past_the_microsecond_range_inside_a_column_is_named(
    outcomes: dict[str, Outcome], name: str
) -> None:
    """An INT96 value of year 300000 in a struct or a list, in the 2nd record (it was loaded
    as an instant of 1685, the API saying 202)."""
    outcome = outcomes[name]
    assert outcome.refused is not None
    assert outcome.refused["reason"].startswith("record 2, column 'c': an INT96 timestamp, 3")
    assert outcome.api_detail[0]["row"] == 1 and outcome.api_detail[0]["field"] == "c"


def test_struct_fields_of_one_name_are_said_to_be_so(outcomes: dict[str, Outcome]) -> None:
    """Not "equal but for case": the same name twice (Delta: duplicate field)."""
    for name, field in [
        ("struct_fields_one_letter_twice.parquet", "a"),
        ("struct_fields_twice.parquet", "ab"),
    ]:
        message = outcomes[name].api_detail[0]["msg"]
        assert message == f"column 's' holds two fields named {field!r}", message
    message = outcomes["struct_fields_by_case.parquet"].api_detail[0]["msg"]
    assert "'x' and 'X', equal but for case" in message, message


def test_an_empty_group_is_named_alike(outcomes: dict[str, Outcome]) -> None:
    """A struct with no fields: the API's 422 and the loader's quarantine name the column."""
    outcome = outcomes["empty_group_test.parquet"]
    assert outcome.refused is not None and outcome.refused["column"] == "nested"
    assert "struct with no fields" in outcome.refused["reason"], outcome.refused
    assert outcome.api_status == 422 and outcome.api_detail[0]["field"] == "nested"
    assert outcome.api_detail[0]["msg"] == outcome.refused["reason"]


def test_the_record_of_a_nested_value_is_found_in_a_sliced_batch() -> None:
    """Lists in a struct, the batch a slice (its arrays start past their buffers' start): the
    value past the last day is in the 3rd record of the slice."""
    rows = [[[1]], None, [], [[2], None, [3, parquet.LAST_DAY + 1]], [[4]]]
    lists = pa.array(rows, pa.list_(pa.list_(pa.date32())))
    batch = pa.record_batch({"s": pa.StructArray.from_arrays([lists], ["l"])}).slice(1)
    found = parquet.Values(batch.schema).refusal(batch)
    assert found is not None
    assert (found.column, found.row, found.value) == ("s", 2, "10000-01-01")
    assert parquet.Values(batch.schema).refusal(batch.slice(0, 2)) is None


@pytest.mark.parametrize("day", [parquet.FIRST_DAY - 1, parquet.LAST_DAY + 1])
def test_a_date_refused_is_one_a_bronze_table_cannot_be_read_with(tmp_path: Path, day: int) -> None:
    """Past 0001-01-01 to 9999-12-31 delta-rs writes a date, but deltalake's reader (dbt's
    read of bronze) then fails on the table: it parses the file's statistics as Python
    dates. The first and last day load and read back: ``date_bounds.parquet`` above."""
    table = pa.table({"d": pa.array([day], pa.date32())})
    write_deltalake(str(tmp_path), table)
    with pytest.raises(ValueError, match=r"out of range|Invalid isoformat"):
        arrow_dataset(DeltaTable(str(tmp_path))).to_table()


def test_the_days_delta_rs_writes() -> None:
    """The dates delta-rs's writer takes: wider than those bronze holds (its reader's)."""
    assert parquet.FIRST_DAY > parquet.days_from_civil(-262_143, 1, 1)
    assert parquet.LAST_DAY < parquet.days_from_civil(262_142, 12, 31)


def test_a_page_bomb_is_named_alike(outcomes: dict[str, Outcome]) -> None:
    """4 KB whose footer counts 2 GiB of pages: refused before a page is read, by the
    inflation bounds of a gzip body, in the same words (session 14; before, the batch that
    could not be read was named, once 2 GiB had been asked of the allocator)."""
    outcome = outcomes["large_string_map.brotli.parquet"]
    assert outcome.refused is not None
    reason = outcome.refused["reason"]
    assert reason.startswith("the file's pages inflate more than 250 times the file's size")
    assert "(max_inflate_ratio): its footer counts 2147483827 bytes uncompressed" in reason
    assert (outcome.api_status, outcome.api_detail) == (413, reason)
