"""Records in a request body: parsed strictly, checked against the table's contract, vectorized.

The fate of every value JSON cannot carry exactly (tested in ``tests/ingest/test_json_edges.py``):

- not JSON at all, truncated, trailing junk, two documents: ``400`` (naming the NDJSON line, or
  the array's record, when known);
- invalid UTF-8 (overlong, surrogates encoded in UTF-8) and lone ``\\uD800``-style escapes:
  ``400``;
- a UTF-8 byte-order mark: ``400`` (RFC 8259 §8.1: not to be sent);
- ``NaN``, ``Infinity``, ``-Infinity``: ``400`` (not JSON);
- a number beyond float64 (``1e999``): ``400`` (it would become infinity);
- nesting deeper than the interpreter's recursion limit (~1000): ``400``;
- an integer beyond int64 anywhere: ``422`` naming row and path (Delta/DuckDB cannot hold it);
- a duplicate key in any object: ``422`` naming row and key (which value would win is a guess);
- a record that is not an object, or no records: ``422``;
- a number with a fraction or exponent: accepted; every reader rounds it to the nearest double
  (``1e-999`` is 0.0), and its text lands unchanged.

Nothing is silently changed: NDJSON lands byte for byte (blank lines dropped); a JSON array
lands as NDJSON made of each element's own bytes (whitespace newlines turned into spaces).

With a contract (``lakehouse.contracts``), each declared column must be of its type (integers in
the type's range; ``decimal`` and ``double`` a JSON number; dates, times and timestamps RFC 3339
strings; ``uuid`` a UUID string; other types unchecked), required columns present and not null.
Undeclared fields pass through.

Speed: msgspec decodes each line into dicts (C); duplicate keys are ruled out without walking
Python objects by counting ``:`` (every key has exactly one colon outside strings; the
re-encoded dicts have one per *unique* key, see :func:`_no_duplicates`); big integers by a
digit-run scan; the contract by one ``msgspec.convert`` into a Struct built from it. Only a body
that fails a fast check takes the slow, exact path that finds and names each error (a bounded
list), so error quality costs valid traffic nothing. Records are decoded ``SLICE`` at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any

import msgspec

from lakehouse.contracts import Column, Contract

INT64 = (-(2**63), 2**63 - 1)
#: Records decoded at a time: memory for Python objects stays bounded whatever the body size.
SLICE = 8192

_DECODE_ONE = msgspec.json.Decoder(dict[str, Any])
_DECODE_BODY = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, Any])
_ENCODE = msgspec.json.Encoder()
# digits → "9", everything else → " ": a run of 19 nines marks a possibly-too-big integer
_DIGITS = bytes(0x39 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_MSG_PATH = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_MISSING = re.compile(r"missing required field `(?P<name>[^`]*)`")


class BodyError(ValueError):
    """The body is not JSON (400)."""

    def __init__(self, message: str, *, row: int | None = None, unit: str = "line") -> None:
        super().__init__(message)
        self.row = row
        self.unit = unit  # "line" of NDJSON (1-based), or "record" of an array (0-based)

    def detail(self) -> str:
        where = ""
        if self.row is not None:
            where = f" (line {self.row + 1})" if self.unit == "line" else f" (record {self.row})"
        return f"malformed JSON{where}: {self}"


@dataclass
class RecordsError(ValueError):
    """The body is JSON, but some records are invalid (422)."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False

    def shifted(self, offset: int) -> RecordsError:
        """The same errors with row numbers moved by ``offset`` (a slice of a larger body)."""
        for error in self.errors:
            if error["row"] is not None:
                error["row"] += offset
                error["loc"][1] = error["row"]
        return self


@dataclass(frozen=True, slots=True)
class Records:
    count: int
    ndjson: bytes  # what lands: one JSON object per line


def record_error(row: int | None, fld: str | None, msg: str, kind: str) -> dict[str, Any]:
    loc: list[Any] = ["body"]
    if row is not None:
        loc.append(row)
    if fld is not None:
        loc.append(fld)
    return {"loc": loc, "row": row, "field": fld, "msg": msg, "type": kind}


def _msgspec_error(row: int, exc: msgspec.ValidationError) -> dict[str, Any]:
    """``Expected `int`, got `str` - at `$.amount``` → row, field ``amount``, message."""
    m = _MSG_PATH.match(str(exc))
    assert m is not None  # the pattern matches any text
    msg, path = m["msg"], m["path"] or ""
    fld = path[1:] if path.startswith(".") else (path or None)
    if fld is None and (missing := _MISSING.search(msg)):
        fld = missing["name"]
    kind = "missing" if "missing required" in msg else "type_error"
    return record_error(row, fld, msg, kind)


# -- the contract as a msgspec Struct ------------------------------------------------------------

_KIND_TYPES: dict[str, Any] = {
    "float": float,
    "decimal": float,  # a JSON number: a decimal string would land as text in bronze
    "string": str,
    "boolean": bool,
    "date": dt.date,
    "timestamp": dt.datetime,
    "time": dt.time,
    "uuid": uuid.UUID,
    "any": Any,
}


def column_type(column: Column) -> Any:
    if column.kind == "integer":
        lo, hi = column.int_range or INT64
        return Annotated[int, msgspec.Meta(ge=lo, le=hi)]
    return _KIND_TYPES[column.kind]


@lru_cache(maxsize=256)
def contract_struct(contract: Contract) -> type[msgspec.Struct]:
    """A Struct that accepts exactly what the contract allows (unknown fields pass through)."""
    fields: list[tuple[str, Any, Any]] = []
    for i, column in enumerate(sorted(contract.columns, key=lambda c: not c.required)):
        typ = column_type(column)
        if column.required:
            fields.append((f"f{i}", typ, msgspec.field(name=column.name)))
        else:
            fields.append((f"f{i}", typ | None, msgspec.field(default=None, name=column.name)))
    return msgspec.defstruct(f"Contract_{contract.table}", fields)


# -- fast checks, each with its exact slow path -------------------------------------------------


def _no_duplicates(body: bytes, rows: list[dict[str, Any]]) -> bool:
    """True when no object in ``body`` repeats a key (sound; may say False without cause).

    In JSON a ``:`` outside strings follows exactly one key. Re-encoding the decoded rows gives
    one ``:`` per *kept* key plus the colons inside strings, which decoding turned from ``:`` or
    ``\\u003a`` escapes. So the body's colons plus its ``\\u003a`` escapes equal the re-encoded
    colons when nothing was dropped; a duplicate key (its colon, and its lost value's) makes the
    body's count larger. A literal ``\\\\u003a`` only over-counts: then the slow path decides.
    """
    found = body.count(b":")
    if b"\\u003" in body:
        found += body.count(b"\\u003a") + body.count(b"\\u003A")
    return found == _ENCODE.encode(rows).count(b":")


class _Pairs(dict[str, Any]):
    duplicates: list[str]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> _Pairs:
    obj = _Pairs(pairs)
    obj.duplicates = [k for k, _ in pairs] if len(obj) != len(pairs) else []
    if obj.duplicates:
        seen: set[str] = set()
        obj.duplicates = [k for k in obj.duplicates if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
    return obj


def _duplicate_paths(value: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, _Pairs):
        found += [f"{path}.{k}".lstrip(".") for k in value.duplicates]
        for k, v in value.items():
            found += _duplicate_paths(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _duplicate_paths(v, f"{path}[{i}]")
    return found


def _big_int_paths(value: Any, path: str) -> list[str]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [path] if not INT64[0] <= value <= INT64[1] else []
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _big_int_paths(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _big_int_paths(v, f"{path}[{i}]")
    return found


def _check_values(lines: list[bytes], rows: list[dict[str, Any]], max_errors: int) -> None:
    """Exact slow path: duplicate keys and integers beyond int64, row by row."""
    errors: list[dict[str, Any]] = []
    for i, (line, row) in enumerate(zip(lines, rows, strict=True)):
        try:
            duplicates = _duplicate_paths(json.loads(line, object_pairs_hook=_pairs_hook), "")
            big = _big_int_paths(row, "")
        except RecursionError:  # msgspec took it; these walkers have less stack left
            raise BodyError("nested too deeply", row=i) from None
        for p in duplicates:
            errors.append(
                record_error(i, p, f"duplicate key {p.rsplit('.', 1)[-1]!r}", "duplicate_key")
            )
        for p in big:
            errors.append(
                record_error(i, p.lstrip("."), "integer beyond int64", "int_out_of_range")
            )
        if len(errors) >= max_errors:
            raise RecordsError(errors[:max_errors], truncated=True)
    if errors:
        raise RecordsError(errors)


def _check_contract(rows: list[dict[str, Any]], contract: Contract, max_errors: int) -> None:
    struct = contract_struct(contract)
    try:
        msgspec.convert(rows, list[struct])  # type: ignore[valid-type]
        return
    except msgspec.ValidationError:
        pass
    errors: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        try:
            msgspec.convert(row, struct)
            continue
        except msgspec.ValidationError:
            pass
        for column in contract.columns:  # every error of the row, not only the first
            if column.name not in row or row[column.name] is None:
                if column.required:
                    msg = "required" if column.name not in row else "may not be null"
                    errors.append(record_error(i, column.name, msg, "missing"))
                continue
            try:
                msgspec.convert(row[column.name], column_type(column))
            except msgspec.ValidationError as exc:
                errors.append(_msgspec_error(i, exc) | {"field": column.name})
                errors[-1]["loc"] = ["body", i, column.name]
        if len(errors) >= max_errors:
            raise RecordsError(errors[:max_errors], truncated=True) from None
    raise RecordsError(errors)


# -- entry points -------------------------------------------------------------------------------


def _split_lines(body: bytes) -> list[bytes]:
    """Non-blank lines (a line of JSON never holds a raw newline, even inside a string)."""
    return list(filter(bytes.strip, body.split(b"\n")))


def _decode_lines(lines: list[bytes]) -> list[dict[str, Any]]:
    """Each line one JSON object (not a stream of values: a value may not span lines)."""
    try:
        return list(map(_DECODE_ONE.decode, lines))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        first: BaseException = exc
    for i, line in enumerate(lines):
        try:
            _DECODE_ONE.decode(line)
        except msgspec.ValidationError as exc:
            if not str(exc).startswith("Expected `object`"):  # "Number out of range"
                raise BodyError(str(exc), row=i) from None
            raise RecordsError(
                [record_error(i, None, "a record must be a JSON object", "not_object")]
            ) from None
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise BodyError(_plain(exc, line), row=i) from None
    # only nesting right at the recursion limit decodes with one frame less on the stack
    raise BodyError(_plain(first, b""))


def _plain(exc: BaseException, text: bytes) -> str:
    if _SURROGATE.search(text):
        return f"{exc} (a \\u escape of a lone UTF-16 surrogate is not a character)"
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def array_to_ndjson(body: bytes) -> bytes:
    """A JSON array of objects (or one object) as NDJSON, each element's bytes kept."""
    try:
        decoded = _DECODE_BODY.decode(body)
    except msgspec.ValidationError as exc:
        m = re.search(r"`\$\[(\d+)\]", str(exc))
        if m:
            raise RecordsError(
                [record_error(int(m[1]), None, "a record must be a JSON object", "not_object")]
            ) from None
        raise RecordsError(
            [
                record_error(
                    None, None, "the body must be a JSON array of objects, or one object", "shape"
                )
            ]
        ) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        message = _plain(exc, body)
        if "trailing characters" in message and body.lstrip().startswith(b"{"):
            message += " (several objects? send NDJSON as application/x-ndjson)"
        raise BodyError(message) from None
    if isinstance(decoded, dict):
        return body.strip().replace(b"\n", b" ").replace(b"\r", b" ")
    return b"\n".join(bytes(r).replace(b"\n", b" ").replace(b"\r", b" ") for r in decoded)


def parse_records(
    body: bytes,
    *,
    ndjson: bool,
    contract: Contract | None = None,
    max_records: int = 100_000,
    max_errors: int = 20,
) -> Records:
    """Check ``body`` strictly; return what lands. Raises BodyError, RecordsError, TooMany."""
    lines = _split_lines(body if ndjson else array_to_ndjson(body))
    if len(lines) > max_records:
        raise TooManyRecordsError(len(lines), max_records)
    if not lines:
        raise RecordsError([record_error(None, None, "the body holds no records", "empty")])
    errors: list[dict[str, Any]] = []
    for start in range(0, len(lines), SLICE):  # Python objects for one slice at a time
        try:
            _check_slice(lines[start : start + SLICE], contract, max_errors)
        except RecursionError:  # nesting at the limit: decoded, then too deep to re-walk
            raise BodyError("nested too deeply", unit="line" if ndjson else "record") from None
        except BodyError as exc:
            exc.unit = "line" if ndjson else "record"
            exc.row = None if exc.row is None else exc.row + start
            raise
        except RecordsError as exc:
            errors += exc.shifted(start).errors
            if len(errors) >= max_errors or exc.truncated:
                raise RecordsError(errors[:max_errors], truncated=True) from None
    if errors:
        raise RecordsError(errors)
    return Records(count=len(lines), ndjson=b"\n".join(lines) + b"\n")


def _check_slice(lines: list[bytes], contract: Contract | None, max_errors: int) -> None:
    rows = _decode_lines(lines)
    text = b"\n".join(lines)
    big_ints = b"9" * 19 in text.translate(_DIGITS)
    if big_ints or not _no_duplicates(text, rows):
        _check_values(lines, rows, max_errors)
    if contract is not None and contract.columns:
        _check_contract(rows, contract, max_errors)


class TooManyRecordsError(ValueError):
    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} records in one request; at most {limit}")
        self.count = count
        self.limit = limit
