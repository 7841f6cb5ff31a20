"""API tokens: issued once, stored hashed, compared in constant time.

A token is ``lh_<id>_<secret>`` (the secret 256 random bits). ``settings.tokens_file`` (JSON,
mode 0600), or the ``tokens`` table of the shared PostgreSQL database when
``LAKEHOUSE_DATABASE_URL`` is set (API replicas then share them), keeps only ``sha256(token)``
with the token's id, name, scopes and tables. Scopes:
``write`` (post records and files), ``read`` (batches, catalog, previews), ``admin`` (all).
A token with tables may only touch those tables.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from lakehouse.db import Database
from lakehouse.exceptions import LakehouseError
from lakehouse.layout import check_table_name
from lakehouse.ledger import utcnow
from lakehouse.settings import Settings

Scope = Literal["write", "read", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)


class TokenError(LakehouseError, ValueError):
    """A token that cannot be issued as asked (unknown scope, bad table name)."""


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    name: str
    hash: str
    scopes: tuple[str, ...]
    tables: tuple[str, ...] = ()
    created_at: str = field(default_factory=utcnow)

    def allows(self, scope: Scope, table: str | None = None) -> bool:
        if "admin" not in self.scopes and scope not in self.scopes:
            return False
        return table is None or not self.tables or table in self.tables


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _read(path: Path) -> list[Token]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    return [
        Token(
            id=t["id"],
            name=t["name"],
            hash=t["hash"],
            scopes=tuple(t["scopes"]),
            tables=tuple(t.get("tables") or ()),
            created_at=t.get("created_at", ""),
        )
        for t in data.get("tokens", [])
    ]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, tokens: list[Token]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"tokens": [asdict(t) for t in tokens]}, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def create_token(settings: Settings, *, scopes: list[str], tables: list[str], name: str) -> str:
    """Issue a token and return it; only its hash is kept."""
    if not scopes:
        raise TokenError(f"give at least one --scope ({', '.join(SCOPES)})")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise TokenError(f"unknown scope {', '.join(unknown)}: one of {', '.join(SCOPES)}")
    for table in tables:
        try:
            check_table_name(table)
        except ValueError as exc:
            raise TokenError(str(exc)) from None
    token_id = secrets.token_hex(6)
    token = f"lh_{token_id}_{secrets.token_urlsafe(32)}"
    entry = Token(
        id=token_id,
        name=name,
        hash=hash_token(token),
        scopes=tuple(sorted(set(scopes))),
        tables=tuple(sorted(set(tables))),
    )
    if settings.database_target:
        with _database(settings.database_target).transaction() as db:
            db.execute(
                "insert into tokens (id, name, hash, scopes, tables, created_at)"
                " values (?, ?, ?, ?, ?, ?)",
                (
                    entry.id,
                    entry.name,
                    entry.hash,
                    json.dumps(entry.scopes),
                    json.dumps(entry.tables),
                    entry.created_at,
                ),
            )
        return token
    with _locked(settings.tokens_file):
        _write(settings.tokens_file, [*_read(settings.tokens_file), entry])
    return token


_TOKENS_TABLE = """
create table if not exists tokens (
    id          text primary key,
    name        text not null,
    hash        text not null,
    scopes      text not null,
    tables      text not null,
    created_at  text not null
);
"""


def list_tokens(settings: Settings) -> list[dict[str, Any]]:
    """Every token's id, name, scopes, tables and creation time (never its hash)."""
    return TokenStore.of(settings).describe()


def revoke_token(settings: Settings, token_id: str) -> Token:
    """Remove the token with id ``token_id`` (the part after ``lh_``); a running API stops
    accepting it at its next request (the store is re-read when the file changes, or within
    ``TokenStore.DB_REFRESH_S`` from a shared database)."""
    if settings.database_target:
        db = _database(settings.database_target)
        tokens = _rows(db)
        found = [t for t in tokens if t.id == token_id]
        if not found:
            known = ", ".join(t.id for t in tokens) or "none"
            raise TokenError(f"no token with id {token_id!r} (tokens: {known})")
        with db.transaction() as tx:
            tx.execute("delete from tokens where id = ?", (token_id,))
        return found[0]
    with _locked(settings.tokens_file):
        tokens = _read(settings.tokens_file)
        kept = [t for t in tokens if t.id != token_id]
        if len(kept) == len(tokens):
            known = ", ".join(t.id for t in tokens) or "none"
            raise TokenError(f"no token with id {token_id!r} (tokens: {known})")
        _write(settings.tokens_file, kept)
    return next(t for t in tokens if t.id == token_id)


def _database(url: str) -> Database:
    return Database(url, {"sqlite": _TOKENS_TABLE, "postgresql": _TOKENS_TABLE})


def _rows(db: Database) -> list[Token]:
    with db.transaction(write=False) as tx:
        rows = tx.execute("select * from tokens order by created_at, id").fetchall()
    return [
        Token(
            id=r["id"],
            name=r["name"],
            hash=r["hash"],
            scopes=tuple(json.loads(r["scopes"])),
            tables=tuple(json.loads(r["tables"])),
            created_at=r["created_at"],
        )
        for r in rows
    ]


class TokenStore:
    """The tokens file, re-read when it changes (tokens may be issued while the API runs), or
    the shared database's table, re-read at most every ``DB_REFRESH_S``."""

    DB_REFRESH_S = 1.0

    def __init__(self, path: Path, *, database: str | None = None) -> None:
        self.path = path
        self._db = _database(database) if database else None
        self._read_at = 0.0
        self._stamp: tuple[int, int] | None = None
        self._tokens: list[Token] = []
        self._lock = threading.Lock()

    @classmethod
    def of(cls, settings: Settings) -> TokenStore:
        return cls(settings.tokens_file, database=settings.database_target)

    @property
    def shown(self) -> str:
        """Where the tokens are kept (a database without its password)."""
        return self._db.shown if self._db is not None else str(self.path)

    def tokens(self) -> list[Token]:
        if self._db is not None:
            with self._lock:
                if time.monotonic() - self._read_at >= self.DB_REFRESH_S:
                    self._tokens = _rows(self._db)
                    self._read_at = time.monotonic()
                return self._tokens
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._tokens = _read(self.path) if stamp else []
                self._stamp = stamp
            return self._tokens

    def stale(self) -> bool:
        """Whether :meth:`tokens` would read the database or the file now (else it answers
        from memory: a ``stat`` of the file at most)."""
        if self._db is not None:
            return time.monotonic() - self._read_at >= self.DB_REFRESH_S
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        return stamp != self._stamp

    def find(self, presented: str) -> Token | None:
        """The token whose hash matches, compared in constant time against every one."""
        digest = hash_token(presented)
        found = None
        for token in self.tokens():
            if hmac.compare_digest(digest, token.hash):
                found = token
        return found

    def describe(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in asdict(t).items() if k != "hash"} for t in self.tokens()]
