"""The app factory: builds the context, wires the routers; no logic of its own."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from ingest.deps import AppContext
from ingest.idempotency import IdempotencyStore
from ingest.landing import sweep_temporaries
from ingest.limits import RateLimiter
from ingest.metrics import Metrics, MetricsMiddleware
from ingest.parsing import Parsers
from ingest.routers import batches, files, health, records, tables
from ingest.timeouts import BodyTimeoutMiddleware
from ingest.tokens import TokenStore
from lakehouse.catalog import ColumnNames
from lakehouse.contracts import ContractStore
from lakehouse.exceptions import ConfigurationError, InvalidNameError
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = """\
Push records and files into the lakehouse's landing zone and follow them to gold.

`Authorization: Bearer <token>` (issue one with `lakehouse token create --scope write`).
Errors are JSON `{"detail": ...}`; invalid records are listed with their row and field.
"""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_app(settings: Settings, *, host: str | None = None) -> FastAPI:
    """The ingest API for ``settings``; ``host`` is the address it will bind (for dev mode).

    Raises ConfigurationError in production mode while no token exists.
    """
    tokens = TokenStore.of(settings)
    host = host or settings.api_host
    no_tokens = not tokens.tokens()
    if settings.mode == "production" and no_tokens:
        raise ConfigurationError(
            "production mode and no API token: refusing to start. Issue one with "
            "`lakehouse token create --scope write --scope read` (tokens are kept hashed in "
            f"{tokens.shown})."
        )
    anonymous = settings.mode == "development" and no_tokens and is_loopback(host)
    if anonymous:
        log.warning(
            "DEVELOPMENT MODE, NO API TOKENS: every request from this machine (%s) has full "
            "access without a token. Issue a token to turn this off.",
            host,
        )
    elif no_tokens:
        log.warning(
            "no API token exists and %s is not a loopback address: every request will be "
            "refused (401) until `lakehouse token create` issues one",
            host,
        )
    metrics = Metrics()
    context = AppContext(
        settings=settings,
        tokens=tokens,
        contracts=ContractStore(settings),
        ledger=Ledger.of(settings),
        limiter=RateLimiter(settings.api_rate_per_token, settings.api_rate_burst),
        idempotency=IdempotencyStore.of(settings),
        metrics=metrics,
        anonymous=anonymous,
        auth_failures=RateLimiter(
            settings.api_wrong_tokens_per_minute / 60, settings.api_wrong_tokens_burst
        ),
        parsers=Parsers(settings),
        bronze_names=ColumnNames(settings),
    )
    swept = sweep_temporaries(settings)
    if swept:
        log.info("removed %d temporary files left by an earlier crash", swept)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        keepers = [context.ledger.db.keep_open(), context.idempotency.db.keep_open()]
        try:
            yield
        finally:
            context.parsers.close()
            for db in keepers:
                if db is not None:
                    db.close()

    app = FastAPIOffline(  # /docs and /redoc with their assets served here, no CDN
        title="full-lakehouse ingest API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.context = context
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyTimeoutMiddleware, timeout_s=settings.api_body_timeout_s)
    for module in (records, files, batches, tables, health):
        app.include_router(module.router)

    @app.exception_handler(InvalidNameError)
    async def _invalid_name(_: Request, exc: InvalidNameError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    return app
