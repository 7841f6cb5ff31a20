"""The landing dialect for Parquet: how the ingest API and the loader open a Parquet file, and
what in it they both refuse beyond the column-name rule of ``lakehouse.dialect``
(``docs/loading.md``, Parquet).

- **INT96 timestamps** (Spark, Impala, Hive) are read in microseconds, Spark's own unit: read in
  nanoseconds (pyarrow's default) a date past 2262-04-11 wraps around without a word
  (9999-12-31 is read as 1816-03-29). Read in microseconds one beyond what they hold in 64
  bits (about year 294247 either way) wraps too: :func:`int96_refusal` reads them in
  milliseconds as well, at any depth.
- **A nanosecond timestamp that is not a whole microsecond** refuses the file: bronze stores
  microseconds (Delta's unit), and dropping the nanoseconds would change the value.
- **A date beyond 0001-01-01 to 9999-12-31** (at any depth) refuses the file: deltalake's
  reader parses a file's date statistics as Python dates (a table holding another date cannot
  be read by dbt), and past years -262143 and 262142 its writer panics. So does **a
  timestamp beyond 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z** (any unit, at any
  depth; :class:`Values`): deltalake reads a file's timestamp statistics past them as no bound
  and skips the file for any filter on the column.
- **A string whose bytes are not UTF-8** (at any depth) refuses the file (kind ``encoding``):
  a Parquet reader hands a string column's bytes over unchecked, and a bronze table holding
  one cannot be read by DuckDB (the build) at all. (Bytes of a *binary* column are another
  matter: ``docs/loading.md``.)
- **A decimal with more digits than its type's precision** (at any depth) refuses the file: a
  writer that does not check can put any integer under a ``DECIMAL(p, s)`` annotation, pyarrow
  reads it unchecked, and the Parquet file bronze writes stores the column in the bytes ``p``
  digits need, where it would wrap (1234.56 in a ``DECIMAL(4,2)`` comes back -76.16).
- **A Parquet ENUM** (at any depth) is text, as the Parquet spec says (:func:`enum_as_text`;
  pyarrow reads it as bytes), its bytes checked as a string's.
- **A pandas timedelta that fastparquet wrote as a time of day** (``INT64`` annotated
  ``TIME_MICROS``, its ``pandas`` metadata saying ``timedelta64``) is that duration
  (:func:`timedelta_as_duration`): as a time, 90 s was the time of day 00:01:30 and -1 s no time.
- **A Spark ANSI interval** (``INTERVAL YEAR TO MONTH``, ``INTERVAL DAY TO SECOND``: a bare
  ``INT32`` of months or ``INT64`` of microseconds, its unit only in Spark's row metadata) is
  that interval's text (:func:`spark_intervals`), at any depth: as an integer, 1 year 2
  months was 14.
- **A Parquet VARIANT** (at any depth) refuses the file (:func:`variant_column`): pyarrow reads
  it as the bytes of its binary encoding, and its JSON text would lose the value's types.
- **A map repeating a key** (at any depth) refuses the file: no writer checks Parquet's rule
  that a map's keys are unique, and DuckDB cannot read a bronze table holding such a map
  (float keys as DuckDB compares them: -0.0 is 0.0, every NaN one key).
- **Arrow extension types** (at any depth) are read as the plain type their values mean
  (:func:`plain_type`: a UUID as its canonical text), by the API and the loader alike.
- **A map whose keys are of type null** (a key annotated Null: DuckDB's empty ``MAP()``; at
  any depth) holds no entry: read as a map of ``string`` keys (:func:`null_keyed_map`), never
  viewed as Arrow holds it (a view of one aborts the process).
- **A struct with no fields** (a Parquet empty group, at any depth) refuses the file
  (:func:`empty_struct_problem`): pyarrow's batches leave such a column out, and bronze keeps no
  struct without fields.
- **Struct fields** (at any depth) of one name, or whose names are equal but for case, refuse
  the file, as columns do: Delta compares names without case (the loader meets it as Delta's
  refusal of the schema; the API checks it first, by :func:`nested_name_problem`).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import tempfile
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse import dialect
from lakehouse.formats import RATIO_FLOOR_BYTES, InflateLimitError

#: The unit INT96 timestamps are read in (see the module's docstring).
INT96_UNIT = "us"


def no_columns(rows: int) -> str | None:
    """Why a Parquet file whose schema has no columns is refused (None when it holds no rows
    either: the file is empty, as said elsewhere)."""
    if not rows:
        return None
    return f"the file holds {rows} records but no columns: bronze has no column to store"


def check_inflation(
    metadata: pq.FileMetaData, size: int, max_bytes: int, max_ratio: float, source: Any = None
) -> None:
    """:class:`InflateLimitError` when a file of ``size`` bytes holds pages whose uncompressed
    bytes pass the bounds a gzip body has (``max_inflated_bytes``; ``max_inflate_ratio`` times
    the file past 16 MiB): pyarrow decompresses a page whole, so a 53 KB file holding one 1 GiB
    page of zstd took the API past its 1 GiB container before any batch bound applied (session
    14). The bytes are what the footer counts (each row group's ``total_byte_size``) or, with
    the file's ``source``, what its page headers say when more (:func:`written_page_bytes`:
    each page's ``uncompressed_page_size``, what pyarrow allocates): a footer can understate
    its sizes, a page header cannot without failing to decompress. A footer or page header
    those headers are not read through (none pyarrow reads either) is :class:`Unreadable`,
    saying why: the footer's sizes are then no bound to trust."""
    footer = sum(metadata.row_group(g).total_byte_size for g in range(metadata.num_row_groups))
    total, counted = footer, f"its footer counts {footer} bytes uncompressed"
    if source is not None:
        names = [metadata.schema.column(j).path for j in range(metadata.num_columns)]
        pages = written_page_bytes(source, names, metadata.created_by or "")
        if pages > footer:
            total = pages
            counted = f"its pages' headers count {pages} bytes uncompressed (its footer {footer})"
    what = "the file's pages"
    if total > max_bytes:
        raise InflateLimitError(
            f"{what} inflate past {max_bytes} bytes (max_inflated_bytes): {counted}",
            "max_inflated_bytes",
            max_bytes,
        )
    if total > RATIO_FLOOR_BYTES and total > max_ratio * max(size, 1):
        raise InflateLimitError(
            f"{what} inflate more than {max_ratio:g} times the file's size"
            f" (max_inflate_ratio): {counted} from {size}",
            "max_inflate_ratio",
            max_ratio,
        )


def summary_file(metadata: pq.FileMetaData, size: int) -> str | None:
    """Why a Parquet file of ``size`` bytes is refused as a summary file, or None: its footer
    counts records in row groups, but the file holds nothing besides its footer (the two
    ``PAR1`` marks, the footer and its 4-byte length): the row groups are in other files, as
    in the ``_metadata`` summary Spark, Dask or pyarrow's ``write_metadata`` writes (each
    column chunk's ``file_path`` names one; not read here: pyarrow's accessor of a chunk aborts
    the process on one it cannot decrypt, see :func:`unread_values`)."""
    if not (metadata.num_rows and metadata.num_row_groups and metadata.num_columns):
        return None  # no records, or no columns (:func:`no_columns`)
    if size > metadata.serialized_size + 12:
        return None
    return (
        f"a Parquet summary file (_metadata) holds no rows: its footer counts "
        f"{metadata.num_rows} records in row groups of other files; send those"
    )


#: Writers (the start of the footer's ``created_by``) that put a placeholder in every page
#: header's CRC field instead of a checksum: Parquet.jl writes 0 (its writer.jl: "TODO proper
#: CRC"). Their pages carry no checksum to check.
NO_CHECKSUM_WRITERS = ("Parquet.jl",)


def open_file(source: Any, **options: Any) -> pq.ParquetFile:
    """A Parquet file as the landing dialect reads it: INT96 in microseconds, and each page
    that carries a CRC checked against it (a page whose bytes are not its writer's refuses the
    file as one that does not parse, naming the page; pages without a CRC, and the pages of a
    writer that fills the field with a placeholder, :data:`NO_CHECKSUM_WRITERS`, are read as
    they are)."""
    options.setdefault("coerce_int96_timestamp_unit", INT96_UNIT)
    file = pq.ParquetFile(source, page_checksum_verification=True, **options)
    if (file.metadata.created_by or "").startswith(NO_CHECKSUM_WRITERS):
        file = pq.ParquetFile(source, **(options | {"metadata": file.metadata}))
    return file


def _children(t: pa.DataType) -> list[tuple[str, pa.DataType]]:
    if isinstance(t, pa.BaseExtensionType):
        return [("", t.storage_type)]
    if pa.types.is_dictionary(t):
        return [("", t.value_type)]
    if pa.types.is_map(t):
        return [("key", t.key_type), ("value", t.item_type)]
    return [(t.field(i).name, t.field(i).type) for i in range(getattr(t, "num_fields", 0))]


def nested_name_problem(schema: pa.Schema) -> tuple[str, str] | None:
    """(column, reason) for the first struct with two fields of one name, or of names equal
    but for case, or with a field name holding a NUL (Delta's writer cuts the name there:
    ``z\x00`` would be stored as ``z`` without a word)."""

    def walk(t: pa.DataType, path: str) -> str | None:
        if pa.types.is_struct(t):
            seen: dict[str, int] = {}
            for i in range(t.num_fields):
                name = t.field(i).name
                if "\x00" in name:
                    return (
                        f"column {path!r} holds a field named {name!r}: a NUL in a name cannot "
                        "be kept (Delta's writer cuts the name there)"
                    )
                first = seen.setdefault(name.lower(), i)
                if first == i:
                    continue
                other = t.field(first).name
                if other == name:
                    return f"column {path!r} holds two fields named {name!r}"
                return (
                    f"column {path!r} holds the fields {other!r} and {name!r}, equal but "
                    "for case (field names are case-insensitive in Delta)"
                )
        for _, child in _children(t):
            found = walk(child, path)
            if found is not None:
                return found
        return None

    for f in schema:
        reason = walk(f.type, f.name)
        if reason is not None:
            return f.name, reason
    return None


def empty_struct_problem(schema: pa.Schema) -> tuple[str, str] | None:
    """(column, reason) for the first column holding a struct with no fields (a Parquet empty
    group, at any depth): Arrow reads no values for it (pyarrow's batches leave such a column
    out) and bronze keeps no struct without fields, as for JSON."""

    def empty(t: pa.DataType) -> bool:
        if pa.types.is_struct(t) and t.num_fields == 0:
            return True
        return any(empty(child) for _, child in _children(t))

    for f in schema:
        if empty(f.type):
            return f.name, (
                f"column {f.name!r} is of type {f.type}, which holds a struct with no fields"
                " (a Parquet empty group): it has no values to read, and bronze keeps no"
                " struct without fields"
            )
    return None


class NameProblem(NamedTuple):
    """A name of a Parquet schema bronze cannot keep: the column at fault (None: the file as a
    whole), why, and whether the name is a struct's field (``in_struct``) or a column's."""

    column: str | None
    reason: str
    in_struct: bool


def name_problem(schema: pa.Schema) -> NameProblem | None:
    """The first name problem of a Parquet schema, in one order for the API and the loader: the
    columns' names (:func:`lakehouse.dialect.name_problem`, in column order), then the struct
    fields of each column in column order (:func:`nested_name_problem`), then a struct with no
    fields (:func:`empty_struct_problem`). *Before:* until session 18 the loader judged the
    struct fields first, so a file with a blank column name beside a struct of two fields
    ``x`` was 422 "column 2 has a blank name ('')" to the API and ``invalid_column`` "column
    'v' holds two fields named 'x'" to the loader (review finding revc 03)."""
    top = dialect.name_problem(schema.names)
    if top is not None:
        return NameProblem(top[0], top[1], False)
    nested = nested_name_problem(schema) or empty_struct_problem(schema)
    if nested is not None:
        return NameProblem(nested[0], nested[1], True)
    return None


# -- Arrow extension types ----------------------------------------------------------------------

_EXTENSION_KEYS = (b"ARROW:extension:name", b"ARROW:extension:metadata")
#: a UUID's 32 hex digits in its groups (8-4-4-4-12)
_UUID_PARTS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))


def has_extension(t: pa.DataType) -> bool:
    """Whether ``t`` is, or holds at any depth, an Arrow extension type, a duration, an
    interval, a ``decimal32``/``decimal64`` or a list view (types Delta does not hold, stored
    as :func:`plain_type` says)."""
    if isinstance(t, pa.BaseExtensionType) or _is_span(t) or _is_narrow_decimal(t):
        return True
    if _unknown_zone(t):
        return True
    if pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return True
    if pa.types.is_dictionary(t):  # of bytes: to its values, which meet a column as bytes do
        return is_bytes(t.value_type) or has_extension(t.value_type)
    return any(has_extension(child) for _, child in _children(t))


@functools.lru_cache(maxsize=256)
def _zone_known(tz: str) -> bool:
    """Whether Arrow knows the time zone ``tz`` (its database's names, ``+05:30``)."""
    try:
        pa.array([0], pa.timestamp("us", tz)).cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


def _unknown_zone(t: pa.DataType) -> bool:
    """Whether ``t`` is a timestamp with a zone Arrow does not know (``utc``, ``Z``,
    ``+05:30:15``, ``Mars/Olympus``: an Arrow writer keeps any string in ``ARROW:schema``).
    Its instants are UTC by the Parquet format; Arrow cannot print it nor cast it to text, so
    it is read as UTC (the zone's name alone is not kept: no offset can be had from it)."""
    return bool(pa.types.is_timestamp(t) and t.tz and not _zone_known(t.tz))


def _is_narrow_decimal(t: pa.DataType) -> bool:
    return bool(pa.types.is_decimal32(t) or pa.types.is_decimal64(t))


def _is_span(t: pa.DataType) -> bool:
    return bool(pa.types.is_duration(t) or pa.types.is_interval(t))


#: digits of a second in each duration unit
_UNIT_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}


def duration_text(values: pa.Array) -> pa.Array:
    """Durations as the text of their exact seconds, with the unit's digits and the word
    ``seconds``: 90 s ``90 seconds``, 90 ms ``0.090 seconds``, -90 ns ``-0.000000090 seconds``
    (DuckDB casts it to an INTERVAL, to microseconds); a null stays null. The count alone
    (``90``) would not say its unit."""
    digits = _UNIT_DIGITS[values.type.unit]
    text = pc.cast(values.cast(pa.int64()), pa.string())
    if digits:
        negative = pc.starts_with(text, "-")
        padded = pc.utf8_lpad(pc.utf8_ltrim(text, "-"), digits + 1, "0")
        whole = pc.utf8_slice_codeunits(padded, 0, -digits)
        fraction = pc.utf8_slice_codeunits(padded, -digits, 2**31 - 1)
        sign = pc.if_else(negative, "-", "")
        text = pc.binary_join_element_wise(sign, whole, ".", fraction, "")
    return pc.binary_join_element_wise(text, " seconds", "")


def interval_text(values: pa.Array) -> pa.Array:
    """Month-day-nanosecond intervals as ``1 months -2 days -0.000000003 seconds`` (each part
    exact, signed as written; DuckDB casts it to an INTERVAL); a null stays null."""

    def one(v: Any) -> str | None:
        if v is None:
            return None
        nanos = abs(v.nanoseconds)
        sign = "-" if v.nanoseconds < 0 else ""
        seconds = f"{sign}{nanos // 10**9}.{nanos % 10**9:09d}"
        return f"{v.months} months {v.days} days {seconds} seconds"

    if values.type != pa.month_day_nano_interval():  # no other interval is read from Parquet
        raise pa.ArrowNotImplementedError(f"values of type {values.type}")
    return pa.array([one(v) for v in values.to_pylist()], pa.string())


def _plain_field(f: pa.Field) -> pa.Field:
    meta = {k: v for k, v in (f.metadata or {}).items() if k not in _EXTENSION_KEYS}
    return pa.field(f.name, plain_type(f.type), f.nullable, meta or None)


def _bare_field(f: pa.Field) -> pa.Field:
    """A nested field as :func:`plain_type` says, without metadata: a writer's field ids
    (``PARQUET:field_id``: Iceberg, Delta column mapping) on a struct's fields reached bronze's
    Delta schema, and a later file with other ids on the same fields was refused by delta-rs's
    schema merge ("Cannot merge metadata"), its values fitting."""
    return pa.field(f.name, plain_type(f.type), f.nullable)


def _fields(t: pa.DataType) -> list[pa.Field]:
    if isinstance(t, pa.BaseExtensionType):
        return _fields(t.storage_type)
    if pa.types.is_dictionary(t):
        return _fields(t.value_type)
    if pa.types.is_map(t):
        return [t.key_field, t.item_field]
    return [t.field(i) for i in range(getattr(t, "num_fields", 0))]


def _nested_metadata(t: pa.DataType) -> bool:
    """Whether a field inside ``t``, at any depth, carries metadata."""
    return any(f.metadata or _nested_metadata(f.type) for f in _fields(t))


def _to_plain(t: pa.DataType) -> bool:
    """Whether :func:`plain_type` changes ``t``: an extension type or one Delta does not hold
    (:func:`has_extension`), a nested field's metadata, or a map whose keys are of type null
    (:func:`null_keyed_map`)."""
    return has_extension(t) or _nested_metadata(t) or null_keyed_map(t)


def null_keyed_map(t: pa.DataType) -> bool:
    """Whether ``t`` holds, at any depth, a map whose key type is Arrow's ``null`` (a Parquet
    map key annotated Null/UNKNOWN: DuckDB writes its empty ``MAP()`` so). A key is never null,
    so such a map holds no entry: every value is an empty map or null, read as a map of
    ``string`` keys (:func:`plain_type`). Arrow itself cannot hold it safely: a view of an
    array holding one (a map's entries, :func:`_entries`) aborts the process in Arrow C++
    ("Map array keys array should have no nulls"), past any ``except``."""
    if pa.types.is_map(t) and null_keys(t):
        return True
    return any(null_keyed_map(child) for _, child in _children(t))


def null_keys(t: pa.MapType) -> bool:
    """Whether a map's keys are of Arrow's ``null`` type, or of an extension type over it (an
    ``arrow.opaque`` key a writer's ``ARROW:schema`` names over DuckDB's ``MAP()``): no key
    holds a value, so the map holds no entry (:func:`null_keyed_map`)."""
    key = t.key_type
    while isinstance(key, pa.BaseExtensionType):
        key = key.storage_type
    return bool(pa.types.is_null(key))


def plain_type(t: pa.DataType) -> pa.DataType:
    """The type bronze stores an Arrow extension type's values as, at any depth: a UUID
    (``arrow.uuid``) as its canonical text (``VARCHAR``, as a column declared ``uuid``),
    ``arrow.bool8`` as ``BOOLEAN``, any other (``arrow.json``, a fixed-shape tensor, opaque, a
    producer's own) as its storage type. Delta holds no extension types (a UUID's extension over
    the ``binary`` bronze widens it to made the table unreadable to pyarrow)."""
    leaf = _plain_leaf_type(t)
    if leaf is not None:
        return leaf
    if not _to_plain(t):
        return t
    if pa.types.is_struct(t):
        return pa.struct([_bare_field(t.field(i)) for i in range(t.num_fields)])
    if pa.types.is_map(t):
        key = t.key_field
        if null_keys(t):  # holds no entry (:func:`null_keyed_map`): text keys
            return pa.map_(pa.field(key.name, pa.string(), False), _bare_field(t.item_field))
        return pa.map_(_bare_field(key), _bare_field(t.item_field), t.keys_sorted)
    if pa.types.is_large_list(t) or pa.types.is_large_list_view(t):
        return pa.large_list(_bare_field(t.value_field))
    if pa.types.is_list_view(t):
        return pa.list_(_bare_field(t.value_field))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(_bare_field(t.value_field), t.list_size)
    if pa.types.is_list(t):
        return pa.list_(_bare_field(t.value_field))
    if pa.types.is_dictionary(t):
        return plain_type(t.value_type)
    raise pa.ArrowNotImplementedError(f"an extension type inside {t}")


def _plain_leaf_type(t: pa.DataType) -> pa.DataType | None:
    """:func:`plain_type` of an extension type, a duration or an interval (None: another)."""
    if isinstance(t, pa.BaseExtensionType):
        if t.extension_name == "arrow.uuid":
            return pa.string()
        if t.extension_name == "arrow.bool8":
            return pa.bool_()
        return plain_type(t.storage_type)
    if _is_span(t):  # a duration or an interval: its exact text (duration_text)
        return pa.string()
    if _is_narrow_decimal(t):  # decimal32/64: the same value as a Delta decimal
        return pa.decimal128(t.precision, t.scale)
    if _unknown_zone(t):  # the same instants in UTC
        return pa.timestamp(t.unit, "UTC")
    return None


def _plain_leaf_values(values: pa.Array) -> pa.Array | None:
    """:func:`plain_values` of an extension type's, a duration's or an interval's values
    (None: of another type)."""
    t = values.type
    if isinstance(t, pa.BaseExtensionType):
        storage = values.storage
        if t.extension_name == "arrow.uuid":
            return _uuid_text(storage)
        if t.extension_name == "arrow.bool8":
            return pc.not_equal(storage, pa.scalar(0, storage.type))
        return plain_values(storage)
    if pa.types.is_duration(t):
        return duration_text(values)
    if pa.types.is_interval(t):
        return interval_text(values)
    if _is_narrow_decimal(t):
        # the same unscaled integers, unchecked (more bits of room): one past the precision a
        # writer stored is refused by :class:`Values`, naming it, as a decimal128's is
        return values.cast(pa.decimal128(t.precision, t.scale), safe=False)
    if _unknown_zone(t):
        return values.cast(pa.timestamp(t.unit, "UTC"))  # the same instants
    return None


def plain_schema(schema: pa.Schema, metadata: pq.FileMetaData | None = None) -> pa.Schema:
    """``schema`` with every extension type as :func:`plain_type` says, and no field's metadata
    naming an extension (a producer's own extension, which pyarrow reads as its storage type,
    keeps it); with the file's footer (``metadata``), the types pyarrow lost of the file's
    ``ARROW:schema`` restored (:func:`restored_schema`) and an ENUM as text
    (:func:`enum_as_text`)."""
    if metadata is not None:
        schema = spark_intervals(
            timedelta_as_duration(
                enum_as_text(restored_schema(schema, metadata), metadata), metadata
            ),
            metadata,
        )
    return pa.schema([_plain_field(f) for f in schema], schema.metadata)


def plain_batch(
    batch: pa.RecordBatch, schema: pa.Schema, restored: pa.Schema | None = None
) -> pa.RecordBatch:
    """``batch``'s columns as :func:`plain_type` says, in ``schema`` (:func:`plain_schema`),
    each first cast to its type in ``restored`` (:func:`restored_schema`: a duration pyarrow
    read as its count): an ENUM's bytes viewed as text, unchecked (:class:`Values` refuses bytes
    that are not UTF-8, as a string's); a time column ``schema`` does not keep as a time is a
    pandas timedelta (:func:`timedelta_as_duration`: :func:`plain_type` keeps every other
    time); an integer ``schema`` does not keep as an integer (at any depth) is a Spark
    interval's count (:func:`spark_intervals`)."""
    columns = []
    for i, (values, field) in enumerate(zip(batch.columns, schema, strict=True)):
        if restored is not None and not values.type.equals(restored.field(i).type):
            values = values.cast(restored.field(i).type)  # the same values, their type back
        if pa.types.is_time(values.type) and not pa.types.is_time(field.type):
            values = _time_as_duration(values)
        if _counted_intervals(values.type, field.type):
            values = _counts_as_intervals(values, field.type)
        values = plain_values(values)
        if not values.type.equals(field.type) and _only_text_differs(values.type, field.type):
            values = values.view(field.type)  # an ENUM's bytes as text: the same layout
        columns.append(values)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _text_dictionaries(values: pa.Array, name: str) -> Iterator[tuple[str, pa.DictionaryArray]]:
    """The dictionary arrays of text or bytes in ``values``, at any depth (a struct's fields,
    a list's items, a map's keys and values), each named by its path (``n.b``, ``l[]``)."""
    t = values.type
    if isinstance(values, pa.ExtensionArray):
        yield from _text_dictionaries(values.storage, name)
    elif pa.types.is_dictionary(t):
        if pa.types.is_binary(t.value_type) or pa.types.is_string(t.value_type):
            yield name, values
    elif pa.types.is_struct(t):
        for field, child in zip(t, values.flatten(), strict=True):
            yield from _text_dictionaries(child, f"{name}.{field.name}")
    elif pa.types.is_map(t):
        entries = _entries(values).flatten()
        yield from _text_dictionaries(entries.field(0), f"{name}.key")
        yield from _text_dictionaries(entries.field(1), f"{name}.value")
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        yield from _text_dictionaries(values.flatten(), f"{name}[]")


def decoded_too_large(batch: pa.RecordBatch, schema: pa.Schema | None = None) -> str | None:
    """Why a batch read cannot be held, or None: a dictionary of text or bytes, at any depth
    (a column, a struct's field, a list's items, a map's keys or values), whose values, one
    per value it indexes, hold 2 GiB or more (a dictionary keeps one 64 KiB value once;
    decoded, as bronze stores it, each record holds its copy, past one Arrow array), counted
    from the dictionary's value lengths without decoding. The API (413) and the loader
    (``too_large``) refuse such a file, before decoding. *Before:* (until session 13) only a
    top-level dictionary was counted (review finding revl 01). With the file's ``schema``
    (``schema_arrow``), a column it does not hold as a dictionary (read as its dictionary by
    :func:`iter_batches`, decoded a piece at a time by :func:`decoded_pieces`) is not counted."""
    for i, (name, column) in enumerate(zip(batch.schema.names, batch.columns, strict=True)):
        if schema is not None and not _holds_dictionary(schema.field(i).type):
            continue
        for path, values in _text_dictionaries(column, name):
            lengths = pc.binary_length(values.dictionary)
            size = pc.sum(pc.take(lengths, values.indices)).as_py() or 0
            if size >= _ARRAY_BYTES:
                return (
                    f"column {path!r}: {len(values):,} values ({batch.num_rows:,} records, one"
                    f" read of read_batch_rows) hold {size:,} bytes of its dictionary's values"
                    " decoded, more than one Arrow array holds (2 GiB); bronze does not load"
                    " values this large"
                )
    return None


# -- a pandas timedelta written as a time of day (fastparquet) ---------------------------------


def _said_timedelta(column: dict[str, Any]) -> bool:
    """Whether a ``pandas`` metadata column says a timedelta: fastparquet's ``pandas_type``
    ``timedelta64`` (pandas' ``infer_dtype`` word, ``timedelta`` too), or its numpy type."""
    numpy_type = column.get("numpy_type")
    return column.get("pandas_type") in ("timedelta64", "timedelta") or (
        isinstance(numpy_type, str) and numpy_type.startswith("timedelta64")
    )


def _pandas_timedeltas(metadata: pq.FileMetaData) -> frozenset[str]:
    """The columns the file's ``pandas`` metadata (pandas' schema of the frame written) says are
    timedeltas; none when it is absent or not pandas' form."""
    raw = (metadata.metadata or {}).get(b"pandas")
    try:
        columns = json.loads(raw)["columns"] if raw else []
        named = ((c.get("field_name", c.get("name")), c) for c in columns)
        return frozenset(n for n, c in named if isinstance(n, str) and _said_timedelta(c))
    except (ValueError, TypeError, KeyError, AttributeError):  # not pandas' metadata: no word
        return frozenset()


def timedelta_as_duration(schema: pa.Schema, metadata: pq.FileMetaData) -> pa.Schema:
    """``schema`` (pyarrow's of the file) with each top-level time column the file's ``pandas``
    metadata says is a timedelta as a duration of the time's unit: fastparquet writes a pandas
    timedelta as ``INT64`` annotated ``TIME_MICROS`` (and reads it back as a timedelta), so
    pyarrow reads it as a time of day: 90 s as 00:01:30, -1 s or 2 days as no time at all. A
    pyarrow-written timedelta is a duration already; pandas writes no nested timedelta."""
    said = _pandas_timedeltas(metadata)
    if not said:
        return schema
    fields = [
        f.with_type(pa.duration(f.type.unit)) if f.name in said and pa.types.is_time(f.type) else f
        for f in schema
    ]
    return pa.schema(fields, schema.metadata)


def _time_as_duration(values: pa.Array) -> pa.Array:
    """Times as durations of their unit, their counts as read (a time's count is not checked to
    lie within the day)."""
    t = values.type
    counts = values.view(pa.int64() if pa.types.is_time64(t) else pa.int32())
    return counts.cast(pa.int64()).view(pa.duration(t.unit))


# -- Spark's ANSI intervals, written as bare counts ---------------------------------------------

#: The key Spark keeps its own schema of the rows in (a JSON ``StructType``).
SPARK_ROW_KEY = b"org.apache.spark.sql.parquet.row.metadata"

#: The first unit of a Spark ANSI interval type's name (``interval year to month``, ``interval
#: day to second``, ``interval hour``, ...): its kind, and the Parquet type Spark writes it as
#: (``ParquetWriteSupport``: a year-month interval's months as ``INT32``, a day-time interval's
#: microseconds as ``INT64``, neither annotated).
_SPARK_INTERVAL_UNITS = {
    "year": "months",
    "month": "months",
    "day": "microseconds",
    "hour": "microseconds",
    "minute": "microseconds",
    "second": "microseconds",
}


def _spark_interval(t: object) -> str | None:
    """The count (``months``, ``microseconds``) a Spark type of the row metadata is written as
    when it is an ANSI interval, or None."""
    if not isinstance(t, str) or not t.startswith("interval "):
        return None
    return _SPARK_INTERVAL_UNITS.get(t.split(" ")[1])


def _spark_fields(metadata: pq.FileMetaData) -> list[dict[str, Any]]:
    """The top-level fields of the file's Spark row metadata (none when it is absent or not
    Spark's form)."""
    raw = (metadata.metadata or {}).get(SPARK_ROW_KEY)
    try:
        fields = json.loads(raw)["fields"] if raw else []
        return [f for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str)]
    except (ValueError, TypeError, KeyError):  # not Spark's metadata: no word
        return []


def spark_intervals(schema: pa.Schema, metadata: pq.FileMetaData) -> pa.Schema:
    """``schema`` (pyarrow's of the file) with each column, or a struct's field, a list's items
    or a map's keys or values at any depth, that the file's Spark row metadata says is an ANSI
    interval as that interval: Spark (3.2 on) writes ``INTERVAL YEAR TO MONTH`` (and ``YEAR``,
    ``MONTH``) as its months in a bare ``INT32`` and ``INTERVAL DAY TO SECOND`` (and its other
    units) as its microseconds in a bare ``INT64``, so pyarrow and DuckDB read the counts as
    plain integers (1 year 2 months as 14, 90 s as 90000000). A year-month interval becomes a
    month-day-nanosecond interval, a day-time one a duration of microseconds
    (:func:`plain_type`: their exact text)."""
    said = {f["name"]: f.get("type") for f in _spark_fields(metadata)}
    if not any(_spark_holds_interval(t) for t in said.values()):
        return schema
    fields = [f.with_type(_spark_type(f.type, said.get(f.name))) for f in schema]
    return pa.schema(fields, schema.metadata)


def _spark_holds_interval(spark: object) -> bool:
    """Whether a Spark type of the row metadata is, or holds at any depth, an ANSI interval."""
    if _spark_interval(spark) is not None:
        return True
    if not isinstance(spark, dict):
        return False
    inner = [f.get("type") for f in spark.get("fields", []) if isinstance(f, dict)]
    inner += [spark.get("elementType"), spark.get("keyType"), spark.get("valueType")]
    return any(_spark_holds_interval(t) for t in inner)


def _spark_type(t: pa.DataType, spark: object) -> pa.DataType:
    """``t`` (pyarrow's type of a column or part of one) with the ANSI intervals its Spark type
    ``spark`` says it holds as intervals (:func:`spark_intervals`); ``t`` where the two do
    not line up."""
    unit = _spark_interval(spark)
    if unit == "months" and pa.types.is_int32(t):
        return pa.month_day_nano_interval()
    if unit == "microseconds" and pa.types.is_int64(t):
        return pa.duration("us")
    if not isinstance(spark, dict):
        return t
    kind = spark.get("type")
    if kind == "struct" and pa.types.is_struct(t):
        said = {
            f.get("name"): f.get("type") for f in spark.get("fields", []) if isinstance(f, dict)
        }
        return pa.struct([f.with_type(_spark_type(f.type, said.get(f.name))) for f in _fields(t)])
    if kind == "array" and (pa.types.is_list(t) or pa.types.is_large_list(t)):
        item = t.value_field.with_type(_spark_type(t.value_type, spark.get("elementType")))
        return pa.large_list(item) if pa.types.is_large_list(t) else pa.list_(item)
    if kind == "map" and pa.types.is_map(t):
        key = t.key_field.with_type(_spark_type(t.key_type, spark.get("keyType")))
        item = t.item_field.with_type(_spark_type(t.item_type, spark.get("valueType")))
        return pa.map_(key, item, t.keys_sorted)
    return t


def _counted_intervals(t: pa.DataType, target: pa.DataType) -> bool:
    """Whether values of type ``t`` hold, at any depth, an integer where ``target`` (their
    :func:`plain_schema` type) holds text: a Spark interval's count (:func:`spark_intervals`;
    no other integer is read as text)."""
    if pa.types.is_integer(t):
        return bool(pa.types.is_string(target))
    if pa.types.is_struct(t) and pa.types.is_struct(target) and t.num_fields == target.num_fields:
        pairs = zip(_fields(t), _fields(target), strict=True)
        return any(_counted_intervals(a.type, b.type) for a, b in pairs)
    if pa.types.is_map(t) and pa.types.is_map(target):
        return _counted_intervals(t.key_type, target.key_type) or _counted_intervals(
            t.item_type, target.item_type
        )
    if _list_like(t) and _list_like(target):
        return _counted_intervals(t.value_type, target.value_type)
    return False


def _counts_as_intervals(values: pa.Array, target: pa.DataType) -> pa.Array:
    """``values`` with each integer where ``target`` holds text (:func:`_counted_intervals`),
    at any depth, as its interval (:func:`_count_as_interval`)."""
    t = values.type
    if not _counted_intervals(t, target):
        return values
    if pa.types.is_integer(t):
        return _count_as_interval(values)
    if values.offset:  # a slice: its own copy, so that its children line up with it
        values = pa.concat_arrays([values])
    mask = values.is_null() if values.null_count else None
    if pa.types.is_struct(t):
        children = [
            _counts_as_intervals(values.field(i), target.field(i).type) for i in range(t.num_fields)
        ]
        fields = [t.field(i).with_type(c.type) for i, c in enumerate(children)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=mask)
    if pa.types.is_map(t):
        keys = _counts_as_intervals(values.keys, target.key_type)
        items = _counts_as_intervals(values.items, target.item_type)
        typ = pa.map_(
            t.key_field.with_type(keys.type), t.item_field.with_type(items.type), t.keys_sorted
        )
        return pa.MapArray.from_arrays(values.offsets, keys, items, typ, mask=mask)
    inner = _counts_as_intervals(values.values, target.value_type)
    field = t.value_field.with_type(inner.type)
    if pa.types.is_large_list(t):
        return pa.LargeListArray.from_arrays(values.offsets, inner, pa.large_list(field), mask=mask)
    return pa.ListArray.from_arrays(values.offsets, inner, pa.list_(field), mask=mask)


def _count_as_interval(values: pa.Array) -> pa.Array:
    """A Spark interval's counts (:func:`spark_intervals`) as that interval: ``INT32`` months
    as the text :func:`interval_text` gives a month-day-nanosecond interval (14 as ``14 months
    0 days 0.000000000 seconds``), ``INT64`` microseconds as a duration."""
    if pa.types.is_int64(values.type):
        return values.view(pa.duration("us"))
    months = pc.cast(values, pa.string())
    return pc.binary_join_element_wise(months, " months 0 days 0.000000000 seconds", "")


# -- what pyarrow loses of a file's ARROW:schema -----------------------------------------------


def _written_schema(metadata: pq.FileMetaData) -> pa.Schema | None:
    """The Arrow schema the file's writer kept in its ``ARROW:schema`` key (None: none, or one
    pyarrow does not read)."""
    written = (metadata.metadata or {}).get(ARROW_SCHEMA_KEY.encode())
    if written is None:
        return None
    try:
        return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(written)))
    except (ValueError, pa.ArrowException):
        return None


def _list_like(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    )


def _restored_type(read: pa.DataType, written: pa.DataType) -> pa.DataType:
    """``read`` (pyarrow's type of a column) with what pyarrow lost of the type the writer
    kept (``written``), at any depth: a dictionary of durations is read as its ``int64``
    counts (90 s and 90 ms alike), one of timestamps with a zone in UTC; such a value is read
    as its plain type's."""
    if pa.types.is_dictionary(written):
        values = written.value_type
        if pa.types.is_dictionary(read):
            return read
        if pa.types.is_duration(values) and pa.types.is_int64(read):
            return values
        if pa.types.is_timestamp(values) and values.tz and pa.types.is_timestamp(read):
            return pa.timestamp(read.unit, values.tz)
        return read
    if pa.types.is_struct(read) and pa.types.is_struct(written):
        if [f.name for f in _fields(read)] != [f.name for f in _fields(written)]:
            return read
        pairs = zip(_fields(read), _fields(written), strict=True)
        return pa.struct([r.with_type(_restored_type(r.type, w.type)) for r, w in pairs])
    if pa.types.is_map(read) and pa.types.is_map(written):
        key = read.key_field.with_type(_restored_type(read.key_type, written.key_type))
        item = read.item_field.with_type(_restored_type(read.item_type, written.item_type))
        return pa.map_(key, item, read.keys_sorted)
    if _list_like(read) and _list_like(written):
        field = read.value_field.with_type(_restored_type(read.value_type, written.value_type))
        if pa.types.is_fixed_size_list(read):
            return pa.list_(field, read.list_size)
        if pa.types.is_large_list(read):
            return pa.large_list(field)
        if pa.types.is_list(read):
            return pa.list_(field)
    return read


def restored_schema(schema: pa.Schema, metadata: pq.FileMetaData) -> pa.Schema:
    """pyarrow's ``schema`` of a file with the types it lost of the file's ``ARROW:schema``
    restored (:func:`_restored_type`: a dictionary of durations, read as their counts, as
    durations); ``schema`` itself when nothing was lost (or its columns are not the written
    ones). :func:`plain_batch` casts a batch's columns to it."""
    written = _written_schema(metadata)
    if written is None or written.names != schema.names:
        return schema
    fields = [
        f.with_type(_restored_type(f.type, w.type)) for f, w in zip(schema, written, strict=True)
    ]
    restored = pa.schema(fields, schema.metadata)
    return schema if restored.equals(schema) else restored


# -- ENUM: text by the Parquet spec -----------------------------------------------------------

_AS_TEXT = {
    pa.binary(): pa.string(),
    pa.large_binary(): pa.large_string(),
    pa.binary_view(): pa.string_view(),
}


def enum_as_text(schema: pa.Schema, metadata: pq.FileMetaData) -> pa.Schema:
    """``schema`` (pyarrow's of the file) with each column of Parquet logical type ENUM, at any
    depth, as text: pyarrow reads an ENUM as bytes (only STRING as text), where the Parquet
    spec says an ENUM is a UTF-8 string to a reader without enums (parquet-mr's Avro, Thrift
    and Protobuf writers write their enums so). The file's leaf columns are the Arrow schema's
    leaves in the same order; a schema whose leaves do not line up is left as it is."""
    columns = metadata.schema
    enums = {
        i
        for i in range(len(columns))
        if columns.column(i).converted_type == "ENUM"
        and columns.column(i).physical_type == "BYTE_ARRAY"
    }
    if not enums:
        return schema
    at = [0]
    fields = [f.with_type(_enum_text_type(f.type, enums, at)) for f in schema]
    if at[0] != len(columns):
        return schema
    return pa.schema(fields, schema.metadata)


class _Every:
    def __contains__(self, leaf: object) -> bool:
        return True


def _only_text_differs(t: pa.DataType, target: pa.DataType) -> bool:
    """Whether ``t`` and ``target`` differ only by bytes in one where the other has text."""
    every = _Every()
    return bool(_enum_text_type(t, every, [0]).equals(_enum_text_type(target, every, [0])))


def _enum_text_type(t: pa.DataType, enums: Container[int], at: list[int]) -> pa.DataType:
    """``t`` with its leaves whose Parquet column (``at[0]`` onwards, counted) is in ``enums``
    as text."""
    if isinstance(t, pa.BaseExtensionType):
        _enum_text_type(t.storage_type, set(), at)  # counted, kept
        return t
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_enum_text_type(f.type, enums, at)) for f in _fields(t)])
    if pa.types.is_map(t):
        key = t.key_field.with_type(_enum_text_type(t.key_type, enums, at))
        item = t.item_field.with_type(_enum_text_type(t.item_type, enums, at))
        return pa.map_(key, item, t.keys_sorted)
    if pa.types.is_fixed_size_list(t):
        return pa.list_(
            t.value_field.with_type(_enum_text_type(t.value_type, enums, at)), t.list_size
        )
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_enum_text_type(t.value_type, enums, at)))
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_enum_text_type(t.value_type, enums, at)))
    leaf = at[0]
    at[0] += 1
    if leaf not in enums:
        return t
    if pa.types.is_dictionary(t) and t.value_type in _AS_TEXT:
        return pa.dictionary(t.index_type, _AS_TEXT[t.value_type], t.ordered)
    return _AS_TEXT.get(t, t)


def plain_values(values: pa.Array) -> pa.Array:
    """``values`` as :func:`plain_type` says."""
    t = values.type
    if not _to_plain(t):
        return values
    leaf = _plain_leaf_values(values)
    if leaf is not None:
        return leaf
    if pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return plain_values(_as_list(values))
    if values.offset:  # a slice: its own copy, so that its children line up with it
        values = pa.concat_arrays([values])
    mask = values.is_null() if values.null_count else None
    if pa.types.is_struct(t):
        children = [plain_values(values.field(i)) for i in range(t.num_fields)]
        fields = [_bare_field(t.field(i)) for i in range(t.num_fields)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=mask)
    if pa.types.is_map(t) and null_keys(t):
        return _null_keyed_values(values, mask)
    if pa.types.is_map(t):
        offsets = values.offsets
        keys = plain_values(values.keys)
        items = plain_values(values.items)
        return pa.MapArray.from_arrays(offsets, keys, items, plain_type(t), mask=mask)
    if pa.types.is_fixed_size_list(t):
        size = t.list_size
        inner = values.values.slice(values.offset * size, len(values) * size)
        return pa.FixedSizeListArray.from_arrays(plain_values(inner), type=plain_type(t), mask=mask)
    if pa.types.is_large_list(t):
        return pa.LargeListArray.from_arrays(
            values.offsets, plain_values(values.values), plain_type(t), mask=mask
        )
    if pa.types.is_list(t):
        return pa.ListArray.from_arrays(
            values.offsets, plain_values(values.values), plain_type(t), mask=mask
        )
    if pa.types.is_dictionary(t):
        return plain_values(values.dictionary_decode())
    raise pa.ArrowNotImplementedError(f"an extension type inside {t}")


def _null_keyed_values(values: pa.Array, mask: pa.Array | None) -> pa.Array:
    """A map array whose keys are of type null (not a slice) as :func:`plain_type` says: each
    value an empty map of ``string`` keys, or null, as it was. Its keys and items are never
    looked at but for how many there are (a view of them may abort the process:
    :func:`null_keyed_map`); a map holding an entry (a key that is null) raises
    ``ArrowInvalid``: the file does not parse."""
    offsets = values.offsets
    entries = offsets[len(offsets) - 1].as_py() - offsets[0].as_py() if len(offsets) else 0
    if entries:
        raise pa.ArrowInvalid(
            f"a map whose keys are of type null holds {entries} entries: a map's key is never null"
        )
    t = plain_type(values.type)
    no_keys = pa.array([], t.key_type)
    no_items = pa.nulls(0, t.item_type) if pa.types.is_null(t.item_type) else None
    if no_items is None:
        no_items = plain_values(values.items.slice(0, 0))
    empty = pa.repeat(pa.scalar(0, pa.int32()), len(values) + 1)
    return pa.MapArray.from_arrays(empty, no_keys, no_items, t, mask=mask)


def _as_list(values: pa.Array) -> pa.Array:
    """A list view's values as a list (Arrow's cast gives an offsets buffer one short)."""
    large = pa.types.is_large_list_view(values.type)
    width = pa.int64() if large else pa.int32()
    lengths = pc.fill_null(pc.list_value_length(values), 0)
    offsets = pa.concat_arrays([pa.array([0], width), pc.cumulative_sum(lengths).cast(width)])
    kind = pa.LargeListArray if large else pa.ListArray
    field = values.type.value_field
    typ = pa.large_list(field) if large else pa.list_(field)
    mask = values.is_null() if values.null_count else None
    return kind.from_arrays(offsets, pc.list_flatten(values), typ, mask=mask)


def _uuid_text(storage: pa.Array) -> pa.Array:
    """16-byte UUIDs as their canonical text, lower-case
    (``00000000-0000-0000-0000-000000000001``)."""
    n = len(storage)
    data = storage.buffers()[1]
    hexed = "" if data is None else data.to_pybytes()[storage.offset * 16 :][: n * 16].hex()
    digits = pa.Array.from_buffers(pa.binary(32), n, [None, pa.py_buffer(hexed.encode())])
    digits = digits.cast(pa.string())
    parts = [pc.utf8_slice_codeunits(digits, a, b) for a, b in _UUID_PARTS]
    text = pc.binary_join_element_wise(*parts, "-")
    if storage.null_count:
        text = pc.if_else(storage.is_valid(), text, pa.scalar(None, pa.string()))
    return text


# -- values bronze cannot hold -------------------------------------------------------------------


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a date of the proleptic Gregorian calendar (any year, also
    those Python's ``datetime`` cannot hold)."""
    year -= month <= 2
    era = year // 400
    of_era = year - era * 400
    of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146_097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719_468


def _civil(days: int) -> tuple[int, int, int]:
    """The (year, month, day) ``days`` after 1970-01-01 (the inverse of days_from_civil)."""
    days += 719_468
    era = days // 146_097
    of_era = days - era * 146_097
    year_of_era = (of_era - of_era // 1460 + of_era // 36_524 - of_era // 146_096) // 365
    of_year = of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * of_year + 2) // 153
    day = of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + (3 if month_index < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day


#: The first and last day bronze holds: those deltalake's Python reader (``to_pyarrow_dataset``,
#: dbt's read of bronze) parses a data file's date statistics as (``datetime.date``: a table
#: holding another date cannot be read). delta-rs's writer takes -262143-01-01 to 262142-12-31
#: (past them it panics, "NaiveDate + TimeDelta overflowed", and the file is never written).
FIRST_DAY = days_from_civil(1, 1, 1)
LAST_DAY = days_from_civil(9_999, 12, 31)
#: The first and last timestamp bronze holds, in microseconds since 1970 (Delta's unit): the
#: instants of the days it holds, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z. A file
#: statistic past them is no bound to deltalake (delta-rs writes ``+10000-01-01T...``, read as
#: none), so its Arrow dataset (dbt's read of bronze) skipped the whole file for any filter on
#: the column; and Python's ``datetime`` holds no other.
FIRST_MICROSECOND = FIRST_DAY * 86_400_000_000
LAST_MICROSECOND = (LAST_DAY + 1) * 86_400_000_000 - 1
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


#: The first day of the Gregorian calendar, 1582-10-15: before it, the hybrid Julian calendar
#: of the JVM's legacy date classes (Hive before 3.1, Spark 2, Spark 3 in its LEGACY mode) names
#: other days than the proleptic Gregorian calendar bronze keeps (10 days apart in 1582).
GREGORIAN_DAY = days_from_civil(1582, 10, 15)

#: Spark's bound for timestamps (``spark.sql.parquet.datetimeRebaseModeInWrite``: "dates before
#: 1582-10-15 or timestamps before 1900-01-01T00:00:00Z"): before it, the JVM's legacy calendar
#: takes a time zone's offsets otherwise than the tz database (Local Mean Time: Los Angeles
#: -07:52:58 in 1850, not -08:00), so a timestamp a legacy writer wrote in a zone other than UTC
#: is minutes away from the instant meant.
LEGACY_ZONE_DAY = days_from_civil(1900, 1, 1)

#: Zone names with no offset before 1900 either (``org.apache.spark.timeZone``): a LEGACY
#: writer's timestamp from 1582-10-15 on is then the instant meant.
_UTC_ZONES = frozenset(
    {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT", "Z", "Zulu", "Etc/Zulu", "Universal"}
    | {"Etc/Universal", "GMT0", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "Greenwich"}
)


def _spark_version(version: str) -> tuple[int, int]:
    major, minor, *_ = [*(int(p) if p.isdigit() else 0 for p in version.split(".")[:2]), 0, 0]
    return major, minor


def _int96_columns(metadata: pq.FileMetaData) -> frozenset[str]:
    """The top-level columns holding an INT96 leaf (at any depth)."""
    return _columns_holding(metadata, lambda c: c.physical_type == "INT96")


def _rebased_datetime(c: pq.ColumnSchema) -> bool:
    """A leaf Spark's ``datetimeRebaseModeInWrite`` rebases: a DATE, or a TIMESTAMP (MILLIS,
    MICROS) adjusted to UTC, not INT96; never a TIMESTAMP_NTZ (``isAdjustedToUTC`` false),
    whose long Spark writes as it is."""
    if c.physical_type == "INT96":
        return False
    logical = c.logical_type
    if logical.type == "DATE":
        return True
    if logical.type == "TIMESTAMP":
        return bool(json.loads(logical.to_json()).get("isAdjustedToUTC", True))
    return c.converted_type in ("DATE", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS")


def _columns_holding(
    metadata: pq.FileMetaData, leaf: Callable[[pq.ColumnSchema], bool]
) -> frozenset[str]:
    """The top-level columns holding a leaf ``leaf`` says (at any depth). A leaf's path joins
    names with dots, so a column is named by each top-level name its path starts with (a column
    ``a.b`` beside ``a``: both, refusing more rather than less)."""
    schema = metadata.schema
    paths = [schema.column(i).path for i in range(len(schema)) if leaf(schema.column(i))]
    names = schema.to_arrow_schema().names if paths else []
    return frozenset(n for n in names for p in paths if p == n or p.startswith(n + "."))


class Hybrid(NamedTuple):
    """A writer that may have written dates and timestamps before 1582-10-15 in the hybrid
    Julian calendar (:func:`hybrid_writer`), and the top-level columns it may have written so
    (None: every column)."""

    writer: str
    columns: frozenset[str] | None = None
    zone: str | None = None  # ``org.apache.spark.timeZone``, the zone its timestamps went through

    @property
    def zoned(self) -> bool:
        """Its timestamps before 1900-01-01T00:00:00Z may be minutes off too (a zone not UTC,
        or none named: Spark before 3.1, Hive and other parquet-mr writers)."""
        return self.zone not in _UTC_ZONES

    def holds(self, column: str) -> bool:
        return self.columns is None or column in self.columns


def hybrid_writer(metadata: pq.FileMetaData) -> Hybrid | None:
    """The writer of a Parquet file that may have written dates and timestamps before
    1582-10-15 in the hybrid Julian calendar (and the columns it may have written so), or None
    for one known to use the proleptic Gregorian calendar. Known so: a file carrying Arrow's
    schema (pyarrow, arrow-rs and the writers on them), Spark 3 or later not in its LEGACY
    mode, Hive with ``writer.date.proleptic``, Trino's writer (``parquet-mr-trino``),
    Iceberg's (an ``iceberg.schema`` key), and every writer not on parquet-mr (C++, Rust, Go,
    Python, DuckDB). Not known: Spark before 3, Spark in LEGACY mode
    (``org.apache.spark.legacyDateTime``, ``org.apache.spark.legacyINT96``), Hive before 3.1,
    and any other parquet-mr writer. Spark 3.0 not in LEGACY mode: its INT96 columns only.
    Spark 3.1 on in LEGACY mode: ``legacyINT96``'s INT96 columns and ``legacyDateTime``'s DATE
    and TIMESTAMP (adjusted to UTC) columns only (:func:`_rebased_datetime`).
    Spark 3.0 always wrote INT96 in the hybrid calendar (``int96RebaseModeInWrite`` and the
    ``legacyINT96`` key came in 3.1, SPARK-33160; the 3.1 migration guide: "In Spark 3.0, the
    actions don't fail but might lead to shifting of the input timestamps"), while its DATE
    and TIMESTAMP_MICROS/MILLIS followed ``datetimeRebaseModeInWrite`` (EXCEPTION by default,
    proleptic when CORRECTED), marked by the ``legacyDateTime`` key when LEGACY (SPARK-31361;
    SPARK-33571: those configs "don't impact on INT96 in Spark 3.0")."""
    kv = {
        k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
        for k, v in (metadata.metadata or {}).items()
    }
    created = metadata.created_by or ""
    if "ARROW:schema" in kv:
        return None
    spark = kv.get("org.apache.spark.version")
    zone = kv.get("org.apache.spark.timeZone")
    if spark is not None:
        int96_key = "org.apache.spark.legacyINT96" in kv
        datetime_key = "org.apache.spark.legacyDateTime" in kv
        legacy = int96_key or datetime_key
        version = _spark_version(spark)
        if version < (3, 0) or (legacy and version < (3, 1)):
            return Hybrid(f"Spark {spark}" + (" in its LEGACY mode" if legacy else ""), None, zone)
        if legacy:
            # Spark 3.1 on: each key for its own kind of column (its reader's int96RebaseSpec
            # and datetimeRebaseSpec); a TIMESTAMP_NTZ is never rebased
            columns = (_int96_columns(metadata) if int96_key else frozenset()) | (
                _columns_holding(metadata, _rebased_datetime) if datetime_key else frozenset()
            )
            if not columns:
                return None
            return Hybrid(f"Spark {spark} in its LEGACY mode", columns, zone)
        int96 = _int96_columns(metadata) if _spark_version(spark) < (3, 1) else frozenset()
        if int96:
            return Hybrid(
                f"Spark {spark}, INT96 written in the hybrid calendar before Spark 3.1", int96, zone
            )
        return None
    if kv.get("writer.date.proleptic", "").lower() == "true":
        return None
    if created.startswith("parquet-mr-trino") or "iceberg.schema" in kv:
        return None  # Trino's own writer and Iceberg's: java.time days, by their specs
    hive = kv.get("writer.model.name")
    if created.lower().startswith("parquet-mr") or hive is not None or "writer.time.zone" in kv:
        return Hybrid(created + (f", writer model {hive}" if hive else "") or "a Hive writer")
    return None


def _gregorian(t: pa.DataType) -> int:
    """1582-10-15 as the stored integer of a date or timestamp type."""
    if pa.types.is_date32(t):
        return GREGORIAN_DAY
    unit = "ms" if pa.types.is_date64(t) else t.unit
    return GREGORIAN_DAY * 86_400 * _PER_SECOND[unit]


def _before_gregorian(
    ints: pa.Array, t: pa.DataType, row_of: RowOf, name: str, hybrid: Hybrid
) -> Refusal | None:
    writer = hybrid.writer
    first = _gregorian(t)
    if pa.types.is_timestamp(t) and hybrid.zoned:
        first = LEGACY_ZONE_DAY * 86_400 * _PER_SECOND[t.unit]
    low = pc.min(ints).as_py()
    if low is None or low >= first:
        return None
    at = int(pc.index(pc.less(ints, first), True).as_py())
    value = _text(ints[at].as_py(), t)
    if ints[at].as_py() >= _gregorian(t):
        zone = f"its time zone, {hybrid.zone}" if hybrid.zone else "a time zone it does not name"
        why = (
            f"{value} is before 1900-01-01T00:00:00Z, and the file's writer ({writer}) may have"
            f" written it through the JVM's legacy calendar in {zone}, whose offsets before"
            " 1900 are not the tz database's (Local Mean Time: minutes apart), as Spark's own"
            " bound for such timestamps says: refused rather than guessed"
        )
        return Refusal(name, row_of(at), value, why)
    why = (
        f"{value} is before 1582-10-15, and the file's writer ({writer}) may have written it in"
        " the hybrid Julian calendar, where it names another day than in the proleptic Gregorian"
        " calendar bronze keeps (10 days apart in 1582): refused rather than guessed"
    )
    return Refusal(name, row_of(at), value, why)


def _bounds(t: pa.DataType) -> tuple[int, int] | None:
    """The least and greatest stored integer of a date or timestamp type bronze holds; None
    for a type every value of which it holds (nanoseconds: about 1677 to 2262)."""
    if pa.types.is_date32(t):
        return FIRST_DAY, LAST_DAY
    if pa.types.is_date64(t):
        return FIRST_DAY * 86_400_000, (LAST_DAY + 1) * 86_400_000 - 1
    if not pa.types.is_timestamp(t) or t.unit == "ns":
        return None
    per = 1_000_000 // _PER_SECOND[t.unit]  # microseconds per unit
    return -(-FIRST_MICROSECOND // per), LAST_MICROSECOND // per


def _text(value: int, t: pa.DataType) -> str:
    """A date or timestamp's stored integer as text (ISO 8601; any year)."""
    if pa.types.is_date32(t):
        days, rest, per_second = value, 0, 1
    else:
        unit = "ms" if pa.types.is_date64(t) else t.unit
        per_second = _PER_SECOND[unit]
        days, rest = divmod(value, 86_400 * per_second)
    year, month, day = _civil(days)
    text = (
        f"{year:04d}-{month:02d}-{day:02d}" if year >= 0 else f"-{-year:04d}-{month:02d}-{day:02d}"
    )
    if pa.types.is_date32(t):
        return text
    seconds, fraction = divmod(rest, per_second)
    hours, seconds = divmod(seconds, 3600)
    clock = f"T{hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}"
    if per_second > 1:
        clock += f".{fraction:0{len(str(per_second)) - 1}d}"
    return text + clock


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _checked(t: pa.DataType) -> bool:
    """Whether values of this type (at any depth) are looked at (:class:`Values`)."""
    if _bounds(t) is not None or (pa.types.is_timestamp(t) and t.unit == "ns") or _is_text(t):
        return True
    return (
        pa.types.is_time(t)
        or pa.types.is_decimal(t)
        or pa.types.is_map(t)
        or any(_checked(child) for _, child in _children(t))
    )


RowOf = Callable[[int], int]


def _leaves(values: pa.Array, row_of: RowOf) -> Iterator[tuple[pa.Array, RowOf]]:
    """The date, timestamp, time, decimal and text arrays in ``values`` (its nested arrays
    flattened), each with the row of ``values`` a value of it is in."""
    t = values.type
    if (
        pa.types.is_timestamp(t)
        or pa.types.is_date(t)
        or pa.types.is_time(t)
        or pa.types.is_decimal(t)
        or _is_text(t)
    ):
        yield values, row_of
    elif isinstance(values, pa.ExtensionArray):
        yield from _leaves(values.storage, row_of)
    elif isinstance(values, pa.DictionaryArray):
        if _is_text(t.value_type) and _utf8(values.dictionary):
            return  # every text the indices can point at is UTF-8: nothing to decode
        if _checked(t.value_type):
            yield from _leaves(values.dictionary_decode(), row_of)
    elif isinstance(values, pa.StructArray):
        for child in values.flatten():  # a null struct's fields are null
            if _checked(child.type):
                yield from _leaves(child, row_of)
    elif pa.types.is_map(t):  # laid out as a list of struct<key, value>
        yield values, row_of  # its keys are looked at too (:func:`_map_refusal`)
        yield from _leaves(_entries(values), row_of)
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):

        def parent(i: int, lists: pa.Array = values) -> int:
            return row_of(int(pc.list_parent_indices(lists)[i].as_py()))

        yield from _leaves(values.flatten(), parent)


@dataclass(frozen=True)
class Refusal:
    """A value of a Parquet file the landing dialect refuses (see the module's docstring)."""

    column: str
    row: int  # the record (0-based) of the batch, or of the file
    value: str
    why: str
    kind: Literal["type_conflict", "encoding"] = "type_conflict"  # the loader's refusal kind

    @property
    def reason(self) -> str:
        return f"record {self.row + 1}, column {self.column!r}: {self.why}"

    def moved(self, rows: int) -> Refusal:
        """The same, ``rows`` records later (the row in the file of a batch's refusal)."""
        return Refusal(self.column, self.row + rows, self.value, self.why, self.kind)


def _beyond(what: str, value: str, t: pa.DataType) -> str:
    if pa.types.is_date(t):
        return (
            f"a date, {value}, is beyond those bronze holds ({_text(FIRST_DAY, pa.date32())} to "
            f"{_text(LAST_DAY, pa.date32())}: deltalake reads a file's date statistics as "
            "Python dates)"
        )
    us = pa.timestamp("us")
    return (
        f"{what}, {value}, is beyond the instants bronze holds ({_text(FIRST_MICROSECOND, us)}Z"
        f" to {_text(LAST_MICROSECOND, us)}Z: deltalake reads a file's timestamp statistics"
        " past them as no bound, and skips the file for any filter on the column)"
    )


def _utf8(texts: pa.Array) -> bool:
    """Whether every value of a string array is UTF-8 (Arrow's full validation: a Parquet
    reader hands a string column's bytes over unchecked)."""
    try:
        texts.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _text_refusal(leaf: pa.Array, row_of: RowOf, name: str) -> Refusal | None:
    """The first value of a string leaf whose bytes are not UTF-8, or None. Bronze cannot hold
    it as text (DuckDB, and so the build, refuses to read a table holding one), and a string
    column's type says text: the file is refused, the bytes named in base64."""
    if _utf8(leaf):
        return None
    t = leaf.type
    raw = {pa.string(): pa.binary(), pa.large_string(): pa.large_binary()}.get(t, pa.binary_view())
    for at, value in enumerate(leaf.view(raw).to_pylist()):
        if value is None:
            continue
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as exc:
            shown = base64.b64encode(value).decode("ascii")
            why = (
                f"a string holds bytes that are not UTF-8 ({exc.reason} at byte {exc.start}; "
                f"the value in base64: {shown}): Parquet's strings are UTF-8, and no reader "
                "of bronze can read such a text"
            )
            return Refusal(name, row_of(at), shown, why, "encoding")
    return None


def _entries(values: pa.Array) -> pa.Array:
    """A map array as the list of struct<key, value> it is laid out as."""
    t = values.type
    if null_keyed_map(t):  # a field of a view of it aborts the process (:func:`null_keyed_map`)
        return built_entries(values)
    entries = pa.struct([t.key_field, t.item_field])
    return values.view(pa.list_(pa.field("entries", entries, False)))


def built_entries(values: pa.Array) -> pa.Array:
    """:func:`_entries` built from the map's parts (its entries sliced, its offsets from 0), not
    a view: the same list, which Arrow can look into where ``values`` holds a map of null keys."""
    t = values.type
    entries = pa.struct([t.key_field, t.item_field])
    listed = pa.list_(pa.field("entries", entries, False))
    offsets = values.offsets
    first, end = (offsets[0].as_py(), offsets[len(offsets) - 1].as_py()) if len(offsets) else (0, 0)
    keys, items = values.keys.slice(first, end - first), values.items.slice(first, end - first)
    parts = pa.StructArray.from_arrays([keys, items], fields=list(entries))
    mask = values.is_null() if values.null_count else None
    starts = pc.subtract(offsets, pa.scalar(first, pa.int32())) if len(offsets) else [0]
    return pa.ListArray.from_arrays(starts, parts, listed, mask=mask)


def _no_negative_zero(value: Any) -> Any:
    """A nested key's Python value with -0.0 as 0.0 (equal to every reader), at any depth."""
    if isinstance(value, float) and value == 0:
        return 0.0
    if isinstance(value, dict):
        return {k: _no_negative_zero(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_negative_zero(v) for v in value]
    return value


def _map_refusal(values: pa.Array, row_of: RowOf, name: str) -> Refusal | None:
    """The first map of a map array that repeats a key, or None. Parquet says a map's keys are
    unique, but no writer checks it, and DuckDB (so the build) refuses to read a bronze table
    holding one at all ("Map keys must be unique"): the file is refused, as a JSON object
    repeating a key is."""
    lists = _entries(values)
    keys = lists.flatten().field(0)
    if len(keys) < 2:
        return None
    if pa.types.is_float16(keys.type):  # no add/is_nan kernel for half floats: as float32,
        keys = keys.cast(pa.float32())  # exact (every half float is one), for the check only
    if pa.types.is_floating(keys.type):  # -0.0 is 0.0 to a reader (Arrow groups by bits)
        keys = pc.add(keys, pa.scalar(0.0, keys.type))
        # every NaN (-NaN, any payload) is one key to DuckDB and Spark: one NaN's bits for all
        keys = pc.if_else(pc.is_nan(keys), pa.scalar(float("nan"), keys.type), keys)
    pairs = pa.table({"map": pc.list_parent_indices(lists), "key": keys})
    try:
        counted = pairs.group_by(["map", "key"], use_threads=False).aggregate([([], "count_all")])
    except pa.ArrowNotImplementedError:  # keys Arrow cannot group (nested): as their text
        texts = [
            json.dumps(_no_negative_zero(k), sort_keys=True, default=str) for k in keys.to_pylist()
        ]
        pairs = pa.table({"map": pairs.column("map"), "key": texts})
        counted = pairs.group_by(["map", "key"], use_threads=False).aggregate([([], "count_all")])
    if counted.num_rows == len(keys):
        return None
    repeated = counted.filter(pc.greater(counted.column("count_all"), 1)).sort_by("map")
    at = int(repeated.column("map")[0].as_py())
    # the map's first key met again, by its place among the keys (its text names it)
    where = pc.indices_nonzero(pc.equal(pairs.column("map"), at))
    own = pairs.take(where).append_column("at", where)
    firsts = own.group_by("key", use_threads=False).aggregate([([], "count_all"), ("at", "min")])
    again = firsts.filter(pc.greater(firsts.column("count_all"), 1)).column("at_min")
    shown, value = _key_text(keys.slice(pc.min(again).as_py(), 1))
    why = (
        f"a map repeats the key {shown}: a Parquet map's keys are unique, and no reader of "
        "bronze can read a map that repeats one"
    )
    return Refusal(name, row_of(at), value, why)


def _key_text(key: pa.Array) -> tuple[str, str]:
    """A map's key (an array of one) as a refusal names it, and its text: a string quoted
    (``'k'``), bytes their UTF-8 text quoted or, not UTF-8, in base64 (``of bytes that are not
    UTF-8 (base64 /w==)``), a nested key its JSON text, any other its text as Arrow prints it
    (``1970-01-02``, ``1.00``, ``nan``), as every other Parquet refusal names a value."""
    t = key.type
    if is_bytes(t):
        texts, bad = _bytes_texts(key)
        if bad[0].as_py():
            encoded = rescued_bytes(key[0].as_py())
            return f"of bytes that are not UTF-8 (base64 {encoded})", encoded
        text = str(texts[0].as_py())
        return repr(text), text
    try:
        text = str((json_texts(key) if is_nested(t) else value_texts(key))[0].as_py())
    except NoText:  # bytes that are not UTF-8 in a nested key: its marked form
        text = marked_text(key)
    return (repr(text), text) if _is_text(t) else (text, text)


def _time_refusal(leaf: pa.Array, row_of: RowOf, name: str) -> Refusal | None:
    """The first time of day outside the day (0 to 24:00 exclusive): Arrow writes such a value
    and prints it as an error text ("<value out of range: 86400000000>"), DuckDB reads
    24:00:00; no text of it is a time of the day bronze keeps."""
    t = leaf.type
    ints = leaf.cast(pa.int32() if pa.types.is_time32(t) else pa.int64()).cast(pa.int64())
    day = 86_400 * _PER_SECOND[t.unit]
    low_high = pc.min_max(ints)
    low, high = low_high["min"].as_py(), low_high["max"].as_py()
    if low is None or (low >= 0 and high < day):
        return None
    at = int(pc.index(pc.or_(pc.less(ints, 0), pc.greater_equal(ints, day)), True).as_py())
    value = f"{ints[at].as_py()} {t.unit} after midnight"
    why = f"a time of day, {value}, is outside the day (00:00:00 to 23:59:59.999999999)"
    return Refusal(name, row_of(at), value, why)


def _decimal_refusal(leaf: pa.Array, row_of: RowOf, name: str) -> Refusal | None:
    """The first decimal holding more digits than its type's precision, or None. The file's
    unscaled integers are read as written (pyarrow checks none against the annotation); one
    min/max per array, exact on the whole 128 or 256 bits, a value looked for only when one
    is past the precision."""
    t = leaf.type
    low_high = pc.min_max(leaf)
    low, high = low_high["min"].as_py(), low_high["max"].as_py()
    bound = Decimal(10**t.precision).scaleb(-t.scale)
    if low is None or (-bound < low and high < bound):
        return None
    for at, value in enumerate(leaf.to_pylist()):
        if value is not None and not -bound < value < bound:
            shown = str(value)
            why = (
                f"a decimal, {shown}, has more digits than its type, DECIMAL({t.precision},"
                f"{t.scale}), holds: the file's annotation is not what it stores, and bronze "
                f"keeps a DECIMAL({t.precision},{t.scale}) in the bytes {t.precision} digits need"
            )
            return Refusal(name, row_of(at), shown, why)
    return None  # pragma: no cover (min/max found one)


def _leaf_refusal(
    leaf: pa.Array, row_of: RowOf, name: str, hybrid: Hybrid | None = None
) -> Refusal | None:
    t = leaf.type
    if _is_text(t):
        return _text_refusal(leaf, row_of, name)
    if pa.types.is_decimal(t):
        return _decimal_refusal(leaf, row_of, name)
    if pa.types.is_map(t):
        return _map_refusal(leaf, row_of, name)
    if pa.types.is_time(t):
        return _time_refusal(leaf, row_of, name)
    bounds = _bounds(t)
    if bounds is None and not (pa.types.is_timestamp(t) and t.unit == "ns"):
        return None
    ints = leaf.cast(pa.int32() if pa.types.is_date32(t) else pa.int64())
    if hybrid is not None:
        found = _before_gregorian(ints, t, row_of, name, hybrid)
        if found is not None:
            return found
    if bounds is not None:
        low_high = pc.min_max(ints)
        low, high = low_high["min"].as_py(), low_high["max"].as_py()
        if low is not None and (low < bounds[0] or high > bounds[1]):
            off = pc.or_(pc.less(ints, bounds[0]), pc.greater(ints, bounds[1]))
            at = int(pc.index(off, True).as_py())
            value = _text(ints[at].as_py(), t)
            return Refusal(name, row_of(at), value, _beyond("a timestamp", value, t))
        return None
    off = pc.not_equal(pc.multiply(pc.divide(ints, 1000), 1000), ints)
    at = int(pc.index(off, True).as_py())
    if at < 0:
        return None
    value = _text(ints[at].as_py(), t)
    why = (
        f"the timestamp {value} has nanoseconds; bronze stores microseconds (Delta's unit), "
        "so it would lose them"
    )
    return Refusal(name, row_of(at), value, why)


class Values:
    """The landing dialect's rules for a Parquet file's values, a batch at a time: a
    nanosecond timestamp that is no whole microsecond, a date beyond :data:`FIRST_DAY` to
    :data:`LAST_DAY` and a timestamp beyond :data:`FIRST_MICROSECOND` to
    :data:`LAST_MICROSECOND`, a string whose bytes are not UTF-8, a decimal past its
    precision, and a map repeating a key, at any depth, refuse the file. One min/max per date,
    timestamp or decimal array of a batch (a value is looked for only when it is out of
    range), one UTF-8 validation per string array
    (a dictionary's values, not its rows), one group-by of each map array's keys; nothing
    for a file without dates, timestamps, times, decimals, strings or maps."""

    def __init__(self, schema: pa.Schema, hybrid: Hybrid | None = None) -> None:
        self.columns = [i for i, f in enumerate(schema) if _checked(f.type)]
        # :func:`hybrid_writer`: its columns' dates before 1582-10-15 refused, and timestamps
        # before 1900-01-01T00:00:00Z unless written in UTC (:attr:`Hybrid.zoned`)
        self.hybrid = hybrid

    def refusal(self, batch: pa.RecordBatch) -> Refusal | None:
        """The first value of ``batch`` the rules refuse (its row in the batch), or None."""
        for i in self.columns:
            name = batch.schema.field(i).name
            hybrid = self.hybrid if self.hybrid is not None and self.hybrid.holds(name) else None
            for leaf, row_of in _leaves(batch.column(i), _same_row):
                found = _leaf_refusal(leaf, row_of, name, hybrid)
                if found is not None:
                    return found
        return None


def _same_row(i: int) -> int:
    return i


#: Arrow reads an INT96 value's Julian day unsigned: a negative one (before 4713 BC, as Spark
#: and Impala write it, signed) comes back 2**32 days later, its milliseconds from this on.
_UNSIGNED_DAYS_MS = (2**31 - 2_440_588) * 86_400_000
_WRAP_MS = 2**32 * 86_400_000


def _int96_leaf(us: pa.Array, ms: pa.Array, row_of: RowOf, name: str) -> Refusal | None:
    """The first value of an INT96 leaf whose microsecond reading is not the instant: read
    in milliseconds (the Julian day signed) it is beyond the range, or they disagree."""
    u, m = us.cast(pa.int64()), ms.cast(pa.int64())
    m = pc.if_else(pc.greater_equal(m, _UNSIGNED_DAYS_MS), pc.subtract(m, _WRAP_MS), m)
    low, high = _bounds(pa.timestamp("ms")) or (0, 0)
    beyond = pc.or_(pc.less(m, low), pc.greater(m, high))
    floor = pc.divide(pc.subtract(u, pc.if_else(pc.less(u, 0), 999, 0)), 1000)
    off = pc.fill_null(pc.or_(beyond, pc.not_equal(floor, m)), False)
    at = int(pc.index(off, True).as_py())
    if at < 0:
        return None
    value = _text(m[at].as_py(), pa.timestamp("ms"))
    if beyond[at].as_py():
        why = _beyond("an INT96 timestamp", value, pa.timestamp("us"))
    else:
        why = (
            f"an INT96 timestamp, {value}, is read back as another instant (a Julian day "
            "below 0, which Arrow reads unsigned)"
        )
    return Refusal(name, row_of(at), value, why)


#: The most records of a row group :func:`int96_refusal` reads at a time, in each of its readings.
INT96_BATCH_ROWS = 65_536

#: The bytes an INT96 value takes in a batch of :func:`int96_refusal`'s readings together: its
#: 12 as written, and 8 in each of its readings in microseconds, milliseconds and nanoseconds.
_INT96_READ_BYTES = 12 + 3 * 8


class _Int96Footers(NamedTuple):
    """A file's footer cut down to its INT96 leaves (:func:`_int96_footers`)."""

    #: The INT96 leaves as written (read as timestamps).
    as_written: pq.FileMetaData
    #: The same leaves as ``FIXED_LEN_BYTE_ARRAY(12)``: each value's bytes as written.
    as_bytes: pq.FileMetaData
    #: Records per batch in each row group.
    rows: list[int]


class _Node(NamedTuple):
    """A schema element of a footer (its Thrift fields by id) and its children (None: a leaf,
    then its leaf column index)."""

    fields: dict[int, Any]
    children: list[_Node] | None
    leaf: int
    repeated: bool  # it or a group above it is repeated: its values are not one per record


def _schema_tree(elements: list[Any]) -> _Node:
    """The footer's schema elements (depth first, as written) as a tree: an element with no
    children and a physical type is a leaf (Parquet's reader decides so too)."""
    at = 0
    leaves = 0

    def node(repeated: bool) -> _Node:
        nonlocal at, leaves
        if at >= len(elements) or not isinstance(elements[at], dict):
            raise Unreadable("the footer's schema ends before its elements do")
        fields = elements[at]
        at += 1
        repeated = repeated or fields.get(3) == 2  # REPEATED
        count = fields.get(5) or 0
        if not count and 1 in fields:
            leaves += 1
            return _Node(fields, None, leaves - 1, repeated)
        return _Node(fields, [node(repeated) for _ in range(count)], -1, repeated)

    return node(False)


def _int96_only(node: _Node) -> _Node | None:
    """``node`` with only what holds an INT96 leaf (None: nothing)."""
    if node.children is None:
        return node if node.fields.get(1) == 3 else None  # INT96
    kept = [k for k in map(_int96_only, node.children) if k is not None]
    return node._replace(children=kept) if kept else None


def _depth_first(node: _Node) -> Iterator[_Node]:
    yield node
    for child in node.children or []:
        yield from _depth_first(child)


def _int96_chunk(out: _Compact, chunk: Any, leaf: _Node, kind: int) -> None:
    """A column chunk of :func:`_int96_footer`: the written one's pages, of physical type
    ``kind``, no statistics."""
    column = chunk.get(3) if isinstance(chunk, dict) else None
    if not isinstance(column, dict) or not all(
        isinstance(column.get(f), int) for f in (4, 5, 6, 7, 9)
    ):
        raise Unreadable(
            f"the column chunk of INT96 leaf {leaf.leaf + 1} has no metadata written in the clear"
        )
    out.begin()
    out.i64(2, int(chunk.get(2) or 0))  # file_offset
    out.begin(3)
    out.i32(1, kind)
    encodings = [e for e in column.get(2) or [] if isinstance(e, int)]
    out.items(2, 5, len(encodings))
    for e in encodings:
        out._zigzag(e)
    path = [bytes(p) for p in column.get(3) or []]
    out.items(3, 8, len(path))
    for p in path:
        out._varint(len(p))
        out.out += p
    out.i32(4, column[4])  # codec
    for fid in (5, 6, 7, 9):  # values, bytes (inflated, as written), its data page
        out.i64(fid, column[fid])
    if isinstance(column.get(11), int):  # its dictionary page
        out.i64(11, column[11])
    out.end()
    out.end()


def _int96_footer(meta: dict[int, Any], schema: list[_Node], kept: list[_Node], raw: bool) -> bytes:
    """A Parquet file's bytes but for its pages (Thrift, :class:`_Compact`): the schema
    elements ``schema`` and the column chunks of the leaves ``kept`` (of ``meta``, the file's
    footer), the leaves' physical type INT96 or (``raw``) 12 bytes, pointing at the file's own
    pages; no annotations (a list or map is read as its repeated groups)."""
    kind = 7 if raw else 3  # FIXED_LEN_BYTE_ARRAY, INT96
    out = _Compact()
    out.i32(1, int(meta.get(1) or 1))
    out.items(2, 12, len(schema))
    for node in schema:
        out.begin()
        if node.children is None:
            out.i32(1, kind)
            if raw:
                out.i32(2, 12)
        if isinstance(node.fields.get(3), int):
            out.i32(3, node.fields[3])
        out.binary(4, bytes(node.fields.get(4) or b""))
        if node.children is not None:
            out.i32(5, len(node.children))
        out.end()
    out.i64(3, int(meta.get(3) or 0))
    groups = meta.get(4) or []
    out.items(4, 12, len(groups))
    for group in groups:
        chunks = group.get(1) or []
        out.begin()
        out.items(1, 12, len(kept))
        for leaf in kept:
            _int96_chunk(out, chunks[leaf.leaf] if leaf.leaf < len(chunks) else None, leaf, kind)
        out.i64(2, int(group.get(2) or 0))
        out.i64(3, int(group.get(3) or 0))
        out.end()
    if isinstance(meta.get(6), bytes):  # created_by: the reader's checksum rule goes by it
        out.binary(6, meta[6])
    out.out.append(0)
    tail = bytes(out.out)
    return b"PAR1" + tail + len(tail).to_bytes(4, "little") + b"PAR1"


#: parquet.thrift's physical types (``Type``) by number.
_PHYSICAL_NAMES = (
    "BOOLEAN",
    "INT32",
    "INT64",
    "INT96",
    "FLOAT",
    "DOUBLE",
    "BYTE_ARRAY",
    "FIXED_LEN_BYTE_ARRAY",
)


def _same_leaves(tree: _Node, read: pq.ParquetSchema) -> None:
    """:class:`Unreadable` unless the leaves of the footer's schema as its bytes are read here
    (``tree``) are pyarrow's (``read``), of the same physical types: the INT96 check trusts
    neither reading alone (a footer read two ways could hide an INT96 leaf from it)."""
    leaves = [node for node in _depth_first(tree) if node.children is None]
    if len(leaves) != len(read):
        raise Unreadable(
            f"the footer reads two ways: pyarrow reads {len(read)} leaf columns, its bytes"
            f" {len(leaves)}"
        )
    for i, (node, levels) in enumerate(zip(leaves, _levels(tree), strict=True)):
        kind = node.fields.get(1)
        ours = _PHYSICAL_NAMES[kind] if type(kind) is int and 0 <= kind < 8 else repr(kind)
        column = read.column(i)
        theirs = column.physical_type
        if ours != theirs:
            raise Unreadable(
                f"the footer reads two ways: pyarrow reads leaf column {i + 1}"
                f" ({column.path!r}) as {theirs}, its bytes as {ours}"
            )
        known = (column.max_definition_level, column.max_repetition_level)
        if levels is not None and levels != known:  # its records' nesting, nulls (C-02, s17)
            raise Unreadable(
                f"the footer reads two ways: pyarrow reads leaf column {i + 1} ({column.path!r})"
                f" with definition and repetition levels {known}, its bytes {levels}"
            )


def _levels(tree: _Node) -> list[tuple[int, int] | None]:
    """Each leaf's greatest definition and repetition levels as the schema's repetition types
    say them (the root's aside), depth first; None where a group above it or the leaf has no
    repetition type one can read."""
    found: list[tuple[int, int] | None] = []

    def walk(node: _Node, defined: int | None, repeated: int) -> None:
        for child in node.children or []:
            kind = child.fields.get(3)
            known = defined is not None and type(kind) is int and 0 <= kind <= 2
            level = (defined or 0) + (kind != 0) if known else None
            deeper = repeated + (kind == 2)
            if child.children is None:
                found.append(None if level is None else (level, deeper))
            else:
                walk(child, level, deeper)

    walk(tree, 0, 0)
    return found


def _same_records(groups: list[Any], read: pq.FileMetaData) -> None:
    """:class:`Unreadable` unless the footer's row groups as its bytes are read here
    (``groups``) are pyarrow's (``read``), of the same records each: the INT96 check reads
    the pages through the footer as read here, the loader through pyarrow's (before-stop read
    C-02 of session 17: a row group of 100 records read as 9 hid the 100th's nanosecond)."""
    if len(groups) != read.num_row_groups:
        raise Unreadable(
            f"the footer reads two ways: pyarrow reads {read.num_row_groups} row groups, its"
            f" bytes {len(groups)}"
        )
    for g, group in enumerate(groups):
        ours = group.get(3) if isinstance(group, dict) else None
        theirs = read.row_group(g).num_rows
        if ours != theirs:
            raise Unreadable(
                f"the footer reads two ways: pyarrow reads row group {g + 1} as {theirs}"
                f" records, its bytes as {ours}"
            )


def _int96_footers(source: Any, read: pq.FileMetaData | None = None) -> _Int96Footers | None:
    """The file's footer (read from its bytes, Thrift) cut down to its INT96 leaves and the
    groups above them, None when it holds none; :class:`Unreadable` when its leaves or row
    groups are not pyarrow's (``read``: its metadata, read once for both: :func:`_same_leaves`,
    :func:`_same_records`). pyarrow reads the file's own pages through it: an INT96 leaf is
    read alone, never the struct, list or map it is in whole (a 64 KiB
    ``fixed_size_binary`` beside it in a struct, 8,000 records: 1.6 GB). Each row group is read
    in batches whose INT96 values, in :func:`int96_refusal`'s readings together, hold
    :data:`DECODED_BATCH_BYTES` (values inside lists or maps as if spread evenly over its
    records: a record holding more is read whole, as every reading of the file does), at most
    :data:`INT96_BATCH_ROWS` records. A list's values are counted as its chunk's data pages
    count them, as pyarrow reads them (:func:`_leaf_values`), never the footer's word alone: a
    footer claiming 2**60 values of a chunk of empty lists made every batch one record (0.3 ms
    of CPU each, a million records in a few hundred bytes)."""
    try:
        with _Bytes(source) as data:
            size = data.size()
            tail = data.read(size - 8, 8)
            length = int.from_bytes(tail[:4], "little")
            if len(tail) != 8 or tail[4:] != b"PAR1" or length > size - 12:
                raise Unreadable("the footer is not where its length says")
            meta, _ = _thrift_struct(data.read(size - 8 - length, length), spec=_FILE_META)
            elements = meta.get(2)
            if not isinstance(elements, list):
                raise Unreadable("the footer holds no schema")
            tree = _schema_tree(elements)
            read = pq.read_metadata(source) if read is None else read
            _same_leaves(tree, read.schema)
            pruned = _int96_only(tree)
            if pruned is None:
                return None
            schema = list(_depth_first(pruned))
            kept = [node for node in schema if node.children is None]
            padded = _SHORT_CHUNKS.match(str(meta.get(6) or "")) is not None
            _same_records(meta.get(4) or [], read)
            rows = []
            for group in meta.get(4) or []:
                chunks = group.get(1) or []
                records = int(group.get(3) or 0)
                values = records * sum(1 for leaf in kept if not leaf.repeated)
                for leaf in (leaf for leaf in kept if leaf.repeated and leaf.leaf < len(chunks)):
                    values += _leaf_values(data, chunks[leaf.leaf], size, padded)
                fits = (
                    DECODED_BATCH_BYTES * records // (_INT96_READ_BYTES * values) if values else 0
                )
                rows.append(max(1, min(INT96_BATCH_ROWS, fits)) if values else INT96_BATCH_ROWS)
    except _Unreadable as exc:
        raise Unreadable(f"the footer does not parse: {exc}") from None

    def parsed(raw: bool) -> pq.FileMetaData:
        return pq.read_metadata(pa.BufferReader(_int96_footer(meta, schema, kept, raw)))

    return _Int96Footers(parsed(False), parsed(True), rows)


def _leaf_values(data: _Bytes, chunk: Any, size: int, padded: bool) -> int:
    """The values (levels: nulls and empty lists counted) of a footer's column ``chunk`` (its
    Thrift fields by id) that pyarrow reads: its data pages' own counts up to the footer's
    (:func:`_chunk_page_bytes`); the footer's where its pages are not read so (the file's
    inflation check, run first, refuses such a file)."""
    try:
        read = _chunk(chunk)
    except _Unreadable:
        read = None
    if read is None or read.start <= 0:
        column = chunk.get(3) if isinstance(chunk, dict) else None
        return int(column.get(5) or 0) if isinstance(column, dict) else 0
    try:
        _, _, seen, _ = _chunk_page_bytes(data, read, size, padded, MOST_PAGES)
    except _Unreadable:
        return read.values
    return min(read.values, seen)


def _int96_batches(file: pq.ParquetFile, rows: list[int]) -> Iterator[pa.RecordBatch]:
    """The file's batches of ``rows[g]`` records in each row group ``g``."""
    for g in range(file.metadata.num_row_groups):
        yield from file.iter_batches(batch_size=rows[g], row_groups=[g])


def _int96_values(values: pa.Array, row_of: RowOf) -> Iterator[tuple[pa.Array, RowOf]]:
    """The leaves of a column read through :func:`_int96_footers` (structs and lists of its
    INT96 leaves), each with the row of the batch a value of it is in."""
    if pa.types.is_struct(values.type):
        for child in values.flatten():  # a null struct's fields are null
            yield from _int96_values(child, row_of)
    elif pa.types.is_list(values.type):

        def parent(i: int, lists: pa.Array = values) -> int:
            return row_of(int(pc.list_parent_indices(lists)[i].as_py()))

        yield from _int96_values(values.flatten(), parent)
    else:
        yield values, row_of


def int96_refusal(source: Any) -> Refusal | None:
    """The first INT96 timestamp (at any depth) bronze would not hold as written, or None.

    Read in microseconds (:func:`open_file`) a value beyond what they hold in 64 bits wraps
    around without a word (year 300000 becomes 1685), and Arrow reads a negative Julian day
    (before 4713 BC) unsigned; read in milliseconds (which hold every INT96 day) neither
    value wraps. The INT96 leaves are read once more in milliseconds (the Julian day then taken
    signed), in nanoseconds (:func:`_int96_finer`) and as their 12 bytes
    (:func:`_int96_day_past`), alone (:func:`_int96_footers`: not the struct, list or map
    they are in), a bounded batch at a time in step (memory is a batch's, not a row group's): a
    value beyond the range or whose two readings disagree refuses the file (legacy files only
    pay)."""
    read = pq.read_metadata(source)
    schema = read.schema
    if all(schema.column(i).physical_type != "INT96" for i in range(len(schema))):
        return None  # most files: their footer read once more, by pyarrow (not in Python)
    footers = _int96_footers(source, read)
    if footers is None:
        return None
    micro, milli, nano = (
        open_file(source, metadata=footers.as_written, coerce_int96_timestamp_unit=unit)
        for unit in ("us", "ms", "ns")
    )
    raw = open_file(source, metadata=footers.as_bytes)
    rows = 0
    past: Refusal | None = None  # the first nanoseconds-of-day field past 2**63
    finer: Refusal | None = None  # the first value with nanoseconds
    # the four readings in step, a batch at a time (the same boundaries): memory is a batch's,
    # not a row group's (equal values compress to nothing: 64Mi of them in 144 KB)
    for us, ms, ns, written in zip(
        *(_int96_batches(f, footers.rows) for f in (micro, milli, nano, raw)), strict=True
    ):
        for c in range(us.num_columns):
            name = us.schema.field(c).name
            quads = zip(
                *(_int96_values(b.column(c), _same_row) for b in (us, ms, ns, written)),
                strict=True,
            )
            for (u, row_of), (m, _), (n, _), (w, _) in quads:
                found = _int96_leaf(u, m, row_of, name)
                if found is not None:
                    return found.moved(rows)
                if past is None:
                    past = _int96_day_past(u, w, row_of, name, rows)
                if finer is None:
                    finer = _int96_finer(u, n, row_of, name, rows)
        rows += us.num_rows
    return past or finer


class Unreadable(ValueError):
    """A footer pyarrow opened that :func:`int96_refusal` cannot read from the file's bytes, or
    a file whose footer or page headers are not read through as pyarrow reads them
    (:func:`written_page_bytes`): it does not parse as Parquet (the API's 400, the loader's
    ``unparseable``)."""


def _int96_finer(us: pa.Array, ns: pa.Array, row_of: RowOf, name: str, rows: int) -> Refusal | None:
    """The first INT96 value whose nanoseconds are no whole microsecond (Impala, Hive and
    pandas' ``flavor='spark'`` write them): read in microseconds they are cut off. Read in
    nanoseconds a value past 1677-2262 wraps around, but modulo 2**64 both readings are the
    same sum of the Julian day and the field, so ``ns - us * 1000`` (wrapping int64) is the
    nanoseconds past the microsecond for every value."""
    u = us.cast(pa.int64())
    past = pc.subtract(ns.cast(pa.int64()), pc.multiply(u, 1000))  # wraps as the readings did
    off = pc.fill_null(pc.not_equal(past, 0), False)
    at = int(pc.index(off, True).as_py())
    if at < 0:
        return None
    value = _text(u[at].as_py(), pa.timestamp("us")) + f"{past[at].as_py():03d}"
    why = (
        f"the timestamp {value} has nanoseconds; bronze stores microseconds (Delta's unit), "
        "so it would lose them"
    )
    return Refusal(name, row_of(at) + rows, value, why)


def _int96_day_past(
    us: pa.Array, written: pa.Array, row_of: RowOf, name: str, rows: int
) -> Refusal | None:
    """The first INT96 value whose nanoseconds-of-day field is past 2**63 (Impala's test files
    write ``0xFFFFFFFFFFFFFFFF`` on day 1970-01-01, which Impala reads as NULL): Arrow takes the
    field unsigned (2554-07-21 23:34:33.709551), DuckDB signed (1970-01-01 00:00:00), and no
    reading is the writer's. The value's bytes as written (``written``) tell: the field's last
    byte (it is little-endian) 0x80 or more (for every other field the two compute the same
    instant)."""
    last = pc.binary_slice(written, 7, 8)
    off = pc.fill_null(pc.greater_equal(last, pa.scalar(b"\x80", last.type)), False)
    at = int(pc.index(off, True).as_py())
    if at < 0:
        return None
    value = _text(us[at].cast(pa.int64()).as_py(), pa.timestamp("us"))
    why = (
        f"an INT96 timestamp's nanoseconds of the day are beyond a day"
        f" (Arrow reads {value}, DuckDB another instant): no reading is the writer's"
    )
    return Refusal(name, row_of(at) + rows, value, why)


def unread_values(
    metadata: pq.FileMetaData,
    chunks: bool = True,
    source: str | os.PathLike[str] | None = None,
) -> tuple[str, str] | None:
    """A leaf column (its path, why) whose values Arrow reads as nulls although the file holds
    some, or None.

    A Parquet column of logical type UNKNOWN is always null by the format, and Arrow (DuckDB
    too) reads it as a ``null`` column without looking at its pages. A writer may break that
    (parquet-mr 1.12 wrote INTERVAL values as ``fixed_len_byte_array(12)`` of logical type
    UNKNOWN): loaded, every value would become a null without a word. So such a column refuses
    the file when it is ``required`` (every value present), when a row group's statistics count
    fewer nulls than values, or, without a null count, when it is not what Arrow and DuckDB write
    for a null column (``INT32`` with no converted type): whether it holds values is then not
    known, and bronze does not guess. Where they say it holds none, a top-level column's
    chunks are read from the file at ``source`` (:func:`_held_values`): the statistics are the
    writer's claim (*before:* until session 19, review revc s19 05, a null count saying every
    value null, or an ``INT32`` without one, was believed, and the values became nulls).

    ``chunks=False``: the schema's part alone (a ``required`` column), which reads no column
    chunk's metadata: pyarrow aborts the process on a chunk it cannot describe (an encrypted
    or corrupt one), where its reader raises, so the chunks are looked at after the read."""
    schema = metadata.schema
    for i in range(len(schema)):
        column = schema.column(i)
        if column.logical_type.type != "UNKNOWN" or column.converted_type == "INTERVAL":
            continue  # an INTERVAL's logical type reads UNKNOWN too (:func:`interval_column`)
        kind = column.physical_type
        if column.converted_type != "NONE":
            kind += f", converted type {column.converted_type}"
        why = (
            "its Parquet logical type is UNKNOWN (always null) but {} "
            f"({kind}), which no reader here reads: loaded, they would be stored as nulls"
        )
        if column.max_definition_level == 0 and metadata.num_rows:
            return column.path, why.format(
                "the column is required: it holds a value in every record"
            )
        # Arrow's null column: INT32, no converted type (Arrow C++ before 1.0 wrote NA, read
        # back as UNKNOWN)
        if not chunks:
            continue
        plain = column.physical_type == "INT32" and column.converted_type in ("NONE", "UNKNOWN")
        held = 0
        for group in range(metadata.num_row_groups):
            chunk = metadata.row_group(group).column(i)
            stats = chunk.statistics if chunk.is_stats_set else None
            if stats is not None and stats.has_null_count:
                held += chunk.num_values - stats.null_count
            elif chunk.num_values and not plain:
                return column.path, why.format("the file does not say whether it holds values")
        if not held and source is not None and _flat(column):
            held = _held_in_chunks(source, metadata, i)
        if held > 0:
            return column.path, why.format(f"the file holds {held} values in it")
    return None


#: A group of pyarrow's print of a Parquet schema annotated VARIANT: its name (the printer's
#: line: ``required group field_id=2 var (Variant(1)) {``)
_VARIANT_GROUP = re.compile(
    r"^ *(?:required|optional|repeated) group field_id=-?\d+ (.*)"
    r" \(Variant\b[^()]*(?:\(\d*\))?\) \{$",
    re.MULTILINE,
)


#: What Arrow says opening a footer holding a decimal of more digits than its 76.
_PAST_ARROW_DECIMAL = "Decimal precision out of range"


def decimal_past_arrow(source: Any, exc: BaseException) -> tuple[str, str] | None:
    """When pyarrow could not open the footer of the file at ``source`` (``exc``) for a
    decimal of more digits than Arrow's 76 (parquet-mr writes any precision on a
    BYTE_ARRAY, ``DECIMAL(77,38)``; a valid file): the column (its name) and its type
    (``DECIMAL(77,38)``), read from the footer by DuckDB; else None. Such a file is refused
    for its digits, as a ``decimal256`` past 38 is, not as a file that does not parse."""
    if _PAST_ARROW_DECIMAL not in str(exc):
        return None
    query = "select name, precision, scale from parquet_schema(?) where precision > 76"
    found = _duckdb_footer(source, query)
    if not found:
        return None
    name, precision, scale = found[0]
    return str(name), f"DECIMAL({precision},{scale})"


def _duckdb_footer(source: Any, query: str) -> list[tuple[Any, ...]] | None:
    """``query`` (one parameter: the file) over the footer of the file at ``source``, by DuckDB
    (which opens footers pyarrow cannot); None when DuckDB cannot either."""
    import duckdb

    try:
        with tempfile.TemporaryDirectory() as folder, duckdb.connect() as con:
            plain = os.path.join(folder, "f.parquet")  # no glob character DuckDB would expand
            os.symlink(os.path.abspath(source), plain)
            return con.execute(query, [plain]).fetchall()
    except duckdb.Error:
        return None


#: The key-value metadata key under which Arrow's writers keep the Arrow schema (base64).
ARROW_SCHEMA_KEY = "ARROW:schema"


def foreign_arrow_schema(source: Any, exc: BaseException) -> tuple[str | None, str] | None:
    """When pyarrow could not open the footer of the file at ``source`` (``exc``) for its
    ``ARROW:schema`` key: the column when known, and why the file is refused; else None.
    pyarrow decodes that key opening any file, with no way to ignore it, so bronze's reader
    cannot open the file; its pages were not looked at, and it is not said not to parse
    (DuckDB reads it). Either the key is no Arrow schema (another application's value under
    Arrow's key; DuckDB's ``KV_METADATA`` writes any), or it holds a type pyarrow does not
    implement (polars writes its ``Int128`` as 16 bytes with the type in that key: the column
    named, as polars reads it; its bytes are not the integers its writer meant). A key that is
    an Arrow schema of types pyarrow has, even another file's, pyarrow opens."""
    query = f"select value from parquet_kv_metadata(?) where key = '{ARROW_SCHEMA_KEY}'::BLOB"
    found = _duckdb_footer(source, query)
    for (value,) in found or ():
        try:
            pa.ipc.read_schema(pa.py_buffer(base64.b64decode(value, validate=True)))
        except pa.ArrowNotImplementedError as unknown:
            column, shown = _unknown_to_arrow(source)
            return column, (
                f"the footer's {ARROW_SCHEMA_KEY!r} key holds a type pyarrow, bronze's reader, "
                f"does not implement ({unknown}){shown}: pyarrow reads that key to open a file "
                "and cannot open this one, and the column's Parquet values (bytes without a "
                "type) are not what its writer meant"
            )
        except (ValueError, pa.ArrowException):  # binascii.Error is a ValueError
            return None, (
                f"the footer's key-value metadata holds an {ARROW_SCHEMA_KEY!r} that is no "
                f"Arrow schema ({exc}): bronze reads Parquet through pyarrow, which reads that "
                "key to open a file and cannot open this one (the key is a writer's own "
                "metadata, not the data: the file written without it loads)"
            )
    return None


#: Types polars writes in a file's ARROW:schema that pyarrow does not implement.
_POLARS_ONLY = ("Int128", "UInt128")


def _unknown_to_arrow(source: Any) -> tuple[str | None, str]:
    """The first column whose type (as polars reads the file's ``ARROW:schema``) pyarrow does
    not implement, and its words for the reason (``(None, "")``: not known)."""
    import polars as pl

    try:
        schema = pl.read_parquet_schema(source)
    except Exception:  # any reader error: the column is then not named
        return None, ""
    for name, dtype in schema.items():
        if str(dtype) in _POLARS_ONLY:
            return name, f" in column {name!r} ({dtype} to polars, which wrote it)"
    return None, ""


def unheld_column(metadata: pq.FileMetaData) -> tuple[str, str] | None:
    """A column (its path, why) of a Parquet type bronze does not load, at any depth, or None:
    a VARIANT (:func:`variant_column`), an INTERVAL (:func:`interval_column`), or a GEOGRAPHY
    or a GEOMETRY of a CRS of its own (:func:`geo_column`)."""
    return variant_column(metadata) or interval_column(metadata) or geo_column(metadata)


def geo_column(metadata: pq.FileMetaData) -> tuple[str, str] | None:
    """A column (its path, why), at any depth, of Parquet's GEOGRAPHY, or of its GEOMETRY with
    a CRS other than the default (OGC:CRS84), or None. pyarrow reads both as their WKB bytes
    (without geoarrow's extension registered: with it, as its storage, the same bytes), and
    bronze keeps bytes without the annotation: a GEOMETRY of the default CRS loses nothing (its
    edges are planar, its CRS the one a reader of WKB assumes), but another CRS, or a
    GEOGRAPHY's edges (spherical, or an algorithm's), would be dropped without a word, and the
    same bytes then read as other places."""
    schema = metadata.schema
    for i in range(len(schema)):
        column = schema.column(i)
        kind = column.logical_type.type
        if kind not in ("GEOMETRY", "GEOGRAPHY"):
            continue
        annotation = json.loads(column.logical_type.to_json())
        crs = annotation.get("crs") or ""
        if kind == "GEOMETRY" and crs in ("", "OGC:CRS84"):
            continue
        shown = str(column.logical_type)
        why = (
            f"a Parquet {kind} ({shown}), which bronze does not load: pyarrow reads it as its "
            "WKB bytes, and bronze keeps bytes without "
            + ("a geography's edges" if kind == "GEOGRAPHY" else "their CRS")
            + " (only a GEOMETRY of the default CRS, OGC:CRS84, loads, as its WKB bytes)"
        )
        return column.path, why
    return None


def interval_column(metadata: pq.FileMetaData) -> tuple[str, str] | None:
    """A column (its path, why) of Parquet's INTERVAL (converted type: months, days and
    milliseconds, three little-endian unsigned 32-bit integers in 12 bytes; DuckDB's writer,
    parquet.js), at any depth, or None. pyarrow reads it as its 12 bytes, which no reader of
    bronze reads as an interval, so the file is refused. (pyarrow's logical type of it says
    ``UNKNOWN``, Parquet's always-null type, which it is not.)"""
    schema = metadata.schema
    for i in range(len(schema)):
        column = schema.column(i)
        if column.converted_type == "INTERVAL":
            why = (
                "a Parquet INTERVAL (months, days and milliseconds in 12 bytes), which bronze "
                "does not load: pyarrow reads it as its 12 bytes, which no reader of bronze "
                "reads as an interval"
            )
            return column.path, why
    return None


def variant_column(metadata: pq.FileMetaData) -> tuple[str, str] | None:
    """A column (the path of its group, why) of Parquet logical type VARIANT, at any depth, or
    None. pyarrow reads a Variant as the plain struct of its binary encoding (``metadata`` and
    ``value`` bytes, a shredded value's ``typed_value`` parts, whose shape changes from file to
    file) and drops the annotation: loaded, bronze would hold bytes no reader of it reads as the
    value, without a word. Its JSON text would lose the types the encoding keeps (a date, a
    decimal, bytes), so the file is refused. The annotation is on a group, which pyarrow shows
    only in its print of the schema; a group is taken for one when it is so printed and holds
    the ``metadata`` bytes the Variant spec puts first."""
    schema = metadata.schema
    groups = _VARIANT_GROUP.findall(str(schema))
    if not groups:
        return None
    # A group's path is its names joined by dots, and a name may hold a dot itself (a column
    # `v.x`): the group is matched by the end of its `metadata` leaf's path, never by a split.
    for i in range(len(schema)):
        column = schema.column(i)
        if column.name != "metadata" or column.physical_type != "BYTE_ARRAY":
            continue
        if not column.path.endswith(".metadata"):
            continue
        path = column.path.removesuffix(".metadata")
        if any(path == name or path.endswith("." + name) for name in groups):
            why = (
                "a Parquet VARIANT, which bronze does not hold: pyarrow reads it as the bytes "
                "of its binary encoding, which no reader of bronze reads as the value, and its "
                "JSON text would lose the value's types"
            )
            return path, why
    return None


#: Writers known to leave the footer's count of records unset (0) over row groups that hold
#: records: parquet-rs 0.x (apache/parquet-testing's ``repeated_no_annotation.parquet``).
_UNCOUNTED_FOOTER = ("parquet-rs version 0.",)


def _grouped_rows(metadata: pq.FileMetaData) -> int:
    return sum(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups))


def count_disagreement(metadata: pq.FileMetaData) -> str | None:
    """Why the footer's counts of records disagree with each other, or None: its records and
    its row groups' sum (but a 0 from a writer known to leave it unset), and each row group's
    records and a flat column's values (one a record, a null counted). A reader stops at what
    the pages hold, so a footer saying more than they do is a truncated or corrupt file whose
    missing records would go without a word (Impala refuses such files as corrupt). Reads only
    the footer."""
    declared = metadata.num_rows
    held = _grouped_rows(metadata)
    unset = declared == 0 and (metadata.created_by or "").startswith(_UNCOUNTED_FOOTER)
    if held != declared and not unset:
        return f"the footer says {declared} records, its row groups hold {held}: a corrupt file"
    schema = metadata.schema
    flat = [i for i in range(len(schema)) if schema.column(i).max_repetition_level == 0]
    for at in range(metadata.num_row_groups):
        group = metadata.row_group(at)
        for i in flat:
            values = group.column(i).num_values
            if values != group.num_rows:
                return (
                    f"row group {at} says {group.num_rows} records, its column "
                    f"{schema.column(i).path!r} holds {values} values: a corrupt file"
                )
    return None


class FooterRefusal(NamedTuple):
    """Why the footer's column chunks refuse a file (:func:`footer_refusal`)."""

    column: str | None  # None: the file as a whole (the API's 400), else its 422
    reason: str
    kind: Literal["unparseable", "type_conflict"]  # the loader's refusal kind


def footer_refusal(
    metadata: pq.FileMetaData, read: int, source: str | os.PathLike[str] | None = None
) -> FooterRefusal | None:
    """What the footer's column chunks refuse once every page was read (``read`` records), or
    None: a column whose values Arrow read as nulls (:func:`unread_values`: its name, why),
    counts of records that disagree (:func:`count_disagreement`, then
    :func:`count_read_disagreement`: None, why the file does not parse), or an integer
    column whose statistics hold a value past its annotation's width
    (:func:`int_past_annotation`). The API and the loader call it after the last page, never
    before: pyarrow's reader raises on a column chunk it cannot decrypt or whose metadata is
    corrupt, its metadata accessor (``row_group(i).column(j)``) aborts the process on the same
    chunk."""
    unread = unread_values(metadata, source=source)
    if unread is not None:
        return FooterRefusal(unread[0], f"column {unread[0]!r}: {unread[1]}", "unparseable")
    disagreement = count_disagreement(metadata) or count_read_disagreement(metadata, read)
    if disagreement is not None:
        why = f"the file does not parse as Parquet: {disagreement}"
        return FooterRefusal(None, why, "unparseable")
    past = int_past_annotation(metadata, source)
    if past is not None:
        return FooterRefusal(past[0], f"column {past[0]!r}: {past[1]}", "type_conflict")
    return None


#: The physical types integer annotations narrower than them go on, and their widths.
_PHYSICAL_BITS = {"INT32": 32, "INT64": 64}


def _int_annotation(column: Any) -> tuple[int, bool] | None:
    """A leaf column's integer annotation (bit width, signed) when narrower than its physical
    type (``INT(8)``/``INT(16)``/``UINT(8)``/``UINT(16)`` on ``INT32``, or one under ``INT64``),
    else None."""
    bits = _PHYSICAL_BITS.get(column.physical_type)
    if bits is None or column.logical_type.type != "INT":
        return None
    annotation = json.loads(column.logical_type.to_json())
    width, signed = int(annotation["bitWidth"]), bool(annotation["isSigned"])
    return (width, signed) if width < bits else None


def int_past_annotation(
    metadata: pq.FileMetaData, source: str | os.PathLike[str] | None = None
) -> tuple[str, str] | None:
    """A leaf column (its path, why) annotated as an integer narrower than its physical type
    holding a value past that width (a writer that does not check wrote ``INT32`` 1000 under
    ``INT(8)``), or None. Arrow and DuckDB alike read such a value cut to the annotation's
    width (1000 as -24), and neither can read the physical value: bronze would store a number
    nobody sent. The statistics' minimum and maximum are physical values of the column chunk
    (``min_raw``/``max_raw``; an unsigned annotation reads them unsigned): one past the width
    refuses the file at once. A top-level column's chunk holding values is then read as its
    physical integers from the file at ``source`` (:func:`_physical_values`), whatever its
    statistics say: they are the writer's claim, and a writer that does not check its
    annotation may compute them on the cut-down values (*before:* until session 19, review
    revc s19 05, a chunk whose statistics lay within the width, or counted every value
    null, was not read, and 1000 was stored as -24). A nested one's is not known to hold one,
    and is read as Arrow reads it (docs/loading.md: known open)."""
    schema = metadata.schema
    for i in range(len(schema)):
        column = schema.column(i)
        annotation = _int_annotation(column)
        if annotation is None:
            continue
        width, signed = annotation
        low, high = (-(2 ** (width - 1)), 2 ** (width - 1) - 1) if signed else (0, 2**width - 1)
        physical = _PHYSICAL_BITS[column.physical_type]
        kind = f"{'' if signed else 'U'}INT({width}) ({low} to {high}) on {column.physical_type}"
        first = 0
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            chunk = metadata.row_group(group).column(i)
            stats = chunk.statistics if chunk.is_stats_set else None
            where = f"row group {group + 1}, records {first + 1} to {first + rows}"
            readings: list[tuple[str, Callable[[], list[int]]]] = []
            if stats is not None and stats.has_min_max:
                raws = [int(stats.min_raw), int(stats.max_raw)]
                readings.append(("the footer's statistics say it holds", raws.copy))
            if source is not None and _flat(column) and chunk.num_values:
                read = functools.partial(_physical_values, source, metadata, group, i)
                readings.append(("it holds", read))
            for said, values in readings:  # the statistics first: they may prove one early
                for raw in values():
                    value = raw if signed else raw % 2**physical
                    if not low <= value <= high:
                        return column.path, (
                            f"{said} {value} ({where}), past its annotation {kind}: Arrow and "
                            "DuckDB read such a value cut down to the annotation's width, and "
                            "bronze would store a number the file does not hold"
                        )
            first += rows
    return None


def _flat(column: Any) -> bool:
    """Whether a leaf column is a top-level column (not in a struct, list or map). Its path is
    its names joined by dots, and a top-level name may hold a dot (`a.b`): the path is the leaf's
    own name exactly when there is no group above it."""
    return bool(
        column.max_repetition_level == 0
        and column.max_definition_level <= 1
        and column.path == column.name
    )


#: Thrift's enums of parquet.thrift, by the names pyarrow gives them.
_CODECS = {
    "UNCOMPRESSED": 0, "SNAPPY": 1, "GZIP": 2, "LZO": 3, "BROTLI": 4, "LZ4": 5, "ZSTD": 6,
    "LZ4_RAW": 7,
}  # fmt: skip
_ENCODINGS = {
    "PLAIN": 0, "PLAIN_DICTIONARY": 2, "RLE": 3, "BIT_PACKED": 4, "DELTA_BINARY_PACKED": 5,
    "DELTA_LENGTH_BYTE_ARRAY": 6, "DELTA_BYTE_ARRAY": 7, "RLE_DICTIONARY": 8,
    "BYTE_STREAM_SPLIT": 9,
}  # fmt: skip
_PHYSICAL = {
    "BOOLEAN": 0, "INT32": 1, "INT64": 2, "INT96": 3, "FLOAT": 4, "DOUBLE": 5, "BYTE_ARRAY": 6,
    "FIXED_LEN_BYTE_ARRAY": 7,
}  # fmt: skip


class _Compact:
    """Thrift's compact protocol, the few forms a footer of one column chunk needs (structs of
    i32, i64, strings and lists): parquet.thrift's wire format."""

    def __init__(self) -> None:
        self.out = bytearray()
        self._last = [0]

    def _varint(self, n: int) -> None:
        while n > 0x7F:
            self.out.append(n & 0x7F | 0x80)
            n >>= 7
        self.out.append(n)

    def _zigzag(self, n: int) -> None:
        self._varint((n << 1) ^ (n >> 63))

    def _field(self, fid: int, kind: int) -> None:
        delta = fid - self._last[-1]
        if 0 < delta <= 15:
            self.out.append(delta << 4 | kind)
        else:
            self.out.append(kind)
            self._zigzag(fid)
        self._last[-1] = fid

    def i32(self, fid: int, value: int) -> None:
        self._field(fid, 5)
        self._zigzag(value)

    def i64(self, fid: int, value: int) -> None:
        self._field(fid, 6)
        self._zigzag(value)

    def text(self, fid: int, value: str) -> None:
        self.binary(fid, value.encode())

    def binary(self, fid: int, data: bytes) -> None:
        self._field(fid, 8)
        self._varint(len(data))
        self.out += data

    def items(self, fid: int, kind: int, count: int) -> None:
        self._field(fid, 9)
        if count < 15:
            self.out.append(count << 4 | kind)
        else:
            self.out.append(0xF0 | kind)
            self._varint(count)

    def begin(self, fid: int | None = None) -> None:
        """A struct: a field (``fid``) or a list's item (None)."""
        if fid is not None:
            self._field(fid, 12)
        self._last.append(0)

    def end(self) -> None:
        self.out.append(0)
        self._last.pop()


def _lone_chunk(
    source: str | os.PathLike[str], metadata: pq.FileMetaData, group: int, i: int
) -> bytes | None:
    """A file of column ``i``'s chunk in row group ``group`` alone: its bytes, page headers and
    all, as they are, under a footer of that one top-level column without its annotation
    (Thrift, :class:`_Compact`), which pyarrow decodes as plain values of its physical type;
    None for a codec pyarrow names UNKNOWN (Hadoop's LZ4)."""
    column = metadata.schema.column(i)
    chunk = metadata.row_group(group).column(i)
    codec = _CODECS.get(chunk.compression)
    if codec is None:
        return None
    offsets = [chunk.data_page_offset]
    if chunk.has_dictionary_page and chunk.dictionary_page_offset:
        offsets.append(chunk.dictionary_page_offset)
    start = min(offsets)
    with open(source, "rb") as f:
        f.seek(start)
        pages = f.read(chunk.total_compressed_size)
    footer = _Compact()
    footer.i32(1, 1)  # version
    footer.items(2, 12, 2)  # schema: the root and the column
    footer.begin()
    footer.text(4, "schema")
    footer.i32(5, 1)
    footer.end()
    footer.begin()
    footer.i32(1, _PHYSICAL[column.physical_type])
    if column.physical_type == "FIXED_LEN_BYTE_ARRAY":
        footer.i32(2, column.length)  # type_length
    footer.i32(3, column.max_definition_level)  # REQUIRED 0, OPTIONAL 1
    footer.text(4, "v")
    footer.end()
    footer.i64(3, chunk.num_values)
    footer.items(4, 12, 1)  # one row group
    footer.begin()
    footer.items(1, 12, 1)  # one column chunk
    footer.begin()
    footer.i64(2, 4)  # file_offset
    footer.begin(3)  # ColumnMetaData
    footer.i32(1, _PHYSICAL[column.physical_type])
    encodings = [_ENCODINGS[e] for e in chunk.encodings if e in _ENCODINGS]
    footer.items(2, 5, len(encodings))
    for e in encodings:
        footer._zigzag(e)
    footer.items(3, 8, 1)
    footer._varint(1)
    footer.out += b"v"
    footer.i32(4, codec)
    footer.i64(5, chunk.num_values)
    footer.i64(6, chunk.total_uncompressed_size)
    footer.i64(7, chunk.total_compressed_size)
    footer.i64(9, 4 + chunk.data_page_offset - start)
    if start != chunk.data_page_offset:
        footer.i64(11, 4)
    footer.end()  # ColumnMetaData
    footer.end()  # ColumnChunk
    footer.i64(2, chunk.total_uncompressed_size)
    footer.i64(3, chunk.num_values)
    footer.end()  # RowGroup
    footer.out.append(0)  # FileMetaData
    tail = bytes(footer.out)
    return b"PAR1" + pages + tail + len(tail).to_bytes(4, "little") + b"PAR1"


def _held_in_chunks(source: str | os.PathLike[str], metadata: pq.FileMetaData, i: int) -> int:
    """The values (nulls not counted) column ``i``'s chunks hold, read from their pages
    (:func:`_held_values`; a chunk not read so counts none)."""
    held = 0
    for group in range(metadata.num_row_groups):
        if metadata.row_group(group).column(i).num_values:
            held += _held_values(source, metadata, group, i) or 0
    return held


def _held_values(
    source: str | os.PathLike[str], metadata: pq.FileMetaData, group: int, i: int
) -> int | None:
    """The values (nulls not counted) column ``i``'s chunk in row group ``group`` holds, read
    from its pages as plain values of its physical type (:func:`_lone_chunk`), a batch at a
    time; None where they are not read so."""
    data = _lone_chunk(source, metadata, group, i)
    if data is None:
        return None
    held = 0
    try:
        with pq.ParquetFile(pa.BufferReader(data)) as file:
            for batch in file.iter_batches(batch_size=_PHYSICAL_BATCH):
                held += batch.num_rows - batch.column(0).null_count
    except (OSError, pa.ArrowException):
        return None
    return held


def _physical_values(
    source: str | os.PathLike[str], metadata: pq.FileMetaData, group: int, i: int
) -> list[int]:
    """The smallest and largest physical integers of column ``i``'s chunk in row group
    ``group`` (none: every value null). Neither pyarrow nor DuckDB reads an ``INT32`` under
    ``INT(8)`` but cut down, so the chunk is read alone (:func:`_lone_chunk`), its pages
    decoded by pyarrow as plain integers."""
    data = _lone_chunk(source, metadata, group, i)
    if data is None:  # read as Arrow reads it
        return []
    # a batch at a time, keeping the smallest and largest: a row group's values are bounded by
    # nothing the file's size shows (RLE pages make 400M values 100 KB: read whole, 4 GB)
    low = high = None
    try:
        with pq.ParquetFile(pa.BufferReader(data)) as file:
            for batch in file.iter_batches(batch_size=_PHYSICAL_BATCH):
                values = batch.column(0)
                if values.null_count == len(values):
                    continue
                # signed, as the statistics' raw values are: an unsigned annotation's value
                # past 2**31 is negative here, the smallest; int_past_annotation reads it so
                found = pc.min_max(values)
                least, most = int(found["min"].as_py()), int(found["max"].as_py())
                low = least if low is None else min(low, least)
                high = most if high is None else max(high, most)
    except (OSError, pa.ArrowException):  # pages this reading cannot take: as Arrow reads them
        return []
    return [] if low is None or high is None else [low, high]


#: Values of a stats-less narrow integer chunk decoded at a time (:func:`_physical_values`):
#: 4 MiB of int32, 8 of int64
_PHYSICAL_BATCH = 1 << 20


def count_read_disagreement(metadata: pq.FileMetaData, read: int) -> str | None:
    """Why ``read`` records read from a file of footer ``metadata`` are refused, or None: a page
    holding fewer values than its column chunk says is read short without an error."""
    declared = _grouped_rows(metadata)  # the footer's count, where count_disagreement passed
    if read == declared:
        return None
    return f"the footer says {declared} records, its pages hold {read}: a corrupt file"


# -- the footer and page headers as written (Thrift's compact protocol) ----------------------

#: The limits of pyarrow's Thrift reader of a footer or page header (Arrow's
#: ``ThriftDeserializer``, parquet/thrift_internal.h): Thrift's ``TConfiguration`` recursion
#: limit (64 levels), Arrow's ``thrift_string_size_limit`` (100,000,000 bytes) and
#: ``thrift_container_size_limit`` (1,000,000 items). Past one pyarrow does not read it
#: ("Couldn't deserialize thrift: TProtocolException: Exceeded depth limit", "... size limit").
THRIFT_DEPTH = 64
THRIFT_BINARY_BYTES = 100_000_000
THRIFT_ITEMS = 1_000_000
#: The largest page header pyarrow reads (Arrow's ``kDefaultMaxPageHeaderSize``: it tries 16
#: KiB, doubling up to this, then "Deserializing page header failed").
PAGE_HEADER_BYTES = 16 * 1024 * 1024
#: Bytes of a column chunk read at a time for its page headers.
_PAGE_BLOCK = 1 << 20
#: The most pages a file's headers are read of (:func:`written_page_bytes`); past it the file
#: is refused (``too_large``, the API's 413). No writer's file within the size limits holds as
#: many: a data page's header takes 17 bytes at least (its required fields), so 1 GiB
#: (``api_max_file_bytes``) holds under 64M pages, and writers end a page at 20,000 values
#: (pyarrow, parquet-mr, parquet-rs): 64M pages would hold 1.3 trillion values in the few
#: million column chunks a footer lists (its lists hold 1,000,000 items, :data:`THRIFT_ITEMS`).
#: Reading them costs about 1.5 s of CPU a million headers of 7 bytes (the least one takes),
#: 3 s a million of pyarrow's one-value pages (pyarrow's own read of them: 0.35 s, 0.7 s).
MOST_PAGES = 1 << 26
#: The most pages of a type pyarrow skips a file's headers are read of (an INDEX_PAGE, whose
#: header parquet.thrift leaves empty, "TODO", or a type parquet.thrift does not name): past
#: it the file is refused (``too_large``, the API's 413). No writer writes them; pyarrow reads
#: each header and skips its page, so they cost the check CPU (about 1.5 s a million) and
#: bronze nothing: a file of 64M of them between two values cost the check 100 s.
MOST_SKIPPED_PAGES = 1 << 16


class _Unreadable(ValueError):
    """Bytes that are no Thrift structure pyarrow reads; the message says why."""


class _PastBytes(_Unreadable):
    """A structure running past the bytes read (past the column chunk's or the file's end, or
    the block read so far)."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise _PastBytes("ends inside a number")
        if shift > 63:
            raise _Unreadable("holds a number of more than 10 bytes")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _i16(n: int) -> int:
    """``n`` cut to a signed 16-bit integer, as C++'s ``(int16_t)`` cast does."""
    return (n + 0x8000 & 0xFFFF) - 0x8000


def _size(buf: bytes, pos: int) -> tuple[int, int]:
    """A list's, map's or binary's size: Thrift's C++ reader reads its varint as a signed
    32-bit integer (``readVarint32``: the low 32 bits) and refuses a negative one."""
    raw, pos = _varint(buf, pos)
    size = (raw + 0x80000000 & 0xFFFFFFFF) - 0x80000000
    if size < 0:
        raise _Unreadable(f"holds a list, map or binary of {size} items (a negative size)")
    return size, pos


#: compact types of fixed width: byte, double, UUID
_FIXED = {3: 1, 7: 8, 13: 16}

#: The fields of a Thrift struct read as parquet.thrift declares them (:func:`_thrift_struct`):
#: field id -> its compact type (a boolean's 1) and, for a struct, its fields, for a list, its
#: items' compact type or their struct's fields. Parquet's generated C++ reader (pyarrow's)
#: takes a declared field only when written with its type, and reads a declared list's items
#: as declared whatever its header says: every field this module reads is declared here, and
#: every list its structs declare (read otherwise, the bytes after it would read two ways).
_Spec = dict[int, tuple[int, Any]]
_I32, _I64, _BINARY, _LIST, _STRUCT = 5, 6, 8, 9, 12
_DATA_PAGE: _Spec = {1: (_I32, None)}  # DataPageHeader(V2), DictionaryPageHeader: num_values
_PAGE_HEADER: _Spec = {
    1: (_I32, None),  # type
    2: (_I32, None),  # uncompressed_page_size
    3: (_I32, None),  # compressed_page_size
    5: (_STRUCT, _DATA_PAGE),
    7: (_STRUCT, _DATA_PAGE),
    8: (_STRUCT, _DATA_PAGE),
}
_KEY_VALUE: _Spec = {1: (_BINARY, None), 2: (_BINARY, None)}
_SCHEMA_ELEMENT: _Spec = {
    1: (_I32, None),  # type
    2: (_I32, None),  # type_length
    3: (_I32, None),  # repetition_type
    4: (_BINARY, None),  # name
    5: (_I32, None),  # num_children
}
_COLUMN_META: _Spec = {
    1: (_I32, None),  # type
    2: (_LIST, _I32),  # encodings
    3: (_LIST, _BINARY),  # path_in_schema
    4: (_I32, None),  # codec
    5: (_I64, None),  # num_values
    6: (_I64, None),  # total_uncompressed_size
    7: (_I64, None),  # total_compressed_size
    8: (_LIST, _KEY_VALUE),
    9: (_I64, None),  # data_page_offset
    11: (_I64, None),  # dictionary_page_offset
    13: (_LIST, {}),  # encoding_stats
    16: (_STRUCT, {2: (_LIST, _I64), 3: (_LIST, _I64)}),  # size_statistics
    17: (_STRUCT, {2: (_LIST, _I32)}),  # geospatial_statistics
}
_COLUMN_CHUNK: _Spec = {
    2: (_I64, None),  # file_offset
    3: (_STRUCT, _COLUMN_META),
    8: (_STRUCT, {2: (_STRUCT, {1: (_LIST, _BINARY)})}),  # crypto_metadata
}
_ROW_GROUP: _Spec = {
    1: (_LIST, _COLUMN_CHUNK),
    2: (_I64, None),  # total_byte_size
    3: (_I64, None),  # num_rows
    4: (_LIST, {}),  # sorting_columns
}
_FILE_META: _Spec = {
    1: (_I32, None),  # version
    2: (_LIST, _SCHEMA_ELEMENT),
    3: (_I64, None),  # num_rows
    4: (_LIST, _ROW_GROUP),
    5: (_LIST, _KEY_VALUE),
    6: (_BINARY, None),  # created_by
    7: (_LIST, {}),  # column_orders
}


def _too_deep(depth: int) -> _Unreadable:
    return _Unreadable(
        f"nests a value {depth} levels deep: pyarrow's Thrift reader takes {THRIFT_DEPTH}"
    )


def _too_many(size: int) -> _Unreadable:
    return _Unreadable(
        f"holds a list or map of {size} items: pyarrow's Thrift reader takes {THRIFT_ITEMS}"
    )


def _thrift_items(
    buf: bytes, pos: int, depth: int, step: int, spec: _Spec | int | None = None
) -> tuple[list[Any], int]:
    """A list (or set) ``depth`` levels deep, and where it ends: its items one deeper, but
    structs ``step`` deeper (:func:`_thrift_struct`). ``spec``: what a list the schema
    declares holds (a compact type, or the fields of its structs, :data:`_Spec`): Thrift's
    generated C++ reader reads its items so whatever type the list's header names."""
    if pos >= len(buf):
        raise _PastBytes("ends inside a list")
    head = buf[pos]
    pos += 1
    size, item = head >> 4, head & 0x0F
    if size == 15:
        size, pos = _size(buf, pos)
    if size > THRIFT_ITEMS:
        raise _too_many(size)
    if spec is not None:  # a list the schema declares: its items read as declared
        item = spec if isinstance(spec, int) else 12
    if not size:
        return [], pos
    if item == 12:
        items = []
        known = spec if isinstance(spec, dict) else None
        for _ in range(size):
            value, pos = _thrift_struct(buf, pos, depth + step, step, known)
            items.append(value)
        return items, pos
    if depth + 1 > THRIFT_DEPTH:
        raise _too_deep(depth + 1)
    if item in (1, 2):  # a list's booleans are a byte each
        if pos + size > len(buf):
            raise _PastBytes("ends inside a list")
        return [b == 1 for b in buf[pos : pos + size]], pos + size
    items = []
    for _ in range(size):
        value, pos = _thrift_value(buf, pos, item, depth + 1, step)
        items.append(value)
    return items, pos


def _thrift_map(buf: bytes, pos: int, depth: int, step: int) -> tuple[None, int]:
    size, pos = _size(buf, pos)
    if size > THRIFT_ITEMS:
        raise _too_many(size)
    if size:
        if depth + 1 > THRIFT_DEPTH:
            raise _too_deep(depth + 1)
        if pos >= len(buf):
            raise _PastBytes("ends inside a map")
        key, value = buf[pos] >> 4, buf[pos] & 0x0F
        pos += 1
        if key in _NUMBERS and value in _NUMBERS:  # entries of numbers: in one step
            ends = _skip_numbers(buf, pos, size, key, value)
            if ends is not None:
                return None, ends
        for _ in range(size):
            pos = _thrift_entry(buf, pos, key, depth, step)
            pos = _thrift_entry(buf, pos, value, depth, step)
    return None, pos


def _thrift_entry(buf: bytes, pos: int, kind: int, depth: int, step: int) -> int:
    """Where a map's key or value of compact type ``kind`` at ``pos`` ends. A boolean there is
    a byte, as Thrift's C++ ``readBool`` reads one when no field header holds it (only a
    field's boolean is its type, :func:`_thrift_value`): read as no byte, a map of booleans
    shifted the rest of the struct two bytes an entry from pyarrow's reading (before-stop
    read C-01 of session 17: a decoy page size, a row group's records)."""
    if kind in (1, 2):
        if pos >= len(buf):
            raise _PastBytes("ends inside a map")
        return pos + 1
    return _thrift_skip(buf, pos, kind, depth + 1, step)


def _thrift_binary(buf: bytes, pos: int) -> tuple[bytes, int]:
    size, pos = _size(buf, pos)
    if size > THRIFT_BINARY_BYTES:
        raise _Unreadable(
            f"holds a binary of {size} bytes: pyarrow's Thrift reader takes {THRIFT_BINARY_BYTES}"
        )
    if pos + size > len(buf):
        raise _PastBytes("ends inside a binary")
    return buf[pos : pos + size], pos + size


#: Compact types of numbers and the bytes each takes in a list or a map (0: a varint): a
#: boolean's byte, i16, i32 and i64 varints, a byte, a double, a UUID.
_NUMBERS = {1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0, 7: 8, 13: 16}
_AN_I32 = (_I32, None)
#: Compact types of a field not declared (:data:`_Spec`) that are passed over, not kept: a
#: binary, a list, a set, a map, a struct (:func:`_thrift_skip`).
_SKIPPED = frozenset((8, 9, 10, 11, 12))
#: 64 varints of at most 10 bytes each (:func:`_varint`, Thrift's C++ ``readVarint64``).
_VARINTS = re.compile(rb"(?:[\x80-\xff]{0,9}+[\x00-\x7f]){64}")


def _skip_numbers(
    buf: bytes, pos: int, size: int, kind: int, other: int | None = None
) -> int | None:
    """Where ``size`` numbers of compact type ``kind`` (:data:`_NUMBERS`) at ``pos`` end, found
    without reading them one by one (``other``: a map's values' type, each after a key); None
    when they do not all read so: they are then read one by one, so that the words saying why
    are that reading's."""
    width = _NUMBERS[kind] + (0 if other is None else _NUMBERS[other])
    if width and (other is None or (_NUMBERS[kind] and _NUMBERS[other])):
        ends = pos + size * width
        return ends if ends <= len(buf) else None
    if other is not None and (_NUMBERS[kind] or _NUMBERS[other]):
        return None  # a varint beside a number of fixed width
    count = size if other is None else 2 * size
    try:
        while count >= 64:
            run = _VARINTS.match(buf, pos)
            if run is None:
                return None
            pos, count = run.end(), count - 64
        for _ in range(count):
            pos = _varint(buf, pos)[1]
    except _Unreadable:
        return None
    return pos


def _thrift_skip(buf: bytes, pos: int, kind: int, depth: int, step: int) -> int:
    """Where the value of compact type ``kind`` at ``pos`` ends, read as :func:`_thrift_value`
    reads it (refused alike, in the same words) but making no value: a field that is read for
    nothing (one not declared in :data:`_Spec`, or written with another type), a map's key or
    value. A list of numbers is passed over in one step (:func:`_skip_numbers`), a binary is
    not copied: a hostile file's unknown fields cost little more than they cost Arrow C++."""
    if depth > THRIFT_DEPTH:
        raise _too_deep(depth)
    if kind == 8:
        size, end = _size(buf, pos)
        if size > THRIFT_BINARY_BYTES or end + size > len(buf):
            return _thrift_binary(buf, pos)[1]  # refused: the words of why
        return end + size
    if kind not in (9, 10):
        return _thrift_value(buf, pos, kind, depth, step)[1]
    return _skip_list(buf, pos, depth, step)


def _skip_list(buf: bytes, pos: int, depth: int, step: int) -> int:
    """Where the list (or set) at ``pos``, ``depth`` levels deep, ends (:func:`_thrift_skip`):
    its numbers in one step, its other items by :func:`_skip_each`; read by
    :func:`_thrift_items` where they do not read so, which then says why."""
    if pos >= len(buf):
        raise _PastBytes("ends inside a list")
    size, item, start = buf[pos] >> 4, buf[pos] & 0x0F, pos + 1
    if size == 15:
        size, start = _size(buf, start)
    if 0 < size <= THRIFT_ITEMS and depth < THRIFT_DEPTH:
        if item in _NUMBERS:
            ends = _skip_numbers(buf, start, size, item)
            if ends is not None:
                return ends
        elif item != 12 or depth + step <= THRIFT_DEPTH:
            return _skip_each(buf, start, size, item, depth, step)
    return _thrift_items(buf, pos, depth, step)[1]


#: The greatest first byte of an empty binary, list or set, map (a size of 0; a struct's is
#: any byte of type nibble 0, its STOP).
_EMPTY = {8: 0x00, 9: 0x0F, 10: 0x0F, 11: 0x00}


def _skip_each(buf: bytes, pos: int, size: int, item: int, depth: int, step: int) -> int:
    """Where ``size`` items of compact type ``item`` (no number) at ``pos`` end, in a list
    ``depth`` levels deep (less than :data:`THRIFT_DEPTH`): a binary of a one-byte length, an
    empty struct, list or map read inline, any other as :func:`_thrift_skip` reads it."""
    end = len(buf)
    if item == 8:
        for _ in range(size):
            if pos < end and buf[pos] < 0x80 and pos + 1 + buf[pos] <= end:
                pos += 1 + buf[pos]
            else:
                pos = _thrift_binary(buf, pos)[1]
        return pos
    if item == 12:  # a struct's level is the list's and ``step`` (:func:`_thrift_struct`)
        for _ in range(size):
            if pos < end and not buf[pos] & 0x0F:
                pos += 1  # its STOP
            else:
                pos = _thrift_struct(buf, pos, depth + step, step)[1]
        return pos
    most = _EMPTY.get(item, -1)
    for _ in range(size):
        if pos < end and buf[pos] <= most:
            pos += 1
        else:
            pos = _thrift_skip(buf, pos, item, depth + 1, step)
    return pos


def _thrift_value(buf: bytes, pos: int, kind: int, depth: int, step: int) -> tuple[Any, int]:
    """The value of compact type ``kind`` at ``pos`` and where it ends: ints (an i32's and an
    i16's varint cut to 32 bits, zigzagged, an i16 then cut to 16, as Thrift's C++ reader
    does), bytes, lists, structs as dicts of field id (maps are skipped: None). ``depth``: its
    level as pyarrow's Thrift reader counts them (:data:`THRIFT_DEPTH`: the outermost struct
    1, each value inside a struct one more)."""
    if depth > THRIFT_DEPTH:
        raise _too_deep(depth)
    if kind in (1, 2):  # a boolean field's value is its type
        return kind == 1, pos
    if kind in (4, 5, 6):
        raw, pos = _varint(buf, pos)
        if kind == 6:
            return _zigzag(raw & 0xFFFFFFFFFFFFFFFF), pos
        value = _zigzag(raw & 0xFFFFFFFF)  # zigzag on 32 bits, then an i16 cut to 16
        return (_i16(value) if kind == 4 else value), pos
    if kind == 8:
        return _thrift_binary(buf, pos)
    if kind == 12:
        return _thrift_struct(buf, pos, depth, step)
    if kind in (9, 10):
        return _thrift_items(buf, pos, depth, step)
    if kind == 11:
        return _thrift_map(buf, pos, depth, step)
    width = _FIXED.get(kind)
    if width is None:
        raise _Unreadable(f"holds a value of Thrift compact type {kind}, which is none")
    if pos + width > len(buf):
        raise _PastBytes("ends inside a value")
    return (buf[pos] if kind == 3 else None), pos + width


def _thrift_struct(
    buf: bytes,
    pos: int = 0,
    depth: int = 1,
    step: int = 0,
    spec: _Spec | None = None,
    into: dict[int, Any] | None = None,
) -> tuple[dict[int, Any], int]:
    """The struct at ``pos`` (its fields by id) and where it ends; ``depth`` its level (the
    outermost 1: :func:`_thrift_value`). ``step``: the levels a list adds to its structs'
    (pyarrow's reader counts one for a list it skips, none for a list of structs it knows):
    1 for a page header, which holds no list pyarrow knows, so that its count is pyarrow's;
    0 for a footer, whose known lists of structs (row groups, columns) are then counted as
    pyarrow does, and a list past them one level short: this reads any footer pyarrow does.

    Read as Thrift's C++ compact reader and Parquet's generated C++ reader (pyarrow's) read
    it: a field header whose type (low nibble) is 0 ends the struct whatever its high nibble;
    a long-form field id is zigzagged on 32 bits, then cut to 16 (as a delta's sum is);
    ``spec`` (:data:`_Spec`) names the fields the schema declares and their types: one written
    of another type is skipped (its earlier value kept), a struct given twice is read into the
    first (``into``: its fields then the ones the second sets), a list's items are read as the
    schema declares them (:func:`_thrift_items`); any other field given twice is the last."""
    if depth > THRIFT_DEPTH:
        raise _too_deep(depth)
    fields: dict[int, Any] = {} if into is None else into
    last = 0
    inner = depth + 1
    shallow = inner <= THRIFT_DEPTH
    end = len(buf)
    while True:
        if pos >= end:
            raise _PastBytes("ends inside a struct")
        head = buf[pos]
        pos += 1
        kind = head & 0x0F
        if not kind:  # STOP (Thrift's C++ reader reads the type nibble only)
            return fields, pos
        if head > 0x0F:
            last += head >> 4
            if last > 0x7FFF:
                last = _i16(last)
        else:
            raw, pos = _varint(buf, pos)
            last = _i16(_zigzag(raw & 0xFFFFFFFF))
        if kind == 5 and shallow and pos < end and buf[pos] < 0x80:
            # a one-byte i32 (most of a page header's), kept unless declared of another type
            if spec is None or spec.get(last, _AN_I32)[0] == 5:
                fields[last] = (buf[pos] >> 1) ^ -(buf[pos] & 1)
            pos += 1
            continue
        known = spec.get(last) if spec is not None else None
        if (kind in _SKIPPED) if known is None else known[0] != (1 if kind == 2 else kind):
            # read for where it ends only: a binary, list, map or struct not declared, or a
            # declared field of another type (skipped, as C++ does); an empty one inline
            first = buf[pos] if shallow and pos < end else 0xFF
            if first <= _EMPTY.get(kind, -1) or (kind == 12 and not first & 0x0F):
                pos += 1
            else:
                pos = _thrift_skip(buf, pos, kind, inner, step)
            continue
        if known is not None and kind in (9, 12):
            pos = _declared(buf, pos, kind, known[1], fields, last, inner, step)
        else:
            fields[last], pos = _thrift_value(buf, pos, kind, inner, step)


def _declared(
    buf: bytes,
    pos: int,
    kind: int,
    spec: _Spec | int,
    fields: dict[int, Any],
    fid: int,
    depth: int,
    step: int,
) -> int:
    """A declared struct (``kind`` 12) or list (9) field ``fid`` of ``spec`` at ``pos``,
    ``depth`` levels deep, read into ``fields`` as :func:`_thrift_struct` says; where it ends."""
    if depth > THRIFT_DEPTH:
        raise _too_deep(depth)
    if kind == 12:
        before = fields.get(fid)
        known = spec if isinstance(spec, dict) else None
        fields[fid], pos = _thrift_struct(
            buf, pos, depth, step, known, before if isinstance(before, dict) else None
        )
    else:
        fields[fid], pos = _thrift_items(buf, pos, depth, step, spec)
    return pos


class _Bytes:
    """Reads ``source`` (a path, or what :func:`open_file` opened) at offsets."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.file = open(source, "rb") if isinstance(source, (str, os.PathLike)) else None

    def __enter__(self) -> _Bytes:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()

    def size(self) -> int:
        if self.file is not None:
            return os.fstat(self.file.fileno()).st_size
        if hasattr(self.source, "size"):  # pyarrow's NativeFile
            return int(self.source.size())
        return int(self.source.seek(0, os.SEEK_END))

    def read(self, offset: int, size: int) -> bytes:
        if self.file is not None:
            return os.pread(self.file.fileno(), size, offset)
        if hasattr(self.source, "read_at"):  # pyarrow's NativeFile
            return bytes(self.source.read_at(size, offset))
        self.source.seek(offset)
        return bytes(self.source.read(size))


class Chunk(NamedTuple):
    """A column chunk's metadata as its footer writes it (:func:`written_chunks`)."""

    values: int
    uncompressed: int
    compressed: int
    #: Where its first page starts (its dictionary page's, when it has one).
    start: int


def _footer_chunks(source: Any) -> list[list[Chunk | None]]:
    """Each row group's column chunks as the footer's bytes write them (None: a chunk whose
    metadata is not written in the clear, an encrypted column's); :class:`_Unreadable` saying
    why they are not read so."""
    with _Bytes(source) as data:
        size = data.size()
        tail = data.read(size - 8, 8) if size >= 8 else b""
        if len(tail) != 8 or tail[4:] != b"PAR1":
            raise _Unreadable("does not end in PAR1 (an encrypted footer's file ends in PARE)")
        length = int.from_bytes(tail[:4], "little")
        if length > size - 12:
            raise _PastBytes(f"is {length} bytes long, more than the file holds")
        footer, _ = _thrift_struct(data.read(size - 8 - length, length), spec=_FILE_META)
    return [
        [_chunk(chunk) for chunk in _of(_of(group, dict).get(1, []), list)]
        for group in _of(footer.get(4, []), list)
    ]


def _chunk(chunk: Any) -> Chunk | None:
    """A footer's column chunk (its Thrift fields by id) as a :class:`Chunk` (None: its
    metadata is not written in the clear, an encrypted column's)."""
    meta = _of(chunk, dict).get(3)
    if not isinstance(meta, dict) or chunk.get(8) is not None:  # crypto_metadata
        return None
    offsets = [meta.get(9), meta.get(11)]
    start = min((o for o in offsets if type(o) is int and o > 0), default=0)
    sizes = [meta.get(5, 0), meta.get(6, 0), meta.get(7, 0)]
    if any(type(n) is not int for n in sizes):
        raise _Unreadable("writes a column chunk's counts as no integers")
    return Chunk(sizes[0], sizes[1], sizes[2], start)


def _of(value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise _Unreadable(f"writes a {kind.__name__} as another Thrift type")
    return value


def written_chunks(source: Any) -> list[list[Chunk | None]] | None:
    """Each row group's column chunks as the file's footer writes them (None: a chunk whose
    metadata is not written in the clear, an encrypted column's), read from the footer's bytes
    and not through pyarrow's accessor (``row_group(i).column(j)``), which aborts the process
    on a chunk it cannot describe (:func:`footer_refusal`); None when the footer is not read
    so (:func:`written_page_bytes` says why)."""
    try:
        return _footer_chunks(source)
    except (_Unreadable, OSError):
        return None


#: Writers whose column chunks' sizes leave out their dictionary page's header (parquet-mr
#: before 1.2.9, PARQUET-816): pyarrow reads up to 100 bytes past such a chunk (Arrow's
#: ``kMaxDictHeaderSize``), and so does :func:`written_page_bytes`.
_SHORT_CHUNKS = re.compile(r"parquet-mr version 1\.(?:[01]\.|2\.[0-8](?!\d))")
_SHORT_CHUNK_BYTES = 100


def written_page_bytes(source: Any, names: list[str] | None = None, created_by: str = "") -> int:
    """The bytes the file's pages inflate to as their headers say (each page's
    ``uncompressed_page_size``, what pyarrow allocates to decompress it), read header by header
    through each column chunk's bytes to its end (:func:`_chunk_page_bytes`).
    :class:`Unreadable`, saying why, for a footer or a page header pyarrow reads that are not
    read so, which pyarrow does not read either (past its Thrift reader's limits,
    :data:`THRIFT_DEPTH`; ending past the chunk; without its sizes): the footer's sizes are
    then no bound to trust; :class:`InflateLimitError` past :data:`MOST_PAGES` pages.
    ``names``: each column's, to name it; ``created_by``: the writer the footer names
    (:data:`_SHORT_CHUNKS`)."""
    try:
        chunks = _footer_chunks(source)
    except _Unreadable as exc:
        raise Unreadable(f"its footer {exc}") from None
    padded = _SHORT_CHUNKS.match(created_by) is not None
    total = pages = skipped = 0
    with _Bytes(source) as data:
        size = data.size()
        for g, group in enumerate(chunks):
            for j, chunk in enumerate(group):
                if chunk is None or chunk.start <= 0:
                    continue  # encrypted (its reader refuses it), or no page offset
                try:
                    inflated, read, _, passed = _chunk_page_bytes(
                        data, chunk, size, padded, MOST_PAGES - pages, MOST_SKIPPED_PAGES - skipped
                    )
                except _Unreadable as exc:
                    name = names[j] if names is not None and j < len(names) else f"#{j + 1}"
                    raise Unreadable(f"column {name!r}, row group {g + 1}: {exc}") from None
                total, pages, skipped = total + inflated, pages + read, skipped + passed
                if pages > MOST_PAGES:
                    raise InflateLimitError(
                        f"the file holds more than {MOST_PAGES} pages (lakehouse.parquet."
                        "MOST_PAGES): more than a file within the size limits holds; their"
                        " headers are not read further",
                        "MOST_PAGES",
                        MOST_PAGES,
                    )
                if skipped > MOST_SKIPPED_PAGES:
                    raise InflateLimitError(
                        f"the file holds more than {MOST_SKIPPED_PAGES} pages of a type pyarrow"
                        " skips (lakehouse.parquet.MOST_SKIPPED_PAGES: index pages or of no"
                        " page type, which no writer writes); their headers are not read further",
                        "MOST_SKIPPED_PAGES",
                        MOST_SKIPPED_PAGES,
                    )
    return total


def _chunk_page_bytes(
    data: _Bytes,
    chunk: Chunk,
    size: int,
    padded: bool,
    most: int,
    most_skipped: int = MOST_SKIPPED_PAGES,
) -> tuple[int, int, int, int]:
    """The uncompressed bytes of one column chunk's pages, as their headers say, how many
    pages were read (at most one past ``most``), the values the data pages hold (levels,
    nulls and empty lists counted; at least ``chunk.values`` when they reach it) and the pages
    of a type pyarrow skips (at most one past ``most_skipped``), read through
    its bytes (in a file of ``size`` bytes; ``padded``: :data:`_SHORT_CHUNKS`) a block
    (:data:`_PAGE_BLOCK`) at a time, a header of up to :data:`PAGE_HEADER_BYTES`, as far as
    pyarrow reads them: until its data pages hold ``chunk.values`` values or through a second
    dictionary page (Arrow's ``ComputeColumnChunkRange``, ``SerializedPageReader::NextPage``,
    ``ConfigureDictionary``: "Column cannot have more than one dictionary"). Pyarrow reads no
    page past them, so none past them inflates, and their headers cost no CPU here either
    (until session 18 they were read to the chunk's end: 64M headers of 7 bytes after a chunk's
    one value cost 100 s of CPU where pyarrow read none). A data page of none does not end the
    reading: pyarrow's column reader ends there, but its record reader calls it again while
    records are still wanted and it reads the next page (``LeafReader::LoadBatch``,
    ``HasNextInternal``; session 18, review finding reada 02: a page past one of none was
    decompressed uncounted). Past a data page of none, a header that does not read ends the
    reading instead of refusing the file: pyarrow either ended at the page of none or refuses
    the file there, so no page past it inflates. :class:`_Unreadable` for a header pyarrow
    reads and does not take."""
    end = chunk.start + chunk.compressed
    if end > size or chunk.compressed < 0:  # Arrow's "Invalid column metadata"
        raise _Unreadable(
            f"its column chunk of {chunk.compressed} bytes at byte {chunk.start} runs past"
            f" the file's end ({size} bytes)"
        )
    if padded:
        end += min(_SHORT_CHUNK_BYTES, size - end)
    total = seen = pages = dictionaries = skipped = 0
    pos = at = chunk.start
    block = b""
    none = False  # past a data page of none
    while pos < end and pages <= most and skipped <= most_skipped and seen < chunk.values:
        pages += 1
        if pos - at >= len(block):
            at, block = pos, data.read(pos, min(end - pos, _PAGE_BLOCK))
        try:
            header, stop, at, block = _page_header(data, block, at, pos, end)
            inflated, compressed, values = _page_sizes(header)
        except _Unreadable as exc:
            if none:  # pyarrow ended at the page of none, or refuses the file here
                pages -= 1
                break
            raise _Unreadable(f"the page header at byte {pos} {exc}") from None
        total += inflated
        pos = at + stop + compressed
        if values == 0:  # pyarrow may read on past it (while records are wanted): so do we
            none = True
        if values is not None:
            seen += values
        elif header[1] == 2:  # DICTIONARY_PAGE
            dictionaries += 1
            if dictionaries > 1:  # pyarrow refuses the chunk here
                break
        else:  # a page pyarrow skips
            skipped += 1
    if pages <= most and dictionaries <= 1:
        _past_the_count(data, chunk, seen, pos)
    return total, pages, seen, skipped


def _past_the_count(data: _Bytes, chunk: Chunk, seen: int, pos: int) -> None:
    """:class:`_Unreadable` when a chunk's data pages hold more values than its footer counts
    (``seen``, read to ``pos``): pyarrow and DuckDB read the footer's count and stop, so the
    rest would be lost without a word (session 19, review finding revc 04). A page holding
    more; or, after the counted ones, inside the chunk's own bytes (a padded end is the next
    chunk's), a data page of values, also behind data pages of none (at most
    :data:`_PAST_NONE` of them; session 19, fixe: [1 value][none][1 value] under a count of 1
    lost the second): its header alone is read, a few more at most, so a chunk of millions of
    headers after its values costs no more than before."""
    lost = " (a reader stops at the footer's count: the rest would be lost without a word)"
    if seen > chunk.values >= 0:
        raise _Unreadable(
            f"its footer counts {chunk.values} values, its pages hold {seen}: a corrupt file" + lost
        )
    stop = chunk.start + chunk.compressed
    at, nones = pos, 0
    while seen == chunk.values and at < stop:
        found = _data_page_at(data, at, stop)
        if found is None:
            return  # no data page: nothing is lost
        extra, after = found
        if extra:
            raise _Unreadable(
                f"its footer counts {chunk.values} values, its pages hold more (a data page of"
                f" {extra} at byte {at} after them): a corrupt file" + lost
            )
        nones += 1
        if nones > _PAST_NONE:
            raise _Unreadable(
                f"its footer counts {chunk.values} values, its pages go on past them (more than"
                f" {_PAST_NONE} data pages of none from byte {pos}): a corrupt file" + lost
            )
        at = after


#: Data pages of none read past a chunk's count of values (:func:`_past_the_count`) looking
#: for one of values behind them (no writer writes them; pyarrow reads no page there)
_PAST_NONE = 16


def _data_page_at(data: _Bytes, pos: int, end: int) -> tuple[int, int] | None:
    """The values of a data page whose header is at ``pos`` (in a chunk ending at ``end``) and
    where the next page starts; None when none is there (bytes that read as no page header, or
    another page)."""
    block = data.read(pos, min(end - pos, _PAGE_BLOCK))
    try:
        header, stop, at, _ = _page_header(data, block, pos, pos, end)
        _, compressed, values = _page_sizes(header)
    except _Unreadable:
        return None
    return None if values is None else (values, at + stop + compressed)


def _page_header(
    data: _Bytes, block: bytes, at: int, pos: int, end: int
) -> tuple[dict[int, Any], int, int, bytes]:
    """The page header at ``pos`` in ``block`` (read from ``at``), where it ends in the block,
    and the block: read again from ``pos`` when it ends first, as far as pyarrow reads a
    header (:data:`PAGE_HEADER_BYTES`, the chunk's ``end``)."""
    longest = min(end, pos + PAGE_HEADER_BYTES)
    try:
        try:
            header, stop = _thrift_struct(block, pos - at, 1, 1, _PAGE_HEADER)
        except _PastBytes:
            if at + len(block) >= longest:
                raise
            at, block = pos, data.read(pos, longest - pos)
            header, stop = _thrift_struct(block, 0, 1, 1, _PAGE_HEADER)
    except _PastBytes:
        if longest == end:
            raise _Unreadable(f"runs past its column chunk's end (byte {end})") from None
        raise _Unreadable(
            f"is longer than {PAGE_HEADER_BYTES} bytes, the most pyarrow reads of a page header"
        ) from None
    return header, stop, at, block


def _page_sizes(header: dict[int, Any]) -> tuple[int, int, int | None]:
    """A page header's uncompressed and compressed sizes and its data page's values (None for
    another page), or :class:`_Unreadable` where pyarrow reads none."""
    kind, inflated, compressed = header.get(1), header.get(2), header.get(3)
    if type(kind) is not int or type(inflated) is not int or type(compressed) is not int:
        raise _Unreadable("lacks its type or sizes (required fields)")
    if inflated < 0 or compressed < 0:
        raise _Unreadable(f"says {compressed} bytes compressed, {inflated} uncompressed")
    if kind not in (0, 3):  # a dictionary page, or one pyarrow skips
        return inflated, compressed, None
    values = header.get(5 if kind == 0 else 8)  # data_page_header, data_page_header_v2
    count = values.get(1, 0) if isinstance(values, dict) else 0
    if type(count) is not int or count < 0:
        raise _Unreadable(f"counts {count} values")
    return inflated, compressed, count


# -- batches too large to read --------------------------------------------------------------------

#: What pyarrow raises when a batch of a nested column holds more than one Arrow array does.
_CHUNKED_NESTED = "Nested data conversions not implemented for chunked array outputs"
_ARRAY_BYTES = 2**31  # an Arrow string or list array's 32-bit offsets


def _holds_dictionary(t: pa.DataType) -> bool:
    return pa.types.is_dictionary(t) or any(_holds_dictionary(c) for _, c in _children(t))


def by_row_group(file: pq.ParquetFile) -> bool:
    """Whether the file is read a row group at a time (:func:`iter_batches`): more than one
    row group, and a dictionary inside a list, struct or map (the file's ``ARROW:schema`` keeps
    it: pandas categoricals in a struct). Each row group has its own dictionary, and pyarrow's
    batch reader cannot put a nested column's batch spanning two in one array ("Nested data
    conversions not implemented for chunked array outputs")."""
    return file.metadata.num_row_groups > 1 and any(
        is_nested(f.type) and _holds_dictionary(f.type) for f in file.schema_arrow
    )


def iter_batches(
    file: pq.ParquetFile, batch_rows: int, source: Any = None
) -> Iterator[pa.RecordBatch]:
    """The file's batches of at most ``batch_rows`` records, as the API and the loader read them
    alike, none decoding past :data:`DECODED_BATCH_BYTES` of the values a file can hold far more
    of decoded than its pages do (:func:`read_plan`): within each row group when
    :func:`by_row_group` says so or the plan sizes its batches (a batch then ends at its row
    group's end). With the file's ``source`` (what :func:`open_file` opened), a text or bytes
    leaf the plan names is read as its dictionary, to be decoded a piece at a time by
    :func:`decoded_pieces`; :class:`TooLarge` for values no batch can bound."""
    # a generator: what it reads first (the dictionaries) fails where the batches' reading does
    plan = read_plan(file, batch_rows, source) if source is not None else None
    if plan is not None and plan.refusal is not None:
        raise TooLarge(plan.refusal)
    if plan is not None and plan.dictionaries:
        file = open_file(source, metadata=file.metadata, read_dictionary=plan.dictionaries)
    rows = plan.rows if plan is not None else None
    if rows is None and not by_row_group(file):
        yield from file.iter_batches(batch_size=batch_rows)
        return
    for g in range(file.metadata.num_row_groups):
        size = rows[g] if rows is not None else batch_rows
        yield from file.iter_batches(batch_size=size, row_groups=[g])


class TooLarge(ValueError):
    """A batch of a Parquet file too large to read (:func:`iter_batches`, before reading it):
    the API's 413, the loader's ``too_large``."""


#: The most bytes a batch the API and the loader read decodes to of the values a Parquet file
#: can hold far more of decoded than its pages do (:func:`read_plan`), and that dictionaries of
#: text or bytes decode to in one piece they look at (:func:`decoded_pieces`): a dictionary
#: keeps a value once, a record its copy, so a file of a few KB can hold a GB decoded (the API
#: runs in 1 GiB).
DECODED_BATCH_BYTES = 64 * 1024**2


class Leaf(NamedTuple):
    """A leaf column of a Parquet file (:func:`read_plan`)."""

    column: int
    #: Its names joined by dots (``b.list.element``: a list's items), as the footer gives it.
    path: str
    #: FIXED_LEN_BYTE_ARRAY's width (0: another physical type).
    width: int
    #: Text or bytes pyarrow reads decoded, a value per record, where ``read_dictionary`` applies.
    text: bool
    #: Inside a list or map: the records' values are not one per record.
    repeated: bool


class Plan(NamedTuple):
    """How :func:`iter_batches` reads a file (:func:`read_plan`)."""

    #: The leaves (their indices) read as their dictionaries.
    dictionaries: list[int]
    #: Records per batch in each row group; None: batches of ``read_batch_rows`` as pyarrow
    #: gives them (across row groups unless :func:`by_row_group`).
    rows: list[int] | None
    #: Why no batch can bound the file's values, or None.
    refusal: str | None


def _arrow_leaves(t: pa.DataType, plain: bool = True) -> Iterator[tuple[pa.DataType, bool]]:
    """The leaf types of ``t`` in the order of the file's Parquet leaves, each with whether it
    is a plain ``string`` or ``binary`` (not under a dictionary or extension type)."""
    if isinstance(t, pa.BaseExtensionType) or pa.types.is_dictionary(t):
        plain = False
    children = _children(t)
    if not children:
        yield t, plain
    for _, child in children:
        yield from _arrow_leaves(child, plain)


_DICTIONARY_READ = (pa.binary(), pa.large_binary(), pa.string(), pa.large_string())


def leaves(file: pq.ParquetFile) -> list[Leaf]:
    """The file's leaf columns (:class:`Leaf`), at every depth."""
    schema = file.schema
    arrow = [leaf for f in file.schema_arrow for leaf in _arrow_leaves(f.type)]
    if len(arrow) != len(schema):  # a schema Arrow reads otherwise: none read as a dictionary
        arrow = [(pa.null(), False)] * len(schema)
    found = []
    for i, (t, plain) in enumerate(arrow):
        column = schema.column(i)
        wide = column.physical_type == "FIXED_LEN_BYTE_ARRAY"
        found.append(
            Leaf(
                i,
                column.path,
                int(column.length) if wide else 0,
                column.physical_type == "BYTE_ARRAY" and plain and t in _DICTIONARY_READ,
                column.max_repetition_level > 0,
            )
        )
    return found


def _dictionary_leaves(values: pa.Array) -> Iterator[pa.Array]:
    """A batch column's arrays of its leaves, in the order of :func:`_arrow_leaves`."""
    if isinstance(values, pa.ExtensionArray):
        yield from _dictionary_leaves(values.storage)
        return
    t = values.type
    if pa.types.is_dictionary(t) or not _children(t):
        yield values
    elif pa.types.is_struct(t):
        for child in values.flatten():
            yield from _dictionary_leaves(child)
    elif pa.types.is_map(t):
        yield from _dictionary_leaves(values.keys)
        yield from _dictionary_leaves(values.items)
    else:
        yield from _dictionary_leaves(values.values)


def _first_record(
    source: Any, meta: pq.FileMetaData, group: int, names: list[str], dictionaries: list[int]
) -> pa.RecordBatch | None:
    """Row group ``group``'s first record of the columns ``names``, the leaves
    ``dictionaries`` read as their dictionaries (None: the group holds no record)."""
    opened = open_file(source, metadata=meta, read_dictionary=dictionaries)
    return next(opened.iter_batches(batch_size=1, row_groups=[group], columns=names), None)


def _group_records(
    source: Any,
    meta: pq.FileMetaData,
    group: int,
    names: list[str],
    every: list[int],
    unreadable: set[int],
) -> tuple[pa.RecordBatch | None, dict[int, pa.RecordBatch | None]]:
    """Row group ``group``'s first record with the leaves ``every`` read as their
    dictionaries; where pyarrow cannot, the record read plainly (before its chunks are looked
    at) and each leaf's alone (the second item), a leaf it cannot read so added to
    ``unreadable`` (:func:`_longest_values`)."""
    alone: dict[int, pa.RecordBatch | None] = {}
    try:
        return _first_record(source, meta, group, names, every), alone
    except (OSError, pa.ArrowNotImplementedError) as exc:
        if not _no_dictionary_read(exc):
            raise
    batch = _first_record(source, meta, group, names, [])
    for column in every:
        try:
            alone[column] = _first_record(source, meta, group, names, [column])
        except (OSError, pa.ArrowNotImplementedError) as exc:
            if not _no_dictionary_read(exc):
                raise
            unreadable.add(column)
    return batch, alone


def _no_dictionary_read(exc: Exception) -> bool:
    """Whether ``exc`` is pyarrow refusing to read a chunk's pages as their dictionary
    ("Not yet implemented: DecodeArrow of DictAccumulator for DeltaByteArrayDecoder")."""
    return "DictAccumulator" in str(exc)


def _longest_values(
    file: pq.ParquetFile, source: Any, texts: list[Leaf]
) -> tuple[list[dict[int, int]], set[int]]:
    """For each row group, the longest value of each text leaf's dictionary where its values
    could decode to far more than its pages hold (:func:`_dictionary_longest`). Each row
    group's dictionaries are read with its first record (a column chunk holds at most one
    dictionary page, first), not decoded per record; where that record holds no value of a
    leaf (an empty list first), the dictionary is not read: its chunk's bytes bound its longest
    value. A column chunk's metadata is looked at only once its first record was read (pyarrow
    aborts the process on one it cannot describe, where its reader raises:
    :func:`footer_refusal`).

    pyarrow reads no leaf as its dictionary whose chunk holds pages of another encoding it
    cannot gather into one (``DELTA_BYTE_ARRAY``, ``DELTA_LENGTH_BYTE_ARRAY``: parquet-mr's v2
    writer, DuckDB's, parquet-go; with or without a dictionary page before them): in a row
    group where the read of them all fails so, each leaf is read alone, and one that fails is
    returned in the second set (never read as its dictionary, in any row group), its longest
    value its chunk's bytes where the chunk has a dictionary page (0: none, its values decode to
    about its pages' bytes)."""
    meta = file.metadata
    unreadable: set[int] = set()
    if not texts:
        return [{} for _ in range(meta.num_row_groups)], unreadable
    every = [leaf.column for leaf in texts]
    wanted = {leaf.column for leaf in texts}
    columns: list[int] = []  # the top-level columns holding them, by position
    index: list[int] = []  # their leaves, in order
    start = 0
    for c, f in enumerate(file.schema_arrow):
        count = sum(1 for _ in _arrow_leaves(f.type))
        if wanted.intersection(range(start, start + count)):
            columns.append(c)
            index.extend(range(start, start + count))
        start += count
    names = [file.schema_arrow.field(c).name for c in columns]
    found: list[dict[int, int]] = []
    for g in range(meta.num_row_groups):
        batch, alone = _group_records(source, meta, g, names, every, unreadable)
        if batch is None:
            found.append({})
            continue
        group = meta.row_group(g)
        longest = {}
        for leaf in texts:
            read = alone.get(leaf.column, batch) if alone else batch
            if leaf.column in unreadable:
                chunk = group.column(leaf.column)
                longest[leaf.column] = (
                    int(chunk.total_uncompressed_size) if chunk.has_dictionary_page else 0
                )
                continue
            arrays = (
                [a for c in range(read.num_columns) for a in _dictionary_leaves(read.column(c))]
                if read is not None
                else []
            )
            # leaves read otherwise than asked (names pyarrow selects more by): none read here
            by_leaf = dict(zip(index, arrays, strict=True)) if len(arrays) == len(index) else {}
            values = by_leaf.get(leaf.column)
            dictionary = pa.array([], pa.binary())
            if values is not None and pa.types.is_dictionary(values.type):
                dictionary = values.dictionary
            longest[leaf.column] = _dictionary_longest(dictionary, group.column(leaf.column))
        found.append(longest)
    return found, unreadable


def _dictionary_longest(dictionary: pa.Array, chunk: Any) -> int:
    """The longest value of a column chunk's ``dictionary`` when its values could decode to
    far more than its pages hold (0: they cannot): a dictionary page, and its values times that
    value more than 4 times the bytes of the chunk's other pages past its indices (a chunk
    whose dictionary fell back to plain pages, long distinct texts, is read as it is: read as
    a dictionary, pyarrow would hash every plain value into it). An empty ``dictionary`` (its
    record held no value of the leaf) is not the chunk's: its bytes bound the longest value."""
    if not chunk.has_dictionary_page:
        return 0
    count = int(chunk.num_values)
    if not len(dictionary):
        return int(chunk.total_uncompressed_size) if count else 0
    lengths = pc.binary_length(dictionary)
    longest = int(pc.max(lengths).as_py() or 0)
    held = int(pc.sum(lengths).as_py() or 0) + 4 * len(dictionary) + 4 * count
    plain = max(0, int(chunk.total_uncompressed_size) - held)
    return longest if count * longest > 4 * plain else 0


def _expands(leaf: Leaf, chunk: Chunk) -> bool:
    """Whether a FIXED_LEN_BYTE_ARRAY chunk inside a list or map decodes to more than 4 times
    its pages' bytes (dictionary pages of repeated values; plain pages hold each value)."""
    return chunk.values * leaf.width > 4 * chunk.uncompressed


def _written_chunk(written: list[list[Chunk | None]] | None, group: int, i: int) -> Chunk | None:
    """Column ``i``'s chunk in row group ``group`` as written (None: not known; an encrypted
    chunk, which the reader refuses)."""
    if written is None or group >= len(written) or i >= len(written[group]):
        return None
    return written[group][i]


def _count_text(
    meta: pq.FileMetaData,
    g: int,
    found: list[Leaf],
    longest: dict[int, int],
    unreadable: set[int],
    sums: tuple[list[int], list[int], list[int], list[int]],
) -> None:
    """Adds row group ``g``'s text or bytes (their ``longest`` values) to :func:`read_plan`'s
    sums: bytes per record (``flat``), inside lists or maps (``nested``), of those the
    fixed-width values and text never read as a dictionary (``inside``), per record of text
    never read as a dictionary (``plain``)."""
    flat, nested, inside, plain = sums
    group = meta.row_group(g)
    for i, size in longest.items():
        if found[i].repeated:
            nested[g] += int(group.column(i).num_values) * size
            if i in unreadable:
                inside[g] += int(group.column(i).num_values) * size
        else:
            flat[g] += size
            if i in unreadable:
                plain[g] += size


def _undecodable_refusal(
    found: list[Leaf], longest: dict[int, int], unreadable: set[int], group: int, size: int
) -> str:
    """Why row group ``group`` (0-based) is refused: its text or bytes inside lists or maps
    that pyarrow cannot read as their dictionary could decode to ``size`` bytes, past the bound
    (:func:`read_plan`)."""
    leaf = max(
        (found[i] for i in longest if i in unreadable and found[i].repeated),
        key=lambda leaf: longest[leaf.column],
    )
    return (
        f"column {leaf.path!r}: row group {group + 1} holds text or bytes inside a list or map"
        " in pages the reader cannot read as their dictionary (a dictionary page and"
        f" delta-encoded pages), {size:,} bytes decoded at most, more than a piece holds"
        f" ({DECODED_BATCH_BYTES:,} bytes, lakehouse.parquet.DECODED_BATCH_BYTES): the Parquet"
        " reader cannot tell which records hold them, nor read less than a record; bronze does"
        " not load values this large"
    )


def read_plan(file: pq.ParquetFile, batch_rows: int, source: Any) -> Plan:
    """How :func:`iter_batches` reads the file in batches of at most ``batch_rows`` records so
    that none decodes past :data:`DECODED_BATCH_BYTES` of the values that can decode to far
    more than its pages hold, judged from the footer and each row group's dictionaries before
    any batch is read, at every depth (a struct's field, a list's items, a map's keys and
    values): a FIXED_LEN_BYTE_ARRAY value (``fixed_size_binary``: pyarrow reads it decoded, its
    dictionary pages too) is its width per value, and a text or bytes value of a dictionary
    page its dictionary's longest value (:func:`_dictionary_longest`). A value is one per
    record outside lists and maps; inside one, a row group's values (its chunk's count, list
    items counted) may all be in one record. Where a batch of ``batch_rows`` records (across
    row groups: their values inside lists summed) would decode past the bound, each row group
    is read alone: its text or bytes leaves that would pass it are read as their dictionaries
    (decoded a piece at a time, :func:`decoded_pieces`), and its batches hold as many records
    as its fixed-width values allow (one at least: a value wider than a piece is read a record
    at a time). A row group whose fixed-width values inside lists or maps decode past the bound
    (more than 4 times their pages' bytes, a dictionary's repeated value) is refused: the
    reader cannot tell which records hold them, nor read fewer than one record's. The rest
    (numbers, plain pages) decode to about their pages' bytes, bounded as the file's pages
    inflate (:func:`check_inflation`)."""
    meta = file.metadata
    found = leaves(file)
    texts = [leaf for leaf in found if leaf.text]
    wide = [leaf for leaf in found if leaf.width]
    if not texts and not wide:
        return Plan([], None, None)
    flat: list[int] = []  # bytes per record of a row group
    nested: list[int] = []  # bytes of a row group's values inside lists or maps
    # before a record is read (one may hold them all), from the footer's bytes: pyarrow's
    # accessor of a chunk aborts the process on one it cannot describe (footer_refusal)
    written = written_chunks(source) if any(leaf.repeated for leaf in wide) else None
    for g in range(meta.num_row_groups):
        held = [
            (chunk.values * leaf.width, leaf)
            for leaf in wide
            if leaf.repeated
            and (chunk := _written_chunk(written, g, leaf.column)) is not None
            and _expands(leaf, chunk)
        ]
        inside = sum(size for size, _ in held)
        if inside > DECODED_BATCH_BYTES:
            size, leaf = max(held, key=lambda item: item[0])
            values = size // leaf.width
            return Plan(
                [],
                None,
                f"column {leaf.path!r}: row group {g + 1} holds {values:,} values of"
                f" fixed_size_binary({leaf.width}) inside a list or map, {size:,} bytes"
                f" decoded, more than a piece holds ({DECODED_BATCH_BYTES:,} bytes,"
                " lakehouse.parquet.DECODED_BATCH_BYTES): the Parquet reader cannot tell which"
                " records hold them, nor read less than a record; bronze does not load values"
                " this large",
            )
        flat.append(sum(leaf.width for leaf in wide if not leaf.repeated))
        nested.append(inside)
    inside_of = list(nested)
    longest, unreadable = _longest_values(file, source, texts)
    plain = [0] * meta.num_row_groups  # bytes per record of text read decoded, never a dictionary
    for g in range(meta.num_row_groups):
        _count_text(meta, g, found, longest[g], unreadable, (flat, nested, inside_of, plain))
        if inside_of[g] > DECODED_BATCH_BYTES:  # past the fixed-width check: such text
            return Plan(
                [], None, _undecodable_refusal(found, longest[g], unreadable, g, inside_of[g])
            )
    spanning = min(batch_rows, int(meta.num_rows)) * max(flat, default=0) + sum(nested)
    if spanning <= DECODED_BATCH_BYTES:
        return Plan([], None, None)
    dictionaries: set[int] = set()
    rows: list[int] = []
    for g in range(meta.num_row_groups):
        records = min(batch_rows, int(meta.row_group(g).num_rows))
        if records * flat[g] + nested[g] <= DECODED_BATCH_BYTES:
            rows.append(batch_rows)
            continue
        # its text read as dictionaries, decoded in pieces: its fixed-width values are left
        dictionaries.update(i for i, size in longest[g].items() if size and i not in unreadable)
        width = sum(leaf.width for leaf in wide if not leaf.repeated) + plain[g]
        fits = (DECODED_BATCH_BYTES - inside_of[g]) // width if width else batch_rows
        rows.append(max(1, min(batch_rows, fits)))
    return Plan(sorted(dictionaries), rows, None)


def _row_bytes(values: pa.Array) -> pa.Array | None:
    """The bytes of text or bytes each of ``values`` holds in dictionaries, decoded, at any
    depth (int64, one per value); None when it holds no dictionary."""
    t = values.type
    if not _holds_dictionary(t):
        return None
    if isinstance(values, pa.ExtensionArray):
        return _row_bytes(values.storage)
    if pa.types.is_dictionary(t):
        if not (_is_text(t.value_type) or is_bytes(t.value_type)):
            return None
        lengths = pc.binary_length(values.dictionary).cast(pa.int64())
        return pc.fill_null(pc.take(lengths, values.indices), 0)
    if pa.types.is_struct(t):
        parts = [_row_bytes(child) for child in values.flatten()]
        sizes = [p for p in parts if p is not None]
        return functools.reduce(pc.add, sizes) if sizes else None
    if pa.types.is_fixed_size_list(t):
        inner = _row_bytes(values.flatten())
        if inner is None:
            return None
        ends = pa.array(range(0, (len(values) + 1) * t.list_size, t.list_size), pa.int64())
        return _summed(inner, ends)
    if pa.types.is_map(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
        listed = _entries(values) if pa.types.is_map(t) else values
        if listed.offset:
            listed = pa.concat_arrays([listed])
        inner = _row_bytes(listed.values)
        if inner is None:
            return None
        return _summed(inner, listed.offsets.cast(pa.int64()))
    return None


def _summed(inner: pa.Array, offsets: pa.Array) -> pa.Array:
    """The sums of ``inner`` between consecutive ``offsets`` (a list's rows)."""
    total = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(inner)])
    ends = pc.take(total, offsets)
    return pc.subtract(ends.slice(1), ends.slice(0, len(ends) - 1))


def decoded_pieces(batch: pa.RecordBatch, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """``batch`` (:func:`iter_batches`) in pieces of consecutive records whose dictionaries
    of text or bytes, at any depth, decode to at most :data:`DECODED_BATCH_BYTES` (a record
    holding more: a piece of its own), each column in its type in ``schema`` (the file's
    ``schema_arrow``: a column read as its dictionary decoded, a piece at a time). A batch
    within the bound is one piece (the batch itself)."""
    sizes = [s for s in map(_row_bytes, batch.columns) if s is not None]
    total = functools.reduce(pc.add, sizes) if sizes else None
    if total is None or (pc.sum(total).as_py() or 0) <= DECODED_BATCH_BYTES:
        yield _decoded(batch, schema)
        return
    start, held = 0, 0
    for i, size in enumerate(total.to_pylist()):
        if i > start and held + size > DECODED_BATCH_BYTES:
            yield _decoded(batch.slice(start, i - start), schema)
            start, held = i, 0
        held += size
    yield _decoded(batch.slice(start), schema)


def _decoded_column(values: pa.Array, t: pa.DataType) -> pa.Array:
    """A column read as dictionaries (:func:`read_plan`, at any depth) in its type ``t``."""
    if t.equals(values.type) or not _holds_dictionary(values.type):
        return values
    if pa.types.is_dictionary(values.type):
        return values.dictionary_decode()
    # a piece is a slice of its batch, and a cast of a list's or map's slice decodes every item
    # of the batch (its values array whole): the piece's own items first
    return pa.concat_arrays([values]).cast(t)


def _decoded(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.equals(schema):
        return batch
    columns = [_decoded_column(c, f.type) for c, f in zip(batch.columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _batch_end(file: pq.ParquetFile, first: int, rows: int) -> int:
    """The record after the batch of ``rows`` records from ``first`` (:func:`iter_batches`)."""
    meta = file.metadata
    last = min(first + rows, int(meta.num_rows))
    if by_row_group(file):
        end = 0
        for g in range(meta.num_row_groups):
            end += int(meta.row_group(g).num_rows)
            if end > first:
                return min(last, end)
    return last


def batch_too_large(exc: BaseException, file: pq.ParquetFile, first: int, rows: int) -> str | None:
    """Why a batch of ``rows`` records from record ``first`` (0-based) could not be read, when
    ``exc`` says it holds more of a nested column than one Arrow array holds (else None): the
    Parquet reader (Arrow) reads a nested column's batch into one array of at most 2 GiB and
    cannot split it. The API and the loader read in batches of ``read_batch_rows`` records
    alike, so they meet it at the same records."""
    if _CHUNKED_NESTED not in str(exc):
        return None
    meta = file.metadata
    last = _batch_end(file, first, rows)
    names = file.schema_arrow.names
    nested = {n for n in names if is_nested(file.schema_arrow.field(n).type)}
    big: dict[str, int] = {}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            path = column.path_in_schema  # names joined by dots; a name may hold a dot
            name = next((n for n in nested if path == n or path.startswith(n + ".")), None)
            if name is not None:
                big[name] = max(big.get(name, 0), column.total_uncompressed_size)
    held = [f"{n!r} ({size:,} bytes in a row group)" for n, size in big.items()]
    held = [h for h, size in zip(held, big.values(), strict=True) if size >= _ARRAY_BYTES]
    where = f" of the column {', '.join(held)}" if held else " of a nested column"
    return (
        f"records {first + 1} to {last} (one read of read_batch_rows = {rows} records) hold more "
        f"than 2 GiB{where}: the Parquet reader (Arrow) reads a nested column's batch as one "
        "array, which holds at most 2 GiB, and cannot split it; bronze does not load values "
        "this large"
    )


# -- nested values as JSON text ------------------------------------------------------------------

#: A float that JSON has no number for, as the JSON string proto3's JSON mapping gives it.
_FLOAT_WORDS = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}


class NoText(ValueError):
    """A nested value with no JSON text (bytes that are not UTF-8, a type Arrow cannot print)."""


def is_nested(t: pa.DataType) -> bool:
    """Whether values of ``t`` are lists, structs or maps (a dictionary or extension type of
    one too)."""
    if isinstance(t, pa.BaseExtensionType):
        return is_nested(t.storage_type)
    if pa.types.is_dictionary(t):
        return is_nested(t.value_type)
    return bool(pa.types.is_struct(t) or pa.types.is_map(t) or _list_like(t))


def type_depth(t: pa.DataType) -> int:
    """How deep a type nests: each struct and list one level, a map two (its entries' struct);
    a scalar 0 (``dialect.MAX_TYPE_DEPTH`` bounds a bronze column's)."""
    if isinstance(t, pa.BaseExtensionType):
        return type_depth(t.storage_type)
    if pa.types.is_dictionary(t):
        return type_depth(t.value_type)
    if not is_nested(t):
        return 0
    inner = max((type_depth(child) for _, child in _children(t)), default=0)
    return inner + (2 if pa.types.is_map(t) else 1)


def has_text(t: pa.DataType) -> bool:
    """Whether every value of type ``t`` has a text (:func:`json_texts` for a nested one), so
    a column bronze holds as text keeps it: no bytes at any depth (they need not be UTF-8),
    and every scalar a type Arrow prints."""
    if isinstance(t, pa.BaseExtensionType):
        return has_text(t.storage_type)
    if pa.types.is_dictionary(t):
        return has_text(t.value_type)
    if pa.types.is_fixed_size_list(t) or pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return has_text(t.value_type)
    if is_nested(t):
        return all(has_text(child) for _, child in _children(t))
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return False
    if pa.types.is_binary_view(t):
        return False
    try:
        pc.cast(pa.nulls(0, t), pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _encode(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _leaf_fragments(values: pa.Array, marks: bool = False) -> list[str]:
    """Each scalar's JSON text ("null" for a null). ``marks``: bytes that are not UTF-8 as the
    marker ``{"base64": "..."}`` (:func:`marked_text`), else :class:`NoText`."""
    t = values.type
    if pa.types.is_null(t):
        return ["null"] * len(values)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return ["null" if v is None else _encode(v) for v in values.to_pylist()]
    if pa.types.is_boolean(t):
        return ["null" if v is None else ("true" if v else "false") for v in values.to_pylist()]
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        out = []
        for v in values.to_pylist():
            try:
                out.append("null" if v is None else _encode(v.decode("utf-8")))
            except UnicodeDecodeError as exc:
                if not marks:
                    raise NoText(f"bytes that are not UTF-8 ({exc})") from exc
                out.append('{"base64":' + _encode(base64.b64encode(v).decode("ascii")) + "}")
        return out
    try:
        texts = pc.cast(values, pa.string()).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise NoText(f"a value of type {t} ({exc})") from exc
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return ["null" if v is None else v for v in texts]
    if pa.types.is_floating(t):
        return ["null" if v is None else _FLOAT_WORDS.get(v, v) for v in texts]
    return ["null" if v is None else _encode(v) for v in texts]  # dates, times: as Arrow prints


def _fragments(values: pa.Array, marks: bool = False) -> list[str]:
    """Each value's compact JSON text ("null" for a null), by ``docs/loading.md`` (Parquet).
    ``marks``: bytes that are not UTF-8 as markers (:func:`marked_text`)."""
    t = values.type
    if isinstance(values, pa.ExtensionArray):
        return _fragments(values.storage, marks)
    if isinstance(values, pa.DictionaryArray):
        return _fragments(values.dictionary_decode(), marks)
    if pa.types.is_fixed_size_list(t) or pa.types.is_list_view(t):
        return _fragments(values.cast(pa.list_(t.value_field)), marks)
    if pa.types.is_large_list_view(t):
        return _fragments(values.cast(pa.large_list(t.value_field)), marks)
    valid = values.is_valid().to_pylist()
    if pa.types.is_struct(t):
        keys = [_encode(t.field(i).name) + ":" for i in range(t.num_fields)]
        fields = [_fragments(child, marks) for child in values.flatten()]  # a null's: null
        return [
            "{" + ",".join(k + f[i] for k, f in zip(keys, fields, strict=True)) + "}"
            if ok
            else "null"
            for i, ok in enumerate(valid)
        ]
    if pa.types.is_map(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = values.offsets.to_pylist()
        first = offsets[0]
        inner = values.values.slice(first, offsets[-1] - first)
        if pa.types.is_map(t):  # its entries, each {"key": k, "value": v}, in order
            inner = pa.StructArray.from_arrays(
                [inner.field(0), inner.field(1)], names=["key", "value"]
            )
        items = _fragments(inner, marks)
        return [
            "[" + ",".join(items[offsets[i] - first : offsets[i + 1] - first]) + "]"
            if ok
            else "null"
            for i, ok in enumerate(valid)
        ]
    return _leaf_fragments(values, marks)


def texts_where_utf8(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """A nested column's values as :func:`json_texts`, null where a value holds bytes that
    are not UTF-8, and the mask of those (the error path: value by value). Raises
    :class:`NoText` for a value without a text for another reason."""
    texts: list[str | None] = []
    bad: list[bool] = []
    for i in range(len(values)):
        one = values.slice(i, 1)
        try:
            texts.append(json_texts(one)[0].as_py())
            bad.append(False)
        except NoText:
            _fragments(one, marks=True)  # bytes the only reason, or NoText
            texts.append(None)
            bad.append(True)
    return pa.array(texts, pa.string()), pa.array(bad, pa.bool_())


def rule_texts(values: pa.Array, rule: str) -> tuple[pa.Array, pa.Array | None]:
    """A Parquet column's values as the texts ``rule`` judges them by (:func:`texts_and_gaps`),
    but a timestamp column meeting a naive timestamp type of fewer decimals than microseconds
    (``TIMESTAMP_MS``, ``TIMESTAMP_S``: ``dialect.TIMESTAMP_DIGITS``) as its instants' text in
    UTC without an offset, the type's own form, with its unit's decimals
    (``2020-01-01 00:00:00.123456``; ``.123`` in milliseconds), a nanosecond one's in
    microseconds when it is a whole one (``.123000``: three decimals once the zeros ending them
    are set aside), else nine (no such type holds it; the file is refused for it anyway): one
    reading for the loader and the API's check."""
    digits = dialect.TIMESTAMP_DIGITS.get(dialect.type_name(rule))
    if digits is None or digits >= UNIT_DIGITS["us"] or not pa.types.is_timestamp(values.type):
        return texts_and_gaps(values)
    unit = values.type.unit
    naive = values.cast(pa.timestamp(unit))  # the same instants, as UTC's wall clock
    if UNIT_DIGITS[unit] <= UNIT_DIGITS["us"]:
        return pc.cast(naive, pa.string()), None
    micros = naive.cast(pa.timestamp("us"), safe=False)
    whole = pc.equal(micros.cast(pa.timestamp(unit)), naive)
    texts = pc.if_else(whole, pc.cast(micros, pa.string()), pc.cast(naive, pa.string()))
    return texts, None


def texts_and_gaps(values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """A Parquet column's values as :func:`value_texts`, and where some values have no text
    (bytes that are not UTF-8, at any depth) those null and the mask of them (None: every value
    has a text). One reading for the loader (rescue or refusal) and the API's check (422).
    Raises :class:`NoText` or an Arrow error for a value without a text for another reason."""
    try:
        return value_texts(values), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, NoText):
        if is_bytes(values.type):
            return _bytes_texts(values)
        if is_nested(values.type):  # bytes that are not UTF-8 nested in some values
            return texts_where_utf8(values)
        raise


def is_bytes(t: pa.DataType) -> bool:
    """Whether ``t`` is a type of bytes (binary of any width or layout)."""
    return bool(
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
    )


def _bytes_texts(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Bytes as their UTF-8 text, value by value (null where they are not UTF-8, marked in the
    mask)."""
    texts: list[str | None] = []
    bad: list[bool] = []
    for value in values.to_pylist():
        try:
            texts.append(None if value is None else value.decode("utf-8"))
            bad.append(False)
        except UnicodeDecodeError:
            texts.append(None)
            bad.append(True)
    return pa.array(texts, pa.string()), pa.array(bad, pa.bool_())


def rescued_bytes(value: bytes) -> str:
    """Bytes with no text (not UTF-8) in their rescued form: base64 (RFC 4648, padded), which
    ``_rescued_data`` holds as ``{"column": {"base64": "..."}}`` (``docs/loading.md``)."""
    return base64.b64encode(value).decode("ascii")


def no_text_reason(values: pa.Array, row: int) -> str:
    """What value ``row`` of ``values`` is, where it has no text (:func:`texts_and_gaps`): its
    bytes in base64, or a nested value in its marked form (:func:`marked_text`). The words of
    the loader's refusal and the API's 422."""
    if is_nested(values.type):
        return f"a value holding bytes that are not UTF-8 ({marked_text(values.slice(row, 1))})"
    return f"bytes that are not UTF-8 (base64 {rescued_bytes(values[row].as_py())})"


def marked_text(value: pa.Array) -> str:
    """The rescued form of a nested value (an array of one) holding bytes that are not UTF-8:
    ``{"arrow_type": "<its Parquet column's Arrow type>", "value": <its JSON text>}``, each
    such bytes value in it the marker ``{"base64": "..."}`` (RFC 4648, padded), all else as
    :func:`json_texts` writes it. The type says which places hold bytes (a string there is the
    bytes' UTF-8 text, an object the marker), so a struct that looks like a marker is never
    taken for one: lossless."""
    return (
        '{"arrow_type":' + _encode(str(value.type)) + ',"value":' + _fragments(value, True)[0] + "}"
    )


def value_texts(values: pa.Array) -> pa.Array:
    """A Parquet column's values as the text the dialect's rule judges them by when the column
    is not kept as written (:func:`kept_as_written`): a nested value its JSON text
    (:func:`json_texts`), another its text as Arrow casts it (a double ``1.0`` is ``1``, a
    decimal keeps its scale), a null null. One path for the loader and the API's check; raises
    :class:`NoText` or an Arrow error for values without a text (bytes that are not UTF-8)."""
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    if is_nested(values.type):
        return json_texts(values)
    return pc.cast(values, pa.string())


def json_texts(values: pa.Array) -> pa.Array:
    """A Parquet column's values as their JSON text (``docs/loading.md``, Parquet): a struct an
    object of its fields in order, a list an array, a map an array of its entries
    ``{"key": k, "value": v}`` in order (keys may repeat or be no strings), a string a JSON
    string, a number as Arrow prints it (a decimal with its scale: ``1.50``; a float its
    shortest text; NaN and infinities the strings ``"NaN"``, ``"Infinity"``,
    ``"-Infinity"``), ``true``/``false``, bytes their UTF-8 text as a string, a date, time or
    timestamp its text as Arrow prints it, as a string. Compact (no space), characters as they
    are (no ``\\u`` escapes but those JSON requires): the form a nested NDJSON value kept as
    text has. A null value is null (not the text ``null``). Raises :class:`NoText`."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    texts = _fragments(values)
    valid = values.is_valid().to_pylist()
    return pa.array([s if ok else None for s, ok in zip(texts, valid, strict=True)], pa.string())


#: The decimals of a second a Parquet (Arrow) timestamp's unit holds
UNIT_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}


def held_by_type(t: pa.DataType, data_type: str) -> bool:
    """Whether every value of a Parquet column of type ``t`` is in the range of the integer type
    ``data_type`` by its type alone (``int16`` in ``SMALLINT``; not ``int16`` in ``UTINYINT``:
    its values are then checked one by one), or, for a timestamp of fewer decimals than
    microseconds (``TIMESTAMP_MS``, ``TIMESTAMP_S``: ``dialect.TIMESTAMP_DIGITS``), a timestamp
    whose unit holds no more (``ms`` in ``TIMESTAMP_MS``; not ``us``: its values are checked one
    by one, :func:`rule_texts`); True when ``data_type`` is neither."""
    digits = dialect.TIMESTAMP_DIGITS.get(dialect.type_name(data_type))
    if digits is not None and digits < UNIT_DIGITS["us"]:
        if pa.types.is_dictionary(t):
            t = t.value_type
        return bool(pa.types.is_timestamp(t) and UNIT_DIGITS[t.unit] <= digits)
    declared = dialect.integer_range(data_type)
    if declared is None:
        return True
    if pa.types.is_dictionary(t):
        t = t.value_type
    if not pa.types.is_integer(t):
        return False
    bits = t.bit_width
    signed = pa.types.is_signed_integer(t)
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return declared[0] <= low and high <= declared[1]


# -- bronze types: what a Parquet column is stored as, and when it is kept as written -----------


class TooManyDigits(ValueError):
    """A decimal256 of more digits than the 38 a Delta decimal holds (``decimal``: its type)."""

    def __init__(self, decimal: pa.DataType) -> None:
        super().__init__(f"{decimal}: more digits than the 38 a Delta decimal holds")
        self.decimal = decimal


def too_many_digits(column: str, decimal: object) -> str:
    """Why a file whose ``column`` holds a decimal of more than 38 digits (``decimal``: that
    decimal's type, ``decimal256(40, 0)``, at any depth in the column, or ``DECIMAL(77,38)``
    past Arrow's 76) is refused, by the API (422, ``type_error``) and the loader
    (``type_conflict``) alike (review finding revc 06: the API said "column type
    struct<...>: Delta holds decimals of at most 38 digits")."""
    return f"column {column!r} is {decimal}: more digits than the 38 a Delta decimal holds"


def storage_type(data_type: str) -> pa.DataType:
    """The Arrow (Delta) type bronze stores a column of ``data_type`` as."""
    t = dialect.type_name(data_type)
    ints = {
        "TINYINT": pa.int8(),
        "SMALLINT": pa.int16(),
        "INTEGER": pa.int32(),
        "BIGINT": pa.int64(),
        "UTINYINT": pa.int16(),
        "USMALLINT": pa.int32(),
        "UINTEGER": pa.int64(),
        "UBIGINT": pa.decimal128(20, 0),
        "HUGEINT": pa.decimal128(38, 0),
    }
    if t in ints:
        return ints[t]
    params = dialect.decimal_params(t)
    if params is not None:
        return pa.decimal128(min(params[0], 38), params[1])
    simple = {
        "DOUBLE": pa.float64(),
        "FLOAT": pa.float32(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
        dialect.BYTES: pa.binary(),
    }
    if t in dialect.TIMESTAMP_DIGITS:  # seconds and milliseconds too: microseconds hold them
        return pa.timestamp("us", tz="UTC")
    return simple.get(t, pa.string())


#: The rule of a struct column: a JSON object whose fields fit (``lakehouse.nested``).
OBJECT = "OBJECT"
#: The rule of a column no text fits (a list or map the table took from Parquet): only null.
UNFIT = "UNFIT"


@functools.lru_cache(maxsize=1024)  # a pure function of the type; per value in nested checks
def rule_type(stored: pa.DataType) -> str | None:
    """The dialect type whose rule values must meet to join a column stored as ``stored``
    (None: a type text cannot be fitted into, such as a list or a struct)."""
    if pa.types.is_string(stored) or pa.types.is_large_string(stored):
        return "VARCHAR"
    names = {
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
    }
    if stored in names:
        return names[stored]
    if pa.types.is_decimal(stored):
        return f"DECIMAL({stored.precision},{stored.scale})"
    if pa.types.is_timestamp(stored):
        return "TIMESTAMP"
    if pa.types.is_struct(stored):
        return OBJECT
    return None


def column_rule(stored: pa.DataType, declared: str | None) -> str | None:
    """The dialect type values must meet to join a column the table has, stored as ``stored``:
    the type the contract declares when it is stored so (``UTINYINT`` is stored as Int16 but
    holds 0..255 only; ``TIMESTAMPTZ`` takes an offset), else the storage type's
    (:func:`rule_type`; a contract written later does not change the table's type)."""
    rule = rule_type(stored)
    if declared is None:
        return rule
    t = dialect.type_name(declared)
    if t == "TIMESTAMPTZ" and rule == "TIMESTAMP":
        return t
    if t == dialect.BYTES and stored == pa.binary():  # a bytes column declared so
        return t
    if storage_type(t) == stored and rule is not None and dialect.decimal_params(t) is None:
        shaped = t in dialect.SHAPED_TEXT or t == dialect.JSON_TEXT
        return t if stored != pa.string() or shaped else rule
    return rule


def bronze_type(t: pa.DataType) -> pa.DataType:
    """The Delta-compatible type bronze stores for an Arrow type (raises :class:`TooManyDigits`)."""
    if isinstance(t, pa.BaseExtensionType):
        return bronze_type(t.storage_type)
    if pa.types.is_dictionary(t):
        return bronze_type(t.value_type)
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_time(t) or pa.types.is_interval(t) or pa.types.is_duration(t):
        return pa.string()
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_float16(t) or pa.types.is_unsigned_integer(t) or pa.types.is_decimal256(t):
        return _bronze_number(t)
    if (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_fixed_size_list(t)
    ):  # Delta has one list type: a fixed-size list is a list (as Delta's log reads it back)
        return pa.list_(bronze_field(t.value_field))
    if pa.types.is_struct(t):
        return pa.struct([bronze_field(t.field(i)) for i in range(t.num_fields)])
    if pa.types.is_map(t):  # a null key type (no entry: :func:`null_keyed_map`) as text
        key = pa.string() if null_keys(t) else bronze_type(t.key_type)
        return pa.map_(key, bronze_type(t.item_type))
    return t


def without_null(t: pa.DataType) -> pa.DataType:
    """``t`` (a :func:`bronze_type`) with Arrow's ``null`` type, at any depth, as ``string``:
    the type a new column (or a struct's new field) is stored as. Every value of a ``null`` type
    is null, so nothing changes; Delta's writer would store it as ``void``, a type no value
    fits afterwards (and none of Delta's protocol)."""
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_list(t):
        return pa.list_(pa.field(t.value_field.name, without_null(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct(
            [pa.field(t.field(i).name, without_null(t.field(i).type)) for i in range(t.num_fields)]
        )
    if pa.types.is_map(t):
        return pa.map_(without_null(t.key_type), without_null(t.item_type))
    return t


def _bronze_number(t: pa.DataType) -> pa.DataType:
    """float16, an unsigned integer or decimal256 as a type Delta holds."""
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_unsigned_integer(t):
        return {8: pa.int16(), 16: pa.int32(), 32: pa.int64()}.get(
            t.bit_width, pa.decimal128(20, 0)
        )
    if t.precision > 38:  # decimal256: Delta holds decimals of up to 38 digits
        raise TooManyDigits(t)
    return pa.decimal128(t.precision, t.scale)


def bronze_field(f: pa.Field) -> pa.Field:
    return pa.field(f.name, bronze_type(f.type), nullable=True)


def widens_to(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether every value of ``source`` fits ``target`` exactly (the file → table rule)."""
    if source == target or pa.types.is_null(source):
        return True
    if pa.types.is_signed_integer(source):
        if pa.types.is_signed_integer(target):
            return bool(target.bit_width >= source.bit_width)
        if pa.types.is_float64(target):
            return bool(source.bit_width <= 32)  # every int32 is a double exactly
        return bool(pa.types.is_float32(target) and source.bit_width <= 16)
    if pa.types.is_float32(source):
        return bool(pa.types.is_float64(target))
    if pa.types.is_fixed_size_binary(source):  # bytes of one length are bytes
        return bool(pa.types.is_binary(target))
    if pa.types.is_struct(source) and pa.types.is_struct(target):
        # every field of the file's struct in the table's (by its exact name), widening to it;
        # a field the table's struct has and the file's lacks is null (Arrow's cast by name)
        fields = {target.field(i).name: target.field(i).type for i in range(target.num_fields)}
        return all(
            source.field(i).name in fields
            and widens_to(source.field(i).type, fields[source.field(i).name])
            for i in range(source.num_fields)
        )
    if pa.types.is_list(source) and pa.types.is_list(target):
        return widens_to(source.value_type, target.value_type)
    if pa.types.is_map(source) and pa.types.is_map(target):
        return widens_to(source.key_type, target.key_type) and widens_to(
            source.item_type, target.item_type
        )
    return False


def kept_as_written(t: pa.DataType, target: pa.DataType, rule: str) -> bool:
    """Whether a Parquet column of type ``t`` joins a column stored as ``target`` (its values
    meeting the rule of dialect type ``rule``) as written: its bronze type widens to ``target``
    without loss and holds only values the rule takes (a ``uint8`` column in a ``UTINYINT``
    column stored as int16; not an ``int16`` one). Else each value goes through its text and the
    rule (the loader's ``via_text``; the API checks those values one by one), the same rule for
    the API and the loader."""
    try:
        source = bronze_type(t)
    except TooManyDigits:
        return False
    return widens_to(source, target) and held_by_type(t, rule) and _shaped_by_type(t, rule)


def text_or_bytes(t: pa.DataType) -> bool:
    """Whether a Parquet column of type ``t`` holds text or bytes (a dictionary of either too):
    the only values a ``BLOB`` column takes (``dialect.BYTES``: text as its UTF-8 bytes); a
    number, date, list, ... is a mismatch there, value by value."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return _is_text(t) or is_bytes(t)


def _shaped_by_type(t: pa.DataType, rule: str) -> bool:
    """Whether every value of a Parquet column of type ``t`` has the shape of the text type
    ``rule`` (``dialect.SHAPED_TEXT``) by its type alone: a ``time`` column's text is a time of
    day, a UUID's its canonical text; a string column's values are checked one by one. True
    when ``rule`` is no such type."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    shaped = dialect.type_name(rule)
    if shaped == "TIME":
        return bool(pa.types.is_time(t))
    if shaped == "UUID":
        return isinstance(t, pa.UuidType)
    if shaped == dialect.JSON_TEXT:  # a string must be one JSON value; a number, a date ...
        return False  # ... by its text, a nested value its JSON text: each judged
    return True
