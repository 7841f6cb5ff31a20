"""``POST /v1/tables/{table}/records``: JSON or NDJSON records, checked, landed as NDJSON."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ingest.accept import (
    as_http_error,
    as_loaded,
    check_pressure,
    contract_for,
    idempotent,
    status_url,
)
from ingest.auth import PrincipalDep, require
from ingest.bodies import check_charset, gzipped, media_type, read_limited, record_type
from ingest.deps import AppContext, ContextDep
from ingest.filecheck import FileError
from ingest.landing import Landing, land_bytes
from ingest.schemas import TABLE_PATTERN, Accepted, errors
from ingest.validation import (
    BodyError,
    Records,
    RecordsError,
    TooManyRecordsError,
    check_case,
)
from lakehouse import dialect
from lakehouse.contracts import Contract
from lakehouse.jsonrecords import LineLengths, RecordTooLarge, too_large_reason
from lakehouse.layout import new_batch_id

router = APIRouter(prefix="/v1/tables", tags=["ingest"], dependencies=[Depends(require("write"))])

TablePath = Annotated[str, Path(pattern=TABLE_PATTERN, description="A bronze table name.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Same key and body again: the first answer, nothing landed twice.",
    ),
]

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "array", "items": {"type": "object"}, "minItems": 1},
                        {"type": "object"},
                    ]
                }
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


def _prewrite(context: AppContext, table: str, data: bytes) -> Landing:
    """``data`` written and fsynced under a temporary name the loader ignores (a worker thread,
    while the event loop checks the same body): landed by :func:`_land` if it is what lands."""
    landing = Landing(context.settings, table, new_batch_id(), ".ndjson")
    try:
        landing.write(data)
        landing.close()
    except BaseException:
        landing.abort()
        raise
    return landing


async def _drop(early: asyncio.Future[Landing]) -> None:
    """Remove a pre-written temporary file (and a folder made for it) before answering."""
    try:
        landing = await early
    except Exception:  # _prewrite removed what it wrote
        return
    await run_in_threadpool(landing.abort)


def _discard(early: asyncio.Future[Landing]) -> None:
    """The same, for a request that ends without an answer: once the file is written."""

    def done(future: asyncio.Future[Landing]) -> None:
        if not future.cancelled() and future.exception() is None:
            future.result().abort()

    early.add_done_callback(done)


def _land(
    context: AppContext,
    table: str,
    contract: Contract | None,
    records: Records,
    early: Landing | None,
) -> dict[str, Any]:
    """File I/O (write, fsync, rename, ledger), run in a worker thread. ``early``: the body
    already written and fsynced; it lands if its bytes are what lands, else it is removed.
    A key equal but for case to a column the bronze table has: 422, nothing lands."""
    try:
        declared = [c.name for c in contract.columns] if contract else []
        check_case(records.keys, dialect.Spellings(context.bronze_names.names(table), declared))
    except RecordsError as exc:
        if early is not None:
            early.abort()
        raise as_http_error(exc) from None
    if early is not None and early.bytes == len(records.ndjson):
        try:
            path = early.commit(context.ledger, records=records.count)
        except BaseException:
            early.abort()
            raise
        batch_id = early.batch_id
    else:
        if early is not None:
            early.abort()
        batch_id = new_batch_id()
        path = land_bytes(
            context.settings,
            context.ledger,
            table,
            batch_id,
            ".ndjson",
            records.ndjson,
            records=records.count,
        )
    context.metrics.records.inc(records.count)
    context.metrics.bytes_in.inc(len(records.ndjson))
    context.metrics.batches.labels("records").inc()
    return Accepted(
        batch_id=batch_id,
        table=table,
        status_url=status_url(batch_id),
        records=records.count,
        bytes=len(records.ndjson),
        file=path.name,
    ).model_dump()


@router.post(
    "/{table}/records",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
    openapi_extra=_BODY,
    summary="Post records (a JSON array of objects, one object, or NDJSON)",
)
async def post_records(
    table: TablePath,
    request: Request,
    context: ContextDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    media, params = media_type(request)
    ndjson = record_type(media)
    check_charset(params, "ndjson" if ndjson else "json")
    gz = gzipped(request)
    check_pressure(context)
    contract = contract_for(context, table)
    raw = await read_limited(request, context.settings.api_max_body_bytes, "api_max_body_bytes")
    digest = ""
    if idempotency_key is not None:
        digest = hashlib.sha256(f"{ndjson}:{gz}:".encode() + raw).hexdigest()

    async def work() -> dict[str, Any]:
        early: asyncio.Future[Landing] | None = None
        loop = asyncio.get_running_loop()
        if ndjson and not gz and raw.endswith(b"\n") and not raw.startswith(dialect.BOM_UTF8):
            # what lands is most likely the body itself: written and fsynced in a thread while
            # it is checked here (the wait for the disk overlaps the checking)
            # (submitted now: the check below holds the loop until it ends)
            early = loop.run_in_executor(None, _prewrite, context, table, raw)
        judged = await as_loaded(context, table, contract)  # by bronze's types, as the loader
        try:  # large bodies in a worker process, small ones here (ingest.parsing)
            records = await context.parsers.check(raw, ndjson=ndjson, gz=gz, contract=judged)
            _records_within(records.ndjson, context.settings.max_json_record_bytes)
        except (BodyError, RecordsError, TooManyRecordsError, FileError) as exc:
            if early is not None:
                await _drop(early)
            policy = (contract.on_mismatch if contract else None) or context.settings.on_mismatch
            raise as_http_error(exc, judged, rescue=policy == "rescue") from None
        except BaseException:
            if early is not None:
                _discard(early)
            raise
        landing = None
        if early is not None:
            if records.ndjson == raw:
                try:
                    landing = await early
                except Exception:  # the usual path below, which reports the error if it recurs
                    landing = None
            else:  # blank lines dropped: another file lands
                await _drop(early)
        # asyncio's executor: anyio's run_in_threadpool costs more per call on the loop
        return await loop.run_in_executor(None, _land, context, table, contract, records, landing)

    return await idempotent(context, principal, table, idempotency_key, digest, work)


def _records_within(landed: bytes, limit: int) -> None:
    """413 when a record of the body, as it lands (one NDJSON line each), holds more than
    ``limit`` bytes (``max_json_record_bytes``), which the loader would refuse as ``too_large``:
    "record N" of the body (from 1, blank lines not counted)."""
    if len(landed) <= limit:
        return
    try:
        LineLengths(limit).feed(landed)
    except RecordTooLarge as exc:
        raise FileError(too_large_reason("record", exc.number, limit), 413) from None
