"""Delta commits of Parquet files DuckDB wrote itself: a publish without Arrow through Python.

``write_deltalake`` of a DuckDB relation streams every row as Arrow batches through Python
into delta-rs's writer. For a local table DuckDB can write the Parquet files itself (in
parallel, ``COPY ... TO`` the table's folder) and delta-rs commit them as *add actions*
(:meth:`DeltaTable.create_write_transaction`): the same files and log, less work. Each add
action carries the file's statistics from its Parquet footer, exact or safely widened
(:mod:`lakehouse.delta_adds`).

Object storage keeps ``write_deltalake`` (DuckDB cannot write there without extensions).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from lakehouse.delta_adds import add_action, file_stats, local_folder, with_metrics

log = logging.getLogger(__name__)

__all__ = [
    "dictionary_limit",
    "enum_members",
    "file_stats",
    "local_folder",
    "parquet_options",
    "parquet_version",
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
#: The limits given instead when no column needs more (:func:`dictionary_limit`), the least
#: that serves; a column counts as "few" at up to a quarter of one, as "many" from twice the
#: default. Each row group tries a dictionary on a "many" column until it passes the limit:
#: 4,096 instead of the default cost ~0.2 CPU s less at 10M rows of ``bench_build``'s
#: ``stg_orders`` (four such columns), 256 instead of 4,096 another ~0.05
TINY_DICTIONARY_LIMIT = 256
LOW_DICTIONARY_LIMIT = 4096
#: A text column of at most this many distinct values is written from DuckDB's ``ENUM`` of
#: them (:func:`enum_members`); a column sampled with more than a quarter of it is not tried
ENUM_MEMBERS = 256


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
    enums: Mapping[str, Sequence[str]] | None = None,
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
    ``enums``: text columns of ``select`` and every value each holds (:func:`enum_members`),
    written cast to an ``ENUM`` of those values: the same strings, as a dictionary DuckDB has
    already (a value outside them fails the write: nothing committed).
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
                f"copy ({_as_enums(part, enums)}) to '{_literal(str(folder))}' ({options},"
                " filename_pattern 'part-{uuid}',"
                f" file_size_bytes '{FILE_BYTES}', overwrite_or_ignore true, return_files true)"
            ).fetchall()
            written += [str(p) for p in done[0][1]] if done and done[0][1] else []
            count += int(done[0][0]) if done else 0
        if rows is not None and count != rows:
            raise RuntimeError(f"wrote {count} rows where the model holds {rows}: not committed")
        actions = [add_action(folder, Path(p), schema) for p in written]
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
                # an append says what it added, as delta-rs's appends did (an overwrite's
                # commit holds the whole table: as it was)
                commit_properties=with_metrics(commit, actions) if mode == "append" else commit,
            )
    except BaseException:
        for path in written:
            Path(path).unlink(missing_ok=True)
        raise


def parquet_version(setting: str, types: Sequence[object]) -> str:
    """The ``parquet_version`` of a ``COPY`` of rows of these DuckDB column ``types`` under the
    ``publish_parquet_version`` setting: ``auto`` is ``v2`` unless a column holds a FLOAT or
    DOUBLE at any depth (DuckDB writes those byte-stream-split in v2, which Spark's vectorized
    reader refuses in 3.5 and 4.0: docs/dbt.md), then ``v1``; ``v1`` and ``v2`` are themselves."""
    if setting != "auto":
        return setting
    floats = re.compile(r"\b(FLOAT|DOUBLE|REAL|FLOAT4|FLOAT8)\b")
    return "v1" if any(floats.search(str(t).upper()) for t in types) else "v2"


def parquet_options(
    compression: str, level: int, parquet_version: str, dictionary_size_limit: int | None = None
) -> str:
    """The Parquet options of a ``COPY`` of published rows (``level``: zstd's only)."""
    limit = (
        "" if dictionary_size_limit is None else f", dictionary_size_limit {dictionary_size_limit}"
    )
    level_option = f", compression_level {level}" if compression == "zstd" else ""
    return (
        f"format parquet, compression {compression}{level_option},"
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
    :data:`LOW_DICTIONARY_LIMIT` gives the same encodings and bloom filters sooner, and
    :data:`TINY_DICTIONARY_LIMIT` sooner still when each "few" column shows at most a quarter
    of that (a status, a load time). A column
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
    samples: list[list[int]] = []
    for sample in (
        f"(select * from {relation} limit {ROW_GROUP_ROWS})",
        f"{relation} using sample {share:.6f}% (system, 7)",
    ):
        try:
            found = cur.execute(f"select {counts} from {sample}").fetchall()
        except duckdb.Error as exc:  # a type it cannot count: the default, as without this
            log.info("no dictionary limit for %s: %s", relation, exc)
            return None
        samples.append([int(n) for n in found[0]])
    many = 2 * DEFAULT_DICTIONARY_LIMIT
    for limit in (TINY_DICTIONARY_LIMIT, LOW_DICTIONARY_LIMIT):
        few = limit // 4
        if not all(n <= few or n >= many for counted in samples for n in counted):
            continue
        # each column on the same side in both samples: few in the first row group but many
        # across (a column NULL or constant in its first rows, sorted, or clustered) keeps
        # the default, whose dictionary its later row groups may well take
        first, across = ([n <= few for n in counted] for counted in samples)
        return limit if first == across else None
    return None


def enum_members(
    cur: duckdb.DuckDBPyConnection, relation: str, select: str, rows: int
) -> dict[str, list[str]]:
    """The text columns of ``select`` (the published columns of the table ``relation``) with at
    most :data:`ENUM_MEMBERS` distinct values, each with its values (NULL aside), for
    :func:`write_files`' ``enums``.

    DuckDB's Parquet writer spends ~37 ns on each text value, whatever its encoding (at 10M
    rows of ``bench_build``'s ``stg_orders`` its three-valued ``status`` is a third of the
    ``COPY``: 0.40 CPU s for 0.1 MB written), and ~4 ns on an ``ENUM``'s, whose dictionary it
    writes as it is (the same strings, dictionary-encoded; no bloom filter, which a column
    chunk of a dictionary does not need); the cast costs ~24 ns. Only columns showing at most
    a quarter of :data:`ENUM_MEMBERS` distinct values in the first row group's worth of
    rows and in a sample of blocks across the table are counted exactly (a pass over each),
    so a column of many values costs two samples, not a count; a table of fewer rows than a
    row group, none.
    """
    if rows < ROW_GROUP_ROWS:
        return {}
    probe = cur.sql(f"select * from ({select}) limit 0")
    texts = [c for c, t in zip(probe.columns, probe.types, strict=True) if str(t) == "VARCHAR"]
    if not texts:
        return {}
    counts = ", ".join(f"approx_count_distinct({_quote(c)})" for c in texts)
    share = min(100.0, 100.0 * ROW_GROUP_ROWS / rows)
    few = set(texts)
    for sample in (
        f"(select * from {relation} limit {ROW_GROUP_ROWS})",
        f"{relation} using sample {share:.6f}% (system, 7)",
    ):
        try:
            [found] = cur.execute(f"select {counts} from {sample}").fetchall()
        except duckdb.Error as exc:  # not a table's column as published: none
            log.info("no enums for %s: %s", relation, exc)
            return {}
        few &= {c for c, n in zip(texts, found, strict=True) if int(n) <= ENUM_MEMBERS // 4}
    if not few:
        return {}
    chosen = [c for c in texts if c in few]
    lists = ", ".join(
        f"list(distinct {_quote(c)}) filter (where {_quote(c)} is not null)" for c in chosen
    )
    [values] = cur.execute(f"select {lists} from ({select})").fetchall()
    return {
        c: sorted(found)
        for c, found in zip(chosen, values, strict=True)
        if found and len(found) <= ENUM_MEMBERS
    }


def _as_enums(select: str, enums: Mapping[str, Sequence[str]] | None) -> str:
    """``select`` with each column of ``enums`` cast to the ``ENUM`` of its values."""
    if not enums:
        return select
    casts = ", ".join(
        f"cast({_quote(c)} as enum({', '.join(_string(v) for v in values)})) as {_quote(c)}"
        for c, values in enums.items()
    )
    return f"select * replace ({casts}) from ({select})"


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
    return add_action(folder, path, schema)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return text.replace("'", "''")
