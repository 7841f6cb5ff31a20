"""Publish built dbt models as Delta tables: ``dados/silver/<model>``, ``dados/gold/<model>``.

Which models, where (docs/dbt.md, "Folder → layer"): a model's ``meta.publish`` (``silver``,
``gold`` or ``none``; set per folder with ``+meta`` in ``dbt_project.yml`` or per model) wins;
otherwise its top folder decides: ``staging/`` → silver, ``marts/`` → gold, anything else (such as
``intermediate/``) is not published. Ephemeral models are never published.

How:

* **Written by DuckDB** where the table is local: a rewrite is DuckDB's own ``COPY ... TO``
  Parquet files in the table's folder, committed by delta-rs as add actions with their
  statistics (:mod:`transform.delta_files`), no row through Python; in key order (sorted, or
  for a big model nearly in order, one ``COPY`` per key range: :func:`key_parts`); an append
  of new rows likewise (:meth:`Publisher._append`); on object storage (and for merges, and
  appends of other types than the table's) ``relation.to_arrow_reader(batch_rows)`` streamed into
  delta-rs, never the whole table in Python memory (docs/pitfalls.md: 20M rows in 5.1 s at
  518 MB instead of 14.8 s at 1.6 GB). A rewrite reads the model once for its row hashes (the
  shadow below, and the content fingerprint summed from them) and once to write it.
* **Only what changed** (tables, views, incremental models): the built model is compared with a
  shadow of what was published (``_lakehouse_publish`` schema in DuckDB: the key and a hash of
  every row; one join) as a set of rows, so row order and ties the model does not promise are
  never a change. By key where the model has one (``unique_key`` config, a ``primary_key``
  constraint, or a column whose ``unique`` and ``not_null`` tests passed in this build): new
  keys only → an append; updates or deletes → a merge by key (rows gone from the model deleted
  in the same commit), its predicate narrowed to the changed key range so delta-rs skips other
  files. A large shadow with one integer key is first compared range by range (each key
  range's row count and hash sum, one pass over the model) and only the rows of the ranges
  that differ are joined: a 1% batch on 10M rows joins its own ranges. Without a key, rows
  are compared whole as a multiset: an append, or a merge that
  deletes rows by their values. A rewrite of a model with one integer key and bronze's
  ``_ingested_at`` (from ``DIFF_RANGES_FROM`` rows) keeps only the published rows' count and
  hash sum, no shadow rows: its next diffs of newer rows read the published rows in their key
  range from the table's files (Publisher._keeps_no_shadow, Publisher._part_shadow). A
  streamed overwrite instead when the change is most of the
  table, when the changed keys sit in files holding over half the table, when a changed key is
  NULL or not unique (in the model, or among the published rows a merge would address), when
  one of two equal rows went, or when the columns changed.
* **Idempotent**: every commit carries the model's content fingerprint (commit metadata
  ``lakehouse.fingerprint``) and a publish sequence number (Delta app transaction
  ``lakehouse-publish:<layer>/<model>``). Publishing content that is already there commits
  nothing; a publish that failed before its commit is simply redone by the next one; a shadow
  that does not match the table's sequence number or the model's key (a crash between the
  Delta commit and the shadow update, a lost DuckDB file, a new key) is rebuilt from the
  published table.
* **Deliberate types**: ``HUGEINT`` (what ``sum(bigint)`` returns) and unsigned integers become
  ``BIGINT`` (an overflow is an error, never a silent ``DECIMAL(38,0)``); a naive ``TIMESTAMP``
  becomes a UTC ``timestamp`` (so the table keeps reader 1 / writer 2 and older readers can read
  it) unless the model sets ``meta.publish_timestamps: ntz`` (keep ``timestampNtz``) or ``error``;
  a ``TIMESTAMP_NS`` value that is not a whole microsecond is refused, never rounded;
  ``UUID``/``JSON``/``ENUM`` become strings; types Delta cannot hold (``TIME``, ``INTERVAL``...)
  are refused with an error naming the column. The same rules hold inside a ``STRUCT``, a list,
  a fixed-size array or a ``MAP``, at any depth (:func:`_normalise`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Transaction, WriterProperties, write_deltalake
from deltalake import Schema as DeltaSchema
from duckdb.sqltypes import DuckDBPyType

from lakehouse import delta_stats
from lakehouse.exceptions import LakehouseError
from lakehouse.layout import check_table_name, table_path
from lakehouse.settings import Settings
from lakehouse.storage import arrow_dataset
from transform import delta_files

log = logging.getLogger(__name__)

PublishLayer = Literal["silver", "gold"]
TimestampPolicy = Literal["utc", "ntz", "error"]
PublishMode = Literal["overwrite", "merge", "append", "unchanged"]

#: Top folder under the model paths → layer (docs/dbt.md).
FOLDER_LAYERS: Mapping[str, PublishLayer] = {"staging": "silver", "marts": "gold"}
FINGERPRINT_KEY = "lakehouse.fingerprint"
#: the ``where`` of a data test that looks at the rows its model may have changed
#: (dbt_project/macros/changed_since.sql); such a test still tells a key of the model
CHANGED_ROWS = "__changed_rows__"
#: per DuckDB table: the watermarks its incremental runs used since its last publish
CHANGED_SINCE = "_lakehouse_changed.since"
#: created when dbt opens the DuckDB file (transform.dbt_plugin), before any model or test
CHANGED_SINCE_DDL = (
    "create schema if not exists _lakehouse_changed;"
    f" create table if not exists {CHANGED_SINCE} (database_name varchar, schema_name varchar,"
    " table_name varchar, table_oid bigint, since timestamptz)"
)
INGESTED_AT = "_ingested_at"
SHADOW_SCHEMA = "_lakehouse_publish"
HASH_COLUMN = "_lh_hash"
#: The published rows a scoped diff of a model without a kept shadow compares with (a temp
#: table: their key and row hash; Publisher._part_shadow)
PART_SHADOW = "_lh_shadow_part"
#: The alias of a model's row in the publisher's SQL: ``hash(_lh_row)`` hashes the whole row. A
#: model column of the same name would be hashed instead (a model with a column ``r`` once
#: hid every change to its other columns), so the ``_lh_`` prefix is refused in model columns.
ROW = "_lh_row"
#: What the row hashes of a shadow were made with, recorded beside it (a shadow made otherwise
#: is rebuilt from the published table; the content fingerprint carries it too). 2: a float's
#: zero sign hashed (:func:`_row_hash`), text hashed without its collation (:func:`_normalise`).
HASH_VERSION = 2
RESERVED_PREFIX = "_lh_"
OP_COLUMN = "_lh_op"
#: Above this share of the table's rows in files a merge would rewrite, overwrite instead
#: (delta-rs rewrites every file holding a matched row, and its memory grows with the table).
MERGE_MAX_SHARE = 0.5
#: A keyed diff of a shadow this large first compares DIFF_RANGES key ranges by their row
#: count and hash sum, and joins the rows of the ranges that differ (Publisher._changed_ranges).
DIFF_RANGES_FROM = 100_000
DIFF_RANGES = 4096
_INTEGER_KEYS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")
#: DuckDB's rows per row group (of a table: what ``rowid // ROW_GROUP_ROWS`` groups)
ROW_GROUP_ROWS = 122_880
#: A rewrite of at least this many rows whose single integer key is nearly in order is
#: written as key ranges instead of sorted (Publisher._key_parts); below, sorting is cheap
PARTS_FROM = 1_000_000
#: ... as long as the row groups its key ranges read hold at most this many times its rows
PARTS_READ = 1.25

#: How published Parquet files are written: zstd (every Parquet reader in use reads it) makes a
#: table, and so every rewrite of it, about a sixth smaller than delta-rs's default snappy.
#: Level 1: at 10M rows a sixth less CPU than the default level for files 1% larger.
LEVEL = 1
#: A table published at under this many bytes is rewritten at zstd level 3 instead: a table
#: rewritten whole on every batch because its changed keys are scattered (a per-customer mart:
#: Delta rewrites every file holding a changed row) writes 6-10% fewer bytes per batch for
#: little CPU (2M-order bench, 500,000-row customer_lifetime_value: 13.14 -> 12.35 MB, 0.17 ->
#: 0.22 CPU s per write; customer_order_rhythm 7.46 -> 6.68 MB, 0.06 -> 0.09 CPU s).
SMALL_TABLE_BYTES = 64 * 2**20
SMALL_TABLE_LEVEL = 3
#: A local rewrite (DuckDB's ``COPY``) of at least this many rows, of a table not small (above),
#: is Snappy-compressed: zstd is two fifths of the ``COPY``'s CPU and Snappy half of that (10M
#: rows of ``bench_build``'s ``stg_orders``, v1: 1.32 -> 1.03 CPU s), for files about 55% bigger
#: (136 -> 211 MB) that DuckDB also reads with less CPU (0.44 -> 0.31 s a scan). Snappy is
#: every Parquet reader's default codec. Object storage keeps zstd (bytes cross the network).
SNAPPY_FROM = 1_000_000
_REGISTERED = itertools.count(1)
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_TO_BIGINT = {"HUGEINT", "UHUGEINT", "UBIGINT", "UINTEGER"}
_WIDEN = {"USMALLINT": "INTEGER", "UTINYINT": "SMALLINT"}
_NAIVE_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
_TO_VARCHAR = {"UUID", "JSON"}
#: what a STRUCT, LIST, fixed-size ARRAY or MAP is (DuckDBPyType.id): normalised inside
_NESTED = {"struct", "list", "array", "map"}
_REFUSED = {"TIME", "TIME WITH TIME ZONE", "TIME_NS", "INTERVAL", "BIT", "VARINT", "BIGNUM"}


class PublishError(LakehouseError):
    """A model that cannot be published as it is (a type Delta cannot hold, an overflow...)."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What the publisher needs to know about one dbt model."""

    unique_id: str
    name: str
    relation: str
    layer: PublishLayer
    materialized: str = "table"
    unique_key: tuple[str, ...] = ()
    timestamps: TimestampPolicy = "utc"
    #: (database, schema, table) of the model in DuckDB: what ``_lakehouse_changed`` names
    parts: tuple[str, str, str] | None = None

    @property
    def target(self) -> str:
        """``<layer>/<model>``: how builds and the ledger name a published table."""
        return f"{self.layer}/{self.name}"

    @property
    def app_id(self) -> str:
        return f"lakehouse-publish:{self.target}"

    @classmethod
    def from_node(cls, node: Any, tested_key: Sequence[str] = ()) -> ModelSpec | None:
        """The spec of a dbt manifest model node, or ``None`` when it is not published.

        Its key (what a publish merges by): the model's ``unique_key`` config, whatever its
        materialization; else a ``primary_key`` constraint; else ``tested_key``, columns whose
        uniqueness tests passed in this build (:func:`keys_from_tests`); else none (rows are
        compared whole).
        """
        config = node.config
        meta = {**(getattr(node, "meta", None) or {}), **(getattr(config, "meta", None) or {})}
        materialized = str(config.materialized)
        layer = publish_layer(node.fqn, meta)
        if layer is None or materialized == "ephemeral" or not node.relation_name:
            return None
        policy = str(meta.get("publish_timestamps", "utc"))
        if policy not in ("utc", "ntz", "error"):
            raise PublishError(
                f"model {node.name}: meta.publish_timestamps must be utc, ntz or error, "
                f"not {policy!r}"
            )
        key = config.get("unique_key")
        keys = (key,) if isinstance(key, str) else tuple(key or ())
        keys = keys or _primary_key(node) or tuple(tested_key)
        return cls(
            unique_id=node.unique_id,
            name=check_table_name(node.name),
            relation=node.relation_name,
            layer=layer,
            materialized=materialized,
            unique_key=keys,
            timestamps=policy,  # type: ignore[arg-type]  # checked above
            parts=relation_parts(node),
        )


def _primary_key(node: Any) -> tuple[str, ...]:
    """The columns of a ``primary_key`` constraint of the model (model- or column-level)."""
    for constraint in getattr(node, "constraints", None) or ():
        if _kind(constraint) == "primary_key" and constraint.columns:
            return tuple(constraint.columns)
    for name, column in (getattr(node, "columns", None) or {}).items():
        if any(_kind(c) == "primary_key" for c in getattr(column, "constraints", None) or ()):
            return (name,)
    return ()


def _kind(constraint: Any) -> str:
    kind = getattr(constraint, "type", None)
    return str(getattr(kind, "value", kind))


def keys_from_tests(passed_tests: Sequence[Any]) -> dict[str, tuple[str, ...]]:
    """``{model unique id: key}`` from data tests that passed: what each model may merge by.

    A column with a passing ``unique`` and a passing ``not_null`` test is a key (the first such
    column, by name); so are the columns of a passing ``unique_combination_of_columns``
    (dbt_utils). A key only from tests that ran in this build: a test that did not run says
    nothing about this build's rows.
    """
    unique: dict[str, set[str]] = {}
    not_null: dict[str, set[str]] = {}
    combined: dict[str, tuple[str, ...]] = {}
    for test in passed_tests:
        meta = getattr(test, "test_metadata", None)
        model = getattr(test, "attached_node", None)
        where = getattr(test.config, "where", None)
        if meta is None or not model or (where and where != CHANGED_ROWS):
            continue  # a test of some rows only says nothing of the others
        kwargs = meta.kwargs or {}
        column = kwargs.get("column_name")
        if isinstance(column, str) and not _PLAIN_NAME.fullmatch(column):
            continue  # an expression, not a column
        if meta.name == "unique" and isinstance(column, str):
            unique.setdefault(model, set()).add(column)
        elif meta.name == "not_null" and isinstance(column, str):
            not_null.setdefault(model, set()).add(column)
        elif meta.name == "unique_combination_of_columns":
            columns = kwargs.get("combination_of_columns")
            if isinstance(columns, list) and columns:
                combined.setdefault(model, tuple(str(c) for c in columns))
    keys = dict(combined)
    for model, columns in unique.items():
        both = sorted(columns & not_null.get(model, set()))
        if both:
            keys[model] = (both[0],)
    return keys


def publish_layer(fqn: Sequence[str], meta: Mapping[str, Any]) -> PublishLayer | None:
    """The layer a model publishes to: ``meta.publish`` if set, else its top folder."""
    choice = meta.get("publish")
    if choice is not None:
        if choice in ("silver", "gold"):
            return choice  # type: ignore[no-any-return]  # one of the two literals
        if choice in ("none", False):
            return None
        raise PublishError(f"meta.publish must be silver, gold or none, not {choice!r}")
    folder = fqn[1] if len(fqn) > 2 else None
    return FOLDER_LAYERS.get(folder) if folder else None


@dataclass(frozen=True, slots=True)
class Published:
    target: str
    version: int
    mode: PublishMode
    rows: int


class Publisher:
    """Publishes models read through ``conn`` (dbt's own DuckDB connection: docs/pitfalls.md)."""

    def __init__(
        self,
        settings: Settings,
        conn: duckdb.DuckDBPyConnection,
        *,
        batch_rows: int = 122_880,
        diff_ranges_from: int = DIFF_RANGES_FROM,
    ) -> None:
        self.settings = settings
        self.conn = conn
        self.batch_rows = batch_rows
        #: shadows of at least this many rows are first compared by key range
        self.diff_ranges_from = diff_ranges_from
        self._storage = settings.storage_options or None

    def location(self, model: ModelSpec) -> str:
        return str(table_path(self.settings, model.layer, model.name))

    def publish(
        self,
        model: ModelSpec,
        *,
        full_refresh: bool = False,
        cursor: duckdb.DuckDBPyConnection | None = None,
    ) -> Published:
        """Publish ``model``'s changes; commits nothing when Delta already holds its content."""
        cur = cursor or self.conn.cursor()
        try:
            cur.execute("set TimeZone = 'UTC'")
            select, columns = self._select(cur, model)
            current = self._open(model)
            if current is not None and not full_refresh:
                result = self._publish_changes(cur, model, select, columns, current)
                if result is not None:
                    return result
            return self._overwrite(cur, model, select, current)
        finally:
            if cursor is None:
                cur.close()

    # -- the two ways in -------------------------------------------------------------------

    def _overwrite(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        select: str,
        current: DeltaTable | None,
    ) -> Published:
        # one pass over the model: its key and row hashes, staged beside the shadow, and the
        # fingerprint (count and sum of the row hashes) read from them; or, for a model whose
        # next diffs read the published rows they need (_keeps_no_shadow), only that count and
        # sum, the shadow's state instead of its rows
        lazy = self._keeps_no_shadow(cur, model, select)
        staged = self._stage_shadow(cur, model, select) if lazy is False else None
        hashes = (
            staged or f"(select {_row_hash(cur, select)} as {HASH_COLUMN} from ({select}) as {ROW})"
        )
        rows, total, fingerprint = self._fingerprint(cur, select, hashes)
        if lazy is None:  # a view: the count of this pass decides (counting it ran it once more)
            lazy = rows >= self.diff_ranges_from
            staged = None if lazy else self._stage_shadow(cur, model, select)
        if current is not None and _last_fingerprint(current) == fingerprint:
            if self._shadow_in_sync(cur, model, current):
                if staged is not None:
                    cur.execute(f"drop table if exists {staged}")
            else:
                newest = self._newest_sql(cur, model, select, rows)
                self._install(cur, model, staged, _seq(current, model), newest, rows, total)
            return Published(model.target, current.version(), "unchanged", rows)
        seq = _seq(current, model) + 1
        self._drop_state(cur, model)  # out of sync until the shadow is installed below
        # in key order: each file then holds a narrow key range, so later merges rewrite few
        # (only a single key: a merge by a compound key rewrites the table anyway); a model
        # whose rows are nearly in order is written as key ranges instead of sorted
        parts: list[str] = []
        in_order = True  # written in the order of the model's table (or key ranges of it)
        if len(model.unique_key) == 1:
            groups = _row_groups(cur, model)
            if groups is None or not _ascending(groups):
                parts = self._key_parts(cur, model, select, groups, rows, current)
                if not parts:
                    select = f"{select} order by {_q(model.unique_key[0])}"
                    in_order = False
        commit = self._commit(model, seq, fingerprint)
        # the model's own rows tell the dictionary limit (a sorted write has other row groups);
        # only a table's: sampling a view would run its query once more
        limit = None
        enums: dict[str, list[str]] = {}
        if in_order and rows >= delta_files.ROW_GROUP_ROWS and _is_table(cur, model):
            limit = delta_files.dictionary_limit(cur, model.relation, rows)
            # a text column of few values is written from an ENUM of them: the same strings,
            # for a third of the write's CPU at 10M rows of bench_build's stg_orders
            enums = delta_files.enum_members(cur, model.relation, select, rows)
        self._write(
            cur,
            model,
            select,
            current,
            commit=commit,
            parts=parts,
            rows=rows,
            dictionary_size_limit=limit,
            enums=enums,
        )
        # The key's uniqueness is not scanned for here (a tenth of a second per million rows):
        # a diff checks the rows it compares, and a merge the published rows it addresses
        # (_diff, _published_key_repeated); a key that is not unique only makes them rewrite.
        newest = self._newest_sql(cur, model, select, rows)
        self._install(cur, model, staged, seq, newest, rows, total)
        version = self._version(model, current)
        log.info("published %s v%s (overwrite, %s rows)", model.target, version, rows)
        return Published(model.target, version, "overwrite", rows)

    def _publish_changes(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        select: str,
        columns: list[str],
        current: DeltaTable,
    ) -> Published | None:
        """Commit only the rows that differ from the published version; ``None`` → overwrite.

        The model and what is published are compared as sets of rows (by key when the model
        has one): the order rows come in, and which of two equal rows comes first, never count.
        """
        if [f.name for f in current.schema().fields] != columns or not _same_types(
            cur, select, current
        ):
            return None  # the model's columns or their types changed: rewrite the table
        if not self._shadow_in_sync(cur, model, current) and not self._shadow_from_table(
            cur, model, select, current
        ):
            return None
        lazy = self._lazy(cur, model)
        before = lazy[0] if lazy is not None else _count(cur, self._shadow(model))
        since = changed_since(cur, model) if INGESTED_AT in columns else None
        diff = self._diff(cur, model, select, columns, current, before, since, lazy)
        if diff is None:
            return None
        changed, deleted, updated, rows = diff
        # a diff that needed the whole shadow built it from the published table
        lazy = self._lazy(cur, model) if lazy is not None else None
        shadow = PART_SHADOW if lazy is not None else self._shadow(model)
        if changed == 0 and deleted == 0:
            return Published(model.target, current.version(), "unchanged", rows)
        if updated or deleted:  # a merge rewrites every file it touches; an append none
            if changed + deleted > MERGE_MAX_SHARE * max(rows, before):
                return None  # the change is most of the table: a streamed overwrite is cheaper
            if model.unique_key and _touched_share(cur, model, current) > MERGE_MAX_SHARE:
                return None  # the merge would rewrite most files: overwrite instead
            if model.unique_key and self._published_key_repeated(cur, model, shadow):
                return None  # a merge by that key would update every published copy of it
        seq = _seq(current, model) + 1
        commit = self._commit(model, seq, None)
        quoted = ", ".join(_q(c) for c in columns)
        # delta-rs writes the merged or appended files' bounds: none for wide decimals, nor
        # for timestamps no reader can bound
        delta_stats.guard(
            current, pa.schema([]), _unbounded_times(cur, f"select * from {model.relation}")
        )
        if deleted or updated:
            expected = {
                "num_target_rows_inserted": changed - updated,
                "num_target_rows_updated": updated,
                "num_target_rows_deleted": deleted if model.unique_key else _deleted_rows(cur),
            }
            if not self._merge(cur, model, columns, current, commit, expected):
                return None  # the merge did not do what the diff said: rewrite (and say so)
            mode: PublishMode = "merge"
        else:  # only new rows: an append, no need to scan the table
            self._append(cur, model, f"select {quoted} from _lh_changes", current, commit, changed)
            mode = "append"
        newest = self._newest_sql(cur, model, select, rows)
        if lazy is not None:
            self._update_state(cur, model, seq, newest, rows)
        else:
            self._update_shadow(cur, model, seq, newest)
        version = self._version(model, current)
        log.info(
            "published %s v%s (%s: %s new or changed, %s deleted)",
            model.target,
            version,
            mode,
            changed,
            deleted,
        )
        return Published(model.target, version, mode, rows)

    def _append(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        select: str,
        current: DeltaTable,
        commit: CommitProperties,
        rows: int,
    ) -> None:
        """``select``'s ``rows`` new rows appended to ``current``. Where the table is local and
        the rows' Arrow types are the table's own, DuckDB writes the file and delta-rs commits
        it as an add action, as a rewrite's files (:func:`delta_files.write_files`: zstd 1 and
        Parquet v1 pages as delta-rs's append, the statistics from the file's footer; a count
        other than ``rows`` commits nothing): no row through Python. Else the rows are
        streamed through ``write_deltalake``, which checks and casts them to the table's
        schema."""
        table = pa.schema(current.schema().to_arrow())
        folder = delta_files.local_folder(self.location(model), self._storage)
        if folder is not None:
            schema = cur.sql(f"{select} limit 0").to_arrow_reader(1).schema
            if [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in table]:
                delta_files.write_files(
                    cur, select, folder, current=current, mode="append", commit=commit, rows=rows
                )
                return
        write_deltalake(
            current,
            cur.sql(select).to_arrow_reader(self.batch_rows),
            mode="append",
            writer_properties=_writer(table),
            commit_properties=commit,
        )

    def _diff(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        select: str,
        columns: list[str],
        current: DeltaTable,
        before: int,
        since: str | None = None,
        lazy: tuple[int, int] | None = None,
    ) -> tuple[int, int, int, int] | None:
        """``_lh_changes`` and ``_lh_deleted``; (new or changed, deleted, updated, rows after).

        With ``since`` (a keyed model whose rows before that ``_ingested_at`` did not change
        since its last publish: :func:`changed_since`), only its rows from ``since`` on are
        compared; a row that went would show in the row count, and rewrites the table.
        ``lazy``: the shadow's rows are not kept, only their count and hash sum
        (:meth:`_lazy`); a scoped diff compares with the published rows in its key range
        (:meth:`_part_shadow`), any other first builds the shadow from the published table.
        ``None`` when a merge could not say the change: rewrite the table.
        """
        if model.unique_key and since is not None:
            scoped = f"select * from ({select}) where {_q(INGESTED_AT)} >= '{since}'::timestamptz"
            shadow = None
            if lazy is not None:
                shadow = self._part_shadow(cur, model, current, select, scoped)
            updated = self._diff_by_key(
                cur, model, scoped, columns, before, scoped=True, shadow=shadow
            )
        elif not model.unique_key:
            if lazy is not None and not self._whole_shadow(cur, model, select, current):
                return None
            if not self._diff_by_content(cur, model, select, columns, current, before):
                return None  # some but not all copies of a repeated row went, or most rows
            changed = _count(cur, "_lh_changes")
            return changed, _count(cur, "_lh_deleted"), 0, before + changed - _deleted_rows(cur)
        else:
            newer = self._diff_newer(cur, model, select, columns, before, current, lazy)
            if newer is None and lazy is not None:
                if not self._whole_shadow(cur, model, select, current):
                    return None
            updated = (
                newer
                if newer is not None
                else self._diff_by_key(cur, model, select, columns, before)
            )
        if _null_key_changed(cur, model):
            return None  # a NULL key matches no row in a merge
        changed = _count(cur, "_lh_changes")
        deleted = _count(cur, "_lh_deleted")
        rows = before - deleted + changed - updated
        if _count(cur, model.relation) != rows or _repeated_keys(cur, model, "_lh_changes"):
            return None  # the key is not unique in the model
        return changed, deleted, updated, rows

    def _diff_newer(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        select: str,
        columns: list[str],
        before: int,
        current: DeltaTable,
        lazy: tuple[int, int] | None = None,
    ) -> int | None:
        """The diff of a keyed model from its rows newer than its last publish, proven whole.

        The rows whose ``_ingested_at`` is after the newest one at the last publish (recorded
        beside the shadow: :meth:`_newest_sql`) are compared by key with the shadow, as a
        scoped diff (:meth:`_diff_by_key`); the rest of the model is then proven unchanged in
        one pass over it: its row count and the sum of its row hashes must be the shadow's,
        less the hashes of the published rows replaced, plus those of the rows new or changed
        (the test the content fingerprint and :meth:`_changed_ranges` make). A pass that sums
        the hashes costs about half of counting and summing them by key range on both sides.
        ``None`` (compare by key range instead) when nothing is recorded, when the newer rows
        are most of the table, or when anything else changed: a row updated in place without
        a newer ``_ingested_at``, a row deleted, a key repeated. ``lazy`` (no shadow kept: its
        row count and hash sum): the newer rows are compared with the published rows in their
        key range, read from the table's files (:meth:`_part_shadow`).
        """
        if INGESTED_AT not in columns or before < self.diff_ranges_from:
            return None
        newest = self._newest(cur, model)
        if newest is None:
            return None
        scoped = f"select * from ({select}) where {_q(INGESTED_AT)} > '{newest}'::timestamptz"
        if _count(cur, f"({scoped})") > MERGE_MAX_SHARE * before:
            return None
        # only the shadow's rows in the newer rows' key range can match them (DuckDB skips the
        # shadow's other row groups by their min/max)
        if lazy is not None:
            shadow, within = self._part_shadow(cur, model, current, select, scoped), ""
            whole = f"(select {lazy[0]}::bigint as n, '{lazy[1]}'::hugeint as h) as s,"
        else:
            shadow = None
            within = _key_range(cur, model, "", _q, relation=f"({scoped})")
            whole = (
                f" (select count(*) as n, coalesce(sum({HASH_COLUMN}), 0) as h"
                f" from {self._shadow(model)}) as s,"
            )
        updated = self._diff_by_key(
            cur, model, scoped, columns, before, scoped=True, shadow_where=within, shadow=shadow
        )
        proven = _one(
            cur,
            "select m.n = s.n + c.added and m.h = s.h - c.replaced + c.changed from"
            f" (select count(*) as n, coalesce(sum({_row_hash(cur, select)}), 0) as h"
            f" from ({select}) as {ROW}) as m, {whole}"
            " (select count(*) filter (_lh_in_shadow is null) as added,"
            f" coalesce(sum(_lh_s_hash), 0) as replaced, coalesce(sum({HASH_COLUMN}), 0)"
            " as changed from _lh_delta where _lh_in_model) as c",
        )
        if not proven[0]:
            log.info("publishing %s: not only its newer rows changed", model.target)
            return None
        return updated

    def _newest(self, cur: duckdb.DuckDBPyConnection, model: ModelSpec) -> str | None:
        """The newest ``_ingested_at`` of the model at its last publish, as text (or ``None``)."""
        try:
            found = _one(
                cur, f"select strftime(newest, '%Y-%m-%d %H:%M:%S.%f+00') from {self._state(model)}"
            )
        except duckdb.Error:  # a state recorded before the column was
            return None
        return None if found[0] is None else str(found[0])

    def _newest_sql(
        self, cur: duckdb.DuckDBPyConnection, model: ModelSpec, select: str, rows: int
    ) -> str:
        """What to record beside the shadow as the newest ``_ingested_at`` of ``select`` (the
        model as it is being published), where :meth:`_diff_newer` starts from next time: an
        SQL expression, evaluated in the transaction that records the shadow's state. Only for
        a keyed model of at least ``diff_ranges_from`` rows whose ``_ingested_at`` is a
        ``timestamptz`` (the type bronze gives it); else NULL (nothing recorded)."""
        if not model.unique_key or rows < self.diff_ranges_from:
            return "null::timestamptz"
        probe = cur.sql(f"select * from ({select}) limit 0")
        types = dict(zip(probe.columns, (str(t) for t in probe.types), strict=True))
        if types.get(INGESTED_AT) != "TIMESTAMP WITH TIME ZONE":
            return "null::timestamptz"
        return f"(select max({_q(INGESTED_AT)}) from ({select}))"

    def _published_key_repeated(
        self, cur: duckdb.DuckDBPyConnection, model: ModelSpec, shadow: str
    ) -> bool:
        """Whether a key the merge addresses (changed or deleted) has more than one published row.

        A key is unique in the published table when the publish that wrote it checked it, but
        a ``unique`` test of the rows that changed (``where: "__changed_rows__"``) passes
        although a new row repeats the key of an older one: such a key then sits twice in the
        published table (and its shadow), and a merge by it would update both rows.
        """
        keys = ", ".join(_q(k) for k in model.unique_key)
        on = " and ".join(f"s.{_q(k)} = c.{_q(k)}" for k in model.unique_key)
        grouped = ", ".join(f"s.{_q(k)}" for k in model.unique_key)
        found = _one(
            cur,
            f"select exists (select {grouped} from {shadow} as s semi join"
            f" (select {keys} from _lh_changes union all select {keys} from _lh_deleted) as c"
            f" on {on}{_key_range(cur, model, 's.', _q)} group by {grouped}"
            " having count(*) > 1)",
        )
        return bool(found[0])

    def _merge(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        columns: list[str],
        current: DeltaTable,
        commit: CommitProperties,
        expected: Mapping[str, int],
    ) -> bool:
        """One Delta merge of ``_lh_changes`` and ``_lh_deleted``; whether it did ``expected``."""
        quoted = ", ".join(_q(c) for c in columns)
        updates = {_bq(c): f"s.{_bq(c)}" for c in columns}
        if model.unique_key:
            deleted_rows = f"select {', '.join(_q(k) for k in model.unique_key)} from _lh_deleted"
            predicate = " and ".join(f"t.{_bq(k)} = s.{_bq(k)}" for k in model.unique_key)
            predicate += _key_range(cur, model)
        else:  # rows are their own key: a deleted row matches every equal row of the table
            deleted_rows = f"select {quoted} from _lh_deleted"
            predicate = " and ".join(
                f"(t.{_bq(c)} is not distinct from s.{_bq(c)})" for c in columns
            )
            predicate = f"s.{OP_COLUMN} = 'd' and {predicate}"
        source = cur.sql(
            f"select {quoted}, 'u' as {OP_COLUMN} from _lh_changes union all by name"
            f" select *, 'd' as {OP_COLUMN} from ({deleted_rows})"
        )
        merger = current.merge(
            source.to_arrow_reader(self.batch_rows),
            predicate=predicate,
            source_alias="s",
            target_alias="t",
            writer_properties=_writer(pa.schema(current.schema().to_arrow())),
            commit_properties=commit,
        ).when_matched_delete(predicate=f"s.{OP_COLUMN} = 'd'")
        if model.unique_key:
            merger = merger.when_matched_update(updates=updates, predicate=f"s.{OP_COLUMN} = 'u'")
        metrics = merger.when_not_matched_insert(
            updates=updates, predicate=f"s.{OP_COLUMN} = 'u'"
        ).execute()
        done = {key: int(metrics.get(key, value)) for key, value in expected.items()}
        if done != dict(expected):
            log.warning(
                "publishing %s: the merge did %s, not %s; rewriting the table",
                model.target,
                done,
                dict(expected),
            )
            current.update_incremental()
            return False
        return True

    def _diff_by_key(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        select: str,
        columns: list[str],
        before: int,
        *,
        scoped: bool = False,
        shadow_where: str = "",
        shadow: str | None = None,
    ) -> int:
        """``_lh_changes`` (new or changed rows) and ``_lh_deleted`` (keys gone); the updates.

        One full outer join of the model's row hashes with the shadow (half the cost of two
        anti-joins at 10M rows), over the key ranges whose rows changed
        (:meth:`_changed_ranges`) when the shadow holds at least ``diff_ranges_from`` rows;
        ``scoped``: ``select`` is only the rows that may have changed (:func:`changed_since`),
        a left join, and no key is gone; ``shadow_where`` (`` and ...``): a condition on the
        shadow's rows that every row of ``select`` that matches one meets; ``shadow``: the
        rows to compare with instead of the shadow (a scoped diff's: :meth:`_part_shadow`).
        """
        keys = model.unique_key
        s_keys = ", ".join(f"s.{_q(k)} as {_q('_lh_s_' + k)}" for k in keys)
        # NULL keys match their shadow too: an unchanged row whose key is NULL is no change
        on = " and ".join(f"x.{_q(k)} is not distinct from s.{_q(k)}" for k in keys)
        in_model, in_shadow = "", ""
        if before >= self.diff_ranges_from and not scoped:
            in_model, in_shadow = self._changed_ranges(cur, model, select)
        if shadow_where:
            in_shadow = f" where true{shadow_where}"
        join = "left join" if scoped else "full outer join"
        cur.execute(
            "create or replace temp table _lh_delta as"
            f" select x.*, {s_keys}, s._lh_in_shadow, s.{HASH_COLUMN} as _lh_s_hash from"
            f" (select {ROW}.*, {_row_hash(cur, select)} as {HASH_COLUMN}, true as _lh_in_model"
            f" from ({select}) as {ROW}"
            f"{in_model}) as x {join} (select *, true as _lh_in_shadow"
            f" from {shadow or self._shadow(model)}{in_shadow})"
            f" as s on {on} where x._lh_in_model is null or s._lh_in_shadow is null"
            f" or x.{HASH_COLUMN} <> s.{HASH_COLUMN}"
        )
        wanted = ", ".join(_q(c) for c in [*columns, HASH_COLUMN])
        cur.execute(
            f"create or replace temp table _lh_changes as select {wanted} from _lh_delta"
            " where _lh_in_model"
        )
        gone = ", ".join(f"{_q('_lh_s_' + k)} as {_q(k)}" for k in keys)
        cur.execute(
            f"create or replace temp table _lh_deleted as select {gone} from _lh_delta"
            " where _lh_in_model is null"
        )
        return _count(cur, "(select 1 from _lh_delta where _lh_in_model and _lh_in_shadow)")

    def _changed_ranges(
        self, cur: duckdb.DuckDBPyConnection, model: ModelSpec, select: str
    ) -> tuple[str, str]:
        """``where`` clauses (on the model's rows ``r``, on the shadow) keeping only the key
        ranges whose rows changed; empty when every range must be compared.

        For a single integer key: ranges of keys as wide as the shadow's key span over
        ``DIFF_RANGES`` (``key // width``; NULL keys apart); a range is unchanged when its row
        count and the sum of its row hashes are those of the shadow, the test the content
        fingerprint already makes of a whole table. Counting and summing every range of a
        10M-row model costs a tenth of joining all its row hashes with the shadow's; a batch
        of new keys then joins only its own ranges.
        """
        if len(model.unique_key) != 1:
            return "", ""
        key, shadow = _q(model.unique_key[0]), self._shadow(model)
        for relation in (shadow, f"({select})"):
            probe = cur.sql(f"select {key} from {relation} limit 0")
            if str(probe.types[0]) not in _INTEGER_KEYS:
                return "", ""
        low, high = _one(cur, f"select min({key}), max({key}) from {shadow}")
        if low is None or high is None:
            return "", ""
        width = max(1, -(-(int(high) - int(low) + 1) // DIFF_RANGES))
        bucket = f"({key} // {width})"  # bigint: no overflow, and no 128-bit division
        cur.execute(
            "create or replace temp table _lh_ranges as select coalesce(m.b, s.b) as b from"
            f" (select {bucket} as b, count(*) as n, sum({_row_hash(cur, select)}) as h"
            f" from ({select}) as {ROW} group by all) as m full outer join"
            f" (select {bucket} as b, count(*) as n, sum({HASH_COLUMN}) as h"
            f" from {shadow} group by all) as s on m.b is not distinct from s.b"
            " where m.n is distinct from s.n or m.h is distinct from s.h"
        )
        changed, null_key = _one(
            cur, "select count(*), count(*) filter (b is null) from _lh_ranges"
        )
        if changed > DIFF_RANGES // 2:
            return "", ""  # most ranges changed: compare everything
        where = f" where {bucket} in (select b from _lh_ranges)"
        if null_key:  # the rows whose key is NULL changed (NULL is in no range)
            where += f" or {key} is null"
        return where, where

    def _diff_by_content(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        select: str,
        columns: list[str],
        current: DeltaTable,
        before: int,
    ) -> bool:
        """The same for a model without a key: rows are compared whole, as a multiset.

        ``_lh_changes``: the model's rows with more copies than published (the extra copies);
        ``_lh_deleted``: rows with no copy left (each with ``_lh_n``, its published copies),
        their values read from the published table. False when a row lost some of its copies
        but not all (Delta cannot delete one of two equal rows), and when rows went and the
        change is over ``MERGE_MAX_SHARE`` of the table (of ``before`` published rows): the
        rewrite :meth:`_publish_changes` would choose from the counts alone, decided before the
        changed rows are gathered and the published table is read for the deleted ones.
        """
        shadow = self._shadow(model)
        row_hash = _row_hash(cur, select)
        hashed = f"(select {ROW}.*, {row_hash} as {HASH_COLUMN} from ({select}) as {ROW})"
        # _lh_counts' columns are prefixed: the model's own columns may be called anything
        cur.execute(
            "create or replace temp table _lh_counts as select coalesce(m.h, s.h) as _lh_h,"
            " coalesce(m.n, 0) as _lh_mn, coalesce(s.n, 0) as _lh_sn from"
            f" (select {HASH_COLUMN} as h, count(*) as n from {hashed} group by all) as m"
            f" full outer join (select {HASH_COLUMN} as h, count(*) as n from {shadow}"
            " group by all) as s on m.h = s.h where m.n is distinct from s.n"
        )
        some_went, changed, gone, gone_rows = _one(
            cur,
            "select count(*) filter (_lh_mn > 0 and _lh_mn < _lh_sn),"
            " coalesce(sum(_lh_mn - _lh_sn) filter (_lh_mn > _lh_sn), 0),"
            " count(*) filter (_lh_mn = 0), coalesce(sum(_lh_sn) filter (_lh_mn = 0), 0)"
            " from _lh_counts",
        )
        if some_went:
            return False
        rows = before + int(changed) - int(gone_rows)
        if gone and int(changed) + int(gone) > MERGE_MAX_SHARE * max(rows, before):
            return False  # a merge of most of the table: _publish_changes would rewrite it
        if gone and len(current.file_uris()) == 1:
            # a merge would rewrite the table's only file anyway (through delta-rs's join of
            # every row by value, after reading the published rows it deletes): rewrite it
            return False
        wanted = ", ".join(f"x.{_q(c)}" for c in [*columns, HASH_COLUMN])
        cur.execute(
            f"create or replace temp table _lh_changes as select {wanted} from {hashed} as x"
            f" join _lh_counts as c on x.{HASH_COLUMN} = c._lh_h and c._lh_mn > c._lh_sn"
            f" qualify row_number() over (partition by x.{HASH_COLUMN}) <= c._lh_mn - c._lh_sn"
        )
        cur.execute(
            f"create or replace temp table _lh_deleted as select {wanted}, 0::bigint as _lh_n"
            f" from {hashed} as x where false"
        )
        if gone:
            with self._published(cur, current, select) as published:
                cur.execute(
                    f"insert into _lh_deleted select distinct on (p.{HASH_COLUMN}) p.*, c._lh_sn"
                    f" from (select {ROW}.*, {row_hash} as {HASH_COLUMN}"
                    f" from {published} as {ROW}) as p"
                    f" join _lh_counts as c on p.{HASH_COLUMN} = c._lh_h and c._lh_mn = 0"
                )
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _open(self, model: ModelSpec) -> DeltaTable | None:
        uri = self.location(model)
        if not DeltaTable.is_deltatable(uri, storage_options=self._storage):
            return None
        return DeltaTable(uri, storage_options=self._storage)

    def _version(self, model: ModelSpec, table: DeltaTable | None) -> int:
        """The version just written (``table`` brought up to date: no full log replay)."""
        if table is None:
            return DeltaTable(self.location(model), storage_options=self._storage).version()
        table.update_incremental()
        return table.version()

    def _commit(self, model: ModelSpec, seq: int, fingerprint: str | None) -> CommitProperties:
        metadata = {"lakehouse.model": model.unique_id}
        if fingerprint is not None:
            metadata[FINGERPRINT_KEY] = fingerprint
        return CommitProperties(
            custom_metadata=metadata, app_transactions=[Transaction(model.app_id, seq)]
        )

    def _select(self, cur: duckdb.DuckDBPyConnection, model: ModelSpec) -> tuple[str, list[str]]:
        """The model as a ``select`` whose columns all have types Delta stores as meant."""
        probe = cur.sql(f"select * from {model.relation} limit 0")
        reserved = [c for c in probe.columns if c.lower().startswith(RESERVED_PREFIX)]
        if reserved:
            raise PublishError(
                f"{model.layer}.{model.name}: column {reserved[0]!r} starts with"
                f" {RESERVED_PREFIX!r}, which the publisher keeps for its own columns: rename it"
            )
        exprs = []
        for column, dtype in zip(probe.columns, probe.types, strict=True):
            exprs.append(_normalise(model, column, dtype))
        _refuse_nanoseconds(cur, model, probe.columns, probe.types)
        return f"select {', '.join(exprs)} from {model.relation}", list(probe.columns)

    def _write(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        select: str,
        current: DeltaTable | None,
        *,
        commit: CommitProperties,
        parts: Sequence[str] = (),
        rows: int | None = None,
        dictionary_size_limit: int | None = None,
        enums: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """``select``'s rows replace the table's: Parquet files written by DuckDB and committed
        by delta-rs when the table is local (:mod:`transform.delta_files`: no row goes through
        Python; ``parts``, key ranges of ``select``, each written by its own ``COPY``; a write
        of other than ``rows`` rows commits nothing; ``dictionary_size_limit``: DuckDB's, from
        :func:`delta_files.dictionary_limit`; ``enums``: text columns written from an ``ENUM`` of
        their values, :func:`delta_files.enum_members`), else streamed through ``write_deltalake``
        (``parts`` are then empty: :meth:`_key_parts`)."""
        folder = delta_files.local_folder(self.location(model), self._storage)
        schema = cur.sql(f"select * from ({select}) limit 0").to_arrow_reader(1).schema
        far = _unbounded_times(cur, select, schema)
        if current is not None:  # wide decimals get no bounds from delta-rs's later writes
            delta_stats.guard(current, schema, far)
        configuration = delta_stats.stats_configuration(schema, far) or None
        if folder is not None:
            types = cur.sql(f"select * from ({select}) limit 0").types
            codec, level = _compression(current, rows)
            delta_files.write_files(
                cur,
                select,
                folder,
                current=current,
                mode="overwrite",
                commit=commit,
                configuration=configuration,
                compression=codec,
                compression_level=level,
                parquet_version=delta_files.parquet_version(
                    self.settings.publish_parquet_version, types
                ),
                parts=parts,
                rows=rows,
                dictionary_size_limit=dictionary_size_limit,
                enums=enums,
            )
            return
        write_deltalake(
            current if current is not None else self.location(model),
            cur.sql(select).to_arrow_reader(self.batch_rows),
            mode="overwrite",
            schema_mode="overwrite",
            storage_options=None if current is not None else self._storage,
            configuration=None if current is not None else configuration,
            writer_properties=_writer(schema, _compression_level(current)),
            commit_properties=commit,
        )

    def _key_parts(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        select: str,
        groups: list[tuple[Any, Any, int, int]] | None,
        rows: int,
        current: DeltaTable | None,
    ) -> list[str]:
        """``select`` cut into key ranges of about a file each, when the model's single integer
        key is nearly in order (:func:`key_parts`); ``[select]`` when its rows fit in one file;
        ``[]``: sort instead.

        Each range is its own ``COPY``, which reads only the row groups whose keys meet it
        (DuckDB skips the others by their min/max), so the table is read about once and not
        sorted: files with disjoint key ranges, as a sort gives, for about the CPU of an
        unsorted write (10M rows: 1.25-1.34 CPU s against 1.83-1.86 sorted). A NULL key is a
        range of its own.
        """
        if groups is None or rows < PARTS_FROM:
            return []
        if delta_files.local_folder(self.location(model), self._storage) is None:
            return []  # streamed through delta-rs: sorted
        key = _q(model.unique_key[0])
        if str(cur.sql(f"select {key} from {model.relation} limit 0").types[0]) not in (
            _INTEGER_KEYS
        ):
            return []  # the range bounds are integer literals
        spans = [(lo, hi, n) for lo, hi, n, _ in groups]
        ranges = key_parts(spans, self._rows_per_file(cur, select, current, rows))
        if ranges is None:
            return []
        if ranges == [(None, None)]:
            return [select]  # one part: every row (NULL keys too), in the model's order
        conditions = [
            " and ".join(
                [
                    *([f"{key} >= {int(low)}"] if low is not None else []),
                    *([f"{key} < {int(high)}"] if high is not None else []),
                ]
            )
            for low, high in ranges
        ]
        if any(total > n for _, _, n, total in groups):
            conditions.append(f"{key} is null")
        return [f"select * from ({select}) where {condition}" for condition in conditions]

    def _rows_per_file(
        self,
        cur: duckdb.DuckDBPyConnection,
        select: str,
        current: DeltaTable | None,
        rows: int | None = None,
    ) -> int:
        """About how many of the model's ``rows`` rows a Parquet file of a rewrite holds (nine
        tenths of ``delta_files.FILE_BYTES``): from the published table's bytes per row when
        its files have the codec this rewrite writes, else from one row group of the model
        written aside with it."""
        codec, level = _compression(current, rows)
        written, records = 0, 0
        if current is not None and _written_with(current) == codec:
            files = current.get_add_actions(flatten=True)
            written = sum(int(s or 0) for s in files.column("size_bytes").to_pylist())
            records = sum(int(n or 0) for n in files.column("num_records").to_pylist())
        if not written or not records:
            types = cur.sql(f"select * from ({select}) limit 0").types
            version = delta_files.parquet_version(self.settings.publish_parquet_version, types)
            options = delta_files.parquet_options(codec, level, version)
            with tempfile.TemporaryDirectory(prefix="lakehouse-sample-") as folder:
                sample = os.path.join(folder, "sample.parquet")
                records = int(
                    _one(
                        cur,
                        f"copy (select * from ({select}) limit {ROW_GROUP_ROWS})"
                        f" to '{sample.replace(chr(39), chr(39) * 2)}' ({options})",
                    )[0]
                )
                written = os.path.getsize(sample)
        per_file = delta_files.size_bytes(delta_files.FILE_BYTES) * 9 // 10
        return max(1, per_file * max(records, 1) // max(written, 1))

    def _fingerprint(
        self, cur: duckdb.DuckDBPyConnection, select: str, hashes: str
    ) -> tuple[int, int, str]:
        """The model's row count, the sum of its row hashes and its content fingerprint, from
        ``hashes`` (its staged row hashes, or a query of them: column ``_lh_hash``)."""
        probe = cur.sql(f"{select} limit 0")
        schema = ";".join(f"{c}:{t}" for c, t in zip(probe.columns, probe.types, strict=True))
        row = _one(cur, f"select count(*), coalesce(sum({HASH_COLUMN}), 0)::varchar from {hashes}")
        # the hash version too: a fingerprint of other hashes is of other content
        text = f"{schema}|{row[0]}|{row[1]}|h{HASH_VERSION}"
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        return int(row[0]), int(row[1]), digest

    @contextmanager
    def _published(
        self, cur: duckdb.DuckDBPyConnection, table: DeltaTable, select: str, where: str = ""
    ) -> Iterator[str]:
        """The published version as a relation with the model's exact column types.

        Cast to the types of ``select``, so a row hashes the same on both sides. ``where``: a
        condition on the published columns as stored (given to the Arrow scan, which skips
        the files and row groups whose statistics rule it out).
        """
        name = f"_lh_published_{next(_REGISTERED)}"
        cur.register(name, arrow_dataset(table))
        try:
            probe = cur.sql(f"{select} limit 0")
            casts = ", ".join(
                f"cast({_q(c)} as {t}) as {_q(c)}"
                for c, t in zip(probe.columns, probe.types, strict=True)
            )
            yield f"(select {casts} from {name}{f' where {where}' if where else ''})"
        finally:
            cur.unregister(name)

    # -- the shadow of what a model has published: its key and a hash of every row ----------

    def _shadow(self, model: ModelSpec) -> str:
        return f"{SHADOW_SCHEMA}.{_q(model.layer + '__' + model.name)}"

    def _state(self, model: ModelSpec) -> str:
        return f"{SHADOW_SCHEMA}.{_q(model.layer + '__' + model.name + '__state')}"

    def _shadow_in_sync(
        self, cur: duckdb.DuckDBPyConnection, model: ModelSpec, current: DeltaTable
    ) -> bool:
        """Whether the shadow is of the table's current publish, keyed as the model is now."""
        try:
            seq, keys, _newest, hashed = _one(
                cur, f"select seq, keys, newest, hashed from {self._state(model)}"
            )
        except duckdb.Error:  # no shadow, or one from before keys, newest or hashes were recorded
            return False
        return bool(
            seq == current.transaction_version(model.app_id)
            and keys == _keys(model)
            and hashed == HASH_VERSION
        )

    def _drop_state(self, cur: duckdb.DuckDBPyConnection, model: ModelSpec) -> None:
        cur.execute(f"drop table if exists {self._state(model)}")

    def _stage_shadow(self, cur: duckdb.DuckDBPyConnection, model: ModelSpec, select: str) -> str:
        """``select``'s keys and row hashes in a table beside the shadow; its name."""
        keys = ", ".join(f"{ROW}.{_q(k)}" for k in model.unique_key)
        staged = f"{SHADOW_SCHEMA}.{_q(model.layer + '__' + model.name + '__next')}"
        keyed = keys + ", " if keys else ""
        # row hashes are random: stored uncompressed, which is what DuckDB picks for them after
        # trying every method (a quarter of the shadow's CPU at 10M rows, for the same bytes);
        # the key columns keep their exact types (text without a collation: _normalise) and
        # DuckDB's compression
        hashes = f"{HASH_COLUMN} ubigint using compression uncompressed"
        cur.execute(f"create schema if not exists {SHADOW_SCHEMA}")
        if keys:
            cur.execute(
                f"create or replace table {staged} as select {keys} from ({select}) as {ROW}"
                " limit 0"
            )
            cur.execute(f"alter table {staged} add column {hashes}")
        else:
            cur.execute(f"create or replace table {staged} ({hashes})")
        row_hash = _row_hash(cur, select)
        cur.execute(f"insert into {staged} select {keyed}{row_hash} from ({select}) as {ROW}")
        return staged

    def _install_shadow(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        staged: str,
        seq: int,
        newest: str = "null::timestamptz",
    ) -> None:
        """The staged hashes become the shadow of publish ``seq`` (one transaction)."""
        with _transaction(cur):
            cur.execute(f"drop table if exists {self._shadow(model)}")
            cur.execute(f"alter table {staged} rename to {_q(model.layer + '__' + model.name)}")
            self._write_state(cur, model, seq, newest)

    def _write_state(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        seq: int,
        newest: str,
        whole: tuple[int, int] | None = None,
    ) -> None:
        """The shadow's state: the publish it is of, the model's key, the newest
        ``_ingested_at`` then, the hash version; ``whole``: no shadow rows are kept, only the
        published rows' count and hash sum (``lazy``: :meth:`_lazy`)."""
        rows, total = whole if whole is not None else (None, None)
        cur.execute(
            f"create or replace table {self._state(model)} as select {seq}::bigint as seq,"
            f" '{_keys(model)}'::varchar as keys, {newest} as newest,"
            f" {HASH_VERSION}::integer as hashed, {whole is not None} as lazy,"
            f" {'null' if rows is None else rows}::bigint as rows,"
            f" {'null' if total is None else repr(str(total))}::hugeint as hash_sum"
        )

    def _install(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        staged: str | None,
        seq: int,
        newest: str,
        rows: int,
        total: int,
    ) -> None:
        """The state of publish ``seq``: the ``staged`` hashes as its shadow, or (``None``) no
        shadow rows, only their count and hash sum (one transaction)."""
        if staged is not None:
            self._install_shadow(cur, model, staged, seq, newest)
            return
        cur.execute(f"create schema if not exists {SHADOW_SCHEMA}")
        with _transaction(cur):
            cur.execute(f"drop table if exists {self._shadow(model)}")
            self._write_state(cur, model, seq, newest, (rows, total))

    def _keeps_no_shadow(
        self, cur: duckdb.DuckDBPyConnection, model: ModelSpec, select: str
    ) -> bool | None:
        """Whether an overwrite of ``model`` keeps no shadow rows, only their count and hash
        sum: a model with one integer key and a ``timestamptz`` ``_ingested_at`` (bronze's) of
        at least ``diff_ranges_from`` rows, whose next diffs compare its newer rows with the
        published rows in their key range (:meth:`_part_shadow`); staging a 10M-row shadow
        cost a fifth of its rewrite. Any other diff first builds the shadow from the published
        table (:meth:`_whole_shadow`). ``None`` for a view of such a model: counting its rows
        runs its query, so the publish's own pass over them (the fingerprint) decides."""
        if len(model.unique_key) != 1:
            return False
        probe = cur.sql(f"select * from ({select}) limit 0")
        types = dict(zip(probe.columns, (str(t) for t in probe.types), strict=True))
        if types.get(model.unique_key[0]) not in _INTEGER_KEYS:
            return False
        if types.get(INGESTED_AT) != "TIMESTAMP WITH TIME ZONE":
            return False
        if not _is_table(cur, model):
            return None
        return _count(cur, model.relation) >= self.diff_ranges_from

    def _lazy(self, cur: duckdb.DuckDBPyConnection, model: ModelSpec) -> tuple[int, int] | None:
        """(rows, hash sum) of the published version when no shadow rows are kept for it;
        ``None`` when they are (a state from before ``lazy`` was recorded kept them)."""
        try:
            lazy, rows, total = _one(cur, f"select lazy, rows, hash_sum from {self._state(model)}")
        except duckdb.Error:
            return None
        return (int(rows), int(total)) if lazy else None

    def _part_shadow(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        current: DeltaTable,
        select: str,
        rows: str,
    ) -> str:
        """The key and row hash of every published row whose key is in the key range of
        ``rows`` (a query of the model's rows with its one integer key), or NULL: what a
        scoped diff of ``rows`` compares with when no shadow rows are kept. Read from the
        table's files (those and the row groups whose key statistics meet the range). A file
        skipped although it holds such a row (an add action without the key's bounds skips
        its whole file: docs/pitfalls.md; only a file whose keys are all NULL lacks them) would
        only make a newer row look new: the proof's or the diff's row count then fails, and
        the diff falls back to the whole shadow or a rewrite, never to a merge missing a row."""
        key = _q(model.unique_key[0])
        low, high = _one(cur, f"select min({key}), max({key}) from ({rows})")
        where = f"{key} is null"
        if low is not None and high is not None:
            where = f"({key} between {int(low)} and {int(high)} or {where})"
        with self._published(cur, current, select, where) as published:
            cur.execute(
                f"create or replace temp table {PART_SHADOW} as select {ROW}.{key},"
                f" {_row_hash(cur, published)} as {HASH_COLUMN} from {published} as {ROW}"
            )
        return PART_SHADOW

    def _whole_shadow(
        self, cur: duckdb.DuckDBPyConnection, model: ModelSpec, select: str, current: DeltaTable
    ) -> bool:
        """The shadow of a model that kept none, built from the published table (its state's
        newest ``_ingested_at`` kept); False when it cannot be (as :meth:`_shadow_from_table`)."""
        newest = self._newest(cur, model)
        at = "null::timestamptz" if newest is None else f"'{newest}'::timestamptz"
        log.info("publishing %s: its shadow built from the published table", model.target)
        return self._shadow_from_table(cur, model, select, current, at)

    def _update_state(
        self, cur: duckdb.DuckDBPyConnection, model: ModelSpec, seq: int, newest: str, rows: int
    ) -> None:
        """After a merge or append of a model that keeps no shadow rows: its state follows the
        published rows (the hashes of those gone out, of those new or changed in: _lh_delta)."""
        gone, come = _one(
            cur,
            f"select coalesce(sum(_lh_s_hash) filter (_lh_in_shadow), 0)::varchar,"
            f" coalesce(sum({HASH_COLUMN}) filter (_lh_in_model), 0)::varchar from _lh_delta",
        )
        lazy = self._lazy(cur, model)
        if lazy is None:
            raise PublishError(f"{model.target}: no shadow state to update")
        total = lazy[1] - int(gone) + int(come)
        with _transaction(cur):
            self._write_state(cur, model, seq, newest, (rows, total))

    def _shadow_from_table(
        self,
        cur: duckdb.DuckDBPyConnection,
        model: ModelSpec,
        select: str,
        current: DeltaTable,
        newest: str = "null::timestamptz",
    ) -> bool:
        """Rebuild the shadow from the published table itself (lost, stale or re-keyed).

        False when the published rows' keys are not unique (a merge by key could not address
        them) or their columns cannot take the model's types.
        """
        try:
            with self._published(cur, current, select) as published:
                staged = self._stage_shadow(cur, model, published)
                self._install_shadow(cur, model, staged, _seq(current, model), newest)
        except duckdb.Error as exc:
            log.info("publishing %s: no shadow from the published table (%s)", model.target, exc)
            self._drop_state(cur, model)
            return False
        if _repeated_keys(cur, model, self._shadow(model)):
            self._drop_state(cur, model)
            return False
        return True

    def _update_shadow(
        self, cur: duckdb.DuckDBPyConnection, model: ModelSpec, seq: int, newest: str
    ) -> None:
        shadow = self._shadow(model)
        keys = list(model.unique_key) or [HASH_COLUMN]
        on = " and ".join(f"{shadow}.{_q(k)} = c.{_q(k)}" for k in keys)
        with _transaction(cur):
            if model.unique_key:
                cur.execute(f"delete from {shadow} using _lh_changes as c where {on}")
            cur.execute(f"delete from {shadow} using _lh_deleted as c where {on}")
            cur.execute(
                f"insert into {shadow} select {', '.join(_q(k) for k in keys)}"
                f"{', ' + HASH_COLUMN if model.unique_key else ''} from _lh_changes"
            )
            cur.execute(f"update {self._state(model)} set seq = {seq}, newest = {newest}")


def relation_parts(node: Any) -> tuple[str, str, str] | None:
    """(database, schema, table) of a model node in DuckDB (``None`` when it has none)."""
    database, schema = getattr(node, "database", None), getattr(node, "schema", None)
    name = getattr(node, "alias", None) or getattr(node, "name", None)
    if not (database and schema and name):
        return None
    return str(database), str(schema), str(name)


def _changed_table(cur: duckdb.DuckDBPyConnection) -> bool:
    found = _one(
        cur,
        "select count(*) from duckdb_tables() where schema_name = '_lakehouse_changed'"
        " and table_name = 'since'",
    )
    return bool(found[0])


def _this_table(parts: tuple[str, str, str], alias: str = "") -> str:
    database, schema, table = (_lit(p) for p in parts)
    return (
        f"{alias}database_name = {database} and {alias}schema_name = {schema}"
        f" and {alias}table_name = {table}"
    )


def changed_since(cur: duckdb.DuckDBPyConnection, model: ModelSpec) -> str | None:
    """The oldest ``_ingested_at`` at which a row of ``model`` may have changed since its last
    publish, as text; ``None``: any row may have (no entry, or ``-infinity``).

    From ``_lakehouse_changed.since`` (dbt_project/macros/changed_since.sql: the watermarks
    its incremental runs used since the last publish), entries of the DuckDB table as it is now
    only (a table rebuilt whole has a new ``table_oid``).
    """
    if model.parts is None or not _changed_table(cur):
        return None
    everything, since = _one(
        cur,
        "select min(c.since) = '-infinity'::timestamptz,"
        " strftime(min(c.since), '%Y-%m-%d %H:%M:%S.%f+00')"
        f" from {CHANGED_SINCE} as c join duckdb_tables() as t"
        " using (database_name, schema_name, table_name, table_oid)"
        f" where {_this_table(model.parts, 't.')}",
    )
    return None if since is None or everything else str(since)


def forget_changes(cur: duckdb.DuckDBPyConnection, parts: tuple[str, str, str] | None) -> None:
    """After a model passed its tests and was published (or kept): its entries go, so the
    next build's tests and publish start from that build's own watermarks."""
    if parts is not None and _changed_table(cur):
        cur.execute(f"delete from {CHANGED_SINCE} where {_this_table(parts)}")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _row_hash(cur: duckdb.DuckDBPyConnection, select: str) -> str:
    """The hash of a row of ``select`` (aliased :data:`ROW`), the one every hash site uses.

    DuckDB hashes values that compare equal the same: a FLOAT or DOUBLE column's sign of zero
    is hashed beside the row, so 0.0 becoming -0.0 is a change (not inside a list or struct:
    docs/dbt.md). Text loses its collation in :func:`_normalise`.
    """
    probe = cur.sql(f"select * from ({select}) limit 0")
    signs = [
        f", signbit({ROW}.{_q(column)})"
        for column, dtype in zip(probe.columns, probe.types, strict=True)
        if str(dtype) in ("FLOAT", "DOUBLE")
    ]
    return f"hash({ROW}{''.join(signs)})"


def _keys(model: ModelSpec) -> str:
    """The shadow's key, as recorded beside it (a shadow keyed otherwise is rebuilt)."""
    return json.dumps(list(model.unique_key))


def _normalise(model: ModelSpec, column: str, dtype: DuckDBPyType) -> str:
    """One select expression: ``column`` cast to the type it is published with.

    The rules of :func:`_published_leaf` hold at every depth: a STRUCT, LIST, fixed-size ARRAY
    or MAP holding a type they change is cast whole, once, to the same nesting of published
    types; a column of plain types (or nested ones the rules keep) is selected as it is.
    """
    name = _q(column)
    if dtype.id in _NESTED:
        target, changed = _published_type(model, column, column, dtype)
        return f"cast({name} as {target}) as {name}" if changed else name
    leaf = _published_leaf(model, column, column, str(dtype), dtype.id)
    if leaf is not None:
        return f"cast({name} as {leaf}) as {name}"
    if str(dtype) == "VARCHAR":
        # without its collation, if any (Delta stores none; the type's name does not show it):
        # under COLLATE NOCASE 'alice' and 'ALICE' are equal, and hash the same
        return f'{name} collate "binary" as {name}'
    return name


def _published_type(
    model: ModelSpec, column: str, path: str, dtype: DuckDBPyType
) -> tuple[str, bool]:
    """The DuckDB type ``dtype`` (``column``'s, at field ``path``) is published as, and whether
    it differs from ``dtype`` anywhere: :func:`_published_leaf` at every depth."""
    return _retyped(
        path, dtype, lambda at, leaf: _published_leaf(model, column, at, str(leaf), leaf.id)
    )


def _retyped(
    path: str, dtype: DuckDBPyType, leaf: Callable[[str, DuckDBPyType], str | None]
) -> tuple[str, bool]:
    """``dtype`` with each type below it that is neither a struct, list, array nor map replaced
    by ``leaf(its field path, it)`` (``None``: kept), and whether anything was replaced."""
    kind = dtype.id
    parts = _parts(dtype)
    if kind == "struct":
        fields = []
        changed = False
        for field, child in parts.items():
            target, moved = _retyped(f"{path}.{field}", child, leaf)
            fields.append(f"{_q(field)} {target}")
            changed = changed or moved
        return f"STRUCT({', '.join(fields)})", changed
    if kind in ("list", "array"):
        target, changed = _retyped(f"{path}[]", parts["child"], leaf)
        size = dict(dtype.children).get("size")
        return f"{target}[{size}]" if kind == "array" else f"{target}[]", changed
    if kind == "map":
        key, key_moved = _retyped(f"{path}.key", parts["key"], leaf)
        value, value_moved = _retyped(f"{path}.value", parts["value"], leaf)
        return f"MAP({key}, {value})", key_moved or value_moved
    replaced = leaf(path, dtype)
    return (str(dtype), False) if replaced is None else (replaced, True)


def _refuse_nanoseconds(
    cur: duckdb.DuckDBPyConnection,
    model: ModelSpec,
    columns: Sequence[str],
    types: Sequence[DuckDBPyType],
) -> None:
    """Refuse a model holding a ``TIMESTAMP_NS`` value (at any depth) that is not a whole
    microsecond: Delta's timestamps are microseconds, and the cast to them would round it
    (bronze refuses such a file too). One pass over the model, only when it has such a column:
    each column compared with itself through microseconds, the first that differs named with its
    first such value (the column's whole value, as text, where the timestamp is nested)."""
    found = []
    for column, dtype in zip(columns, types, strict=True):
        paths: list[str] = []

        def micro(at: str, leaf: DuckDBPyType, paths: list[str] = paths) -> str | None:
            if leaf.id != "timestamp_ns":
                return None
            paths.append(at)
            return "TIMESTAMP"

        through, holds = _retyped(column, dtype, micro)
        if holds:
            name = _q(column)
            where = (
                f"column {column}" if paths == [column] else f"column {column} ({', '.join(paths)})"
            )
            # try_cast: a map whose keys become one key in microseconds has no such value
            # (DuckDB: "Map keys must be unique"), NULL here, so it differs, and is named so
            micro_value = f"try_cast({name} as {through})"
            differs = f"cast({micro_value} as {dtype}) is distinct from {name}"
            one_key = f"{micro_value} is null and {name} is not null"
            found.append((where, differs, f"cast({name} as varchar), {one_key}"))
    if not found:
        return
    picks = ", ".join(f"{differs}, {shown}" for _, differs, shown in found)
    rows = cur.execute(
        f"select {picks} from {model.relation}"
        f" where {' or '.join(differs for _, differs, _ in found)} limit 1"
    ).fetchall()
    for index, (where, _, _) in enumerate(found if rows else ()):
        differs, value, one_key = rows[0][3 * index : 3 * index + 3]
        if differs and one_key:
            raise PublishError(
                f"model {model.name}, {where}: {value} holds a map whose TIMESTAMP_NS keys are"
                " not whole microseconds and would become one key in microseconds, which Delta"
                " cannot hold apart (a map's keys are unique); make them distinct microseconds"
                " in the model"
            )
        if differs:
            raise PublishError(
                f"model {model.name}, {where}: {value} holds a TIMESTAMP_NS"
                " that is not a whole microsecond, which Delta cannot hold (the publish would"
                " round it); make it microseconds in the model (a cast to timestamp rounds it)"
            )


def _parts(dtype: DuckDBPyType) -> dict[str, DuckDBPyType]:
    """A nested type's child types by name: a struct's fields, a list's or array's ``child``, a
    map's ``key`` and ``value`` (an array's ``size`` is no type: left out)."""
    if dtype.id not in _NESTED:
        return {}
    return {name: child for name, child in dtype.children if isinstance(child, DuckDBPyType)}


def _published_leaf(model: ModelSpec, column: str, path: str, dtype: str, kind: str) -> str | None:
    """The type a value of DuckDB type ``dtype`` (neither a struct, list, array nor map) is
    published as, ``None`` for its own; a type Delta cannot hold is refused, naming the model,
    the column and (inside a nested type) the field: ``path``, such as ``c.totals[].revenue``
    (``[]`` an element of a list, ``.key``/``.value`` a map's)."""
    where = f"column {column}" if path == column else f"column {column}, field {path}"
    base = dtype.split("(")[0]
    if base in _TO_BIGINT:
        return "BIGINT"
    if base in _WIDEN:
        return _WIDEN[base]
    if base in _NAIVE_TIMESTAMPS:
        if model.timestamps == "error":
            raise PublishError(
                f"model {model.name}, {where}: a naive {dtype} would be published as "
                "timestampNtz (Delta reader 3 / writer 7); cast it to timestamptz in the model "
                "or set meta.publish_timestamps to utc or ntz"
            )
        return "TIMESTAMPTZ" if model.timestamps == "utc" else "TIMESTAMP"
    if base in _TO_VARCHAR or kind == "enum":
        return "VARCHAR"
    if base in _REFUSED or kind == "union":
        raise PublishError(
            f"model {model.name}, {where}: Delta has no {dtype} type; "
            "cast it in the model (to varchar, a number or a timestamp)"
        )
    return None


@contextmanager
def _transaction(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    cur.execute("begin")
    try:
        yield
    except BaseException:
        cur.execute("rollback")
        raise
    cur.execute("commit")


def _last_fingerprint(table: DeltaTable) -> str | None:
    """The fingerprint of the last publish (maintenance commits in between are skipped).

    The newest commit is read first, alone: it is the last publish but after upkeep, and
    delta-rs reads every commit file a ``history(n)`` asks for; then the 50 newest."""
    for limit in (1, 50):  # the 50 newest only when the newest does not say
        commits = table.history(limit)
        for commit in commits:
            value = commit.get(FINGERPRINT_KEY)
            if value is not None:
                return str(value)
            if "lakehouse.model" in commit:
                return None  # an incremental merge: no whole-table fingerprint
        if len(commits) < limit:
            return None  # the table has no more commits
    return None


def _repeated_keys(cur: duckdb.DuckDBPyConnection, model: ModelSpec, relation: str) -> bool:
    """Whether two rows of ``relation`` share the model's key (never for a keyless model)."""
    if not model.unique_key:
        return False
    keys = ", ".join(_q(k) for k in model.unique_key)
    # one scan; a row() is never NULL and DISTINCT holds NULL fields equal: as `select distinct`
    found = _one(cur, f"select count(distinct row({keys})) <> count(*) from {relation}")
    return bool(found[0])


def _writer(schema: pa.Schema, level: int = LEVEL) -> WriterProperties:
    """delta-rs's Parquet options for published rows of ``schema``: zstd at ``level``, and no
    footer statistics for float columns (:func:`lakehouse.delta_stats.writer_properties`)."""
    return delta_stats.writer_properties(schema, compression="ZSTD", compression_level=level)


def _compression(current: DeltaTable | None, rows: int | None) -> tuple[str, int]:
    """The codec and zstd level of a local rewrite of ``rows`` rows (``None``: not known) into
    ``current``: Snappy from :data:`SNAPPY_FROM` rows unless the table is small, else zstd at
    :func:`_compression_level` (the level is then unused for Snappy)."""
    level = _compression_level(current)
    if rows is not None and rows >= SNAPPY_FROM and level != SMALL_TABLE_LEVEL:
        return "snappy", level
    return "zstd", level


def _written_with(table: DeltaTable) -> str | None:
    """The codec of a local table's largest file (lowercase, as DuckDB names it: ``zstd``,
    ``snappy``; a table's appends may be of another); ``None`` when it cannot be read."""
    try:
        files = [uri.removeprefix("file://") for uri in table.file_uris()]
        largest = max(files, key=os.path.getsize, default=None)
        if largest is None:
            return None
        meta = pq.read_metadata(largest)
        return str(meta.row_group(0).column(0).compression).lower() if meta.num_row_groups else None
    except (OSError, ValueError, pa.ArrowException):
        return None


def _compression_level(current: DeltaTable | None) -> int:
    """The zstd level of a rewrite of ``current``: :data:`SMALL_TABLE_LEVEL` for a table whose
    files hold under :data:`SMALL_TABLE_BYTES`, else :data:`LEVEL`; that for a
    new table (its size is not known yet)."""
    if current is None:
        return LEVEL
    sizes = current.get_add_actions(flatten=True).column("size_bytes").to_pylist()
    return SMALL_TABLE_LEVEL if sum(int(s or 0) for s in sizes) < SMALL_TABLE_BYTES else LEVEL


def _is_table(cur: duckdb.DuckDBPyConnection, model: ModelSpec) -> bool:
    """Whether the model is a table in DuckDB (a view has no ``rowid``)."""
    try:
        cur.execute(f"select rowid from {model.relation} limit 0").fetchall()
    except duckdb.Error:
        return False
    return True


def _row_groups(
    cur: duckdb.DuckDBPyConnection, model: ModelSpec, group_rows: int | None = None
) -> list[tuple[Any, Any, int, int]] | None:
    """The model table's row groups (``rowid`` order, ``group_rows`` each: by default
    :data:`ROW_GROUP_ROWS`) by its single key: the key's min, max and non-NULL count, and the
    group's rows; ``None`` for a view (no ``rowid``).

    The group number is first cast to ``UTINYINT``: DuckDB then groups in a perfect hash
    table (an array indexed by the number, its range known from the type) instead of
    hashing each row's, 0.041 CPU s instead of 0.065 at 10M rows (82 groups). A table of
    more than 256 groups (31.4M rows) fails that cast, and is grouped as before."""
    key = _q(model.unique_key[0])
    aggregates = f"min({key}), max({key}), count({key}), count(*) from {model.relation}"
    group = f"rowid // {int(group_rows or ROW_GROUP_ROWS)}"
    try:
        try:
            found = cur.execute(
                f"select {aggregates} group by ({group})::utinyint order by ({group})::utinyint"
            ).fetchall()
        except duckdb.ConversionException:  # more than 256 groups
            found = cur.execute(f"select {aggregates} group by {group} order by {group}").fetchall()
    except duckdb.Error:  # a view has no rowid
        return None
    return [(lo, hi, int(n), int(total)) for lo, hi, n, total in found]


def _ascending(groups: Sequence[tuple[Any, Any, int, int]]) -> bool:
    """Whether the key ranges of the row groups (those with a key) ascend without overlap."""
    spans = [(lo, hi) for lo, hi, n, _ in groups if n]
    return all(a[1] < b[0] for a, b in itertools.pairwise(spans))


def key_parts(
    groups: Sequence[tuple[int, int, int]], rows_per_file: int
) -> list[tuple[int | None, int | None]] | None:
    """Half-open key ranges ``[low, high)`` (``None``: unbounded) that cut a key into parts of
    about ``rows_per_file`` rows, each part's rows read once; ``None``: sort instead;
    ``[(None, None)]``: the rows fit in one part, written in their own order.

    ``groups``: (min key, max key, rows with a key) of each row group. The cuts are where the
    count of rows by key, estimated with each group's rows spread evenly over its key range,
    passes each part's share. The ranges cover every key, from below the least to above the
    greatest, so each row with a key is in exactly one part whatever the groups say: the
    estimate only sizes the parts. A part is read from the row groups whose key range meets
    it; ``None`` when that would read more than ``PARTS_READ`` times the rows (the key is not
    nearly in order: a wide group is read by every part it meets). Rows that fit in one part
    are one part, ``[(None, None)]``, when two parts would pass that test (their row groups
    then hold key ranges as narrow as two parts' would: a sort only orders the row groups
    within the file, for a third of the write's CPU at 10M rows); ``None`` otherwise.
    """
    spans = [(lo, hi, n) for lo, hi, n in groups if n]
    total = sum(n for _, _, n in spans)
    parts = -(-total // max(rows_per_file, 1))
    if parts < 2:
        if total < 2 or key_parts(groups, -(-total // 2)) is None:
            return None
        return [(None, None)]

    def below(key: int) -> float:
        """About how many rows have a key under ``key``."""
        return sum(
            n if hi < key else n * (key - lo) / (hi - lo + 1) for lo, hi, n in spans if lo < key
        )

    low, high = min(lo for lo, _, _ in spans), max(hi for _, hi, _ in spans)
    cuts: list[int] = []
    for i in range(1, parts):
        share, a, b = total * i / parts, low, high + 1
        while a < b:  # the least key with about `share` rows under it
            middle = (a + b) // 2
            if below(middle) < share:
                a = middle + 1
            else:
                b = middle
        if low < a <= high and (not cuts or a > cuts[-1]):
            cuts.append(a)
    if not cuts:
        return None
    bounds: list[int | None] = [None, *cuts, None]
    ranges = list(itertools.pairwise(bounds))
    read = sum(
        n
        for lo, hi, n in spans
        for a, b in ranges
        if (a is None or hi >= a) and (b is None or lo < b)
    )
    return ranges if read <= PARTS_READ * total else None


def _deleted_rows(cur: duckdb.DuckDBPyConnection) -> int:
    """The published rows a keyless diff deletes (every copy of each deleted row)."""
    return int(_one(cur, "select coalesce(sum(_lh_n), 0) from _lh_deleted")[0])


def _touched_share(cur: duckdb.DuckDBPyConnection, model: ModelSpec, table: DeltaTable) -> float:
    """The share of the table's rows in files whose key range holds a changed or deleted key.

    From the files' min/max statistics of a single-column key; 1.0 when they cannot tell.
    """
    if len(model.unique_key) != 1:
        return 1.0
    key = model.unique_key[0]
    files = pa.table(table.get_add_actions(flatten=True))
    low, high = f"min.{key}", f"max.{key}"
    if low not in files.schema.names or high not in files.schema.names:
        return 1.0
    stats = files.select(["num_records", low, high]).rename_columns(["n", "lo", "hi"])
    cur.register("_lh_files", stats)
    try:
        k = _q(key)
        keys = f"(select {k} as k from _lh_changes union all select {k} from _lh_deleted)"
        touched, total = _one(
            cur,
            "select coalesce(sum(n) filter (where lo is null or hi is null or exists"
            f" (select 1 from {keys} as u where u.k between f.lo and f.hi)), 0),"
            " coalesce(sum(n), 0) from _lh_files as f",
        )
    finally:
        cur.unregister("_lh_files")
    return float(touched) / float(total) if total else 1.0


def _null_key_changed(cur: duckdb.DuckDBPyConnection, model: ModelSpec) -> bool:
    """Whether a changed or deleted row has a NULL in its key (a merge cannot address it)."""
    nulls = " or ".join(f"{_q(k)} is null" for k in model.unique_key)
    found = _one(
        cur,
        f"select exists (select 1 from _lh_changes where {nulls})"
        f" or exists (select 1 from _lh_deleted where {nulls})",
    )
    return bool(found[0])


def _key_range(
    cur: duckdb.DuckDBPyConnection,
    model: ModelSpec,
    alias: str = "t.",
    quote: Callable[[str], str] | None = None,
    *,
    relation: str = "",
) -> str:
    """For one integer key, the range the merge touches, so delta-rs skips other files (or
    DuckDB other row groups: ``quote`` is ``_q``); a condition on ``alias``'s key column.
    ``relation``: the range of its keys instead (rows whose key is NULL are then kept too)."""
    if len(model.unique_key) != 1:
        return ""
    key = _q(model.unique_key[0])
    keys = relation or f"(select {key} from _lh_changes union all select {key} from _lh_deleted)"
    probe = cur.sql(f"select {key} from {keys} limit 0")
    if str(probe.types[0]) not in _INTEGER_KEYS:
        return ""
    low, high = _one(cur, f"select min({key}), max({key}) from {keys}")
    if low is None or high is None:
        return ""
    column = (quote or _bq)(model.unique_key[0])
    if relation:
        return (
            f" and ({alias}{column} between {int(low)} and {int(high)} or {alias}{column} is null)"
        )
    return f" and {alias}{column} >= {int(low)} and {alias}{column} <= {int(high)}"


def _seq(table: DeltaTable | None, model: ModelSpec) -> int:
    if table is None:
        return 0
    return int(table.transaction_version(model.app_id) or 0)


def _same_types(cur: duckdb.DuckDBPyConnection, select: str, table: DeltaTable) -> bool:
    """Whether ``select``'s columns have the Delta types ``table`` holds, at every depth.

    A row's hash is of its values: ``1::integer`` and ``1::bigint``, or a struct's ``HUGEINT``
    and the ``BIGINT`` it is published as, hash the same, so a model whose types alone changed
    diffs as unchanged. The table is rewritten instead (a table published before a nested type
    was normalised, say, gets the published types and exact values)."""
    schema = cur.sql(f"select * from ({select}) limit 0").to_arrow_reader(1).schema
    return bool(DeltaSchema.from_arrow(schema) == table.schema())


def _count(cur: duckdb.DuckDBPyConnection, relation: str) -> int:
    return int(_one(cur, f"select count(*) from {relation}")[0])


def _one(cur: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The single row of ``sql`` (fetched to the end: DuckDB 2 refuses half-read results)."""
    rows = cur.execute(sql).fetchall()
    if len(rows) != 1:
        raise PublishError(f"expected one row from {sql!r}, got {len(rows)}")
    return tuple(rows[0])


def _q(identifier: str) -> str:
    """A DuckDB-quoted identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def _bq(identifier: str) -> str:
    """A delta-rs (DataFusion) quoted identifier."""
    return "`" + identifier.replace("`", "``") + "`"


#: The instants a Python ``datetime`` holds, in microseconds since 1970 (0001-01-01 to
#: 9999-12-31 23:59:59.999999): deltalake reads a Delta bound outside them as none
_FIRST_US = -62_135_596_800_000_000
_LAST_US = 253_402_300_799_999_999


def _unbounded_times(
    cur: duckdb.DuckDBPyConnection, select: str, schema: pa.Schema | None = None
) -> list[str]:
    """The columns of ``select`` (a query or relation) holding a timestamp or date no Delta
    reader can bound (past 9999-12-31, before year 1, infinite: DuckDB computes them), as a
    column or as a field of a struct at any depth.

    A file's add action gets no bound for such a column (delta-rs's string for it deltalake
    reads as none), and deltalake's Arrow dataset then skips the whole file for any filter on
    it: the publish keeps these columns out of the table's statistics columns instead
    (:func:`lakehouse.delta_stats.guard`), which costs only skipping by them. delta-rs writes
    bounds for a struct's fields too (``{"s": {"t": "+10000-01-01T00:00:00Z"}}``), so a struct
    holding such a field leaves them whole; a list's or a map's values get no bounds."""
    if schema is None:
        schema = cur.sql(f"select * from ({select}) limit 0").to_arrow_reader(1).schema
    leaves = [(f.name, path) for f in schema for path in _time_leaves(_q(f.name), f.type)]
    if not leaves:
        return []
    # from each leaf's least and greatest value (infinities sort at the ends): a value out
    # of range makes one of them so. The same answer as testing every row (a property test
    # compares them), for a hundredth of its CPU at 10M rows (min/max of a table's column
    # cost DuckDB next to nothing; isinf and epoch_us of every value 0.07 s)
    checks = ", ".join(
        f"(isinf(min({p})) or isinf(max({p})) or epoch_us(min({p})) < {_FIRST_US}"
        f" or epoch_us(max({p})) > {_LAST_US})"
        for _, p in leaves
    )
    [found] = cur.sql(f"select {checks} from ({select})").fetchall()
    far = {name for (name, _), out in zip(leaves, found, strict=True) if out}
    return [f.name for f in schema if f.name in far]


def _time_leaves(expr: str, kind: pa.DataType) -> list[str]:
    """The SQL of each timestamp or date reachable from ``expr`` (of Arrow type ``kind``)
    through struct fields only (the places Delta keeps bounds of)."""
    if pa.types.is_timestamp(kind) or pa.types.is_date32(kind):
        return [expr]
    if not pa.types.is_struct(kind):
        return []
    return [
        leaf
        for i in range(kind.num_fields)
        for leaf in _time_leaves(
            f"struct_extract({expr}, {_lit(kind.field(i).name)})", kind.field(i).type
        )
    ]
