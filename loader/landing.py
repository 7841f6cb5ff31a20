"""The landing zone's files: identity, listing, archive, quarantine and retention.

File identity (what makes a file "the same" for exactly-once):

* a file the API wrote is named ``<batch_id>.<ext>``: its identity is that batch id (the API
  handles its own idempotency; two posts with equal bodies are two batches and both load);
* any other file, with ``dedup_by_content`` on (the default): the BLAKE3 hash (cryptographic,
  about 4x faster than SHA-256 here) of its table name and its bytes, and the reading its name
  chooses (:func:`lakehouse.layout.reading_of`: its format, or the name itself when it names
  none the loader reads), so the same content dropped again under any name of the same format
  loads once, while the same bytes read as another format (``a.csv`` and ``b.tsv``) are
  another file;
* with ``dedup_by_content`` off: the BLAKE3 hash of its table, name, size and modification
  time, so a restart still recognises that one drop, while equal content dropped again loads
  again.

The batch id of a dropped file is ``bat_`` + the first 32 hex digits of its identity (by content: of
the hash of its content identity and its reading, :func:`lakehouse.layout.batch_id_of`).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from blake3 import blake3

from lakehouse import parquet
from lakehouse.layout import (
    BATCH_ID,
    TABLE_NAME,
    archive_dir,
    batch_id_of,
    content_batch_id,
    content_digest,
    is_candidate,
    is_work_folder,
    landing_entries,
    unread_in_raw,
)
from lakehouse.layout import quarantine_dir as table_quarantine_dir
from lakehouse.ledger import utcnow
from lakehouse.settings import Settings
from loader.exceptions import FileRejected

log = logging.getLogger(__name__)

HASH_READ_BYTES = 16 * 1024**2  # per read; BLAKE3 spreads one over the cores


@dataclass(frozen=True, slots=True)
class LandingFile:
    table: str
    path: Path
    size: int
    batch_id: str
    #: when the file arrived in the landing zone (its status change time: last written, or
    #: moved in; a moved or copied file's own mtime may be far older): the batch's landing time
    #: in the run ledger, unless the API recorded it first
    arrived: float = 0.0
    #: the identified file itself (device, inode, size, mtime): a file renamed over it or
    #: written again since is another file, whose rows must not go in under this batch id
    identity: tuple[int, int, int, int] = (0, 0, 0, 0)
    #: its path under ``raw/<table>/`` (``2024/01/a.csv`` in a sub-folder), when not its name
    rel: str = ""
    #: the batch id its content had before session 15 (of its bytes alone, no reading): a
    #: file loaded then and dropped again is already in bronze (identified by content only)
    legacy_id: str = ""

    @property
    def name(self) -> str:
        """Its name in the table's landing folder: the path under ``raw/<table>/``, ``/``
        between folders (the ``_source_file`` of its rows, its name in the ledger)."""
        return self.rel or self.path.name

    @property
    def flat_name(self) -> str:
        """The name it is archived or quarantined under: :attr:`name` with ``/`` written
        ``__`` (the archive and quarantine hold no sub-folders)."""
        return self.name.replace("/", "__")

    @property
    def landed_at(self) -> str | None:
        if not self.arrived:
            return None
        return datetime.fromtimestamp(self.arrived, UTC).isoformat(timespec="milliseconds")


class Replaced(Exception):
    """The file at a landing path is no longer the file that was identified there."""


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def unchanged(file: LandingFile) -> bool:
    """Whether ``file.path`` still holds the file :func:`identify` saw (no sender renamed
    another over it, nothing wrote to it); False when it is gone."""
    try:
        return _identity(file.path.stat()) == file.identity
    except FileNotFoundError:
        return False


def table_of(settings: Settings, path: Path) -> str | None:
    """The table a landing path belongs to (``raw/<table>/<file>``, or a file in a sub-folder
    of it at any depth, but a work folder's: ``layout.is_work_folder``), or None."""
    try:
        rel = path.relative_to(settings.raw_dir)
    except ValueError:
        return None
    if len(rel.parts) < 2 or not TABLE_NAME.fullmatch(rel.parts[0]):
        return None
    if any(map(is_work_folder, rel.parts[1:-1])):
        return None
    return rel.parts[0] if is_candidate(path) else None


#: Files a writer leaves beside its data files, holding no rows: Hadoop's and Spark's
#: ``_SUCCESS`` (empty), Databricks' ``_started_<id>`` (empty) and ``_committed_<id>`` (a JSON
#: list of the files it added), their ids decimal
_MARKER = re.compile(r"_SUCCESS|_started_\d+")
_COMMITTED = re.compile(r"_committed_\d+")


#: Parquet summary files: a footer with no rows of its own (Spark, Dask, pyarrow write them
#: beside the data files; ``_metadata`` names the data files, ``_common_metadata`` only the
#: schema)
_SUMMARIES = ("_metadata", "_common_metadata")


def marker_reason(path: Path) -> str | None:
    """Why a landing file is set aside, not loaded (archived, or deleted, as a loaded file
    is), or None when it is not: a writer's marker file, or a Parquet summary file, by its name
    *and* its content: an empty ``_SUCCESS`` or ``_started_<id>``, a ``_committed_<id>``, a
    ``_metadata``/``_common_metadata`` whose footer says it holds no rows of its own. Anything
    else under such a name goes the way of every file (loaded, or quarantined with its true
    reason): a name alone never drops rows."""
    name = path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if (_MARKER.fullmatch(name) and size == 0) or _COMMITTED.fullmatch(name):
        return f"a writer's marker file ({name}) holds no rows"
    if name in _SUMMARIES and _footer_only(path, size):
        return f"a Parquet summary file ({name}) holds no rows: they are in the data files"
    return None


def _footer_only(path: Path, size: int) -> bool:
    """Whether a Parquet file is its footer alone (no rows, or row groups in other files)."""
    try:
        metadata = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowException):
        return False  # not Parquet: read as any file, refused with its own reason
    return metadata.num_rows == 0 or parquet.summary_file(metadata, size) is not None


def set_aside(settings: Settings, table: str, path: Path) -> LandingFile | None:
    """The marker file at ``path`` leaves the landing zone as a loaded file does (archived, or
    deleted by ``loaded_files``); None when it went away meanwhile."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    rel = name_in(settings, table, path)
    file = LandingFile(
        table,
        path,
        stat.st_size,
        "",
        stat.st_ctime,
        _identity(stat),
        "" if rel == path.name else rel,
    )
    retire(settings, file)
    return file


def name_in(settings: Settings, table: str, path: Path) -> str:
    """A landing file's name in its table's folder: its path under ``raw/<table>/`` (``/``
    between folders), or its name when it is not there."""
    try:
        return path.relative_to(settings.raw_dir / table).as_posix()
    except ValueError:
        return path.name


def identify(
    settings: Settings, table: str, path: Path, by_name: bool | None = None
) -> LandingFile:
    """Stat and identify a landing file (hashes its content when deduplicating by content).

    A file the API wrote is its batch id (its name's stem); ``by_name``: whether this file is
    one (None: any name of a batch id's shape is, for callers that know no ledger). A file
    named so that the API did not write (new content under a loaded batch's name) is
    identified like any dropped file."""
    stat = path.stat()
    rel = name_in(settings, table, path)
    rel = "" if rel == path.name else rel
    stem = path.name.split(".", 1)[0]
    if BATCH_ID.fullmatch(stem) and by_name is not False:
        return LandingFile(table, path, stat.st_size, stem, stat.st_ctime, _identity(stat), rel)
    if not settings.dedup_by_content:
        digest = content_digest(table)
        digest.update(f"{rel or path.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
        batch_id = content_batch_id(digest.hexdigest())
        return LandingFile(table, path, stat.st_size, batch_id, stat.st_ctime, _identity(stat), rel)
    with path.open("rb", buffering=0) as f:
        stat = os.fstat(f.fileno())  # the bytes hashed are this file's
        # BLAKE3 hashes a big file on every core (the same digest: its tree does not depend
        # on threads)
        threads = blake3.AUTO if stat.st_size > HASH_READ_BYTES else 1
        return _hashed(table, path, f, stat, threads, rel)


def _hashed(
    table: str, path: Path, f: io.FileIO, stat: os.stat_result, threads: int, rel: str = ""
) -> LandingFile:
    """The identity of the open file ``f`` (``stat``: its ``fstat``) at ``path``: the BLAKE3
    hash of ``table`` and its content, read into one buffer, reused."""
    return _identified(table, path, stat, _content(table, f, stat.st_size, threads), rel)


def _identified(
    table: str, path: Path, stat: os.stat_result, identity: str, rel: str = ""
) -> LandingFile:
    """The file at ``path`` whose content (opened with ``stat``) hashed to ``identity``;
    raises :class:`Replaced` when the path no longer holds that file as it was."""
    if _identity(os.stat(path)) != _identity(stat):
        raise Replaced(f"{path} changed while it was hashed")
    batch_id = batch_id_of(identity, path.name)
    legacy = content_batch_id(identity)
    return LandingFile(
        table, path, stat.st_size, batch_id, stat.st_ctime, _identity(stat), rel, legacy
    )


def content_identity(table: str, path: Path) -> str:
    """The content identity of the file at ``path`` for ``table`` (``layout.content_digest``),
    as the API records it for a file it lands."""
    with path.open("rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        return _content(table, f, size, blake3.AUTO if size > HASH_READ_BYTES else 1)


def _content(table: str, f: io.FileIO, size: int, threads: int) -> str:
    """The content identity of the open file ``f`` of ``size`` bytes, read into one buffer."""
    digest = content_digest(table, threads)
    buffer = bytearray(min(HASH_READ_BYTES, size) or 1)
    view = memoryview(buffer)
    while n := f.readinto(buffer):
        digest.update(view[:n])
    return str(digest.hexdigest())


def hashed_beside(settings: Settings, path: Path, size: int, by_name: bool | None = None) -> bool:
    """Whether a file of ``size`` bytes at ``path`` is identified by :class:`Identifying`:
    a dropped file (not an API batch, ``by_name`` as for :func:`identify`) bigger than
    ``HASH_BESIDE_BYTES`` whose content is hashed."""
    if by_name is None:
        by_name = bool(BATCH_ID.fullmatch(path.name.split(".", 1)[0]))
    return settings.dedup_by_content and size > HASH_BESIDE_BYTES and not by_name


#: A dropped text file bigger than this is hashed beside its reading (:class:`Identifying`).
HASH_BESIDE_BYTES = HASH_READ_BYTES


class Identifying:
    """The identity of a big dropped file, its content hashed while the loader reads the
    file's first records, whose values decide its columns' types, instead of before that (the
    hash of a 600 MB CSV took ~0.15 CPU s before anything else began; the reading of the first
    records is one core's work, and the hash can take the other). The identity is the one
    :func:`identify` gives; :meth:`result` waits for it, and the loader asks before anything of
    the file is committed, archived or quarantined.

    The file is opened (and its device, inode, size and mtime taken) here, before the reading
    opens it: a file renamed over the path after that is one the reading may hold, and
    ``loading.same_file`` finds the path's file is not the one identified, as when the hash
    came first.

    The hashing starts at :meth:`start`, on a thread of its own, unless a reading of the same
    file took it on first (:meth:`claim`: JSON's number search reads every byte of the file
    anyway, and feeds them to the hash as it reads them, so the file is read once, not twice);
    a reading that stops before the end hands it back (the hash then reads the file itself).
    """

    def __init__(self, table: str, path: Path, rel: str = "") -> None:
        self.path = path
        self._table = table
        self._rel = rel  # as LandingFile.rel
        self._file = path.open("rb", buffering=0)
        try:
            self._stat = os.fstat(self._file.fileno())
        except BaseException:
            self._file.close()
            raise
        self._threads = blake3.AUTO if self._stat.st_size > HASH_READ_BYTES else 1
        self._found: LandingFile | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._state = "waiting"  # then "claimed" (fed by a reading) or "hashing"; "done"
        self._done = threading.Event()

    def start(self) -> None:
        """Hash the file on a thread of its own, unless it is hashed already or being fed."""
        with self._lock:
            if self._state != "waiting":
                return
            self._state = "hashing"
        threading.Thread(target=self._run, name="loader-hash", daemon=True).start()

    def _run(self) -> None:
        try:
            # on every core too: the reading's one core and the others' work share them
            found = _hashed(
                self._table, self.path, self._file, self._stat, self._threads, self._rel
            )
            self._settle(found, None)
        except BaseException as exc:  # raised by result()
            self._settle(None, exc)

    def _settle(self, found: LandingFile | None, error: BaseException | None) -> None:
        self._found, self._error = found, error
        self._file.close()
        with self._lock:
            self._state = "done"
        self._done.set()

    def claim(self, fd: int) -> ContentFeed | None:
        """The hashing, fed by the reader of ``fd``, when ``fd`` is open on the file this
        identifies (the same device and inode) and its hashing has not begun; else None."""
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (self._stat.st_dev, self._stat.st_ino):
            return None  # another file (renamed over the path, or a scratch copy)
        with self._lock:
            if self._state != "waiting":
                return None
            self._state = "claimed"
        return ContentFeed(self, content_digest(self._table, self._threads))

    def _fed(self, digest: blake3) -> None:
        try:
            found = _identified(self._table, self.path, self._stat, digest.hexdigest(), self._rel)
            self._settle(found, None)
        except BaseException as exc:
            self._settle(None, exc)

    def _handed_back(self) -> None:
        with self._lock:
            if self._state != "claimed":
                return
            self._state = "waiting"
        self.start()

    def result(self) -> LandingFile:
        """The file's identity (raises :class:`Replaced` when it changed while hashed)."""
        self.start()
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._found is not None
        return self._found


class ContentFeed:
    """A file's bytes fed to its hash by a reader that reads them all (:meth:`Identifying.claim`):
    :meth:`update` with every byte in order, then :meth:`finish` once the end of the file is
    read, or :meth:`abandon` (the hash then reads the file itself, from its start)."""

    def __init__(self, identifying: Identifying, digest: blake3) -> None:
        self._identifying = identifying
        self._digest = digest
        self._over = False

    def update(self, data: memoryview) -> None:
        self._digest.update(data)

    def finish(self) -> None:
        if not self._over:
            self._over = True
            self._identifying._fed(self._digest)

    def abandon(self) -> None:
        if not self._over:
            self._over = True
            self._identifying._handed_back()


def scan(settings: Settings) -> Iterator[tuple[str, Path]]:
    """Every candidate file in ``raw/<table>/`` and its sub-folders (but work folders:
    ``layout.is_work_folder``) now, oldest first within a table."""
    if not settings.raw_dir.is_dir():
        return
    for folder in sorted(settings.raw_dir.iterdir()):
        if not is_candidate(folder):
            continue
        unread = unread_in_raw(folder)
        if unread is not None:  # lakehouse status lists it too
            log.warning("%s", unread)
            continue
        entries = []
        for entry in landing_entries(folder):
            path = Path(entry.path)
            if is_candidate(path):
                try:
                    entries.append((entry.stat().st_mtime_ns, path))
                except FileNotFoundError:  # taken meanwhile
                    continue
        for _, path in sorted(entries):
            yield folder.name, path


#: The longest name (in bytes) a file moved out of the landing zone keeps: its sidecar's
#: temporary name, ``.<name>.error.json.tmp``, must fit the file system's 255 bytes.
NAME_MAX = 255 - len("..error.json.tmp")
#: The bytes of a name's end a fitted name keeps (its suffixes: ``.csv.gz``)
_KEPT_END = 16


def fitted_name(name: str) -> str:
    """``name``, or, past :data:`NAME_MAX` bytes, its beginning, a hash of it whole and its
    end (``yyy…yyy-<16 hex>.csv``): a legal landing name of up to 255 bytes would otherwise
    give an archived or quarantined copy whose sidecar's name the file system refuses. The
    sidecar keeps the name whole (``"file"``), and a replay restores it."""
    if len(os.fsencode(name)) <= NAME_MAX:
        return name
    end = name
    while len(os.fsencode(end)) > _KEPT_END:
        end = end[1:]
    mark = f"-{blake3(os.fsencode(name)).hexdigest()[:16]}"
    head = name[: len(name) - len(end)]
    while len(os.fsencode(head + mark + end)) > NAME_MAX:
        head = head[:-1]
    return head + mark + end


def _free_name(folder: Path, name: str) -> Path:
    dest = folder / fitted_name(name)
    if dest.exists() or (folder / f"{dest.name}.error.json").exists():
        stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
        dest = folder / fitted_name(f"{stamp}-{name}")
    return dest


def _move(src: Path, dest: Path, identity: tuple[int, int, int, int] | None = None) -> None:
    """Move a file out of the landing zone: link + unlink where the file system allows.

    A rename out of a watched folder is an unpaired inotify ``IN_MOVED_FROM``, which watchdog
    holds for half a second to pair it, delaying every event behind it; an unlink is not held.
    A crash between the two leaves the file in both places: the Delta watermark says it is
    loaded, so the next pass only archives it again.

    ``identity``: move only that file (raises :class:`Replaced` when another file was renamed
    over ``src`` since, and leaves it): a file loaded or refused is never confused with a
    newer one sent under its name.
    """
    if identity is not None and _identity(src.stat()) != identity:
        raise Replaced(f"{src} is not the file that was read")
    try:
        os.link(src, dest)
    except OSError:  # another file system, or no hard links there
        shutil.move(src, dest)
        return
    if identity is not None and _identity(dest.stat()) != identity:
        os.unlink(dest)  # the link took a newer file: it stays where it is
        raise Replaced(f"{src} is not the file that was read")
    os.unlink(src)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    os.replace(tmp, path)


def quarantine(settings: Settings, file: LandingFile, error: FileRejected) -> Path:
    """Move a file to ``quarantine/<table>/`` with ``<file>.error.json`` beside it."""
    folder = table_quarantine_dir(settings, file.table)
    folder.mkdir(parents=True, exist_ok=True)
    dest = _free_name(folder, file.flat_name)
    payload = {
        "file": file.name,
        "table": file.table,
        "batch_id": file.batch_id,
        **error.as_dict(),
        "at": utcnow(),
    }
    sidecar = dest.with_name(f"{dest.name}.error.json")
    _write_json(sidecar, payload)
    try:
        _move(file.path, dest, file.identity)
    except (Replaced, FileNotFoundError):
        sidecar.unlink(missing_ok=True)  # the file there now is another: its own pass decides
        raise
    return dest


def retire(settings: Settings, file: LandingFile) -> Path | None:
    """A loaded file leaves the landing zone: archived (default) or deleted, by setting.

    A newer file renamed over it since it was identified stays, for the next pass.
    """
    if settings.loaded_files == "delete":
        if unchanged(file):
            file.path.unlink(missing_ok=True)
        return None
    folder = archive_dir(settings, file.table)
    folder.mkdir(parents=True, exist_ok=True)
    dest = _free_name(folder, file.flat_name)
    try:
        _move(file.path, dest, file.identity)
    except FileNotFoundError:
        return None
    except Replaced:
        log.info(
            "%s/%s was replaced after it was read: left for the next pass", file.table, file.name
        )
        return None
    os.utime(dest)  # retention counts from the archiving, not from the file's own mtime
    return dest


def prune_archive(settings: Settings, now: float | None = None) -> int:
    """Delete archived files older than ``archive_retention_days``; how many went."""
    if not settings.archive_dir.is_dir():
        return 0
    cutoff = (now or time.time()) - settings.archive_retention_days * 86400
    removed = 0
    for path in settings.archive_dir.glob("*/*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


@dataclass(frozen=True, slots=True)
class Replayed:
    """A quarantined file moved back into the landing zone by :func:`replay`."""

    table: str
    file: str
    batch_id: str | None
    moved_to: Path
    history: Path | None


def replay(settings: Settings, what: str) -> list[Replayed]:
    """Move quarantined files back into ``raw/<table>/`` (``lakehouse replay``): after a fix
    (a contract, a setting), the loader takes them again.

    ``what``: a table (every quarantined file of it), or one file: ``<table>/<file>``, or its
    path. Each file's ``.error.json`` moves to ``quarantine/<table>/history/`` with the time
    of the replay in its name, so the reasons of earlier attempts stay and none is left stale;
    a file quarantined again gets a new one. Raises ``FileNotFoundError`` naming what it
    looked for when nothing matches.
    """
    files = _quarantined(settings, what)
    if not files:
        raise FileNotFoundError(
            f"no quarantined file matches {what!r} (a table, <table>/<file>, or a path under "
            f"{settings.quarantine_dir})"
        )
    return [_replay_one(settings, path) for path in files]


def _quarantined(settings: Settings, what: str) -> list[Path]:
    base = settings.quarantine_dir
    if TABLE_NAME.fullmatch(what):
        folder = table_quarantine_dir(settings, what)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.is_file() and is_candidate(p))
    path = Path(what)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, base / path]
    # a name past NAME_MAX bytes is quarantined under its fitted name: either one finds it
    candidates += [c.with_name(fitted_name(c.name)) for c in candidates if c.name]
    for candidate in candidates:
        try:
            rel = candidate.resolve().relative_to(base.resolve())
        except ValueError:
            continue
        if len(rel.parts) == 2 and candidate.is_file() and is_candidate(candidate):
            return [base / rel]
    return []


def _replay_one(settings: Settings, path: Path) -> Replayed:
    table = path.parent.name
    sidecar = path.with_name(f"{path.name}.error.json")
    error: dict[str, Any] = {}
    history: Path | None = None
    if sidecar.exists():
        try:
            error = json.loads(sidecar.read_text())
        except ValueError:
            error = {}
        folder = path.parent / "history"
        folder.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        history = folder / f"{fitted_name(f'{path.name}.{stamp}')}.error.json"
        os.replace(sidecar, history)
    name = str(error.get("file") or path.name)
    raw = settings.raw_dir / table
    parts = name.split("/")  # a file of a sub-folder goes back into it
    if any(p in ("", ".", "..") or is_work_folder(p) for p in parts[:-1]) or not parts[-1]:
        parts = [path.name]
    folder = raw.joinpath(*parts[:-1])
    folder.mkdir(parents=True, exist_ok=True)
    name = parts[-1]
    dest = folder / name if not (folder / name).exists() else _free_name(folder, name)
    try:
        _move(path, dest)
    except OSError:
        if history is not None:  # put the reason back beside the file that stays
            os.replace(history, sidecar)
        raise
    log.info("replayed %s/%s into %s", table, path.name, dest)
    batch_id = error.get("batch_id")
    return Replayed(table, path.name, str(batch_id) if batch_id else None, dest, history)
