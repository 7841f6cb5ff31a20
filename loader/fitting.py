"""The landing dialect's type rule (``lakehouse.dialect``) over Arrow columns of text.

Readers hand over every CSV field and JSON value as text; this module decides each column's
type and turns the text into it, vectorized (pyarrow compute, no Python per value on the way of
a good file):

* :class:`Inference` accumulates, batch by batch, which types every value of a column fits, and
  names the first of ``dialect.INFERENCE_ORDER`` that all do;
* :func:`fits` is the mask of values a type holds exactly (``dialect.fits``, the same answers);
* :class:`Typer` applies a :class:`ColumnPlan` per column to a batch: typed values, and for a
  value that does not fit, the table's ``on_mismatch``: ``rescue`` into ``_rescued_data`` or
  ``quarantine`` (:class:`Mismatch`).

JSON values arrive as JSON text (a string quoted, so ``"5"`` never passes for the number 5);
a column that keeps text stores a string's characters (:func:`json_text`), a column declared
``json`` each value's JSON text as read (a CSV field or a Parquet string must be one JSON value).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse import dialect, misfit, nested, parquet, rescued
from lakehouse.dialect import RESCUED_DATA, MismatchPolicy
from lakehouse.parquet import OBJECT as OBJECT  # the core's rules, re-exported (the API's too)
from lakehouse.parquet import UNFIT as UNFIT
from lakehouse.parquet import column_rule as column_rule
from lakehouse.parquet import rule_type as rule_type
from lakehouse.parquet import storage_type as storage_type
from loader.exceptions import FileRejected, ReadAgain

Origin = Literal["declared", "existing", "inferred"]
_T = TypeVar("_T")

_INT = dialect.INTEGER_TEXT  # each a whole value's text (see :func:`_match`)
_NUMBER = dialect.NUMBER_TEXT
_DATE = dialect.DATE_TEXT
_TIMESTAMPTZ = dialect.TIMESTAMPTZ_TEXT
_OFFSET = f"{dialect.OFFSET_TEXT}$"
_DOUBLE_SAFE_CHARS = 15  # a canonical number this short has at most 15 digits: float64-exact
_STRING = pa.string()
_NULL_BOOL = pa.scalar(None, pa.bool_())


# -- the rule, vectorized ---------------------------------------------------------------------


def _match(text: pa.Array, pattern: str) -> pa.Array:
    """Whether each text is, whole, a ``pattern`` (null where the text is null).

    A column whose every value matches (a good file: nearly every batch) is found by one RE2
    pass over its values joined by a separator (:func:`_every_match`), about 2-3x cheaper than
    one match per value; otherwise each value is matched.
    """
    if _every_match(text, pattern):
        valid = pc.is_valid(text)
        return valid if not text.null_count else pc.if_else(valid, True, _NULL_BOOL)
    return pc.match_substring_regex(text, f"^(?:{pattern})$")


#: The byte between values in :func:`_every_match`: never in UTF-8 text, so never in a value.
_SEPARATOR = 0xFF


def _every_match(text: pa.Array, pattern: str) -> bool:
    """Whether every non-null value of ``text`` is, whole, a ``pattern``: one regular
    expression over the values joined by the byte 0xFF, ``^P(\\xffP)*$`` (RE2 reads binary
    data byte by byte, Latin-1). Exact: no pattern of the rule matches 0xFF, and no value holds
    it (checked: the largest byte of the values' data is below it; UTF-8 text never holds it),
    so the only way through the joined bytes is value by value, each whole. False when unsure
    (the caller then matches value by value)."""
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return False
    values = text.drop_null() if text.null_count else text
    if not len(values):
        return True
    data = values.buffers()[2]
    if data is not None and data.size:
        top = pc.max(pa.Array.from_buffers(pa.uint8(), data.size, [None, data])).as_py()
        if top is None or top >= _SEPARATOR:
            return False
    binary = pa.large_binary() if pa.types.is_large_string(text.type) else pa.binary()
    sep = f"\\x{_SEPARATOR:02x}"
    try:
        one = pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values.cast(binary))
        joined = pc.binary_join(one, bytes([_SEPARATOR]))
        found = pc.match_substring_regex(joined, f"^(?:{pattern})(?:{sep}(?:{pattern}))*$")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowCapacityError):
        return False
    return bool(found[0].as_py())


def _significant(text: pa.Array) -> pa.Array:
    """The significant digits of numbers as text (``-0.0120`` → ``12``, ``1.5e-07`` → ``15``)."""
    mantissa = pc.replace_substring_regex(text, "[eE].*$", "")
    digits = pc.replace_substring_regex(mantissa, "[-+.]", "")
    return pc.utf8_trim(digits, "0")


#: The exponent range where a float32 holds 6 significant digits (the rule's FLOAT): below its
#: normal range it holds fewer (0.0 below 1.4e-45), above 3.4e38 none.
_FLOAT32_LOW = 1e-37
_FLOAT32_HIGH = 1e38


def _float32_exact(text: pa.Array) -> pa.Array:
    """For canonical numbers: whether each is held by a float32 (the rule's FLOAT): zero (no
    significant digit), or at most 6 significant digits and an exponent within -37..37. The
    exponent is read from the float64: a number of 6 digits is ~1e-6 from the bounds, far more
    than float64's rounding, so ``1e-37 <= |x| < 1e38`` on it is exact (and a text float64 makes
    0 or infinite is out of range, never zero)."""
    digits = pc.utf8_length(_significant(text))
    magnitude = pc.abs(pc.cast(text, _FLOAT64))
    in_range = pc.and_(pc.greater_equal(magnitude, _FLOAT32_LOW), pc.less(magnitude, _FLOAT32_HIGH))
    held = pc.and_(pc.less_equal(digits, 6), in_range)
    return pc.or_(pc.equal(digits, 0), held)


def _float_exact(text: pa.Array) -> pa.Array:
    """For canonical numbers: whether each equals its float64's shortest text."""
    if _longest(text) <= _DOUBLE_SAFE_CHARS:  # canonical numbers are ASCII: bytes are chars
        return pc.is_valid(text)
    short = pc.less_equal(pc.utf8_length(text), _DOUBLE_SAFE_CHARS)
    if pc.all(pc.or_kleene(short, pc.is_null(text))).as_py():
        return short
    as_float = pc.cast(text, pa.float64())
    same = pc.equal(_significant(text), _significant(pc.cast(as_float, _STRING)))
    finite = pc.is_finite(as_float)
    return pc.or_(short, pc.and_(same, finite))


def _int_range(text: pa.Array, low: int, high: int) -> pa.Array:
    """For canonical integers: whether each lies in [low, high]."""
    if (low, high) == (-(2**63), 2**63 - 1) and _longest(text) <= 18:
        return pc.is_valid(text)  # at most 18 digits: inside int64
    digits = pc.utf8_length(pc.utf8_ltrim(text, "-"))
    short = pc.less_equal(digits, 18)
    if (low, high) == (-(2**63), 2**63 - 1) and pc.all(
        pc.or_kleene(short, pc.is_null(text))
    ).as_py():
        return short
    wide = pc.less_equal(digits, 38)
    number = pc.cast(pc.if_else(wide, text, pa.scalar(None, _STRING)), pa.decimal128(38, 0))
    lo = pa.scalar(low, pa.decimal128(38, 0))
    hi = pa.scalar(high, pa.decimal128(38, 0))
    inside = pc.and_(pc.greater_equal(number, lo), pc.less_equal(number, hi))
    return pc.fill_null(inside, False)


def _longest(text: pa.Array) -> int:
    """The most bytes of a value of ``text`` (0 when none)."""
    return int(pc.max(pc.binary_length(text)).as_py() or 0)


def _only(text: pa.Array, ok: pa.Array) -> pa.Array:
    """``text`` where ``ok``, null elsewhere (``text`` itself when ``ok`` is never false)."""
    if pc.all(ok).as_py() is not False:
        return text
    return pc.if_else(ok, text, pa.scalar(None, _STRING))


def _decimal_digits(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Integer digits (0 for ``0``) and decimals of canonical numbers."""
    length = pc.utf8_length(text)
    point = pc.find_substring(text, ".")
    has_point = pc.greater_equal(point, 0)
    frac = pc.if_else(has_point, pc.subtract(pc.subtract(length, point), 1), 0)
    whole = pc.if_else(has_point, point, length)
    sign = pc.cast(pc.starts_with(text, "-"), pa.int32())
    zero = pc.cast(pc.starts_with(pc.utf8_ltrim(text, "-"), "0"), pa.int32())
    return pc.subtract(pc.subtract(whole, sign), zero), frac


def _decimal_fits(text: pa.Array, precision: int, scale: int) -> pa.Array:
    """Whether each text is a canonical number of at most ``precision - scale`` integer digits
    and ``scale`` decimals, zeros past the scale set aside (``1.5000`` is 1.50 exactly)."""
    ok = _match(text, _NUMBER)
    canonical = _only(text, ok)
    whole, frac = _decimal_digits(canonical)
    if pc.any(pc.greater(frac, scale)).as_py():
        frac = _decimal_digits(_without_trailing_zeros(canonical))[1]
    sized = pc.and_(pc.less_equal(whole, precision - scale), pc.less_equal(frac, scale))
    return pc.and_(ok, pc.fill_null(sized, False))


def _without_trailing_zeros(text: pa.Array) -> pa.Array:
    """Canonical numbers without the zeros that end their fraction, the same values
    (``1.5000`` → ``1.5``, ``2.00`` → ``2``, ``10`` stays ``10``)."""
    point = pc.fill_null(pc.match_substring(text, "."), False)
    trimmed = pc.utf8_rtrim(pc.utf8_rtrim(text, characters="0"), characters=".")
    return pc.if_else(point, trimmed, text)


def _castable(
    text: pa.Array, target: pa.DataType, candidate: pa.Array, rule: str
) -> tuple[pa.Array, pa.Array | None]:
    """``candidate`` narrowed to the values Arrow can cast (a real date, a real time), and the
    cast values when every candidate cast (else None)."""
    picked = _only(text, candidate)
    try:
        return candidate, pc.cast(picked, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # some candidate is no real date or time (2023-02-29): the rule, value by value
    values = picked.to_pylist()
    return pa.array([v is not None and dialect.fits(v, rule) for v in values], pa.bool_()), None


def fits(text: pa.Array, data_type: str) -> pa.Array:
    """Whether each text is held exactly by ``data_type`` (null where the text is null)."""
    return fits_and_values(text, data_type)[0]


def _cast_fits(text: pa.Array, t: str) -> pa.Array | None:
    """The values of ``text`` as ``t`` (``BIGINT``, ``DATE``, ``TIMESTAMP``) when every one fits
    it, found by the cast itself and a cheap look at the texts it took, not the rule's regular
    expression; None when the cast fails or a text is one it takes that the rule does not (the
    caller then applies the rule). Sound by what Arrow's parsers take (tested against the rule):
    int64 ``-?[0-9]+`` within range and ``-?0[xX][0-9a-fA-F]+`` (so: no text starting ``0`` but
    ``0`` itself, none starting ``-0``); date32 ``[0-9]{4}-[0-9]{2}-[0-9]{2}``, a real date (so:
    no year ``0000``); a timestamp of 19 characters ``[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]`` and then
    ``hh:mm:ss`` (hours below 24, minutes and seconds below 60), ``hh:mm+hh`` or ``hh+hh:mm``
    (an offset), so: every text 19 long, a ``:`` at offsets 13 and 16, no year ``0000`` (a fraction,
    another length, goes by the rule)."""
    if t in dialect.TIMESTAMP_DIGITS:  # 19 characters: no fraction, a value of each
        return _timestamps_fit(text)
    try:
        values = pc.cast(text, _INT64 if t == "BIGINT" else _DATE32)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
        return None
    if t == "BIGINT":
        zero = pc.and_(pc.starts_with(text, "0"), pc.greater(pc.binary_length(text), 1))
        taken_only = pc.or_(zero, pc.starts_with(text, "-0"))
    else:
        taken_only = pc.starts_with(text, "0000")
    return None if pc.any(taken_only).as_py() else values


_STAMP_CHARS = 19  # YYYY-MM-DD hh:mm:ss
_UTC_MICROS = pa.timestamp("us", tz="UTC")


def _timestamps_fit(text: pa.Array) -> pa.Array | None:
    """:func:`_cast_fits` of a naive timestamp column (``dialect.TIMESTAMP_DIGITS``: read as
    UTC)."""
    present = text.drop_null() if text.null_count else text
    if not len(present):
        return None
    lengths = pc.min_max(pc.binary_length(present))
    if lengths["min"].as_py() != _STAMP_CHARS or lengths["max"].as_py() != _STAMP_CHARS:
        return None
    try:
        values = pc.cast(text, pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    colons = pc.and_(pc.equal(byte_at(present, 13), _COLON), pc.equal(byte_at(present, 16), _COLON))
    if not pc.all(colons).as_py() or pc.any(pc.starts_with(present, "0000")).as_py():
        return None
    return values.cast(_UTC_MICROS)


_DATE32 = pa.date32()


def fits_and_values(text: pa.Array, data_type: str) -> tuple[pa.Array, pa.Array | None]:
    """:func:`fits`, and for dates and timestamps the values cast on the way (else None)."""
    values = None
    t = dialect.type_name(data_type)
    valid = pc.is_valid(text)
    if (t in ("BIGINT", "DATE") or t in dialect.TIMESTAMP_DIGITS) and pa.types.is_string(text.type):
        values = _cast_fits(text, t)
        if values is not None:  # every value fits: cast once, no regular expression
            return pc.if_else(valid, True, pa.scalar(None, pa.bool_())), values
    if t == UNFIT:
        return pc.if_else(valid, False, pa.scalar(None, pa.bool_())), None
    if t in dialect.INT_RANGES or t == "HUGEINT":
        ok = _match(text, _INT)
        low, high = dialect.INT_RANGES.get(t, (-(10**38) + 1, 10**38 - 1))
        ok = pc.and_(ok, _int_range(_only(text, ok), low, high))
    elif t in ("DOUBLE", "FLOAT"):
        ok = _match(text, _NUMBER)
        canonical = _only(text, ok)
        if t == "DOUBLE":
            ok = pc.and_(ok, pc.fill_null(_float_exact(canonical), False))
        else:
            ok = pc.and_(ok, pc.fill_null(_float32_exact(canonical), False))
    elif (params := dialect.decimal_params(t)) is not None:
        ok = _decimal_fits(text, *params)
    elif t == "BOOLEAN":
        ok = pc.is_in(text, pa.array(["true", "false"]))
    elif t == "DATE":
        ok = pc.and_(_match(text, _DATE), pc.invert(pc.starts_with(text, "0000")))
        ok, values = _castable(text, pa.date32(), pc.fill_null(ok, False), "DATE")
    elif t in dialect.TIMESTAMP_DIGITS:  # naive: read as UTC; _MS, _S: fewer decimals
        pattern = dialect.CANONICAL[t]
        ok = pc.and_(_match(text, pattern), pc.invert(pc.starts_with(text, "0000")))
        ok, values = _castable(text, pa.timestamp("us"), pc.fill_null(ok, False), t)
        values = None if values is None else values.cast(pa.timestamp("us", tz="UTC"))
    elif t == "TIMESTAMPTZ":
        ok = pc.and_(_match(text, _TIMESTAMPTZ), pc.invert(pc.starts_with(text, "0000")))
        utc = pa.timestamp("us", tz="UTC")
        ok, values = _castable(_with_offset(text), utc, pc.fill_null(ok, False), t)
        ok = _instants_held(ok, values)
    else:
        ok = _text_fits(text, t, valid)
    return pc.if_else(valid, pc.fill_null(ok, False), pa.scalar(None, pa.bool_())), values


def _text_fits(text: pa.Array, t: str, valid: pa.Array) -> pa.Array:
    """Whether each text fits a type bronze keeps as text: ``TIME`` and ``UUID`` of the type's
    shape (``dialect.SHAPED_TEXT``), ``JSON`` one JSON value, any other any text."""
    if t in dialect.SHAPED_TEXT:
        return _match(text, dialect.CANONICAL[t])
    if t == dialect.JSON_TEXT:
        return _json_values(text)
    return valid


def _json_values(text: pa.Array) -> pa.Array:
    """Whether each text is one JSON value (``dialect.json_value``), judged once per distinct
    text (null where the text is null)."""
    distinct = pc.unique(text.drop_null() if text.null_count else text)
    ok = pa.array([dialect.json_value(t) for t in distinct.to_pylist()], pa.bool_())
    return pc.take(ok, pc.index_in(text, distinct))


def _instants_held(ok: pa.Array, values: pa.Array | None) -> pa.Array:
    """``ok`` but for instants past those bronze holds (an offset moves 9999-12-31 into year
    10000: ``lakehouse.dialect.instant_in_range``); ``values`` None: the rule judged each."""
    if values is None:
        return ok
    micros = values.cast(pa.int64())
    inside = pc.and_(
        pc.greater_equal(micros, parquet.FIRST_MICROSECOND),
        pc.less_equal(micros, parquet.LAST_MICROSECOND),
    )
    return pc.and_(ok, pc.fill_null(inside, True))


def _with_offset(text: pa.Array) -> pa.Array:
    """Timestamps as text with an offset (a naive one is UTC: ``Z`` is added)."""
    has = pc.fill_null(pc.match_substring_regex(text, _OFFSET), True)
    return pc.if_else(has, text, pc.binary_join_element_wise(text, "Z", ""))


def cast(text: pa.Array, data_type: str, ok: pa.Array | None = None) -> pa.Array:
    """The values of ``text`` as ``data_type``'s storage type; null where ``ok`` is false."""
    target = storage_type(data_type)
    if ok is not None and not pc.all(pc.fill_null(ok, True)).as_py():
        text = pc.if_else(pc.fill_null(ok, True), text, pa.scalar(None, _STRING))
    if target == _STRING:
        return text
    t = dialect.type_name(data_type)
    if t == "BOOLEAN":
        return pc.equal(text, "true")
    if t in dialect.TIMESTAMP_DIGITS:
        return pc.cast(text, pa.timestamp("us")).cast(target)
    if pa.types.is_timestamp(target):
        return pc.cast(_with_offset(text), target)
    if pa.types.is_decimal(target):
        try:
            return pc.cast(text, target)
        except pa.ArrowInvalid:  # zeros past 38 digits (1.000...0): Arrow's parser stops there
            return pc.cast(_without_trailing_zeros(text), target)
    return pc.cast(text, target)


# -- inference ----------------------------------------------------------------------------------


@dataclass
class Inference:
    """The type every value of one column fits (``dialect.infer``), over the batches added.

    ``json``: the values are JSON text, and a column of objects only is a struct (``OBJECT``).
    The candidates are tried in order, each over every value until one does not fit: a column
    costs about one check of its type. :meth:`settle` does that over the batches added so far
    (a reader calls it on a thread after each batch, while it reads the next), remembering
    the first candidate not refuted and how many batches fit it; :meth:`result` goes on from
    there. Every check is of each value alone, so the answer is the one a single pass over
    all the values gives, however the values came in batches and whenever they were settled.
    """

    json: bool = False
    #: JSON numbers are their literals as written (False: as DuckDB prints them, see
    #: :func:`_json_ints`).
    literal_numbers: bool = True
    parts: list[pa.Array] = field(default_factory=list)
    _at: int = 0  # the first candidate no part has refuted (its index in _candidates())
    _fit: int = 0  # parts[:_fit] all fit it
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: each column added: the index of its part when that is the whole column (no null)
    _whole: list[int | None] = field(default_factory=list, repr=False)
    #: part index → its values as the candidate being tried, where that candidate's test made
    #: them (a JSON BIGINT or DOUBLE column as DuckDB prints it: one cast): see :meth:`made`
    _made: dict[int, pa.Array] = field(default_factory=dict, repr=False)
    _testing: int = -1  # the part being tested

    def add(self, text: pa.Array) -> None:
        values = text.drop_null() if text.null_count else text
        whole = None
        if len(values):
            self.parts.append(values)
            whole = len(self.parts) - 1 if values is text else None
        self._whole.append(whole)

    def _keep(self, values: pa.Array, made: pa.Array | None) -> bool:
        """Whether a test's cast ``made`` the values (None: some value does not fit); kept
        when ``values`` are the whole part under test (not its first values only)."""
        if made is not None and 0 <= self._testing < len(self.parts):
            if len(values) == len(self.parts[self._testing]):
                self._made[self._testing] = made
        return made is not None

    def made(self, data_type: str, column: int) -> pa.Array | None:
        """The ``column``-th column added, without nulls, as ``data_type`` values, when that
        is the type found and its test cast them already (a JSON ``BIGINT`` or ``DOUBLE``
        column: :func:`_json_ints`, :func:`_json_doubles`); None otherwise. The same values
        :func:`cast` gives (the same kernel over the same text), so a column of the batches
        the types were found by is not parsed twice. Call after :meth:`result`."""
        part = self._whole[column] if column < len(self._whole) else None
        if part is None:
            return None
        with self._lock:
            tests = self._candidates()
            if self._at >= len(tests) or tests[self._at][0] != data_type:
                return None
            return self._made.get(part)

    def forget(self) -> None:
        """Drop what :meth:`made` would give (its memory)."""
        with self._lock:
            self._made.clear()

    def _candidates(self) -> list[tuple[str, Callable[[pa.Array], pa.Array | bool]]]:
        """The types in order, each with its test of a part: a mask of the values that fit,
        or whether all do."""
        tests: list[tuple[str, Callable[[pa.Array], pa.Array | bool]]] = []
        if self.json:
            tests.append((OBJECT, lambda t: pc.starts_with(t, "{")))
        for candidate in ("BOOLEAN", "BIGINT", "DOUBLE"):
            if candidate == "BIGINT" and self.json and not self.literal_numbers:
                tests.append((candidate, lambda t: self._keep(t, _json_ints(t))))
            elif candidate == "DOUBLE" and self.json and not self.literal_numbers:
                # the shortcut takes numbers of at most 15 characters; a longer one may fit too
                tests.append(
                    (candidate, lambda t: self._keep(t, _json_doubles(t)) or fits(t, "DOUBLE"))
                )
            else:
                tests.append((candidate, lambda t, c=candidate: fits(t, c)))  # type: ignore[misc]
        tests.append((_DECIMAL, lambda t: _match(t, _NUMBER)))
        for candidate in ("DATE", "TIMESTAMP"):
            tests.append((candidate, lambda t, c=candidate: fits(t, c)))  # type: ignore[misc]
        return tests

    def settle(self) -> None:
        """Refute candidates over the parts added so far, on any thread; nothing when
        another thread is at it (what it leaves is settled later, or by :meth:`result`)."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._settle(len(self.parts))
        finally:
            self._lock.release()

    def _settle(self, parts: int) -> None:
        tests = self._candidates()
        while self._at < len(tests):
            test = tests[self._at][1]
            while self._fit < parts:
                self._testing = self._fit
                if not _fits_part(test, self.parts[self._fit], self._fit == 0):
                    break
                self._fit += 1
            self._testing = -1
            if self._fit == parts:
                return
            self._next_candidate()

    def _next_candidate(self) -> None:
        """The next candidate, from the first part."""
        self._at, self._fit = self._at + 1, 0
        self._made.clear()

    def result(self) -> str:
        if not self.parts:
            return "VARCHAR"
        with self._lock:
            tests = self._candidates()
            while True:
                self._settle(len(self.parts))
                if self._at == len(tests):
                    return "VARCHAR"
                found = tests[self._at][0]
                if found != _DECIMAL:
                    return found
                whole = scale = 0
                for part in self.parts:
                    digits, decimals = _decimal_digits(part)
                    whole = max(whole, pc.max(digits).as_py() or 0)
                    scale = max(scale, pc.max(decimals).as_py() or 0)
                if whole + scale <= dialect.MAX_DECIMAL_DIGITS:
                    return f"DECIMAL({dialect.MAX_DECIMAL_DIGITS},{scale})"
                self._next_candidate()  # too many digits: not a decimal


_DECIMAL = "DECIMAL"  # a candidate of Inference: DECIMAL(38, the most decimals seen)


def _fits_part(test: Callable[[pa.Array], pa.Array | bool], part: pa.Array, head: bool) -> bool:
    """Whether every value of ``part`` passes ``test``; ``head``: its first values first (most
    columns fail most types in their first values, and a failing check of many values costs
    more than a passing one)."""
    for values in (part.slice(0, _HEAD), part) if head else (part,):
        found = test(values)
        if not (found if isinstance(found, bool) else _all(found)):
            return False
    return True


_HEAD = 1024
_INT64 = pa.int64()


def _json_ints(text: pa.Array) -> pa.Array | None:
    """JSON text as DuckDB prints it, as BIGINT values when every value fits BIGINT, else None:
    one cast, the same answer as the rule's regular expression and range. DuckDB refuses what
    the cast would take and the rule would not (``01``, ``00``, ``0x1F``, ``+1`` are no JSON;
    a string is quoted) and prints an integer as its digits (a ``-0`` is read as ``0``: such a
    file is read keeping literals, ``loader.readers``); past int64 the cast fails."""
    try:
        return pc.cast(text, _INT64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


#: The bytes of a decimal number as DuckDB prints one without an exponent: ``-``, ``.``, digits
#: (and ``/`` between them in ASCII, which no JSON value holds outside a string)
_PLAIN_LOW, _PLAIN_HIGH = ord("-"), ord("9")
_NEGATIVE_ZERO = pa.scalar(-(2**63), _INT64)  # -0.0's bits, as an int64


def _json_doubles(text: pa.Array) -> pa.Array | None:
    """JSON text as DuckDB prints it, as DOUBLE values when every value fits the rule's DOUBLE
    as a canonical number of at most :data:`_DOUBLE_SAFE_CHARS` characters (float64-exact);
    else None. The same answer as the rule's regular expression (:data:`_NUMBER`) and
    length, without them: a value whose bytes are all ``-``, ``.`` or digits is a JSON number
    without an exponent (a string is quoted, ``true``/``null`` and objects hold other bytes),
    and DuckDB prints none with a leading zero, a ``+`` or a bare point, so such a value is a
    canonical number unless it is a negative zero (``-0.0``: the rule leaves it out, its ``-``
    kept by no type), which its cast double shows by its sign bit. One look at the bytes the
    values span (min and max), one cast, one comparison; the canonical numbers the rule takes
    pass all three whatever printed them."""
    if not pa.types.is_string(text.type) or _longest(text) > _DOUBLE_SAFE_CHARS:
        return None
    span = _value_bytes(text)
    if span is not None:
        low_high = pc.min_max(pa.Array.from_buffers(_UINT8, span.size, [None, span]))
        if low_high["min"].as_py() < _PLAIN_LOW or low_high["max"].as_py() > _PLAIN_HIGH:
            return None
    try:
        values = pc.cast(text, _FLOAT64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if pc.any(pc.equal(values.view(_INT64), _NEGATIVE_ZERO)).as_py():
        return None
    return values


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(mask).as_py() is not False)


# -- typing a batch -----------------------------------------------------------------------------

#: Batches of at least this many rows are typed a column per thread (pyarrow's kernels release
#: the GIL); smaller ones on the caller's thread.
PARALLEL_ROWS = 16_384
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _forget_pool() -> None:
    """In a forked child the pool's threads are gone: it makes its own when it needs one."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(os.cpu_count(), thread_name_prefix="loader-typing")
        return _POOL


def beside(work: Callable[[], None]) -> Future[None] | None:
    """``work`` started on the typing threads, to go on beside the caller's own (None on one
    core: the caller goes without)."""
    if (os.cpu_count() or 1) < 2:
        return None
    return _pool().submit(work)


def in_parallel(work: Callable[[int], _T], items: range, rows: int) -> list[_T]:
    """``[work(i) for i in items]``, the items spread over a thread per core when ``rows`` make
    it worth it. The same answer either way: the results in order, and when some raise, the
    exception of the first of them in order (the one a plain loop would meet)."""
    if rows < PARALLEL_ROWS or len(items) < 2 or (os.cpu_count() or 1) < 2:
        return [work(i) for i in items]
    pool = _pool()
    futures = [pool.submit(work, i) for i in items]
    return [f.result() for f in futures]  # in order: the first failure in order raises


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """How one column of text becomes bronze values."""

    name: str
    data_type: str  # the dialect type whose rule applies ("VARCHAR": kept as text)
    origin: Origin
    stored: pa.DataType = field(default=_STRING)
    #: The values are typed already (Parquet) and only cast, without loss, to ``stored``.
    kept: bool = False
    #: The values are typed (Parquet) as this, and go through their text to meet the rule.
    via_text: pa.DataType | None = None
    #: Their type as the file wrote it, when it is not ``via_text`` (a UUID, a duration, a
    #: time: read as text): what a ``BLOB`` column's rule judges.
    written: pa.DataType | None = None

    @property
    def typed(self) -> bool:
        return self.data_type != "VARCHAR"


class NeedLiterals(ReadAgain):
    """A JSON number joins a text column, and the reader gave its double's text, not its
    literal: the file must be read again keeping literals."""

    def __init__(self, why: str = "a JSON number's literal is needed") -> None:
        super().__init__(why, exact=True)


def _shown(plan: ColumnPlan) -> str:
    """The type a value does not fit, as the reason names it: a nested column's rule
    (``OBJECT``, ``UNFIT``) is no type, so the table's own (``struct<a: int64>``,
    ``list<item: int64>``), as the API names it (``contracts.as_loaded``)."""
    if plan.data_type in (OBJECT, UNFIT) and plan.stored != _STRING:
        return str(plan.stored)
    return plan.data_type


class Mismatch(Exception):
    """A value does not fit its column's declared or existing type (``quarantine``)."""

    def __init__(
        self,
        column: str,
        data_type: str,
        value: str,
        row: int,
        *,
        why: str | None = None,
        said: str | None = None,
    ) -> None:
        super().__init__(f"value {value!r} of column {column!r} does not fit {data_type}")
        self.column = column
        self.data_type = data_type
        self.value = value
        self.row = row  # 0-based, among the file's records
        #: why a struct column does not take it (``lakehouse.nested.misfits``, the API's words)
        self.why = why
        #: the whole sentence, as the API's 422 says it (``lakehouse.misfit.sentence``)
        self.said = said


class Missing(Exception):
    """A required column (the contract's ``not_null`` or key) without a value: refuses the
    file under either ``on_mismatch`` (a missing value has nothing to rescue), as the API
    refuses it (422)."""

    def __init__(self, column: str, row: int) -> None:
        super().__init__(f"required column {column!r} has no value")
        self.column = column
        self.row = row  # 0-based, among the file's records


class Typer:
    """Types a file's batches of text by its column plans; counts rescued values."""

    #: Whole-column answers where they are cheaper (:func:`_all_numbers`, :func:`_only_strings`);
    #: off, every column takes the whole path (the same values and refusals: the tests load
    #: files both ways and compare)
    shortcuts = True

    def __init__(
        self,
        plans: Sequence[ColumnPlan],
        policy: MismatchPolicy,
        *,
        json_text: bool = False,
        literal_numbers: bool = True,
        required: Collection[str] = (),
        unrescued: Collection[str] = (),
        declared: Mapping[str, str] | None = None,
        order: Sequence[str] = (),
    ) -> None:
        self.plans = list(plans)
        #: The contract's columns in its order: of a record holding several problems (a
        #: required column's null, a value that does not fit), the first column so is named,
        #: as the API names it (docs/loading.md, Which of a file's values is named)
        self._order = {name: i for i, name in enumerate(order)}
        #: The contract's types (column -> data_type): a mismatch in a column of a type bronze
        #: keeps as text (``interval``, ``integer[]``) names the type declared, as the API does
        self.declared = dict(declared or {})
        #: Positions of the columns that must hold a value in every record
        self.required = [i for i, p in enumerate(self.plans) if p.name in required]
        #: The required columns: a value there that does not fit refuses the file under
        #: either policy, as the API does (rescued, the row would hold the column null, which
        #: the contract says cannot be), whether its type is declared or the table's
        self._unrescued = set(unrescued)
        self.policy = policy
        self.json = json_text
        self.literal_numbers = literal_numbers
        self.rows = 0  # records typed so far (for the row of a mismatch)
        self.rescued = 0  # values moved into _rescued_data
        fields = [pa.field(p.name, p.stored) for p in self.plans]
        self.schema = pa.schema(fields)
        #: Whether a batch may carry ``_rescued_data`` (a declared or existing typed column).
        self.may_rescue = policy == "rescue" and any(p.typed or p.via_text for p in self.plans)

    def apply(
        self,
        batch: pa.RecordBatch,
        *,
        inferred_from: bool = False,
        made: Mapping[int, pa.Array] | None = None,
    ) -> pa.RecordBatch:
        """The typed batch. ``inferred_from``: the batch is one the inferred types were found
        by (every value of it fits them: they are cast without checking again). ``made``:
        column index → that column's values already cast to its inferred ``BIGINT`` or
        ``DOUBLE`` by the inference (:meth:`Inference.made`), taken as they are."""

        def one(i: int) -> tuple[pa.Array, tuple[ColumnPlan, pa.Array, pa.Array] | None]:
            plan = self.plans[i]
            known = made.get(i) if made and inferred_from else None
            if (
                known is not None
                and len(known) == batch.num_rows
                and plan.origin == "inferred"
                and self._printed_numbers(plan)
                and known.type == plan.stored
            ):
                return known, None
            return self._column(plan, batch.column(i), inferred_from)

        def kept(
            i: int,
        ) -> tuple[pa.Array, tuple[ColumnPlan, pa.Array, pa.Array] | None] | Mismatch:
            try:
                return one(i)
            except Mismatch as exc:  # the batch's first problem is named, whichever column's
                return exc

        found: list[Missing | Mismatch] = []
        for i in self.required:
            values = batch.column(i)
            if values.null_count:
                row = self.rows + int(pc.index(values.is_null(), True).as_py())
                found.append(Missing(self.plans[i].name, row))
        done = in_parallel(kept, range(len(self.plans)), batch.num_rows)
        found += [d for d in done if isinstance(d, Mismatch)]
        if found:  # the first record holding one; of it, the contract's first column
            raise min(found, key=lambda exc: (exc.row, self._rank(exc.column)))
        typed = [d for d in done if not isinstance(d, Mismatch)]
        columns = [column for column, _ in typed]
        bad = [wrong for _, wrong in typed if wrong is not None]
        names = [p.name for p in self.plans]
        if bad:
            columns.append(self._rescue(bad, batch.num_rows))
            names.append(RESCUED_DATA)
        self.rows += batch.num_rows
        return pa.RecordBatch.from_arrays(columns, names=names)

    def _rank(self, column: str) -> tuple[int, int]:
        """A column's place among a record's problems: ``order`` (the judged contract's: its
        columns, then the table's it judges), then the file's for any other."""
        if column in self._order:
            return 0, self._order[column]
        return 1, next((i for i, p in enumerate(self.plans) if p.name == column), 0)

    def _column(
        self, plan: ColumnPlan, values: pa.Array, inferred_from: bool
    ) -> tuple[pa.Array, tuple[ColumnPlan, pa.Array, pa.Array] | None]:
        """One column of a batch typed, and its values that did not fit (None: all did)."""
        if plan.kept:
            return (values if values.type == plan.stored else values.cast(plan.stored)), None
        if plan.via_text is not None:
            text, no_text = _as_text(values, plan)
            if no_text is not None:  # bytes that are not UTF-8: null here, rescued as base64
                return self._without_text(plan, values, text, no_text)
        else:
            text = values
        if self._printed_numbers(plan):
            numbers = _all_numbers(text, plan, inferred_from)
            if numbers is not None:  # every value a plain number: none nested to check
                return numbers, None
        checked = self.json and (not self.literal_numbers or not self._still_json(plan))
        lead = first_bytes(text) if checked else None  # read once for the checks below
        strings = self.shortcuts and lead is not None and _only_strings(lead)  # nothing nested
        if self.json and not self.literal_numbers and not strings:
            _no_nested_decimal_numbers(text, lead)
        sent = text  # a JSON column's values as JSON text: rescued so, keeping their kind
        if self.json and not self._still_json(plan):
            text = self._stored_text(plan, text, lead, strings)
            if plan.data_type == dialect.JSON_TEXT:  # every JSON value is one: none to judge
                return text, None
        if not plan.typed:
            return text, None
        if inferred_from and plan.origin == "inferred" and plan.data_type != OBJECT:
            return cast(text, plan.data_type), None
        typed, wrong = self._typed(plan, text, sent if self.json else None)
        return typed, None if wrong is None else (plan, wrong, sent)

    def _stored_text(
        self, plan: ColumnPlan, text: pa.Array, lead: pa.Array | None, strings: bool
    ) -> pa.Array:
        """A JSON file's column of :data:`_TEXT_RULES` as the text it stores: a string's
        characters, or for a column declared ``json`` each value's JSON text as read (a string
        with its quotes: ``"5"`` and ``5`` stay apart). A value stored as text keeps both of
        a key it repeats, and a number's literal (else the file is read again keeping it)."""
        if not strings:
            _no_repeated_keys(text, lead, plan.name, self.rows)  # stored as text: both keys
            if not self.literal_numbers:
                _no_decimal_numbers(text, lead)
        if plan.data_type == dialect.JSON_TEXT:
            return text
        return json_text(text, lead, strings=strings)

    def _without_text(
        self, plan: ColumnPlan, values: pa.Array, text: pa.Array, no_text: pa.Array
    ) -> tuple[pa.Array, tuple[ColumnPlan, pa.Array, pa.Array] | None]:
        """A column of Parquet bytes some of which are not UTF-8 (``no_text``; ``text`` null
        there): those are mismatches whatever the column's rule (no text, so no text fits),
        rescued in their base64 form (:func:`lakehouse.parquet.rescued_bytes`) or refusing the
        file at the first of them or of the values that do not fit the rule, whichever comes
        first."""
        first = int(pc.index(no_text, True).as_py())
        if plan.typed:
            try:
                typed, wrong = self._typed(plan, text)
            except Mismatch as exc:  # under quarantine: a value before the first bytes
                if exc.row < self.rows + first:
                    raise
                wrong = None
        else:
            typed, wrong = text, None
        if self.policy == "quarantine" or plan.name in self._unrescued:
            why = parquet.no_text_reason(values, first)
            # as the API says it: a type kept as text (VARCHAR here) by the type declared
            shown = self.declared.get(plan.name, plan.data_type) if not plan.typed else None
            said = misfit.sentence(why, shown or plan.data_type)
            raise Mismatch(plan.name, _shown(plan), why, self.rows + first, said=said)
        wrong = no_text if wrong is None else pc.or_(wrong, no_text)
        return typed, (plan, wrong, _RawText(text, values, no_text))

    def _printed_numbers(self, plan: ColumnPlan) -> bool:
        """Whether a column is a ``BIGINT`` or ``DOUBLE`` column of JSON numbers as DuckDB
        prints them (:func:`_all_numbers` may type it at once)."""
        return (
            self.shortcuts
            and self.json
            and not self.literal_numbers
            and plan.via_text is None
            and (plan.data_type, plan.stored) in _PRINTED_NUMBERS
        )

    def _still_json(self, plan: ColumnPlan) -> bool:
        """Whether a column's text reaching :meth:`_typed` is still JSON text. A JSON file's
        columns of :data:`_TEXT_RULES` hold their values' text already (decoded once, in
        :meth:`apply`): decoding again fails on a string with a backslash and drops the quotes
        of a string that holds quotes."""
        return self.json and plan.data_type not in _TEXT_RULES

    def _typed(
        self, plan: ColumnPlan, text: pa.Array, sent: pa.Array | None = None
    ) -> tuple[pa.Array, pa.Array | None]:
        """A column's typed values, and the mask of the values that did not fit (None: all
        did); under ``quarantine`` the first that did not raises :class:`Mismatch`, saying the
        value as the file wrote it (``sent``: a JSON file's values as JSON text)."""
        if (
            self.json
            and not self.literal_numbers
            and plan.stored == _INT64
            and plan.data_type == "BIGINT"
        ):
            ints = _json_ints(text)
            if ints is not None:
                return ints, None  # every value fits
        ok, values, final = self._fit(plan, text)
        wrong = pc.invert(pc.fill_null(ok, True))
        if not pc.any(wrong).as_py():
            wrong = None
        elif self.policy == "quarantine" or plan.name in self._unrescued:
            raise self._mismatch(plan, text, sent, int(pc.index(wrong, True).as_py()))
        if plan.data_type == UNFIT:
            return pa.nulls(len(text), plan.stored), wrong
        if final and values is not None:
            return values, wrong  # null where a value did not fit
        if values is not None and wrong is None and values.type == plan.stored:
            return values, wrong  # cast already, every value fits
        return cast(text, plan.data_type, ok), wrong

    def _mismatch(
        self, plan: ColumnPlan, text: pa.Array, sent: pa.Array | None, row: int
    ) -> Mismatch | FileRejected:
        """What refuses the file at its first value that does not fit (``row`` of this batch),
        in the API's words (``lakehouse.misfit.sentence``)."""
        typ = plan.written or plan.via_text
        if plan.data_type == dialect.BYTES and typ is not None and not self.json:
            if not parquet.text_or_bytes(typ) and self.policy == "quarantine":
                # no value of the column is bytes or text: the column is refused, as the
                # API refuses it (ingest.filecheck._bytes_column), not its first record
                said = misfit.sentence(f"column type {typ}", plan.data_type)
                return FileRejected("type_conflict", said, column=plan.name)
        value = text[row].as_py()
        raw = (sent if sent is not None else text)[row].as_py() if self.json else None
        if self._still_json(plan):
            if not self.literal_numbers:  # the reason names the number as sent, not as
                _no_decimal_numbers(text.slice(row, 1))  # DuckDB prints it (1.005, 1.0050)
            value = json_text(pa.array([value], _STRING))[0].as_py()
        why = None
        if plan.data_type == OBJECT and isinstance(plan.stored, pa.StructType):
            why = nested.misfits(text.to_pylist(), plan.stored)[row]  # as the API says it
        # the value as the file wrote it: a JSON value as its JSON text (a string quoted
        # "0", a number's literal), a CSV field's or a Parquet value's text as '0'
        shown = misfit.json_shown(raw) if isinstance(raw, str) else repr(value)
        string = isinstance(raw, str) and raw.startswith('"')
        struct = plan.stored if isinstance(plan.stored, pa.StructType) else None
        sentence = misfit.sentence(shown, plan.data_type, struct, why, json_string=string)
        return Mismatch(
            plan.name,
            _shown(plan),
            value,
            self.rows + row,
            why=why,
            said=sentence,
        )

    def _fit(self, plan: ColumnPlan, text: pa.Array) -> tuple[pa.Array, pa.Array | None, bool]:
        """Which values fit the column's rule; the values made on the way (None: none), and
        whether they are the column's values (null where a value did not fit: a struct's, a
        ``BLOB``'s) or, for a date or timestamp, its values cast before knowing which fit."""
        if plan.data_type == OBJECT:
            try:
                # a CSV field's or a Parquet string's object repeating a key is a text that
                # does not fit; a JSON file's own object refuses the file (docs/loading.md)
                structs, fit = nested.structs(
                    text.to_pylist(), plan.stored, repeats_refuse=self.json
                )
            except nested.RepeatedKey as exc:  # docs/loading.md: a repeated key refuses the file
                where = f"record {self.rows + exc.index + 1}, column {plan.name!r}"
                raise FileRejected("unparseable", f"{where}: {exc}", column=plan.name) from exc
            return pa.array(fit, pa.bool_()), structs, True
        if plan.data_type == dialect.BYTES:
            return *self._bytes(plan, text), True
        return *fits_and_values(text, plan.data_type), False

    def _bytes(self, plan: ColumnPlan, text: pa.Array) -> tuple[pa.Array, pa.Array]:
        """Which values a ``BLOB`` column takes (``dialect.BYTES``), and the bytes stored: a
        text as its UTF-8 bytes, exactly (a CSV field, a JSON string's characters, a Parquet
        string); a JSON value that is no string, and a Parquet value that is neither text nor
        bytes (a number, a date, a list, ...), is a mismatch (null here). Parquet bytes are
        kept as written before this (``parquet.kept_as_written``)."""
        valid = pc.is_valid(text)
        none = pa.scalar(None, pa.bool_())
        if self.json:  # JSON text: a string's characters; anything else is no text of bytes
            ok = pc.fill_null(starts_with_byte(text, _QUOTE), False)
            text = json_text(pc.if_else(ok, text, pa.scalar(None, _STRING)))
        elif plan.via_text is not None and not parquet.text_or_bytes(plan.written or plan.via_text):
            ok = pc.if_else(valid, False, none)
        else:
            ok = valid
        ok = pc.if_else(valid, ok, none)
        taken = pc.if_else(pc.fill_null(ok, False), text, pa.scalar(None, _STRING))
        return ok, pc.cast(taken, pa.binary())

    def _rescue(self, bad: list[tuple[ColumnPlan, pa.Array, pa.Array]], n: int) -> pa.Array:
        """``_rescued_data`` for a batch: per row a JSON object of the values that did not fit."""
        any_bad = bad[0][1]
        for _, wrong, _ in bad[1:]:
            any_bad = pc.or_(any_bad, wrong)
        if self.json and not self.literal_numbers:  # written as sent: counted so too
            for plan, wrong, column in bad:
                if not isinstance(column, _RawText) and self._still_json(plan):
                    _no_decimal_numbers(pc.filter(column, wrong))
        self._within_bound(bad, n)  # before any of the text is made
        rows = pc.indices_nonzero(any_bad)
        objects: list[dict[str, str | dict[str, str]]] = [{} for _ in range(len(rows))]
        for plan, wrong, column in bad:
            if isinstance(column, _RawText):  # Parquet bytes, some of them not UTF-8
                self._rescue_bytes(objects, rows, plan, wrong, column)
                continue
            text = column
            if self.json and self._still_json(plan) and plan.data_type != OBJECT:
                _no_repeated_keys(text, None, plan.name, self.rows)  # rescued as text
            picked = pc.take(wrong, rows).to_pylist()
            taken = pc.take(text, rows)
            values: list[Any] = _rescued_json(taken) if self.json else taken.to_pylist()
            for obj, hit, value in zip(objects, picked, values, strict=True):
                if hit:
                    obj[plan.name] = value
                    self.rescued += 1
        texts = pa.array([_rescued_text(o) for o in objects], _STRING)
        return pc.replace_with_mask(pa.nulls(n, _STRING), any_bad, texts)

    def _within_bound(self, bad: list[tuple[ColumnPlan, pa.Array, pa.Array]], n: int) -> None:
        """Refuse a batch whose ``_rescued_data`` would pass one Arrow array
        (:func:`lakehouse.rescued.refusal`), from the rescued values' lengths, before any of
        its text is made."""

        def measure(exact: bool) -> dict[str, tuple[int, int]]:
            return {
                plan.name: self._rescued_size(plan, w, column, exact) for plan, w, column in bad
            }

        refused = rescued.refusal(measure, self.rows, n)
        if refused is not None:
            raise FileRejected("too_large", refused[1], column=refused[0])

    def _rescued_size(
        self, plan: ColumnPlan, wrong: pa.Array, column: pa.Array, exact: bool
    ) -> tuple[int, int]:
        """A column's rescued values (``wrong``) and the bytes of ``_rescued_data`` text they
        make (not ``exact``: no fewer than those), as :meth:`_rescue` writes them."""
        if isinstance(column, _RawText):  # a text as a JSON string, other bytes as base64
            return rescued.text_sizes(
                plan.name, column.text, wrong, exact, column.no_text, column.values
            )
        if not self.json:  # each value's text as a JSON string
            return rescued.text_sizes(plan.name, column, wrong, exact)
        count = int(pc.sum(wrong).as_py() or 0)
        if not exact:  # JSON text: written as sent, a string's no longer than sent
            size = int(pc.sum(pc.binary_length(column).filter(wrong)).as_py() or 0)
        else:  # as :func:`_rescued_json` writes them
            values = column if count == len(column) else pc.filter(column, wrong)  # all: no copy
            quoted = pc.fill_null(starts_with_byte(values, _QUOTE), False)
            size = rescued.text_bytes(pc.filter(values, pc.invert(quoted)))
            size += rescued.json_string_bytes(json_text(pc.filter(values, quoted)))
        return count, rescued.entry_bytes(plan.name, count, size)

    def _rescue_bytes(
        self,
        objects: list[dict[str, str | dict[str, str]]],
        rows: pa.Array,
        plan: ColumnPlan,
        wrong: pa.Array,
        column: _RawText,
    ) -> None:
        """Rescue a column of Parquet bytes: a value with text as that text, one without (bytes
        that are not UTF-8) as ``{"base64": ...}``."""
        picked = pc.take(wrong, rows).to_pylist()
        no_text = pc.take(column.no_text, rows).to_pylist()
        texts = pc.take(column.text, rows).to_pylist()
        nested = parquet.is_nested(column.values.type)
        for i, (obj, hit, bytes_only, text) in enumerate(
            zip(objects, picked, no_text, texts, strict=True)
        ):
            if not hit:
                continue
            if not bytes_only:
                obj[plan.name] = text
            elif nested:  # the whole value, its bytes as markers (parquet.marked_text)
                row = rows[i].as_py()
                obj[plan.name] = _Marked(parquet.marked_text(column.values.slice(row, 1)))
            else:
                value = column.values[rows[i].as_py()].as_py()
                obj[plan.name] = {"base64": parquet.rescued_bytes(value)}
            self.rescued += 1


class _Marked(str):
    """JSON text written into ``_rescued_data`` as it is: a rescued nested value holding bytes
    that are not UTF-8 (:func:`lakehouse.parquet.marked_text`), a JSON value that is not a
    string (:func:`_rescued_json`)."""


def _rescued_json(text: pa.Array) -> list[str | None]:
    """A JSON column's rescued values as they go into ``_rescued_data``: a string as its
    characters (a JSON string there), any other value (a number, ``true``/``false``, an object,
    an array) as its JSON text written as it is, so the value keeps its kind: ``1.5`` and
    ``"1.5"``, ``{"K":2}`` and ``"{\"K\":2}"``, ``1`` and ``"1"`` stay apart (the number's
    digits as sent: rescued numbers are read as literals)."""
    quoted = pc.fill_null(starts_with_byte(text, _QUOTE), False).to_pylist()
    return [
        v if q or v is None else _Marked(v)
        for v, q in zip(json_text(text).to_pylist(), quoted, strict=True)
    ]


def _rescued_text(obj: dict[str, str | dict[str, str]]) -> str:
    """A row's ``_rescued_data`` object as JSON text (``json.dumps``'s form), a
    :class:`_Marked` value as the JSON it is."""
    if not any(isinstance(v, _Marked) for v in obj.values()):
        return json.dumps(obj, ensure_ascii=False)
    parts = (
        json.dumps(k, ensure_ascii=False)
        + ": "
        + (v if isinstance(v, _Marked) else json.dumps(v, ensure_ascii=False))
        for k, v in obj.items()
    )
    return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True)
class _RawText:
    """A column of Parquet bytes met by a rule: ``text`` (null where ``no_text``: bytes that are
    not UTF-8) and the bytes as written (``values``)."""

    text: pa.Array
    values: pa.Array
    no_text: pa.Array


_FLOAT64 = pa.float64()
_PRINTED_NUMBERS = frozenset({("BIGINT", _INT64), ("DOUBLE", _FLOAT64)})


def _all_numbers(text: pa.Array, plan: ColumnPlan, inferred_from: bool) -> pa.Array | None:
    """The values of a ``BIGINT`` or ``DOUBLE`` column of JSON text as DuckDB prints it, when
    every value fits the column's rule; else None (the caller then takes the whole path: the
    checks of nested values, the rule value by value, rescue). A value that fits either rule is
    a plain number (no quote, brace or bracket): there is nothing nested in the column to look
    at, and the values are the same as the whole path gives (tested against it). Cheaper than
    it: a column of the batches the inferred types were found by is cast (every value fits,
    by inference); a ``BIGINT`` column by one cast (:func:`_json_ints`); a ``DOUBLE`` column
    when every value is a canonical number of at most :data:`_DOUBLE_SAFE_CHARS` characters
    (:func:`_json_doubles`: a look at the bytes and one cast)."""
    if inferred_from and plan.origin == "inferred":
        return cast(text, plan.data_type)
    if plan.data_type == "BIGINT":
        return _json_ints(text)
    return _json_doubles(text)


def _only_strings(lead: pa.Array) -> bool:
    """Whether every value of a JSON text column is a string (its first byte a quote), at
    least one of them: by :func:`first_bytes`, no value is then an object, array or number."""
    low_high = pc.min_max(lead)
    low: int | None = low_high["min"].as_py()
    high: int | None = low_high["max"].as_py()
    return low == _QUOTE and high == _QUOTE


#: Rules whose column stores a JSON value's text, not the JSON text a rule reads on: a JSON
#: string's characters, or (``JSON``) the value's JSON text as read, its quotes kept.
_TEXT_RULES = frozenset({*dialect.JSON_STRING_TYPES, UNFIT, dialect.JSON_TEXT})


_QUOTE, _BRACE, _BRACKET = ord('"'), ord("{"), ord("[")
_UINT8 = pa.uint8()
_COLON = pa.scalar(ord(":"), _UINT8)


def first_bytes(text: pa.Array) -> pa.Array | None:
    """The first byte of each value of a string array (0 for an empty value, null for a null
    one), by one gather over the values' bytes; None for another type. A JSON text column is
    asked for several first characters (a quote, a brace, a bracket): ``pc.starts_with`` reads
    the values once per character, this once for all (1M values: ~2 ms, ~4 ms each). A null
    value's bytes, if any, are never read as its first byte."""
    if not pa.types.is_string(text.type):
        return None
    n = len(text)
    data = text.buffers()[2]
    size = 0 if data is None else data.size
    if size == 0:  # no bytes: every value empty or null
        return pc.if_else(pc.is_valid(text), pa.scalar(0, _UINT8), pa.scalar(None, _UINT8))
    starts = pa.Array.from_buffers(pa.int32(), n, [None, text.buffers()[1]], offset=text.offset)
    if n and starts[n - 1].as_py() >= size:  # the starts never fall: the last is the highest
        # an empty or null value last starts at the end; an int32 bound: no int64 copy
        starts = pc.min_element_wise(starts, pa.scalar(size - 1, pa.int32()))
    firsts = pc.take(pa.Array.from_buffers(_UINT8, size, [None, data]), starts)
    lengths = pc.binary_length(text)  # null where the value is null
    if (pc.min(lengths).as_py() or 0) > 0:  # no empty value (JSON text has none): nulls only
        if not text.null_count:
            return firsts
        return pc.if_else(pc.is_valid(text), firsts, pa.scalar(None, _UINT8))
    return pc.if_else(pc.equal(lengths, 0), pa.scalar(0, _UINT8), firsts)


def byte_at(text: pa.Array, position: int) -> pa.Array:
    """The byte at ``position`` of each value of a string array without nulls, every value
    longer than ``position``: one gather over the values' bytes."""
    starts = pa.Array.from_buffers(
        pa.int32(), len(text), [None, text.buffers()[1]], offset=text.offset
    )
    data = text.buffers()[2]
    return pc.take(pa.Array.from_buffers(_UINT8, data.size, [None, data]), pc.add(starts, position))


def starts_with_byte(text: pa.Array, byte: int, lead: pa.Array | None = None) -> pa.Array:
    """``pc.starts_with(text, chr(byte))`` for an ASCII ``byte``, by ``lead`` when given."""
    if lead is None:
        return pc.starts_with(text, chr(byte))
    return pc.equal(lead, pa.scalar(byte, _UINT8))


def _no_decimal_numbers(text: pa.Array, lead: pa.Array | None = None) -> None:
    """Raise :class:`NeedLiterals` if a JSON text column holds a number with a point or an
    exponent (its printed double may differ from its literal: ``1.5`` for ``1.50``).
    ``lead``: :func:`first_bytes` of ``text``, when known."""
    plain = pc.invert(pc.fill_null(starts_with_byte(text, _QUOTE, lead), True))
    if not pc.any(plain).as_py():
        return
    numbers = pc.match_substring_regex(pc.filter(text, plain), r"^-?[0-9]+[.eE]")
    if pc.any(numbers).as_py():
        raise NeedLiterals


def _no_nested_decimal_numbers(text: pa.Array, lead: pa.Array | None = None) -> None:
    """Raise :class:`NeedLiterals` if an object or array of a JSON text column holds a number
    with a point or an exponent: DuckDB prints nested values again (``{"x":1.5}`` for
    ``{"x": 1.50}``). A string that looks so inside them trips it too: harmless, slower."""
    opens = pc.or_(starts_with_byte(text, _BRACE, lead), starts_with_byte(text, _BRACKET, lead))
    nested = pc.fill_null(opens, False)
    if not pc.any(nested).as_py():
        return
    numbers = pc.match_substring_regex(pc.filter(text, nested), r"[\[:,]-?[0-9]+[.eE]")
    if pc.any(numbers).as_py():
        raise NeedLiterals


def _no_repeated_keys(text: pa.Array, lead: pa.Array | None, column: str, before: int) -> None:
    """Refuse the file when an object of a JSON text column repeats a key (docs/loading.md),
    where the value is kept as text (a struct's values are checked as they are decoded).
    Only the values opening with a brace, or with a bracket and holding one, are decoded.
    ``lead``: :func:`first_bytes` of ``text``, when known; ``before``: the file's records
    before the batch."""
    opens = pc.or_(starts_with_byte(text, _BRACE, lead), starts_with_byte(text, _BRACKET, lead))
    opens = pc.fill_null(opens, False)
    if not pc.any(opens).as_py():
        return
    rows = pc.indices_nonzero(opens)
    values = pc.take(text, rows)
    braced = pc.match_substring(values, "{")  # an array without a brace holds no object
    for row, value in zip(
        pc.filter(rows, braced).to_pylist(), pc.filter(values, braced).to_pylist(), strict=True
    ):
        try:
            nested.check_keys(value)
        except nested.RepeatedKey as exc:
            where = f"record {before + row + 1}, column {column!r}"
            raise FileRejected("unparseable", f"{where}: {exc}", column=column) from exc
        except (ValueError, RecursionError):
            continue  # not JSON text (the reader says why), or nested deeper than json goes


def not_too_deep(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """A JSON file's batches (each value its JSON text); a record nested deeper than
    ``dialect.MAX_JSON_DEPTH`` (the record level 1, so a value one less) refuses the file, as
    the API refuses it, before a recursive parser meets it. Only values long enough to nest
    so deep (two bytes a level) are looked at: one length per value otherwise."""
    limit = dialect.MAX_JSON_DEPTH - 1
    before = 0
    for batch in batches:
        for i, values in enumerate(batch.columns):
            if not pa.types.is_string(values.type) or not len(values):
                continue
            if (pc.max(pc.binary_length(values)).as_py() or 0) < 2 * (limit + 1):
                continue
            long = pc.indices_nonzero(pc.greater_equal(pc.binary_length(values), 2 * (limit + 1)))
            for row, text in zip(long.to_pylist(), pc.take(values, long).to_pylist(), strict=True):
                reason = dialect.too_deep(text.encode(), limit)
                if reason is not None:
                    name = batch.schema.field(i).name
                    depth = dialect.json_depth(text.encode()) + 1
                    why = (
                        f"record {before + row + 1}, column {name!r}: nested {depth} levels "
                        f"deep; JSON records may nest at most {limit + 1} levels"
                    )
                    raise FileRejected("unparseable", why, column=name)
        before += batch.num_rows
        yield batch


def json_text(text: pa.Array, lead: pa.Array | None = None, *, strings: bool = False) -> pa.Array:
    """JSON text as the value's text: a string's characters; a number, ``true``/``false``, an
    object or an array as written. ``lead``: :func:`first_bytes` of ``text``, when known;
    ``strings``: every value is known to be a string (:func:`_only_strings`)."""
    if strings:
        quoted = pc.is_valid(text)
    else:
        quoted = pc.fill_null(starts_with_byte(text, _QUOTE, lead), False)
        count = pc.sum(quoted).as_py() or 0
        if not count:
            return text
        strings = count == len(text) - text.null_count
    if strings:  # every value a string: cut the quotes (ASCII)
        out = pc.binary_slice(text.view(pa.binary()), 1, -1).view(_STRING)
    else:
        out = pc.if_else(quoted, pc.utf8_slice_codeunits(text, 1, -1), text)
    if not _may_hold(text, b"\\"):
        return out
    escaped = pc.and_(quoted, pc.fill_null(pc.match_substring(text, "\\"), False))
    if pc.any(escaped).as_py():
        decoded = [json.loads(t) for t in pc.filter(text, escaped).to_pylist()]
        try:
            out = pc.replace_with_mask(out, escaped, pa.array(decoded, _STRING))
        except (UnicodeEncodeError, pa.ArrowInvalid) as exc:
            raise FileRejected(
                "unparseable", f"a JSON string holds an unpaired surrogate ({exc})"
            ) from exc
    return out


def _may_hold(text: pa.Array, byte: bytes) -> bool:
    """Whether a value of ``text`` may hold ``byte`` (False: none does): one search of the
    bytes its values span (memchr), not one per value."""
    if not pa.types.is_string(text.type) or not len(text):
        return True
    span = _value_bytes(text)
    if span is None:
        return False
    found: int = span.to_pybytes().find(byte)
    return found >= 0


def _value_bytes(text: pa.Array) -> pa.Buffer | None:
    """The bytes the values of a string array span, from its first value's start to its last
    value's end (None: no byte)."""
    if not len(text):
        return None
    offsets = pa.Array.from_buffers(
        pa.int32(), text.offset + len(text) + 1, [None, text.buffers()[1]]
    )
    start = offsets[text.offset].as_py()
    end = offsets[text.offset + len(text)].as_py()
    data = text.buffers()[2]
    if data is None or end <= start:
        return None
    return data.slice(start, end - start)


def _as_text(values: pa.Array, plan: ColumnPlan) -> tuple[pa.Array, pa.Array | None]:
    """Typed values (Parquet) as text, to meet another type's rule, and for a column of bytes
    the mask of those that are not UTF-8 (null in the text; None: every value has a text)."""
    try:
        return parquet.rule_texts(values, plan.data_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, parquet.NoText) as exc:
        raise Mismatch(plan.name, _shown(plan), f"<{values.type}>", -1) from exc


def plan_columns(
    names: Sequence[str],
    *,
    declared: dict[str, str],
    existing: dict[str, pa.DataType],
    infer: bool,
    inferred: Callable[[str], str],
) -> list[ColumnPlan]:
    """The plan of each column: the table's type if it has the column (its declared type when
    the contract names one), else the declared type, else inferred (``inferred(name)``) or text.
    """
    plans = []
    for name in names:
        if name in existing:  # the table's type (a contract written later does not change it)
            stored = existing[name]
            rule = column_rule(stored, declared.get(name))
            if rule is None:  # a nested column from Parquet: text cannot join it
                rule = UNFIT
            plans.append(ColumnPlan(name, rule, "existing", stored))
        elif name in declared:
            data_type = dialect.type_name(declared[name])
            stored = storage_type(data_type)
            shaped = data_type in dialect.SHAPED_TEXT or data_type == dialect.JSON_TEXT
            rule = data_type if stored != _STRING or shaped else "VARCHAR"
            plans.append(ColumnPlan(name, rule, "declared", stored))
        elif infer:
            data_type = inferred(name)
            plans.append(ColumnPlan(name, data_type, "inferred", storage_type(data_type)))
        else:
            plans.append(ColumnPlan(name, "VARCHAR", "inferred"))
    return plans
