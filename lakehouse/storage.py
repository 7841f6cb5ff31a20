"""Where the Delta tables live: a local folder, or an object store (``s3://bucket/prefix``).

``LAKEHOUSE_DADOS`` is either a folder (relative to ``root``) or a URL. Supported URLs:
``s3://bucket/prefix`` (``s3a://`` too) for AWS S3 and S3-compatible stores (MinIO, Ceph,
R2...), and ``file:///absolute/folder``. Anything else that looks like a URL (``gs://``,
``s3:/bucket`` with one slash, which is what a path library makes of ``s3://``) is refused
with the reason, never taken as a local folder name.

Delta tables are read and written by delta-rs with :func:`delta_options` (the settings'
``storage_options`` plus, for S3, conditional put: concurrent commits need no lock service).
Everything else the lakehouse does to the table store (list tables, copy a backup, list and
take landing objects) goes through :func:`store` (obstore: the same Rust ``object_store`` crate
as delta-rs, reading the same ``AWS_*`` variables), so a setting that works for the tables works
for the rest.

Credentials and endpoints come from the standard variables (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``,
``AWS_ALLOW_HTTP``) exactly as delta-rs reads them, or from ``LAKEHOUSE_STORAGE_OPTIONS`` (a JSON
object, same keys); see docs/storage.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from lakehouse.exceptions import LakehouseError

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

#: URL schemes the table store may use (delta-rs and obstore both speak them).
SUPPORTED_SCHEMES = ("s3", "s3a")
#: Something that is a URL, not a folder name: ``scheme:/...`` (``data:2024`` stays a folder).
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):/")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: delta-rs options that choose how commits are made safe on S3.
_COMMIT_KEYS = {"aws_conditional_put", "conditional_put", "aws_s3_locking_provider"}
_UNSAFE_RENAME = "aws_s3_allow_unsafe_rename"
#: delta-rs options object_store does not know (not passed to obstore).
_DELTA_ONLY = {_UNSAFE_RENAME, "aws_s3_locking_provider", "delta_dynamo_table_name"}
#: object_store client options (obstore takes them apart from the S3 configuration).
_CLIENT_KEYS = {
    "allow_http",
    "allow_invalid_certificates",
    "connect_timeout",
    "timeout",
    "proxy_url",
    "pool_idle_timeout",
    "pool_max_idle_per_host",
    "http1_only",
    "http2_only",
    "user_agent",
}


class StorageError(LakehouseError, ValueError):
    """A table store that cannot be used as configured (bad URL, unsafe option)."""


class ObjectUrl:
    """An object-store location such as ``s3://bucket/prefix``; joins with ``/`` like a path."""

    __slots__ = ("bucket", "key", "scheme")

    def __init__(self, scheme: str, bucket: str, key: str = "") -> None:
        self.scheme = scheme
        self.bucket = bucket
        self.key = key.strip("/")

    def __truediv__(self, part: str) -> ObjectUrl:
        part = str(part).strip("/")
        if not part or any(p in ("", ".", "..") for p in part.split("/")):
            raise StorageError(f"cannot join {part!r} to {self}")
        return ObjectUrl(self.scheme, self.bucket, f"{self.key}/{part}" if self.key else part)

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1] if self.key else self.bucket

    @property
    def root(self) -> str:
        """The bucket's URL (``s3://bucket``)."""
        return f"{self.scheme}://{self.bucket}"

    def __str__(self) -> str:
        return f"{self.root}/{self.key}" if self.key else self.root

    def __repr__(self) -> str:
        return f"ObjectUrl({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectUrl) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


#: A place in the table store.
Location = Path | ObjectUrl


def parse_location(value: str | Path | ObjectUrl, root: Path) -> Location:
    """A folder (relative to ``root``) or a supported URL; :class:`StorageError` otherwise."""
    if isinstance(value, ObjectUrl):
        return value
    text = str(value) if isinstance(value, Path) else value.strip()
    if isinstance(value, Path) and _URL.match(text) is None:
        return value if value.is_absolute() else root / value
    match = _URL.match(text)
    if match is None:
        path = Path(text).expanduser()
        return path if path.is_absolute() else root / path
    scheme = match.group(1).lower()
    parts = urlsplit(text)
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise StorageError(f"{text!r}: a file URL is file:///absolute/folder")
        return Path(unquote(parts.path))
    if scheme not in SUPPORTED_SCHEMES:
        raise StorageError(
            f"{text!r} is neither a local folder nor a supported URL: tables go to a folder "
            f"or to {' or '.join(s + '://bucket/prefix' for s in SUPPORTED_SCHEMES)}"
        )
    if not text[len(scheme) + 1 :].startswith("//"):
        raise StorageError(f"{text!r}: write {scheme}://bucket/prefix (two slashes)")
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket):
        raise StorageError(f"{text!r}: {bucket!r} is not a bucket name")
    if parts.query or parts.fragment:
        raise StorageError(f"{text!r}: a table store URL has no query or fragment")
    key = parts.path.strip("/")
    if any(p in ("", ".", "..") for p in key.split("/")) and key:
        raise StorageError(f"{text!r}: the prefix has an empty, '.' or '..' part")
    return ObjectUrl(scheme, bucket, key)


def is_local(location: Location) -> bool:
    return isinstance(location, Path)


def delta_options(
    location: Location, options: Mapping[str, str], *, production: bool = False
) -> dict[str, str]:
    """delta-rs storage options for ``location``: ``options`` and safe commits on S3.

    On S3, a commit is made safe by conditional put (``aws_conditional_put: etag``: the log
    entry is written with ``If-None-Match: *``, so two writers can never both create version
    N), added here unless the options choose a way themselves (a locking provider, or
    conditional put spelt otherwise). ``AWS_S3_ALLOW_UNSAFE_RENAME`` (two writers may overwrite
    each other's commit) is refused in production.
    """
    result = dict(options)
    if isinstance(location, Path):
        return result
    lowered = {k.lower(): v for k, v in result.items()}
    if production and str(lowered.get(_UNSAFE_RENAME, "")).lower() == "true":
        raise StorageError(
            "AWS_S3_ALLOW_UNSAFE_RENAME=true lets two writers overwrite each other's commit: "
            "refused in production (the default, conditional put, needs no lock service)"
        )
    if not _COMMIT_KEYS & lowered.keys() and lowered.get(_UNSAFE_RENAME, "") != "true":
        result["aws_conditional_put"] = "etag"
    return result


def _obstore_options(options: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(S3 configuration, client options) for obstore from delta-rs storage options."""
    config: dict[str, str] = {}
    client: dict[str, str] = {}
    for key, value in options.items():
        low = key.lower()
        if low in _DELTA_ONLY:
            continue
        if low in _CLIENT_KEYS:
            client[low] = value
        elif low == "aws_allow_http":
            client["allow_http"] = value
        elif low.startswith("aws_"):
            config[low] = value
        else:
            raise StorageError(
                f"storage option {key!r}: use the AWS_* spelling (AWS_ENDPOINT_URL, AWS_REGION, "
                f"AWS_ALLOW_HTTP...) or a client option ({', '.join(sorted(_CLIENT_KEYS))})"
            )
    return config, client


def store(location: Location, options: Mapping[str, str]) -> Any:
    """An obstore store rooted at ``location`` (paths inside it are relative to it)."""
    from obstore.store import LocalStore, from_url

    if isinstance(location, Path):
        location.mkdir(parents=True, exist_ok=True)
        return LocalStore(location)
    config, client = _obstore_options(options)
    if client and "allow_http" not in client and os.environ.get("AWS_ALLOW_HTTP"):
        client["allow_http"] = os.environ["AWS_ALLOW_HTTP"]
    if not client:  # an explicit (even empty) client configuration hides AWS_ALLOW_HTTP
        return from_url(str(location), config=config)  # type: ignore[call-overload]
    return from_url(str(location), config=config, client_options=client)  # type: ignore[call-overload]


def list_dirs(location: Location, options: Mapping[str, str]) -> list[str]:
    """The names one level below ``location`` (folders, or common prefixes), sorted."""
    if isinstance(location, Path):
        if not location.is_dir():
            return []
        return sorted(p.name for p in location.iterdir() if p.is_dir())
    import obstore

    found = obstore.list_with_delimiter(store(location, options))
    return sorted(prefix.rstrip("/").rsplit("/", 1)[-1] for prefix in found["common_prefixes"])


def has_delta_log(location: Location, options: Mapping[str, str]) -> bool:
    """Whether ``location`` holds a Delta table (a ``_delta_log`` folder)."""
    if isinstance(location, Path):
        return (location / "_delta_log").is_dir()
    return "_delta_log" in list_dirs(location, options)


def read_bytes(location: Location, options: Mapping[str, str]) -> bytes | None:
    """The content of the file or object at ``location`` (None when there is none)."""
    if isinstance(location, Path):
        try:
            return location.read_bytes()
        except FileNotFoundError:
            return None
    import obstore

    parent = ObjectUrl(location.scheme, location.bucket, location.key.rpartition("/")[0])
    try:
        return bytes(obstore.get(store(parent, options), location.name).bytes())
    except FileNotFoundError:  # obstore's NotFoundError is one
        return None


def arrow_dataset(table: DeltaTable) -> ds.Dataset:
    """The table's loaded snapshot as an Arrow dataset; local files read with no Python callbacks.

    ``DeltaTable.to_pyarrow_dataset()`` reads through a ``PyFileSystem`` whose buffers are Python
    objects. pyarrow's I/O threads may release the last of them after the interpreter began to
    shut down; that thread then cannot take the GIL, is unwound through C++ code, and the whole
    process aborts at exit ("terminate called without an active exception", exit status 134;
    delta-rs issue 2184), about one run in three of a short command that read a table. A local
    table is therefore read by pyarrow's own filesystem rooted at the table folder (the same
    relative file paths, so the same files). An object store keeps delta-rs's handler, which
    carries the table's credentials and endpoint.
    """
    import pyarrow.fs as pa_fs

    parts = urlsplit(table.table_uri)
    if parts.scheme not in ("", "file"):
        return _unguarded(table, table.to_pyarrow_dataset())
    folder = unquote(parts.path) if parts.scheme else table.table_uri
    return _unguarded(
        table,
        table.to_pyarrow_dataset(
            filesystem=pa_fs.SubTreeFileSystem(folder.rstrip("/") or "/", pa_fs.LocalFileSystem())
        ),
    )


def _unguarded(table: DeltaTable, dataset: ds.Dataset) -> ds.Dataset:
    """``dataset`` with each file's guarantee cut down to its partition values.

    deltalake gives each file the guarantee of its add action's statistics, and for a column
    they do not cover (one added to the table after the file was written) ``(c >= null) and
    (c <= null)``: pyarrow then takes no row of that file as passing any filter on ``c``, so a
    reader's ``where c is null`` dropped every older file without a word (deltalake 1.6.6).
    pyarrow still skips row groups by each file's own Parquet statistics."""
    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    partitions = set(table.metadata().partition_columns)
    fragments = []
    for fragment in dataset.get_fragments():
        keys = pads.get_partition_keys(fragment.partition_expression) if partitions else {}
        guarantee = pc.scalar(True)
        for name, value in keys.items():
            if name in partitions:
                term = pc.field(name).is_null() if value is None else pc.field(name) == value
                guarantee = guarantee & term
        fragments.append(
            dataset.format.make_fragment(
                fragment.path, filesystem=dataset.filesystem, partition_expression=guarantee
            )
        )
    return pads.FileSystemDataset(fragments, dataset.schema, dataset.format, dataset.filesystem)
