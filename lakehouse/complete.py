"""Which bronze versions a reader may rely on: the newest version at which every file is whole.

A big landing file reaches bronze in pieces, one Delta commit each (``loader.bronze``); between
its first and its last piece the table holds part of a file. Every commit the loader makes says,
in its commit metadata (``commitInfo``), which files are still open after it:

* ``lakehouse.open_files``: a JSON list of the batch ids that have some, but not all, of their
  rows in the table at this version (``[]``: every file is whole);
* ``lakehouse.complete``: ``"true"`` when that list is empty, else ``"false"`` (the same fact, for
  readers that do not parse JSON).

A commit made by anything else (compaction, a checkpoint, a delete by upkeep) changes no row's
presence and carries neither key: it inherits the state of the loader commit before it. So the
**complete version** of a table is the newest version whose nearest loader commit at or before it
says ``complete``; a table none of whose commits carries the keys (written before this rule, or by
another writer) is complete at every version. :func:`complete_version` computes it from the Delta
history (newest first; usually one commit is read). Builds pin bronze there
(``transform.dbt_plugin``), so no build ever reads part of a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from deltalake import DeltaTable

__all__ = [
    "COMPLETE_KEY",
    "OPEN_FILES_KEY",
    "commit_metadata",
    "complete_version",
    "last_open_files",
    "open_files_of",
]

OPEN_FILES_KEY = "lakehouse.open_files"
COMPLETE_KEY = "lakehouse.complete"

_FIRST_LOOK = 8  # commits read first; doubled while no loader commit says "complete"
_ATTEMPTS = 50


def commit_metadata(open_files: Iterable[str]) -> dict[str, str]:
    """The commit metadata a loader commit carries, given the files open after it."""
    opened = sorted(set(open_files))
    return {OPEN_FILES_KEY: json.dumps(opened), COMPLETE_KEY: "false" if opened else "true"}


def open_files_of(commit: Mapping[str, Any]) -> frozenset[str] | None:
    """The files open after ``commit`` (a ``DeltaTable.history()`` entry); ``None``: not said."""
    value = commit.get(OPEN_FILES_KEY)
    if value is None:
        return None
    opened = json.loads(value) if isinstance(value, str) else value
    return frozenset(str(b) for b in opened)


def last_open_files(table: DeltaTable) -> frozenset[str]:
    """The files open at the table's current version (empty when no loader commit says)."""
    for commit in _history(table):
        opened = open_files_of(commit)
        if opened is not None:
            return opened
    return frozenset()


def complete_version(table: DeltaTable) -> int | None:
    """The newest version of ``table`` at which no file is open; ``None`` while there is none.

    Brings ``table`` up to date first (it is left at the latest version). Walks the history from
    the newest commit: a loader commit with open files moves the answer below it; the first
    loader commit with none (or the oldest commit, when no loader commit says anything before
    it) ends the walk.
    """
    for _ in range(_ATTEMPTS):
        try:
            return _complete_version(table)
        except _Moved:
            continue  # a commit landed while the history was read: read it again
    raise RuntimeError(f"the table kept moving while its history was read ({_ATTEMPTS} times)")


class _Moved(Exception):
    pass


def _complete_version(table: DeltaTable) -> int | None:
    table.update_incremental()
    upper = table.version()
    oldest = upper
    for commit in _history(table, check=True):
        version = int(commit["version"])
        oldest = version
        opened = open_files_of(commit)
        if opened is None:
            continue
        if not opened:
            return upper
        upper = version - 1
    # no loader commit said "complete": versions below the last open one predate the rule
    return upper if upper >= oldest else None


def _history(table: DeltaTable, *, check: bool = False) -> Iterable[dict[str, Any]]:
    """The table's commits, newest first, read in growing slices (usually one is enough).

    ``DeltaTable.history()`` reads the newest commits in storage but numbers them down from the
    version the object holds (deltalake 1.6): with ``check``, a slice read while the table moved
    raises :class:`_Moved`, so the numbers can be trusted.
    """
    limit, seen = _FIRST_LOOK, 0
    while True:
        before = table.version()
        commits = table.history(limit)
        if check:
            table.update_incremental()
            if table.version() != before:
                raise _Moved
        yield from commits[seen:]
        if len(commits) < limit:
            return
        seen, limit = len(commits), limit * 2
