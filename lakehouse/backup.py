"""Backup and restore (``lakehouse backup DEST`` / ``lakehouse restore SRC``) to a folder.

A backup holds, for every Delta table of every layer, the table *at one version*: the data files
that version references and the log entries up to it (later commits, made while the copy ran,
are left out, so each table is a consistent snapshot even beside a running loader); the SQLite
stores of ``dados/_lakehouse`` (the run ledger, the API's idempotency keys) through SQLite's
online backup API (a consistent copy while writers go on); and the hashed token store. A
``manifest.json`` written last lists each table's version, file count and bytes: a folder
without it is an unfinished backup, never restored.

The ledger is copied *before* the tables, so every batch it calls loaded is in the tables that
follow. Not copied: the landing zone (an inbox; archived files are kept elsewhere for a while),
the loader's DuckDB working copy (``warehouse.duckdb``: rebuilt from bronze by the next build),
heartbeat and lock files.

``restore`` refuses a root that already holds tables or a ledger: it restores into an empty one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable

from lakehouse.exceptions import LakehouseError
from lakehouse.layout import LAYERS, Layer, check_layer, check_table_name, list_tables, table_path
from lakehouse.maintenance import table_bytes
from lakehouse.progress import WorkProgress
from lakehouse.settings import Settings
from lakehouse.storage import Location, store

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = 1
#: a log entry's version: 00000000000000000012.json, .checkpoint.parquet, .N.M.checkpoint.parquet
_LOG_VERSION = re.compile(r"^(\d{20})\.")
_STATE = "_lakehouse"
#: SQLite stores of dados/_lakehouse copied with the online backup API
_SQLITE_SUFFIX = ".sqlite"
_SKIPPED_STATE = re.compile(r"(\.lock|\.heartbeat\.json|\.tmp|-wal|-shm|-journal)$")


class BackupError(LakehouseError):
    """A backup that cannot be written or restored as asked."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    layer: Layer
    name: str
    version: int
    files: int
    bytes: int


@dataclass(slots=True)
class Manifest:
    created_at: str
    tables: list[TableCopy] = field(default_factory=list)
    state: list[str] = field(default_factory=list)  # files of dados/_lakehouse
    seconds: float = 0.0
    format: int = FORMAT
    #: what this backup does not hold, and why (the shared stores on PostgreSQL)
    not_included: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise BackupError(
                f"{folder} is not a finished backup (no {MANIFEST}): not restoring it"
            ) from None
        if data.get("format") != FORMAT:
            raise BackupError(f"{path}: backup format {data.get('format')!r}, expected {FORMAT}")
        tables = [TableCopy(**t) for t in data["tables"]]
        for t in tables:
            check_layer(t.layer)
            check_table_name(t.name)
        return cls(
            created_at=data["created_at"],
            tables=tables,
            state=[_safe_name(s) for s in data["state"]],
            seconds=float(data.get("seconds", 0.0)),
            not_included=[str(x) for x in data.get("not_included", [])],
        )


Progress = Callable[[str], None]


def _safe_name(name: str) -> str:
    if "/" in name or name in ("", ".", "..") or name.startswith("."):
        raise BackupError(f"unexpected file name in a backup manifest: {name!r}")
    return name


def _copy_file(source: Path, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return target.stat().st_size


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(target, 0o600)


def _copy_state(settings: Settings, target: Path) -> list[str]:
    """dados/_lakehouse: SQLite stores (online backup) and the other small files (tokens)."""
    copied: list[str] = []
    source = settings.meta_dir
    if not source.is_dir():
        return copied
    for path in sorted(source.iterdir()):
        if not path.is_file() or path.name.startswith(".") or _SKIPPED_STATE.search(path.name):
            continue
        if path.suffix == _SQLITE_SUFFIX:
            _sqlite_copy(path, target / path.name)
        else:
            _copy_file(path, target / path.name)
            os.chmod(target / path.name, 0o600)
        copied.append(path.name)
    return copied


def _state_files(settings: Settings) -> list[Path]:
    """Where the ledger and the tokens live, when settings moved them out of dados/_lakehouse."""
    return [
        p for p in (settings.ledger_file, settings.tokens_file) if p.parent != settings.meta_dir
    ]


def copy_table(settings: Settings, layer: Layer, name: str, target: Path) -> TableCopy:
    """Table ``layer/name`` at its current version into ``target`` (files, then the log).

    The table may be a local folder or on an object store (read through ``storage.store``).
    """
    import obstore

    source = table_path(settings, layer, name)
    options = settings.storage_options
    table = DeltaTable(str(source), storage_options=options or None)
    version = table.version()
    paths = pa.table(table.get_add_actions(flatten=True)).column("path").to_pylist()
    src = store(source, options)
    nbytes = 0
    for relative in paths:
        if "://" in relative or relative.startswith("/") or ".." in relative.split("/"):
            raise BackupError(f"{layer}/{name}: data file outside the table ({relative})")
        nbytes += _fetch(src, relative, target / relative)
    for entry in obstore.list(src, prefix="_delta_log/").collect():
        entry_name = entry["path"].rsplit("/", 1)[-1]
        match = _LOG_VERSION.match(entry_name)
        # commits and checkpoints up to the version copied; not _last_checkpoint (it may name
        # a later one: readers list the log without it), not temporary files
        if match and int(match.group(1)) <= version:
            if entry_name.endswith((".json", ".parquet", ".crc")):
                _fetch(src, entry["path"], target / "_delta_log" / entry_name)
    return TableCopy(layer, name, version, len(paths), nbytes)


def _fetch(src: Any, key: str, target: Path) -> int:
    """One object of the table store into a local file; its size."""
    import obstore

    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with open(target, "wb") as out:
        for chunk in obstore.get(src, key).stream():
            out.write(chunk)
            size += len(chunk)
    return size


def _upload_table(settings: Settings, folder: Path, target: Location) -> None:
    """A backed-up table folder into the table store: data files first, then the log in order
    (a reader never sees a commit whose files are not there yet)."""
    import obstore

    dst = store(target, settings.storage_options)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    log = [p for p in files if p.parent.name == "_delta_log"]
    for path in [p for p in files if p.parent.name != "_delta_log"] + log:
        obstore.put(dst, path.relative_to(folder).as_posix(), path)


def backup(settings: Settings, dest: Path, *, progress: Progress | None = None) -> Manifest:
    """Write a backup of ``settings``' lakehouse into the empty or new folder ``dest``."""
    say = progress or (lambda _: None)
    started = time.monotonic()
    dest = dest.expanduser().resolve()
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: a backup goes into a new or empty folder")
    if settings.dados_is_local and dest.is_relative_to(settings.local_dados):
        raise BackupError(f"{dest} is inside the data folder {settings.dados}")
    dest.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(created_at=datetime.now(UTC).isoformat(timespec="seconds"))
    if settings.database_target:  # never silently: the backup says what it leaves out
        manifest.not_included.append(
            "the run ledger, API tokens and idempotency keys: they are in PostgreSQL "
            "(LAKEHOUSE_DATABASE_URL); back that database up with its own tools (pg_dump)"
        )
        for line in manifest.not_included:
            say(f"not in this backup: {line}")
            log.warning("not in this backup: %s", line)
    # the ledger first: every batch it calls loaded is then in the tables copied after it
    manifest.state = _copy_state(settings, dest / _STATE)
    for extra in _state_files(settings):
        if extra.is_file():
            name = _safe_name(extra.name)
            if extra.suffix == _SQLITE_SUFFIX:
                _sqlite_copy(extra, dest / _STATE / name)
            else:
                _copy_file(extra, dest / _STATE / name)
            manifest.state.append(name)
    tables = [(layer, name) for layer in LAYERS for name in list_tables(settings, layer)]
    total = sum(table_bytes(settings, layer, name) for layer, name in tables)  # for progress
    tally = WorkProgress("backup", "tables", len(tables), total)
    for layer, name in tables:
        copied = copy_table(settings, layer, name, dest / layer / name)
        manifest.tables.append(copied)
        tally.advance(1, copied.bytes)
        line = (
            f"{layer}/{name}: version {copied.version}, {copied.files} files, "
            f"{copied.bytes / 1e6:.1f} MB; {tally.line()}"
        )
        say(line)
        log.info("backup: %s", line, extra=tally.fields())
    manifest.seconds = round(time.monotonic() - started, 3)
    tmp = dest / f".{MANIFEST}.tmp"
    tmp.write_text(manifest.to_json())
    os.replace(tmp, dest / MANIFEST)  # last: a folder without it is not a finished backup
    log.info(
        "backup written",
        extra={
            "event": "backup",
            "dest": str(dest),
            "tables": {f"{t.layer}/{t.name}": t.version for t in manifest.tables},
            "duration_s": manifest.seconds,
        },
    )
    return manifest


def _occupied(settings: Settings) -> list[str]:
    found = [f"{layer}/{name}" for layer in LAYERS for name in list_tables(settings, layer)]
    found += [str(p) for p in (settings.ledger_file, settings.tokens_file) if p.exists()]
    return found


def restore(settings: Settings, source: Path, *, progress: Progress | None = None) -> Manifest:
    """Restore the backup in ``source`` into ``settings``' (empty) lakehouse."""
    say = progress or (lambda _: None)
    source = source.expanduser().resolve()
    manifest = Manifest.read(source)
    occupied = _occupied(settings)
    if occupied:
        shown = ", ".join(occupied[:5]) + (" …" if len(occupied) > 5 else "")
        raise BackupError(f"the lakehouse at {settings.dados} is not empty ({shown})")
    for t in manifest.tables:
        target = table_path(settings, t.layer, t.name)
        _upload_table(settings, source / t.layer / t.name, target)
        restored = DeltaTable(str(target), storage_options=settings.storage_options).version()
        if restored != t.version:
            raise BackupError(f"{t.layer}/{t.name}: restored version {restored}, not {t.version}")
        say(f"{t.layer}/{t.name}: version {t.version}, {t.files} files")
    destinations = {settings.ledger_file.name: settings.ledger_file}
    destinations[settings.tokens_file.name] = settings.tokens_file
    for name in manifest.state:
        target = destinations.get(name, settings.meta_dir / name)
        _copy_file(source / _STATE / name, target)
        os.chmod(target, 0o600)
    log.info(
        "backup restored",
        extra={"event": "restore", "source": str(source), "tables": len(manifest.tables)},
    )
    return manifest


# -- scheduled backups ------------------------------------------------------------------------

_STAMP = "%Y%m%dT%H%M%S.%fZ"


def scheduled_backup(settings: Settings, parent: Path, *, keep: int) -> tuple[Path, Manifest]:
    """One backup into ``parent/<UTC time>``; then only the newest ``keep`` finished ones stay."""
    dest = parent / datetime.now(UTC).strftime(_STAMP)
    manifest = backup(settings, dest)
    finished = sorted(
        p for p in parent.iterdir() if p.is_dir() and _is_stamp(p.name) and (p / MANIFEST).exists()
    )
    for old in finished[:-keep] if keep > 0 else []:
        shutil.rmtree(old)
    # an unfinished backup (the process was stopped while copying) is removed too
    for partial in parent.iterdir():
        if partial.is_dir() and _is_stamp(partial.name) and not (partial / MANIFEST).exists():
            if partial != dest:
                shutil.rmtree(partial)
    return dest, manifest


def _is_stamp(name: str) -> bool:
    try:
        datetime.strptime(name, _STAMP)
    except ValueError:
        return False
    return True


def summary(manifest: Manifest) -> dict[str, Any]:
    return {
        "created_at": manifest.created_at,
        "tables": {f"{t.layer}/{t.name}": t.version for t in manifest.tables},
        "state": manifest.state,
        "seconds": manifest.seconds,
    }


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_interval(text: str) -> float:
    """``90s``, ``30m``, ``24h``, ``7d`` → seconds."""
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise BackupError(f"invalid interval {text!r}: a number and s, m, h or d (e.g. 24h)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def _newest_age_s(parent: Path) -> float | None:
    finished = [
        p for p in parent.iterdir() if p.is_dir() and _is_stamp(p.name) and (p / MANIFEST).exists()
    ]
    if not finished:
        return None
    newest = datetime.strptime(max(p.name for p in finished), _STAMP).replace(tzinfo=UTC)
    return (datetime.now(UTC) - newest).total_seconds()


def backup_every(
    settings: Settings,
    parent: Path,
    *,
    every_s: float,
    keep: int,
    stop: threading.Event,
    retry_s: float = 300.0,
) -> int:
    """Scheduled backups until ``stop``: one when the newest in ``parent`` is ``every_s`` old.

    A failed backup is logged and tried again after ``retry_s`` (or ``every_s``, if shorter).
    Returns how many backups were written.
    """
    parent.mkdir(parents=True, exist_ok=True)
    written = 0
    while not stop.is_set():
        age = _newest_age_s(parent)
        wait = 0.0 if age is None else max(0.0, every_s - age)
        if wait > 0:
            stop.wait(wait)
            continue
        try:
            dest, manifest = scheduled_backup(settings, parent, keep=keep)
            written += 1
            log.info("scheduled backup in %s (%d tables)", dest, len(manifest.tables))
        except Exception:  # the next try comes; the service stays up
            log.exception("scheduled backup failed")
            stop.wait(min(retry_s, every_s))
    return written


# -- the commands --------------------------------------------------------------------------------


def run_backup(settings: Settings, dest: Path, *, every: str | None = None, keep: int = 7) -> int:
    """``lakehouse backup DEST [--every 24h --keep 7]``."""
    from lakehouse.signals import stop_on_signals

    def say(line: str) -> None:
        print(line, flush=True)  # noqa: T201

    if every is None:
        manifest = backup(settings, dest, progress=say)
        say(f"backup of {len(manifest.tables)} tables in {dest} ({manifest.seconds:.1f}s)")
        return 0
    every_s = parse_interval(every)
    with stop_on_signals("scheduled backups") as stop:
        log.info("a backup every %s into %s, keeping %d", every, dest, keep)
        backup_every(settings, dest, every_s=every_s, keep=keep, stop=stop)
    return 0


def run_restore(settings: Settings, source: Path) -> int:
    """``lakehouse restore SRC``."""
    manifest = restore(settings, source, progress=lambda line: print(line, flush=True))  # noqa: T201
    print(  # noqa: T201
        f"restored {len(manifest.tables)} tables and {', '.join(manifest.state) or 'no state'} "
        f"from the backup of {manifest.created_at} into {settings.dados}"
    )
    return 0
