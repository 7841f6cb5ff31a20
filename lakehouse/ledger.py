"""The run ledger: every batch and every build, from ``accepted`` to ``published``.

A small SQLite database (WAL mode) beside the tables, shared by processes: the API writes
``accepted``, the loader ``loaded``/``quarantined``/``failed``, the builder ``published``.
It is a *record* of what happened, for people and clients. The source of truth for
exactly-once is the Delta log itself (see ``loader``): a lost ledger row never causes a
duplicate, and the loader re-records a batch it finds already committed.

Batch states::

    accepted ──> loaded ──> published
        │           └─────> failed ──> published   (the latest build that covered it failed,
        │                                           after its retries; ``build_id`` and ``error``
        │                                           say which and why; a later build that
        │                                           publishes its rows heals it)
        └──> quarantined ──> accepted               (``lakehouse replay`` after a fix)
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

BatchState = Literal["accepted", "loaded", "published", "quarantined", "failed"]
BuildState = Literal["running", "succeeded", "failed"]

_SCHEMA = """
create table if not exists batches (
    batch_id        text primary key,
    table_name      text not null,
    state           text not null,
    source_file     text,
    records         integer,
    bytes           integer,
    bronze_version  integer,
    build_id        integer,
    error           text,
    created_at      text not null,
    updated_at      text not null,
    loaded_at       text,
    published_at    text
);
create index if not exists batches_by_table on batches (table_name, state, bronze_version);
create table if not exists builds (
    build_id        integer primary key autoincrement,
    state           text not null,
    selector        text,
    read_versions   text,
    published       text,
    error           text,
    started_at      text not null,
    finished_at     text
);
"""
#: Columns added after the first release: added to an older ledger when it is opened.
_ADDED_COLUMNS = {("builds", "detail"): "text"}


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class Batch:
    batch_id: str
    table: str
    state: BatchState
    source_file: str | None
    records: int | None
    bytes: int | None
    bronze_version: int | None
    build_id: int | None
    error: dict[str, Any] | None
    created_at: str
    updated_at: str
    loaded_at: str | None
    published_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class Build:
    build_id: int
    state: BuildState
    selector: str | None
    read_versions: dict[str, int]
    published: dict[str, int]
    error: str | None
    started_at: str
    finished_at: str | None
    #: models built but not published: ``{"not_published": {id: why}, "kept": {id: why}}``
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _batch(row: sqlite3.Row) -> Batch:
    return Batch(
        batch_id=row["batch_id"],
        table=row["table_name"],
        state=row["state"],
        source_file=row["source_file"],
        records=row["records"],
        bytes=row["bytes"],
        bronze_version=row["bronze_version"],
        build_id=row["build_id"],
        error=json.loads(row["error"]) if row["error"] else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        loaded_at=row["loaded_at"],
        published_at=row["published_at"],
    )


def _build(row: sqlite3.Row) -> Build:
    return Build(
        build_id=row["build_id"],
        state=row["state"],
        selector=row["selector"],
        read_versions=json.loads(row["read_versions"] or "{}"),
        published=json.loads(row["published"] or "{}"),
        error=row["error"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        detail=json.loads(row["detail"] or "{}"),
    )


class Ledger:
    """The run ledger at ``path``; safe to use from several threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30)
        try:
            db.execute("pragma journal_mode=wal")
            db.executescript(_SCHEMA)
            for (table, column), kind in _ADDED_COLUMNS.items():
                present = {row[1] for row in db.execute(f"pragma table_info({table})")}
                if column not in present:
                    db.execute(f"alter table {table} add column {column} {kind}")
        finally:
            db.close()

    @contextmanager
    def _connect(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A transaction: ``begin immediate`` (the write lock up front) to write, a plain
        ``begin`` (a snapshot, no lock against writers in WAL mode) to read."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("pragma synchronous=normal")
            db.execute("begin immediate" if write else "begin")
            try:
                yield db
            except BaseException:
                db.execute("rollback")
                raise
            db.execute("commit")
        finally:
            db.close()

    # -- batches --------------------------------------------------------------------------

    def accept(
        self,
        batch_id: str,
        table: str,
        *,
        source_file: str | None = None,
        records: int | None = None,
        bytes: int | None = None,  # the column's name
    ) -> None:
        """Record a batch that has landed (a no-op if the batch is already known)."""
        now = utcnow()
        with self._connect() as db:
            db.execute(
                "insert into batches (batch_id, table_name, state, source_file, records, bytes,"
                " created_at, updated_at) values (?, ?, 'accepted', ?, ?, ?, ?, ?)"
                " on conflict (batch_id) do nothing",
                (batch_id, table, source_file, records, bytes, now, now),
            )

    def mark_loaded(self, table: str, version: int, batches: Mapping[str, tuple[str, int]]) -> None:
        """Batches committed to bronze ``table`` at ``version``: ``{batch_id: (file, rows)}``."""
        now = utcnow()
        with self._connect() as db:
            for batch_id, (source_file, rows) in batches.items():
                db.execute(
                    "insert into batches (batch_id, table_name, state, source_file, records,"
                    " bronze_version, created_at, updated_at, loaded_at)"
                    " values (?, ?, 'loaded', ?, ?, ?, ?, ?, ?)"
                    " on conflict (batch_id) do update set state = 'loaded',"
                    " table_name = excluded.table_name, records = excluded.records,"
                    " source_file = coalesce(batches.source_file, excluded.source_file),"
                    " bronze_version = excluded.bronze_version, error = null,"
                    " updated_at = excluded.updated_at, loaded_at = excluded.loaded_at"
                    " where batches.state in ('accepted', 'quarantined', 'failed')",
                    (batch_id, table, source_file, rows, version, now, now, now),
                )

    def mark_quarantined(
        self, batch_id: str, table: str, source_file: str, error: Mapping[str, Any]
    ) -> None:
        self._set_failed(batch_id, table, source_file, "quarantined", error)

    def mark_failed(
        self, batch_id: str, table: str, source_file: str | None, error: Mapping[str, Any]
    ) -> None:
        self._set_failed(batch_id, table, source_file, "failed", error)

    def _set_failed(
        self,
        batch_id: str,
        table: str,
        source_file: str | None,
        state: BatchState,
        error: Mapping[str, Any],
    ) -> None:
        now = utcnow()
        with self._connect() as db:
            db.execute(
                "insert into batches (batch_id, table_name, state, source_file, error,"
                " created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)"
                " on conflict (batch_id) do update set state = excluded.state,"
                " error = excluded.error, updated_at = excluded.updated_at"
                " where batches.state != 'published'",
                (batch_id, table, state, source_file, json.dumps(dict(error)), now, now),
            )

    def mark_published(self, build_id: int, read_versions: Mapping[str, int]) -> int:
        """Every loaded batch a build read (bronze version ≤ the one it read) is published.

        Batches marked ``failed`` by earlier builds are published too: their rows are in bronze,
        and this build read and published them.
        """
        now = utcnow()
        count = 0
        with self._connect() as db:
            for table, version in read_versions.items():
                cursor = db.execute(
                    "update batches set state = 'published', build_id = ?, published_at = ?,"
                    " error = null, updated_at = ? where table_name = ?"
                    " and state in ('loaded', 'failed') and bronze_version <= ?",
                    (build_id, now, now, table, version),
                )
                count += cursor.rowcount
        return count

    def mark_build_failed(
        self,
        build_id: int,
        table: str,
        error: Mapping[str, Any],
        *,
        up_to_version: int | None = None,
        batch_ids: Sequence[str] = (),
    ) -> int:
        """The latest build that covered these batches failed: ``failed``, naming the build.

        The batches are those of ``table`` not yet published, with a bronze version at most
        ``up_to_version`` (what the build pinned) or listed in ``batch_ids``.
        """
        now = utcnow()
        ids = list(batch_ids)
        where = ["batch_id in (select value from json_each(?))"]
        params: list[Any] = [json.dumps(ids)]
        if up_to_version is not None:
            where.append("bronze_version <= ?")
            params.append(up_to_version)
        with self._connect() as db:
            cursor = db.execute(
                "update batches set state = 'failed', build_id = ?, error = ?, updated_at = ?"
                " where table_name = ? and state in ('loaded', 'failed')"
                f" and ({' or '.join(where)})",
                (build_id, json.dumps(dict(error)), now, table, *params),
            )
            return cursor.rowcount

    def tables_in_state(self, *states: BatchState) -> dict[str, list[str]]:
        """``{table: [batch ids]}`` of the batches in any of ``states``."""
        marks = ", ".join("?" * len(states))
        with self._connect(write=False) as db:
            rows = db.execute(
                f"select table_name, batch_id from batches where state in ({marks})"
                " order by table_name, bronze_version",
                states,
            ).fetchall()
        out: dict[str, list[str]] = {}
        for table, batch_id in rows:
            out.setdefault(table, []).append(batch_id)
        return out

    def get_batch(self, batch_id: str) -> Batch | None:
        with self._connect(write=False) as db:
            row = db.execute("select * from batches where batch_id = ?", (batch_id,)).fetchone()
        return _batch(row) if row else None

    def batches(
        self, *, states: Sequence[BatchState] | None = None, limit: int = 20
    ) -> list[Batch]:
        query = "select * from batches"
        params: list[Any] = []
        if states:
            query += f" where state in ({', '.join('?' * len(states))})"
            params.extend(states)
        query += " order by updated_at desc limit ?"
        params.append(limit)
        with self._connect(write=False) as db:
            return [_batch(row) for row in db.execute(query, params)]

    def count_by_state(self) -> dict[str, int]:
        with self._connect(write=False) as db:
            rows = db.execute("select state, count(*) from batches group by state").fetchall()
        return dict(rows)

    # -- builds ---------------------------------------------------------------------------

    def start_build(self, selector: str | None) -> int:
        with self._connect() as db:
            cursor = db.execute(
                "insert into builds (state, selector, started_at) values ('running', ?, ?)",
                (selector, utcnow()),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def finish_build(
        self,
        build_id: int,
        state: BuildState,
        *,
        read_versions: Mapping[str, int] | None = None,
        published: Mapping[str, int] | None = None,
        error: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        with self._connect() as db:
            db.execute(
                "update builds set state = ?, read_versions = ?, published = ?, error = ?,"
                " detail = ?, finished_at = ? where build_id = ?",
                (
                    state,
                    json.dumps(dict(read_versions or {})),
                    json.dumps(dict(published or {})),
                    error,
                    json.dumps(dict(detail or {})),
                    utcnow(),
                    build_id,
                ),
            )

    def get_build(self, build_id: int) -> Build | None:
        with self._connect(write=False) as db:
            row = db.execute("select * from builds where build_id = ?", (build_id,)).fetchone()
        return _build(row) if row else None

    def builds(self, *, limit: int = 10) -> list[Build]:
        with self._connect(write=False) as db:
            rows = db.execute("select * from builds order by build_id desc limit ?", (limit,))
            return [_build(row) for row in rows]
