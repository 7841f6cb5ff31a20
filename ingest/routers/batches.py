"""``GET /v1/batches/{batch_id}``: the run ledger's view of a batch, optionally waiting."""

from __future__ import annotations

import time
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool

from ingest.accept import status_url
from ingest.auth import PrincipalDep, require
from ingest.deps import ContextDep
from ingest.schemas import BATCH_PATTERN, BatchOut, errors
from lakehouse.layout import without_server_paths
from lakehouse.ledger import Batch
from lakehouse.settings import Settings

router = APIRouter(prefix="/v1/batches", tags=["batches"], dependencies=[Depends(require("read"))])

TERMINAL = frozenset({"published", "quarantined", "failed"})
POLL_S = 0.1  # the ledger is another process's SQLite file: poll it gently


def _out(batch: Batch, settings: Settings) -> dict[str, Any]:
    shown = without_server_paths(settings, batch.as_dict())  # errors may quote file paths
    return dict(shown) | {"status_url": status_url(batch.batch_id)}


@router.get(
    "/{batch_id}",
    response_model=BatchOut,
    responses=errors(401, 403, 404, 422, 429),
    summary="A batch's state: accepted, loaded, published, quarantined or failed",
)
async def get_batch(
    batch_id: Annotated[str, Path(pattern=BATCH_PATTERN)],
    context: ContextDep,
    principal: PrincipalDep,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=3600,
            description="Seconds to wait for the state to change (bounded by the server).",
        ),
    ] = 0,
) -> dict[str, Any]:
    batch = await run_in_threadpool(context.ledger.get_batch, batch_id)
    if batch is None or not principal.allows("read", batch.table):
        # not found, or another table's batch: the same answer, so ids cannot be probed
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no batch {batch_id}")
    deadline = time.monotonic() + min(wait, context.settings.api_max_wait_s)
    first = batch.state
    while batch.state == first and batch.state not in TERMINAL and time.monotonic() < deadline:
        await anyio.sleep(POLL_S)
        batch = await run_in_threadpool(context.ledger.get_batch, batch_id) or batch
    return _out(batch, context.settings)
