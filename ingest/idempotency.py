"""``Idempotency-Key``: the same key and body again returns the first answer and lands nothing.

Keys live in a small SQLite file of the API's own (``meta_dir/api_idempotency.sqlite``), scoped
by token and table, for ``api_idempotency_ttl_s``. Only accepted requests are remembered: a
request that failed may be retried under the same key with a corrected body.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A request holding a key this long without finishing is taken to have died with its process.
ABANDONED_S = 120.0

_SCHEMA = """
create table if not exists idempotency (
    key         text primary key,
    body_hash   text not null,
    status      integer,
    response    text,
    created_at  real not null
);
"""


class KeyConflictError(Exception):
    """The key was used with another body, or its first request is still running (409)."""


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: dict[str, Any]


class IdempotencyStore:
    def __init__(self, path: Path, ttl_s: float) -> None:
        self.path = path
        self.ttl_s = ttl_s
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("pragma journal_mode=wal")
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def begin(self, key: str, body_hash: str) -> Replay | None:
        """Claim ``key`` for a new request (None), or return the first answer to replay."""
        now = time.time()
        with self._connect() as db:
            db.execute("begin immediate")
            try:
                row = db.execute(
                    "select body_hash, status, response, created_at from idempotency where key = ?",
                    (key,),
                ).fetchone()
                fresh = row is None or row[3] < now - self.ttl_s
                abandoned = row is not None and row[1] is None and row[3] < now - ABANDONED_S
                if fresh or abandoned:
                    db.execute(
                        "insert into idempotency (key, body_hash, created_at) values (?, ?, ?)"
                        " on conflict (key) do update set body_hash = excluded.body_hash,"
                        " status = null, response = null, created_at = excluded.created_at",
                        (key, body_hash, now),
                    )
                    if row is None and now % 1 < 0.01:  # now and then, forget expired keys
                        db.execute(
                            "delete from idempotency where created_at < ?", (now - self.ttl_s,)
                        )
                    db.execute("commit")
                    return None
                db.execute("commit")
            except BaseException:
                db.execute("rollback")
                raise
        if row[0] != body_hash:
            raise KeyConflictError("this Idempotency-Key was used with another body")
        if row[1] is None:
            raise KeyConflictError("a request with this Idempotency-Key is still being processed")
        return Replay(status=row[1], body=json.loads(row[2]))

    def finish(self, key: str, status: int, body: dict[str, Any]) -> None:
        with self._connect() as db:
            db.execute(
                "update idempotency set status = ?, response = ? where key = ?",
                (status, json.dumps(body), key),
            )

    def forget(self, key: str) -> None:
        with self._connect() as db:
            db.execute("delete from idempotency where key = ? and status is null", (key,))
