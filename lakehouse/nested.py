"""JSON objects as Delta structs: the landing dialect's rule, one level down.

A JSON key whose values are all objects is stored as a struct: its fields are the objects' keys
(first seen first), each typed by the same rule as a top-level key (strings text, numbers by
the number rule, booleans, objects a struct again, a field without a value text). An array, and
a field holding values of several kinds, is text (an array as its compact JSON text). A field
name bronze could not keep (blank, repeated case-insensitively, a control character), or an
object without keys, keeps the whole value as JSON text instead: no Delta ``void``, no empty
struct; so does an object nested deeper than ``dialect.MAX_TYPE_DEPTH`` structs.

A struct column grows the fields a later file's objects bring (:func:`merge_struct`, as Delta
adds a column); an object joins it when every field fits the field's type, else the whole
object is a mismatch (rescued, or the file refused).

Values are decoded one by one here (msgspec, numbers as written): only columns of objects pay.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence

import msgspec
import pyarrow as pa

from lakehouse import dialect, parquet
from lakehouse.dialect import lone_surrogate as lone_surrogate  # the core's rule, re-exported


class Number(str):
    """A JSON number's literal, as written."""

    __slots__ = ()


_STRING = pa.string()


class Misfit(Exception):
    """A value that does not fit its struct type (its words: which field, and why)."""


NOT_AN_OBJECT = "not a JSON object"


class RepeatedKey(ValueError):
    """An object that repeats a key: the file is refused (a struct would keep one value)."""

    def __init__(self, key: str) -> None:
        super().__init__(dialect.repeated_key(key))
        self.key = key
        self.index = 0  # the value's place in the texts :func:`structs` was given


class _Repeats(ValueError):
    """An object of the text repeats a key (which one comes first: :func:`repeated_keys`)."""


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        raise _Repeats(next(k for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
    return found


class _Keyed(dict[str, object]):
    """An object as parsed, with the keys it repeats (in the order their repeats come)."""

    repeats: list[str]


def _keyed(pairs: list[tuple[str, object]]) -> _Keyed:
    found = _Keyed(pairs)
    found.repeats = []
    if len(found) != len(pairs):
        seen: set[str] = set()
        found.repeats = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
    return found


def repeated_keys(text: str | bytes) -> list[tuple[str, str]]:
    """Each key an object of this JSON text repeats, at any depth, as (its path, ``a.b`` or
    ``a[0].b``, the key): in one order, the API's and the loader's (the API lists them all, the
    loader names the first): an object's own repeats in the order they repeat, then those of
    its values in its keys' order (review finding of fixh, s17: the loader named the first
    object to close, ``{"v": {"a": 1, "a": 2, "o": {"k": 1, "k": 2}}}``'s ``k``, the API ``a``
    first). A loop, not recursion: any depth the parser took."""
    found: list[tuple[str, str]] = []
    work: list[tuple[object, str | None]] = [
        (json.loads(text, parse_float=str, parse_int=str, object_pairs_hook=_keyed), None)
    ]
    while work:
        value, path = work.pop()
        if isinstance(value, _Keyed):
            found += [(_inside(path, k), k) for k in value.repeats]
            work += reversed([(v, _inside(path, k)) for k, v in value.items()])
        elif isinstance(value, list):
            work += reversed([(v, f"{path or ''}[{i}]") for i, v in enumerate(value)])
    return found


def _inside(path: str | None, key: str) -> str:
    """The path of ``key`` inside the value at ``path`` (None: the record itself): a record's
    own key exactly as sent (``.a`` stays ``.a``; *before:* until session 18 every leading dot
    was stripped, so a repeated ``.a`` was named field ``a``), else ``path.key``."""
    return key if path is None else f"{path}.{key}"


def _first_repeated(text: str | bytes, met: _Repeats) -> RepeatedKey:
    """The :class:`RepeatedKey` of the first key :func:`repeated_keys` finds in ``text``, or
    of the one the parse ``met`` (``text`` does not parse whole, so no order is known)."""
    try:
        found = repeated_keys(text)
    except (ValueError, RecursionError):
        found = []
    return RepeatedKey(found[0][1] if found else str(met))


def decode(text: str) -> object:
    """A JSON text as Python values, every number a :class:`Number` (its literal: ``-0`` is not
    ``0``); ``NaN`` and ``Infinity`` are no JSON (ValueError); an object that repeats a key
    raises :class:`RepeatedKey` (json.loads would keep its last value without a word)."""
    try:
        if not isinstance(text, str) or text.startswith("\ufeff"):  # json.loads' own words
            return json.loads(
                text,
                parse_float=Number,
                parse_int=Number,
                parse_constant=_no_constant,
                object_pairs_hook=_object,
            )
        decoder = getattr(_DECODERS, "decoder", None)
        if decoder is None:  # one per thread (json.loads makes one per call: ~7% of a check)
            decoder = _DECODERS.decoder = json.JSONDecoder(
                parse_float=Number,
                parse_int=Number,
                parse_constant=_no_constant,
                object_pairs_hook=_object,
            )
        return decoder.decode(text)
    except _Repeats as exc:
        raise _first_repeated(text, exc) from None


_DECODERS = threading.local()


def check_keys(text: str) -> None:
    """Raise :class:`RepeatedKey` when an object of this JSON text, at any depth, repeats a key
    (its other values are not converted: numbers stay their text)."""
    try:
        json.loads(text, parse_float=str, parse_int=str, object_pairs_hook=_object)
    except _Repeats as exc:
        raise _first_repeated(text, exc) from None


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def literal(value: object) -> str | None:
    """A decoded JSON value's text as written: a string's characters, a number's literal,
    ``true``/``false``, an object or array as compact JSON text (None: null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return str(value)
    return compact(value)


class _Piece(str):
    """Text :func:`compact` writes as it is (a bracket, a key and its colon)."""

    __slots__ = ()


def compact(value: object) -> str:
    """Compact JSON text of a decoded value, its numbers as written. A loop, not recursion:
    any depth the parser took (``dialect.MAX_JSON_DEPTH``)."""
    out: list[str] = []
    work: list[object] = [value]
    while work:
        item = work.pop()
        if isinstance(item, _Piece | Number):
            out.append(str.__str__(item))
        elif isinstance(item, dict):
            out.append("{")
            work.append(_Piece("}"))
            for i, (k, v) in reversed(list(enumerate(item.items()))):
                work.append(v)
                work.append(_Piece(("," if i else "") + msgspec.json.encode(k).decode() + ":"))
        elif isinstance(item, list):
            out.append("[")
            work.append(_Piece("]"))
            for i, v in reversed(list(enumerate(item))):
                work.append(v)
                if i:
                    work.append(_Piece(","))
        elif isinstance(item, str):
            out.append(msgspec.json.encode(item).decode())
        else:
            text = literal(item)
            out.append("null" if text is None else text)
    return "".join(out)


def kind(value: object) -> str:
    """A decoded JSON value's kind: ``boolean``, ``number``, ``string``, ``object`` or ``array``
    (:func:`infer_struct` types a field by the kinds of its values)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Number | int):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "array"


def _field_type(values: Sequence[object], level: int) -> pa.DataType:
    present = [v for v in values if v is not None]
    kinds = {kind(v) for v in present}
    if kinds == {"boolean"}:
        return pa.bool_()
    if kinds == {"number"}:
        # each distinct literal once: infer's verdict is the same for a set (all, max)
        return parquet.storage_type(dialect.infer(dict.fromkeys(literal(v) for v in present)))
    if kinds == {"object"}:
        return infer_struct(present, level + 1) or _STRING  # type: ignore[arg-type]  # all dicts
    return _STRING


def infer_struct(objects: Iterable[dict[str, object]], level: int = 1) -> pa.StructType | None:
    """The struct type of these objects, or None when they keep JSON text (see the module).
    ``level``: the struct's depth in the column's type (the column's own struct: 1); deeper
    than ``dialect.MAX_TYPE_DEPTH`` objects keep their text (Delta could not hold the type)."""
    if level > dialect.MAX_TYPE_DEPTH:
        return None
    fields: dict[str, list[object]] = {}
    count = 0
    for obj in objects:
        count += 1
        for key, value in obj.items():
            fields.setdefault(key, []).append(value)
    if not fields or dialect.name_problem(list(fields)) is not None:
        return None
    return pa.struct([pa.field(k, _field_type(v, level)) for k, v in fields.items()])


def merge_struct(old: pa.StructType, new: pa.StructType | None) -> pa.StructType:
    """``old`` with the fields ``new`` adds (a field of both keeps ``old``'s type, a struct in
    both grows in turn); a name differing only by case from one of ``old``'s is not added."""
    if new is None:
        return old
    fields = []
    taken = {old.field(i).name.lower() for i in range(old.num_fields)}
    mine = {new.field(i).name: new.field(i) for i in range(new.num_fields)}
    for i in range(old.num_fields):
        f = old.field(i)
        other = mine.get(f.name)
        if other is not None and pa.types.is_struct(f.type) and pa.types.is_struct(other.type):
            f = pa.field(f.name, merge_struct(f.type, other.type))
        fields.append(f)
    fields += [f for name, f in mine.items() if name.lower() not in taken]
    return pa.struct(fields)


def to_struct(value: object, t: pa.StructType) -> dict[str, object]:
    """A decoded object as the Python value of struct type ``t``, or :class:`Misfit` (its
    words: which field, and why)."""
    if not isinstance(value, dict):
        raise Misfit(NOT_AN_OBJECT)
    names = _names(t)
    extra = None if names.issuperset(value) else next(k for k in value if k not in names)
    if extra is not None:
        raise Misfit(f"field {extra!r} is not one of the struct's")
    out = {}
    for i in range(t.num_fields):
        field = t.field(i)
        try:
            out[field.name] = _convert(value.get(field.name), field.type)
        except Misfit as exc:
            inner = str(exc)
            if inner.startswith("field "):  # a field of a struct field: 'a.b'
                raise Misfit(f"field '{field.name}.{inner[len('field ') + 1 :]}") from None
            raise Misfit(f"field {field.name!r}: {inner}") from None
    return out


@functools.lru_cache(maxsize=1024)
def _names(t: pa.StructType) -> frozenset[str]:
    return frozenset(t.field(i).name for i in range(t.num_fields))


def _convert(value: object, t: pa.DataType) -> object:
    if value is None:
        return None
    if pa.types.is_string(t):
        return literal(value)
    if pa.types.is_struct(t):
        return to_struct(value, t)
    if pa.types.is_boolean(t):
        if not isinstance(value, bool):
            raise Misfit(f"{_shown(value)} is no boolean")
        return value
    text = literal(value)
    rule = parquet.rule_type(t)
    if text is None or isinstance(value, bool | dict | list):
        raise Misfit(f"{_shown(value)} does not fit {rule or t}")
    if rule is None or not dialect.fits(text, rule):
        raise Misfit(f"{_shown(value)} does not fit {rule or t}")
    if rule in ("DATE", "TIMESTAMP", "TIMESTAMPTZ"):
        return _temporal(value, text, rule)
    if isinstance(value, str) and not isinstance(value, Number):
        raise Misfit(
            f"{_shown(value)} is a JSON string, which {rule} does not take"
        )  # "5" is no number
    if pa.types.is_decimal(t):
        return decimal.Decimal(text)
    if pa.types.is_floating(t):
        return float(text)
    return int(text)


def _shown(value: object) -> str | None:
    """A value as a misfit's words show it (computed only for a misfit)."""
    return compact(value) if isinstance(value, str) else literal(value)


def _temporal(value: object, text: str, rule: str) -> object:
    """A JSON string as a date or a UTC timestamp (a number never is one)."""
    if not isinstance(value, str) or isinstance(value, Number):
        raise Misfit(f"{literal(value)} is a JSON number, which {rule} does not take")
    if rule == "DATE":
        return dt.date.fromisoformat(text)
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def grown(t: pa.StructType, objects: Iterable[dict[str, object]]) -> pa.StructType:
    """A struct column's type once a file's ``objects`` are in: ``t`` with the fields they add
    (typed by :func:`infer_struct`, :func:`merge_struct`). The loader's, and the API's to
    judge the objects a body or file brings to a struct column (:func:`misfits`)."""
    return merge_struct(t, infer_struct(objects))


def misfits(texts: Sequence[str | None], t: pa.StructType, grow: bool = True) -> list[str | None]:
    """Per JSON text a file brings to a column the table stores as struct ``t``: why it does
    not join it (None: it does, or is null), as the loader judges it: the struct grown by the
    file's objects (:func:`grown`; not ``grow``: ``t`` as it is, a field it lacks a misfit),
    each object converted (:func:`to_struct`). A text that does not parse, or repeats a key,
    is no object here (the API refuses those first)."""
    # Each distinct text is decoded and judged once (a body repeats its objects): the same
    # verdicts, as decode and to_struct are pure; the struct still grows by every object.
    seen: dict[str, object] = {}
    decoded: list[object] = []
    for text in texts:
        if text is None:
            decoded.append(None)
            continue
        value = seen.get(text, _UNSEEN)
        if value is _UNSEEN:
            value = seen[text] = _judged(text)
        decoded.append(value)
    full = grown(t, (v for v in decoded if isinstance(v, dict))) if grow else t
    verdicts: dict[int, str | None] = {}  # by the decoded value's identity: one per text
    known: dict[tuple[str, object], bool] = {}  # a number's text and rule: dialect.fits
    reasons: list[str | None] = []
    for value in decoded:
        if value is None:
            reasons.append(None)
            continue
        key = id(value)
        if isinstance(value, _Unfit):
            verdicts[key] = value.words
        if key not in verdicts:
            try:
                if not _surely_fits(value, full, known):  # else to_struct's verdict, and its words
                    to_struct(value, full)
                verdicts[key] = None
            except Misfit as exc:
                verdicts[key] = str(exc)
        reasons.append(verdicts[key])
    return reasons


_UNSEEN = object()


_Plan = tuple[frozenset[str], tuple[tuple[str, str, object], ...]]


@functools.lru_cache(maxsize=1024)
def _plan(t: pa.StructType) -> _Plan:
    """A struct's field names, and per field how :func:`_surely_fits` checks it: ``text`` (any
    string or number), ``bool``, ``number`` (a JSON number meeting the rule, the rule),
    ``struct`` (its plan), ``other`` (only null: to_struct judges the rest)."""
    fields: list[tuple[str, str, object]] = []
    for i in range(t.num_fields):
        f = t.field(i)
        rule = parquet.rule_type(f.type)
        if pa.types.is_string(f.type):
            fields.append((f.name, "text", None))
        elif pa.types.is_struct(f.type):
            fields.append((f.name, "struct", _plan(f.type)))
        elif pa.types.is_boolean(f.type):
            fields.append((f.name, "bool", None))
        elif rule is not None and (
            pa.types.is_integer(f.type)
            or pa.types.is_floating(f.type)
            or pa.types.is_decimal(f.type)
        ):
            fields.append((f.name, "number", (rule, _surely_number(rule))))
        else:
            fields.append((f.name, "other", None))
    return _names(t), tuple(fields)


def _surely_fits(
    value: object, t: pa.StructType, known: dict[tuple[str, object], bool] | None = None
) -> bool:
    """True only when :func:`to_struct` takes ``value`` (False: it may not; ask it). The common
    case checked without converting: a field of text holding a string or a number, a number
    field a JSON number its rule takes (``dialect.fits``), a boolean, a struct in turn."""
    return _fits_plan(value, _plan(t), {} if known is None else known)


def _fits_plan(value: object, plan: _Plan, known: dict[tuple[str, object], bool]) -> bool:
    if not isinstance(value, dict) or not plan[0].issuperset(value):
        return False
    return all(
        v is None or _fits_field(v, kind, arg, known)
        for v, kind, arg in ((value.get(name), kind, arg) for name, kind, arg in plan[1])
    )


def _fits_field(v: object, kind: str, arg: object, known: dict[tuple[str, object], bool]) -> bool:
    if kind == "text":
        return isinstance(v, str)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "struct":
        return _fits_plan(v, arg, known)  # type: ignore[arg-type]
    if kind == "number" and isinstance(v, Number):
        rule: str
        surely: Callable[[str], bool] | None
        rule, surely = arg  # type: ignore[misc]
        text = str.__str__(v)
        if surely is not None and surely(text):
            return True
        key = (text, rule)
        ok = known.get(key)
        if ok is None:
            ok = known[key] = dialect.fits(text, rule)
        return ok
    return False


_INTEGER = re.compile(dialect.INTEGER_TEXT)
_NUMBER = re.compile(dialect.NUMBER_TEXT)


def _surely_number(rule: str) -> Callable[[str], bool] | None:
    """A test of a JSON number's literal that is True only where ``dialect.fits(text, rule)``
    is (False: ask it), cheaper than it: an integer of fewer digits than the rule's largest
    value (not negative for an unsigned rule); for ``DOUBLE`` a canonical number of at most 15
    characters (at most 15 digits: float64-exact). None for any other rule."""
    t = dialect.type_name(rule)
    if t in dialect.INT_RANGES:
        low, high = dialect.INT_RANGES[t]
        most = len(str(high)) - 1
        signed = low < 0

        def integer(text: str) -> bool:
            return (
                len(text) <= most + signed
                and (signed or not text.startswith("-"))
                and len(text.lstrip("-")) <= most
                and _INTEGER.fullmatch(text) is not None
            )

        return integer
    if t == "DOUBLE":
        return lambda text: len(text) <= 15 and _NUMBER.fullmatch(text) is not None
    return None


_NOT_JSON = object()  # a text that does not parse: no object


def _judged(text: str) -> object:
    """A text as :func:`misfits` judges it: its decoded value, :data:`_NOT_JSON`, or an
    :class:`_Unfit` (an object repeating a key, a lone surrogate) with its words."""
    try:
        value = decode(text)
    except RepeatedKey as exc:
        return _Unfit(str(exc))
    except ValueError:
        return _NOT_JSON
    return value if lone_surrogate(text, value) is None else _Unfit(LONE_SURROGATE)


class _Unfit:
    """A text that parses but no struct can take, and why (its object repeats a key, or a
    string holds a lone surrogate)."""

    __slots__ = ("words",)

    def __init__(self, words: str) -> None:
        self.words = words


def structs(
    texts: Sequence[str | None], t: pa.StructType, *, repeats_refuse: bool = True
) -> tuple[pa.Array, list[bool]]:
    """JSON texts of objects as a struct array of type ``t``; per value whether it fit (a
    value that did not is null in the array). Raises :class:`RepeatedKey` (a JSON file's
    object: the file is refused), or with ``repeats_refuse`` false takes such an object for
    a value that does not fit (a CSV field's or a Parquet string's text: a text, not the
    file's JSON). A text whose strings hold a lone surrogate (``"\\ud800"``, which no text
    can hold) does not fit either."""
    values: list[object] = []
    ok: list[bool] = []
    for text in texts:
        if text is None:
            values.append(None)
            ok.append(True)
            continue
        try:
            value = decode(text)
            if lone_surrogate(text, value) is not None:
                raise Misfit(LONE_SURROGATE)
            values.append(to_struct(value, t))
            ok.append(True)
        except RepeatedKey as exc:
            if repeats_refuse:
                exc.index = len(values)
                raise
            values.append(None)
            ok.append(False)
        except (Misfit, msgspec.DecodeError, ValueError):
            values.append(None)
            ok.append(False)
    return pa.array(values, type=t), ok


LONE_SURROGATE = "a string holds a lone UTF-16 surrogate, which no text can hold"
