"""The dialect's ``fits`` over a whole column at once: which texts a declared type cannot hold.

:func:`lakehouse.dialect.fits` is the rule, one text at a time. The API checks every value of
every declared column of a body or file, so it states the same rule with Arrow compute kernels
(regular expressions, casts): a million values take milliseconds, not seconds. The few texts
the kernels cannot settle (numbers longer than a double's 15 exact digits, integers of 19
digits) are asked of :func:`~lakehouse.dialect.fits` one by one. ``tests/ingest/
test_typecheck.py`` holds the two to the same answers on generated texts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse import dialect, nested, parquet
from lakehouse.misfit import sentence as misfit_message


def _full(pattern: str) -> str:
    return f"^(?:{pattern})$"


def _matches(texts: pa.Array, pattern: str) -> pa.Array:
    return pc.match_substring_regex(texts, _full(pattern))


def _slow(texts: pa.Array, unsettled: pa.Array, data_type: str) -> pa.Array:
    """``fits`` asked one by one where ``unsettled`` is true; elsewhere true."""
    if not pc.any(unsettled).as_py():
        return pa.array([True] * len(texts))
    flags = unsettled.to_pylist()
    values = texts.to_pylist()
    return pa.array(
        [not flag or dialect.fits(v, data_type) for v, flag in zip(values, flags, strict=True)]
    )


_MONTH_DAYS = pa.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], pa.int32())


def _valid_dates(texts: pa.Array) -> pa.Array:
    """``YYYY-MM-DD`` texts (shape already checked) that name a real day (year 0000 is none)."""
    year, month, day = _field(texts, 0, 4), _field(texts, 5, 7), _field(texts, 8, 10)
    good_month = pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12))
    days = pc.take(_MONTH_DAYS, pc.if_else(good_month, month, 0))
    leap = pc.and_(
        pc.equal(pc.bit_wise_and(year, 3), 0),
        pc.or_(pc.not_equal(pc.remainder(year, 100), 0), pc.equal(pc.remainder(year, 400), 0)),
    )
    days = pc.add(days, pc.cast(pc.and_(leap, pc.equal(month, 2)), pa.int32()))
    return pc.and_(
        pc.and_(good_month, pc.greater_equal(year, 1)),
        pc.and_(pc.greater_equal(day, 1), pc.less_equal(day, days)),
    )


def _field(texts: pa.Array, start: int, stop: int) -> pa.Array:
    return pc.cast(pc.utf8_slice_codeunits(texts, start, stop), pa.int32(), safe=False)


def _per_distinct(values: pa.Array, check: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``check`` over the distinct values only (dates and times repeat), spread back."""
    encoded = pc.dictionary_encode(values)
    return pc.fill_null(pc.take(check(encoded.dictionary), encoded.indices), False)


def _json_values(texts: pa.Array) -> pa.Array:
    """Per text, whether it is one JSON value (``dialect.json_value``: a ``json`` column)."""
    return pa.array([dialect.json_value(t) for t in texts.to_pylist()], pa.bool_())


def _objects(texts: pa.Array) -> pa.Array:
    """Per JSON text, whether it is an object."""
    found = []
    for text in texts.to_pylist():
        try:
            found.append(isinstance(msgspec.json.decode(text), dict))
        except msgspec.DecodeError:
            found.append(False)
    return pa.array(found, pa.bool_())


def _real_dates(dates: pa.Array) -> pa.Array:
    shape = _matches(dates, dialect.DATE_TEXT)
    return pc.and_(shape, _valid_dates(pc.if_else(shape, dates, "2000-01-01")))


def _real_times(times: pa.Array) -> pa.Array:
    shape = _matches(times, r"[0-9]{2}:[0-9]{2}:[0-9]{2}")
    shaped = pc.if_else(shape, times, "00:00:00")
    ok = shape
    for start, top in ((0, 24), (3, 60), (6, 60)):
        ok = pc.and_(ok, pc.less(_field(shaped, start, start + 2), top))
    return ok


def _real_offsets(tails: pa.Array) -> pa.Array:
    """The last 6 characters: an offset ``±HH:MM`` within range, or no offset at all."""
    shape = _matches(tails, r"[+-][0-9]{2}:[0-9]{2}")
    shaped = pc.if_else(shape, tails, "+00:00")
    hours, minutes = _field(shaped, 1, 3), _field(shaped, 4, 6)
    in_range = pc.and_(pc.less(hours, 24), pc.less(minutes, 60))
    return pc.or_(pc.invert(shape), in_range)


def _fits_timestamp(texts: pa.Array, t: str) -> pa.Array:
    ok = _matches(texts, dialect.CANONICAL[t])
    ok = pc.and_(ok, _per_distinct(pc.utf8_slice_codeunits(texts, 0, 10), _real_dates))
    ok = pc.and_(ok, _per_distinct(pc.utf8_slice_codeunits(texts, 11, 19), _real_times))
    if t == "TIMESTAMPTZ":
        tails = pc.utf8_slice_codeunits(texts, -6, 2**31 - 1)
        ok = pc.and_(ok, _per_distinct(tails, _real_offsets))
        # an offset can move the first or last day out of the instants bronze holds
        edge = pc.fill_null(
            pc.or_(pc.starts_with(texts, "0001-01-01"), pc.starts_with(texts, "9999-12-31")), False
        )
        if pc.any(edge).as_py():
            ok = pc.and_(ok, pc.or_(pc.invert(edge), _per_distinct(texts, _instants_in_range)))
    return ok


def _instants_in_range(texts: pa.Array) -> pa.Array:
    return pa.array(
        [
            t is not None and dialect.fits(t, "TIMESTAMPTZ") and dialect.instant_in_range(t)
            for t in texts.to_pylist()
        ],
        pa.bool_(),
    )


def _fits_integer(texts: pa.Array, t: str) -> pa.Array:
    shape = _matches(texts, dialect.INTEGER_TEXT)
    length = pc.utf8_length(texts)
    if t == "HUGEINT":
        digits = pc.subtract(length, pc.cast(pc.starts_with(texts, "-"), pa.int32()))
        return pc.and_(shape, pc.less_equal(digits, dialect.MAX_DECIMAL_DIGITS))
    low, high = dialect.INT_RANGES[t]
    short = pc.less_equal(length, 18)  # within int64 for sure: compared as numbers
    numbers = pc.cast(pc.if_else(pc.and_(shape, short), texts, "0"), pa.int64())
    in_range = pc.and_(
        pc.greater_equal(numbers, pa.scalar(max(low, -(2**63)), pa.int64())),
        pc.less_equal(numbers, pa.scalar(min(high, 2**63 - 1), pa.int64())),
    )
    long = pc.and_(shape, pc.invert(short))
    return pc.and_(shape, pc.if_else(short, in_range, _slow(texts, long, t)))


#: A negative zero is no number: no type gives its ``-`` back (dialect.NUMBER_TEXT says so too).
_NEGATIVE_ZERO = r"-0(?:\.0*)?"


def _fits_number(texts: pa.Array, t: str) -> pa.Array:
    shape = pc.and_(
        _matches(texts, dialect.CANONICAL["NUMBER"]),
        pc.invert(_matches(texts, _NEGATIVE_ZERO)),
    )
    params = dialect.decimal_params(t)
    if params is not None:
        precision, scale = params
        whole = precision - scale
        integer = "0" if whole == 0 else f"0|[1-9][0-9]{{0,{whole - 1}}}"
        # decimals past the scale are held only when zeros (1.5000 is 1.50 exactly)
        fraction = f"(?:\\.[0-9]{{1,{scale}}}0*)?" if scale else "(?:\\.0+)?"
        return pc.and_(shape, _matches(texts, f"-?(?:{integer}){fraction}"))
    # DOUBLE: up to 15 significant digits always round-trip; FLOAT: up to 6, within 1e±37
    digits = 15 if t == "DOUBLE" else 6
    short = pc.less_equal(pc.utf8_length(texts), digits)
    long = pc.and_(shape, pc.invert(short))
    return pc.and_(shape, pc.if_else(short, True, _slow(texts, long, t)))


def object_misfits(texts: pa.Array, struct: pa.StructType, grow: bool = True) -> list[str | None]:
    """Per JSON text meeting a bronze struct column of type ``struct``, why the loader would
    not take it (None: it would, or it is null): ``lakehouse.nested.misfits``, its rule
    (``grow``: the struct grown by these objects)."""
    return nested.misfits(pc.cast(texts, pa.string()).to_pylist(), struct, grow)


def fits_array(texts: pa.Array, data_type: str) -> pa.Array:
    """Per text, whether ``data_type`` holds it exactly (:func:`lakehouse.dialect.fits`);
    null where the text is null (a null fits every type). A struct column's rule
    (``parquet.OBJECT``) takes any object here: :func:`object_misfits` judges its fields."""
    t = dialect.type_name(data_type)
    texts = pc.cast(texts, pa.string())
    if t in dialect.INT_RANGES or t == "HUGEINT":
        result = _fits_integer(texts, t)
    elif t in ("DOUBLE", "FLOAT") or dialect.decimal_params(t) is not None:
        result = _fits_number(texts, t)
    elif t == "BOOLEAN":
        result = _matches(texts, dialect.CANONICAL["BOOLEAN"])
    elif t == "DATE":
        result = _per_distinct(texts, _real_dates)
    elif t in dialect.TIMESTAMP_DIGITS or t == "TIMESTAMPTZ":
        result = _fits_timestamp(texts, t)
    elif t in dialect.SHAPED_TEXT:  # TIME, UUID: kept as text of the type's shape
        result = _matches(texts, dialect.CANONICAL[t])
    elif t == dialect.JSON_TEXT:  # a CSV field's or a Parquet value's text: one JSON value
        result = _per_distinct(texts, _json_values)
    elif t == parquet.OBJECT:  # bronze's struct column: a JSON object
        result = _per_distinct(texts, _objects)
    elif t == parquet.UNFIT:  # bronze's list or map column: no text joins it, only null
        result = pa.array([False] * len(texts), pa.bool_())
    else:  # a type kept as text holds any text
        result = pa.array([True] * len(texts), pa.bool_())
    return pc.if_else(pc.is_null(texts), pa.scalar(None, pa.bool_()), result)


def first_misfit(texts: pa.Array, data_type: str) -> int | None:
    """The index of the first text ``data_type`` cannot hold, or None."""
    ok = fits_array(texts, data_type)
    bad = pc.and_(pc.invert(ok), pc.is_valid(ok))
    if not pc.any(bad).as_py():
        return None
    return int(pc.index(bad, True).as_py())


def checked_text(data_type: str) -> bool:
    """Whether ``data_type`` constrains a CSV field's or a Parquet value's text: a checked type
    (:func:`checked`), or ``json`` (one JSON value; any value of a JSON file fits it, as its
    JSON text)."""
    name = dialect.type_name(data_type)
    # BLOB takes every text as its bytes: nothing to look at value by value
    return (checked(data_type) and name != dialect.BYTES) or name == dialect.JSON_TEXT


def checked(data_type: str) -> bool:
    """Whether ``data_type`` constrains a JSON value (a type kept as text holds any; ``json``
    any JSON value, as its JSON text)."""
    t = dialect.type_name(data_type)
    return (
        t in dialect.INT_RANGES
        or t in ("HUGEINT", "DOUBLE", "FLOAT", "BOOLEAN", "DATE", "TIMESTAMPTZ")
        or t in dialect.TIMESTAMP_DIGITS
        or t in dialect.SHAPED_TEXT
        or t == dialect.BYTES
        or dialect.decimal_params(t) is not None
        or t in (parquet.OBJECT, parquet.UNFIT)
    )


#: The types :func:`lakehouse.dialect.infer` tries, in its order (``VARCHAR`` when none holds).
_CANDIDATES = tuple(t for t in dialect.INFERENCE_ORDER if t != "VARCHAR")


def _decimal_digits(texts: pa.Array) -> tuple[int, int]:
    """The most integer digits (0 for ``0``) and decimals of canonical numbers
    (``dialect._digits``, over a column)."""
    body = pc.utf8_ltrim(texts, "-")
    length = pc.utf8_length(body)
    point = pc.find_substring(body, ".")
    has_point = pc.greater_equal(point, 0)
    scale = pc.if_else(has_point, pc.subtract(pc.subtract(length, point), 1), 0)
    whole = pc.if_else(has_point, point, length)
    whole = pc.if_else(pc.starts_with(body, "0"), 0, whole)
    return int(pc.max(whole).as_py() or 0), int(pc.max(scale).as_py() or 0)


@dataclass
class Inferring:
    """:func:`lakehouse.dialect.infer` of one CSV column given a part at a time (no value kept):
    the type the loader gives a column new to the table from the file's first ``chunk_rows``
    records (``loader.fitting.Inference``, the same rule; ``tests/ingest/test_typecheck.py``
    holds the three to one answer). Each part is checked against the types no earlier part
    refuted, so the answer is the one a single pass over every value gives."""

    left: list[str] = field(default_factory=lambda: list(_CANDIDATES))
    whole: int = 0  # the most integer digits of the numbers seen (DECIMAL's)
    scale: int = 0  # the most decimals
    seen: bool = False  # a value that is not null

    def add(self, texts: pa.Array) -> None:
        texts = pc.cast(texts, pa.string())
        if texts.null_count:
            texts = texts.drop_null()
        if not len(texts):
            return
        self.seen = True
        kept = []
        for candidate in self.left:
            if candidate == "DECIMAL":
                fit = bool(pc.all(_matches(texts, dialect.NUMBER_TEXT)).as_py())
                if fit:
                    whole, scale = _decimal_digits(texts)
                    self.whole, self.scale = max(self.whole, whole), max(self.scale, scale)
            else:
                fit = bool(pc.all(fits_array(texts, candidate)).as_py())
            if fit:
                kept.append(candidate)
        self.left = kept

    def result(self) -> str:
        """The type found (``VARCHAR``: no value, or none holds every value)."""
        if not self.seen:
            return "VARCHAR"
        for candidate in self.left:
            if candidate != "DECIMAL":
                return candidate
            if self.whole + self.scale <= dialect.MAX_DECIMAL_DIGITS:
                return f"DECIMAL({dialect.MAX_DECIMAL_DIGITS},{self.scale})"
        return "VARCHAR"


class _FieldInferring:
    """One field of :class:`StructInferring`: the kinds of its values, and while they are of
    one kind, the type their numbers take (:class:`Inferring`, ``dialect.infer``'s rule) or
    the struct of its objects."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.kinds: set[str] = set()
        self.numbers: Inferring | None = Inferring()
        self.objects: StructInferring | None = None

    def add(self, values: list[object]) -> None:
        present = [v for v in values if v is not None]
        self.kinds.update(nested.kind(v) for v in present)
        if len(self.kinds) != 1:  # none yet, or several kinds: text
            if self.kinds:
                self.numbers = self.objects = None
            return
        if self.kinds == {"number"} and self.numbers is not None:
            self.numbers.add(pa.array([nested.literal(v) for v in present], pa.string()))
        elif self.kinds == {"object"}:
            if self.objects is None:
                self.objects = StructInferring(self.level + 1)
            self.objects.add(present)  # type: ignore[arg-type]  # all dicts

    def result(self) -> pa.DataType:
        if self.kinds == {"boolean"}:
            return pa.bool_()
        if self.kinds == {"number"} and self.numbers is not None:
            return parquet.storage_type(self.numbers.result())
        if self.kinds == {"object"} and self.objects is not None:
            return self.objects.result() or pa.string()
        return pa.string()


class StructInferring:
    """:func:`lakehouse.nested.infer_struct` of objects given a part at a time (no object
    kept): the struct the loader gives a JSON key of objects new to the table from the objects
    of the file's first ``chunk_rows`` records (``loader.loading``, its ``_struct_or_text``).
    Each field's kinds, numbers and objects are gathered as that function gathers them, its
    fields in the order first seen (``tests/ingest/test_typecheck.py`` holds the two to one
    answer)."""

    def __init__(self, level: int = 1) -> None:
        self.level = level
        self.fields: dict[str, _FieldInferring] = {}

    def add(self, objects: list[dict[str, object]]) -> None:
        if self.level > dialect.MAX_TYPE_DEPTH:  # deeper objects keep their text
            return
        values: dict[str, list[object]] = {}
        for obj in objects:
            for key, value in obj.items():
                values.setdefault(key, []).append(value)
        for key, found in values.items():
            column = self.fields.get(key)
            if column is None:
                column = self.fields[key] = _FieldInferring(self.level)
            column.add(found)

    def result(self) -> pa.StructType | None:
        """The struct found, or None: the objects keep their text."""
        if self.level > dialect.MAX_TYPE_DEPTH or not self.fields:
            return None
        if dialect.name_problem(list(self.fields)) is not None:
            return None
        return pa.struct([pa.field(k, f.result()) for k, f in self.fields.items()])


def objects_of(texts: pa.Array) -> list[dict[str, object]]:
    """The objects of JSON texts the loader takes a struct from (``loader.loading``'s
    ``_struct_or_text``): an object repeating a key or holding a lone surrogate is none."""
    found: list[dict[str, object]] = []
    for text in texts.to_pylist():
        try:
            value = nested.decode(text)
        except ValueError:  # a repeated key too: it grows no struct
            continue
        if isinstance(value, dict) and nested.lone_surrogate(text, value) is None:
            found.append(value)
    return found


@dataclass
class JsonInferring:
    """The type the loader gives a JSON or NDJSON key new to the table from the file's first
    ``chunk_rows`` records (``loader.fitting.Inference`` of JSON text, then a struct by
    ``nested.infer_struct``), given a part at a time (no value kept): an object column's struct
    (:class:`StructInferring`; ``VARCHAR`` when it has none), else :class:`Inferring` of the
    values' texts, a string refuting every type (the loader's text is quoted: no type's rule
    takes it). The loader rescues the later records' values that do not fit it."""

    scalar: Inferring = field(default_factory=Inferring)
    #: the objects' struct while every value seen is an object (None: one is not)
    objects: StructInferring | None = field(default_factory=StructInferring)

    def add(self, texts: pa.Array, quoted: pa.Array) -> None:
        """A part's values: their texts as written (``ingest.validation.json_texts``: a
        string's characters, null for ``null``) and which are strings."""
        if self.settled:
            return
        texts = pc.cast(texts, pa.string())
        present = pc.is_valid(texts)
        if not pc.any(present).as_py():
            return
        if pc.any(pc.and_(quoted, present)).as_py():  # a string: text
            self.scalar.seen, self.scalar.left, self.objects = True, [], None
            return
        texts = texts.filter(present)
        if self.objects is not None:
            if pc.all(pc.starts_with(texts, "{")).as_py():
                self.objects.add(objects_of(texts))
            else:
                self.objects = None
        self.scalar.add(texts)

    @property
    def settled(self) -> bool:
        """Whether the type is text whatever comes (nothing more to look at)."""
        return self.objects is None and self.scalar.seen and not self.scalar.left

    def result(self) -> tuple[str, pa.StructType | None]:
        """The type found (``parquet.OBJECT`` with its struct, or ``VARCHAR`` or a type
        :func:`lakehouse.dialect.infer` gives)."""
        if self.objects is not None and self.scalar.seen:
            struct = self.objects.result()
            return (parquet.OBJECT, struct) if struct is not None else ("VARCHAR", None)
        return self.scalar.result(), None


__all__ = [
    "Inferring",
    "JsonInferring",
    "StructInferring",
    "checked",
    "checked_text",
    "first_misfit",
    "fits_array",
    "misfit_message",
    "objects_of",
]
