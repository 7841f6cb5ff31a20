"""What the routers share: the app's context and dependencies as type aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from ingest.idempotency import IdempotencyStore
from ingest.limits import RateLimiter
from ingest.metrics import Metrics
from ingest.parsing import Parsers
from ingest.tokens import TokenStore
from lakehouse.catalog import ColumnNames
from lakehouse.contracts import ContractStore
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings


@dataclass
class AppContext:
    """Everything a request may need, built once by ``create_app``."""

    settings: Settings
    tokens: TokenStore
    contracts: ContractStore
    ledger: Ledger
    limiter: RateLimiter
    idempotency: IdempotencyStore
    metrics: Metrics
    anonymous: bool  # development mode, no tokens, loopback: see ingest.auth
    parsers: Parsers  # records bodies checked off the event loop (ingest.parsing)
    #: each bronze table's column names (a body's name equal but for case to one is refused)
    bronze_names: ColumnNames
    #: wrong tokens per client address: a client guessing tokens is slowed down (429)
    auth_failures: RateLimiter = field(default_factory=lambda: RateLimiter(0.1, 10))


async def get_context(request: Request) -> AppContext:
    """``async``: FastAPI runs a plain ``def`` dependency in a worker thread (a hop per request)."""
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]
