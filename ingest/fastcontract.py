"""A fast, one-sided test that records keep a table's contract: "yes", or "ask the exact check".

The exact check (``ingest.validation``: every declared value's text, column at a time, by
:func:`lakehouse.dialect.fits`, with a message per error) costs Arrow kernel calls per column
whatever the body's size. Most bodies are valid, so one typed msgspec decode of the records
against a Struct made from the contract answers first:

- an integer column is an ``int`` between its type's bounds: msgspec takes only a JSON integer
  literal for it (no fraction, no exponent, no string, not ``true``); ``-0`` is the one such
  literal the rule refuses, so a body holding ``-0`` outside a longer number is not judged here;
- a boolean column is a ``bool``: only ``true`` / ``false``;
- any other checked column is kept as its raw JSON text, and all of a column's texts are matched
  at once (joined by NUL, which raw JSON never holds) by one regular expression (RE2, through
  Arrow: one linear pass) that accepts only texts the rule accepts: a canonical number within
  the type's digits (never a string: ``"5"`` is no number), a quoted date or timestamp of the
  dialect's shape whose day exists in every year (29 February is left to the exact check), ``null``
  unless the column is required;
- a required column must be present and not ``null``.

Each test accepts a subset of what the rule accepts (it never says "yes" where the exact check
would refuse), so the body's answer is the same either way: a "no" only sends the body to the
exact check, which finds and names the errors as before. ``tests/ingest/test_fastcontract.py``
holds the two to that on generated adversarial values and bodies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Annotated, Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from ingest.typecheck import checked
from lakehouse import dialect
from lakehouse.contracts import Column, Contract

__all__ = ["holds", "value_pattern", "whole_records"]

#: A JSON ``-0`` (an integer literal msgspec reads as 0, which the rule refuses for integers).
_NEGATIVE_ZERO_INT = r"-0(?:[^0-9.eE]|$)"
#: The bounds msgspec can check (a UBIGINT above them goes to the exact check).
_INT64 = (-(2**63), 2**63 - 1)
#: Any JSON value but ``null`` (a required column whose type leaves its text free).
_PRESENT = str | int | float | bool | list[Any] | dict[str, Any]
#: A day every year has: months' days up to 28, 29-30 but in February, 31 in long months.
_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_MONTH_DAY = (
    r"-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
_DAY = _YEAR + _MONTH_DAY

#: A year of :data:`_DAY` but 0001 and 9999 (where an offset can move an instant out of range).
_INNER_YEAR = (
    r"(?:[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8]|0[1-9][0-9]{2}|00[1-9][0-9]|000[2-9])"
)


def _negative_fraction(digits: int, zeros: str = "") -> str:
    """``-0.`` then 1 to ``digits`` decimals, one of them not 0 (``-0.0`` is no number), then
    ``zeros``."""
    return "|".join(f"-0\\.0{{{k}}}[1-9][0-9]{{0,{digits - 1 - k}}}{zeros}" for k in range(digits))


def _decimal(precision: int, scale: int) -> str | None:
    """Canonical numbers (``dialect.NUMBER_TEXT``, no negative zero) with at most
    ``precision - scale`` digits before the point and ``scale`` after it."""
    whole = precision - scale
    if whole < 0 or scale < 0:
        return None
    # decimals past the scale are held only when zeros (1.5000 is 1.50 exactly)
    fraction = f"(?:\\.[0-9]{{1,{scale}}}0*)?" if scale else "(?:\\.0+)?"
    options = [f"0{fraction}"]
    if whole > 0:
        options.append(f"-?[1-9][0-9]{{0,{whole - 1}}}{fraction}")
    if scale:  # -0.5 is a number; -0.0 is not
        options.append(_negative_fraction(scale, "0*"))
    return "|".join(options)


def _short(length: int) -> str:
    """Canonical numbers of at most ``length`` characters (a sign always counted)."""
    budget = length - 1
    options = [f"0(?:\\.[0-9]{{1,{budget - 2}}})?", _negative_fraction(budget - 2)]
    for digits in range(1, budget + 1):
        decimals = budget - digits - 1
        fraction = f"(?:\\.[0-9]{{1,{decimals}}})?" if decimals > 0 else ""
        options.append(f"-?[1-9][0-9]{{{digits - 1}}}{fraction}")
    return "|".join(options)


def value_pattern(data_type: str) -> str | None:
    """A regular expression of raw JSON texts (a number's literal, a string with its quotes)
    that ``data_type`` holds exactly by :func:`lakehouse.dialect.fits`; None when there is
    none here (integers and booleans are typed, not matched)."""
    t = dialect.type_name(data_type)
    if t == "HUGEINT":
        number = f"0|-?[1-9][0-9]{{0,{dialect.MAX_DECIMAL_DIGITS - 1}}}"
    elif t in ("DOUBLE", "FLOAT"):  # 15 (6) characters hold at most 15 (6) digits: exact
        number = _short(15 if t == "DOUBLE" else 6)
    elif (params := dialect.decimal_params(t)) is not None:
        found = _decimal(*params)
        if found is None:
            return None
        number = found
    elif t == "DATE":
        return f'"{_DAY}"'
    elif t in dialect.TIMESTAMP_DIGITS:  # TIMESTAMP, _MS, _S: their decimals
        return f'"{_DAY}[ T]{dialect.TIMESTAMP_CLOCK_TEXT[t]}"'
    elif t == "TIMESTAMPTZ":  # an offset in years 0001 and 9999: the exact check
        naive = f"{_DAY}[ T]{dialect.TIME_TEXT}Z?"
        return (
            f'"(?:{naive}|{_INNER_YEAR}{_MONTH_DAY}[ T]{dialect.TIME_TEXT}{dialect.OFFSET_TEXT})"'
        )
    elif t in dialect.SHAPED_TEXT:  # a string of the shape (an escape: the exact check)
        return f'"(?:{dialect.CANONICAL[t]})"'
    elif t == dialect.BYTES:  # any JSON string (its UTF-8 bytes); raw JSON holds no NUL
        return '"[^\\x00]*"'
    else:
        return None
    return number  # a JSON string is no number (dialect.takes_json_string)


def _column(data_type: str | None) -> tuple[str, Any]:
    """(``"int"``, bounds), (``"bool"``, None), (``"raw"``, pattern), or (``"any"``, None)."""
    if not data_type:
        return "any", None
    t = dialect.type_name(data_type)
    if t in dialect.INT_RANGES:
        return "int", dialect.INT_RANGES[t]
    if t == "BOOLEAN":
        return "bool", None
    pattern = value_pattern(data_type)
    if pattern is not None:
        return "raw", pattern
    return "any", None


@dataclass(frozen=True, slots=True)
class _Fast:
    decoder: msgspec.json.Decoder[Any]
    #: (attribute, whole-column pattern) of the columns kept as raw text
    patterns: tuple[tuple[attrgetter[Any], str], ...]
    integers: bool  # some column is typed int: -0 must be ruled out first


def _whole_column(value: str) -> str:
    """Every value of a column, joined by NUL, is a ``value``."""
    return f"^(?:{value})(?:\\x00(?:{value}))*$"


def _found(pattern: str, data: bytes) -> bool:
    """Whether RE2 finds ``pattern`` in ``data`` (through Arrow, without copying ``data``):
    one pass, no backtracking, several times faster than ``re`` on these patterns."""
    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    array = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    return bool(pc.match_substring_regex(array, pattern)[0].as_py())


@lru_cache(maxsize=256)
def _fast(contract: Contract, columns: tuple[Column, ...]) -> _Fast | None:
    fields: list[tuple[str, Any, Any]] = []
    patterns = []
    integers = False
    for i, column in enumerate(columns):
        attr = f"f{i}"
        kind, detail = _column(column.data_type)
        if kind == "int":
            integers = True
            low, high = max(detail[0], _INT64[0]), min(detail[1], _INT64[1])  # msgspec's bounds
            typ: Any = Annotated[int, msgspec.Meta(ge=low, le=high)]
        elif kind == "bool":
            typ = bool
        elif kind == "raw":
            typ = msgspec.Raw
            value = detail if column.required else f"{detail}|null"
            patterns.append((attrgetter(attr), _whole_column(value)))
        elif column.data_type and checked(column.data_type):
            return None  # a checked type without a fast test here (a struct, a list): exact
        elif column.required:
            typ = _PRESENT
        else:  # neither typed nor required: not a checked column
            return None
        if column.required:
            fields.append((attr, typ, msgspec.field(name=column.name)))
        elif kind == "raw":
            fields.append(
                (attr, typ, msgspec.field(default=msgspec.Raw(b"null"), name=column.name))
            )
        else:
            fields.append((attr, typ | None, msgspec.field(default=None, name=column.name)))
    try:
        struct = msgspec.defstruct(f"Fast_{contract.table}", fields, kw_only=True)
        decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(struct)
    except (TypeError, ValueError):  # a contract msgspec cannot express: the exact check only
        return None
    return _Fast(decoder, tuple(patterns), integers)


def holds(ndjson: bytes, contract: Contract, columns: tuple[Column, ...]) -> bool:
    """True only if every record of ``ndjson`` (one JSON object per line, already decoded
    once) keeps ``columns`` of ``contract`` by the rule; False means "not known here"."""
    fast = _fast(contract, columns)
    if fast is None:
        return False
    if fast.integers and _found(_NEGATIVE_ZERO_INT, ndjson):
        return False
    try:
        records = fast.decoder.decode_lines(ndjson)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return False
    for get, pattern in fast.patterns:
        if not _found(pattern, b"\x00".join(map(get, records))):
            return False
    return True


# -- whole records: the contract, the keys and no duplicate key, from one typed decode ----------


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    get: attrgetter[Any]
    raw: bool  # kept as raw text (else a typed int or bool)
    required: bool
    pattern: str | None  # whole-column pattern of a checked raw column


@dataclass(frozen=True, slots=True)
class _Whole:
    decoder: msgspec.json.Decoder[Any]
    fields: tuple[_Field, ...]
    integers: bool


#: An absent field's value: a control character, which raw JSON never holds unescaped.
_ABSENT = msgspec.Raw(b"\x01")
#: An absent or null value of a column that may be either (its pattern's extra options).
_OPTIONAL = "|null|\\x01"


@lru_cache(maxsize=256)
def _whole(contract: Contract) -> _Whole | None:
    """A Struct of every declared column (unknown keys refused), or None when the contract
    cannot be judged so (a column name with a colon: see :func:`whole_records`)."""
    names = [c.name for c in contract.columns]
    if not names or len(set(names)) != len(names) or any(":" in n for n in names):
        return None
    specs: list[tuple[str, Any, Any]] = []
    fields = []
    integers = False
    for i, column in enumerate(contract.columns):
        attr = f"f{i}"
        kind, detail = _column(column.data_type)
        if column.data_type and checked(column.data_type) and kind == "any":
            return None  # a checked type without a fast test here
        pattern = None
        if kind == "int":
            integers = True
            low, high = max(detail[0], _INT64[0]), min(detail[1], _INT64[1])
            typ: Any = Annotated[int, msgspec.Meta(ge=low, le=high)]
        elif kind == "bool":
            typ = bool
        else:
            typ = msgspec.Raw
            if kind == "raw":
                pattern = _whole_column(detail if column.required else detail + _OPTIONAL)
        raw = typ is msgspec.Raw
        if column.required:
            specs.append((attr, typ, msgspec.field(name=column.name)))
        elif raw:
            specs.append((attr, typ, msgspec.field(default=_ABSENT, name=column.name)))
        else:
            optional = typ | None | msgspec.UnsetType
            specs.append((attr, optional, msgspec.field(default=msgspec.UNSET, name=column.name)))
        fields.append(_Field(column.name, attrgetter(attr), raw, column.required, pattern))
    try:
        struct = msgspec.defstruct(
            f"Whole_{contract.table}", specs, kw_only=True, forbid_unknown_fields=True, gc=False
        )
        decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(struct)
    except (TypeError, ValueError):
        return None
    return _Whole(decoder, tuple(fields), integers)


def whole_records(lines: list[bytes], text: bytes, contract: Contract) -> tuple[str, ...] | None:
    """The keys of records ``lines`` (``text``: them joined by newlines), first seen first (as
    the loader lists them, not in the contract's order), when every line is one
    JSON object holding only declared keys, none twice, nothing nested, and keeping the
    contract; None means "not known here" (the general check decides).

    Sound by these steps: each line is decoded alone (one JSON object per line, as the general
    check reads them; msgspec checks the JSON, not the UTF-8 inside raw values, so a non-ASCII
    body is decoded once more); a body with a backslash is left to the general check, so every
    key is written as its name; a raw value holding a bracket is, so no object is nested. Then
    every colon of the body follows a key or lies inside a raw value: the body's colons equal
    the keys present plus the raw values' colons exactly when no key is written twice (a
    repeat adds its colon and its lost value's). The contract: as :func:`holds`.
    """
    whole = _whole(contract)
    if whole is None or b"\\" in text:
        return None
    if not text.isascii():
        try:
            text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if whole.integers and _found(_NEGATIVE_ZERO_INT, text):
        return None
    try:
        records = list(map(whole.decoder.decode, lines))
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None
    count = len(records)
    colons = 0
    keys = []
    for field in whole.fields:
        if field.required and not field.raw:  # typed, so never null; required: always there
            present, inside = count, 0
        elif (found := _present(field, records, count)) is None:
            return None
        else:
            present, inside = found
        if present:
            keys.append(field)
        colons += present + inside
    if text.count(b":") != colons:
        return None
    return _first_seen(lines, records, keys)


def _first_seen(lines: list[bytes], records: list[Any], fields: list[_Field]) -> tuple[str, ...]:
    """The names of ``fields`` (each present in some record) in the order the records first
    hold them: only a line bringing a field not seen yet is decoded (as a dict, in its order),
    the first line alone when it holds them all (most bodies)."""
    order: dict[str, None] = {}
    missing = fields
    for line, record in zip(lines, records, strict=True):
        if not missing:
            break
        if any(_holds(f, record) for f in missing):
            names = {f.name for f in fields}
            order.update(dict.fromkeys(k for k in _DECODE_KEYS.decode(line) if k in names))
            missing = [f for f in missing if f.name not in order]
    return tuple(order)


#: a flat record's keys, in its order (values skipped unparsed)
_DECODE_KEYS = msgspec.json.Decoder(dict[str, msgspec.Raw])


def _holds(field: _Field, record: Any) -> bool:
    """Whether ``record`` holds ``field`` (its key is written, whatever its value)."""
    value = field.get(record)
    if field.raw:
        return bytes(value) != b"\x01"  # _ABSENT: a control character no raw JSON holds
    return value is not msgspec.UNSET


def _present(field: _Field, records: list[Any], count: int) -> tuple[int, int] | None:
    """(records holding the field, colons inside its raw values), or None when its values
    break the contract or hold a bracket."""
    if not field.raw:
        return count - list(map(field.get, records)).count(msgspec.UNSET), 0
    blob = b"\x00".join(map(field.get, records))
    if b"{" in blob or b"[" in blob:
        return None
    if field.pattern is not None and not _found(field.pattern, blob):
        return None
    if field.required and b"\x00null\x00" in b"\x00" + blob + b"\x00":
        return None
    present = count if field.required else count - blob.count(b"\x01")
    return present, blob.count(b":")
