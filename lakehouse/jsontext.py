"""Why a ``.json`` text (an array of records, or JSON values one after another) is no such
JSON, in one set of words for the API and the loader (docs/loading.md, Refusals): msgspec's
parse of the whole text, at the byte of the text. The refusal's path only: the loader asks it
of every ``.json`` file it refuses as malformed, the API of a file too big to check whole
(``ingest.filecheck._check_big_json``, whose reading in pieces words some errors otherwise and
names a record the whole text's parse does not; before-stop read B-06 of session 17)."""

from __future__ import annotations

import re

import msgspec

from lakehouse import dialect

_BYTE_AT = re.compile(r"\(byte (\d+)\)$")
_TRUNCATED = "Input data was truncated"


def text_cause(
    whole: bytes | memoryview | bytearray | object, *, deep: bool = True
) -> tuple[str, int | None] | None:
    """Why ``whole`` (the file's JSON text, after a byte-order mark; any buffer: bytes, a
    mapped file) is no such JSON, in msgspec's words and at the byte of the text, and the
    value (from 0) it is in when it follows another (``record 2``); None when msgspec reads it
    (or, not ``deep``, cannot read it for its depth alone)."""
    with memoryview(whole) as view:  # type: ignore[arg-type]
        size = len(view)
        pos, first, array, values = 0, True, False, 0
        while True:
            while pos < size and view[pos] in b" \t\r\n":
                pos += 1
            if pos == size:
                return None
            array = array or (first and view[pos] == ord("["))
            first = False
            with view[pos:] as rest:
                try:
                    msgspec.json.decode(rest, type=msgspec.Raw)
                    return None
                except RecursionError:  # the depth rule's words (the API's), its record's
                    if not deep:
                        return None
                    return too_deep_cause(bytes(rest), array, values), None
                except msgspec.DecodeError as exc:
                    why = str(exc)
                    lone = dialect.lone_surrogate_reason(why, rest)
                    if lone is not None:  # msgspec says "Input data was truncated": untrue
                        return lone, values or None
                    if array and why == _TRUNCATED:  # cut short, inside a string too (B-04)
                        return dialect.JSON_ARRAY_CUT, None
            end = dialect.json_value_end(why)
            if end is not None and array:
                return dialect.json_after_array(bytes(view[pos + end : pos + end + 16])), None
            if end is not None:  # a value ended: the next one starts here
                pos += end
                values += 1
                continue
            byte = _BYTE_AT.search(why)
            if byte is not None:
                why = f"{why[: byte.start()]}(byte {pos + int(byte[1])})"
            return why, values or None


def text_said(whole: bytes | memoryview | bytearray | object, *, deep: bool = True) -> str | None:
    """:func:`text_cause` as both say it (``dialect.malformed_json``): a value after the first
    of JSON values one after another named by its record (from 1)."""
    found = text_cause(whole, deep=deep)
    if found is None:
        return None
    why, record = found
    return dialect.malformed_json(why, None if record is None else f"record {record + 1}")


def too_deep_cause(rest: bytes, array: bool, values: int) -> str:
    """Why a ``.json`` text nests too deep (``rest``: from the array's ``[``, or from the value
    after ``values`` others), naming the record as the loader counts them (from 1)."""
    found = dialect.too_deep_at(rest, array=array)
    if found is None:
        return "nested too deeply"
    record = found.record if array else values
    return (
        found.reason() if record is None else dialect.placed(f"record {record + 1}", found.reason())
    )
