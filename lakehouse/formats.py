"""The landing formats: one vocabulary of file suffixes, media types and compression.

The API (what it takes and the suffix it lands under) and the loader (what it reads from
``raw/<table>/``) both ask this module, so a file the API lands is a file the loader reads by
the same name, and a name the loader does not read is refused by the API.

- ``csv``: ``.csv``; ``text/csv``, ``application/csv``
- ``tsv``: ``.tsv``; ``text/tab-separated-values``
- ``json`` (an array of objects, or one object): ``.json``; ``application/json``, and any
  media type with the ``+json`` structured syntax suffix (RFC 6839: ``application/ld+json``,
  ``application/vnd.api+json``; :func:`media_kind`)
- ``ndjson``: ``.ndjson``, ``.jsonl``; ``application/x-ndjson``, ``application/ndjson``,
  ``application/jsonl``, ``application/x-jsonlines``
- ``parquet``: ``.parquet``; ``application/vnd.apache.parquet``, ``application/parquet``,
  ``application/x-parquet``

Compression: a ``.gz`` suffix after the format's (``orders.csv.gz``), or a body sent with
``Content-Encoding: gzip``; only gzip. Parquet compresses inside: the API does not take it
gzipped. Media types that say nothing of the format (``application/octet-stream``,
``application/gzip``) need a file name to tell it.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal, cast

Kind = Literal["csv", "tsv", "json", "ndjson", "parquet"]

#: The one compression there is, as a file suffix.
GZIP_SUFFIX = ".gz"


@dataclass(frozen=True, slots=True)
class Format:
    kind: Kind
    #: The suffix a file of this format lands under (the API's choice when it renames).
    suffix: str
    #: Every suffix read as this format (``suffix`` first).
    suffixes: tuple[str, ...]
    media_types: tuple[str, ...]
    #: Whether the API takes it gzipped (``.gz`` or ``Content-Encoding: gzip``).
    gzip: bool = True
    #: Text made of records a request body may hold (``/records``).
    records: bool = False


FORMATS: dict[Kind, Format] = {
    f.kind: f
    for f in (
        Format("csv", ".csv", (".csv",), ("text/csv", "application/csv")),
        Format("tsv", ".tsv", (".tsv",), ("text/tab-separated-values",)),
        Format("json", ".json", (".json",), ("application/json",), records=True),
        Format(
            "ndjson",
            ".ndjson",
            (".ndjson", ".jsonl"),
            (
                "application/x-ndjson",
                "application/ndjson",
                "application/jsonl",
                "application/x-jsonlines",
            ),
            records=True,
        ),
        Format(
            "parquet",
            ".parquet",
            (".parquet",),
            ("application/vnd.apache.parquet", "application/parquet", "application/x-parquet"),
            gzip=False,
        ),
    )
}

#: Suffix → kind (``.jsonl`` → ``ndjson``).
SUFFIXES: dict[str, Kind] = {s: f.kind for f in FORMATS.values() for s in f.suffixes}
#: Media type → kind.
MEDIA_TYPES: dict[str, Kind] = {m: f.kind for f in FORMATS.values() for m in f.media_types}
#: Media types that say nothing of the format: the file name must.
GENERIC_MEDIA_TYPES = frozenset(
    {"application/octet-stream", "application/gzip", "application/x-gzip"}
)
#: The structured syntax suffix of a media type that is JSON (RFC 6839, 3.1).
JSON_SUFFIX = "+json"


def media_kind(media: str) -> Kind | None:
    """The format a (lower-cased) media type names, or None: one of :data:`MEDIA_TYPES`, or
    ``type/name+json`` (RFC 6839: its suffix says the body is JSON, a JSON text as
    ``application/json``'s, never NDJSON). ``text/json`` is no registered type (RFC 8259
    registers ``application/json`` alone) and names none."""
    found = MEDIA_TYPES.get(media)
    if found is not None:
        return found
    _, slash, subtype = media.partition("/")
    if slash and subtype.endswith(JSON_SUFFIX) and len(subtype) > len(JSON_SUFFIX):
        return "json"
    return None


#: ``Content-Encoding`` values → gzipped or not (the only two there are).
CONTENT_ENCODINGS: dict[str, bool] = {"": False, "identity": False, "gzip": True, "x-gzip": True}


@dataclass(frozen=True, slots=True)
class FileFormat:
    """A landing file's format: its kind and whether it is gzipped."""

    kind: Kind
    gzip: bool

    @property
    def format(self) -> Format:
        return FORMATS[self.kind]

    @property
    def suffix(self) -> str:
        """The suffix it lands under: ``.csv``, ``.ndjson.gz``, ..."""
        return self.format.suffix + (GZIP_SUFFIX if self.gzip else "")


def from_name(name: str) -> FileFormat | None:
    """The format a file name says (case aside), or None when it names none we read."""
    lower = name.lower()
    gz = lower.endswith(GZIP_SUFFIX)
    stem = lower.removesuffix(GZIP_SUFFIX) if gz else lower
    dot = stem.rfind(".")
    kind = SUFFIXES.get(stem[dot:]) if dot > 0 else None
    return None if kind is None else FileFormat(kind, gz)


def gzip_refusal(kind: Kind) -> str | None:
    """Why a gzipped file of ``kind`` is not taken (the API's 415, the loader's
    ``unsupported``), or None: Parquet compresses inside."""
    if FORMATS[kind].gzip:
        return None
    return f"gzipped {kind} is not taken: it compresses inside; send it as is"


def name_refusal(name: str) -> str:
    """Why a file of this name is not taken: its extension is none bronze reads (the API's
    415, the loader's ``unsupported``)."""
    return f"file name {name!r}: the extension must be one of {known_suffixes()}"


def known_suffixes() -> str:
    """For messages: ``.csv, .json, .jsonl, .ndjson, .parquet, .tsv (optionally .gz)``."""
    return ", ".join(sorted(SUFFIXES)) + f" (optionally {GZIP_SUFFIX})"


# -- gzip, inflated with a bound -------------------------------------------------------------

#: The inflated size below which the ratio is not checked (small bodies of one repeated value
#: may compress a thousandfold and harm no one).
RATIO_FLOOR_BYTES = 16 * 1024**2
_READ = 1024 * 1024


class InflateError(ValueError):
    """Gzip data that is corrupt or truncated."""


class InflateLimitError(ValueError):
    """Gzip data that inflates past a bound; ``setting`` names the setting that sets it."""

    def __init__(self, message: str, setting: str, limit: float) -> None:
        super().__init__(message)
        self.setting = setting
        self.limit = limit


class Inflater:
    """Inflates gzip data (every member, as ``gzip`` does; zero bytes after a member, a tape's
    or a block device's padding, skipped as GNU gzip and Python's ``gzip`` skip them) fed
    piece by piece, never more than
    ``max_bytes`` in all, nor more than ``max_ratio`` times the compressed bytes consumed once
    past :data:`RATIO_FLOOR_BYTES`. Past either, :class:`InflateLimitError` is raised before the
    rest is inflated: memory and time follow the bound, not the data.
    """

    def __init__(self, max_bytes: int, max_ratio: float, *, what: str = "the data") -> None:
        self.max_bytes = max_bytes
        self.max_ratio = max_ratio
        self.what = what
        self.inflated = 0
        self.consumed = 0
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._member = False  # inside a member (its header was seen)
        self._ended = False  # a member ended: zero bytes after it are padding

    def feed(self, data: bytes, *, size: int = _READ) -> Iterator[bytes]:
        """The inflated bytes of ``data``, in pieces of at most ``size`` bytes."""
        while data:
            if self._ended and not self._member and data[:1] == b"\0":
                rest = data.lstrip(b"\0")  # padding, where a member could start
                self.consumed += len(data) - len(rest)
                data = rest
                continue
            if self._ended and not self._member and data[:1] != b"\x1f":  # no member's start
                raise InflateError(
                    f"{self.what} is not valid gzip: the bytes after its gzip data (from byte"
                    f" {self.consumed}) are no gzip member"
                )
            try:
                out = self._z.decompress(data, size)
            except zlib.error as exc:
                raise InflateError(f"{self.what} is not valid gzip: {exc}") from None
            self._member = True
            # at a member's end the rest is in unused_data (and unconsumed_tail too)
            rest = self._z.unused_data if self._z.eof else self._z.unconsumed_tail
            self.consumed += len(data) - len(rest)
            self._count(len(out))
            if out:
                yield out
            if self._z.eof:  # the member ended: the rest is another member (or garbage)
                data = self._z.unused_data
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self._member = False
                self._ended = True
            else:
                data = self._z.unconsumed_tail

    def finish(self) -> None:
        """The data ended: refuse a member cut short."""
        if self._member:
            raise InflateError(f"{self.what} is truncated gzip data")

    def _count(self, n: int) -> None:
        self.inflated += n
        if self.inflated > self.max_bytes:
            raise InflateLimitError(
                f"{self.what} inflates past {self.max_bytes} bytes (max_inflated_bytes)",
                "max_inflated_bytes",
                self.max_bytes,
            )
        if self.inflated > RATIO_FLOOR_BYTES and self.inflated > self.max_ratio * max(
            self.consumed, 1
        ):
            raise InflateLimitError(
                f"{self.what} inflates more than {self.max_ratio:g} times its compressed size "
                f"(max_inflate_ratio): {self.inflated} bytes from {self.consumed}",
                "max_inflate_ratio",
                self.max_ratio,
            )


def inflate(data: bytes, max_bytes: int, max_ratio: float, *, what: str = "the data") -> bytes:
    """All of ``data`` inflated, within the bounds (see :class:`Inflater`)."""
    inflater = Inflater(max_bytes, max_ratio, what=what)
    out = b"".join(inflater.feed(data))
    inflater.finish()
    return out


class GzipReader(io.RawIOBase):
    """A gzip file read through an :class:`Inflater`: a readable, bounded binary stream."""

    def __init__(
        self, raw: BinaryIO, max_bytes: int, max_ratio: float, *, what: str = "the file"
    ) -> None:
        self._raw = raw
        self._inflater = Inflater(max_bytes, max_ratio, what=what)
        self._pieces: Iterator[bytes] = iter(())
        self._buffer = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        while not self._buffer:
            piece = next(self._pieces, None)
            if piece is not None:
                self._buffer = piece
                break
            if self._eof:
                return 0
            data = self._raw.read(_READ)
            if not data:
                self._eof = True
                self._inflater.finish()
                continue
            self._pieces = self._inflater.feed(data, size=_READ)
        n = min(len(view), len(self._buffer))
        view[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    @property
    def inflated(self) -> int:
        return self._inflater.inflated

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def open_bounded(
    path: str | os.PathLike[str],
    gz: bool,
    max_bytes: int,
    max_ratio: float,
    *,
    what: str | None = None,
) -> BinaryIO:
    """The (inflated) content of a landing file, buffered; bounded when gzipped. ``what``
    names it in errors (default: the file's name)."""
    raw = open(path, "rb")  # closed with the reader
    if not gz:
        return raw
    what = what or f"the file {os.path.basename(path)!r}"
    try:
        return cast(
            BinaryIO, io.BufferedReader(GzipReader(raw, max_bytes, max_ratio, what=what), _READ)
        )
    except BaseException:
        raw.close()
        raise
