"""Delta commits of Parquet files DuckDB wrote itself: a publish without Arrow through Python.

``write_deltalake`` of a DuckDB relation streams every row as Arrow batches through Python
into delta-rs's writer. For a local table DuckDB can write the Parquet files itself (in
parallel, ``COPY ... TO`` the table's folder) and delta-rs commit them as *add actions*
(:meth:`DeltaTable.create_write_transaction`): the same files and log, less work. What an add
action needs beside the file is its statistics (``numRecords``, ``minValues``, ``maxValues``,
``nullCount``), which readers use to skip files; they are read from each file's Parquet footer
and written only where they are exact or safely widened:

* numbers, booleans, dates: as stored;
* timestamps: to the millisecond, the minimum rounded down and the maximum up (the Delta
  protocol's precision; a bound never excludes a stored value). A maximum in the last
  millisecond of 9999 (``9999-12-31 23:59:59.999999``, an "end of time") has no millisecond
  above it and is cut to ``23:59:59.999``, as delta-rs writes every maximum: Delta readers
  (Spark, delta-rs) widen a timestamp maximum by a millisecond for that reason;
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
get bounds here. Still missing them (known): a long string DuckDB wrote no footer bounds for
(it writes none when its maximum would be cut inside a multi-byte character), and nested
columns (a filter on a whole struct; one on a field is not affected).

Object storage keeps ``write_deltalake`` (DuckDB cannot write there without extensions).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from lakehouse import delta_stats

log = logging.getLogger(__name__)

__all__ = [
    "dictionary_limit",
    "file_stats",
    "local_folder",
    "parquet_options",
    "size_bytes",
    "write_files",
]

#: Target size of one Parquet file (DuckDB starts a new file past it).
FILE_BYTES = "128MB"
#: DuckDB's Parquet writer: rows per row group, and after how many distinct values of a column
#: in a row group it gives up the column's dictionary encoding and bloom filter (its default
#: ``dictionary_size_limit``, a fifth of the row group: measured on DuckDB 2.0, 24,576 distinct
#: values still written as a dictionary and 24,577 not)
ROW_GROUP_ROWS = 122_880
DEFAULT_DICTIONARY_LIMIT = 24_576
#: The limit given instead when no column needs more (:func:`dictionary_limit`); a column
#: counts as "few" at up to a quarter of it, as "many" from twice the default
LOW_DICTIONARY_LIMIT = 4096
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


def write_files(
    cur: duckdb.DuckDBPyConnection,
    select: str,
    folder: Path,
    *,
    current: DeltaTable | None,
    mode: str,
    commit: CommitProperties,
    compression: str = "zstd",
    configuration: dict[str, str] | None = None,
    compression_level: int = 1,
    parquet_version: str = "v1",
    parts: Sequence[str] = (),
    rows: int | None = None,
    dictionary_size_limit: int | None = None,
) -> None:
    """``select``'s rows as Parquet files DuckDB writes into ``folder``, committed to Delta.

    ``mode`` is ``overwrite`` (every file of ``current`` removed in the same commit, the
    schema replaced) or ``append``. A new table is created when ``current`` is ``None``. On
    any failure before the commit, the files written are deleted: the table never sees them.
    ``configuration``: the new table's properties (ignored for an existing table).
    ``parquet_version``: DuckDB's ``parquet_version`` (``v1``, or ``v2``: delta encodings and
    v2 data pages, which older readers cannot read).
    ``parts``: selects whose rows together are ``select``'s, each row in exactly one (key
    ranges: ``transform.publish``), each written by its own ``COPY``, all in one commit.
    ``rows``: how many rows ``select`` holds; a write of any other count commits nothing.
    ``dictionary_size_limit``: DuckDB's option of that name (``None``: its default), such as
    :func:`dictionary_limit` gives.
    """
    if parquet_version not in ("v1", "v2"):
        raise ValueError(f"parquet_version must be v1 or v2, not {parquet_version!r}")
    schema = cur.sql(f"select * from ({select}) limit 0").to_arrow_reader(1).schema
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    options = parquet_options(
        compression, compression_level, parquet_version, dictionary_size_limit
    )
    try:
        count = 0
        for part in parts or [select]:
            done = cur.execute(
                f"copy ({part}) to '{_literal(str(folder))}' ({options},"
                " filename_pattern 'part-{uuid}',"
                f" file_size_bytes '{FILE_BYTES}', overwrite_or_ignore true, return_files true)"
            ).fetchall()
            written += [str(p) for p in done[0][1]] if done and done[0][1] else []
            count += int(done[0][0]) if done else 0
        if rows is not None and count != rows:
            raise RuntimeError(f"wrote {count} rows where the model holds {rows}: not committed")
        actions = [_add_action(folder, Path(p), schema) for p in written]
        if not actions:  # an empty result: one empty file, so the schema has a file to read
            actions = [_empty_file(folder, schema, written)]
        if current is None:
            create_table_with_add_actions(
                str(folder),
                DeltaSchema.from_arrow(schema),
                actions,
                mode="error",
                configuration=configuration,
                commit_properties=commit,
            )
        else:
            current.create_write_transaction(
                list[AddAction | RemoveAction](actions),
                mode,
                _evolve(current, schema, mode),
                commit_properties=commit,
            )
    except BaseException:
        for path in written:
            Path(path).unlink(missing_ok=True)
        raise


def parquet_options(
    compression: str, level: int, parquet_version: str, dictionary_size_limit: int | None = None
) -> str:
    """The Parquet options of a ``COPY`` of published rows."""
    limit = (
        "" if dictionary_size_limit is None else f", dictionary_size_limit {dictionary_size_limit}"
    )
    return (
        f"format parquet, compression {compression}, compression_level {level},"
        f" parquet_version {parquet_version}{limit}"
    )


def dictionary_limit(cur: duckdb.DuckDBPyConnection, relation: str, rows: int) -> int | None:
    """A ``dictionary_size_limit`` that writes the ``rows`` rows of ``relation`` (a table or view
    name, or a parenthesised query), in its own order, with the encodings DuckDB's default
    gives them, for less work; ``None``: keep the default.

    DuckDB tries a dictionary for every column of every row group and gives it up only past
    :data:`DEFAULT_DICTIONARY_LIMIT` distinct values: a column of nearly unique numbers or
    timestamps costs that many hash-table inserts per row group before it is written plain
    (at 10M rows of ``bench_build``'s ``stg_orders``, a sixth of the ``COPY``'s CPU). When
    every column shows either few distinct values (at most a quarter of
    :data:`LOW_DICTIONARY_LIMIT`: a dictionary under either limit) or many (at least twice the
    default: plain under either), both in the first row group's worth of rows and in as many
    rows sampled across the whole model (blocks of 2,048 rows: a column sorted or clustered
    shows few in the first and many across, and keeps the default), then
    :data:`LOW_DICTIONARY_LIMIT` gives the same encodings and bloom filters sooner. A column
    in between, a nested column, or fewer rows than a row group: the default, unchanged. The
    samples are of ``relation`` itself (a sample of a query over it would read all of it): a
    write in another order (sorted) has other row groups, and is not for this limit; and of a
    table (sampling a view across runs its query to the end).
    """
    if rows < ROW_GROUP_ROWS:
        return None
    probe = cur.sql(f"select * from {relation} limit 0")
    nested = ("STRUCT", "MAP", "UNION", "VARIANT")
    if not probe.columns or any(
        str(t).upper().startswith(nested) or str(t).endswith("]") for t in probe.types
    ):
        return None
    counts = ", ".join(f"approx_count_distinct({_quote(c)})" for c in probe.columns)
    share = min(100.0, 100.0 * ROW_GROUP_ROWS / rows)
    few, many = LOW_DICTIONARY_LIMIT // 4, 2 * DEFAULT_DICTIONARY_LIMIT
    sides = []
    for sample in (
        f"(select * from {relation} limit {ROW_GROUP_ROWS})",
        f"{relation} using sample {share:.6f}% (system, 7)",
    ):
        try:
            found = cur.execute(f"select {counts} from {sample}").fetchall()
        except duckdb.Error as exc:  # a type it cannot count: the default, as without this
            log.info("no dictionary limit for %s: %s", relation, exc)
            return None
        if not all(int(n) <= few or int(n) >= many for n in found[0]):
            return None
        sides.append([int(n) <= few for n in found[0]])
    # each column on the same side in both samples: few in the first row group but many
    # across (a column NULL or constant in its first rows, sorted, or clustered) keeps the
    # default, whose dictionary its later row groups may well take
    return LOW_DICTIONARY_LIMIT if sides[0] == sides[1] else None


def size_bytes(text: str) -> int:
    """A DuckDB size such as ``128MB`` in bytes (``KB`` is 1000 bytes, ``KiB`` 1024)."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]i?B|B?)\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    unit = str(match.group(2)).upper()
    power = "BKMGT".index(unit[0]) if unit else 0
    base = 1024 if "I" in unit else 1000
    return int(match.group(1)) * int(base**power)


def _evolve(current: DeltaTable, schema: pa.Schema, mode: str) -> pa.Schema:
    """The schema to commit: the new one on overwrite; on append, the table's own."""
    if mode == "overwrite":
        return schema
    return pa.schema(current.schema())


def _empty_file(folder: Path, schema: pa.Schema, written: list[str]) -> AddAction:
    path = folder / f"part-{uuid.uuid4()}.parquet"
    pq.write_table(schema.empty_table(), path, compression="zstd")
    written.append(str(path))
    return _add_action(folder, path, schema)


def _add_action(folder: Path, path: Path, schema: pa.Schema) -> AddAction:
    meta = pq.read_metadata(path)
    stat = path.stat()
    return AddAction(
        path=os.path.relpath(path, folder),
        size=stat.st_size,
        partition_values={},
        modification_time=int(stat.st_mtime * 1000),
        data_change=True,
        stats=json.dumps(file_stats(meta, schema), separators=(",", ":")),
    )


def file_stats(meta: pq.FileMetaData, schema: pa.Schema) -> dict[str, Any]:
    """Delta statistics of one Parquet file from its footer (see the module's rules)."""
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
        groups = [meta.row_group(g).column(i).statistics for g in range(meta.num_row_groups)]
        if groups and all(s is not None and s.has_null_count for s in groups):
            nulls[name] = sum(int(s.null_count) for s in groups)
        bounds = None if delta_stats.inexact(field.type) else _bounds(groups, field.type)
        if bounds is not None:
            mins[name], maxs[name] = bounds
    stats: dict[str, Any] = {"numRecords": meta.num_rows, "minValues": mins, "maxValues": maxs}
    stats["nullCount"] = nulls
    return stats


def _bounds(groups: Sequence[Any], kind: pa.DataType) -> tuple[Any, Any] | None:
    """(min, max) over the row groups as Delta JSON values, or ``None`` when not safe."""
    present = [s for s in groups if s is not None and s.has_min_max]
    nulls = [s for s in groups if s is not None and s.has_null_count and s.num_values == 0]
    if not present or len(present) + len(nulls) != len(groups):
        return None  # a group with values but no min/max (not written): say nothing
    try:
        low, high = min(s.min for s in present), max(s.max for s in present)
    except (TypeError, ValueError, UnicodeDecodeError):
        return None  # bounds pyarrow cannot turn into values of the column's type
    return _json_bounds(low, high, kind)


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
        return (float(low), float(high)) if kind.precision <= 15 else None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or _is_view(kind):
        if not isinstance(low, str):
            return None
        above = _string_above(high)
        return (low[:STRING_BOUND], above) if above is not None else None
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
        return floored.strftime("%Y-%m-%d %H:%M:%S.") + f"{floored.microsecond // 1000:03d}"
    utc = floored.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return text.replace("'", "''")
