"""Which files hold the bronze rows committed after a version: the version watermark.

An incremental model that read bronze table ``t`` at version ``V`` (all of it, or all that came
after its previous version) needs, at the build's pinned version ``P``, exactly the rows that
are in ``t`` at ``P`` and were not in ``t`` at ``V``. :func:`files_since` finds the Parquet
files holding them by walking the Delta log's commits ``V+1 .. P`` (``_delta_log/<v>.json``):

* a commit that adds files and removes none of the rows held at ``V`` (an append, or a delete
  or rewrite of rows committed after ``V``: the loader's roll-back of a half-loaded file) adds
  rows to read; a file it removes no longer counts;
* a commit that only rewrites files (every action ``dataChange: false``: compaction, Z-order)
  moves rows without adding any. Its output holds only rows of ``V`` (skipped), only newer rows
  (read), or both: then the newer rows are read from the files that held them before the
  compaction (still on disk until a vacuum deletes them, days later by default); when one of
  those is gone the answer is "everything" (below);
* a commit read before that is no longer the commit of that number (the table's folder put back
  from an older copy with the same table id, then written on: versions counted again): the
  whole snapshot (the plugin keeps each pinned commit's :func:`commit_stamp`);
* anything else the walk cannot follow exactly: a ``RESTORE`` (it adds back files whose rows
  may already have been read), a change of rows held at ``V`` that writes rows back (a delete or
  update of old rows), deletion vectors, a table created anew (another table id), a version
  older than ``V`` (a table restored from a backup), a commit file the log no longer has. Then
  :func:`files_since` answers ``None``: read the whole pinned snapshot. That is correct for a
  model that merges by key with a total order (the sample's ``new_winners``): a row read again
  picks the same winner, so nothing changes.

A commit that deletes rows held at ``V`` and writes nothing back (a delete of whole files) adds
no row: the rows are gone from bronze and the model keeps what it made of them, as with any
incremental model (bronze is append-only; ``--full-refresh`` rebuilds from what bronze holds).

Builds pin complete versions only (``lakehouse.complete``), so ``V`` and ``P`` never hold part
of a landing file, and the rows found are those of whole files.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

__all__ = ["commit_stamp", "files_since"]

#: Commits walked at most; further behind, the whole snapshot is read (it is cheaper anyway).
MAX_COMMITS = 10_000


@dataclass(slots=True)
class _File:
    #: holds rows that were in the table at the watermark version
    old_rows: bool
    #: for a file holding old and new rows, the files its new rows were read from before a
    #: compaction mixed them (relative paths); empty otherwise
    sources: frozenset[str]


def commit_stamp(root: Path, version: int) -> str | None:
    """What tells commit ``version`` of the table at ``root`` from another commit of the same
    number (the SHA-256 of its log entry); None when the entry is not there."""
    try:
        return hashlib.sha256(
            (root / "_delta_log" / f"{version:020d}.json").read_bytes()
        ).hexdigest()
    except OSError:
        return None


def files_since(
    root: Path,
    version: int,
    pinned: int,
    present: frozenset[str] | set[str],
    stamp: str | None = None,
) -> list[str] | None:
    """The absolute paths of the files holding the rows of the table at ``root`` that are in
    version ``pinned`` and were not in version ``version``; ``None`` when that cannot be told
    exactly from the log (read everything). ``present``: the absolute paths of the files of the
    pinned snapshot (what the build reads), to check the walk against. ``stamp``: the
    :func:`commit_stamp` of ``version`` when it was read; another commit under that number now
    (the table's folder put back from a copy, then written on) means "everything"."""
    if stamp is not None and commit_stamp(root, version) != stamp:
        return None
    if version == pinned:
        return []
    if version > pinned or pinned - version > MAX_COMMITS:
        return None
    files: dict[str, _File] = {}  # added after ``version`` and still in the table
    for number in range(version + 1, pinned + 1):
        actions = _commit(root, number)
        if actions is None or not _apply(files, actions):
            return None
    out: dict[str, None] = {}  # ordered, each file once: a compaction into several files
    # gives every output the same sources, and a file named twice would be read twice
    for path, info in sorted(files.items()):
        full = _absolute(root, path)
        if full not in present:  # the walk disagrees with the snapshot: do not guess
            return None
        if not info.old_rows:
            out[full] = None
            continue
        for source in sorted(info.sources):
            source_path = _absolute(root, source)
            if not os.path.exists(source_path):  # vacuumed: the new rows cannot be told apart
                return None
            out[source_path] = None
    return list(out)


def _commit(root: Path, version: int) -> list[dict[str, object]] | None:
    try:
        text = (root / "_delta_log" / f"{version:020d}.json").read_text(encoding="utf-8")
    except OSError:
        return None
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _apply(files: dict[str, _File], actions: list[dict[str, object]]) -> bool:
    """Apply one commit to ``files``; ``False`` when the walk cannot follow it."""
    split = _split(actions)
    if split is None:
        return False
    adds, removes = split
    if not adds and not removes:
        return True  # metadata, properties, a vacuum's marks, app transactions
    if all(a.get("dataChange") is False for a in adds + removes):
        return _rewrite(files, adds, removes)
    touched_old = False
    for remove in removes:
        held = files.pop(str(remove["path"]), None)
        touched_old = touched_old or held is None or held.old_rows
    if touched_old and adds:
        return False  # rows of the watermark's version written back among the new ones
    for add in adds:
        path = str(add["path"])
        if path in files:
            return False
        files[path] = _File(False, frozenset())
    return True


def _split(
    actions: list[dict[str, object]],
) -> tuple[list[dict[str, object]], list[dict[str, object]]] | None:
    """A commit's add and remove actions; ``None`` for a restore, change data or deletion
    vectors (not followed)."""
    adds: list[dict[str, object]] = []
    removes: list[dict[str, object]] = []
    for action in actions:
        info = action.get("commitInfo")
        if isinstance(info, dict) and str(info.get("operation", "")).upper() == "RESTORE":
            return None
        if "cdc" in action:
            return None
        if "add" in action:
            adds.append(_dict(action["add"]))
        elif "remove" in action:
            removes.append(_dict(action["remove"]))
    if any(a.get("deletionVector") for a in adds + removes):
        return None
    return adds, removes


def _rewrite(
    files: dict[str, _File], adds: list[dict[str, object]], removes: list[dict[str, object]]
) -> bool:
    """A commit that moves rows between files (compaction): its outputs hold its inputs' rows."""
    if not removes:
        return False  # files added as a rewrite of nothing: not something we know
    old_rows = False
    sources: set[str] = set()
    for remove in removes:
        path = str(remove["path"])
        held = files.pop(path, None)
        old_rows = old_rows or held is None or held.old_rows
        if held is not None:
            sources |= held.sources if held.old_rows else {path}
    for add in adds:
        files[str(add["path"])] = _File(old_rows, frozenset(sources) if old_rows else frozenset())
    return True


def _dict(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ValueError(f"not a Delta action: {value!r}")
    return value


def _absolute(root: Path, relative: str) -> str:
    return str(root / unquote(relative))
