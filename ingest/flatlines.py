"""A fast, one-sided test of an NDJSON body without a contract: "these records", or "not known".

The general check (:func:`ingest.validation.parse_records`) decodes every line into Python
objects, re-encodes them to rule out repeated keys, and joins the lines again: ~5 ms of one
core for 7,000 records (1.15 MB). Most bodies machine-written without a contract are flat
records whose keys come in one order on every line. For those, one regular expression over the
whole body (RE2: one linear pass, no Python object per record, the GIL released)
answers every question the general check asks:

- every line is one JSON object (RFC 8259: strings with their escapes, no control character
  in them, numbers by the JSON grammar, ``true``, ``false``, ``null``, JSON whitespace), holding
  exactly the first line's keys in the first line's order, each written as its plain name (no
  escape), so no key is repeated and no record differs in its keys;
- no value is nested (an object or an array sends the body to the general check), so no
  nested key is repeated either;
- the bytes are UTF-8 (checked whole by Python's strict decoder), and no ``\\u`` escape is a
  UTF-16 surrogate (the pattern takes none, paired or not), nor is any integer long enough to
  pass the interpreter's digit limit;
- the body does not start with a byte-order mark and holds no blank line (the general check
  drops them, so another text would land).

Then what lands is the body itself (with a final newline), the records are its lines and the
keys the first line's: the same :class:`~ingest.validation.Records` the general check returns,
without a copy. Anything else (a key in another order, a nested value, an escaped key, more
records than allowed) answers None, and the general check decides as before, so answers and
messages stay the same. ``tests/ingest/test_flatlines.py`` holds the two to that on generated
adversarial bodies and on every JSONTestSuite case.
"""

from __future__ import annotations

import codecs
from functools import lru_cache
from typing import Any

import msgspec
import re2

__all__ = ["MAX_KEYS", "flat_records"]

#: Records of at most this many keys, of at most this many characters together, are tested
#: here (the pattern and its compiled program grow with them: a key of 1 MB once made a
#: pattern RE2 cannot compile, and each compiled pattern is kept): ~1.4 MiB at the bounds.
MAX_KEYS = 64
MAX_KEY_CHARS = 1024

_WS = r"[ \t\r]*"
#: A JSON string: no raw control character, quote or backslash but in a valid escape; no
#: ``\u`` escape of a UTF-16 surrogate (D800-DFFF), which the general check refuses alone.
_STRING = (
    r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]'
    r"|\\u(?:[0-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}))*\""
)
#: A JSON number: an integer literal of at most 39 digits (a longer one is left to the general
#: check: beyond the interpreter's 4,300-digit limit it refuses it), or with a fraction or an
#: exponent, any length.
_NUMBER = (
    r"-?(?:0|[1-9][0-9]{0,38}"
    r"|(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+))"
)
_VALUE = rf"(?:{_STRING}|{_NUMBER}|true|false|null)"
_DECODE_FIRST = msgspec.json.Decoder(dict[str, msgspec.Raw])


def _plain(key: str) -> bool:
    """A key written as its plain name: printable ASCII, no quote, no backslash."""
    return key.isascii() and key.isprintable() and '"' not in key and "\\" not in key


def _literal(text: str) -> str:
    """``text`` matched literally by RE2 (every character but letters and digits as ``\\xHH``)."""
    return "".join(c if c.isalnum() else f"\\x{ord(c):02x}" for c in text)


def _pattern(keys: tuple[str, ...]) -> str:
    """The whole body: lines of one JSON object of ``keys`` in this order, flat values."""
    pairs = f"{_WS},{_WS}".join(f'"{_literal(k)}"{_WS}:{_WS}{_VALUE}' for k in keys)
    line = rf"{_WS}\{{{_WS}{pairs}{_WS}\}}{_WS}"
    return rf"^(?:{line}(?:\n|$))+$"


@lru_cache(maxsize=16)
def _compiled(keys: tuple[str, ...]) -> Any:
    """:func:`_pattern` compiled once (RE2 objects are safe to share between threads), over
    bytes as Latin-1 (one byte, one character: UTF-8 is checked apart)."""
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    return re2.compile(_pattern(keys).encode("ascii"), options)


def _matches(keys: tuple[str, ...], data: bytes) -> bool:
    """Whether ``data`` is lines of flat records of ``keys``: one RE2 pass (a DFA, linear, the
    GIL released while it runs)."""
    try:
        compiled = _compiled(keys)
    except re2.error:  # too large a program: the general check decides
        return False
    return compiled.fullmatch(data) is not None


#: UTF-8 is checked this many bytes at a time (a whole body's text would take up to 4 times it).
_UTF8_STEP = 1 << 20


def _utf8(body: bytes) -> bool:
    """Whether ``body`` is UTF-8 by Python's strict decoder, in bounded memory."""
    if body.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(body)
    try:
        for start in range(0, len(body), _UTF8_STEP):
            decoder.decode(view[start : start + _UTF8_STEP])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def flat_records(body: bytes, max_records: int) -> tuple[int, bytes, tuple[str, ...]] | None:
    """(records, what lands, keys) when ``body`` is NDJSON of flat records of one key order,
    by the rules above; None means "not known here" (the general check decides)."""
    end = body.find(b"\n")
    first = body if end < 0 else body[:end]
    try:
        keys = tuple(_DECODE_FIRST.decode(first))
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
        return None
    if not 0 < len(keys) <= MAX_KEYS or sum(map(len, keys)) > MAX_KEY_CHARS:
        return None
    if not all(map(_plain, keys)):
        return None
    if not _utf8(body):
        return None
    count = body.count(b"\n") + (not body.endswith(b"\n"))
    if count > max_records or not _matches(keys, body):
        return None
    # the keys in the first line's order: every line's, so first seen in the body
    return count, body if body.endswith(b"\n") else body + b"\n", keys
