"""dbt-duckdb plugin ``lakehouse_bronze``: bronze Delta tables as the dbt source ``bronze``.

Registered in ``profiles.yml`` (``plugins: [{module: transform.dbt_plugin, alias:
lakehouse_bronze}]``) and used by a source with ``meta: {plugin: lakehouse_bronze}``. A model
writes ``{{ source('bronze', 'orders') }}``; the plugin serves ``dados/bronze/orders`` (the place
comes from :class:`~lakehouse.settings.Settings`, never from the model).

What it fixes in dbt-duckdb's stock ``delta`` plugin (docs/pitfalls.md):

* **One pinned snapshot per table per build.** :func:`begin_build` starts a build: every bronze
  table is pinned at its *complete version* (:func:`lakehouse.complete.complete_version`: the
  newest version at which no landing file is half-committed; the pieces of a big file stay
  invisible until its last piece), and every ``source()`` of that build reads that version,
  whatever the loader commits meanwhile. A table with no complete version yet is left out of the
  build as if it were not loaded. :attr:`BuildPins.read_versions` records which versions the
  build actually read. Without a builder (a plain ``dbt`` command) one set of pins lives for the
  whole process, which is one build.
* **``threads > 1``.** The stock path re-creates the source view for every model that references
  the source, from every thread at once (catalog write-write conflicts), and mutates a dict other
  threads iterate. Here the view is created once per pinned snapshot under a lock, and each DuckDB
  cursor gets the pinned Arrow datasets registered by :meth:`Plugin.configure_cursor`, under
  snapshot-qualified names, so a cursor can never read another build's snapshot. A snapshot is
  the table's Delta id and a version: a table deleted and created again under the same name
  restarts at version 0, and a view keyed by the version alone would read the old table.

Data is read lazily, never materialised in Python memory: a plain local table (reader version 1,
no partitions, which is what the loader writes) is read by DuckDB's own Parquet reader from the
snapshot's exact file list (``DeltaTable.file_uris()``); anything else (deletion vectors, column
mapping, partitions, object storage) through an Arrow dataset
(:func:`lakehouse.storage.arrow_dataset`).

The plugin also keeps the DuckDB connection dbt opened (:func:`connection`), so the publisher can
read built models in this process: the warm dbt connection holds the database file's lock.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
import pyarrow.dataset as pads
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.duckdb.utils import SourceConfig
from deltalake import DeltaTable

from lakehouse import duckdb_config
from lakehouse.complete import complete_version
from lakehouse.exceptions import LakehouseError
from lakehouse.history import HISTORY_COLUMNS, HISTORY_TABLE, OPS_FOLDER, ops_table_path
from lakehouse.layout import check_table_name, list_tables, table_path
from lakehouse.settings import Settings
from lakehouse.storage import arrow_dataset
from transform._dbt_duckdb_internals import route_load_source
from transform.bronze_since import commit_stamp, files_since
from transform.publish import CHANGED_SINCE, CHANGED_SINCE_DDL

log = logging.getLogger(__name__)

#: Guards the module state below and every catalog change the plugin makes.
_LOCK = threading.RLock()
_BUILD_IDS = itertools.count(1)


class BronzeSourceError(LakehouseError):
    """A bronze source that cannot be served (missing table, bad name)."""


class IncompleteSourceError(BronzeSourceError):
    """A bronze table with no complete version yet (its first file is still coming in)."""


#: what a source's ``meta: {folder: ...}`` may name: bronze (the default) or the pipeline's own
#: history tables under ``dados/ops`` (lakehouse.history)
FOLDERS = ("bronze", OPS_FOLDER)


@dataclass(frozen=True, slots=True)
class Pin:
    table: str
    version: int
    #: the snapshot as an Arrow dataset; ``None`` until :attr:`dataset` is first read (a plain
    #: local table, read by DuckDB from ``files``, seldom needs it)
    arrow: pads.Dataset | None = None
    #: the snapshot's Parquet files, when DuckDB's own reader can serve it exactly
    files: tuple[str, ...] = ()
    #: the Delta table's id (its metadata ``id``, new when a table is deleted and created again
    #: under the same name, whose versions then start again at 0)
    table_id: str = ""
    folder: str = "bronze"
    #: the table's local folder, when ``files`` are set (the version watermark reads its log)
    root: str = ""

    @property
    def registered_name(self) -> str:
        """The name the dataset is registered under on every cursor of the build.

        Names a snapshot: the table's id and version, so that a table deleted and re-created
        (versions from 0 again) never matches a view over the old table's files.
        """
        table_id = re.sub(r"[^0-9a-zA-Z]", "", self.table_id)
        label = f"v{self.version}" if self.version >= 0 else "empty"
        return f"__lakehouse_{self.folder}__{self.table}__{table_id}__{label}"

    @property
    def dataset(self) -> pads.Dataset:
        """The snapshot as an Arrow dataset (made on first use from ``root`` at ``version``)."""
        if self.arrow is None:
            with _LOCK:
                if self.arrow is None:
                    made = arrow_dataset(DeltaTable(self.root, version=self.version))
                    object.__setattr__(self, "arrow", made)
        assert self.arrow is not None
        return self.arrow

    @property
    def relation(self) -> str:
        """What the source's view selects from: the pinned files, or the registered dataset."""
        if not self.files:
            return self.registered_name
        paths = ", ".join("'" + path.replace("'", "''") + "'" for path in self.files)
        # can_have_nan: delta-rs and pyarrow leave NaN out of a float column's footer bounds,
        # which DuckDB would otherwise trust and skip the row group holding it (`x > 10`)
        return (
            f"read_parquet([{paths}], union_by_name = true, hive_partitioning = false,"
            " can_have_nan = true)"
        )


@dataclass
class BuildPins:
    """The bronze snapshots of one build: pinned once, read by every model of the build."""

    settings: Settings
    build_key: int = field(default_factory=lambda: next(_BUILD_IDS))
    pins: dict[str, Pin] = field(default_factory=dict)
    #: tables of ``dados/ops`` read by the build, pinned at their latest version
    ops_pins: dict[str, Pin] = field(default_factory=dict)
    read: set[str] = field(default_factory=set)
    #: tables pinned below their latest version, ``{table: (pinned or None, latest)}``: a file
    #: is half-committed there (its pieces are not all in yet)
    held_back: dict[str, tuple[int | None, int]] = field(default_factory=dict)

    def pin_all(self) -> None:
        """Pin every bronze table that has a complete version now (every cursor sees them)."""
        for table in list_tables(self.settings, "bronze"):
            try:
                self._pin(table)
            except IncompleteSourceError as exc:
                log.info("%s", exc)  # left out of the build like a table not loaded yet

    def get(self, table: str) -> Pin:
        """The pinned snapshot of ``table`` (pinned now if it was not), recorded as read."""
        with _LOCK:
            pin = self.pins.get(table) or self._pin(table)
            self.read.add(table)
            return pin

    def get_ops(self, table: str) -> Pin:
        """The pinned snapshot of ``dados/ops/<table>`` (pinned now if it was not). Not a
        bronze read: no batch is published by it."""
        with _LOCK:
            pin = self.ops_pins.get(table)
            if pin is None:
                pin = self.ops_pins[table] = self._pin_ops(table)
            return pin

    def all_pins(self) -> list[Pin]:
        with _LOCK:
            return [*self.pins.values(), *self.ops_pins.values()]

    def _pin_ops(self, table: str) -> Pin:
        path = ops_table_path(self.settings, table)
        options = self.settings.storage_options or None
        if not DeltaTable.is_deltatable(str(path), storage_options=options):
            if table != HISTORY_TABLE:
                raise BronzeSourceError(
                    f"ops table {table!r} does not exist (the lakehouse writes "
                    f"{OPS_FOLDER}/{HISTORY_TABLE} only)"
                )
            # no build has published a batch yet: the history is there, and empty
            empty = pads.dataset(HISTORY_COLUMNS.empty_table())
            return Pin(table=table, version=-1, arrow=empty, folder=OPS_FOLDER)
        delta = DeltaTable(str(path), storage_options=options)
        return Pin(
            table=table,
            version=delta.version(),
            arrow=arrow_dataset(delta),
            table_id=str(delta.metadata().id),
            files=() if options else _plain_parquet_files(delta),
            folder=OPS_FOLDER,
        )

    @property
    def read_versions(self) -> dict[str, int]:
        """``{table: version}`` of the bronze tables this build read."""
        with _LOCK:
            return {table: self.pins[table].version for table in sorted(self.read)}

    @property
    def pinned_versions(self) -> dict[str, int]:
        with _LOCK:
            return {table: pin.version for table, pin in sorted(self.pins.items())}

    def _pin(self, table: str) -> Pin:
        path = table_path(self.settings, "bronze", check_table_name(table))
        options = self.settings.storage_options or None
        uri = str(path)
        delta = _opened(uri) if options is None else None
        if delta is None:
            if not DeltaTable.is_deltatable(uri, storage_options=options):
                raise BronzeSourceError(
                    f"bronze table {table!r} does not exist yet (no Delta table at {uri}): "
                    "load data into the landing zone first, or do not select models that read it"
                )
            delta = DeltaTable(uri, storage_options=options)
        version = complete_version(delta)  # brings ``delta`` to the latest version
        latest = delta.version()
        if version != latest:
            with _LOCK:
                self.held_back[table] = (version, latest)
            log.info(
                "bronze %s: pinned at v%s, not v%s: a file is still coming in pieces",
                table,
                version,
                latest,
            )
            if version is None:
                raise IncompleteSourceError(
                    f"bronze table {table!r} has no complete version yet: the pieces of its "
                    "first file are still coming in"
                )
            delta.load_as_version(version)
        files = () if options else _plain_parquet_files(delta)
        pin = Pin(
            table=table,
            version=delta.version(),
            # DuckDB reads the files of a plain local table: its Arrow dataset only if asked for
            arrow=None if files else arrow_dataset(delta),
            files=files,
            table_id=str(delta.metadata().id),
            root=_local_root(delta) if files else "",
        )
        if options is None:
            _keep_opened(uri, delta)
        with _LOCK:
            self.pins[table] = pin
        return pin


#: local bronze tables as the last pin left them: ``{uri: (table, stamp of the commit it holds)}``
_OPENED: dict[str, tuple[DeltaTable, str]] = {}


def _opened(uri: str) -> DeltaTable | None:
    """The local table at ``uri`` as the last build's pin left it, if it is still that table:
    the log still holds the commit it was at, byte for byte (``bronze_since.commit_stamp``).
    Bringing it up to date reads the commits since, not the whole log again (opening every
    bronze table anew was ~10% of a warm event build's time). A table deleted, put back from
    a copy or created anew has another commit of that number, or none: opened anew."""
    with _LOCK:
        kept = _OPENED.pop(uri, None)
    if kept is None:
        return None
    delta, stamp = kept
    try:
        root = Path(_local_root(delta))
        if commit_stamp(root, delta.version()) == stamp:
            return delta
    except Exception:  # any doubt: open it anew
        log.debug("not reusing %s", uri, exc_info=True)
    return None


def _keep_opened(uri: str, delta: DeltaTable) -> None:
    stamp = commit_stamp(Path(_local_root(delta)), delta.version())
    if stamp is not None:
        with _LOCK:
            _OPENED[uri] = (delta, stamp)


@dataclass
class _State:
    pins: BuildPins | None = None
    #: whose bronze a build that did not pin first reads (``None``: ``Settings()``)
    settings: Settings | None = None
    connection: duckdb.DuckDBPyConnection | None = None
    #: view name -> registered name it currently selects from, per DuckDB connection
    views: dict[str, str] = field(default_factory=dict)


_STATE = _State()


def begin_build(settings: Settings) -> BuildPins:
    """Start a build: pin every bronze table now; later ``source()`` calls read these pins."""
    pins = BuildPins(settings=settings)
    pins.pin_all()
    with _LOCK:
        _STATE.pins = pins
    log.debug("build %s pinned bronze %s", pins.build_key, pins.pinned_versions)
    return pins


def use_settings(settings: Settings) -> None:
    """The settings of this process's dbt session (a plain ``dbt`` command reads ``Settings()``)."""
    with _LOCK:
        _STATE.settings = settings


def current_pins() -> BuildPins:
    """The pins of the current build (a process-wide build when no builder started one)."""
    with _LOCK:
        if _STATE.pins is None:
            pins = BuildPins(settings=_STATE.settings or Settings())
            pins.pin_all()
            _STATE.pins = pins
        return _STATE.pins


def connection() -> duckdb.DuckDBPyConnection | None:
    """The DuckDB connection dbt opened last in this process (``None`` before any build)."""
    with _LOCK:
        return _STATE.connection


def prepare_cursor(cursor: duckdb.DuckDBPyConnection) -> None:
    """Register the current build's pinned datasets on ``cursor`` (views over bronze need them)."""
    with _LOCK:
        pins = _STATE.pins.all_pins() if _STATE.pins else []
    for pin in pins:
        if not pin.files:
            cursor.register(pin.registered_name, pin.dataset)


class Plugin(BasePlugin):
    """The ``lakehouse_bronze`` plugin (dbt-duckdb's plugin API, see the module docstring)."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.config = plugin_config

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        with _LOCK:
            _STATE.connection = conn
            _STATE.views.clear()  # a new database connection has none of our views yet
            settings = _STATE.settings or Settings()
            # what the project's changed_since macros record into and read (transform.publish)
            try:
                conn.execute(CHANGED_SINCE_DDL)
                # DuckDB numbers tables anew each time a file is opened (table_oid is not
                # stored): an entry of the last process could match a table rebuilt whole since,
                # and scope its tests and publish to rows that are not all that changed. A
                # fresh connection starts from no entry: its first build tests and compares all.
                conn.execute(f"delete from {CHANGED_SINCE}")
                # the version watermark's tables (macros/bronze_since.sql): kept across opens,
                # keyed by the model's name, in the same file as the model, so they go back
                # with it when the file is restored
                conn.execute(ABSORBED_DDL)
            except duckdb.Error as exc:  # a read-only file: its tests see every row
                log.info("no %s table: %s", "_lakehouse_changed", exc)
        # a memory limit and a spill folder, not DuckDB's 80% of the machine (docs/operations.md)
        duckdb_config.configure(conn, settings, "dbt")
        # dbt-duckdb re-creates the source view on every source() call, racing between threads
        route_load_source(self.name, self.create_view)

    def configure_cursor(self, cursor: duckdb.DuckDBPyConnection) -> None:
        prepare_cursor(cursor)

    def load(self, source_config: SourceConfig) -> pads.Dataset:
        """The pinned dataset (only reached when dbt-duckdb's own path is used)."""
        return _pin_of(source_config).dataset

    def create_view(self, source_config: SourceConfig) -> None:
        """Point the source's view at this build's pinned snapshot (at most once per snapshot:
        table id and version, :attr:`Pin.registered_name`)."""
        try:
            pin = _pin_of(source_config)
        except BronzeSourceError as exc:
            # Not an error here: dbt also resolves sources while parsing and compiling (docs),
            # when nothing is read. A query that reads it fails on the missing view.
            log.warning("%s", exc)
            return
        view = source_config.table_name()
        with _LOCK:
            if _STATE.views.get(view) == pin.registered_name:
                return
            conn = _STATE.connection
            if conn is None:
                raise BronzeSourceError("the bronze plugin has no DuckDB connection yet")
            cursor = conn.cursor()
            try:
                prepare_cursor(cursor)
                if source_config.schema:
                    cursor.execute(f"create schema if not exists {_quote(source_config.schema)}")
                cursor.execute(f"create or replace view {view} as select * from {pin.relation}")
                if pin.folder == "bronze":
                    _record_news(cursor, pin)
            finally:
                cursor.close()
            _STATE.views[view] = pin.registered_name

    def default_materialization(self) -> str:
        return "view"


#: The version watermark's tables (dbt_project/macros/bronze_since.sql, docs/dbt.md):
#: ``pins``: the version each bronze table is pinned at in the current build;
#: ``bronze_new``: for each version a model last read of a bronze table, the files holding the
#: rows committed after it up to the pin (``exact`` false: read the whole snapshot);
#: ``inputs``: per model and input (``bronze:<table>`` or ``ref:<relation>``) what it absorbed:
#: a bronze table's id and version, or the last run of an upstream model it saw;
#: ``pending``: the same, written when the model is compiled, made ``inputs`` (and a ``runs``
#: entry) by the model's post-hook inside its own transaction, so a failed run advances nothing;
#: ``runs``: per successful run of a model that reads through the watermark, the oldest
#: ``_ingested_at`` a row it changed may have (what a model downstream reads from).
ABSORBED = "_lakehouse_absorbed"
#: ``bronze_new.path`` of a table the walk cannot serve (object storage, partitions, deletion
#: vectors: read through an Arrow dataset, not a file list): the time watermark, as before
BY_TIME = "__by_time__"
ABSORBED_DDL = f"""
create schema if not exists {ABSORBED};
create table if not exists {ABSORBED}.pins (
    source_table varchar, table_id varchar, version bigint);
create table if not exists {ABSORBED}.bronze_new (
    source_table varchar, table_id varchar, from_version bigint, to_version bigint,
    exact boolean, path varchar);
create table if not exists {ABSORBED}.inputs (
    database_name varchar, schema_name varchar, table_name varchar, input varchar,
    input_id varchar, position bigint);
create table if not exists {ABSORBED}.pending (
    database_name varchar, schema_name varchar, table_name varchar, input varchar,
    input_id varchar, position bigint, since timestamptz);
create table if not exists {ABSORBED}.runs (
    database_name varchar, schema_name varchar, table_name varchar, seq bigint,
    since timestamptz);
create sequence if not exists {ABSORBED}.run_seq;
create table if not exists {ABSORBED}.commits (
    table_id varchar, version bigint, stamp varchar);
"""


def _record_news(cursor: duckdb.DuckDBPyConnection, pin: Pin) -> None:
    """Write ``pin`` and, for every version a model last read of its table, the files holding
    the rows committed since (``bronze_new``) where the macros find them.

    The writes are one transaction: DuckDB syncs its log once instead of once per statement
    (~2 ms each, before the first model of every build). Whatever fails, the table's pin is
    not left at an older build's version: it is deleted, and the macros then read the whole
    snapshot (what they do on a read-only file too)."""
    try:
        held = cursor.execute(
            f"select distinct position from {ABSORBED}.inputs where input = ? and input_id = ?",
            [f"bronze:{pin.table}", pin.table_id],
        ).fetchall()
    except duckdb.Error as exc:  # no such tables (a read-only file): the macros read everything
        log.info("no version watermark for bronze %s: %s", pin.table, exc)
        return
    cursor.execute("begin transaction")
    try:
        try:
            cursor.execute(f"delete from {ABSORBED}.pins where source_table = ?", [pin.table])
            cursor.execute(
                f"insert into {ABSORBED}.pins values (?, ?, ?)",
                [pin.table, pin.table_id, pin.version],
            )
            cursor.execute(f"delete from {ABSORBED}.bronze_new where source_table = ?", [pin.table])
            stamps = _keep_stamps(cursor, pin, [int(v) for (v,) in held])
        except duckdb.Error as exc:
            log.info("no version watermark for bronze %s: %s", pin.table, exc)
            _forget_pin(cursor, pin)
            return
        rows = _news(pin, [int(v) for (v,) in held], stamps)
        if rows:
            cursor.executemany(f"insert into {ABSORBED}.bronze_new values (?, ?, ?, ?, ?, ?)", rows)
        cursor.execute("commit")
    except BaseException:
        _forget_pin(cursor, pin)
        raise


def _forget_pin(cursor: duckdb.DuckDBPyConnection, pin: Pin) -> None:
    """End the transaction of :func:`_record_news` without its writes, and delete the table's
    pin (the macros then read its whole snapshot, never from an older build's pin)."""
    try:
        cursor.execute("rollback")
    except duckdb.Error:  # DuckDB ended the failed transaction already
        pass
    try:
        cursor.execute(f"delete from {ABSORBED}.pins where source_table = ?", [pin.table])
    except duckdb.Error as exc:
        log.info("cannot delete the pin of bronze %s: %s", pin.table, exc)


def _news(
    pin: Pin, held: list[int], stamps: dict[int, str]
) -> list[tuple[str, str, int, int, bool, str | None]]:
    """The ``bronze_new`` rows of ``pin`` for the versions models hold."""
    present = frozenset(pin.files)
    rows: list[tuple[str, str, int, int, bool, str | None]] = []
    for version in held:
        if not pin.root:  # not read as plain local Parquet: the macro filters by time instead
            rows.append((pin.table, pin.table_id, version, pin.version, False, BY_TIME))
            continue
        found = files_since(Path(pin.root), version, pin.version, present, stamps.get(version))
        if found is None:
            rows.append((pin.table, pin.table_id, version, pin.version, False, None))
        elif not found:
            rows.append((pin.table, pin.table_id, version, pin.version, True, None))
        rows.extend((pin.table, pin.table_id, version, pin.version, True, p) for p in found or ())
    return rows


def _keep_stamps(cursor: duckdb.DuckDBPyConnection, pin: Pin, held: list[int]) -> dict[int, str]:
    """Record the pinned commit's stamp (``bronze_since.commit_stamp``), forget those of
    versions no model holds any more; the stamps of the versions ``held``."""
    if not pin.root:
        return {}
    stamp = commit_stamp(Path(pin.root), pin.version)
    args = [pin.table_id, pin.version]
    cursor.execute(f"delete from {ABSORBED}.commits where table_id = ? and version = ?", args)
    if stamp is not None:
        cursor.execute(f"insert into {ABSORBED}.commits values (?, ?, ?)", [*args, stamp])
    keep = sorted({*held, pin.version})
    marks = ", ".join("?" for _ in keep)
    cursor.execute(
        f"delete from {ABSORBED}.commits where table_id = ? and version not in ({marks})",
        [pin.table_id, *keep],
    )
    rows = cursor.execute(
        f"select version, stamp from {ABSORBED}.commits where table_id = ?", [pin.table_id]
    ).fetchall()
    return {int(v): str(s) for v, s in rows}


def _plain_parquet_files(delta: DeltaTable) -> tuple[str, ...]:
    """The snapshot's local files if reading them as plain Parquet gives exactly the table.

    That holds for a reader-version-1 table (no deletion vectors, no column mapping) without
    partition columns (whose values live in paths, not files): what the loader writes. DuckDB
    reads those 2-3x faster than an Arrow dataset (bench/RESULTS-dbt.md); anything else is
    served through an Arrow dataset.
    """
    if delta.protocol().min_reader_version > 1 or delta.metadata().partition_columns:
        return ()
    files = []
    for uri in delta.file_uris():
        path = uri.removeprefix("file://")
        if "://" in path:
            return ()
        files.append(path)
    return tuple(files)


def _local_root(delta: DeltaTable) -> str:
    """The table's folder as its file list names it (absolute, as ``file_uris()`` gives it,
    whatever form the settings' root took)."""
    parts = urlsplit(delta.table_uri)
    folder = unquote(parts.path) if parts.scheme else delta.table_uri
    return folder.rstrip("/") or "/"


def _pin_of(source_config: SourceConfig) -> Pin:
    """The pin a source reads: bronze, or ``dados/ops`` with ``meta: {folder: ops}``."""
    table = _table_of(source_config)
    folder = source_config.meta.get("folder", "bronze")
    if folder not in FOLDERS:
        raise BronzeSourceError(
            f"source {source_config.schema}.{table}: meta folder {folder!r} is not one of "
            f"{', '.join(FOLDERS)}"
        )
    pins = current_pins()
    return pins.get_ops(table) if folder == OPS_FOLDER else pins.get(table)


def _table_of(source_config: SourceConfig) -> str:
    try:
        return check_table_name(source_config.identifier)
    except ValueError as exc:
        raise BronzeSourceError(f"bronze source {source_config.name!r}: {exc}") from exc


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
