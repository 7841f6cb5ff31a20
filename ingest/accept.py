"""What every write shares: back-pressure, the contract, idempotency, the 202 answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ingest.auth import Principal
from ingest.deps import AppContext
from ingest.filecheck import FileError
from ingest.idempotency import KeyConflictError
from ingest.limits import back_pressure, retry_after
from ingest.validation import BodyError, RecordsError, TooManyRecordsError
from lakehouse import contracts, misfit
from lakehouse.contracts import Contract

#: the Retry-After of a write refused while the contracts do not parse (someone must fix the
#: YAML: a client retrying sooner would only be refused again)
CONTRACT_RETRY_S = 60.0


def status_url(batch_id: str) -> str:
    return f"/v1/batches/{batch_id}"


def check_pressure(context: AppContext) -> None:
    pressure = back_pressure(context.settings)
    if pressure is not None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"writes are paused: {pressure.reason}",
            headers={"Retry-After": retry_after(pressure.retry_after_s)},
        )


def contract_for(context: AppContext, table: str) -> Contract | None:
    """``table``'s contract; 503 while a YAML file that may declare it does not parse (a
    write judged without its contract could take what the contract forbids)."""
    try:
        contract = context.contracts.get(table)
    except contracts.ContractsUnreadable as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"writes to {table!r} are refused: {exc}",
            headers={"Retry-After": retry_after(CONTRACT_RETRY_S)},
        ) from None
    if contract is None and context.settings.api_refuse_undeclared:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"table {table!r} is not declared in the dbt bronze sources, and undeclared tables "
            "are refused here (api_refuse_undeclared)",
        )
    return contract


async def as_loaded(context: AppContext, table: str, contract: Contract | None) -> Contract | None:
    """``contract`` with the columns bronze already has judged as the loader judges them
    (``contracts.as_loaded``: the table's type, when a later declaration differs from it);
    the table's log is read (cached) in a worker thread. Under ``on_mismatch: quarantine``
    the columns it has that the contract does not declare too (``contracts.with_table_columns``:
    the loader refuses the file at a value that does not fit them, so the API refuses it);
    under either policy the required columns it gives no type (``contracts.untyped_required``:
    a required column's value is never rescued, the loader refuses a value that does not fit
    the table's type)."""
    policy = (contract.on_mismatch if contract else None) or context.settings.on_mismatch
    quarantine = policy == "quarantine"
    untyped = contracts.untyped_required(contract)
    if (
        not quarantine
        and not untyped
        and (contract is None or not any(c.data_type for c in contract.columns))
    ):
        return contract
    stored = await run_in_threadpool(context.bronze_names.types, table)
    return contracts.judged(contract, table, stored, quarantine)


def _noted(errors: list[dict[str, Any]], notes: dict[str, str]) -> list[dict[str, Any]]:
    """Each value's mismatch ends with its column's note (``lakehouse.misfit.notes``), as the
    loader's reason ends."""
    return [
        e | {"msg": e["msg"] + notes[e["field"]]}
        if e.get("type") == "type_error" and e.get("field") in notes
        else e
        for e in errors
    ]


def as_http_error(
    exc: Exception, contract: Contract | None = None, *, rescue: bool = False
) -> HTTPException:
    """Validation errors as the API answers them (``contract``: the one the body was judged
    by, :func:`as_loaded`; ``rescue``: the table's ``on_mismatch`` is ``rescue``)."""
    if isinstance(exc, RecordsError):
        detail: Any = exc.errors
        notes = misfit.notes(contract, rescue)
        if notes:
            detail = _noted(exc.errors, notes)
        if exc.truncated:
            detail = [*detail, {"msg": "more errors not shown", "type": "truncated"}]
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
    if isinstance(exc, BodyError):
        return HTTPException(status.HTTP_400_BAD_REQUEST, exc.detail())
    if isinstance(exc, TooManyRecordsError):
        return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc))
    if isinstance(exc, FileError):
        return HTTPException(exc.status, str(exc))
    raise exc


def accepted_response(body: dict[str, Any], *, replayed: bool = False) -> JSONResponse:
    headers = {"Location": body["status_url"]}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED, headers=headers)


async def idempotent(
    context: AppContext,
    principal: Principal,
    table: str,
    key: str | None,
    digest: str,
    work: Callable[[], Awaitable[dict[str, Any]]],
) -> JSONResponse:
    """Run ``work`` once per (token, table, key, body); replay its answer for a repeat."""
    if key is None:
        return accepted_response(await work())
    scoped = f"{principal.key}\x00{table}\x00{key}"
    try:
        replay = context.idempotency.begin(scoped, digest)
    except KeyConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if replay is not None:
        return accepted_response(replay.body, replayed=True)
    try:
        body = await work()
    except BaseException:
        context.idempotency.forget(scoped)
        raise
    context.idempotency.finish(scoped, status.HTTP_202_ACCEPTED, body)
    return accepted_response(body)
