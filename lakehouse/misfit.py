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

import pyarrow as pa

from lakehouse import dialect, nested, parquet

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
        try:
            shown = json.dumps(json.loads(raw), ensure_ascii=False)
            shown.encode()  # a lone surrogate is shown escaped, as sent
        except (ValueError, UnicodeEncodeError):
            return raw
        return shown
    if raw.startswith(("{", "[")):
        return _JSON_SPACE.sub(lambda m: m.group(1) or "", raw)
    return raw


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
