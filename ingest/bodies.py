"""Request bodies: media types, size limits while streaming, gzip, client file names."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator

from fastapi import HTTPException, Request, status

from lakehouse.formats import (
    CONTENT_ENCODINGS,
    FORMATS,
    GENERIC_MEDIA_TYPES,
    MEDIA_TYPES,
    FileFormat,
    InflateError,
    InflateLimitError,
    Kind,
    from_name,
    gzip_refusal,
    inflate,
    media_kind,
    name_refusal,
)

#: Media types of a ``/records`` body → NDJSON (True) or a JSON array / object (False); any
#: ``type/name+json`` besides is JSON (:func:`record_type`).
RECORD_TYPES = {m: k == "ndjson" for m, k in MEDIA_TYPES.items() if FORMATS[k].records}


def record_type(media: str) -> bool:
    """Whether a ``/records`` body of ``media`` is NDJSON (True) or JSON (False: an array of
    objects, one object, or objects one after another; a ``+json`` type too, RFC 6839); 415
    for a type that names no records format."""
    kind = media_kind(media)
    if kind is None or not FORMATS[kind].records:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"unsupported media type {media!r}: one of {', '.join(RECORD_TYPES)}, or a type"
            " with the +json suffix (RFC 6839: application/ld+json, application/vnd.api+json)",
        )
    return kind == "ndjson"


def too_large(what: str, limit: int, setting: str) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"{what} is larger than the limit of {limit} bytes ({setting})",
    )


def media_type(request: Request) -> tuple[str, dict[str, str]]:
    """``Content-Type`` as (type, params), lowercased; 415 when absent."""
    header = request.headers.get("content-type")
    if not header:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Content-Type is required")
    return parse_media_type(header)


def parse_media_type(header: str) -> tuple[str, dict[str, str]]:
    """A ``Content-Type`` (a request's or a multipart part's) as (type, params), lowercased."""
    kind, *rest = header.split(";")
    params = {}
    for part in rest:
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), params


#: ``charset`` labels of text read as UTF-8 (ASCII is UTF-8).
_UTF8_LABELS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
#: Labels a CSV or TSV may carry besides: read as UTF-16 when it starts with a byte-order mark
#: (docs/loading.md, Encoding), refused by its bytes otherwise, whatever the label says.
_UTF16_LABELS = frozenset({"utf-16", "utf-16le", "utf-16be"})


def check_charset(params: dict[str, str], kind: Kind) -> None:
    """415 for a ``charset`` label naming an encoding the format is never read in. The label
    is no rule: the bytes are judged by the landing dialect whatever it says (``us-ascii``,
    RFC 4180's default for ``text/csv``, is UTF-8; a CSV labelled ``utf-16`` is read as the
    dialect reads it)."""
    charset = params.get("charset")
    if charset is None or charset in _UTF8_LABELS:
        return
    if charset in _UTF16_LABELS and kind in ("csv", "tsv"):
        return
    texts = "UTF-8, or UTF-16 with a byte-order mark" if kind in ("csv", "tsv") else "UTF-8"
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        f"charset {charset!r}: a {kind.upper()} file is read as {texts} only",
    )


def check_header_param(params: dict[str, str], kind: Kind) -> None:
    """415 for RFC 4180's ``header`` parameter (section 3) saying anything but ``present`` on a
    CSV or TSV: line 1 is read as the header, always (docs/loading.md); told ``header=absent``,
    reading it as names would drop the first record and invent column names."""
    header = params.get("header")
    if header is None or header == "present" or kind not in ("csv", "tsv"):
        return
    why = (
        "line 1 is a record" if header == "absent" else 'RFC 4180 allows "present" or "absent" only'
    )
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        f"header={header!r}: {why}, but a {kind.upper()} file's line 1 is always read as its "
        "header (docs/loading.md); send the column names as line 1 and header=present or no "
        "header parameter",
    )


def gzipped(request: Request) -> bool:
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    gz = CONTENT_ENCODINGS.get(encoding)
    if gz is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Content-Encoding {encoding!r}: only gzip or identity",
        )
    return gz


def check_declared_length(request: Request, limit: int, what: str, setting: str) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(what, limit, setting)


async def stream_limited(
    request: Request, limit: int, what: str, setting: str
) -> AsyncIterator[bytes]:
    """The body's chunks; 413 as soon as more than ``limit`` bytes arrived."""
    check_declared_length(request, limit, what, setting)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(what, limit, setting)
        if chunk:
            yield chunk


async def read_limited(request: Request, limit: int, setting: str) -> bytes:
    return b"".join([c async for c in stream_limited(request, limit, "the body", setting)])


def gunzip(data: bytes, limit: int, max_ratio: float, setting: str = "api_max_body_bytes") -> bytes:
    """Inflate every gzip member of ``data``; 413 past ``limit`` bytes (``setting``) or past
    ``max_ratio`` (max_inflate_ratio), without inflating the rest; 400 if corrupt."""
    try:
        return inflate(data, limit, max_ratio, what="the decompressed body")
    except InflateLimitError as exc:
        message = str(exc).replace("(max_inflated_bytes)", f"({setting})")
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, message) from None
    except InflateError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad gzip data: {exc}") from None


def check_file_name(name: str) -> str:
    """A client's file name: a plain base name, or 400. It never becomes a path here."""
    problem = None
    if not name or len(name.encode("utf-8", "surrogatepass")) > 255:
        problem = "must be 1 to 255 bytes"
    elif any(c in name for c in "/\\\x00") or name in (".", ".."):
        problem = "must be a base name, without '/', '\\', NUL or '..'"
    elif name.startswith("."):
        problem = "may not start with '.'"
    elif any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for c in name):
        problem = "may not hold control, format (bidi) or unassigned characters"
    elif unicodedata.normalize("NFC", name) != name:
        problem = "must be NFC-normalized unicode"
    elif unicodedata.normalize("NFKC", name) != name and any(
        c in unicodedata.normalize("NFKC", name) for c in "/\\."
    ):
        problem = "may not hold look-alikes of '/', '\\' or '.'"
    if problem:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"file name {name!r} {problem}")
    return name


def file_kind(media: str, file_name: str | None, *, encoded: bool) -> FileFormat:
    """The landed format from the media type and the file name; 415 when unknown or in conflict."""
    by_name = from_name(file_name) if file_name else None
    by_type = media_kind(media)
    if by_type is None and media not in GENERIC_MEDIA_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"unsupported media type {media!r}: one of {', '.join(sorted(MEDIA_TYPES))}, "
            "a type with the +json suffix (RFC 6839), or application/octet-stream with a"
            " file name",
        )
    if file_name and by_name is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            name_refusal(file_name),
        )
    if by_type is None and by_name is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"{media} needs a file name (?filename=) to tell the format",
        )
    if by_type and by_name and by_type != by_name.kind:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"media type {media} does not match the file name {file_name!r}",
        )
    kind = by_type or (by_name.kind if by_name else "csv")
    gz = encoded or bool(by_name and by_name.gzip)
    refused = gzip_refusal(kind) if gz else None
    if refused is not None:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, refused)
    return FileFormat(kind, gz)
