"""Names and places: table names, layers, the landing zone's folders and batch ids.

Everything that turns a name into a path goes through here, so no caller can build a path that
escapes the landing zone or the data folder.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args

from blake3 import blake3

from lakehouse.dialect import BATCH_ID_COLUMN as BATCH_ID_COLUMN
from lakehouse.dialect import INGESTED_AT as INGESTED_AT
from lakehouse.dialect import SOURCE_FILE as SOURCE_FILE
from lakehouse.exceptions import InvalidNameError
from lakehouse.formats import from_name
from lakehouse.settings import Settings
from lakehouse.storage import Location, has_delta_log, list_dirs

Layer = Literal["bronze", "silver", "gold"]
LAYERS: tuple[Layer, ...] = get_args(Layer)

TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
BATCH_ID = re.compile(r"^bat_[0-9a-f]{32}$")

#: Columns the loader adds to every bronze row (and ``dialect.RESCUED_DATA`` when needed).
BRONZE_COLUMNS = (INGESTED_AT, BATCH_ID_COLUMN, SOURCE_FILE)

#: File names in the landing zone that are never taken (incomplete or hidden); ``.tmp`` and
#: ``.part`` in any case (``x.csv.TMP``), as the data extensions are read (``DATA.CSV``).
IGNORED_SUFFIXES = (".tmp", ".part", ".error.json")


def check_table_name(name: str) -> str:
    """Return ``name`` if it is a valid table name, else raise :class:`InvalidNameError`."""
    if not TABLE_NAME.fullmatch(name):
        raise InvalidNameError(
            f"invalid table name {name!r}: must match {TABLE_NAME.pattern} "
            "(lowercase letter, then lowercase letters, digits or '_', at most 63 characters)"
        )
    return name


def unread_in_raw(path: Path) -> str | None:
    """Why an entry directly in ``raw/`` (not hidden, not temporary: ``is_candidate``) is not
    read, its files never loaded, or None: a file there (files go in ``raw/<table>/``), or a
    folder whose name is no table name, in :func:`check_table_name`'s words, the API's 400 for
    that name. ``lakehouse status`` lists them, the loader logs them at each scan."""
    if not path.is_dir():
        return f"raw/{path.name} is not read: files go in raw/<table>/"
    try:
        check_table_name(path.name)
    except InvalidNameError as exc:
        return f"raw/{path.name}/ is not read: {exc}"
    return None


def check_layer(layer: str) -> Layer:
    if layer not in LAYERS:
        raise InvalidNameError(f"invalid layer {layer!r}: one of {', '.join(LAYERS)}")
    return layer  # type: ignore[return-value]  # checked just above


def new_batch_id() -> str:
    return f"bat_{uuid.uuid4().hex}"


def batch_id_for(file_name: str, identity: str) -> str:
    """The batch id of a landing file: its stem when the API named it, else from its identity
    and the reading its name chooses (:func:`batch_id_of`)."""
    stem = file_name.split(".", 1)[0]
    if BATCH_ID.fullmatch(stem):
        return stem
    return batch_id_of(identity, file_name)


def reading_of(name: str) -> str:
    """How the loader reads a file of this name, as its identity holds it: its format (kind,
    and ``+gzip``), as ``readers.detect`` chooses it; a name of no format the loader reads, or
    not UTF-8, is refused by that name: the name itself (as its bytes, escaped)."""
    found = from_name(name)
    shown = os.fsencode(name).decode("utf-8", "backslashreplace")
    if found is None or shown != name:
        return f"name:{shown}"
    return found.kind + ("+gzip" if found.gzip else "")


def batch_id_of(identity: str, name: str) -> str:
    """The batch id of a dropped file whose content identity (:func:`content_identity`) is
    ``identity``, named ``name``: of its bytes and the reading its name chooses
    (:func:`reading_of`; the same bytes read as another format are another file, whose rows
    or refusal are its own, readA 03 of session 14)."""
    return content_batch_id(blake3(f"{identity}\0{reading_of(name)}".encode()).hexdigest())


def content_digest(table: str, threads: int = 1) -> blake3:
    """The hasher of a landing file's content identity: BLAKE3 of its table's name, a NUL and
    its bytes as landed (the same digest whatever ``threads``). The loader identifies a dropped
    file by it; the API records it for each file it lands (the ledger's ``content_hash``), so
    other content under an API batch's name is told from that batch's file."""
    return blake3(f"{table}\0".encode(), max_threads=threads)


def content_batch_id(identity: str) -> str:
    """The batch id of a file the API did not write, from its identity (a content hash),
    whatever its name."""
    return f"bat_{identity[:32]}"


def is_candidate(path: Path) -> bool:
    """A file the loader may take: not hidden, not temporary, not a sidecar."""
    name = path.name
    return not (
        name.startswith(".") or name.endswith(IGNORED_SUFFIXES) or name.lower().endswith(_TEMPORARY)
    )


def is_work_folder(name: str) -> bool:
    """A sub-folder of ``raw/<table>/`` whose files are never taken: a name beginning with
    ``.`` or ``_`` (Hadoop's and Spark's rule for hidden paths: a writer's work in progress,
    ``_temporary/``, ``.spark-staging-*/``), until the writer moves them out of it."""
    return name.startswith((".", "_"))


def landing_entries(folder: Path, *, work: bool = False) -> Iterator[os.DirEntry[str]]:
    """Every regular file under a table's landing folder ``folder``, in its sub-folders at any
    depth (not following links), but those in a work folder (:func:`is_work_folder`) unless
    ``work``. A folder gone meanwhile yields nothing."""
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    folders = []
    with entries:
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if work or not is_work_folder(entry.name):
                        folders.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    yield entry
            except FileNotFoundError:
                continue
    for sub in sorted(folders):
        yield from landing_entries(Path(sub), work=work)


#: A temporary file in the landing zone written to within this many seconds is a write in
#: progress (the API receiving a body, a system copying a file in); an older one was left by a
#: crash and is not waited for.
WRITE_IN_PROGRESS_S = 60.0
_TEMPORARY = (".tmp", ".part")


def landing_in_flight(settings: Settings) -> Path | None:
    """A file in the local landing zone that a load may still come from, or ``None``.

    Either a file the loader will take (``raw/<table>/``, or a sub-folder of it: not loaded
    yet, or being loaded; it leaves the folder only once committed or quarantined), or a
    temporary file (``.tmp``, ``.part``), or a file in a writer's work folder
    (:func:`is_work_folder`), written to within :data:`WRITE_IN_PROGRESS_S`: a write in
    progress, such as the API's ``.<batch_id>.<ext>.tmp`` while it receives a client's batch.
    A temporary gone between the folder's listing and the look at its age counts too: it was
    renamed into place (the listing may not hold its new name) or taken, and the builder looks
    again a moment later. The first one found.
    The builder starts early only when there is none (docs/dbt.md, "When builds run").
    """
    try:
        folders = os.scandir(settings.raw_dir)
    except (FileNotFoundError, NotADirectoryError):
        return None
    now = time.time()
    with folders:
        for folder in folders:
            if not is_candidate(Path(folder.name)) or not TABLE_NAME.fullmatch(folder.name):
                continue  # never loaded (the loader ignores it too)
            base = Path(folder.path)
            for entry in landing_entries(base, work=True):
                path = Path(entry.path)
                try:
                    at_work = any(map(is_work_folder, path.relative_to(base).parts[:-1]))
                    if is_candidate(path) and not at_work:
                        return path
                    if (
                        at_work or entry.name.lower().endswith(_TEMPORARY)
                    ) and now - entry.stat().st_mtime < WRITE_IN_PROGRESS_S:
                        return path  # a writer's work in progress: its files may come
                except FileNotFoundError:
                    # renamed into place or taken since the folder was listed: the listing may
                    # hold neither its new name nor anything else, and a load may still come
                    return path
    return None


def table_path(settings: Settings, layer: Layer, name: str) -> Location:
    """Where a table lives: a local folder, or a URL in the object store (``str()`` for both is
    what delta-rs takes, with ``settings.storage_options``)."""
    return settings.dados / check_layer(layer) / check_table_name(name)


def table_exists(settings: Settings, layer: Layer, name: str) -> bool:
    return has_delta_log(table_path(settings, layer, name), settings.storage_options)


def raw_dir(settings: Settings, table: str) -> Path:
    return settings.raw_dir / check_table_name(table)


def quarantine_dir(settings: Settings, table: str) -> Path:
    return settings.quarantine_dir / check_table_name(table)


def archive_dir(settings: Settings, table: str) -> Path:
    return settings.archive_dir / check_table_name(table)


def list_tables(settings: Settings, layer: Layer) -> list[str]:
    """Delta tables of a layer, by folder (or object-store prefix), sorted."""
    base = settings.dados / check_layer(layer)
    return [
        name
        for name in list_dirs(base, settings.storage_options)
        if TABLE_NAME.fullmatch(name) and has_delta_log(base / name, settings.storage_options)
    ]


def without_server_paths(settings: Settings, value: Any) -> Any:
    """``value`` (text, or lists and dicts of it) with this server's folders written relative:
    ``landing_zone/…``, ``dados/…``, ``dbt_project/…``, ``./…``, for answers to API clients,
    who have no business knowing where the server keeps its files."""
    if isinstance(value, str):
        for prefix, shown in _folders(settings):
            value = value.replace(prefix + os.sep, shown + "/").replace(prefix, shown)
        return value
    if isinstance(value, dict):
        return {k: without_server_paths(settings, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_server_paths(settings, v) for v in value]
    return value


def _folders(settings: Settings) -> list[tuple[str, str]]:
    named = {
        str(settings.landing_zone): "landing_zone",
        str(settings.dados): "dados",
        str(settings.dbt_project_dir): "dbt_project",
        str(settings.root): ".",
    }
    return sorted(named.items(), key=lambda item: len(item[0]), reverse=True)  # longest first
