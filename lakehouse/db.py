"""The small shared stores (run ledger, API tokens, idempotency keys, loader leases) on SQLite or
PostgreSQL, with one way to run a transaction on either.

SQLite (a file under the state folder, WAL mode) is the embedded default: one machine, several
processes. PostgreSQL (``LAKEHOUSE_DATABASE_URL=postgresql://...``) is for more than one machine:
API replicas behind a proxy and loader workers elsewhere then share one truth.

The SQL the stores write is the common part of both dialects (``insert ... on conflict``,
``returning``, ``?`` placeholders, which become ``%s`` for psycopg); the few differences (an
identity column, how a write transaction takes its lock) live here.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgresql"]
URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


class Rows(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Tx:
    """One open transaction: ``execute`` with ``?`` placeholders, rows readable by name."""

    def __init__(self, dialect: Dialect, conn: Any) -> None:
        self.dialect = dialect
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        if self.dialect == "postgresql":
            return self._conn.execute(sql.replace("?", "%s"), params)  # type: ignore[no-any-return]
        return self._conn.execute(sql, params)  # type: ignore[no-any-return]

    def lock(self, name: str) -> None:
        """Serialise writers of ``name`` until this transaction ends (SQLite: already)."""
        if self.dialect == "postgresql":
            self._conn.execute("select pg_advisory_xact_lock(%s)", (zlib.crc32(name.encode()),))


class Database:
    """A SQLite file or a PostgreSQL database, and its schema (created if missing)."""

    def __init__(
        self,
        target: str | Path,
        schema: Mapping[Dialect, str],
        added_columns: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        """``added_columns``: ``{(table, column): type}`` added after a first release, added to
        an older database when it is opened."""
        self.target = target
        self.dialect: Dialect = "postgresql" if is_database_url(target) else "sqlite"
        self._local = threading.local()
        #: every PostgreSQL connection opened (one per thread), closed with this object
        self._opened: list[Any] = []
        self._opened_lock = threading.Lock()
        weakref.finalize(self, _close_all, self._opened)
        if self.dialect == "sqlite":
            path = private_file(Path(target))  # batch errors, file names, responses: 0600
            db = sqlite3.connect(path, timeout=30)
            try:
                _write_ahead_log(db)
                # one transaction, not synced at its commit (WAL: the database stays whole, and
                # a schema lost to a power cut is made again by the next open): a new store's
                # first open waited for a sync of every statement (~10-50 ms, a 100,000-row load
                # takes ~0.18 s)
                db.execute("pragma synchronous=normal")
                db.executescript(f"begin;\n{schema['sqlite']}\n;commit;")
                for (table, column), kind in (added_columns or {}).items():
                    present = {row[1] for row in db.execute(f"pragma table_info({table})")}
                    if column not in present:
                        db.execute(f"alter table {table} add column {column} {kind}")
            finally:
                db.close()
        else:
            with self.transaction() as tx:
                tx.lock("lakehouse-schema")  # two processes starting at once
                for statement in schema["postgresql"].split(";"):
                    if statement.strip():
                        tx.execute(statement)
                for (table, column), kind in (added_columns or {}).items():
                    tx.execute(f"alter table {table} add column if not exists {column} {kind}")

    def __repr__(self) -> str:
        return f"Database({self.shown})"

    @property
    def shown(self) -> str:
        """The target without a password."""
        if self.dialect == "sqlite":
            return str(self.target)
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(str(self.target))
        return f"postgresql://{info.get('host', '')}:{info.get('port', '')}/{info.get('dbname')}"

    def keep_open(self) -> sqlite3.Connection | None:
        """SQLite: a connection to hold while a service runs, so the many short ones are never
        the last (SQLite checkpoints and removes the WAL when the last one closes: 10-25 ms a
        call instead of 0.4 ms). PostgreSQL keeps its connections open anyway: None."""
        if self.dialect != "sqlite":
            return None
        db = sqlite3.connect(self.target, check_same_thread=False)
        db.execute("select count(*) from sqlite_master").fetchall()
        return db

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Tx]:
        """A transaction: committed when the block ends, rolled back when it raises.

        SQLite: ``begin immediate`` (the write lock up front) to write, a plain ``begin`` (a
        snapshot, no lock against writers in WAL mode) to read. PostgreSQL: read committed, one
        connection per thread kept open between transactions.
        """
        if self.dialect == "sqlite":
            db = sqlite3.connect(self.target, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            try:
                db.execute("pragma synchronous=normal")
                db.execute("begin immediate" if write else "begin")
                try:
                    yield Tx("sqlite", db)
                except BaseException:
                    db.execute("rollback")
                    raise
                db.execute("commit")
            finally:
                db.close()
            return
        conn = self._pg()
        try:
            with conn.transaction():
                yield Tx("postgresql", conn)
        except Exception:
            if conn.broken:
                conn.close()
                self._local.conn = None
            raise

    def _pg(self) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(str(self.target), autocommit=True, row_factory=dict_row)
            self._local.conn = conn
            with self._opened_lock:
                self._opened[:] = [c for c in self._opened if not c.closed]
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        """Close the connections this object opened (it opens new ones if used again)."""
        _close_all(self._opened)


def _close_all(connections: list[Any]) -> None:
    for conn in list(connections):
        conn.close()
    connections.clear()


def private_file(path: Path) -> Path:
    """Make ``path`` (a SQLite store, created empty if missing) readable by its owner only.

    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so they follow.

    An existing file is never opened here: closing any descriptor of a file drops every POSIX
    lock this process holds on it (sqlite.org/howtocorrupt.html, 2.2), so a store opened again
    while a connection of this process is open would lose that connection's locks; another
    process then takes itself for the last one and deletes the WAL under it ("disk I/O error"
    on every later write, and writes lost).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    os.chmod(path, 0o600)
    return path


def _write_ahead_log(db: sqlite3.Connection, *, within_s: float = 30.0) -> None:
    """Put the SQLite file in WAL mode (kept by the file: once is enough). Changing the mode
    can answer "database is locked" at once, without waiting for the connection's timeout,
    while another process opens the same new file (two ``lakehouse load`` started together):
    tried again for up to ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while db.execute("pragma journal_mode").fetchone()[0].lower() != "wal":
        try:
            db.execute("pragma journal_mode=wal")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
