"""Records in a request body: parsed strictly, checked against the table's contract, vectorized.

What lands is what was sent: NDJSON lands byte for byte (blank lines and a leading UTF-8
byte-order mark dropped); a JSON array lands as NDJSON made of each element's own bytes
(whitespace newlines turned into spaces). No value is ever re-serialized, so a number keeps every
digit it was sent with (``99999999999999999999``, ``1.0000000000000000001``, ``1e999``): the
loader keeps each as its text as written (``docs/loading.md``).

The body is refused when the loader would refuse it (the landing dialect, ``lakehouse.dialect``),
and when it breaks the table's contract (tested in ``tests/ingest/test_json_edges.py``):

- not JSON at all, truncated, trailing junk, two documents: ``400`` (naming the NDJSON line, or
  the array's record, when known);
- not UTF-8 (``not UTF-8 at byte N``, a UTF-16 body too), lone ``\\uD800``-style escapes: ``400``;
- ``NaN``, ``Infinity``, ``-Infinity``: ``400`` (not JSON);
- a record nested deeper than ``dialect.MAX_JSON_DEPTH`` (512) levels: ``400`` (the loader
  refuses it too; checked before any recursive parser meets it);
- a duplicate key in any object: ``422`` naming row and key (which value would win is a guess);
- a record that is not an object, or no records: ``422``;
- a key bronze cannot keep as its column name (:func:`lakehouse.dialect.check_names` over the
  keys of all records: blank, a control character, two keys equal but for case, a bronze column
  such as ``_batch_id``, more than 4,096 keys): ``422``;
- with a contract (``lakehouse.contracts``): a declared column's value whose text as written
  (a string's characters, a number's literal, ``true``/``false``) does not fit the declared type
  exactly (:func:`lakehouse.dialect.fits`: ``1.005`` for ``decimal(12,2)``, ``1e3`` for
  ``bigint``, ``"2024-01-02 13:45:00"`` for ``date``), or a required column missing or null:
  ``422`` naming row, column and value. Undeclared fields pass through.

Speed: msgspec decodes each line into dicts (C); duplicate keys are ruled out without walking
Python objects by counting ``:`` (every key has exactly one colon outside strings; the
re-encoded dicts have one per *unique* key, see :func:`_no_duplicates`); the contract first by
one typed msgspec decode against a Struct made from it (``ingest.fastcontract``: it only ever
says "yes" where the exact check would), else by one decode of the declared fields as raw JSON
text, checked a column at a time with Arrow kernels (``ingest.typecheck``). With a contract,
a body whose records hold only declared keys, nothing nested and no backslash is first judged
whole by one typed decode per line (:func:`ingest.fastcontract.whole_records`: the contract,
the keys, and no repeated key by counting colons), without decoding it into dicts at all;
without one, an NDJSON body of flat records whose keys come in the first line's order is judged
by one RE2 pattern over the whole body (:func:`flat_records`, ``ingest.flatlines``: no Python
object per record, the body itself is what lands), and records that all hold the first line's
keys otherwise are decoded into one Struct of those keys instead of dicts (:func:`_same_keys`),
then counted the same way.
Only a body that fails a fast check takes the slow, exact path that finds and names each error
(a bounded list), so error quality costs valid traffic nothing. Records are decoded ``SLICE``
at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from ingest import fastcontract, flatlines
from ingest.typecheck import checked, fits_array, misfit_message, object_misfits
from lakehouse import dialect, jsonorder, misfit, nested
from lakehouse.contracts import NESTED_RULES, Column, Contract

#: Records decoded at a time: memory for Python objects stays bounded whatever the body size.
SLICE = 8192

_DECODE_ONE = msgspec.json.Decoder(dict[str, Any])
#: For a line holding a number beyond float64 (``1e999``): it lands as sent, kept as text.
#: Each such number is decoded as its text (``str``, never an error: ``decimal.Decimal`` raised
#: for an exponent beyond its own range, ``1e99999999999999999999``, a 500).
_DECODE_ONE_WIDE = msgspec.json.Decoder(dict[str, Any], float_hook=str)
_DECODE_BODY = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, Any])
#: The same, for a body holding a number of the kinds below (its values checked line by line).
_DECODE_BODY_WIDE = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, msgspec.Raw])
#: msgspec's errors for a valid JSON number it cannot make a Python number of: beyond float64,
#: or an integer beyond the interpreter's 4,300 digits. Such a number lands as sent.
_BEYOND = ("Number out of range", "Integer value out of range")
_RAW_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAW_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])
_ENCODE = msgspec.json.Encoder()
_MSG_PATH = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
#: msgspec's words for a JSON text ending inside a value
_TRUNCATED = "Input data was truncated"
_MISSING = re.compile(r"missing required field `(?P<name>[^`]*)`")


class BodyError(ValueError):
    """The body is not JSON (400)."""

    def __init__(self, message: str, *, row: int | None = None, unit: str = "line") -> None:
        super().__init__(message)
        self.row = row
        #: "line" of NDJSON, or "record" of a ``.json`` file; ``row`` 0-based, named from 1
        #: as the loader names them (docs/api.md, Errors)
        self.unit = unit

    def detail(self) -> str:
        if dialect.is_not_utf8_reason(str(self)):  # an encoding, no JSON: the loader's words
            return str(self)
        where = None if self.row is None else f"{self.unit} {self.row + 1}"
        if dialect.is_too_deep_reason(str(self)):  # well formed, too deep: the loader's words
            return str(self) if where is None else dialect.placed(where, str(self))
        return dialect.malformed_json(str(self), where)


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
    #: every record's keys (column names), each once, in the order first seen in the body (the
    #: loader's: of two names that cannot both be columns, the second is named)
    keys: tuple[str, ...] = ()


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


# -- the contract: declared fields as raw JSON text, checked a column at a time ---------------


@lru_cache(maxsize=256)
def _checked_columns(contract: Contract) -> tuple[Column, ...]:
    """The columns whose values are checked: required, or of a type that constrains text."""
    return tuple(
        c for c in contract.columns if c.required or (c.data_type and checked(c.data_type))
    )


@lru_cache(maxsize=256)
def _raw_decoder(contract: Contract) -> msgspec.json.Decoder[Any]:
    """Decodes a JSON array of records into Structs holding each checked column's raw JSON
    (``b""`` when the key is absent); other keys are skipped unparsed."""
    fields = [
        (f"f{i}", msgspec.Raw, msgspec.field(default=msgspec.Raw(b""), name=c.name))
        for i, c in enumerate(_checked_columns(contract))
    ]
    struct = msgspec.defstruct(f"Raw_{contract.table}", fields)
    return msgspec.json.Decoder(list[struct])  # type: ignore[valid-type]


def json_texts(raws: list[msgspec.Raw]) -> tuple[pa.Array, pa.Array]:
    """Each raw JSON value's text as written (a string's characters, a number's literal,
    ``true``/``false``, nested JSON as sent); null for ``null`` and for an absent key (``b""``);
    and which values are strings. Vectorized: the raw values are joined once and split by
    Arrow (no NUL byte is raw JSON)."""
    blob = b"\x00".join(raws)
    values = pc.split_pattern(pa.array([blob], pa.binary()), b"\x00").flatten()
    values = pc.cast(values, pa.string())
    absent = pc.or_(pc.equal(values, ""), pc.equal(values, "null"))
    quoted = pc.starts_with(values, '"')
    strings = pc.utf8_slice_codeunits(values, 1, -1)
    escaped = pc.and_(quoted, pc.match_substring(values, "\\"))
    if pc.any(escaped).as_py():  # escapes: decoded one by one (rare)
        flags = escaped.to_pylist()
        decoded = [
            msgspec.json.decode(bytes(raw)) if flag else None
            for raw, flag in zip(raws, flags, strict=True)
        ]
        strings = pc.if_else(escaped, pa.array(decoded, pa.string()), strings)
    texts = pc.if_else(quoted, strings, values)
    return pc.if_else(absent, pa.scalar(None, pa.string()), texts), quoted


def _check_contract(lines: list[bytes], contract: Contract, max_errors: int) -> None:
    columns = _checked_columns(contract)
    if not columns:
        return
    records = _raw_decoder(contract).decode(b"[" + b",".join(lines) + b"]")
    errors: list[tuple[int, int, dict[str, Any]]] = []
    for position, column in enumerate(columns):
        raws = list(map(attrgetter(f"f{position}"), records))
        texts, quoted = json_texts(raws)
        if column.required and not any(raws):  # no record holds it: the loader's first words
            absent = misfit.required_absent(column.name)
            errors.append((-1, position, record_error(None, column.name, absent, "missing")))
        elif column.required and texts.null_count:
            for i in pc.indices_nonzero(pc.is_null(texts)).to_pylist()[:max_errors]:
                msg = misfit.REQUIRED_NULL
                errors.append((i, position, record_error(i, column.name, msg, "missing")))
        if column.data_type and checked(column.data_type):
            nested = dialect.type_name(column.data_type) in NESTED_RULES  # "{}" is no object
            whys = None
            if column.struct is not None:  # its fields fit, as the loader fits them
                whys = object_misfits(texts, column.struct)
                ok = pc.if_else(pc.is_null(texts), None, pa.array([w is None for w in whys]))
            else:
                ok = fits_array(texts, column.data_type)
            bad = pc.and_(pc.invert(ok), pc.is_valid(ok))
            if nested or not dialect.takes_json_string(column.data_type):  # "5" is no number
                bad = pc.or_(bad, quoted)
            if dialect.type_name(column.data_type) == dialect.BYTES:  # 5 is no text of bytes
                bad = pc.or_(bad, pc.and_(pc.invert(quoted), pc.is_valid(texts)))
            for i in pc.indices_nonzero(bad).to_pylist()[:max_errors]:
                value = misfit.json_shown(bytes(raws[i]).decode())
                why = None if whys is None or quoted[i].as_py() else whys[i]
                string = bool(quoted[i].as_py())
                msg = misfit_message(
                    value, column.data_type, column.struct, why, json_string=string
                )
                errors.append((i, position, record_error(i, column.name, msg, "type_error")))
    if errors:
        errors.sort(key=lambda e: e[:2])
        found = [e[2] for e in errors]
        raise RecordsError(found[:max_errors], truncated=len(found) > max_errors)


def in_order(
    found: jsonorder.Problem, refused: BodyError | RecordsError
) -> BodyError | RecordsError:
    """The API's refusal of ``found``, the problem a JSON file or body is refused for in the
    one order (``lakehouse.jsonorder``); ``refused`` (what its checks met first) itself when
    its 422 list opens with that problem: the other records' errors listed too."""
    unit = "line" if found.ndjson else "record"
    row = found.record if found.line is None else found.line - 1
    if found.what in ("text", "deep"):
        return BodyError(found.why, row=row, unit=unit)
    if found.what == "names":
        return RecordsError([record_error(None, None, found.why, "invalid_column")])
    kinds = {"not_object": "not_object", "repeated": "duplicate_key"}
    error = record_error(found.record, found.field, found.why, kinds[found.what])
    if isinstance(refused, RecordsError) and refused.errors[:1] == [error]:
        return refused
    return RecordsError([error])


def check_keys(keys: Iterable[str], ordered: list[str] | None = None) -> None:
    """422 when bronze cannot keep these keys as column names (the dialect's name rule), the
    keys in the order first seen in the file, as the loader lists them: of two equal but for
    case, the second is named (*before:* until session 18 the API judged them sorted, so
    ``{"b": 1, "B": 2}`` was "column 'b' differs only by case from column 'B'" to the API and
    the other way round to the loader), and a blank one by that place, as the loader names it
    ("column 3 has a blank name ('')"; *before:* until session 18 "a column has a blank name",
    no place); ``ordered``: the names as the file gives them, repeats included (a Parquet
    schema)."""
    problem = dialect.check_names(list(keys) if ordered is None else ordered)
    if problem is not None:
        raise RecordsError([record_error(None, None, problem, "invalid_column")])


def check_case(names: Iterable[str], existing: dialect.Spellings) -> None:
    """422 for a name equal but for case to a column the bronze table has, or its contract
    declares (``existing``): the loader would refuse the file
    (:func:`lakehouse.dialect.case_clash`, one rule for both)."""
    clash = dialect.case_clash(names, existing)
    if clash is not None:
        raise RecordsError([record_error(None, clash[0], clash[1], "invalid_column")])


def check_some_key(keys: Iterable[str]) -> None:
    """422 when records hold no key at all (only empty objects): bronze has no column to store
    them in, and the loader quarantines such a file (``empty``). Over a whole body or file."""
    if not any(True for _ in keys):
        raise RecordsError([record_error(None, None, dialect.NO_KEYS, "empty")])


# -- fast checks, each with its exact slow path -------------------------------------------------


def _no_duplicates(body: bytes, rows: list[Any]) -> bool:
    """True when no object in ``body`` repeats a key (sound; may say False without cause).

    In JSON a ``:`` outside strings follows exactly one key. Re-encoding the decoded rows gives
    one ``:`` per *kept* key plus the colons inside strings, which decoding turned from ``:`` or
    ``\\u003a`` escapes. So the body's colons plus its ``\\u003a`` escapes equal the re-encoded
    colons when nothing was dropped; a duplicate key (its colon, and its lost value's) makes the
    body's count larger. A literal ``\\\\u003a`` only over-counts: then the slow path decides.
    """
    found = body.count(b":")
    if b"\\" in body and b"\\u003" in body:  # one byte is found faster than five
        found += body.count(b"\\u003a") + body.count(b"\\u003A")
    return found == _ENCODE.encode(rows).count(b":")


#: Records of at most this many keys are first decoded as one Struct of their keys.
_SAME_KEYS_MAX = 64


@lru_cache(maxsize=64)
def _keys_decoder(keys: tuple[str, ...]) -> msgspec.json.Decoder[Any] | None:
    """Objects of exactly ``keys`` (each once at most, as :func:`_no_duplicates` then checks),
    each value decoded as by ``_DECODE_ONE``; None when msgspec cannot express them."""
    fields = [(f"f{i}", Any, msgspec.field(name=k)) for i, k in enumerate(keys)]
    try:
        struct = msgspec.defstruct(
            "Keys", fields, kw_only=True, forbid_unknown_fields=True, gc=False
        )
        return msgspec.json.Decoder(struct)
    except (TypeError, ValueError):
        return None


def _same_keys(lines: list[bytes], text: bytes) -> tuple[str, ...] | None:
    """The keys of records ``lines`` (``text``: them joined by newlines) when every line is one
    JSON object holding exactly the first line's keys, none twice; None means "not known here"
    (the general check decides, from the start).

    The same decode as :func:`_decode_lines` (each line alone, each value as ``Any``: the same
    JSON, UTF-8, numbers and nesting refused), into a Struct of the first line's keys instead of
    a dict: every field required (a missing key fails the decode; a default would add a key
    the record lacks, which an over-counted literal ``\\\\u003a`` could hide from the colon
    count), unknown keys refused (the colon count would also see one dropped). A Struct is
    encoded as the object of its fields, so :func:`_no_duplicates` holds as for dicts. It
    spares a dict per record and the union of their keys.
    """
    try:
        first = _DECODE_ONE.decode(lines[0])
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not 0 < len(first) <= _SAME_KEYS_MAX or (decoder := _keys_decoder(tuple(first))) is None:
        return None
    try:
        records = list(map(decoder.decode, lines))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    if not _no_duplicates(text, records):
        return None
    return tuple(first)  # every line's keys: first seen in the first line, in its order


def _check_duplicates(lines: list[bytes], max_errors: int) -> None:
    """Exact slow path: duplicate keys, row by row."""
    errors: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        try:
            # in the loader's order (it names the first): lakehouse.nested.repeated_keys
            duplicates = nested.repeated_keys(line)
        except RecursionError:  # msgspec took it; these walkers have less stack left
            raise BodyError("nested too deeply", row=i) from None
        for p, key in duplicates:
            errors.append(record_error(i, p, dialect.repeated_key(key), "duplicate_key"))
        if len(errors) >= max_errors:
            raise RecordsError(errors[:max_errors], truncated=True)
    if errors:
        raise RecordsError(errors)


# -- entry points -------------------------------------------------------------------------------


def _line_index(body: bytes, record: int) -> int:
    """The 0-based line of ``body`` holding its non-blank line ``record`` (0-based), as
    :func:`_split_lines` counts them."""
    seen = -1
    for i, line in enumerate(body.split(b"\n")):
        if line.strip():
            seen += 1
            if seen == record:
                return i
    return record


def _split_lines(body: bytes) -> list[bytes]:
    """Non-blank lines (a line of JSON never holds a raw newline, even inside a string)."""
    return list(filter(bytes.strip, body.split(b"\n")))


def _decode_one(line: bytes) -> tuple[dict[str, Any], bool]:
    """``line`` decoded, and whether it holds a number msgspec cannot make a Python number of
    (``1e999``, 400 digits before a point, an integer of 5,000 digits): decoded as its text
    then (it lands as sent)."""
    try:
        return _DECODE_ONE.decode(line), False
    except msgspec.ValidationError as exc:
        if not str(exc).startswith(_BEYOND):
            raise
    try:
        return _DECODE_ONE_WIDE.decode(line), True
    except msgspec.ValidationError as exc:
        if not str(exc).startswith(_BEYOND):
            raise
    line.decode("utf-8")  # what msgspec does not check in the values it keeps raw
    return _raw_tree(line), True


def _raw_tree(line: bytes) -> dict[str, Any]:
    """An object's keys and nesting decoded, every other value kept as its JSON text (the same
    JSON checks as a full decode, but no number made). A loop, not recursion: as deep as a
    full decode goes. A raw value starts at its first byte."""
    root: dict[str, Any] = _RAW_OBJECT.decode(line)
    work: list[dict[str, Any] | list[Any]] = [root]
    while work:
        node = work.pop()
        pairs: list[tuple[Any, Any]] = list(
            node.items() if isinstance(node, dict) else enumerate(node)
        )
        for key, value in pairs:
            head = bytes(memoryview(value)[:1])
            if head == b"{":
                child: dict[str, Any] | list[Any] = _RAW_OBJECT.decode(value)
            elif head == b"[":
                child = _RAW_ARRAY.decode(value)
            else:
                continue
            node[key] = child
            work.append(child)
    return root


def _decode_lines(lines: list[bytes]) -> list[dict[str, Any]]:
    """Each line one JSON object (not a stream of values: a value may not span lines)."""
    try:
        return list(map(_DECODE_ONE.decode, lines))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        first: BaseException = exc
    rows = []
    wide = False
    for i, line in enumerate(lines):
        try:
            row, beyond = _decode_one(line)
            rows.append(row)
            wide = wide or beyond
        except msgspec.ValidationError as exc:
            # a number past float64 where a record should be is no object (422, as for ``5``),
            # not a number out of range (bronze keeps such numbers as text: {"a": 1e400})
            if str(exc).startswith("Number out of range") and line.lstrip(JSON_SPACE)[:1] == b"{":
                raise BodyError(str(exc), row=i) from None
            try:  # msgspec judges the kind at the first byte: a line that is no JSON says so
                msgspec.json.decode(line, type=msgspec.Raw)
            except (msgspec.DecodeError, RecursionError) as bad:
                raise BodyError(_plain(bad, line), row=i) from None
            raise RecordsError([record_error(i, None, dialect.NOT_OBJECT, "not_object")]) from None
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise BodyError(_plain(exc, line), row=i) from None
    if wide:
        return rows
    # only nesting right at the recursion limit decodes with one frame less on the stack
    raise BodyError(_plain(first, b""))


def _plain(exc: BaseException, text: bytes) -> str:
    bad = dialect.first_non_utf8(text)
    if bad is not None:
        return f"not UTF-8 at byte {bad}"
    lone = dialect.lone_surrogate_reason(str(exc), text)
    if lone is not None:  # msgspec's words for it ("Input data was truncated") are untrue
        return lone
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


JSON_SPACE = b" \t\r\n"


def concatenated_values(body: bytes, *, kinds: bool = True) -> bytes | None:
    """JSON values one after another (a ``.json`` file of objects written over several lines,
    or with no line break between them: ``{"a":1}{"a":2}``, whitespace between or none) as
    NDJSON, one value a line, each value's bytes kept but for its line breaks (spaces, as in
    :func:`array_to_ndjson`). None when ``body`` is not two values or more so written (the
    caller's own parse then says why), unless it is one value beside a blank line holding a
    vertical tab or form feed, which that parse would take for no JSON; :class:`BodyError`
    naming the record when a value after the first is no JSON. The loader reads such a file
    so (DuckDB's ``format = 'auto'``); each value is then checked as a record. A later value
    nested past msgspec's limit is refused by :func:`too_deep_refusal` (no object, when it is
    none and closes), or, not ``kinds`` (a text opening with a scalar), or after a value that
    is a scalar (the loader's reading of the records then fails, and it judges the text
    first), for its depth."""
    values: list[bytes] = []
    view = memoryview(body)
    pos, end = 0, len(body)
    stray = False  # a blank line holding a vertical tab or form feed was passed
    while True:
        while pos < end:
            if body[pos] in JSON_SPACE:
                pos += 1
            elif body[pos] in b"\x0b\x0c" and (line := _blank_line_end(body, pos)) is not None:
                pos, stray = line, True
            else:
                break
        if pos == end:
            break
        try:
            msgspec.json.decode(view[pos:], type=msgspec.Raw)
            values.append(body[pos:].rstrip(JSON_SPACE))
            break
        except RecursionError:  # nested past msgspec's limit: the depth rule's refusal
            if not values:
                return None  # the caller's own parse says why
            found = dialect.too_deep_at(body[pos:])
            kinds = kinds and all(v[:1] in (b"{", b"[") for v in values)  # the loader's reading
            raise too_deep_refusal(found, len(values), kinds=kinds) from None
        except msgspec.DecodeError as exc:
            value_end = dialect.json_value_end(str(exc))
            if value_end is None and values:  # a later value is no JSON: named by its record
                why = dialect.json_byte_shifted(_plain(exc, body[pos:]), pos)  # the text's byte
                raise BodyError(why, row=len(values), unit="record") from None
            if value_end is None:
                return None
            stop = pos + value_end
            values.append(body[pos:stop].rstrip(JSON_SPACE))
            pos = stop
    if len(values) < 2 and not (values and stray):
        return None
    return b"\n".join(v.replace(b"\n", b" ").replace(b"\r", b" ") for v in values)


def _blank_line_end(body: bytes, pos: int) -> int | None:
    """Where the line holding ``pos`` ends, when it holds nothing but whitespace, a vertical
    tab or form feed included (``bytes.strip``): such a line is blank between JSON values, as
    the loader and the NDJSON line split read it (docs/loading.md, Whitespace); else None."""
    start = body.rfind(b"\n", 0, pos) + 1
    stop = body.find(b"\n", pos)
    stop = len(body) if stop < 0 else stop
    return stop if not body[start:stop].strip() else None


def array_to_ndjson(body: bytes) -> bytes:
    """A JSON array of objects (or one object) as NDJSON, each element's bytes kept."""
    try:
        try:
            decoded = _DECODE_BODY.decode(body)
        except msgspec.ValidationError as exc:
            if not str(exc).startswith(_BEYOND):
                raise
            decoded = _DECODE_BODY_WIDE.decode(body)  # one object holding 1e999
    except msgspec.ValidationError as exc:
        m = re.search(r"`\$\[(\d+)\]", str(exc))
        if m:
            raise RecordsError(
                [record_error(int(m[1]), None, dialect.NOT_OBJECT, "not_object")]
            ) from None
        # a top-level value that is neither an array nor an object (``5``, ``"x"``, ``null``):
        # the body's one record, not an object, as the loader names it (``record 1``); its
        # text read first, as the loader reads it: a value after it that is no JSON (``5 x``)
        # is that record's refusal (before-stop read B-02 of session 17)
        if _raw_words(body) is not None:
            concatenated_values(body, kinds=False)
        raise RecordsError([record_error(0, None, dialect.NOT_OBJECT, "not_object")]) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        message = _plain(exc, body)
        if isinstance(exc, msgspec.DecodeError) and message == str(exc):
            message = _raw_words(body) or message
        end = dialect.json_value_end(message)
        array = body.lstrip(JSON_SPACE).startswith(b"[")
        if end is not None and array:
            message = dialect.json_after_array(body[end:])
        elif array and message == _TRUNCATED:  # the loader's words, a big file's too
            message = dialect.JSON_ARRAY_CUT
        elif "trailing characters" in message and body.lstrip().startswith(b"{"):
            message += " (several objects? send NDJSON as application/x-ndjson)"
        raise BodyError(message) from None
    if isinstance(decoded, dict):
        return body.strip().replace(b"\n", b" ").replace(b"\r", b" ")
    return b"\n".join(bytes(r).replace(b"\n", b" ").replace(b"\r", b" ") for r in decoded)


def _raw_words(body: bytes) -> str | None:
    """msgspec's words for a ``.json`` text that does not parse, from its parse of the text as
    JSON (``msgspec.Raw``), as the loader reads a ``.json`` file: a typed decode words some
    errors otherwise (``{a: 1}``: "object keys must be strings" for "expected '\"'", ``{"v":
    nul}``: byte 10 for byte 7; review finding revc 02, 08). None when that parse passes."""
    try:
        msgspec.json.decode(body, type=msgspec.Raw)
    except msgspec.DecodeError as exc:  # a lone surrogate's escape: the sentence (read B-05)
        return dialect.lone_surrogate_reason(str(exc), body) or str(exc)
    except RecursionError:
        return None
    return None


def _not_too_deep(body: bytes, ndjson: bool, lines: list[bytes] | None = None) -> None:
    """400 for a record nested deeper than ``dialect.MAX_JSON_DEPTH`` (the loader refuses it
    too), before any recursive parser meets it. Only a body holding more brackets and braces
    than that is looked at, and of an NDJSON body only such lines (``lines``: the body split
    at its newlines, blank lines kept, when the caller has them)."""
    limit = dialect.MAX_JSON_DEPTH
    if body.count(b"[") + body.count(b"{") <= limit:
        return
    if not ndjson:  # an array of records (one level more), or one record
        found = dialect.too_deep_at(body, limit, array=True)
        if found is not None and not _parses(body, array=True):
            return  # no JSON: its parse's words, as the loader parses first (read B-03)
        if found is not None and found.key is None and found.record is not None and _ends(body):
            raise _not_an_object(found.record)  # said first, as the loader says it
        if found is not None:
            raise BodyError(found.reason(), row=found.record, unit="record")
        return
    if lines is None:
        lines = body.split(b"\n")
    if max(map(len, lines), default=0) <= limit:
        return  # a line nested deeper than ``limit`` holds more brackets than that: bytes
    for i, line in enumerate(lines):  # the line of the body, blank lines counted
        found = dialect.too_deep_at(line) if len(line) > limit else None
        if found is not None and not _parses(line, array=False):
            return  # no JSON: its parse's words, as the loader parses first (read B-03)
        if found is not None and found.key is None and _ends(line):  # no object: said first
            raise _not_an_object(sum(1 for s in lines[:i] if s.strip()))  # the record's row
        if found is not None:
            raise BodyError(found.reason(), row=i)


def _parses(text: bytes, *, array: bool) -> bool:
    """Whether a JSON text nested too deep is JSON, as far as msgspec can tell: False when its
    parse fails before its depth stops the parse (its words then refuse it, the loader's:
    it parses a record before its depth is judged); True when the parse passes or stops for
    the depth; :class:`BodyError` when ``array`` (a ``.json`` text) that the depth stops
    opens with ``[`` and does not end with ``]``: cut short, as the loader calls it before any
    parse."""
    try:
        msgspec.json.decode(text, type=msgspec.Raw)
    except msgspec.DecodeError:
        return False
    except RecursionError:
        stripped = text.strip(JSON_SPACE)
        if array and stripped.startswith(b"[") and not stripped.endswith(b"]"):
            raise BodyError(dialect.JSON_ARRAY_CUT) from None
    return True


def _ends(text: bytes) -> bool:
    """Whether a JSON text nested too deep ends as an array does (not cut short: the loader
    then says so first), its record then refused as no object before its depth is."""
    return text.rstrip(JSON_SPACE).endswith(b"]")


def too_deep_refusal(
    found: dialect.TooDeep | None, index: int, *, kinds: bool = True
) -> BodyError | RecordsError:
    """The refusal of ``.json`` record ``index`` (0-based), nested past msgspec's limit
    (``found``: :func:`lakehouse.dialect.too_deep_at` of the text from the record on): a record
    that is no object and closes is refused as that, as the loader (which reads it at any
    depth) refuses it (*before:* until session 18 such a record of a big file, or after
    another of JSON values one after another, was refused for its depth); else, or not
    ``kinds`` (the text judged alone: after a value that is a scalar, of JSON values one after
    another, the loader's reading of the records fails and it judges the text), its depth."""
    if kinds and found is not None and found.key is None and found.closed:
        return _not_an_object(index)
    why = "nested too deeply" if found is None else found.reason()
    return BodyError(why, row=index, unit="record")


def _not_an_object(row: int) -> RecordsError:
    """The refusal of record ``row`` (0-based), which is not a JSON object."""
    return RecordsError([record_error(row, None, dialect.NOT_OBJECT, "not_object")])


def flat_records(body: bytes, max_records: int, known: Iterable[str] = ()) -> Records | None:
    """The records of an NDJSON body without a contract by :mod:`ingest.flatlines` (every
    check of :func:`parse_records` at once: the same records, or RecordsError for a key
    bronze cannot keep), or None: then :func:`parse_records` decides. Its pattern search
    releases the GIL, so it may run in a worker thread while the event loop serves others.
    ``known``: the keys of the file before ``body`` (a file checked in pieces), first seen."""
    flat = flatlines.flat_records(body, max_records)
    if flat is None:
        return None
    count, text, names = flat
    check_keys(dict.fromkeys([*known, *names]))
    return Records(count=count, ndjson=text, keys=names)


def parse_records(
    body: bytes,
    *,
    ndjson: bool,
    contract: Contract | None = None,
    max_records: int = 100_000,
    max_errors: int = 20,
    flat: bool = True,
    opens_file: bool = True,
    offset: int = 0,
    known: Iterable[str] = (),
) -> Records:
    """Check ``body`` strictly; return what lands. Raises BodyError, RecordsError, TooMany.
    ``flat``: try :func:`flat_records` first (False: the caller did). ``opens_file``:
    ``body`` starts the file, so a byte-order mark may open it (False: a later part of a file, where
    it is a byte of the data, refused as the loader refuses it). ``offset``: of ``body`` in
    the file it lands as. A byte that is not UTF-8 is named at its offset in that file, as
    the loader names it (``not UTF-8 at byte N``, counted from the file's start), before any
    other problem of the body (a record that is no object, one nested too deep, a misfit).
    ``known``: the keys of the file before ``body`` (a later piece of a file), first seen:
    the names are judged in the file's order, these first."""
    if opens_file and (doubled := dialect.second_bom(body)) is not None:
        raise BodyError(doubled, row=0 if ndjson else None)
    try:
        return _parse_records(
            body,
            ndjson=ndjson,
            contract=contract,
            max_records=max_records,
            max_errors=max_errors,
            flat=flat,
            opens_file=opens_file,
            known=tuple(known),
        )
    except (BodyError, RecordsError) as exc:  # a byte that is not UTF-8 is named first
        bad = dialect.first_non_utf8(body)
        if bad is None:
            raise
        reason = dialect.not_utf8_reason(offset + bad, json=True)
        if isinstance(exc, BodyError) and str(exc).startswith("not UTF-8"):
            exc.args = (reason,)  # its line or record as found
            raise
        raise BodyError(reason, row=body[:bad].count(b"\n") if ndjson else None) from None


def _parse_records(
    body: bytes,
    *,
    ndjson: bool,
    contract: Contract | None,
    max_records: int,
    max_errors: int,
    flat: bool,
    opens_file: bool,
    known: tuple[str, ...],
) -> Records:
    if flat and ndjson and contract is None and (quick := flat_records(body, max_records, known)):
        return quick  # every check below at once, or None: then each of them
    if opens_file:
        body = body.removeprefix(dialect.BOM_UTF8)  # not data: the loader drops it too
    lines, pending = _lines_of(body, ndjson, contract, max_records)
    if len(lines) > max_records:
        raise TooManyRecordsError(len(lines), max_records)
    if not lines:
        raise RecordsError([record_error(None, None, "the body holds no records", "empty")])
    errors: list[dict[str, Any]] = []
    keys: dict[str, None] = {}  # first seen first
    texts: list[bytes] = []  # each slice's lines joined: what lands
    for start in range(0, len(lines), SLICE):  # Python objects for one slice at a time
        part = lines[start : start + SLICE]
        tried = pending is not None  # the fast test, asked of this slice here
        if pending is not None:
            if (whole := _whole_slice(part, contract)) is not None:
                keys.update(dict.fromkeys(whole[0]))
                texts.append(whole[1])
                continue
            _not_too_deep(body, ndjson, pending)  # of the whole body, before any decode
            pending = None
        try:
            found, text = _slice_of(body, ndjson, start, part, contract, max_errors, tried)
            keys.update(dict.fromkeys(found))
            texts.append(text)
        except RecordsError as exc:
            errors += exc.shifted(start).errors
            if len(errors) >= max_errors or exc.truncated:
                raise RecordsError(errors[:max_errors], truncated=True) from None
    if errors:
        raise RecordsError(errors)
    check_keys(dict.fromkeys([*known, *keys]))
    landed = texts[0] + b"\n" if len(texts) == 1 else b"\n".join([*texts, b""])
    return Records(count=len(lines), ndjson=landed, keys=tuple(keys))


def _slice_of(
    body: bytes,
    ndjson: bool,
    start: int,
    lines: list[bytes],
    contract: Contract | None,
    max_errors: int,
    tried: bool,
) -> tuple[tuple[str, ...], bytes]:
    """:func:`_check_slice` of ``lines``, the body's records from ``start``; a BodyError
    names the body's line (NDJSON, blank lines counted) or record."""
    try:
        return _check_slice(lines, contract, max_errors, tried=tried)
    except RecursionError:  # nesting at the limit: decoded, then too deep to re-walk
        raise BodyError("nested too deeply", unit="line" if ndjson else "record") from None
    except BodyError as exc:
        exc.unit = "line" if ndjson else "record"
        if exc.row is not None:  # NDJSON: the line of the body, blank lines counted
            exc.row = _line_index(body, exc.row + start) if ndjson else exc.row + start
        raise


def _lines_of(
    body: bytes, ndjson: bool, contract: Contract | None, max_records: int
) -> tuple[list[bytes], list[bytes] | None]:
    """The body's records, one line each; and, when its depth check is left to the slices,
    the NDJSON body's lines (blank ones kept) for it (None: done, nothing too deep).

    The depth check comes before any record is decoded. A slice the contract's fast test takes
    whole is flat (:func:`fastcontract.whole_records`: no value holds a bracket), so an NDJSON
    body with a contract is scanned only once a slice is not taken so (the benchmark's bodies:
    never); one split of the body serves both."""
    if not ndjson:
        _not_too_deep(body, ndjson)
        return _split_lines(array_to_ndjson(body)), None
    split = body.split(b"\n")
    lines = list(filter(bytes.strip, split))  # as _split_lines
    if contract is None or not 0 < len(lines) <= max_records:
        _not_too_deep(body, ndjson, split)
        return lines, None
    return lines, split


def _whole_slice(
    lines: list[bytes], contract: Contract | None
) -> tuple[tuple[str, ...], bytes] | None:
    """A slice's keys and text when the contract's fast test takes it whole (its records flat
    and keeping the contract), else None."""
    if contract is None:
        return None
    text = b"\n".join(lines)
    keys = fastcontract.whole_records(lines, text, contract)
    return (keys, text) if keys else None


def _check_slice(
    lines: list[bytes], contract: Contract | None, max_errors: int, *, tried: bool = False
) -> tuple[tuple[str, ...], bytes]:
    """Check one slice of records; return the keys they hold, first seen first (checked as
    names at the end).
    ``tried``: the contract's fast test already said "not known" of it."""
    if not tried and (whole := _whole_slice(lines, contract)) is not None:
        return whole  # every check below at once, or None: then each of them
    text = b"\n".join(lines)
    if contract is None and (keys := _same_keys(lines, text)) is not None:
        return keys, text  # the checks below, records of one key set: or None, then each
    rows = _decode_lines(lines)
    if not _no_duplicates(text, rows):
        _check_duplicates(lines, max_errors)
    if contract is not None and (columns := _checked_columns(contract)):
        if not fastcontract.holds(text, contract, columns):  # "yes", or ask the exact check
            _check_contract(lines, contract, max_errors)
    return first_seen(rows), text


def first_seen(rows: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """The keys of ``rows``, each once, in the order first seen (a row's keys in its order):
    as the loader lists a file's columns (``loader.readers._json_keys``)."""
    seen: dict[str, None] = {}
    for row in rows:
        if not seen.keys() >= row.keys():  # a key not seen yet (a C-level test per row)
            seen.update(dict.fromkeys(row))  # keys seen before keep their place
    return tuple(seen)


class TooManyRecordsError(ValueError):
    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} records in one request; at most {limit}")
        self.count = count
        self.limit = limit
