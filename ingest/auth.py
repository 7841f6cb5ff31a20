"""Who is asking, and may they: bearer tokens, scopes, tables, and the rate per token.

Development mode without tokens (anonymous access) is allowed only when **all** hold:
``mode == "development"``, no token has been issued, and the API binds a loopback address.
Then every request acts as an anonymous admin, and the log says so at start-up. Once a token is
issued (even while the API runs), tokens are required. In ``production`` mode the API refuses to
start until a token exists.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ingest.deps import AppContext, ContextDep
from ingest.limits import retry_after
from ingest.tokens import Scope

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True, slots=True)
class Principal:
    key: str  # the token id, or "anonymous"
    scopes: tuple[str, ...]
    tables: tuple[str, ...]

    def allows(self, scope: Scope, table: str | None = None) -> bool:
        if "admin" not in self.scopes and scope not in self.scopes:
            return False
        return table is None or not self.tables or table in self.tables

    def check(self, scope: Scope, table: str | None = None) -> None:
        """403 unless allowed (for checks that need a fact only the handler knows)."""
        if not self.allows(scope, table):
            what = f" on table {table!r}" if table and self.allows(scope) else ""
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this token may not {scope}{what}")


ANONYMOUS = Principal("anonymous", ("admin",), ())


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers=_CHALLENGE)


_BEARER = HTTPBearer(
    auto_error=False,
    description="A token from `lakehouse token create` (none needed in development mode "
    "on loopback while no token exists).",
)


async def authenticate(
    request: Request,
    context: ContextDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],  # documents the scheme
) -> Principal:
    """On the loop (a plain ``def`` would cost a worker thread hop per request); the tokens
    are re-read in a worker thread first when they changed (file) or are due (database)."""
    if context.tokens.stale():
        await run_in_threadpool(context.tokens.tokens)
    return _principal(request, context)


def _principal(request: Request, context: AppContext) -> Principal:
    header = request.headers.get("authorization")
    if header is None:
        if context.anonymous and not context.tokens.tokens():
            principal = ANONYMOUS
        else:
            raise _unauthorized("missing bearer token")
    else:
        scheme, _sep, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise _unauthorized("use Authorization: Bearer <token>")
        client = request.client.host if request.client else "unknown"
        slowed = context.auth_failures.waiting(client)
        if slowed > 0:  # guessing tokens: not even checked until the client slows down
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "too many wrong tokens from this address",
                headers={"Retry-After": retry_after(slowed)},
            )
        token = context.tokens.find(credentials.strip())
        if token is None:
            context.auth_failures.hit(client)
            raise _unauthorized("unknown token")
        principal = Principal(token.id, token.scopes, token.tables)
    wait = context.limiter.hit(principal.key)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many requests for this token",
            headers={"Retry-After": retry_after(wait)},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require(scope: Scope) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency: the principal must hold ``scope`` (on the path's ``table``, if any)."""

    async def dependency(request: Request, principal: PrincipalDep) -> Principal:
        table = request.path_params.get("table")
        principal.check(scope, table if isinstance(table, str) else None)
        return principal

    return dependency
