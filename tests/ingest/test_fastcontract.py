"""The contract's fast test (ingest.fastcontract) never says "yes" where the exact check refuses.

It is one-sided by design: a "yes" skips the exact check (``ingest.validation._check_contract``),
a "no" runs it. So the answers stay the same exactly when every "yes" is right. Held here two
ways on adversarial values (wrong types, big integers, floats for integers, ``-0``, exponents,
trailing zeros, nulls in required fields, absent fields, numbers as strings, escapes, unicode,
nested values, extra fields, a byte-order mark): each value pattern accepts only texts
:func:`lakehouse.dialect.fits` accepts, and :func:`ingest.validation.parse_records` gives the
same records or the same errors (status, message, row, field) with the fast test as without it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_typecheck import TYPES as TYPECHECK_TYPES

from ingest import fastcontract, flatlines, validation
from ingest.fastcontract import holds, value_pattern
from ingest.validation import BodyError, RecordsError, TooManyRecordsError, parse_records
from lakehouse import dialect
from lakehouse.contracts import Column, Contract

TYPES = [*TYPECHECK_TYPES, "uinteger", "decimal(3,1)"]

# raw JSON values, as written in a body
LITERALS = [
    "0", "-0", "-0.0", "-0.00", "0.0", "0.00", "0.000", "0.5", "-0.5", "-0.05", "-0.001", "1",
    "-1", "1.0", "1.00", "1.500", "1.005", "1e3", "1E3", "1e-3", "1.5e1", "-1e0", "127", "128",
    "-128", "-129", "255", "256", "32767", "32768", "2147483647", "2147483648", "-2147483648",
    "-2147483649", "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809", "18446744073709551615",
    "18446744073709551616", "99999999999999999999", "9" * 38, "9" * 39, "-" + "9" * 38,
    "1" + "0" * 400, "1e999", "-1e999", "1.0000000000000000001", "123456789012345",
    "1234567890123456", "0.0000000000001", "0.30000000000000004", "12345678901.99",
    "123456789012.5", "9999999999.99", "99999", "0.99999", "0.000001", "1234567", "123456",
    "0.1234567", "true", "false", "null", "[]", "{}", "[1]", '{"a": 1}', '{"a": 1, "a": 2}',
    '""', '" "', '"0"', '"-0"', '"12"', '" 12"', '"12 "', '"007"', '"1.50"', '"1.500"', '"1e3"',
    '"true"', '"false"', '"True"', '"null"', '"NA"', '"\\u0031"', '"1\\u0030"', '"ação"',
    '"\\ud83d\\ude00"', '"\ufeff1"', '"\uff11"', '"\u0663"', '"2024-01-01"', '"2024-02-28"',
    '"2024-02-29"', '"2023-02-29"', '"2024-02-30"', '"2024-04-30"', '"2024-04-31"',
    '"2024-12-31"', '"2024-13-01"', '"2024-00-10"', '"2024-01-00"', '"0000-01-01"',
    '"0001-01-01"', '"9999-12-31"', '"2024-1-1"', '"2024-01-01 13:45:00"',
    '"2024-01-01T13:45:00"', '"2024-01-01t13:45:00"', '"2024-01-01T13:45:00Z"',
    '"2024-01-01T13:45:00z"', '"2024-01-01T13:45:00+05:30"', '"2024-01-01T13:45:00-00:00"',
    '"2024-01-01T13:45:00+24:00"', '"2024-01-01T13:45:00-00:60"', '"2024-01-01T13:45:00+0530"',
    '"2024-01-01T13:45:00+05"', '"2024-01-01 24:00:00"', '"2024-01-01 23:60:00"',
    '"2024-01-01 23:59:60"', '"2024-01-01 13:45:00.123456"', '"2024-01-01 13:45:00.1234567"',
    '"2024-01-01 13:45:00."', '"2024-02-29T00:00:00Z"', '"2024-04-31T00:00:00Z"',
    '"2024-01-01T13:45:00Z "', '"2024-01-01T13:45:00\\u005a"', '"12:02:55"',
    '"550e8400-e29b-41d4-a716-446655440000"',
]  # fmt: skip

number_literal = st.from_regex(
    r"-?(0|[1-9][0-9]{0,22})(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?", fullmatch=True
)
date_literal = st.from_regex(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([ Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,8})?([Zz]|[+-][0-9]{2}:?[0-9]{2})?)?",
    fullmatch=True,
)
string_literal = st.one_of(number_literal, date_literal, st.text(max_size=8)).map(json.dumps)
raw_value = st.one_of(
    st.sampled_from(LITERALS),
    number_literal,
    string_literal,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


def text_as_written(raw: str) -> str:
    """The text the rule judges: a string's characters, any other value's literal."""
    return str(json.loads(raw)) if raw.startswith('"') else raw


@pytest.mark.parametrize("data_type", TYPES)
def test_patterns_accept_only_what_the_rule_accepts_edges(data_type: str) -> None:
    pattern = value_pattern(data_type)
    if pattern is None:
        return
    wrong = [raw for raw in LITERALS if _taken(pattern, raw) and not _fits(raw, data_type)]
    assert not wrong, f"{data_type}: the fast pattern takes {wrong}"
    assert not _taken(pattern, "null")


def _taken(pattern: str, raw: str) -> bool:
    """Whether the fast test's engine (RE2) takes ``raw`` whole; ``re`` must agree."""
    taken = fastcontract._found(f"^(?:{pattern})$", raw.encode())
    assert taken == bool(re.fullmatch(pattern, raw)), (pattern, raw)
    return taken


def _fits(raw: str, data_type: str) -> bool:
    if raw == "null" or raw[:1] in "[{":
        return False
    return dialect.fits(text_as_written(raw), data_type)


@settings(max_examples=400, deadline=None)
@given(raw=raw_value, data_type=st.sampled_from(TYPES))
def test_patterns_accept_only_what_the_rule_accepts(raw: str, data_type: str) -> None:
    pattern = value_pattern(data_type)
    if pattern is not None and _taken(pattern, raw):
        assert _fits(raw, data_type), (raw, data_type)


# -- whole bodies: the same answer with the fast test as without it -----------------------------

CONTRACT = Contract(
    "wide",
    (
        Column("id", "bigint", required=True),
        Column("small", "smallint"),
        Column("tiny", "utinyint"),
        Column("count", "ubigint"),
        Column("huge", "hugeint"),
        Column("amount", "decimal(12,2)"),
        Column("share", "decimal(5,5)"),
        Column("ratio", "double"),
        Column("weight", "float"),
        Column("flag", "boolean"),
        Column("day", "date"),
        Column("at", "timestamp"),
        Column("seen", "timestamp with time zone", required=True),
        Column("name", "varchar", required=True),
        Column("code", "integer", required=True),
        Column("note", "varchar"),
    ),
)
SMALL = Contract(
    "small",
    (
        Column("n", "integer", required=True),
        Column("d", "decimal(4,1)"),
        Column("b", "boolean"),
        Column("t", "varchar"),
        Column("r", "varchar", required=True),
        Column("j"),
    ),
)
NAMES = [c.name for c in CONTRACT.columns + SMALL.columns] + ["extra", "Id", "ü", "i\\u0064"]

VALID: dict[str, list[str]] = {
    "id": ["1", "-5", "9223372036854775807", "0"],
    "small": ["12", "-32768", "null"],
    "tiny": ["0", "255"],
    "count": ["18446744073709551615", "3"],
    "huge": ["-" + "9" * 38, "7"],
    "amount": ["12.50", "0.01", "-3", "9999999999.99", '"1.5"'],
    "share": ["0.12345", "-0.5", "0"],
    "ratio": ["1.5", "123456789012345", "0.0000000000001"],
    "weight": ["1.5", "123456"],
    "flag": ["true", "false"],
    "day": ['"2024-02-28"', '"2024-12-31"'],
    "at": ['"2024-01-01 13:45:00"', '"2024-01-01T13:45:00.123456"'],
    "seen": ['"2024-05-01T00:12:00Z"', '"2024-05-01T00:12:00+05:30"', '"2024-05-01 00:12:00"'],
    "name": ['"x"', '""', "12", '"é"'],
    "code": ["1", "-2147483648", "2147483647"],
    "note": ['"free: text"', "null", "1.5e3"],
}
VALID_SMALL = {
    "n": ["0", "-1", "2147483647"],
    "d": ["999.9", "-0.5", "null"],
    "b": ["true"],
    "t": ['"a:b"', '"ação"', "7", "null", '"::"'],
    "r": ['"x"', "0", '"2024-01-01T00:00:00Z"'],
    "j": ["1", '"j"', "true", "1e999", '"}"'],
}
#: Bytes that break a body in ways a shortcut could miss: not UTF-8, a UTF-8 surrogate, control
#: characters, escapes, a second key, a nesting, a quote, a colon.
MUTATIONS = [
    b"\xff", b"\xed\xa0\x80", b"\xc3\xa7", b"\t", b"\x00", b"\x01", b"\\", b"\\u0000",
    b"\\ud800", b"\n", b" ", b":", b'"', b"{", b"[", b",", b'"n": 1, ', b'"t": "x", ',
]  # fmt: skip


@st.composite
def record(draw: st.DrawFn, contract: Contract, clean: bool) -> str:
    """One JSON object, as text: valid values, or some replaced, dropped, added or repeated."""
    valid = VALID if contract is CONTRACT else VALID_SMALL
    fields = draw(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in valid.items()}))
    if clean:  # a valid record: a valid body takes the fast tests
        pass
    elif draw(st.booleans()):
        for name in draw(st.lists(st.sampled_from(NAMES), max_size=3)):
            fields[name] = draw(raw_value)
        for name in draw(st.lists(st.sampled_from(NAMES), max_size=2)):
            fields.pop(name, None)
    pairs = list(fields.items())
    for name in [] if clean else draw(st.lists(st.sampled_from(NAMES), max_size=2)):  # twice
        pairs.insert(draw(st.integers(0, len(pairs))), (name, draw(raw_value)))
    space = draw(st.sampled_from(["", " "]))
    colon = draw(st.sampled_from([":", ": ", " : "]))
    return "{" + f",{space}".join(f'"{k}"{colon}{v}' for k, v in pairs) + "}"


@st.composite
def body(draw: st.DrawFn, contract: Contract) -> tuple[bytes, bool]:
    mode = draw(st.sampled_from(["clean", "values", "bytes"]))
    records = draw(st.lists(record(contract, mode == "clean"), min_size=1, max_size=6))
    ndjson = draw(st.booleans())
    text = "\n".join(records) if ndjson else "[" + ",\n".join(records) + "]"
    bom = "\ufeff" if draw(st.booleans()) else ""
    data = (bom + text).encode()
    for _ in range(draw(st.integers(1, 2)) if mode == "bytes" else 0):  # bytes changed, added
        at = draw(st.integers(0, len(data)))
        cut = draw(st.integers(0, 1))
        data = data[:at] + draw(st.sampled_from(MUTATIONS)) + data[at + cut :]
    return data, ndjson


def answer(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        records = call()
    except RecordsError as exc:
        return ("422", exc.errors, exc.truncated)
    except (BodyError, TooManyRecordsError) as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "row", None))
    return ("202", records.count, records.ndjson, records.keys)


def both_ways(
    monkeypatch: pytest.MonkeyPatch, data: bytes, ndjson: bool, contract: Contract | None
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The answer with every shortcut, and without them (also without the whole-records,
    same-keys and flat-lines ones only, which must agree with both)."""

    def run() -> tuple[Any, ...]:
        return answer(lambda: parse_records(data, ndjson=ndjson, contract=contract, max_errors=5))

    fast = run()
    with monkeypatch.context() as m:
        m.setattr(fastcontract, "whole_records", lambda *a: None)
        m.setattr(validation, "_same_keys", lambda *a: None)
        m.setattr(flatlines, "flat_records", lambda *a: None)
        assert run() == fast
        m.setattr(fastcontract, "holds", lambda *a: False)
        exact = run()
    return fast, exact


@pytest.mark.slow
@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), shape=st.sampled_from([CONTRACT, SMALL]), checked=st.booleans())
def test_the_same_answer_with_and_without_the_fast_test(
    monkeypatch: pytest.MonkeyPatch, data: st.DataObject, shape: Contract, checked: bool
) -> None:
    """With the contract (``fastcontract``), or none: records of one key set
    (``validation._same_keys``) or not, as the general check answers."""
    sent, ndjson = data.draw(body(shape))
    fast, exact = both_ways(monkeypatch, sent, ndjson, shape if checked else None)
    assert fast == exact


@pytest.mark.parametrize(
    "line",
    [
        b'{"n": -0, "r": "x"}',
        b'{"n": -0 , "r": "x"}',
        b'{"n":-0,"r":"x"}',
        b'{"n": 1.0, "r": "x"}',
        b'{"n": 1e2, "r": "x"}',
        b'{"n": null, "r": "x"}',
        b"{}",
        b'{"r": "x"}',
        b'{"n": "1", "r": "x"}',
        b'{"n": true, "r": "x"}',
        b'{"n": 2147483648, "r": "x"}',
        b'{"n": 99999999999999999999999, "r": "x"}',
        b'{"n": 1, "r": "x", "d": 1.50}',
        b'{"n": 1, "r": "x", "d": -0.0}',
        b'{"n": 1, "r": "x", "d": 1e999}',
        b'{"n": 1, "r": "x", "d": "12.5"}',
        b'{"n": 1, "r": "x", "d": "\\u0031"}',
        b'{"n": 1, "r": "x", "d": 999.9}',
        b'{"n": 1, "r": "x", "d": 1000}',
        b'{"n": 1, "r": "x", "b": "true"}',
        b'{"n": 1, "r": "x", "b": 1}',
        b'{"n": 1, "r": null}',
        b'{"n": 1, "r": "x", "j": null}',
        b'{"n": 1, "r": "x", "j": 1e999}',
        b'{"n": 1, "r": "x", "j": -0}',
        b'{"n": 1, "n": 2, "r": "x"}',
        b'{"n": 1, "n": 1, "r": "x"}',
        b'{"n": 1, "r": "x", "r": "x"}',
        b'{"n": 1, "r": "x", "t": "a", "t": "b"}',
        b'{"n": 1, "r": "x", "t": "a:b", "t": ""}',
        b'{"n": 1, "r": "x", "b": true, "b": false}',
        b'{"n": 1, "r": "x", "j": {"a": 1, "a": 2}}',
        b'{"n": 1, "r": "x", "j": [{"a": 1, "a": 2}]}',
        b'{"n": 1, "r": "x", "j": {"a": 1}}',
        b'{"n": 1, "r": "x", "zz": 1}',
        b'{"n": 1, "r": "x", "zz": 1, "zz": 2}',
        b'{"n": 1, "\\u0072": "x"}',
        b'{"n": "\\\\u003a"}',
        b'{"n": 1, "r": "\\\\u003a", "z": 1}',
        b'{"n": 1, "r": "x", "\\u0072": "y"}',
        b'{"n": 1, "r": "\\ud800"}',
        b'{"n": 1, "r": "x", "t": "\\ud83d\\ude00"}',
        b'{"n": 1, "r": "x", "t": "\xff"}',
        b'{"n": 1, "r": "x", "t": "\xed\xa0\x80"}',
        b'{"n": 1, "r": "x", "t": "\xc3\xa7"}',
        b'{"n": 1, "r": "a\tb"}',
        b'{"n": 1, "r": "a\x00b"}',
        b'{"n": 1, "r": "x"} {"n": 2, "r": "y"}',
        b'{"n": 1, "r": "x"}\n\n  \n{"n": 2, "r": "y"}\n',
        b'{"n": 1,\n "r": "x"}',
        b'{"n": 1, "r": "x", "t": "' + b"[" * 3000 + b'"}',
        b'{"n": 1, "r": "x", "j": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    ],
)
@pytest.mark.parametrize("contract", [SMALL, None])
def test_edge_records_agree(
    monkeypatch: pytest.MonkeyPatch, line: bytes, contract: Contract | None
) -> None:
    first = b'{"n": 1, "r": "x"}\n'  # the keys most lines hold: the same-keys test's decoder
    for lines in (line, first + line, first + line + b"\n" + first):
        for data, ndjson in ((lines, True), (_array(lines), False)):
            fast, exact = both_ways(monkeypatch, data, ndjson, contract)
            assert fast == exact, lines


def _array(lines: bytes) -> bytes:
    return b"[" + lines.replace(b"} {", b"}, {").replace(b"}\n{", b"},\n{").strip() + b"]"


def test_records_of_one_key_set_take_the_same_keys_test() -> None:
    """The bodies the benchmark sends without a contract are judged by one Struct decode; a
    repeated, missing or extra key sends them to the general check."""
    lines = [
        b'{"id": 1, "at": "2024-05-01T00:12:00Z", "amount": 12.5, "note": null, "x": [1]}',
        b'{"at": "12:00", "id": 2, "amount": 1e3, "note": "a:b", "x": {"y": ":"}}',
    ]
    keys = ("id", "at", "amount", "note", "x")  # the first line's order: first seen
    assert validation._same_keys(lines, b"\n".join(lines)) == keys
    for changed in (
        b'{"id": 2, "id": 2, "at": "", "amount": 1, "note": null, "x": 1}',
        b'{"id": 2, "at": "", "amount": 1, "note": null, "x": {"y": 1, "y": 1}}',
        b'{"id": 2, "at": "", "amount": 1, "note": null}',
        b'{"id": 2, "at": "", "amount": 1, "note": null, "x": 1, "z": 1}',
        b'{"id": 2, "at": "", "amount": 1e999, "note": null, "x": 1}',
    ):
        both = [lines[0], changed]
        assert validation._same_keys(both, b"\n".join(both)) is None, changed


def test_valid_bodies_take_the_fast_test() -> None:
    """The bodies the benchmark sends (and their like) are judged without the exact check."""
    lines = [
        b'{"id": 1, "seen": "2024-05-01T00:12:00Z", "name": "a", "code": 7, "amount": 12.5,'
        b' "flag": true, "day": "2024-02-28", "ratio": 0.25, "note": null, "extra": [1]}',
        b'{"id": 2, "seen": "2024-05-01 00:12:00+01:00", "name": "b", "code": -7, "amount": -3}',
    ]
    columns = validation._checked_columns(CONTRACT)
    assert holds(b"\n".join(lines), CONTRACT, columns)
    assert not holds(lines[0].replace(b'"id": 1', b'"id": -0'), CONTRACT, columns)
    assert not holds(lines[1].replace(b"-3", b"-3.001"), CONTRACT, columns)
    assert not holds(lines[1].replace(b'"name": "b", ', b""), CONTRACT, columns)


@pytest.mark.parametrize("contract", [None, SMALL])
def test_bodies_of_several_slices_land_whole(contract: Contract | None) -> None:
    """A body longer than one slice lands every line, in order, each once."""
    lines = [f'{{"n": {i}, "r": "x{i}"}}'.encode() for i in range(validation.SLICE * 2 + 5)]
    sent = b"\n".join(lines[:10]) + b"\n\n \n" + b"\n".join(lines[10:])  # blank lines dropped
    records = parse_records(sent, ndjson=True, contract=contract, max_records=10**6)
    assert records.count == len(lines)
    assert records.ndjson == b"\n".join(lines) + b"\n"
    assert records.keys == ("n", "r")
    broken = [*lines[:-1], b'{"n": "x", "r": "y"}']
    with pytest.raises(RecordsError) as refused:
        parse_records(b"\n".join(broken), ndjson=True, contract=SMALL, max_records=10**6)
    assert [e["row"] for e in refused.value.errors] == [len(lines) - 1]


def _depth_first(data: bytes, contract: Contract, max_records: int) -> tuple[Any, ...]:
    """The answer as the depth check first, then the rest (the order before the check was
    skipped for bodies the fast test takes whole)."""

    def call() -> Any:
        validation._not_too_deep(data.removeprefix(dialect.BOM_UTF8), True)
        return parse_records(data, ndjson=True, contract=contract, max_records=max_records)

    return answer(call)


_LIMIT = dialect.MAX_JSON_DEPTH
_FLAT = b'{"n": 1, "r": "x", "t": "a:b", "j": true}'
_DEEP_VALUES = [
    b"[" * (_LIMIT - 1) + b"]" * (_LIMIT - 1),  # the deepest a record may be
    b"[" * _LIMIT + b"]" * _LIMIT,  # one level too deep
    b"[" * _LIMIT,  # too deep, and not JSON
    b'{"a":' * _LIMIT + b"1" + b"}" * _LIMIT,
    b"[" * 3000 + b"1" + b"]" * 3000,  # deeper than Python's own parser goes
]


@pytest.mark.parametrize("deep", _DEEP_VALUES)
@pytest.mark.parametrize(
    "at", [0, 5, validation.SLICE - 1, validation.SLICE, validation.SLICE + 7, -1]
)
@pytest.mark.parametrize("before", [b"", b"bad", b"blank", b"bom"])
def test_a_body_the_fast_test_takes_skips_only_a_depth_check_that_could_not_refuse(
    deep: bytes, at: int, before: bytes
) -> None:
    """With a contract, a body the fast test takes whole is not scanned for depth (every value
    flat); any other answers exactly as with the depth check first: a record too deep in any
    slice, after a valid slice or an invalid record, is refused naming its line."""
    lines = [_FLAT] * (validation.SLICE + 20)
    lines.insert(at if at >= 0 else len(lines), b'{"n": 2, "r": "y", "j": ' + deep + b"}")
    if before == b"bad":
        lines[1] = b'{"n": "x", "r": "y"}'
    elif before == b"blank":
        lines.insert(3, b"  ")
    data = b"\n".join(lines) + b"\n"
    if before == b"bom":
        data = dialect.BOM_UTF8 + data
    for most in (10**6, len(lines) - 5):
        got = answer(lambda m=most: parse_records(data, ndjson=True, contract=SMALL, max_records=m))
        assert got == _depth_first(data, SMALL, most)
        if deep == _DEEP_VALUES[2] and most == 10**6:  # no JSON: parsed first (read B-03)
            assert got[:2] == ("BodyError", "JSON is malformed: invalid character (byte 536)")
        elif deep == _DEEP_VALUES[2]:  # no depth refusal first: the records' bound then
            assert got[0] == "TooManyRecordsError", got[:2]
        elif deep != _DEEP_VALUES[0]:  # the others are refused for their depth, first
            assert got[0] == "BodyError" and "levels deep" in got[1], got[:2]


def test_a_flat_body_with_a_contract_is_not_scanned_for_depth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The benchmark's kind of body (more brackets than the depth limit in all, each record
    flat and keeping the contract) lands without the depth scan; a record with a nested value
    still gets it."""
    scanned: list[bytes] = []
    scan = validation._not_too_deep

    def spy(body: bytes, ndjson: bool, *lines: list[bytes] | None) -> None:
        scanned.append(body)
        scan(body, ndjson, *lines)

    monkeypatch.setattr(validation, "_not_too_deep", spy)
    flat = b"\n".join([_FLAT] * (validation.SLICE + 600)) + b"\n"
    assert parse_records(flat, ndjson=True, contract=SMALL, max_records=10**6).count > _LIMIT
    assert scanned == []
    nested = flat + b'{"n": 1, "r": "x", "j": [1]}\n'
    assert parse_records(nested, ndjson=True, contract=SMALL, max_records=10**6).keys
    assert scanned == [nested]
