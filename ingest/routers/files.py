"""``POST /v1/tables/{table}/files``: a CSV, TSV, NDJSON, JSON or Parquet file, checked, landed.

The body is the file (with its media type, or ``application/octet-stream`` and ``?filename=``),
or ``multipart/form-data`` with a part named ``file``. Gzip: ``Content-Encoding: gzip`` or a
``.gz`` file name; the file lands compressed, as sent, once it decompressed and checked whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile

from ingest.accept import (
    as_http_error,
    as_loaded,
    check_pressure,
    contract_for,
    idempotent,
    status_url,
)
from ingest.auth import PrincipalDep, require
from ingest.bodies import (
    check_charset,
    check_declared_length,
    check_file_name,
    check_header_param,
    file_kind,
    gzipped,
    media_type,
    parse_media_type,
    stream_limited,
    too_large,
)
from ingest.deps import ContextDep
from ingest.filecheck import FileError, check_file
from ingest.landing import Landing
from ingest.routers.records import IdempotencyKey, TablePath
from ingest.schemas import Accepted, errors
from ingest.validation import BodyError, RecordsError
from lakehouse.formats import FileFormat, media_kind
from lakehouse.layout import new_batch_id

router = APIRouter(prefix="/v1/tables", tags=["ingest"], dependencies=[Depends(require("write"))])


def _disposition_name(header: str) -> str | None:
    """The file name a ``Content-Disposition`` header gives: ``filename*`` (RFC 6266, its
    charset and percent-escapes decoded, RFC 8187) before ``filename``, as user agents read it;
    None without either. Read by the standard library's MIME header parser."""
    message = Message()
    message["content-disposition"] = header
    params = message.get_params(header="content-disposition") or []
    star = [v for k, v in params if k == "filename" and isinstance(v, tuple)]
    return collapse_rfc2231_value(star[0]) if star else message.get_filename()


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "text/tab-separated-values": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}
CHUNK = 1024 * 1024


async def _upload_chunks(upload: UploadFile, limit: int) -> AsyncIterator[bytes]:
    size = 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large("the file", limit, "api_max_file_bytes")
        yield chunk


def _browser_label(part_type: str, name: str | None) -> str:
    """A form part's media type as read: a type naming no format (a browser labels a ``.csv``
    by the system's registry: ``application/vnd.ms-excel`` where Office is installed,
    ``text/plain``, ``text/x-csv``) is ``application/octet-stream`` when the part has a file
    name, which then tells the format (a name the API cannot read is still 415). A type naming
    a format must agree with the name, as for a raw body."""
    if name is not None and media_kind(part_type) is None:
        return "application/octet-stream"
    return part_type


#: A form part's ``Content-Transfer-Encoding`` values under which its bytes are the file's.
_IDENTITY_TRANSFER = frozenset({"7bit", "8bit", "binary"})


def _check_transfer_encoding(upload: UploadFile) -> None:
    """415 for a form part sent in a MIME transfer encoding (RFC 2046; deprecated for forms by
    RFC 7578 section 4.7, still written by generic MIME libraries): the form parser does not
    decode it, so its bytes are not the file's (a quoted-printable ``caf=C3=A9`` would land as
    that text, a base64 CSV as one header line)."""
    encoding = upload.headers.get("content-transfer-encoding")
    if encoding is not None and encoding.strip().lower() not in _IDENTITY_TRANSFER:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Content-Transfer-Encoding {encoding.strip()!r} on the form part 'file': send the "
            "file's bytes as they are (binary, 8bit or 7bit; RFC 7578 section 4.7)",
        )


async def _source(
    request: Request, media: str, filename: str | None, limit: int, forms: list[FormData]
) -> tuple[FileFormat, str | None, AsyncIterator[bytes]]:
    if media == "multipart/form-data":
        if "content-length" not in request.headers:  # the form is spooled before it is read
            raise HTTPException(
                status.HTTP_411_LENGTH_REQUIRED, "multipart uploads need a Content-Length"
            )
        check_declared_length(request, limit + 64 * 1024, "the file", "api_max_file_bytes")
        form = await request.form(max_files=1, max_fields=8)
        forms.append(form)  # closed by the caller
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "send the file in a part named 'file'"
            )
        name = check_file_name(upload.filename) if upload.filename else None
        _check_transfer_encoding(upload)
        part_type, part_params = parse_media_type(upload.content_type or "application/octet-stream")
        kind = file_kind(_browser_label(part_type, name), name, encoded=False)
        check_charset(part_params, kind.kind)  # the part's label is the file's, as a body's
        check_header_param(part_params, kind.kind)
        return kind, name, _upload_chunks(upload, limit)
    if filename is None:
        filename = _disposition_name(request.headers.get("content-disposition", ""))
    name = check_file_name(filename) if filename is not None else None
    kind = file_kind(media, name, encoded=gzipped(request))
    return kind, name, stream_limited(request, limit, "the file", "api_max_file_bytes")


@router.post(
    "/{table}/files",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=errors(400, 401, 403, 404, 409, 411, 413, 415, 422, 429, 503),
    openapi_extra=_BODY,
    summary="Post a file (CSV, TSV, NDJSON, JSON, Parquet; optionally gzip)",
)
async def post_file(
    table: TablePath,
    request: Request,
    context: ContextDep,
    principal: PrincipalDep,
    filename: Annotated[
        str | None,
        Query(max_length=255, description="The file's name; its extension tells the format."),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    settings = context.settings
    media, params = media_type(request)
    check_pressure(context)
    contract = contract_for(context, table)
    forms: list[FormData] = []
    try:
        kind, name, chunks = await _source(
            request, media, filename, settings.api_max_file_bytes, forms
        )
        if media != "multipart/form-data":  # a form's charset is its fields', not the file's
            check_charset(params, kind.kind)
            check_header_param(params, kind.kind)
    except BaseException:
        for form in forms:
            await form.close()
        raise
    batch_id = new_batch_id()
    landing = Landing(settings, table, batch_id, kind.suffix)
    try:
        hasher = hashlib.sha256(kind.suffix.encode())
        async for chunk in chunks:
            hasher.update(chunk)
            landing.write(chunk)
        if landing.bytes == 0:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the file is empty")
        await run_in_threadpool(landing.close)

        async def work() -> dict[str, Any]:
            try:
                stored = await run_in_threadpool(context.bronze_names.types, table)
                policy = (contract.on_mismatch if contract else None) or settings.on_mismatch
                infer = contract.infer_types if contract else None
                infer = settings.infer_types if infer is None else infer
                judged = await as_loaded(context, table, contract)
                options: dict[str, Any] = {
                    "max_errors": settings.api_max_errors,
                    "batch_rows": settings.read_batch_rows,
                    "max_json_bytes": settings.api_max_body_bytes,
                    "max_json_record_bytes": settings.max_json_record_bytes,
                    "max_csv_record_bytes": settings.max_csv_record_bytes,
                    "max_inflated_bytes": settings.max_inflated_bytes,
                    "max_inflate_ratio": settings.max_inflate_ratio,
                    "existing": tuple(stored),
                    "stored": stored,
                    "rescue": policy == "rescue",
                    "window": settings.chunk_rows,
                    "infer": infer,
                    # a refused .json.gz is inflated once, beside the upload: the landing
                    # zone's disk, which the free-space guard counts (unnamed: never loaded)
                    "scratch": landing.folder,
                }
                if kind.kind == "parquet":  # Arrow C++ may abort: in a worker (ingest.parsing)
                    check = context.parsers.check_parquet(landing.tmp, kind, judged, **options)
                    rows = await check
                else:
                    rows = await run_in_threadpool(check_file, landing.tmp, kind, judged, **options)
            except (FileError, BodyError, RecordsError) as exc:
                raise as_http_error(exc, judged, rescue=policy == "rescue") from None
            path = await run_in_threadpool(landing.commit, context.ledger, records=rows)
            context.metrics.records.inc(rows)
            context.metrics.bytes_in.inc(landing.bytes)
            context.metrics.batches.labels("file").inc()
            return Accepted(
                batch_id=batch_id,
                table=table,
                status_url=status_url(batch_id),
                records=rows,
                bytes=landing.bytes,
                file=path.name,
            ).model_dump() | {"filename": name}

        return await idempotent(
            context, principal, table, idempotency_key, hasher.hexdigest(), work
        )
    finally:
        landing.abort()  # a no-op once committed
        for form in forms:
            await form.close()
