"""Bronze column types: what a file's Arrow types become, and how they meet the table's.

The rule (documented in README, tested in ``tests/loader/test_types.py``):

* Types Delta cannot hold are normalised first: naive timestamps are read as UTC and stored as
  ``timestamp`` (UTC, microseconds; never ``timestampNtz``, which raises the table protocol);
  ``time`` and ``interval`` become strings; unsigned integers become the next wider signed type
  (``uint64`` → ``decimal(20, 0)``); ``float16`` → ``float32``; dictionaries are decoded;
  ``decimal256`` becomes ``decimal(p, s)`` (over 38 digits the file is quarantined).
* Column names are case-insensitive: a column that differs from the table's only by case
  (``Amount`` when the table has ``amount``) is refused (quarantined), not added.
* A column new to the table is added (schema evolution). A new column whose values are all null
  (no type) is left out until a file brings a value.
* A column the table already has keeps the table's type. A file value of a narrower type is
  widened to it (int8 → … → int64, integers → double, float → double, null → anything).
  Anything else (a string into a number, a number into a string, a double into an integer) is a
  *type conflict*: the file is quarantined, naming the column, the table's type and the file's.
  CSV and JSON files are parsed straight into the table's types, so a conflict names the line.
"""

from __future__ import annotations

import pyarrow as pa

from lakehouse.layout import BRONZE_COLUMNS
from loader.exceptions import FileRejected

_SIGNED = (pa.int8(), pa.int16(), pa.int32(), pa.int64())


def normalize_type(t: pa.DataType) -> pa.DataType:
    """The Delta-compatible type bronze stores for an Arrow type."""
    if isinstance(t, pa.ExtensionType):
        return normalize_type(t.storage_type)
    if pa.types.is_dictionary(t):
        return normalize_type(t.value_type)
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_time(t) or pa.types.is_interval(t) or pa.types.is_duration(t):
        return pa.string()
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_float16(t) or pa.types.is_unsigned_integer(t) or pa.types.is_decimal256(t):
        return _number(t)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(normalize_field(t.value_field))
    if pa.types.is_struct(t):
        return pa.struct([normalize_field(t.field(i)) for i in range(t.num_fields)])
    if pa.types.is_map(t):
        return pa.map_(normalize_type(t.key_type), normalize_type(t.item_type))
    return t


def _number(t: pa.DataType) -> pa.DataType:
    """float16, an unsigned integer or decimal256 as a type Delta holds."""
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_unsigned_integer(t):
        return {8: pa.int16(), 16: pa.int32(), 32: pa.int64()}.get(
            t.bit_width, pa.decimal128(20, 0)
        )
    if t.precision > 38:  # decimal256: Delta holds decimals of up to 38 digits
        raise FileRejected("type_conflict", f"{t}: more digits than the 38 a Delta decimal holds")
    return pa.decimal128(t.precision, t.scale)


def normalize_field(f: pa.Field) -> pa.Field:
    return pa.field(f.name, normalize_type(f.type), nullable=True)


def widens_to(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether every value of ``source`` fits ``target`` exactly (the file → table rule)."""
    if source == target or pa.types.is_null(source):
        return True
    if pa.types.is_signed_integer(source):
        if pa.types.is_signed_integer(target):
            return bool(target.bit_width >= source.bit_width)
        if pa.types.is_float64(target):
            return True
        return bool(pa.types.is_float32(target) and source.bit_width <= 16)
    if pa.types.is_float32(source):
        return bool(pa.types.is_float64(target))
    return False


def _duckdb_name(t: pa.DataType) -> str | None:
    """DuckDB's spelling of a bronze type, for parse-time hints (None: no hint)."""
    simple = {
        pa.string(): "VARCHAR",
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
        pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    }
    if t in simple:
        return simple[t]
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision}, {t.scale})"
    return None


def duckdb_hints(target: pa.Schema | None) -> dict[str, str]:
    """Column → DuckDB type for the columns of ``target`` a reader can parse into directly."""
    if target is None:
        return {}
    hints = {}
    for f in target:
        name = _duckdb_name(f.type)
        if name is not None and f.name not in BRONZE_COLUMNS:
            hints[f.name] = name
    return hints


def plan(file_schema: pa.Schema, target: pa.Schema | None) -> pa.Schema:
    """The schema a file's batches are cast to before they join ``target``.

    Raises :class:`FileRejected` (``type_conflict`` / ``invalid_column``) when they cannot.
    """
    known = {f.name: f.type for f in target} if target is not None else {}
    spelled = {name.lower(): name for name in known}  # Delta column names are case-insensitive
    fields = []
    seen: set[str] = set()
    for f in file_schema:
        if f.name in BRONZE_COLUMNS:
            raise FileRejected(
                "invalid_column",
                f"column {f.name!r} is reserved for the loader's own bronze columns",
                column=f.name,
            )
        if not f.name.strip() or f.name.lower() in seen:
            raise FileRejected(
                "invalid_column",
                f"column name {f.name!r} is empty or repeated (names are case-insensitive)",
                column=f.name,
            )
        seen.add(f.name.lower())
        other = spelled.get(f.name.lower(), f.name)
        if other != f.name:
            raise FileRejected(
                "invalid_column",
                f"column {f.name!r} differs from the bronze table's column {other!r} only by "
                "case; column names are case-insensitive, rename it to match",
                column=f.name,
            )
        try:
            source = normalize_type(f.type)
        except FileRejected as exc:
            exc.reason = f"column {f.name!r} is {exc.reason}"
            exc.args = (exc.reason,)
            exc.column = f.name
            raise
        if f.name in known:
            if not widens_to(source, known[f.name]):
                raise FileRejected(
                    "type_conflict",
                    f"column {f.name!r} is {known[f.name]} in the bronze table but {source} in "
                    "this file; the table's type is kept, values are never silently coerced",
                    column=f.name,
                )
            fields.append(pa.field(f.name, known[f.name]))
        elif pa.types.is_null(source):
            continue  # no value, no type: wait for a file that brings one
        else:
            fields.append(pa.field(f.name, source))
    return pa.schema(fields)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast ``batch`` to ``schema`` (made by :func:`plan`), dropping columns it left out."""
    columns = [batch.column(f.name).cast(f.type, safe=True) for f in schema]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def merged(target: pa.Schema | None, file_schema: pa.Schema) -> pa.Schema:
    """``target`` plus the columns ``file_schema`` adds (the schema after this file)."""
    if target is None:
        return file_schema
    names = set(target.names)
    return pa.schema([*target, *(f for f in file_schema if f.name not in names)])
