"""Bronze rows as Parquet files pyarrow writes, committed to Delta as add actions.

``write_deltalake`` hands every row to delta-rs's writer, which encodes each value of
bronze's constant columns (``_batch_id``, ``_source_file``: a hash and a min/max comparison per
row; ~0.5 CPU s of a 10M-row file). pyarrow's Parquet writer takes those columns as the
dictionary arrays they are (one value, an index per row) and encodes the rest as delta-rs
does. The file goes into the table's folder and one commit adds it with the same app
transactions and commit metadata ``write_deltalake`` would carry, against the same snapshot
(a concurrent commit of the same file is refused the same way), with statistics from its
footer (:mod:`lakehouse.delta_adds`: exact or safely widened, the table's choice of columns
kept).

Only where nothing else would differ (:func:`fits`): a local table that exists, asks nothing
more of a writer (:func:`plain`), and whose schema the rows already have, column for column
(names, order, Delta types, nullability, metadata), each column's Arrow type one the table
reads as is; or (:func:`fits_new`, :func:`create`) a new local table whose first rows make a
Delta schema of their own Arrow types, made with the protocol, schema and configuration
``write_deltalake`` would give it, in one commit with its first file (``CREATE TABLE``; refused
when a table is there by then). A new column, another type, a partitioned table or one asking
more of a writer, object storage or no rows: ``write_deltalake`` as before.

A write killed before its commit leaves its file in the folder, in no version: the next loader
start deletes it (:func:`uncommitted`, by its name's :data:`PREFIX`).
"""

from __future__ import annotations

import itertools
import math
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, create_table_with_add_actions

from lakehouse.delta_adds import add_action, stats_columns, with_metrics

__all__ = ["append", "create", "fits", "fits_new", "plain", "uncommitted"]

#: delta-rs's codec for a write_deltalake
COMPRESSION = "snappy"
#: Rows of a row group (delta-rs writes up to 1,048,576; DuckDB 122,880): a group is encoded
#: while the next one is read, and a reader may scan a file's groups on several threads
ROW_GROUP_ROWS = 128 * 1024
#: Bytes of Arrow data past which a row group ends before :data:`ROW_GROUP_ROWS` rows (at the
#: end of a batch read): the rows of a group are held while it is encoded, and a Parquet file's
#: records of long values (a dictionary's 1 MiB value on each of 1,000 records: 1 GiB) held
#: whole took the loader past a GiB
GROUP_BYTES = 128 * 1024**2
#: Bytes of a column chunk's dictionary past which it falls back to plain encoding: a byte a
#: row, delta-rs's 1 MiB per 1,048,576-row group (at 1 MiB, a column of distinct values stays
#: dictionary-encoded through a 128Ki-row group: ~30% more CPU to write, files ~12% bigger)
DICTIONARY_BYTES = ROW_GROUP_ROWS
#: A column is written without a dictionary when its first row group's first values, as many
#: as would fill this many dictionaries, already hold one dictionary's bytes of distinct values
#: (:func:`_dictionaries`): the writer would build that dictionary only to give it up
DICTIONARY_SAMPLE = 2
#: Values looked at first: a column with half of them or fewer distinct keeps its dictionary
DICTIONARY_PROBE = 1024
#: Writer features a table may have and still take our files
PLAIN_FEATURES = frozenset({"timestampNtz", "appendOnly"})
#: Off: every append through ``write_deltalake`` (the tests compare both ways)
ENABLED = True
#: Rows known before they are written (a table, a file's last piece read to its end) of two row
#: groups or more are written as two files on two threads, committed together: the first file
#: the first half of the groups, the second the rest, each group as one file would hold it. A
#: one-piece file's write otherwise runs on one core once the reading has ended (off: one file)
SPLIT = True
#: The name of every file written here begins so (``part-00000-loader-<uuid4>-c000.snappy.parquet``;
#: delta-rs names its own ``part-NNNNN-<uuid>-c000...``): :func:`uncommitted` tells this loader's
#: files from every other writer's by it
PREFIX = "part-00000-loader-"
_OWN = re.compile(
    re.escape(PREFIX) + r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}-c000\.[a-z]+\.parquet"
)
#: Delta's default ``delta.deletedFileRetentionDuration``: how long a removed file's tombstone
#: stays in the log (a checkpoint leaves out older ones)
TOMBSTONE_RETENTION_S = 7 * 24 * 3600.0
_INTERVAL = re.compile(r"\s*interval\s+(\d+)\s+(second|minute|hour|day|week)s?\s*", re.IGNORECASE)
_UNIT_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


def _text(kind: pa.DataType) -> bool:
    """Written as Parquet UTF-8 text, as a Delta ``string`` column's values are."""
    if pa.types.is_dictionary(kind):
        return pa.types.is_integer(kind.index_type) and _text(kind.value_type)
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or getattr(pa.types, "is_string_view", lambda _: False)(kind)
    )


def plain(table: DeltaTable) -> bool:
    """Whether ``table`` asks nothing of a writer beyond its files and their statistics: not
    partitioned (a partition's value is in the log, not the file), no constraint, invariant,
    generated or identity column, column mapping, row tracking or other writer feature that
    delta-rs's writer honours and a bare add action would not (writer version 2 or less, or 7
    with only ``timestampNtz`` / ``appendOnly``)."""
    if table.metadata().partition_columns:
        return False
    protocol = table.protocol()
    if protocol.min_writer_version > 2 and not (
        protocol.min_writer_version == 7 and set(protocol.writer_features or ()) <= PLAIN_FEATURES
    ):
        return False
    configuration = table.metadata().configuration
    if any(key.startswith("delta.constraints.") for key in configuration):
        return False
    return "delta.invariants" not in table.schema().to_json()


def fits(table: DeltaTable, data: pa.Table | pa.RecordBatchReader) -> bool:
    """Whether ``data``'s rows can be appended to ``table`` as files of our own: the Delta
    schema they make is the table's, and each column's Arrow type is the table's own or text
    for a text column."""
    if not ENABLED or not plain(table):
        return False
    return _same(table.schema(), data.schema)


def fits_new(data: pa.Table | pa.RecordBatchReader) -> bool:
    """Whether a new table can be made of ``data``'s rows as a file of our own: a Delta schema
    of them whose Arrow types are theirs, or text for a text column."""
    if not ENABLED:
        return False
    try:
        made = DeltaSchema.from_arrow(data.schema)
    except Exception:  # a type Delta cannot hold: delta-rs says why
        return False
    return _same(made, data.schema)


def _same(current: DeltaSchema, schema: pa.Schema) -> bool:
    try:
        if DeltaSchema.from_arrow(schema).to_json() != current.to_json():
            return False
    except Exception:  # a type Delta cannot hold: delta-rs says why
        return False
    stored = pa.schema(current.to_arrow())
    if stored.names != schema.names:
        return False
    for field, kept in zip(schema, stored, strict=True):
        if field.type == kept.type:
            continue
        if not (pa.types.is_string(kept.type) and _text(field.type)):
            return False
    return True


def append(
    table: DeltaTable,
    folder: Path,
    rows: pa.Table | pa.RecordBatchReader,
    commit: CommitProperties,
    *,
    total: int | None = None,
) -> bool:
    """``rows`` (which :func:`fits` ``table``) as Parquet files in ``folder`` (one, or two when
    ``total``, the rows known to come, is two row groups or more: :data:`SPLIT`), committed to
    ``table`` with ``commit``; ``False`` when they hold no row (nothing written or committed).
    A failure before the commit leaves no file."""
    configuration = table.metadata().configuration
    with _written(folder, table.schema(), configuration, rows, total) as actions:
        if not actions:
            return False
        table.create_write_transaction(
            [*actions], "append", table.schema(), commit_properties=with_metrics(commit, actions)
        )
    return True


def create(
    folder: Path,
    rows: pa.Table | pa.RecordBatchReader,
    configuration: dict[str, str],
    commit: CommitProperties,
    *,
    total: int | None = None,
) -> bool:
    """A new table in ``folder`` of ``rows`` (:func:`fits_new`) as Parquet files (one, or two
    as :func:`append` says), made with ``configuration`` and ``commit`` (refused when a table
    is there by then: someone else made it); ``False`` when they hold no row (nothing written
    or committed). A failure before the commit leaves no file."""
    schema = DeltaSchema.from_arrow(rows.schema)
    with _written(folder, schema, configuration, rows, total) as actions:
        if not actions:
            return False
        create_table_with_add_actions(
            str(folder),
            schema,
            actions,
            mode="error",
            configuration=configuration or None,
            commit_properties=with_metrics(commit, actions),
        )
    return True


@contextmanager
def _written(
    folder: Path,
    delta: DeltaSchema,
    configuration: Mapping[str, str | None],
    rows: pa.Table | pa.RecordBatchReader,
    total: int | None = None,
) -> Iterator[list[AddAction]]:
    """``rows`` written as Parquet files in ``folder`` (two when :func:`_first_file` says);
    their add actions in row order (none when they hold no row: no file), for a commit in the
    ``with`` block. A failure before the block ends deletes every file.

    A reader's batches are written as they come, in row groups of :data:`ROW_GROUP_ROWS` rows
    (the last one the rest; fewer once a group holds :data:`GROUP_BYTES`), so the encoding of a
    group overlaps the reading and typing of the next and at most a group's rows are held here
    (two files: up to the first file's groups wait for its thread). Statistics come from the
    footer over all groups; a column it gives no bounds for although it holds a value (a long
    text) is read back from the file (:func:`lakehouse.delta_adds.add_action`)."""
    schema = pa.schema(delta.to_arrow())
    if isinstance(rows, pa.Table):
        total = rows.num_rows
    groups = _groups(rows, ROW_GROUP_ROWS)
    head = next(groups, None)
    dictionaries = True if head is None else _dictionaries(head)
    groups = itertools.chain(() if head is None else [head], groups)
    first = _first_file(total)
    paths: list[Path] = []  # every file begun (on either thread), deleted on a failure
    try:
        if first is None:
            written = [_write(folder, schema, rows.schema, groups, paths, dictionaries)]
        else:
            written = _write_two(folder, schema, rows.schema, groups, first, paths, dictionaries)
        files = [path for path in written if path is not None]
        columns = stats_columns(configuration)
        yield [add_action(folder, path, schema, columns=columns) for path in files]
    except BaseException:
        for path in paths:
            path.unlink(missing_ok=True)
        raise


def _first_file(total: int | None) -> int | None:
    """Row groups of the first of two files for ``total`` rows known to come (half of them,
    the larger half), or None: one file."""
    if not SPLIT or total is None:
        return None
    groups = -(-total // ROW_GROUP_ROWS)
    return -(-groups // 2) if groups >= 2 else None


def _dictionaries(group: pa.Table) -> bool | list[str]:
    """The columns to write with a dictionary (pyarrow's ``use_dictionary``) for a write
    whose first row group is ``group``: all of them (``True``) but a column of text, bytes,
    numbers or times whose dictionary the writer would give up in this group anyway (a key, a
    timestamp, an amount), which is written plain in every group instead of building each
    group's dictionary only to drop it at :data:`DICTIONARY_BYTES` (the 10M-row orders file:
    ~0.27 of the writer's ~2.1 CPU s, and its files ~4% smaller). A column is judged by the
    distinct values among its first values, as many as :data:`DICTIONARY_SAMPLE` dictionaries
    would hold at the least bytes each takes there (a text's bytes and its 4-byte length; a
    number's Arrow width, never more than its Parquet one): one dictionary's bytes of them, and
    it would overflow. Every value is written either way; only its encoding differs. A table
    with a nested column keeps every dictionary (pyarrow names a nested column's leaves
    apart)."""
    if any(pa.types.is_nested(field.type) for field in group.schema):
        return True
    kept = [field.name for field in group.schema if not _overflows(group.column(field.name))]
    return True if len(kept) == group.num_columns else kept


def _overflows(values: pa.ChunkedArray) -> bool:
    """Whether ``values``' first ones would fill a dictionary of :data:`DICTIONARY_BYTES`
    (:func:`_dictionaries`). Their first :data:`DICTIONARY_PROBE` are looked at first: a
    column of repeats there keeps its dictionary without a look at more."""
    kind = values.type
    text = kind in (pa.string(), pa.large_string(), pa.binary(), pa.large_binary())
    if not (
        text
        or pa.types.is_integer(kind)
        or (pa.types.is_floating(kind) and not pa.types.is_float16(kind))
        or pa.types.is_timestamp(kind)
        or pa.types.is_date(kind)
        or pa.types.is_time(kind)
        or pa.types.is_duration(kind)
    ):
        return False  # a dictionary already, a decimal (narrower in Parquet), a boolean
    probe = pc.unique(values.slice(0, DICTIONARY_PROBE)).drop_null()
    if 2 * len(probe) <= min(len(values), DICTIONARY_PROBE):
        return False
    # the least bytes each value takes in the dictionary: a text's own and its 4-byte length;
    # a number's Arrow width, never more than its Parquet one (date64: Parquet's INT32)
    if text:
        each = 4 + int(pc.sum(pc.binary_length(probe)).as_py() or 0) / len(probe)
    else:
        each = 4 if pa.types.is_date64(kind) else kind.bit_width // 8
    distinct = pc.unique(values.slice(0, math.ceil(DICTIONARY_SAMPLE * DICTIONARY_BYTES / each)))
    distinct = distinct.drop_null()
    if text:
        size = int(pc.sum(pc.binary_length(distinct)).as_py() or 0) + 4 * len(distinct)
    else:
        size = len(distinct) * int(each)
    return size >= DICTIONARY_BYTES


def _write(
    folder: Path,
    schema: pa.Schema,
    arrow: pa.Schema,
    groups: Iterable[pa.Table],
    paths: list[Path],
    dictionaries: bool | list[str] = True,
) -> Path | None:
    """``groups`` (of ``arrow``, Delta's ``schema``) as one new Parquet file in ``folder``,
    one row group each, ``dictionaries`` the columns with a dictionary (:func:`_dictionaries`);
    its path (listed in ``paths`` once begun), None when there is none."""
    writer: pq.ParquetWriter | None = None
    path = folder / f"{PREFIX}{uuid.uuid4()}-c000.{COMPRESSION}.parquet"
    try:
        for group in groups:
            if writer is None:
                folder.mkdir(parents=True, exist_ok=True)
                paths.append(path)
                writer = pq.ParquetWriter(
                    path,
                    arrow,
                    compression=COMPRESSION,
                    use_dictionary=dictionaries,
                    dictionary_pagesize_limit=DICTIONARY_BYTES,
                    store_schema=False,  # readers take the Delta schema (text, not dictionaries)
                    # no footer bounds for a float column (they would leave NaN out), as
                    # delta-rs's writes (lakehouse.delta_stats.writer_properties)
                    write_statistics=[f.name for f in schema if not pa.types.is_floating(f.type)],
                )
            writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
    finally:
        if writer is not None:
            writer.close()
    return path if writer is not None else None


def _write_two(
    folder: Path,
    schema: pa.Schema,
    arrow: pa.Schema,
    groups: Iterator[pa.Table],
    first: int,
    paths: list[Path],
    dictionaries: bool | list[str] = True,
) -> list[Path | None]:
    """The first ``first`` of ``groups`` written as one file on a thread of its own, the rest
    as another on this one, at the same time (``dictionaries`` as :func:`_write`'s); both
    paths, in row order. Either failing fails both (the caller deletes what was begun)."""
    handed: queue.SimpleQueue[pa.Table | None] = queue.SimpleQueue()
    done: list[Path | None] = []
    failed: list[BaseException] = []
    ended = threading.Event()  # the first file's end taken from ``handed``

    def handed_groups() -> Iterator[pa.Table]:
        while (group := handed.get()) is not None:
            yield group
        ended.set()

    def write_first() -> None:
        try:
            done.append(_write(folder, schema, arrow, handed_groups(), paths, dictionaries))
        except BaseException as exc:  # raised on the caller's thread
            failed.append(exc)
            while not ended.is_set() and handed.get() is not None:  # the caller's hand-over
                pass

    thread = threading.Thread(target=write_first, name="loader-own-file", daemon=True)
    thread.start()
    try:
        for group in itertools.islice(groups, first):
            if failed:
                break
            handed.put(group)
        handed.put(None)  # the first file ends here
        second = None if failed else _write(folder, schema, arrow, groups, paths, dictionaries)
    except BaseException:
        handed.put(None)  # the reading broke: the first file ends too (the caller cleans up)
        raise
    finally:
        thread.join()
    if failed:
        raise failed[0]
    return [*done, second]


def _groups(
    rows: pa.Table | pa.RecordBatchReader, size: int, most: int | None = None
) -> Iterator[pa.Table]:
    """``rows`` as tables of ``size`` rows each, the rest last, as their batches come; a table
    ends earlier, at the end of a batch, once it holds ``most`` bytes (:data:`GROUP_BYTES`)."""
    most = GROUP_BYTES if most is None else most
    held: list[pa.RecordBatch] = []
    count = nbytes = 0
    for batch in rows.to_batches() if isinstance(rows, pa.Table) else rows:
        if not batch.num_rows:
            continue
        held.append(batch)
        count += batch.num_rows
        nbytes += batch.nbytes
        if count < size and nbytes >= most:
            yield pa.Table.from_batches(held, rows.schema)
            held, count, nbytes = [], 0, 0
            continue
        while count >= size:
            gathered = pa.Table.from_batches(held, rows.schema)
            yield gathered.slice(0, size)
            rest = gathered.slice(size)
            held, count, nbytes = rest.to_batches(), rest.num_rows, rest.nbytes
    if count:
        yield pa.Table.from_batches(held, rows.schema)


def uncommitted(folder: Path, before: float) -> list[Path]:
    """The files of ``folder`` (a local bronze table's) that a write of this module began and
    no commit took: what ``kill -9`` in the middle of a write leaves (the rows are not lost:
    that piece is loaded again). Only the caller holding the one-loader lock since ``before``
    (a ``time.time()``) may delete them: then no other process writes such files, and none of
    its own is in flight yet.

    A file counts when its name is this module's (:data:`PREFIX`), it was last written before
    ``before``, the table's current version does not name it, and the log holds no tombstone of
    it (a file committed and later removed, by a compaction: time travel reads it until a
    vacuum). A file older than the table's tombstone retention is left to the vacuum: its
    tombstone may have left the log. A folder whose log holds no commit has committed nothing.
    """
    try:
        own = [e for e in os.scandir(folder) if _OWN.fullmatch(e.name) and e.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    own = [e for e in own if e.stat().st_mtime < before]
    if not own:
        return []
    if not _has_commits(folder / "_delta_log"):
        return [Path(e.path) for e in own]
    table = DeltaTable(str(folder))
    retention = _retention_s(table.metadata().configuration)
    if retention is None:
        return []
    named = set(pa.table(table.get_add_actions(flatten=True)).column("path").to_pylist())
    since = time.time() - retention
    left = [e for e in own if e.name not in named and e.stat().st_mtime > since]
    if not left:
        return []
    tombstones = set(
        table.vacuum(retention_hours=0, dry_run=True, enforce_retention_duration=False)
    )
    return [Path(e.path) for e in left if e.name not in tombstones]


_LOG_ENTRY = re.compile(r"\d{20}\.(json|checkpoint(\.\d+\.\d+)?\.parquet)|_last_checkpoint")


def _has_commits(log: Path) -> bool:
    try:
        return any(_LOG_ENTRY.fullmatch(name) for name in os.listdir(log))
    except FileNotFoundError:
        return False


def _retention_s(configuration: Mapping[str, str | None]) -> float | None:
    """The table's tombstone retention in seconds; None when it names one this cannot read."""
    value = configuration.get("delta.deletedFileRetentionDuration")
    if value is None:
        return TOMBSTONE_RETENTION_S
    found = _INTERVAL.fullmatch(value)
    if found is None:
        return None
    return int(found[1]) * _UNIT_S[found[2].lower()] * 1.0
