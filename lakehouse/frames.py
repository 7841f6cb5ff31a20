"""Published tables as Polars LazyFrames, at their latest version or any earlier one.

For analysts in Python (a notebook, a script)::

    from lakehouse import scan_table

    orders = scan_table("gold", "orders")                  # the latest version
    before = scan_table("gold", "orders", version=3)       # time travel: version 3
    as_of = scan_table("gold", "orders", version=datetime(2026, 1, 5, tzinfo=UTC))

A LazyFrame reads nothing until ``collect()``; filters and column choices are pushed down to the
Parquet files of that version. Settings (where the tables are, object-storage options) come from
the same ``LAKEHOUSE_*`` variables as every command.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from lakehouse.catalog import TableNotFoundError
from lakehouse.layout import check_layer, table_path
from lakehouse.settings import Settings, get_settings
from lakehouse.storage import has_delta_log

if TYPE_CHECKING:
    import polars as pl

__all__ = ["scan_table"]


def scan_table(
    layer: str,
    name: str,
    *,
    version: int | datetime | None = None,
    settings: Settings | None = None,
) -> pl.LazyFrame:
    """The Delta table ``<layer>/<name>`` as a Polars LazyFrame, at ``version`` (a number, or
    the version current at a timezone-aware time) or the latest.

    Raises :class:`~lakehouse.catalog.TableNotFoundError` naming the table when there is none
    there, or it has no such version.
    """
    import polars as pl

    settings = settings or get_settings()
    location = table_path(settings, check_layer(layer), name)
    options = settings.storage_options or None
    if not has_delta_log(location, settings.storage_options):
        raise TableNotFoundError(f"no {layer} table {name!r} at {location}")
    try:
        frame = pl.scan_delta(str(location), version=version, storage_options=options)
        frame.collect_schema()  # opens that version now: a missing one fails here, not later
    except Exception as exc:  # delta-rs/polars say it their way: say which table and version
        raise TableNotFoundError(f"{layer}.{name} has no version {version}: {exc}") from None
    return frame
