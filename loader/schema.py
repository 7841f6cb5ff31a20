"""Bronze column types for Parquet files: what Arrow types become, and how they meet the table's.

CSV and JSON values are text typed by the dialect's rule (``loader.fitting``); Parquet values
are typed already, and kept as written where Delta can hold them:

* Types Delta cannot hold are normalised first: naive timestamps are read as UTC and stored as
  ``timestamp`` (UTC, microseconds; never ``timestampNtz``, which raises the table protocol);
  ``time`` becomes its text, a duration or interval the text of its exact seconds
  (``90 seconds``, ``parquet.plain_type``); unsigned integers become the next wider signed type
  (``uint64`` → ``decimal(20, 0)``); ``float16`` → ``float32``; dictionaries are decoded;
  ``decimal256`` becomes ``decimal(p, s)`` (over 38 digits the file is quarantined); a column of
  type ``null`` is text, and so is a ``null`` type nested at any depth (``parquet.without_null``;
  never a Delta ``void``).
* A column the table already has keeps the table's type. A narrower type that widens without
  loss joins it (int8 → … → int64; int8 … int32 → double; float → double; a list whose items
  widen; a struct whose fields are the table's, by exact name, and widen). A struct grows the
  fields the file's struct adds (``nested.merge_struct``). Anything else goes value by value
  through its text (a nested value's: its JSON text, ``lakehouse.parquet.json_texts``) and the
  dialect's rule: what fits is stored, what does not is rescued or refused (the table's
  ``on_mismatch``).
* Column names are case-insensitive: a column that differs from the table's only by case
  (``Amount`` when the table has ``amount``) is refused (quarantined), not added.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from lakehouse import dialect, nested, parquet
from loader.exceptions import FileRejected
from loader.fitting import UNFIT, ColumnPlan, Origin, column_rule, storage_type

widens_to = parquet.widens_to  # the file → table rule, in the core (the API's too)


def normalize_type(t: pa.DataType) -> pa.DataType:
    """The Delta-compatible type bronze stores for an Arrow type (``parquet.bronze_type``); a
    decimal of more than 38 digits refuses the file. ``bronze_type`` builds no type Arrow
    refuses: every field it makes is nullable but a map's key, whose type is text where the
    file's key type holds no value (``parquet.null_keys``)."""
    try:
        return parquet.bronze_type(t)
    except parquet.TooManyDigits as exc:
        raise FileRejected("type_conflict", str(exc)) from exc


def case_problem(
    names: list[str], target: pa.Schema | None, declared: Sequence[str]
) -> FileRejected | None:
    """A file column that differs from the table's column, or else from a column the contract
    declares, only by case (names are compared without case in Delta and DuckDB: it would be
    one column under two spellings)."""
    clash = dialect.case_clash(names, dialect.Spellings(target.names if target else (), declared))
    if clash is None:
        return None
    return FileRejected("invalid_column", clash[1], column=clash[0])


def parquet_plans(
    file_schema: pa.Schema,
    existing: dict[str, pa.DataType],
    declared: dict[str, str],
    written: pa.Schema | None = None,
) -> list[ColumnPlan]:
    """How each column of a Parquet file joins the table.

    A column keeps its Parquet type (normalised for Delta) when the table does not have it yet
    (and no contract declares another type), or when that type widens to the table's without
    loss; else its values go through their text and the dialect's rule (``via_text``), so a
    value that does not fit is rescued or refused like a CSV value. A column of Arrow type
    ``null`` (no value) is text.
    """
    plans = []
    for f in file_schema:
        try:
            source = normalize_type(f.type)
        except FileRejected as exc:
            cause = exc.__cause__
            if isinstance(cause, parquet.TooManyDigits):  # the API's words
                exc.reason = parquet.too_many_digits(f.name, cause.decimal)
                exc.args = (exc.reason,)
            exc.column = f.name
            raise
        if pa.types.is_null(source):
            source = pa.string()
        target = existing.get(f.name)
        if target is None and f.name in declared:
            target = storage_type(declared[f.name])
        if target is not None and pa.types.is_struct(target) and pa.types.is_struct(source):
            # grows the fields the file adds (a null-typed one as text, never void)
            grown = nested.merge_struct(target, parquet.without_null(source))
            if parquet.type_depth(grown) <= dialect.MAX_TYPE_DEPTH:
                target = grown
        if target is None and parquet.type_depth(source) > dialect.MAX_TYPE_DEPTH:
            # a type Delta could not hold (or read back): each value its JSON text
            plans.append(ColumnPlan(f.name, "VARCHAR", "inferred", via_text=source))
        elif target is None:  # a null type nested in it stored as text, never void
            stored = parquet.without_null(source)
            plans.append(ColumnPlan(f.name, "VARCHAR", "inferred", stored, kept=True))
        # kept as written when its type holds only values the rule takes (a UTINYINT column,
        # stored as int16, keeps a uint8 column; an int16 column's values go by the rule)
        elif parquet.kept_as_written(f.type, target, _rule(target, f, declared)):
            plans.append(ColumnPlan(f.name, "VARCHAR", "existing", target, kept=True))
        else:
            origin: Origin = "existing" if f.name in existing else "declared"
            rule = _rule(target, f, declared)
            as_written = written.field(f.name).type if written is not None else None
            plans.append(
                ColumnPlan(f.name, rule, origin, target, via_text=source, written=as_written)
            )
    return plans


def _rule(target: pa.DataType, field: pa.Field, declared: dict[str, str]) -> str:
    """The rule a Parquet column's values meet to join a column stored as ``target``."""
    return column_rule(target, declared.get(field.name)) or UNFIT


def merged(target: pa.Schema | None, file_schema: pa.Schema) -> pa.Schema:
    """``target`` plus the columns ``file_schema`` adds (the schema after this file)."""
    if target is None:
        return file_schema
    names = set(target.names)
    return pa.schema([*target, *(f for f in file_schema if f.name not in names)])
