"""Delta statistics delta-rs would write wrong, and the table property that keeps them out.

Readers skip a Delta file when its ``minValues``/``maxValues`` say no row can match a filter.
delta-rs (deltalake 1.6) writes those bounds wrong for wide decimals (docs/pitfalls.md, "delta-rs
writes wrong statistics for wide decimals"):

* ``decimal(p, 0)`` beyond int64: the bound is clamped to 9223372036854775807 (or its negative),
  so a file holding ``99999999999999999999`` says its maximum is 9.2e18;
* ``decimal(p, s)`` with ``s > 0``: the bound is a float64, rounded to 17 significant digits,
  so ``1234567890123456789.5`` becomes a minimum of 1.2345678901234568e18, above the value.

deltalake's Arrow dataset, its DataFusion ``QueryBuilder`` and Polars' ``scan_delta`` then skip
the file and return *no row* for ``x > 10000000000000000000`` or ``x <= 1234567890123456789.5``:
a wrong answer, not a slow one. The loader writes such columns (a JSON integer beyond int64 is
``DECIMAL(38, 0)``; a CSV number no float64 holds exactly is ``DECIMAL(38, s)``), and a model can
publish them.

And for every float column (``float``/``double``): delta-rs, like the Parquet writers that
follow the format's advice, leaves NaN out of a float column's bounds (``[0.5, 1.0, NaN]`` gets
a maximum of 1.0). Readers that order NaN above every number, as Spark, DataFusion
(deltalake's ``QueryBuilder``) and DuckDB do, then skip the file for ``x > 10`` and lose the
NaN row. Delta's own Spark writer stopped taking float bounds from such footers for that reason
(delta-io/delta#7101). Whether a file holds a NaN is not known before delta-rs writes it, so a
float column never gets bounds from delta-rs: no skipping by it, never a lost row.

The guard: a table holding such a column carries ``delta.dataSkippingStatsColumns`` listing only
the columns whose statistics are exact (:func:`stats_configuration` when it is created,
:func:`guard` before a write to an existing one). delta-rs then writes no bounds for the others
(and none for columns added later, which are not listed: readers scan those files, which is only
slower). delta-rs's readers read bounds only for the listed columns (Delta's Spark reader parses
statistics by the same property; not tried here), so setting the property also retires the
wrong bounds of files written before it, without rewriting them.

The Parquet footers delta-rs writes carry the same NaN-less float bounds, and DataFusion and
Spark skip row groups by them: :func:`writer_properties` turns a float column's footer
statistics off for delta-rs's writes (the loader's bronze appends, a publish's appends, merges
and object-store overwrites, compactions). A float inside a struct, list or map keeps them
(delta-rs's column options name top-level columns only): a filter on such a field may still
skip a NaN in a Delta reader; DuckDB's builds read every Parquet file with ``can_have_nan``.
Files written before this keep their footers until rewritten (compaction, a full refresh).

The same property keeps out a column whose values have no bound readers can read: a timestamp
or date past 9999-12-31 or before year 1 (or infinite), which DuckDB computes but no Python
``datetime`` holds. deltalake parses such bounds as none and its Arrow dataset then skips the
file for any filter on the column; the publish names such columns (``also`` of
:func:`stats_configuration` and :func:`guard`), found in the model's rows.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Literal

import pyarrow as pa
from deltalake import ColumnProperties, DeltaTable, WriterProperties

__all__ = [
    "STATS_COLUMNS",
    "guard",
    "inexact",
    "listed",
    "stats_configuration",
    "writer_properties",
]

#: The Delta table property naming the columns writers keep statistics for.
STATS_COLUMNS = "delta.dataSkippingStatsColumns"
#: delta-rs writes a scale-0 decimal bound as an int64, any other as a float64
_INT64_DIGITS = 18
_FLOAT64_DIGITS = 15
_ITEM = re.compile(r"\s*(`(?:[^`]|``)*`|[^,]*)\s*(?:,|$)")


def inexact(kind: pa.DataType) -> bool:
    """Whether delta-rs may write a bound of a column of this type that is not a bound."""
    if pa.types.is_floating(kind):  # NaN is left out of the bounds
        return True
    if pa.types.is_decimal(kind):
        digits = _INT64_DIGITS if kind.scale == 0 else _FLOAT64_DIGITS
        return bool(kind.precision > digits)
    if pa.types.is_struct(kind):
        return any(inexact(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return inexact(kind.value_type)
    if pa.types.is_map(kind):
        return inexact(kind.key_type) or inexact(kind.item_type)
    return False


def _quote(name: str) -> str:
    # always quoted: delta-rs falls back to every column when an item does not parse ("a b")
    return "`" + name.replace("`", "``") + "`"


def listed(value: str) -> set[str]:
    """The column names of a ``delta.dataSkippingStatsColumns`` value."""
    names = set()
    for match in _ITEM.finditer(value):
        item = match[1].strip()
        if item.startswith("`") and item.endswith("`") and len(item) >= 2:
            item = item[1:-1].replace("``", "`")
        if item:
            names.add(item)
    return names


def stats_configuration(schema: pa.Schema, also: Collection[str] = ()) -> dict[str, str]:
    """The configuration a new table of ``schema`` is created with: ``{}`` when delta-rs writes
    every column's bounds right, else :data:`STATS_COLUMNS` listing the exact columns (less
    the columns named in ``also``: e.g. timestamps no Python datetime holds)."""
    if not any(inexact(f.type) or f.name in also for f in schema):
        return {}
    keep = [f.name for f in schema if not inexact(f.type) and f.name not in also]
    return {STATS_COLUMNS: ",".join(_quote(name) for name in keep)}


def guard(table: DeltaTable, incoming: pa.Schema, also: Collection[str] = ()) -> bool:
    """Before ``incoming`` is written into ``table``: make sure no column of either with inexact
    bounds, nor any named in ``also``, gets statistics (sets :data:`STATS_COLUMNS`, one
    commit); whether it committed. A column once left out stays out."""
    fields = {f.name: f for f in pa.schema(table.schema().to_arrow())}
    fields.update({f.name: f for f in incoming})
    wrong = {name for name, f in fields.items() if inexact(f.type) or name in also}
    if not wrong:
        return False
    current = table.metadata().configuration.get(STATS_COLUMNS)
    if current is not None and not (listed(current) & wrong):
        return False
    if current is None:
        keep = [name for name in fields if name not in wrong]
    else:  # keep the table's own choice, less the columns that turned inexact
        keep = [name for name in fields if name in listed(current) and name not in wrong]
    table.alter.set_table_properties({STATS_COLUMNS: ",".join(_quote(n) for n in keep)})
    return True


def writer_properties(
    schema: pa.Schema,
    *,
    compression: Literal["SNAPPY", "ZSTD"] = "SNAPPY",
    compression_level: int | None = None,
) -> WriterProperties:
    """delta-rs's Parquet options for a write of ``schema``'s columns: no footer statistics for
    its top-level float columns (their bounds would leave NaN out), the file compressed as
    given (Snappy: delta-rs's default, which given options replace)."""
    floats = [f.name for f in schema if pa.types.is_floating(f.type)]
    return WriterProperties(
        compression=compression,
        compression_level=compression_level,
        column_properties={name: ColumnProperties(statistics_enabled="NONE") for name in floats}
        or None,
    )
