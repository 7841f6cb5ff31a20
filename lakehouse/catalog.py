"""The catalog: what the Delta logs say about each table (never the DuckDB warehouse file).

Shared by ``lakehouse status`` and the API's ``/v1/tables`` endpoints.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from time import monotonic, time_ns
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.schema import ArrayType, MapType, PrimitiveType, StructType

from lakehouse.layout import LAYERS, Layer, list_tables, table_exists, table_path
from lakehouse.settings import Settings
from lakehouse.storage import arrow_dataset


@dataclass(frozen=True, slots=True)
class TableInfo:
    layer: Layer
    name: str
    location: str
    version: int
    rows: int
    files: int
    updated_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def open_table(
    settings: Settings, layer: Layer, name: str, version: int | None = None
) -> DeltaTable:
    return DeltaTable(
        str(table_path(settings, layer, name)),
        version=version,
        storage_options=settings.storage_options or None,
    )


#: How old a log folder's mtime must be for a read after it to be cached (well above a coarse
#: clock tick: 4 ms at HZ=250, 10 ms at HZ=100)
SETTLED_NS = 50_000_000


class ColumnNames:
    """The column names and types of each table of a layer, as its Delta log says, for a
    request to compare a body's names against (a table's names only grow) and to judge a
    column the table has by its stored type (``contracts.as_loaded``). Cached per table and
    read again when the log's folder changes (its mtime and size; a table in an object store: at
    most every 2 s). A table missing or unreadable has no columns: nothing to compare, never an
    error (a name the cache missed is still refused by the loader).

    A folder's mtime moves in the kernel's coarse ticks: a commit in the same tick as the read
    leaves it as it was, and a schema read before that commit would be kept until the next one.
    So a read whose stamp is younger than :data:`SETTLED_NS` is not kept (read again next time);
    past it the tick has ended and any later commit changes the stamp."""

    def __init__(self, settings: Settings, layer: Layer = "bronze") -> None:
        self._settings = settings
        self._layer: Layer = layer
        self._cache: dict[str, tuple[object, dict[str, pa.DataType]]] = {}

    def _stamp(self, name: str) -> tuple[object, bool]:
        """The log's stamp, and whether a read after it may be cached (:data:`SETTLED_NS`)."""
        location = table_path(self._settings, self._layer, name)
        if isinstance(location, Path):
            found = (location / "_delta_log").stat()
            settled = time_ns() - found.st_mtime_ns >= SETTLED_NS
            return (found.st_mtime_ns, found.st_size), settled
        return int(monotonic() // 2), True

    def names(self, name: str) -> tuple[str, ...]:
        return tuple(self.types(name))

    def types(self, name: str) -> dict[str, pa.DataType]:
        """Each column's stored (Arrow) type, in the table's order (the caller must not change
        the dict: it is the cache's)."""
        try:
            stamp, settled = self._stamp(name)
        except (OSError, ValueError):
            return {}
        cached = self._cache.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            schema = open_table(self._settings, self._layer, name).schema().to_arrow()
            types = {f.name: f.type for f in pa.schema(schema)}
        except Exception:  # missing, being created, unreadable: nothing to compare against
            return {}
        if settled:
            self._cache[name] = (stamp, types)
        else:
            self._cache.pop(name, None)
        return types


def table_info(settings: Settings, layer: Layer, name: str) -> TableInfo:
    table = open_table(settings, layer, name)
    actions = pa.table(table.get_add_actions(flatten=True))
    rows = pc.sum(actions["num_records"]).as_py() if actions.num_rows else 0
    history = table.history(1)
    stamp = history[0].get("timestamp") if history else None
    updated = (
        datetime.fromtimestamp(stamp / 1000, UTC).isoformat(timespec="seconds") if stamp else None
    )
    return TableInfo(
        layer=layer,
        name=name,
        location=table.table_uri,
        version=table.version(),
        rows=int(rows or 0),
        files=actions.num_rows,
        updated_at=updated,
    )


def list_table_infos(settings: Settings) -> list[TableInfo]:
    return [
        table_info(settings, layer, name)
        for layer in LAYERS
        for name in list_tables(settings, layer)
    ]


def table_schema(table: DeltaTable) -> list[dict[str, Any]]:
    """Columns as ``{name, type, nullable}``, types in Delta's own spelling."""
    fields = table.schema().fields
    return [
        {"name": f.name, "type": delta_type_name(f.type), "nullable": f.nullable} for f in fields
    ]


def delta_type_name(kind: Any) -> str:
    """A Delta type as the protocol names it: ``long``, ``decimal(10,2)``, ``array<string>``,
    ``map<string,long>``, ``struct<id:long,tags:array<string>>``."""
    if isinstance(kind, PrimitiveType):
        return str(kind.type)
    if isinstance(kind, ArrayType):
        return f"array<{delta_type_name(kind.element_type)}>"
    if isinstance(kind, MapType):
        return f"map<{delta_type_name(kind.key_type)},{delta_type_name(kind.value_type)}>"
    if isinstance(kind, StructType):
        inner = ",".join(f"{f.name}:{delta_type_name(f.type)}" for f in kind.fields)
        return f"struct<{inner}>"
    return str(getattr(kind, "type", kind))


#: The commit metadata key of a loader commit of its own Parquet file (``loader.own_files``):
#: what it added, as JSON (``num_added_rows``, ``num_added_files``, ``num_added_bytes``).
ADDED_KEY = "lakehouse.added"


def table_history(table: DeltaTable, limit: int = 10) -> list[dict[str, Any]]:
    """The last ``limit`` commits: version, time, operation, its parameters and metrics (a
    commit of the loader's own file: those it recorded, :data:`ADDED_KEY`)."""
    entries = table.history(limit)
    keep = ("version", "timestamp", "operation", "operationParameters", "operationMetrics")
    out = []
    for e in entries:
        entry = {k: e.get(k) for k in keep if k in e}
        added = e.get(ADDED_KEY)
        if added is not None and not entry.get("operationMetrics"):
            entry["operationMetrics"] = json.loads(added) if isinstance(added, str) else added
        out.append(entry)
    return out


class TableNotFoundError(LookupError):
    """No Delta table (or no such version of it) at a layer and name."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and infinities are not JSON
    if isinstance(value, datetime | date | time | timedelta | Decimal | uuid.UUID):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    return value


def _no_version(settings: Settings, layer: Layer, name: str, version: int | None) -> str:
    """A missing version's 404 text, naming the versions that do exist."""
    table = open_table(settings, layer, name)
    latest = table.version()
    log_dir = table_path(settings, layer, name) / "_delta_log"
    if isinstance(log_dir, Path):
        numbers = [int(p.name[:20]) for p in log_dir.iterdir() if p.name[:20].isdigit()]
    else:  # an object store: the commits its log still lists
        numbers = [int(entry["version"]) for entry in table.history() if "version" in entry]
    earliest = min(numbers, default=0)
    return f"{layer}.{name} has no version {version}: versions {earliest} to {latest} exist"


def read_rows(
    settings: Settings, layer: Layer, name: str, *, limit: int = 100, version: int | None = None
) -> dict[str, Any]:
    """The first ``limit`` rows of a table (at ``version``: time travel) as JSON-ready values."""
    if not table_exists(settings, layer, name):
        raise TableNotFoundError(f"no {layer} table {name!r}")
    try:
        table = open_table(settings, layer, name, version)
    except Exception:  # delta-rs's own error for a version that is not there
        raise TableNotFoundError(_no_version(settings, layer, name, version)) from None
    try:
        head = arrow_dataset(table).head(limit)
    except FileNotFoundError:
        if version is None:
            raise
        raise TableNotFoundError(
            f"{layer}.{name} version {version} cannot be read any more: its files were "
            "removed by vacuum (vacuum_retention_hours)"
        ) from None
    return {
        "version": table.version(),
        "columns": table_schema(table),
        "rows": [_jsonable(row) for row in head.to_pylist()],
    }
