"""The one sentence for a value that does not fit its column's type, said alike by the API (its
422 ``msg``) and the loader (its ``type_conflict`` reason after the value's place, ``line N,
column 'v': ``).

The value is shown as the file wrote it: a JSON value in its JSON form (a string with its
quotes, ``"0"``; a number's literal, ``1.5``), a CSV field's or a Parquet value's text quoted
(``'0'``); then the type, and why (*before:* until session 18 the loader said ``'1.5' does not
fit BIGINT (on_mismatch: quarantine)`` where the API said ``1.5 does not fit BIGINT exactly
(docs/loading.md, Types)``, and dropped the API's explanation of a JSON string, a bytes column
and a json column: review finding revc 05).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pyarrow as pa

from lakehouse import dialect, nested, parquet

if TYPE_CHECKING:
    from lakehouse.contracts import Contract

#: Said after a JSON string meeting a number or boolean column (``dialect.takes_json_string``).
JSON_STRING = "a JSON string fits text, date and timestamp columns only"


#: A JSON string, or whitespace outside one
_JSON_SPACE = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\n\r]+')


def json_shown(raw: str) -> str:
    """A JSON value's text as a mismatch shows it, alike whoever read it (the API reads the
    bytes as sent, the loader DuckDB's JSON text of them): a string in one JSON form of its
    characters (``"\\u0031"`` and ``"1"`` are one string: ``"1"``), an object or an array
    without whitespace outside its strings, a number or literal as written."""
    if raw.startswith('"'):
        return _one_form(raw)
    if raw.startswith(("{", "[")):
        # its strings (keys too) in one form as well: DuckDB's text of {"a": "\u00e9"} is
        # {"a":"é"} (until session 19 the API showed the escape, the loader the character)
        return _JSON_SPACE.sub(lambda m: _one_form(m.group(1)) if m.group(1) else "", raw)
    return raw


def _one_form(raw: str) -> str:
    """A JSON string's text in one form of its characters (``json.dumps``, not ASCII-only)."""
    try:
        shown = json.dumps(json.loads(raw), ensure_ascii=False)
        shown.encode()  # a lone surrogate is shown escaped, as sent
    except (ValueError, UnicodeEncodeError):
        return raw
    return shown


def sentence(
    shown: str,
    data_type: str,
    struct: pa.DataType | None = None,
    why: str | None = None,
    *,
    json_string: bool = False,
) -> str:
    """Why a value (``shown`` as the file wrote it) is refused for a column of ``data_type``
    (``struct``, ``why``: a struct column's type and ``lakehouse.nested.misfits``' words);
    ``json_string``: the value is a JSON string, which a number or boolean column never takes."""
    t = dialect.type_name(data_type)
    if t == parquet.OBJECT and why is not None and why != nested.NOT_AN_OBJECT:
        said = (
            f"{shown} does not fit the struct column's type {struct}: {why} (a JSON object's"
            " fields fit a struct's by the column rule; docs/loading.md, Types)"
        )
    elif t == parquet.OBJECT:
        said = f"{shown} is not a JSON object, which a struct column takes (docs/loading.md, Types)"
    elif t == parquet.UNFIT:
        said = f"{shown} does not fit a list or map column: only null does (docs/loading.md, Types)"
    elif t == dialect.BYTES:
        said = (
            f"{shown} does not fit BLOB: a bytes column takes bytes, and a text as its UTF-8"
            " bytes, only (docs/loading.md, Types)"
        )
    elif t == dialect.JSON_TEXT:
        said = (
            f"{shown} does not fit JSON: the text is not one JSON value (RFC 8259), which a"
            " json column holds (docs/loading.md, Declared types win)"
        )
    else:
        said = f"{shown} does not fit {t} exactly (docs/loading.md, Types)"
    if json_string and not dialect.takes_json_string(data_type):
        said = f"{said}: {JSON_STRING}"
    return said


#: Why a record's value of a required column (its not_null or primary_key) that is null or
#: absent is refused, after its place (``line 2, column 'n': ``): the API's 422 ``msg`` and the
#: loader's ``required`` reason (*before:* until session 19, review revd s19 02, the API said
#: "required" or "may not be null").
REQUIRED_NULL = "no value (null) in a required column (the contract's not_null or primary_key)"


def required_absent(name: str) -> str:
    """Why a file lacking a required column ``name`` altogether is refused: the API's 422
    ``msg`` (its record none) and the loader's ``required`` reason (*before:* until session 19
    the API said "required column missing from the header" or "required column missing")."""
    return (
        f"required column {name!r} (the contract's not_null or primary_key) is not among the "
        "file's columns"
    )


#: Said after a mismatch in a required column under ``on_mismatch: rescue``: the file is
#: refused, not rescued (docs/loading.md, Required columns)
NEVER_RESCUED = " (a required column's value is never rescued (its not_null or primary_key))"


def judged_note(name: str, declared: str, rule: str, required: bool) -> str:
    """The words a mismatch in a column judged by bronze's type ends with
    (``Contract.judged_by_table``: ``declared``, the contract's type or ``""``; ``rule``, the
    table's type as named, ``struct<a: int64>`` for a nested column)."""
    if declared:
        return (
            f" (bronze's column {name!r} is {rule}: the contract's {declared}, declared after"
            " the table was made, does not change its type; the loader stores what fits"
            f" {rule})"
        )
    if required:
        return (
            f" (bronze's column {name!r} is {rule}, from an earlier file; the contract gives"
            " it no type, and a required column's value is never rescued (its not_null or"
            " primary_key): the loader refuses a value that does not fit it)"
        )
    return (
        f" (bronze's column {name!r} is {rule}, from an earlier file; the contract"
        " does not declare it, and under on_mismatch: quarantine the loader refuses a"
        " value that does not fit it)"
    )


def notes(contract: Contract | None, rescue: bool) -> dict[str, str]:
    """What a mismatch in each column ends with, alike in the API's 422 ``msg`` and the
    loader's ``type_conflict`` reason (``contract``: as the table judges it,
    ``contracts.judged``): a column judged by bronze's type names that type and why
    (:func:`judged_note`); a required column's under ``rescue`` says why it is not rescued
    (:data:`NEVER_RESCUED`, unless its note says so already). Columns without a note are
    left out. *Before:* the loader said neither note of a judged column, and the API not the
    rescue one (session 18's closing note)."""
    if contract is None:
        return {}
    said: dict[str, str] = {}
    for name, declared, rule in contract.judged_by_table:
        column = contract.column(name)
        required = column is not None and column.required
        said[name] = judged_note(name, declared, rule, required)
        if declared and required and rescue:
            said[name] += NEVER_RESCUED
    if rescue:
        for name in contract.required:
            said.setdefault(name, NEVER_RESCUED)
    return said
