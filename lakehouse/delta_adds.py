"""Delta add actions for Parquet files written beside delta-rs, with their statistics.

A Delta table can take files it did not write: the writer puts a Parquet file in the table's
folder and commits an *add action* naming it (``DeltaTable.create_write_transaction``). What
an add action needs beside the file is its statistics (``numRecords``, ``minValues``,
``maxValues``, ``nullCount``), which readers use to skip files: a bound that is not a bound
makes a reader skip rows that match, a silent loss. They are read from the file's Parquet
footer and written only where they are exact or safely widened:

* numbers, booleans, dates: as stored;
* timestamps: to the millisecond, the minimum rounded down and the maximum up (the Delta
  protocol's precision; a bound never excludes a stored value). A maximum in the last
  millisecond of 9999 (``9999-12-31 23:59:59.999999``, an "end of time") has no millisecond
  above it and is cut to ``23:59:59.999``, as delta-rs writes every maximum: Delta readers
  (Spark, delta-rs) widen a timestamp maximum by a millisecond for that reason; the year is
  printed with four digits (``0001-01-01``: deltalake reads ``1-01-01`` as no bound);
* strings: the footer's bounds (a writer may shorten a long one, the minimum to a prefix and
  the maximum to a greater string: still bounds), shortened so to 64 characters;
* decimals: up to 15 digits (what a JSON number holds exactly for any reader), or up to 18
  of scale 0 as integers (as delta-rs writes them; wider ones are left out of the table's
  statistics columns, :mod:`lakehouse.delta_stats`);
* a row group with no value (all null) adds nothing to the bounds of the others;
* floats: none (:func:`lakehouse.delta_stats.inexact`: a float column is left out of every
  table's statistics, since delta-rs's own writes leave NaN out of its bounds; DuckDB's
  footers, which hold no bounds for a column chunk with a NaN, would be right, but readers
  take a table's statistics columns from its ``delta.dataSkippingStatsColumns``);
* anything else (binary, nested, NaN bounds): no min/max for that column.

A column the table keeps statistics for should not miss them in a file: deltalake's Arrow
dataset (``to_pyarrow_dataset``, and DuckDB scanning it) compares the column with a null
bound and skips the file for any filter on it. Hence long strings and 16 to 18 digit integers
get bounds here, and a column the footer holds no bounds for although it holds a value (DuckDB
writes none for a long text whose maximum would be cut inside a multi-byte character) gets
them from the file's own values (:func:`add_action` reads that column back). Still missing
them (known): nested columns (a filter on a whole struct; one on a field is not affected).

The table's own choice of columns is kept when it names them (:func:`stats_columns`:
``delta.dataSkippingStatsColumns``); else every column is bounded, whatever
``delta.dataSkippingNumIndexedCols`` says (readers count its columns differently).

Used by ``transform.delta_files`` (DuckDB's files of a publish) and ``loader.bronze``
(pyarrow's files of a bronze append).
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties
from deltalake.transaction import AddAction

from lakehouse.catalog import ADDED_KEY
from lakehouse.delta_stats import STATS_COLUMNS, inexact, listed

__all__ = ["add_action", "file_stats", "local_folder", "stats_columns", "with_metrics"]

#: The Delta table property: statistics for the first this many leaf columns (default 32).
_MS = timedelta(milliseconds=1)
#: A string bound's most characters (longer ones are shortened, still bounds)
STRING_BOUND = 64
#: the last millisecond a maximum can be rounded up to
_LAST_MS = datetime.max.replace(microsecond=999_000)


def local_folder(location: str, storage_options: dict[str, str] | None) -> Path | None:
    """The table's folder when it is on this machine's file system, else ``None``."""
    if storage_options:
        return None
    if location.startswith("file://"):
        location = location[len("file://") :]
    if "://" in location:
        return None
    return Path(location)


def stats_columns(configuration: Mapping[str, str | None]) -> set[str] | None:
    """The top-level columns the table keeps statistics for; ``None``: every column.

    ``delta.dataSkippingStatsColumns`` names them; else every column is bounded. A reader
    skips a file for a filter on a column it expects bounds for and finds none, and readers
    count ``delta.dataSkippingNumIndexedCols`` differently (deltalake counts a list or a map
    as one column, a struct as its fields): a bound more than a reader looks at is harmless,
    one fewer hides the file.
    """
    named = configuration.get(STATS_COLUMNS)
    if named is not None:
        return listed(named)
    return None


def add_action(
    folder: Path,
    path: Path,
    schema: pa.Schema,
    *,
    columns: Collection[str] | None = None,
    rows: pa.Table | None = None,
) -> AddAction:
    """The add action of ``path`` (a Parquet file inside ``folder``) with its statistics
    (:func:`file_stats`)."""
    meta = pq.read_metadata(path)
    stat = path.stat()
    stats = file_stats(meta, schema, columns=columns, rows=rows)
    missing = [] if rows is not None else _unbounded(stats, schema, columns)
    if missing:  # the writer left bounds out (a long text): the file's own values give them
        found = pq.read_table(path, columns=missing)
        stats = file_stats(meta, schema, columns=columns, rows=found)
    return AddAction(
        path=os.path.relpath(path, folder),
        size=stat.st_size,
        partition_values={},
        modification_time=int(stat.st_mtime * 1000),
        data_change=True,
        # raw UTF-8, as delta-rs writes: deltalake decodes an escaped surrogate pair of
        # planes 2, 4, 8 and 16 0x10000 too low (U+20BB7 read as U+10BB7), a max below the max
        stats=_stats_json(stats),
    )


def with_metrics(commit: CommitProperties, actions: Sequence[AddAction]) -> CommitProperties:
    """``commit`` saying what it adds (``lakehouse.catalog.ADDED_KEY``: rows, files, bytes),
    as delta-rs's own writes say in ``operationMetrics``, which a commit of add actions has
    none of (``lakehouse.catalog.table_history`` shows it there). Used by the loader's own
    files and the publish's appends."""
    rows = sum(json.loads(a.stats or "{}").get("numRecords") or 0 for a in actions)
    added = {
        "num_added_rows": rows,
        "num_added_files": len(actions),
        "num_added_bytes": sum(a.size for a in actions),
    }
    metadata = {**(commit.custom_metadata or {}), ADDED_KEY: json.dumps(added)}
    return CommitProperties(
        max_commit_retries=commit.max_commit_retries,
        app_transactions=commit.app_transactions,
        custom_metadata=metadata,
    )


def _stats_json(stats: Mapping[str, Any]) -> str:
    """``stats`` as the add action's JSON: raw UTF-8, as delta-rs writes (deltalake decodes an
    escaped surrogate pair of planes 2, 4, 8 and 16 0x10000 too low: U+20BB7 read as U+10BB7,
    a maximum below the maximum), decimals as positional numbers (``0.000010``, never
    ``1e-05``, which deltalake reads as no bound)."""
    nonce = uuid.uuid4().hex
    exact: dict[str, str] = {}

    def decimal(value: object) -> str:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise TypeError(f"no JSON for a statistic {value!r}")
        mark = f"{nonce}{len(exact)}"
        exact[f'"{mark}"'] = format(value, "f")
        return mark

    text = json.dumps(stats, separators=(",", ":"), ensure_ascii=False, default=decimal)
    for mark, number in exact.items():
        text = text.replace(mark, number, 1)
    return text


def file_stats(
    meta: pq.FileMetaData,
    schema: pa.Schema,
    *,
    columns: Collection[str] | None = None,
    rows: pa.Table | None = None,
) -> dict[str, Any]:
    """Delta statistics of one Parquet file from its footer (see the module's rules).

    ``schema``: the table's (as Delta reads it); ``columns``: only these get statistics
    (``None``: all); ``rows``: the file's rows, whose own minimum and maximum give a column's
    bounds where the footer has none but the column holds a value (a writer leaves out a
    bound longer than it keeps, e.g. a text over 4 KiB: deltalake's Arrow dataset would skip
    the file for any filter on that column).
    """
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    top = {f.name: f for f in schema}
    nested = [f.name + "." for f in schema if pa.types.is_nested(f.type)]
    for i in range(meta.num_columns):
        name = meta.schema.column(i).path
        field = top.get(name)
        if field is None or pa.types.is_nested(field.type):
            continue  # a nested leaf (struct, list): no statistics
        if any(name.startswith(prefix) for prefix in nested):
            continue  # "a.b" could be a leaf of struct "a" as well: say nothing
        if columns is not None and name not in columns:
            continue
        groups = [meta.row_group(g).column(i).statistics for g in range(meta.num_row_groups)]
        if groups and all(s is not None and s.has_null_count for s in groups):
            nulls[name] = sum(int(s.null_count) for s in groups)
        bounds = None if inexact(field.type) else _bounds(groups, field.type)
        if bounds is None and rows is not None and not inexact(field.type):
            bounds = _computed(rows, name, field.type)
        if bounds is not None:
            mins[name], maxs[name] = bounds
    stats: dict[str, Any] = {"numRecords": meta.num_rows, "minValues": mins, "maxValues": maxs}
    stats["nullCount"] = nulls
    return stats


def _unbounded(
    stats: Mapping[str, Any], schema: pa.Schema, columns: Collection[str] | None
) -> list[str]:
    """The columns :func:`_json_bounds` could bound that hold a value but got no bounds."""
    nulls = stats["nullCount"]
    return [
        f.name
        for f in schema
        if (columns is None or f.name in columns)
        and f.name not in stats["minValues"]
        and nulls.get(f.name, 0) < stats["numRecords"]
        and _boundable(f.type)
    ]


def _boundable(kind: pa.DataType) -> bool:
    if pa.types.is_decimal(kind):
        return bool(kind.precision <= 15 or (kind.scale == 0 and kind.precision <= 18))
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_date32(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or _is_view(kind)
    )


def _computed(rows: pa.Table, name: str, kind: pa.DataType) -> tuple[Any, Any] | None:
    """(min, max) of a column's values as Delta JSON values (:func:`_json_bounds`)."""
    if name not in rows.column_names or rows.column(name).null_count == rows.num_rows:
        return None
    try:
        found = pc.min_max(rows.column(name)).as_py()
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, TypeError, ValueError, OverflowError):
        return None
    if found["min"] is None or found["max"] is None:
        return None
    try:
        return _json_bounds(found["min"], found["max"], kind)
    except (TypeError, ValueError, OverflowError):
        return None


def _bounds(groups: Sequence[Any], kind: pa.DataType) -> tuple[Any, Any] | None:
    """(min, max) over the row groups as Delta JSON values, or ``None`` when not safe."""
    present = [s for s in groups if s is not None and s.has_min_max]
    nulls = [s for s in groups if s is not None and s.has_null_count and s.num_values == 0]
    if not present or len(present) + len(nulls) != len(groups):
        return None  # a group with values but no min/max (not written): say nothing
    try:
        low, high = min(s.min for s in present), max(s.max for s in present)
    except (TypeError, ValueError, UnicodeDecodeError, OverflowError):
        return None  # bounds Python cannot hold (a timestamp past 9999) or of another type
    try:
        return _json_bounds(low, high, kind)
    except (TypeError, ValueError, OverflowError):
        return None


def _json_bounds(low: Any, high: Any, kind: pa.DataType) -> tuple[Any, Any] | None:
    if type(low) is not type(high):
        return None
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return (low, high) if isinstance(low, int) else None
    if pa.types.is_floating(kind):
        finite = isinstance(low, float) and math.isfinite(low) and math.isfinite(high)
        return (low, high) if finite else None
    if pa.types.is_date32(kind) and isinstance(low, date):
        return low.isoformat(), high.isoformat()
    if pa.types.is_timestamp(kind) and isinstance(low, datetime):
        return _timestamp(low, kind, up=False), _timestamp(high, kind, up=True)
    if pa.types.is_decimal(kind) and isinstance(low, Decimal):
        if kind.scale == 0 and kind.precision <= 18:  # an integer: exact in JSON, as delta-rs
            return int(low), int(high)
        # kept exact, written positionally (:func:`_stats_json`): deltalake reads no decimal
        # bound in exponent notation (json's 1e-05 for 0.000010: the file skipped)
        return (low, high) if kind.precision <= 15 else None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or _is_view(kind):
        if not isinstance(low, str):
            return None
        above = _string_above(high)  # none shorter: the whole maximum is its own bound
        return low[:STRING_BOUND], high if above is None else above
    return None


def _string_above(text: str) -> str | None:
    """``text`` itself when short, else a string of at most :data:`STRING_BOUND` characters
    greater than it (its prefix with the last character that can grow grown by one: greater
    in code point order, which is UTF-8's byte order); ``None`` when none is."""
    if len(text) <= STRING_BOUND:
        return text
    for at in range(STRING_BOUND - 1, -1, -1):
        code = ord(text[at]) + 1
        if code == 0xD800:  # surrogates are no characters UTF-8 can hold
            code = 0xE000
        if code <= 0x10FFFF:
            return text[:at] + chr(code)
    return None


def _is_view(kind: pa.DataType) -> bool:
    return bool(getattr(pa.types, "is_string_view", lambda _: False)(kind))


def _timestamp(value: datetime, kind: pa.TimestampType, *, up: bool) -> str:
    """A timestamp bound at millisecond precision, rounded outwards."""
    naive = value.replace(tzinfo=None) if value.tzinfo is None else value
    floored = naive.replace(microsecond=naive.microsecond - naive.microsecond % 1000)
    if up and floored != naive and floored < _LAST_MS.replace(tzinfo=floored.tzinfo):
        floored += _MS
    if kind.tz is None:  # timestamp_ntz: no zone, as delta-rs writes it
        return _printed(floored, " ")
    return _printed(floored.astimezone(UTC), "T") + "Z"


def _printed(value: datetime, between: str) -> str:
    """``value`` to the millisecond with a four-digit year: ``strftime("%Y")`` prints year 1
    as ``1``, which deltalake reads as no bound (and skips the file for any filter on it)."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}{between}"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond // 1000:03d}"
    )
