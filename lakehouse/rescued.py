"""The bound on the text one batch may rescue into ``_rescued_data`` (``docs/loading.md``,
Mismatches), counted from Arrow lengths before any of that text is made.

A row's ``_rescued_data`` is the JSON object ``{"<column>": <value>, ...}`` of the values that
did not fit (``json.dumps``'s form, characters as they are): each entry takes its name's JSON
text, its value's, and 4 bytes (``: `` and either ``{``/``}`` or ``, ``), so a batch's text is
the sum over its rescued values of those. A batch's ``_rescued_data`` is one Arrow string array,
whose 32-bit offsets hold at most :data:`RESCUED_BATCH_BYTES`: a batch past it is refused as
``too_large`` by the loader (and by the API, for a Parquet file, ``413``), before the text is made
(it took the loader 7-12 GB and ended in an Arrow overflow or memory error, review finding
revl 02). One rule for the API and the loader.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

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
