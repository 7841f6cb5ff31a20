"""The bronze loader: landing files → bronze Delta tables, exactly once.

``Loader.load_pending()`` takes every file in ``raw/<table>/`` now; ``Loader.run(stop_event)``
does the same at start-up and then watches, one worker thread fed by a queue. Files of one table
that arrive together are committed together (one Delta commit, bounded by ``batch_max_files``,
``batch_max_bytes`` and ``batch_window_ms``; small files of one kind and header are parsed in
one DuckDB scan). A file of more than ``chunk_rows`` rows (or over ``pieces.SMALL_FILE_BYTES``)
streams into Delta in pieces of ``chunk_rows`` rows, each piece carrying the file's watermark
(see ``loader.bronze``): memory follows the batch, and a restart resumes after the last piece.

Exactly once rests on three things: the watermark is committed atomically with the rows (Delta
app transactions); before each commit the table's watermarks are read again and a file already
complete is not written twice; and one loader at a time holds an exclusive lock
(``<meta_dir>/loader.lock``): a second ``run()`` waits for it as a standby, a second
``load_pending()`` stops with :class:`LoaderBusyError`.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake.exceptions import SchemaMismatchError

from lakehouse import contracts, dialect, duckdb_config, misfit, nested
from lakehouse.contracts import Contract, ContractStore, ContractsUnreadable
from lakehouse.dialect import RESCUED_DATA, MismatchPolicy
from lakehouse.events import LoadEvent, LoadEventHandler
from lakehouse.formats import from_name
from lakehouse.heartbeat import write_heartbeat
from lakehouse.layout import BATCH_ID
from lakehouse.ledger import Ledger
from lakehouse.progress import WorkProgress
from lakehouse.settings import Settings
from loader import landing, own_files
from loader.bronze import COMPLETE, ROLLED_BACK, Bronze
from loader.exceptions import FileChanging, FileRejected, LoaderBusyError, ReadAgain, RejectKind
from loader.fitting import (
    OBJECT,
    ColumnPlan,
    Inference,
    Mismatch,
    Missing,
    Typer,
    beside,
    in_parallel,
    not_too_deep,
    plan_columns,
)
from loader.inbox import ObjectInbox
from loader.landing import LandingFile
from loader.leases import Leases
from loader.pieces import (
    BronzeColumns,
    Pending,
    Pieces,
    Prefetch,
    bronze_schema,
    is_small,
    skip_rows,
    with_bronze_columns,
)
from loader.progress import FileProgress, describe, estimate_rows
from loader.readers import (
    Limits,
    Source,
    TextFile,
    detect,
    json_in_order,
    open_csv,
    open_json,
    open_parquet,
    parquet_checked,
)
from loader.readmarks import READ_DEATHS, ReadMarks, killed_reason
from loader.schema import case_problem, merged, parquet_plans
from loader.watch import LandingWatcher

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
RESCAN_S = 60.0  # a full scan now and then catches what an event may have missed
RESCAN_QUIET_S = 10.0  # ... of files nobody has written to for this long
PRUNE_S = 3600.0
LEASE_RETRY_S = 0.5  # how often a worker asks again for a table whose lease is held elsewhere
HELD_RETRY_S = 1.0  # how often held files (their contract does not parse) are tried again
#: CSV text read ahead of the typing, in pyarrow's blocks (at least one)
CSV_TEXT_AHEAD_BYTES = 16 * 1024**2


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """A file now complete in bronze. ``rows``: the rows this run wrote; ``resumed_at``: the
    rows an earlier run had committed (a big file resumed after its last piece), so the
    file holds ``resumed_at + rows`` (the ledger records that whole count)."""

    table: str
    file: str
    batch_id: str
    rows: int
    version: int
    resumed_at: int = 0


@dataclass(frozen=True, slots=True)
class QuarantinedFile:
    table: str
    file: str
    batch_id: str | None
    kind: str
    reason: str
    line: int | None
    column: str | None
    moved_to: str


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file whose rows were already in bronze (same content, or a restart): not loaded again."""

    table: str
    file: str
    batch_id: str


@dataclass(frozen=True, slots=True)
class HeldFile:
    """A file left in the landing zone, neither loaded nor quarantined, while its table's
    contract cannot be read (``lakehouse.contracts.ContractsUnreadable``): ``reason`` says
    why."""

    table: str
    file: str
    reason: str


@dataclass(frozen=True, slots=True)
class SetAsideFile:
    """A writer's marker file (``_SUCCESS``): it holds no rows, and left the landing zone as a
    loaded file does (``landing.marker_reason``); ``reason`` says so."""

    table: str
    file: str
    reason: str


@dataclass(slots=True)
class LoadSummary:
    loaded: list[LoadedFile] = field(default_factory=list)
    quarantined: list[QuarantinedFile] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    events: list[LoadEvent] = field(default_factory=list)
    held: list[HeldFile] = field(default_factory=list)
    set_aside: list[SetAsideFile] = field(default_factory=list)
    #: what kept part of the pass from running (the landing bucket unreachable), in words
    problems: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.loaded)

    def extend(self, other: LoadSummary) -> None:
        self.loaded += other.loaded
        self.quarantined += other.quarantined
        self.skipped += other.skipped
        self.events += other.events
        self.held += other.held
        self.set_aside += other.set_aside
        self.problems += other.problems


def _struct_or_text(
    plan: ColumnPlan, window: list[pa.RecordBatch], names: list[str], *, json: bool
) -> ColumnPlan:
    """A column of JSON objects: its struct type from the objects seen (text when they have
    none); the table's struct grown by the fields they add. A JSON file's object repeating a
    key refuses the file; a text's (``json`` false: a CSV field, a Parquet string) is a value
    that does not fit, as is one whose strings hold a lone surrogate: neither grows the struct
    (``lakehouse.nested.misfits`` judges alike)."""
    if plan.data_type != OBJECT or plan.origin == "declared":
        return plan
    i = names.index(plan.name)
    objects: list[dict[str, object]] = []
    row = 0
    for batch in window:
        for text in batch.column(i).to_pylist():
            row += 1
            if text is None or not text.startswith("{"):
                continue
            try:
                value = nested.decode(text)
            except nested.RepeatedKey as exc:  # docs/loading.md: it refuses the file
                if not json:
                    continue  # a text that does not fit: found when typed
                where = f"record {row}, column {plan.name!r}"
                raise FileRejected("unparseable", f"{where}: {exc}", column=plan.name) from exc
            except ValueError:
                continue  # not an object: a mismatch, found when typed
            if isinstance(value, dict) and nested.lone_surrogate(text, value) is None:
                objects.append(value)
    if plan.origin == "existing":
        return ColumnPlan(plan.name, OBJECT, "existing", nested.grown(plan.stored, objects))
    struct = nested.infer_struct(objects)
    if struct is None:
        return ColumnPlan(plan.name, "VARCHAR", "inferred")
    return ColumnPlan(plan.name, OBJECT, "inferred", struct)


def _made_by_inference(
    inferred: list[tuple[int, Inference]], plans: list[ColumnPlan], window: int
) -> list[dict[int, pa.Array]]:
    """For each of the ``window`` batches the types were inferred from, its ``BIGINT`` and
    ``DOUBLE`` columns as their inference cast them (``Inference.made``): not parsed again."""
    made = [
        {i: m for i, column in inferred if (m := column.made(plans[i].data_type, j)) is not None}
        for j in range(window)
    ]
    for _, column in inferred:
        column.forget()
    return made


@dataclass(frozen=True, slots=True)
class _Typed:
    """A file's batches, typed for its table (``schema``: their columns without rescue)."""

    typer: Typer
    batches: Iterator[pa.RecordBatch]
    #: Records known to be in the file (``exact``: all of them; else at least these), so a
    #: piece can say whether it is the last before it is read (``loader.pieces.Pieces``).
    rows: int = 0
    exact: bool = False

    @property
    def schema(self) -> pa.Schema:
        return self.typer.schema


class _Deferred(Exception):
    """A file left in the landing zone, untouched, for the next pass (a stop, another loader)."""


class _Held(_Deferred):
    """A file left in the landing zone because its table's contract stopped parsing while
    this call was loading: held (:class:`HeldFile`), tried again once the contracts parse."""


class _Settled(Exception):
    """A file found, once identified, not to be read: loaded before, seen already in this call
    (both recorded), or changed while it was hashed (left for its own pass)."""


#: Kinds whose first records (``chunk_rows``) are read before anything is written: a big one is
#: hashed beside that reading (``landing.Identifying``). JSON too: a file read again (exactly, or
#: listing every key) settles its identity first (``Loader._read_file``)
_WINDOWED = frozenset({"csv", "tsv", "json", "ndjson"})


def _hashed_beside(settings: Settings, path: Path, by_name: bool) -> bool:
    found = from_name(path.name)
    return (
        found is not None
        and found.kind in _WINDOWED
        and landing.hashed_beside(settings, path, path.stat().st_size, by_name)
    )


class _Arrival:
    """A file of one ``load_files`` call: its path, and once identified its identity and the
    row its reading starts at (``Loader._settle``). A big CSV is identified beside the
    reading of its first records: :meth:`begin` opens it for its hash (``landing.Identifying``)
    just before the reading opens it; the hash starts as the reading opens (``Loader._typed``),
    or is fed by the reading itself (JSON's number search reads every byte once for both)."""

    def __init__(
        self, path: Path, file: LandingFile | None = None, start: int = 0, rel: str = ""
    ) -> None:
        self.path = path
        self.file = file
        self.start = start
        self.rel = rel  # as LandingFile.rel
        self.identifying: landing.Identifying | None = None

    def begin(self, table: str) -> None:
        if self.file is None and self.identifying is None:
            self.identifying = landing.Identifying(table, self.path, self.rel)


def same_file(batches: Iterable[pa.RecordBatch], file: LandingFile) -> Iterator[pa.RecordBatch]:
    """``batches``, once the reading has opened the file, still of the file identified.

    A sender may rename a new file over one between its hash (the batch id) and its reading,
    which then holds the newer file: its rows must not go in under the older one's batch id
    (that content would then count as loaded). Raises :class:`_Deferred` (the file there now
    gets its own pass) when the path no longer holds the identified file after the first
    batch is read. A file renamed away and back in between is not told apart.
    """
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return
    if not landing.unchanged(file):
        raise _Deferred("another file was renamed over it after it was identified")
    yield first
    yield from it


def _cast_refused(typer: Typer, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """A Parquet file's typed batches; a value or column Arrow refuses to cast to its column's
    stored type (any ``ArrowException`` but running out of memory) refuses the file (its pieces
    committed before are rolled back), as a value that does not fit does, instead of stopping
    the loader on every pass."""
    try:
        yield from batches
    except pa.ArrowMemoryError:
        raise
    except pa.ArrowException as exc:
        first = typer.rows + 1  # the first record of the batch the value is in
        reason = f"a value of record {first} or after cannot be stored in bronze's type: {exc}"
        raise FileRejected("type_conflict", reason) from exc


_RECORD_AT = re.compile(r"record (\d+), ")


@contextmanager
def _on_its_line(text: TextFile) -> Iterator[None]:
    """A refusal of an NDJSON file that names a record (from 1: "record 2, column 'c': ...")
    names its line instead, blank lines counted, as the file's other refusals and the API
    name it (``line`` set too); a ``.json`` file's records keep their number."""
    try:
        yield
    except FileRejected as exc:
        found = _RECORD_AT.match(exc.reason)
        if text.json and exc.line is None and found is not None:
            line = text.line_of(int(found[1]) - 1)
            if line is not None:
                exc.reason = f"line {line}, {exc.reason[found.end() :]}"
                exc.args = (exc.reason,)
                exc.line = line
        raise


@contextmanager
def _text_batches(text: TextFile, block: int) -> Iterator[Iterator[pa.RecordBatch]]:
    """``text``'s batches as the typing takes them. A JSON record nested too deep refuses the
    file before any value is decoded. A CSV's blocks, which pyarrow parses on the thread that
    asks for them, are read on a thread of their own up to ``CSV_TEXT_AHEAD_BYTES`` ahead
    while the batches before them are typed (a reading error still comes after them, in
    order): a 6M-row lineitem CSV had a core idle at each piece's end, the reading and the
    typing taking turns."""
    if text.json:
        yield iter(not_too_deep(text.batches))
        return
    depth = max(1, CSV_TEXT_AHEAD_BYTES // (block or dialect.CSV_BLOCK_BYTES))
    with Prefetch(text.batches, depth, name="loader-csv") as ahead:
        yield ahead


def write_rejection(exc: Exception) -> FileRejected | None:
    """A failed Delta write that is the file's fault (its schema), as a quarantine reason.

    None for anything else (storage trouble, a bug): the file stays for the next pass.
    """
    text = str(exc)
    if not isinstance(exc, SchemaMismatchError) and "Schema error" not in text:
        return None
    summary = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    kind: RejectKind = "invalid_column" if "field name" in text.lower() else "type_conflict"
    return FileRejected(
        kind, f"bronze cannot store this file's columns: {summary}", detail=text[:4000]
    )


#: A write that panics alike this many times in a row refuses the file (``unwritable``).
WRITE_PANICS = 3
_PANIC = re.compile(r"panicked with message \"(.*)\"|panicked at (.*)", re.DOTALL)


def panic_message(exc: BaseException) -> str | None:
    """What delta-rs's panic said, when a failed write was one (a task of its writer
    panicked: ``DeltaError: ... writer join error: task 20 panicked with message "..."``)."""
    found = _PANIC.search(str(exc))
    if found is None:
        return None
    return (found[1] or found[2] or "").strip()


def use_jemalloc() -> str:
    """Arrow's buffers from jemalloc (built into pyarrow) in a process that loads; the pool's
    name. Arrow's default, mimalloc, gave much of what the typing allocates back to the kernel
    and took fresh pages again, each zeroed by the kernel: 12-17% of a 10M-row CSV load's CPU
    (``perf``, ``clear_page_erms``), 0.2% with jemalloc, which reuses its pages. Left as it is
    where the operator chose a pool (``ARROW_DEFAULT_MEMORY_POOL``) or pyarrow has no jemalloc.
    """
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except NotImplementedError:  # a pyarrow built without it
            pass
    return str(pa.default_memory_pool().backend_name)


class Loader:
    """Loads landing files into bronze; see the module docstring."""

    def __init__(self, settings: Settings, *, on_event: LoadEventHandler | None = None) -> None:
        use_jemalloc()
        self.settings = settings
        self.on_event = on_event
        #: Optional probe, called with (path, time.time()) when the worker takes a file.
        self.on_detect: Callable[[Path, float], None] | None = None
        #: Optional hook, called after each piece of a big file (``loader.progress``).
        self.on_progress: Callable[[FileProgress], None] | None = None
        self.ledger = Ledger.of(settings)
        #: held while the loader lives, so its ledger transactions are never the last on the
        #: file (SQLite then checkpoints and removes the WAL at each: ~8 ms a load)
        self._kept = self.ledger.db.keep_open()
        self._tables: dict[str, Bronze] = {}
        self._queue: queue.SimpleQueue[tuple[str, Path]] = queue.SimpleQueue()
        self._pending: dict[Path, int] = {}
        self._pending_lock = threading.Lock()
        self._duplicates: list[LandingFile] = []  # same content twice in one call
        #: batch id → why its file was quarantined, or held, in this call: a copy of the same
        #: content seen in the call takes the same outcome (never "already in bronze")
        self._refused: dict[str, FileRejected] = {}
        self._held_ids: dict[str, str] = {}
        self._rows: dict[str, int] = {}  # batch id → rows read, until its commit
        self._rescued: dict[str, int] = {}  # batch id → values rescued, until its commit
        #: batch id → the panic its last write met, and how many times in a row
        self._panics: dict[str, tuple[str, int]] = {}
        #: the file each table is reading, marked: one whose reading kills the process is
        #: quarantined after READ_DEATHS ends in a row (loader.readmarks)
        self._marks = ReadMarks(settings.meta_dir / "reading")
        self._contracts = ContractStore(settings)
        self._db: duckdb.DuckDBPyConnection | None = None
        self._stopping: threading.Event | None = None  # set: stop between pieces of a file
        #: several workers: a table's files are loaded by the holder of its lease
        self.leases = (
            Leases(self.ledger, settings.loader_lease_s) if settings.loader_lease_s > 0 else None
        )
        self._waiting: dict[str, list[Path]] = {}  # table -> files, its lease held elsewhere
        #: table -> files held while the contracts do not parse (tried again when they do)
        self._held: dict[str, list[Path]] = {}
        #: the object-store landing zone, taken into the local one (loader.inbox)
        self.inbox = ObjectInbox(settings, self.ledger) if settings.landing_store else None

    def holds_files(self) -> bool:
        """Whether the watcher handed over files not yet committed or quarantined."""
        with self._pending_lock:
            return bool(self._pending)

    # -- one pass --------------------------------------------------------------------------

    def load_pending(self) -> LoadSummary:
        """Load (or quarantine) every file in the landing zone now.

        With leases, the tables whose lease another worker holds are left to it.
        """
        with self._exclusive(wait=None):
            landing.prune_archive(self.settings)
            summary = LoadSummary()
            if self.inbox is not None:
                try:
                    self.inbox.poll()
                except Exception as exc:  # the bucket unreachable: the local files still load
                    log.exception("listing the landing bucket %s failed", self.inbox.url)
                    said = next(iter(str(exc).splitlines()), "") or type(exc).__name__
                    summary.problems.append(
                        f"the landing bucket {self.inbox.url} could not be listed (its new "
                        f"objects are taken on the next pass): {said}"
                    )
            by_table: dict[str, list[Path]] = {}
            for table, path in landing.scan(self.settings):
                by_table.setdefault(table, []).append(path)
            groups = {table: list(self._groups(paths)) for table, paths in by_table.items()}
            backlog = self._backlog(groups)
            for table, table_groups in groups.items():
                if self.leases is not None and not self.leases.hold(table):
                    log.info("bronze %s is being loaded by another worker; left to it", table)
                    if backlog is not None:
                        backlog.total_items -= sum(len(g) for g, _ in table_groups)
                        backlog.total_bytes -= sum(n for _, n in table_groups)
                    continue
                try:
                    for group, nbytes in table_groups:
                        loaded = self.load_files(table, group)
                        summary.extend(loaded)
                        if backlog is not None:
                            backlog.advance(len(group), nbytes, loaded.rows)
                            log.info("backlog: %s", backlog.line(), extra=backlog.fields())
                except Exception as exc:  # storage trouble or a bug: the other tables go on
                    self._failed(summary, table, [p for g, _ in table_groups for p in g], exc)
                finally:
                    if self.leases is not None:
                        self.leases.release(table)
            return summary

    @staticmethod
    def _backlog(groups: dict[str, list[tuple[list[Path], int]]]) -> WorkProgress | None:
        """Progress over a backlog (files enough for more than one commit): a line per
        commit group with files and bytes done of all, rows, rate and time left."""
        if sum(len(g) for g in groups.values()) < 2:
            return None
        files = sum(len(paths) for g in groups.values() for paths, _ in g)
        nbytes = sum(n for g in groups.values() for _, n in g)
        return WorkProgress("backlog", "files", files, nbytes)

    def _groups(self, paths: list[Path]) -> Iterator[tuple[list[Path], int]]:
        """The files in commit groups (``batch_max_files``, ``batch_max_bytes``), with their
        bytes."""
        group: list[Path] = []
        size = 0
        for path in paths:
            try:
                nbytes = path.stat().st_size
            except FileNotFoundError:
                continue
            if group and (
                len(group) >= self.settings.batch_max_files
                or size + nbytes > self.settings.batch_max_bytes
            ):
                yield group, size
                group, size = [], 0
            group.append(path)
            size += nbytes
        if group:
            yield group, size

    # -- watching --------------------------------------------------------------------------

    def run(self, stop_event: threading.Event) -> None:
        """Start-up scan, then watch and load until ``stop_event`` is set."""
        with self._exclusive(wait=stop_event) as held:
            if not held:
                return
            watcher = LandingWatcher(self.settings, self._enqueue)
            watcher.start()  # before the scan: nothing lands unseen in between
            beat = threading.Thread(
                target=self._beat, args=(stop_event,), name="loader-heartbeat", daemon=True
            )
            beat.start()
            self._stopping = stop_event
            if self.leases is not None:
                self.leases.start(stop_event)
            if self.inbox is not None:
                threading.Thread(
                    target=self.inbox.run, args=(stop_event,), name="loader-inbox", daemon=True
                ).start()
            try:
                self._rescan()
                self._work(stop_event)
            finally:
                self._stopping = None
                if self.leases is not None:
                    self.leases.release_all()
                watcher.stop()
                beat.join(timeout=5)

    def _enqueue(self, table: str, path: Path) -> None:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        with self._pending_lock:
            if path in self._pending:
                return
            self._pending[path] = size
        self._queue.put((table, path))

    def _rescan(self, *, quiet_s: float = 0.0) -> None:
        """Queue every landing file; with ``quiet_s``, only those untouched that long.

        The periodic rescan (a backstop for missed events) must not take a file a slow
        writer is still filling: a file being written has a fresh modification time, and its
        close will be seen anyway.
        """
        cutoff = time.time() - quiet_s
        for table, path in landing.scan(self.settings):
            try:
                if quiet_s and path.stat().st_mtime > cutoff:
                    continue
            except FileNotFoundError:
                continue
            self._enqueue(table, path)

    def _beat(self, stop_event: threading.Event) -> None:
        while True:
            with self._pending_lock:
                files, nbytes = len(self._pending), sum(self._pending.values())
            try:
                write_heartbeat(self.settings, pending_files=files, pending_bytes=nbytes)
            except OSError as exc:
                log.warning("cannot write the heartbeat: %s", exc)
            if stop_event.wait(HEARTBEAT_S):
                return

    def _work(self, stop_event: threading.Event) -> None:
        last_scan = last_prune = last_lease_try = last_held_try = time.monotonic()
        while not stop_event.is_set():
            now = time.monotonic()
            if self._held and now - last_held_try >= HELD_RETRY_S:
                last_held_try = now
                self._release_held()
            if now - last_prune >= PRUNE_S:
                landing.prune_archive(self.settings)
                last_prune = now
            if now - last_scan >= RESCAN_S:
                self._rescan(quiet_s=RESCAN_QUIET_S)
                last_scan = now
            if self._waiting and now - last_lease_try >= LEASE_RETRY_S:
                last_lease_try = now
                for table in list(self._waiting):
                    self._load_table(table, self._waiting.pop(table))
            taken = self._take_batch(timeout=0.2)
            if not taken:
                continue
            by_table: dict[str, list[Path]] = {}
            for table, path in taken:
                if path not in by_table.setdefault(table, []):
                    by_table[table].append(path)
            for table, paths in by_table.items():
                self._load_table(table, paths)

    def _release_held(self) -> None:
        """The files held while the contracts did not parse, loaded once they parse."""
        if not self._contracts.read().unreadable:
            for table in list(self._held):
                self._load_table(table, self._held.pop(table))

    def _load_table(self, table: str, paths: list[Path]) -> None:
        """Load one table's taken files (with leases: if this worker gets the table's lease,
        else they wait for it, or for its holder to take them away)."""
        if self.leases is not None and not self.leases.hold(table):
            self._waiting.setdefault(table, []).extend(paths)
            return
        try:
            summary = self.load_files(table, paths)
            if summary.held:  # tried again once the contracts parse
                held = self._held.setdefault(table, [])
                held += [p for p in paths if p not in held]
        except Exception:  # storage trouble or a bug: keep serving, retry on rescan
            log.exception("loading %d file(s) into bronze %r failed", len(paths), table)
        finally:
            with self._pending_lock:
                for path in paths:
                    self._pending.pop(path, None)
            if self.leases is not None:
                self.leases.release(table)

    def _take_batch(self, timeout: float) -> list[tuple[str, Path]]:
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        taken = [first]
        self._detected(first[1])
        settings = self.settings
        deadline = time.monotonic() + settings.batch_window_ms / 1000
        with self._pending_lock:
            nbytes = self._pending.get(first[1], 0)
        while len(taken) < settings.batch_max_files and nbytes < settings.batch_max_bytes:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            self._detected(item[1])
            taken.append(item)
            with self._pending_lock:
                nbytes += self._pending.get(item[1], 0)
        return taken

    def _detected(self, path: Path) -> None:
        if self.on_detect is not None:
            self.on_detect(path, time.time())

    # -- loading one table's files ---------------------------------------------------------

    def _bronze(self, table: str) -> Bronze:
        if table not in self._tables:
            self._tables[table] = Bronze(self.settings, table)
        return self._tables[table]

    def load_files(self, table: str, paths: Iterable[Path]) -> LoadSummary:
        """Load these files of one table: as few commits as the bounds allow. While the
        contracts cannot be read, the files are held: left in the landing zone, untouched,
        each named in ``summary.held``."""
        summary = LoadSummary()
        paths = self._without_markers(summary, table, paths)
        try:
            self._contracts.get(table)
        except ContractsUnreadable as exc:
            return self._hold(summary, table, paths, str(exc))
        bronze = self._bronze(table)
        try:
            self._load_arrivals(summary, bronze, table, paths)
            self._settle_duplicates(summary, bronze, table)
        finally:
            self._duplicates.clear()
            self._refused.clear()
            self._held_ids.clear()
        return summary

    def _load_arrivals(
        self, summary: LoadSummary, bronze: Bronze, table: str, paths: list[Path]
    ) -> None:
        bronze.refresh()
        bronze.moved = False  # the watermarks below are read from this version
        target = bronze.schema()
        pending = Pending()
        partial: set[str] = set()  # batch ids with pieces committed in this call
        seen: set[str] = set()  # batch ids of this call
        for arrival in self._arrivals(summary, bronze, table, paths, seen):
            # marked while read: a file whose reading kills the process is not read for ever
            deaths = self._marks.begin(table, arrival.path, bronze.known_version())
            try:
                target = self._load_arrival(
                    summary, bronze, table, arrival, target, pending, partial, seen, deaths
                )
            finally:
                self._marks.end(table)
        if pending.batches:
            self._commit(summary, bronze, pending)

    def _load_arrival(
        self,
        summary: LoadSummary,
        bronze: Bronze,
        table: str,
        arrival: _Arrival,
        target: pa.Schema | None,
        pending: Pending,
        partial: set[str],
        seen: set[str],
        deaths: int,
    ) -> pa.Schema | None:
        """Read one file of :meth:`_load_arrivals` (``deaths``: the times in a row the
        process ended while reading it: :mod:`loader.readmarks`); the table's schema after."""
        try:
            arrival.begin(table)
        except FileNotFoundError:
            return target  # taken already
        try:
            if deaths >= READ_DEATHS:
                raise FileRejected("killed_loader", killed_reason(deaths))
            target = self._read_file(bronze, arrival, target, pending, partial, summary, seen)
        except (FileRejected, _Deferred, FileChanging) as exc:
            try:  # an already loaded file is not refused: its identity decides first
                file, _ = self._settle(arrival, summary, bronze, seen)
            except _Settled:
                return target
            pending.drop(file.batch_id)
            if isinstance(exc, FileRejected):
                self._reject(summary, bronze, file, exc, partial)
            elif isinstance(exc, _Held):
                self._held_ids[file.batch_id] = str(exc)
                self._hold(summary, table, [arrival.path], str(exc))
            else:
                if isinstance(exc, FileChanging):  # read whole at the next pass, as it is then
                    self._roll_back_pieces(summary, bronze, file, partial)
                target = bronze.schema()  # its committed pieces may have added columns
                log.info("%s/%s is left for the next pass: %s", file.table, file.name, exc)
        except _Settled:
            pass  # loaded before, twice in this call, or changed while hashed
        return target

    def _settle_duplicates(self, summary: LoadSummary, bronze: Bronze, table: str) -> None:
        """The outcome of each file whose content another file of this call had (same
        batch id): that file's. Its rows in bronze: already in bronze, archived; it was
        quarantined: quarantined with the same reason; held: held; else (left for the next
        pass) left in the landing zone, for the next pass to decide."""
        if not self._duplicates:
            return  # no refresh of bronze's log for nothing (a listing on S3; readA 07)
        bronze.refresh()
        for file in self._duplicates:
            refused = self._refused.get(file.batch_id)
            if refused is not None:
                self._reject(summary, bronze, file, refused, set())
            elif bronze.watermark(file.batch_id) == COMPLETE:
                self._skip(summary, file, retire=True)
            elif file.batch_id in self._held_ids:
                self._hold(summary, table, [file.path], self._held_ids[file.batch_id])
            else:
                log.info(
                    "%s/%s is left for the next pass: a file of the same content is",
                    file.table,
                    file.name,
                )

    def _failed(self, summary: LoadSummary, table: str, paths: list[Path], exc: Exception) -> None:
        """A pass's load of ``table`` raised ``exc`` (not the files' fault: bronze unreadable,
        storage trouble, a bug): its files still in the landing zone are held there, the
        error logged, and the pass goes on with the other tables."""
        log.exception("loading bronze %r failed; its files are left for the next pass", table)
        said = next(iter(str(exc).splitlines()), "") or type(exc).__name__  # the log has all
        reason = f"loading bronze {table!r} failed; left for the next pass: {said}"
        self._hold(summary, table, [p for p in paths if p.exists()], reason)

    def _without_markers(
        self, summary: LoadSummary, table: str, paths: Iterable[Path]
    ) -> list[Path]:
        """``paths`` but writers' marker files, each set aside (``landing.set_aside``)."""
        kept = []
        for path in paths:
            reason = landing.marker_reason(path)
            if reason is None:
                kept.append(path)
                continue
            file = landing.set_aside(self.settings, table, path)
            if file is not None:
                log.info("%s/%s is set aside, not loaded: %s", table, file.name, reason)
                summary.set_aside.append(SetAsideFile(table, file.name, reason))
        return kept

    def _hold(
        self, summary: LoadSummary, table: str, paths: Iterable[Path], reason: str
    ) -> LoadSummary:
        """``paths`` left in the landing zone while the contracts do not parse: loading
        without ``table``'s contract could take what it forbids, quarantining would call the
        files wrong (``lakehouse status`` names them, and why)."""
        names = [landing.name_in(self.settings, table, path) for path in paths]
        summary.held += [HeldFile(table, name, reason) for name in names]
        log.warning(
            "%d file(s) of bronze %r held in the landing zone: %s", len(names), table, reason
        )
        return summary

    def _database(self) -> duckdb.DuckDBPyConnection:
        if self._db is None:
            self._db = duckdb_config.connect(self.settings, "loader")
        return self._db

    def _arrivals(
        self,
        summary: LoadSummary,
        bronze: Bronze,
        table: str,
        paths: Iterable[Path],
        seen: set[str],
    ) -> list[_Arrival]:
        """The files to read, in order: each identified and admitted (:meth:`_admit`), but a
        big CSV, identified beside its reading (:meth:`_settle`)."""
        todo: list[_Arrival] = []
        for path in paths:
            try:
                by_name = self._written_by_api(table, path)
                if _hashed_beside(self.settings, path, by_name):
                    rel = landing.name_in(self.settings, table, path)
                    todo.append(_Arrival(path, rel="" if rel == path.name else rel))
                    continue
                file = landing.identify(self.settings, table, path, by_name=by_name)
            except FileNotFoundError:
                continue  # taken already (an event and a scan both saw it)
            except landing.Replaced as why:  # written to while hashed: its own event follows
                log.info("%s is left for the next pass: %s", path, why)
                continue
            start = self._admit(summary, bronze, file, seen)
            if start is not None:
                todo.append(_Arrival(path, file, start))
        return todo

    def _written_by_api(self, table: str, path: Path) -> bool:
        """Whether the file at ``path`` is taken for the batch its name gives: a batch id the
        ledger knows for ``table`` at the size the API landed, or one it does not know (the
        API may have landed it and failed to record it). A file under a known batch's name
        with another size or table (an archived API file corrected and dropped back) is
        identified by its content, never taken for that batch; so is one of the same size but
        other content (the content identity the API recorded), once that batch is loaded."""
        stem = path.name.split(".", 1)[0]
        if not BATCH_ID.fullmatch(stem) or path.parent != self.settings.raw_dir / table:
            return False  # the API lands its batches in raw/<table>/, never in a sub-folder
        known = self.ledger.get_batch(stem)
        if known is None:
            return True
        if known.table != table:
            return False
        if known.bytes is not None and known.bytes != path.stat().st_size:
            return False
        if known.content_hash is None or known.state in ("accepted", "quarantined"):
            return True  # not in bronze yet: its file, whatever it holds, is that batch
        return landing.content_identity(table, path) == known.content_hash

    def _admit(
        self, summary: LoadSummary, bronze: Bronze, file: LandingFile, seen: set[str]
    ) -> int | None:
        """The row an identified file's reading starts at (its rows committed before), or
        None when it is not read: seen already in this call, or loaded before."""
        if file.batch_id in seen:  # the same content twice in one call: its outcome at the end
            self._duplicates.append(file)
            return None
        seen.add(file.batch_id)
        mark = bronze.watermark(file.batch_id)
        if mark == COMPLETE or (
            mark == 0 and file.legacy_id and bronze.watermark(file.legacy_id) == COMPLETE
        ):  # loaded under its identity before session 15 (of its bytes alone)
            self._already_loaded(summary, bronze, file)
            return None
        return 0 if mark == ROLLED_BACK else mark

    def _settle(
        self, arrival: _Arrival, summary: LoadSummary, bronze: Bronze, seen: set[str]
    ) -> tuple[LandingFile, int]:
        """The file's identity and the row its reading starts at, waiting for its hash when
        it is hashed beside its reading; raises :class:`_Settled` when it is not to be read
        (see :meth:`_admit`; or it changed while it was hashed, or went away)."""
        if arrival.file is None:
            assert arrival.identifying is not None
            try:
                file = arrival.identifying.result()
            except FileNotFoundError as exc:
                raise _Settled from exc  # taken away while hashed
            except landing.Replaced as why:  # written to while hashed: its own event follows
                log.info("%s is left for the next pass: %s", arrival.path, why)
                raise _Settled from why
            start = self._admit(summary, bronze, file, seen)
            if start is None:
                raise _Settled
            arrival.file, arrival.start = file, start
        return arrival.file, arrival.start

    def _read_file(
        self,
        bronze: Bronze,
        arrival: _Arrival,
        target: pa.Schema | None,
        pending: Pending,
        partial: set[str],
        summary: LoadSummary,
        seen: set[str],
    ) -> pa.Schema | None:
        """Load one file: buffered with others when small, else streamed in pieces.

        Returns the table's schema as it will be once the file is in.
        """
        exact = every_key = big_records = split_escapes = False
        block = 0  # CSV: pyarrow's block (0: the reader's own)
        while True:
            try:
                return self._read_file_as(
                    bronze,
                    arrival,
                    target,
                    pending,
                    partial,
                    summary,
                    seen,
                    exact=exact,
                    every_key=every_key,
                    block=block,
                    big_records=big_records,
                    split_escapes=split_escapes,
                )
            except ReadAgain as again:
                # JSON: a number's literal is needed, a key beyond the first records, or a
                # record past DuckDB's bound; CSV: a record longer than the blocks it was read by
                same_keys = (every_key or not again.every_key) and again.block <= block
                same_bound = big_records or not again.big_records
                same_split = split_escapes or not again.split_escapes
                if (exact or not again.exact) and same_keys and same_bound and same_split:
                    raise  # the same reading again would meet the same: a bug
                file, _ = self._settle(arrival, summary, bronze, seen)
                log.info("%s/%s is read again: %s", file.table, file.name, again)
                exact, every_key = exact or again.exact, every_key or again.every_key
                big_records = big_records or again.big_records
                split_escapes = split_escapes or again.split_escapes
                block = max(block, again.block)
                pending.drop(file.batch_id)
                self._rows.pop(file.batch_id, None)
                self._rescued.pop(file.batch_id, None)
                if file.batch_id in partial:
                    version = bronze.roll_back(file.batch_id)
                    partial.discard(file.batch_id)
                    self._emit(summary, LoadEvent(bronze.name, version, (file.batch_id,), 0))
                    target = bronze.schema()  # the rolled-back pieces' columns stay in it
                    arrival.start = 0  # every row of the file went, an earlier run's pieces too

    def _read_file_as(
        self,
        bronze: Bronze,
        arrival: _Arrival,
        target: pa.Schema | None,
        pending: Pending,
        partial: set[str],
        summary: LoadSummary,
        seen: set[str],
        *,
        exact: bool = False,
        every_key: bool = False,
        block: int = 0,
        big_records: bool = False,
        split_escapes: bool = False,
    ) -> pa.Schema | None:
        source = detect(arrival.path)
        with self._typed(
            bronze.name,
            source,
            target,
            exact=exact,
            every_key=every_key,
            block=block,
            big_records=big_records,
            split_escapes=split_escapes,
            hashing=arrival.identifying,
        ) as typed:
            # a file hashed beside the reading of its first records: its identity now
            file, start = self._settle(arrival, summary, bronze, seen)
            stream = skip_rows(same_file(typed.batches, file), start)
            held: list[pa.RecordBatch] = []  # a small file is held whole, then buffered
            rows = held_bytes = 0
            if start == 0 and is_small(file, source):
                for batch in stream:
                    held.append(batch)
                    rows += batch.num_rows
                    held_bytes += batch.nbytes
                    # a small file of many records, or of few bytes holding many (a Parquet
                    # dictionary's long values, one copy per record), streams
                    if (
                        rows > self.settings.chunk_rows
                        or held_bytes > self.settings.batch_max_bytes
                    ):
                        break
                else:
                    for batch in held:
                        pending.add(file, batch, COMPLETE)
                    if rows:
                        self._rows[file.batch_id] = rows
                        self._rescued[file.batch_id] = typed.typer.rescued
                    held = []
                    stream = iter(())
            if held or start or not is_small(file, source):
                if pending.batches:  # the files before it go first, in their own commit
                    self._commit(summary, bronze, pending)
                # every piece has the same columns: _rescued_data whenever a value may be
                # rescued (a small file of more than chunk_rows rows streams too), or a piece's
                # rescued text would have no column to go to
                schema = typed.typer.schema
                if typed.typer.may_rescue:
                    schema = schema.append(pa.field(RESCUED_DATA, pa.string()))
                # typing goes on while delta-rs writes a piece (10M rows at load ~3: 3.8 -> 2.7
                # s wall). CSV and JSON: a piece and one row typed ahead (CSV: at least 16
                # blocks of 4 MiB), so each piece is known to be the last or not before it is
                # read and streams into the writer (a 6M-row lineitem CSV at load ~8: 6.45 ->
                # 6.24 CPU s, wall 13.2 -> 10.6 s; NDJSON's pieces after the first were read
                # whole while the writer waited). Parquet says its row count (every piece
                # streams); a piece typed ahead only cost it memory and time (4.07 -> 4.42 CPU
                # s, 9.9 -> 13.6 s)
                depth = 16 if source.kind in ("csv", "tsv") else 4
                ahead_rows = 0 if source.kind == "parquet" else self.settings.chunk_rows + 1
                with Prefetch(itertools.chain(held, stream), depth, ahead_rows) as ahead:
                    known = (max(0, typed.rows - start), typed.exact)
                    rows = self._stream(
                        summary, bronze, file, start, ahead, schema, partial, typed.typer, known
                    )
        if rows == 0 and start == 0:
            pending.drop(file.batch_id)
            if source.kind in ("csv", "tsv"):
                raise FileRejected("header_only", "the file has a header and no rows")
            raise FileRejected("empty", "the file holds no records")
        if (
            pending.rows >= self.settings.chunk_rows
            or pending.nbytes >= self.settings.batch_max_bytes
        ):
            self._commit(summary, bronze, pending)
        return merged(target, typed.schema)

    def _reading(self, table: str) -> tuple[dict[str, str], MismatchPolicy, bool, int, Contract]:
        """How ``table``'s files are read: declared types, on_mismatch, infer_types,
        skip_lines (its contract's, else the settings'), and the contract (its required
        columns)."""
        try:
            contract = self._contracts.get(table) or Contract(table, ())
        except ContractsUnreadable as exc:  # since this call began: held as at its start
            raise _Held(str(exc)) from None
        declared = {c.name: c.data_type for c in contract.columns if c.data_type}
        policy = contract.on_mismatch or self.settings.on_mismatch
        infer = self.settings.infer_types if contract.infer_types is None else contract.infer_types
        return declared, policy, infer, contract.skip_lines, contract

    @contextmanager
    def _typed(
        self,
        table: str,
        source: Source,
        target: pa.Schema | None,
        *,
        exact: bool = False,
        every_key: bool = False,
        block: int = 0,
        big_records: bool = False,
        hashing: landing.Identifying | None = None,
        split_escapes: bool = False,
    ) -> Iterator[_Typed]:
        """The file's batches typed by the dialect for ``table``; see ``loader.fitting``.
        ``hashing``: the file's hash beside the reading (started here, or fed by the reading)."""
        declared, policy, infer, skip, contract = self._reading(table)
        existing = {f.name: f.type for f in target} if target is not None else {}
        # what a mismatch in a column ends with, as the API's 422 says it (lakehouse.misfit)
        judged = contracts.judged(contract, table, existing, policy == "quarantine")
        notes = misfit.notes(judged, policy == "rescue")
        # a record's problems named in the order the API lists them: the contract's columns,
        # then the table's it judges (docs/loading.md, Which of a file's values is named)
        order = [c.name for c in (judged or contract).columns]
        limits = Limits(
            self.settings.max_inflated_bytes,
            self.settings.max_inflate_ratio,
            self.settings.meta_dir,
            self.settings.max_json_record_bytes,
            self.settings.max_csv_record_bytes,
        )
        if source.kind == "parquet":
            schema, batches, stack, count, writer, written = open_parquet(
                source, self.settings.read_batch_rows, limits
            )
            with stack:
                self._check_names(schema.names, target, contract)
                plans = parquet_plans(schema, existing, declared, written)
                typer = Typer(
                    plans,
                    policy,
                    required=contract.required,
                    order=order,
                    unrescued=_unrescued(contract),
                    declared=declared,
                )
                checked = parquet_checked(batches, schema, writer)
                typed = _cast_refused(typer, self._apply(typer, checked, lambda _: None, notes))
                yield _Typed(typer, typed, count, True)
            return
        try:
            text = self._open_text(
                source,
                skip,
                limits,
                exact,
                every_key,
                block,
                hashing,
                big_records,
                contract,
                split_escapes,
            )
        finally:
            if hashing is not None:  # on its own thread, unless the reading feeds it
                hashing.start()
        with text, _on_its_line(text), _text_batches(text, block) as read:
            self._check_names(text.names, target, contract)
            # the first chunk_rows records (every record of most files) decide inferred types
            window: list[pa.RecordBatch] = []
            rows = 0
            exhausted = False  # the window holds every record
            inference = {
                name: Inference(json=text.json, literal_numbers=text.literal_numbers)
                for name in text.names
                if name not in existing
            }
            inferred = [
                (i, inference[name])
                for i, name in enumerate(text.names)
                if name in inference and name not in declared and infer
            ]

            def settle() -> None:
                for _, column in inferred:
                    column.settle()

            settling: list[Future[None]] = []  # each batch's columns checked as the next is read
            for batch in read:
                window.append(batch)
                rows += batch.num_rows
                for i, column in inferred:
                    column.add(batch.column(i))
                if inferred and (work := beside(settle)) is not None:
                    settling.append(work)
                if rows >= self.settings.chunk_rows:
                    break
            else:
                exhausted = True
            for work in settling:
                work.result()
            after: list[pa.RecordBatch] = []  # read past the window, not part of it
            if not exhausted and rows == self.settings.chunk_rows:
                # the window ended at a piece's end: whether a record follows, so that a file
                # of exactly one piece is known whole and streams into the writer as it is
                # typed (``Pieces.next_piece``), not typed whole first while the writer waits
                following = next(read, None)
                if following is None:
                    exhausted = True
                else:
                    after.append(following)
            # each column's type found on a thread of its own (pyarrow releases the GIL)
            undecided = list(inference)
            found = in_parallel(
                lambda i: inference[undecided[i]].result(), range(len(undecided)), rows
            )
            types = dict(zip(undecided, found, strict=True))
            plans = plan_columns(
                text.names,
                declared=declared,
                existing=existing,
                infer=infer,
                inferred=lambda name: types[name],
            )
            plans = [_struct_or_text(p, window, text.names, json=text.json) for p in plans]
            typer = Typer(
                plans,
                policy,
                json_text=text.json,
                literal_numbers=text.literal_numbers,
                required=contract.required,
                order=order,
                unrescued=_unrescued(contract),
                declared=declared,
            )
            made = _made_by_inference(inferred, plans, len(window))
            batches = itertools.chain(window, after, read)
            typed = self._apply(typer, batches, text.line_of, notes, len(window), made)
            yield _Typed(typer, typed, rows, exhausted)

    def _open_text(
        self,
        source: Source,
        skip: int,
        limits: Limits,
        exact: bool,
        every_key: bool,
        block: int,
        hashing: landing.Identifying | None = None,
        big_records: bool = False,
        contract: Contract | None = None,
        split_escapes: bool = False,
    ) -> TextFile:
        if source.kind in ("csv", "tsv"):
            return open_csv(
                source,
                skip_lines=skip,
                limits=limits,
                window_rows=self.settings.chunk_rows,
                block=block,
                delimiter=contract.delimiter if contract is not None else None,
                tsv_quoting=contract.tsv_quoting if contract is not None else None,
                split_escapes=split_escapes,
            )
        try:
            return open_json(
                source,
                batch_rows=self.settings.read_batch_rows,
                database=self._database(),
                limits=limits,
                exact=exact,
                every_key=every_key,
                window_rows=self.settings.chunk_rows,
                hashing=hashing,
                big_records=big_records,
            )
        except FileRejected as exc:
            if exc.reason == dialect.NO_KEYS and contract is not None:
                # {} lacks a required column: refused for it first, as the API refuses it
                # (finding fixf, session 15)
                self._require([], contract)
            raise

    @staticmethod
    def _check_names(names: list[str], target: pa.Schema | None, contract: Contract) -> None:
        problem = dialect.name_problem(names)
        if problem is not None:
            raise FileRejected("invalid_column", problem[1], column=problem[0])
        mismatch = case_problem(names, target, [c.name for c in contract.columns])
        if mismatch is not None:  # before a required column's absence: it may be this one
            raise mismatch
        Loader._require(names, contract)

    @staticmethod
    def _require(names: list[str], contract: Contract) -> None:
        """Refuse a file of column ``names`` lacking a column the contract requires."""
        absent = contract.absent(names)
        if absent:
            raise FileRejected("required", misfit.required_absent(absent[0]), column=absent[0])

    @staticmethod
    def _apply(
        typer: Typer,
        batches: Iterator[pa.RecordBatch],
        line_of: Callable[[int], int | None],
        notes: dict[str, str],
        window: int = 0,
        made: list[dict[int, pa.Array]] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """The typed batches; a value that does not fit (``quarantine``) refuses the file, its
        reason ending with its column's note (``notes``: ``lakehouse.misfit.notes``).

        The first ``window`` batches are those the inferred types were found by; ``made``,
        for each of them, columns their inference cast already (``Typer.apply``).
        """
        for i, batch in enumerate(batches):
            known = None
            if made is not None and i < len(made):
                known, made[i] = made[i], {}  # held no longer than its batch
            try:
                yield typer.apply(batch, inferred_from=i < window, made=known)
            except Missing as exc:
                line = line_of(exc.row)
                where = f"line {line}" if line is not None else f"record {exc.row + 1}"
                reason = f"{where}, column {exc.column!r}: {misfit.REQUIRED_NULL}"
                raise FileRejected("required", reason, line=line, column=exc.column) from exc
            except Mismatch as exc:
                line = line_of(exc.row) if exc.row >= 0 else None
                where = f"line {line}" if line is not None else f"record {exc.row + 1}"
                if exc.row < 0:
                    reason = (
                        f"column {exc.column!r} is {exc.value} in this file, which cannot meet "
                        f"the table's {exc.data_type}"
                    )
                else:
                    # the API's sentence and note (lakehouse.misfit), after the value's place:
                    # a column judged by bronze's type names it, a required column's value
                    # under rescue says why it is not rescued
                    note = notes.get(exc.column, "")
                    reason = f"{where}, column {exc.column!r}: {_misfit(exc)}{note}"
                raise FileRejected(
                    "type_conflict", reason, line=line, column=exc.column, value=exc.value
                ) from exc

    def _stream(
        self,
        summary: LoadSummary,
        bronze: Bronze,
        file: LandingFile,
        start: int,
        stream: Iterator[pa.RecordBatch],
        schema: pa.Schema,
        partial: set[str],
        typer: Typer,
        known: tuple[int, bool] = (0, False),
    ) -> int:
        """Stream a big file into bronze, one commit per ``chunk_rows``; rows it added.
        ``known``: rows known to be left in ``stream`` (and whether exactly so).

        Piece ``k`` carries the watermark ``start + k * chunk_rows``: every row before that
        position is committed; the last piece carries ``COMPLETE``. A restart skips that many
        rows (a table written before the last piece said so may hold a file whose watermark
        is a multiple of ``chunk_rows`` with nothing left: it was complete).
        Raises :class:`_Deferred` when it stops early (a shutdown, another loader at work):
        the file stays where it is and a later pass resumes after its last committed piece.
        """
        chunk = self.settings.chunk_rows
        pieces = Pieces(stream, chunk, bronze_schema(schema), file, known=known)
        position, added, version = start, 0, None
        expected, exact = estimate_rows(detect(file.path), file.size)
        progress = FileProgress(
            bronze.name, file.name, file.size, expected, exact, resumed_at=start, rows=start
        )
        while pieces.more():
            if self._stopping is not None and self._stopping.is_set():
                raise _Deferred(f"stopping after row {position}; a restart resumes")
            if self.leases is not None and not self.leases.held(bronze.name):
                raise _Deferred(f"this worker lost the lease after row {position}")
            bronze.refresh()
            if bronze.watermark(file.batch_id) not in (position, ROLLED_BACK, 0):
                log.warning("%s/%s is being loaded by someone else", file.table, file.name)
                raise _Deferred("another loader is loading it")
            try:
                piece = pieces.next_piece()
                mark = COMPLETE if pieces.final else position + chunk
                version = bronze.append(piece, {file.batch_id: mark}, rows=pieces.whole)
            except Exception as exc:
                if pieces.failure is not None:  # the reading broke (the piece streams in)
                    raise pieces.failure from exc
                rejected = self._write_failure(exc, file.batch_id)
                if rejected is None:
                    raise
                raise rejected from exc
            partial.add(file.batch_id)
            position += chunk
            added += pieces.rows
            event = LoadEvent(
                bronze.name, version, (file.batch_id,), pieces.rows, complete=pieces.final
            )
            self._emit(summary, event)
            progress.advance(pieces.rows, done=pieces.final)
            self._progress(progress, version)
        if version is None:  # nothing after ``start``: complete before (or empty)
            if start:
                self._already_loaded(summary, bronze, file)
            return added
        total = start + added  # a piece before the last is full: ``start`` is exact
        try:
            self.ledger.mark_loaded(
                bronze.name,
                version,
                {file.batch_id: (file.name, total)},
                rescued={file.batch_id: typer.rescued},
                landed={file.batch_id: file.landed_at},
            )
        except Exception:
            log.exception("cannot record a loaded batch in the ledger")
        landing.retire(self.settings, file)
        summary.loaded.append(
            LoadedFile(bronze.name, file.name, file.batch_id, added, version, resumed_at=start)
        )
        return added

    def _commit(self, summary: LoadSummary, bronze: Bronze, pending: Pending) -> None:
        """One Delta commit of everything pending; then ledger, archive and the load event."""
        bronze.refresh()
        for batch_id in list(pending.files) if bronze.moved else []:
            # the Delta check: a commit we did not make landed; never write a file twice
            if bronze.watermark(batch_id) == COMPLETE:
                file = pending.files[batch_id]
                pending.drop(batch_id)
                self._already_loaded(summary, bronze, file)
        if not pending.batches:
            return
        try:
            table = self._table(pending)
            version = bronze.append(table, pending.watermarks)
        except Exception as exc:  # nothing was committed (the rest below must not retry)
            if len(pending.files) > 1:  # one bad file must not hold the others back
                log.warning(
                    "a commit of %d files into bronze %r failed (%s); one by one",
                    len(pending.files),
                    bronze.name,
                    exc,
                )
                for alone in pending.split():
                    self._commit(summary, bronze, alone)
            else:
                file = next(iter(pending.files.values()))
                rejected = self._write_failure(exc, file.batch_id)
                if rejected is None:
                    raise  # storage trouble, not the file: it stays for the next pass
                self._rows.pop(file.batch_id, None)
                self._reject(summary, bronze, file, rejected, set())
            pending.clear()
            return
        self._committed(summary, bronze, pending, table, version)
        pending.clear()

    def _write_failure(self, exc: Exception, batch_id: str) -> FileRejected | None:
        """A failed write of one file as its quarantine reason, or None: it stays for the next
        pass. The file's fault by its schema (:func:`write_rejection`), or a panic of delta-rs
        that came alike :data:`WRITE_PANICS` times in a row for the file (a deterministic one:
        retrying would loop for ever; storage trouble does not panic alike each time)."""
        rejected = write_rejection(exc)
        if rejected is not None:
            return rejected
        message = panic_message(exc)
        if message is None:
            self._panics.pop(batch_id, None)
            return None
        last, count = self._panics.get(batch_id, (message, 0))
        count = count + 1 if last == message else 1
        if count < WRITE_PANICS:
            self._panics[batch_id] = (message, count)
            log.warning(
                "bronze's writer panicked on %s (%d of %d alike before it is refused): %s",
                batch_id,
                count,
                WRITE_PANICS,
                message,
            )
            return None
        self._panics.pop(batch_id, None)
        return FileRejected(
            "unwritable",
            f"bronze's writer (delta-rs) panicked writing this file, {count} times alike: "
            f"{message}",
            detail=str(exc)[:4000],
        )

    def _progress(self, progress: FileProgress, version: int) -> None:
        fields = {**progress.fields(), "version": version}
        log.info("bronze v%d: %s", version, describe(progress), extra=fields)
        if self.on_progress is not None:
            try:
                self.on_progress(progress)
            except Exception:  # a display's failure must not stop loading
                log.exception("progress handler failed for %s", progress.file)

    def _committed(
        self, summary: LoadSummary, bronze: Bronze, pending: Pending, table: pa.Table, version: int
    ) -> None:
        """After a commit of ``pending``: ledger, archive and the load event."""
        done = {b: f for b, f in pending.files.items() if pending.watermarks[b] == COMPLETE}
        loaded = {b: (f.name, self._rows.pop(b, 0)) for b, f in done.items()}
        rescued = {b: self._rescued.pop(b, 0) for b in done}
        try:
            if loaded:
                self.ledger.mark_loaded(
                    bronze.name,
                    version,
                    loaded,
                    rescued=rescued,
                    landed={b: f.landed_at for b, f in done.items()},
                )
        except Exception:  # the ledger is a record; the Delta log already holds the truth
            log.exception("cannot record loaded batches in the ledger")
        for batch_id, file in done.items():
            landing.retire(self.settings, file)
            summary.loaded.append(
                LoadedFile(bronze.name, file.name, batch_id, loaded[batch_id][1], version)
            )
        event = LoadEvent(bronze.name, version, tuple(pending.watermarks), table.num_rows)
        log.info(
            "bronze %s v%d: %d rows from %d file(s)",
            bronze.name,
            version,
            table.num_rows,
            len(pending.files),
        )
        self._emit(summary, event)

    def _table(self, pending: Pending) -> pa.Table:
        columns: dict[str, pa.Field] = {}
        for _, batch in pending.batches:
            for f in batch.schema:
                columns.setdefault(f.name, f)
        full = bronze_schema(pa.schema(list(columns.values())))
        now = pa.scalar(datetime.now(UTC), pa.timestamp("us", tz="UTC"))
        constant = {b: BronzeColumns(f, now) for b, f in pending.files.items()}
        out = [with_bronze_columns(b, full, constant[f.batch_id]) for f, b in pending.batches]
        return pa.Table.from_batches(out, schema=full)

    def _emit(self, summary: LoadSummary, event: LoadEvent) -> None:
        summary.events.append(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a consumer's failure must not stop loading
                log.exception("load event handler failed for %s", event)

    def _already_loaded(self, summary: LoadSummary, bronze: Bronze, file: LandingFile) -> None:
        """A file whose rows are in bronze already: re-record it if needed, archive it."""
        known = self.ledger.get_batch(file.batch_id)
        if known is None or known.state in ("accepted", "quarantined", "failed"):
            table = bronze.refresh()
            version = table.version() if table is not None else 0
            records = known.records if known is not None and known.records else 0
            self.ledger.mark_loaded(
                bronze.name,
                version,
                {file.batch_id: (file.name, records)},
                landed={file.batch_id: file.landed_at},
            )
        self._skip(summary, file, retire=True)

    def _skip(self, summary: LoadSummary, file: LandingFile, *, retire: bool) -> None:
        log.info("%s/%s is already in bronze (batch %s)", file.table, file.name, file.batch_id)
        summary.skipped.append(SkippedFile(file.table, file.name, file.batch_id))
        if retire:
            landing.retire(self.settings, file)

    def _roll_back_pieces(
        self, summary: LoadSummary, bronze: Bronze, file: LandingFile, partial: set[str]
    ) -> None:
        """Delete a file's committed pieces (one commit), if any."""
        if file.batch_id in partial or 0 < bronze.watermark(file.batch_id) < COMPLETE:
            version = bronze.roll_back(file.batch_id)
            partial.discard(file.batch_id)
            self._emit(summary, LoadEvent(bronze.name, version, (file.batch_id,), 0))
            log.warning("rolled back the committed pieces of %s/%s", file.table, file.name)

    def _reject(
        self,
        summary: LoadSummary,
        bronze: Bronze,
        file: LandingFile,
        exc: FileRejected,
        partial: set[str],
    ) -> None:
        self._roll_back_pieces(summary, bronze, file, partial)
        limits = Limits(
            self.settings.max_inflated_bytes,
            self.settings.max_inflate_ratio,
            self.settings.meta_dir,
        )
        exc = json_in_order(file.path, exc, limits)
        try:
            moved = landing.quarantine(self.settings, file, exc)
        except (landing.Replaced, FileNotFoundError):
            log.info("%s/%s was replaced while read: left for the next pass", file.table, file.name)
            return
        self._refused[file.batch_id] = exc  # a copy of it in this call is refused so too
        try:
            # a name that is not UTF-8 (refused so) as text, its bytes escaped: b'caf\xe9.csv'
            # is 'caf\\xe9.csv' (the ledger holds text; the sidecar keeps the name for a replay)
            shown = os.fsencode(file.name).decode("utf-8", "backslashreplace")
            self.ledger.mark_quarantined(file.batch_id, file.table, shown, exc.as_dict())
        except Exception:
            log.exception("cannot record a quarantined batch in the ledger")
        log.warning("quarantined %s/%s: %s", file.table, file.name, exc.reason)
        summary.quarantined.append(
            QuarantinedFile(
                file.table,
                file.name,
                file.batch_id,
                exc.kind,
                exc.reason,
                exc.line,
                exc.column,
                str(moved),
            )
        )

    # -- one loader at a time --------------------------------------------------------------

    def _sweep_uncommitted(self, before: float) -> None:
        """Delete the Parquet files that writes of a loader killed before their commit left in
        local bronze tables (``loader.own_files.uncommitted``), holding the one-loader lock
        since ``before``: no other loader writes, and this one has not begun. Only after a
        holder that never let go of the lock (a loader that lets go left no such file: a write
        that fails deletes its own). Nothing while the ledger holds a lease of a loader worker
        (``loader_lease_s > 0``: they take no lock, so one may be writing now)."""
        if not isinstance(self.settings.dados, Path):
            return  # our own files are written to local tables only
        workers = self.ledger.leases_held()
        if workers:  # a leased worker's write may be in flight, its file not committed yet
            log.warning(
                "the ledger holds leases of loader workers (%s): this loader, which takes the "
                "lock, deletes no uncommitted file (a worker's write may be in flight; the "
                "bronze vacuum deletes a dead one). Do not run a locking loader beside leased "
                "workers on one lakehouse",
                ", ".join(workers),
            )
            return
        try:
            folders = sorted(
                e.name for e in os.scandir(self.settings.dados / "bronze") if e.is_dir()
            )
        except FileNotFoundError:
            return
        for name in folders:
            try:
                left = own_files.uncommitted(self.settings.dados / "bronze" / name, before)
                for path in left:
                    path.unlink(missing_ok=True)
            except Exception:  # the next start tries again; bronze's vacuum deletes them too
                log.exception("cannot delete the uncommitted files of bronze %s", name)
                continue
            if left:
                log.warning(
                    "bronze %s: deleted %d Parquet file(s) a write stopped before its commit "
                    "left (no version holds them): %s",
                    name,
                    len(left),
                    ", ".join(p.name for p in left),
                )

    @contextmanager
    def _exclusive(self, wait: threading.Event | None) -> Iterator[bool]:
        """Hold ``<meta_dir>/loader.lock``; ``wait`` None: fail at once, else wait until set.

        With leases (several workers) there is no such lock: the leases share the work.
        """
        if self.leases is not None:
            yield True
            return
        path = self.settings.meta_dir / "loader.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            told = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                    if wait is None:
                        raise LoaderBusyError(
                            f"another loader (pid {holder}) is running on this lakehouse "
                            f"(lock {path}); stop it or let it do the loading"
                        ) from None
                    if not told:
                        log.warning("another loader (pid %s) holds %s; standing by", holder, path)
                        told = True
                    if wait.wait(0.5):
                        yield False
                        return
            # the last holder's pid is still there when it never let go (killed): a write of
            # its may have been cut short, its file left behind
            killed = bool(os.pread(fd, 64, 0).strip())
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            try:
                if killed:
                    self._sweep_uncommitted(time.time())
                yield True
            finally:
                os.ftruncate(fd, 0)  # let go in good order: no write of this one is left
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _unrescued(contract: Contract) -> list[str]:
    """The required columns, whose values that do not fit refuse the file under either policy,
    whether the contract declares their type or the table's type judges them; the API judges
    them so too (422; docs/loading.md, Required columns)."""
    return list(contract.required)


def _misfit(exc: Mismatch) -> str:
    """Why a value does not fit, as the API's 422 says it (``ingest.typecheck.misfit_message``):
    a struct column's value names what of it does not fit (``lakehouse.nested.misfits``: a
    repeated key, a lone surrogate, a field and its rule, "not a JSON object")."""
    if exc.said is not None:
        return exc.said
    if exc.why is not None:
        return f"{exc.value!r} does not fit the struct column's type {exc.data_type}: {exc.why}"
    return f"{exc.value!r} does not fit {exc.data_type}"
