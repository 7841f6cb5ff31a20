"""The landing dialect for Parquet: how the ingest API and the loader open a Parquet file, and
what in it they both refuse beyond the column-name rule of ``lakehouse.dialect``
(``docs/loading.md``, Parquet).

- **INT96 timestamps** (Spark, Impala, Hive) are read in microseconds, Spark's own unit: read in
  nanoseconds (pyarrow's default) a date past 2262-04-11 wraps around without a word
  (9999-12-31 is read as 1816-03-29).
  An INT96 value beyond what microseconds since 1970 hold in 64 bits (about year 294247 either
  way) refuses the file (:func:`int96_beyond_range`): pyarrow wraps it without a word.
- **A nanosecond timestamp that is not a whole microsecond** refuses the file: bronze stores
  microseconds (Delta's unit), and dropping the nanoseconds would change the value.
- **Struct fields** (at any depth) whose names are equal but for case refuse the file, as
  columns do: Delta compares names without case (the loader meets it as Delta's refusal of the
  schema; the API checks it first, by :func:`nested_name_problem`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: The unit INT96 timestamps are read in (see the module's docstring).
INT96_UNIT = "us"


def open_file(source: Any, **options: Any) -> pq.ParquetFile:
    """A Parquet file as the landing dialect reads it (INT96 in microseconds)."""
    return pq.ParquetFile(source, coerce_int96_timestamp_unit=INT96_UNIT, **options)


def _children(t: pa.DataType) -> list[tuple[str, pa.DataType]]:
    if isinstance(t, pa.ExtensionType):
        return [("", t.storage_type)]
    if pa.types.is_dictionary(t):
        return [("", t.value_type)]
    if pa.types.is_map(t):
        return [("key", t.key_type), ("value", t.item_type)]
    return [(t.field(i).name, t.field(i).type) for i in range(getattr(t, "num_fields", 0))]


def nested_name_problem(schema: pa.Schema) -> tuple[str, str] | None:
    """(column, reason) for the first struct whose field names are equal but for case."""

    def walk(t: pa.DataType, path: str) -> str | None:
        if pa.types.is_struct(t):
            seen: dict[str, str] = {}
            for i in range(t.num_fields):
                name = t.field(i).name
                other = seen.setdefault(name.lower(), name)
                if other is not name:
                    return (
                        f"column {path!r} holds the fields {other!r} and {name!r}, equal but "
                        "for case (field names are case-insensitive in Delta)"
                    )
        for _, child in _children(t):
            found = walk(child, path)
            if found is not None:
                return found
        return None

    for f in schema:
        reason = walk(f.type, f.name)
        if reason is not None:
            return f.name, reason
    return None


def _holds_nanoseconds(t: pa.DataType) -> bool:
    if pa.types.is_timestamp(t) and t.unit == "ns":
        return True
    return any(_holds_nanoseconds(child) for _, child in _children(t))


def nanosecond_columns(schema: pa.Schema) -> list[int]:
    """Indexes of the columns holding nanosecond timestamps (at any depth)."""
    return [i for i, f in enumerate(schema) if _holds_nanoseconds(f.type)]


def _leaves(values: pa.Array) -> Iterator[pa.Array]:
    """The nanosecond timestamp arrays in ``values`` (its nested arrays flattened)."""
    t = values.type
    if pa.types.is_timestamp(t):
        if t.unit == "ns":
            yield values
    elif isinstance(values, pa.ExtensionArray):
        yield from _leaves(values.storage)
    elif isinstance(values, pa.DictionaryArray):
        yield from _leaves(values.dictionary)
    elif isinstance(values, pa.MapArray):
        yield from _leaves(values.keys)
        yield from _leaves(values.items)
    elif isinstance(values, pa.StructArray):
        for child in values.flatten():
            yield from _leaves(child)
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        yield from _leaves(values.flatten())


@dataclass(frozen=True)
class LostNanoseconds:
    column: str
    row: int | None  # the row in the batch (None: inside a nested value)
    value: str

    @property
    def reason(self) -> str:
        return (
            f"column {self.column!r}: the timestamp {self.value} has nanoseconds; "
            "bronze stores microseconds (Delta's unit), so it would lose them"
        )


def _text(nanoseconds: int) -> str:
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    return f"{dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds):%Y-%m-%dT%H:%M:%S}.{rest:09d}"


def lost_nanoseconds(batch: pa.RecordBatch, columns: list[int]) -> LostNanoseconds | None:
    """The first nanosecond timestamp of ``columns`` (from :func:`nanosecond_columns`) that is
    no whole microsecond, or None."""
    for i in columns:
        column = batch.column(i)
        top = pa.types.is_timestamp(column.type)
        for leaf in _leaves(column):
            ints = leaf.cast(pa.int64())
            off = pc.not_equal(pc.multiply(pc.divide(ints, 1000), 1000), ints)
            at = pc.index(off, True).as_py()
            if at >= 0:
                return LostNanoseconds(
                    batch.schema.field(i).name, at if top else None, _text(ints[at].as_py())
                )
    return None


@dataclass(frozen=True)
class BeyondRange:
    column: str
    row: int

    @property
    def reason(self) -> str:
        return (
            f"record {self.row + 1}, column {self.column!r}: an INT96 timestamp beyond the "
            "microseconds Delta holds (about year 294247 either way)"
        )


def int96_beyond_range(source: Any) -> BeyondRange | None:
    """The first INT96 timestamp of a top-level column that microseconds cannot hold, or None.

    Read in microseconds such a value wraps around; read in milliseconds (which hold every
    INT96 day) it does not: a value whose two readings disagree is beyond the range. Reads the
    INT96 columns twice more, one row group at a time (legacy files only pay)."""
    micro = open_file(source)
    schema = micro.schema
    names = [
        schema.column(i).name
        for i in range(len(schema))
        if schema.column(i).physical_type == "INT96"
        and schema.column(i).path == schema.column(i).name
    ]
    if not names:
        return None
    milli = pq.ParquetFile(source, coerce_int96_timestamp_unit="ms")
    offset = 0
    for group in range(micro.num_row_groups):
        us = micro.read_row_group(group, columns=names)
        ms = milli.read_row_group(group, columns=names)
        for name in names:
            pairs = zip(
                us.column(name).cast(pa.int64()).to_pylist(),
                ms.column(name).cast(pa.int64()).to_pylist(),
                strict=True,
            )
            for row, (u, m) in enumerate(pairs):
                if u is not None and u // 1000 != m:
                    return BeyondRange(name, offset + row)
        offset += us.num_rows
    return None
