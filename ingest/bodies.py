"""Request bodies: media types, size limits while streaming, gzip, client file names."""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import HTTPException, Request, status

from ingest.landing import EXTENSIONS

RECORD_TYPES = {
    "application/json": False,
    "application/x-ndjson": True,
    "application/ndjson": True,
    "application/jsonl": True,
    "application/x-jsonlines": True,
}
FILE_TYPES = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    "application/x-ndjson": ".ndjson",
    "application/ndjson": ".ndjson",
    "application/jsonl": ".ndjson",
    "application/json": ".json",
    "application/vnd.apache.parquet": ".parquet",
    "application/x-parquet": ".parquet",
    "application/parquet": ".parquet",
}
#: Media types that say nothing of the format: the file name must.
GENERIC_TYPES = {"application/octet-stream", "application/gzip", "application/x-gzip"}
_ALIASES = {".jsonl": ".ndjson", ".txt": ".csv"}


def too_large(what: str, limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"{what} is larger than the limit of {limit} bytes"
    )


def media_type(request: Request) -> tuple[str, dict[str, str]]:
    """``Content-Type`` as (type, params), lowercased; 415 when absent."""
    header = request.headers.get("content-type")
    if not header:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Content-Type is required")
    kind, *rest = header.split(";")
    params = {}
    for part in rest:
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip().strip('"').lower()
    charset = params.get("charset")
    if charset not in (None, "utf-8", "utf8"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"charset {charset!r}: only utf-8"
        )
    return kind.strip().lower(), params


def gzipped(request: Request) -> bool:
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return False
    if encoding in ("gzip", "x-gzip"):
        return True
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        f"Content-Encoding {encoding!r}: only gzip or identity",
    )


def check_declared_length(request: Request, limit: int, what: str) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(what, limit)


async def stream_limited(request: Request, limit: int, what: str) -> AsyncIterator[bytes]:
    """The body's chunks; 413 as soon as more than ``limit`` bytes arrived."""
    check_declared_length(request, limit, what)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(what, limit)
        if chunk:
            yield chunk


async def read_limited(request: Request, limit: int, what: str = "the body") -> bytes:
    return b"".join([chunk async for chunk in stream_limited(request, limit, what)])


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress every gzip member of ``data``; 413 past ``limit`` bytes, 400 if corrupt."""
    out: list[bytes] = []
    size = 0
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = inflater.decompress(data, limit + 1 - size)
        except zlib.error as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad gzip data: {exc}") from None
        size += len(chunk)
        if size > limit or inflater.unconsumed_tail:
            raise too_large("the decompressed body", limit)
        if not inflater.eof:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "truncated gzip data")
        out.append(chunk)
        data = inflater.unused_data
    return b"".join(out)


@dataclass(frozen=True, slots=True)
class FileKind:
    ext: str  # one of landing.EXTENSIONS
    gzip: bool

    @property
    def suffix(self) -> str:
        return self.ext + (".gz" if self.gzip else "")


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


def kind_from_name(name: str) -> FileKind | None:
    lower = name.lower()
    gz = lower.endswith(".gz")
    stem = lower.removesuffix(".gz")
    dot = stem.rfind(".")
    if dot < 0:
        return None
    ext = _ALIASES.get(stem[dot:], stem[dot:])
    return FileKind(ext, gz) if ext in EXTENSIONS else None


def file_kind(media: str, file_name: str | None, *, encoded: bool) -> FileKind:
    """The landed format from the media type and the file name; 415 when unknown or in conflict."""
    by_name = kind_from_name(file_name) if file_name else None
    by_type = FILE_TYPES.get(media)
    if by_type is None and media not in GENERIC_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"unsupported media type {media!r}: one of {', '.join(sorted(FILE_TYPES))}, "
            "or application/octet-stream with a file name",
        )
    if file_name and by_name is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"file name {file_name!r}: the extension must be one of "
            f"{', '.join(EXTENSIONS)} (optionally .gz)",
        )
    if by_type is None and by_name is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"{media} needs a file name (?filename=) to tell the format",
        )
    if by_type and by_name and by_type != by_name.ext:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"media type {media} does not match the file name {file_name!r}",
        )
    ext = by_type or (by_name.ext if by_name else "")
    gz = encoded or bool(by_name and by_name.gzip)
    if ext == ".parquet" and gz:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "gzipped Parquet is not taken: Parquet compresses inside; send it as is",
        )
    return FileKind(ext, gz)
