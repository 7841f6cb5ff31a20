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
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, create_table_with_add_actions

from lakehouse.catalog import ADDED_KEY
from lakehouse.delta_adds import add_action, stats_columns

__all__ = ["append", "create", "fits", "fits_new", "plain"]

#: delta-rs's codec for a write_deltalake
COMPRESSION = "snappy"
#: Rows of a row group (delta-rs writes up to 1,048,576; DuckDB 122,880): a group is encoded
#: while the next one is read, and a reader may scan a file's groups on several threads
ROW_GROUP_ROWS = 128 * 1024
#: Bytes of a column chunk's dictionary past which it falls back to plain encoding: a byte a
#: row, delta-rs's 1 MiB per 1,048,576-row group (at 1 MiB, a column of distinct values stays
#: dictionary-encoded through a 128Ki-row group: ~30% more CPU to write, files ~12% bigger)
DICTIONARY_BYTES = ROW_GROUP_ROWS
#: Writer features a table may have and still take our files
PLAIN_FEATURES = frozenset({"timestampNtz", "appendOnly"})
#: Off: every append through ``write_deltalake`` (the tests compare both ways)
ENABLED = True


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
) -> bool:
    """``rows`` (which :func:`fits` ``table``) as one Parquet file in ``folder``, committed to
    ``table`` with ``commit``; ``False`` when they hold no row (nothing written or committed).
    A failure before the commit leaves no file."""
    configuration = table.metadata().configuration
    with _written(folder, table.schema(), configuration, rows) as action:
        if action is None:
            return False
        table.create_write_transaction(
            [action], "append", table.schema(), commit_properties=with_metrics(commit, action)
        )
    return True


def create(
    folder: Path,
    rows: pa.Table | pa.RecordBatchReader,
    configuration: dict[str, str],
    commit: CommitProperties,
) -> bool:
    """A new table in ``folder`` of ``rows`` (:func:`fits_new`) as one Parquet file, made with
    ``configuration`` and ``commit`` (refused when a table is there by then: someone else made
    it); ``False`` when they hold no row (nothing written or committed). A failure before the
    commit leaves no file."""
    schema = DeltaSchema.from_arrow(rows.schema)
    with _written(folder, schema, configuration, rows) as action:
        if action is None:
            return False
        create_table_with_add_actions(
            str(folder),
            schema,
            [action],
            mode="error",
            configuration=configuration or None,
            commit_properties=with_metrics(commit, action),
        )
    return True


def with_metrics(commit: CommitProperties, action: AddAction) -> CommitProperties:
    """``commit`` saying what it adds (``lakehouse.catalog.ADDED_KEY``: rows, one file, its
    bytes), as delta-rs's own writes say in ``operationMetrics``, which a commit of add
    actions has none of (``lakehouse.catalog.table_history`` shows it there)."""
    rows = json.loads(action.stats or "{}").get("numRecords")
    added = {"num_added_rows": rows, "num_added_files": 1, "num_added_bytes": action.size}
    metadata = {**(commit.custom_metadata or {}), ADDED_KEY: json.dumps(added)}
    return CommitProperties(
        max_commit_retries=commit.max_commit_retries,
        app_transactions=commit.app_transactions,
        custom_metadata=metadata,
    )


@contextmanager
def _written(
    folder: Path,
    delta: DeltaSchema,
    configuration: Mapping[str, str | None],
    rows: pa.Table | pa.RecordBatchReader,
) -> Iterator[AddAction | None]:
    """``rows`` written as one Parquet file in ``folder``; its add action (``None`` when they
    hold no row: no file), for a commit in the ``with`` block. A failure before the block ends
    deletes the file.

    A reader's batches are written as they come, in row groups of :data:`ROW_GROUP_ROWS` rows
    (the last one the rest), so the encoding of a group overlaps the reading and typing of the
    next and at most a group's rows are held here. Statistics come from the footer over all
    groups; a column it gives no bounds for although it holds a value (a long text) is read
    back from the file (:func:`lakehouse.delta_adds.add_action`)."""
    schema = pa.schema(delta.to_arrow())
    path = folder / f"part-00000-{uuid.uuid4()}-c000.{COMPRESSION}.parquet"
    writer: pq.ParquetWriter | None = None
    try:
        for group in _groups(rows, ROW_GROUP_ROWS):
            if writer is None:
                folder.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(
                    path,
                    rows.schema,
                    compression=COMPRESSION,
                    dictionary_pagesize_limit=DICTIONARY_BYTES,
                    store_schema=False,  # readers take the Delta schema (text, not dictionaries)
                    # no footer bounds for a float column (they would leave NaN out), as
                    # delta-rs's writes (lakehouse.delta_stats.writer_properties)
                    write_statistics=[f.name for f in schema if not pa.types.is_floating(f.type)],
                )
            writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
        if writer is None:
            yield None
            return
        writer.close()
        yield add_action(folder, path, schema, columns=stats_columns(configuration))
    except BaseException:
        if writer is not None:
            writer.close()
        path.unlink(missing_ok=True)
        raise


def _groups(rows: pa.Table | pa.RecordBatchReader, size: int) -> Iterator[pa.Table]:
    """``rows`` as tables of ``size`` rows each, the rest last, as their batches come."""
    held: list[pa.RecordBatch] = []
    count = 0
    for batch in rows.to_batches() if isinstance(rows, pa.Table) else rows:
        if not batch.num_rows:
            continue
        held.append(batch)
        count += batch.num_rows
        while count >= size:
            gathered = pa.Table.from_batches(held, rows.schema)
            yield gathered.slice(0, size)
            rest = gathered.slice(size)
            held, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(held, rows.schema)
