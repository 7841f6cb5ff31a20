"""The bound on the text one batch may rescue into ``_rescued_data`` (``docs/loading.md``,
Mismatches), counted from Arrow lengths before any of that text is made.

A row's ``_rescued_data`` is the JSON object ``{"<column>": <value>, ...}`` of the values that
did not fit (``json.dumps``'s form, characters as they are): each entry takes its name's JSON
text, its value's, and 4 bytes (``: `` and either ``{``/``}`` or ``, ``), so a batch's text is
the sum over its rescued values of those. A batch's ``_rescued_data`` is one Arrow string array,
whose 32-bit offsets hold at most :data:`RESCUED_BATCH_BYTES`: a batch past it is refused as
``too_large`` by the loader and ``413`` by the API, in the same words (:func:`too_large`), for
every format, before the text is made (it took the loader 7-12 GB and ended in an Arrow
overflow or memory error, review finding revl 02). One count for the API and the loader:
:func:`text_sizes` per column, :func:`refusal` per batch; first an upper bound from the
values' lengths alone (:func:`most_value_bytes`, :func:`most_entry_bytes`: nothing fitted,
no text made), the exact count only when that could pass the bound.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse import dialect

#: The most bytes of ``_rescued_data`` text one batch may hold: one Arrow string array's
#: (32-bit offsets; a batch's decoded dictionary has the same bound, ``lakehouse.parquet``).
RESCUED_BATCH_BYTES = 2**31 - 1

#: The most bytes ``json.dumps`` writes for one byte of text (a control character as
#: ``\\u00XX``): the first count, from the lengths alone; the exact one only past the bound.
_MOST_PER_BYTE = 6

_CHUNK = 64 * 1024**2  # bytes of a text buffer looked at at once (bounds the temporaries)
#: Each byte's extra bytes in ``json.dumps``'s text: ``"`` ``\\`` and ``\\b \\t \\n \\f \\r``
#: one (a backslash before it), any other control character five (``\\u00XX``)
_EXTRA = bytes(
    5 if b < 0x20 and b not in b"\b\t\n\f\r" else 1 if b < 0x20 or b in b'"\\' else 0
    for b in range(256)
)


def _data(texts: pa.Array) -> memoryview | None:
    """The bytes of ``texts``'s values, one after another (a string or binary array)."""
    t = texts.type
    large = pa.types.is_large_string(t) or pa.types.is_large_binary(t)
    if not (large or pa.types.is_string(t) or pa.types.is_binary(t)):
        return None
    offsets, data = texts.buffers()[1], texts.buffers()[2]
    if offsets is None or data is None or not len(texts):
        return memoryview(b"")
    raw = memoryview(offsets).cast("B")
    at = raw.cast("q") if large else raw.cast("i")
    return memoryview(data)[at[texts.offset] : at[texts.offset + len(texts)]]


def json_string_bytes(texts: pa.Array) -> int:
    """The bytes ``json.dumps(v, ensure_ascii=False)`` writes for the texts of ``texts`` that are
    not null, summed (quotes included: ``"``, ``\\`` and ``\\b \\t \\n \\f \\r`` take 2 bytes,
    any other control character 6, any other character its UTF-8 bytes)."""
    if texts.null_count:
        texts = texts.filter(pc.is_valid(texts))
    if not len(texts):
        return 0
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.large_string())
    plain = int(pc.sum(pc.binary_length(texts)).as_py() or 0)
    data = _data(texts)
    assert data is not None
    extra = 0
    for at in range(0, len(data), _CHUNK):
        classes = bytes(data[at : at + _CHUNK]).translate(_EXTRA)
        extra += classes.count(1) + 5 * classes.count(5)
    return plain + extra + 2 * len(texts)


def text_bytes(texts: pa.Array) -> int:
    """The UTF-8 bytes of the values of ``texts`` (written as they are), summed."""
    return int(pc.sum(pc.binary_length(texts)).as_py() or 0) if len(texts) else 0


def most_json_bytes(texts: pa.Array) -> int:
    """No fewer bytes than :func:`json_string_bytes` of ``texts``, without reading them."""
    return _MOST_PER_BYTE * text_bytes(texts) + 2 * (len(texts) - int(texts.null_count))


#: The most characters of a Parquet value's text of a fixed-width type other than bytes (an
#: integer, a float, a decimal of up to 76 digits, a date, a time, a timestamp with its zone,
#: a duration, a boolean): plain characters (no escapes), far fewer than this (tested at their
#: extremes, tests/adversary/test_rescued_bound_every_format.py).
MOST_TEXT_BYTES = 126

#: The most bytes a value's JSON takes beyond ``6`` a byte of its text or bytes: the quotes, or
#: Parquet bytes that are not UTF-8 as ``{"base64": "..."}`` (4 bytes for 3, 14 around them).
_MOST_PER_VALUE = 18


def _byte_length(values: pa.Array) -> int | None:
    """The bytes of a string or binary array's values, from its offsets alone (None: another
    type)."""
    t = values.type
    large = pa.types.is_large_string(t) or pa.types.is_large_binary(t)
    if not (large or pa.types.is_string(t) or pa.types.is_binary(t)):
        return None
    offsets = values.buffers()[1]
    if offsets is None or not len(values):
        return 0
    at = memoryview(offsets).cast("B").cast("q" if large else "i")
    return int(at[values.offset + len(values)] - at[values.offset])


def most_value_bytes(values: pa.Array) -> int | None:
    """No fewer bytes than the JSON texts :func:`text_sizes` counts for every value of
    ``values`` that is not null (a Parquet column, or a CSV column of text), made from
    lengths alone (no text made, nothing fitted): 6 bytes a byte of text or bytes and
    :data:`_MOST_PER_VALUE` a value, :data:`MOST_TEXT_BYTES` and the quotes a value of a
    fixed-width type; a dictionary's by its longest value. None for a nested type (its text is
    made to count it)."""
    t = values.type
    count = len(values) - int(values.null_count)
    if not count:
        return 0
    if pa.types.is_dictionary(t):
        if _byte_length(values.dictionary) is not None:  # text or bytes: none past the longest
            most = int(pc.max(pc.binary_length(values.dictionary)).as_py() or 0)
            return count * (_MOST_PER_BYTE * most + _MOST_PER_VALUE)
        t = t.value_type
        if not _fixed_width(t):
            return None
        return count * (MOST_TEXT_BYTES + 2)
    size = _byte_length(values)
    if size is not None:
        return _MOST_PER_BYTE * size + _MOST_PER_VALUE * count
    if pa.types.is_fixed_size_binary(t):
        return count * (_MOST_PER_BYTE * int(t.byte_width) + _MOST_PER_VALUE)
    if not _fixed_width(t):
        return None
    return count * (MOST_TEXT_BYTES + 2)


def _fixed_width(t: pa.DataType) -> bool:
    """Whether ``t`` is a fixed-width type other than bytes, whose values' text is short."""
    if pa.types.is_nested(t) or pa.types.is_fixed_size_binary(t) or pa.types.is_null(t):
        return False
    try:
        return bool(t.bit_width > 0)
    except ValueError:  # not a fixed-width type
        return False


def most_entry_bytes(name: str, values: pa.Array) -> int | None:
    """No fewer bytes of ``_rescued_data`` text than ``values`` make if every one that is not
    null is rescued under ``name`` (:func:`entry_bytes` of :func:`most_value_bytes`), or None
    (a nested type)."""
    most = most_value_bytes(values)
    if most is None:
        return None
    return entry_bytes(name, len(values) - int(values.null_count), most)


def most_text_bytes(names: Sequence[str], size: int, records: int) -> int:
    """No fewer bytes of ``_rescued_data`` text than any batch of a file of ``size`` bytes of
    text (a CSV's: no field's text is longer than its bytes in the file) and ``records``
    records makes, whichever of its columns ``names`` are rescued: 6 bytes a byte of the file,
    and each name and :data:`_MOST_PER_VALUE` on every record."""
    return _MOST_PER_BYTE * size + records * sum(
        entry_bytes(name, 1, _MOST_PER_VALUE) for name in names
    )


def most_json_text_bytes(size: int) -> int:
    """No fewer bytes of ``_rescued_data`` text than any batch of a JSON file of ``size`` bytes
    makes: a rescued value is its key's JSON text, its own as sent or shorter (a string's
    characters in ``json.dumps``' form are never longer than valid JSON writes them, a nested
    value's whitespace is dropped) and 4 bytes (``: ``, ``{``/``}`` or ``, ``), where the file
    holds the key, the value, ``:`` and a ``,`` or brace: at most 2 bytes more than its at least
    5 (``"":0,``), 7 for 5."""
    return size * 7 // 5 + 7


def entry_bytes(name: str, count: int, values: int) -> int:
    """The ``_rescued_data`` text of ``count`` values of column ``name`` whose JSON texts hold
    ``values`` bytes: each entry's name, value and 4 bytes (``: ``, and ``{``/``}`` or ``, ``)."""
    key = len(json.dumps(name, ensure_ascii=False).encode())
    return count * (key + 4) + values


def text_sizes(
    name: str,
    texts: pa.Array,
    wrong: pa.Array,
    exact: bool,
    no_text: pa.Array | None = None,
    values: pa.Array | None = None,
) -> tuple[int, int]:
    """A column's values rescued (``wrong``) and the bytes of ``_rescued_data`` text they make
    (:func:`entry_bytes`; not ``exact``: no fewer than those): each as its text (``texts``) in a
    JSON string; where ``no_text`` (Parquet bytes that are not UTF-8; ``texts`` null there) as
    ``{"base64": "..."}`` of its bytes (``values``), or, nested, as its marked text (not counted:
    it is made only as it is written)."""
    count = int(pc.sum(wrong).as_py() or 0)
    if not count:
        return 0, 0
    if no_text is not None:
        others = pc.and_(wrong, no_text)
        wrong = pc.and_(wrong, pc.invert(no_text))
    if exact:
        size = json_string_bytes(texts if pc.all(wrong).as_py() else texts.filter(wrong))
    else:  # from the lengths alone: no copy of the texts
        lengths = pc.binary_length(texts).filter(wrong)
        size = _MOST_PER_BYTE * int(pc.sum(lengths).as_py() or 0)
        size += 2 * (len(lengths) - int(lengths.null_count))
    if no_text is not None and values is not None and not pa.types.is_nested(values.type):
        n = pc.binary_length(values).filter(others)
        size += int(pc.sum(pc.multiply(pc.divide(pc.add(n, 2), 3), 4)).as_py() or 0)
        size += len('{"base64": ""}') * (len(n) - int(n.null_count))
    return count, entry_bytes(name, count, size)


def within(most: int) -> bool:
    """Whether ``most`` bytes of ``_rescued_data`` text (an upper bound: :func:`most_entry_bytes`
    summed over a batch's columns) is within the bound: then nothing of the batch needs to be
    fitted or counted."""
    return most <= RESCUED_BATCH_BYTES


def refusal(
    measure: Callable[[bool], Mapping[str, tuple[int, int]]], first: int, rows: int
) -> tuple[str, str] | None:
    """The column rescuing the most text and :func:`too_large`'s reason, or None: ``measure``
    (``exact``) gives each column's (values, bytes), :func:`text_sizes`; an upper bound first,
    the exact count only when that passes :data:`RESCUED_BATCH_BYTES`."""
    sizes = measure(False)
    if too_large(sizes, first, rows) is None:
        return None
    sizes = measure(True)
    reason = too_large(sizes, first, rows)
    if reason is None:
        return None
    return max(sizes, key=lambda name: sizes[name][1]), reason


def too_large(sizes: Mapping[str, tuple[int, int]], first: int, rows: int) -> str | None:
    """Why a batch cannot be rescued, or None: ``sizes``, per column, (values rescued, bytes of
    ``_rescued_data`` text they make, :func:`entry_bytes`); ``first``: records before the batch,
    ``rows``: its records. The words of the loader's ``too_large`` and the API's 413."""
    total = sum(size for _, size in sizes.values())
    if total <= RESCUED_BATCH_BYTES:
        return None
    shown = ", ".join(
        f"{dialect.shown_name(name)} {count:,} values, {size:,} bytes"
        for name, (count, size) in sorted(sizes.items(), key=lambda kv: -kv[1][1])
        if count
    )
    return (
        f"records {first + 1:,} to {first + rows:,} (one batch): the values"
        f" that do not fit their columns would be rescued into _rescued_data as {total:,} bytes"
        f" of JSON text ({shown}), more than one Arrow array holds for a batch"
        f" ({RESCUED_BATCH_BYTES:,} bytes, 2 GiB); bronze does not load values this large"
    )
