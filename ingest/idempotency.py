"""``Idempotency-Key``: the same key and body again returns the first answer and lands nothing.

Keys live in a small SQLite file of the API's own (``meta_dir/api_idempotency.sqlite``), or in the
shared PostgreSQL database (``LAKEHOUSE_DATABASE_URL``: API replicas behind a proxy then see each
other's keys), scoped by token and table, for ``api_idempotency_ttl_s``. Only accepted requests
are remembered: a request that failed may be retried under the same key with a corrected body.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.db import Database
from lakehouse.settings import Settings

#: A request holding a key this long without finishing is taken to have died with its process.
ABANDONED_S = 120.0

_SCHEMA = """
create table if not exists idempotency (
    key         text primary key,
    body_hash   text not null,
    status      integer,
    response    text,
    created_at  double precision not null
);
"""


class KeyConflictError(Exception):
    """The key was used with another body, or its first request is still running (409)."""


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: dict[str, Any]


class IdempotencyStore:
    def __init__(self, target: Path | str, ttl_s: float) -> None:
        self.db = Database(target, {"sqlite": _SCHEMA, "postgresql": _SCHEMA})
        self.ttl_s = ttl_s

    @classmethod
    def of(cls, settings: Settings) -> IdempotencyStore:
        target = settings.database_target or settings.meta_dir / "api_idempotency.sqlite"
        return cls(target, settings.api_idempotency_ttl_s)

    def _stored(self, key: str) -> str:
        """The key as stored: PostgreSQL text cannot hold the NULs that scope it, so its hash."""
        if self.db.dialect == "postgresql":
            return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return key

    def begin(self, key: str, body_hash: str) -> Replay | None:
        """Claim ``key`` for a new request (None), or return the first answer to replay."""
        key = self._stored(key)
        now = time.time()
        with self.db.transaction() as db:
            db.lock(f"idempotency:{key}")  # two requests with one new key: one claims it
            row = db.execute(
                "select body_hash, status, response, created_at from idempotency where key = ?",
                (key,),
            ).fetchone()
            fresh = row is None or row["created_at"] < now - self.ttl_s
            abandoned = (
                row is not None and row["status"] is None and row["created_at"] < now - ABANDONED_S
            )
            if fresh or abandoned:
                db.execute(
                    "insert into idempotency (key, body_hash, created_at) values (?, ?, ?)"
                    " on conflict (key) do update set body_hash = excluded.body_hash,"
                    " status = null, response = null, created_at = excluded.created_at",
                    (key, body_hash, now),
                )
                if row is None and now % 1 < 0.01:  # now and then, forget expired keys
                    db.execute("delete from idempotency where created_at < ?", (now - self.ttl_s,))
                return None
        if row["body_hash"] != body_hash:
            raise KeyConflictError("this Idempotency-Key was used with another body")
        if row["status"] is None:
            raise KeyConflictError("a request with this Idempotency-Key is still being processed")
        return Replay(status=row["status"], body=json.loads(row["response"]))

    def finish(self, key: str, status: int, body: dict[str, Any]) -> None:
        key = self._stored(key)
        with self.db.transaction() as db:
            db.execute(
                "update idempotency set status = ?, response = ? where key = ?",
                (status, json.dumps(body), key),
            )

    def forget(self, key: str) -> None:
        key = self._stored(key)
        with self.db.transaction() as db:
            db.execute("delete from idempotency where key = ? and status is null", (key,))
