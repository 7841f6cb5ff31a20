"""The no-contract NDJSON fast test (ingest.flatlines) answers exactly as the general check.

It is one-sided by design: a "yes" returns the records without the general check, a "no" runs
it. So :func:`ingest.validation.parse_records` must give the same records or the same error
(status, message, row, field) with the fast test as without it, on generated adversarial bodies
(keys repeated, missing, added, reordered or escaped; values nested, escaped, not UTF-8, UTF-8
surrogates, control characters, lone and paired surrogate escapes, numbers the JSON grammar
refuses, integers beyond the interpreter's digit limit, ``NaN``; blank lines, a byte-order mark,
CR line ends, whitespace) and on every JSONTestSuite case put into a record. Each guard of the
fast test is needed by some case here: removing one makes these tests fail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fastcontract import answer as fast_answer

from ingest import fastcontract, flatlines, validation
from ingest.validation import parse_records

KEYS = ["id", "name", "at", "amount", "ok", "note", "Id", "a b", "x:y", "_batch_id", "", "é"]
#: Values a flat record may hold (the clean bodies draw from these).
FLAT = [
    "0", "-0", "-0.0", "1", "-1", "12.50", "1e3", "1E+3", "-1e-7", "0.1e1", "99999999999999999999",
    "9" * 39, "1.0000000000000000001", "1e999", "-1e999", "true", "false", "null", '""', '"x"',
    '"a:b"', '"::"', '"ação"', '"\\n"', '"\\t\\"\\\\\\/\\b\\f\\r"', '"\\u0041"', '"\\u003a"',
    '"\\u0000"', '"\\ue000"', '"\\uffff"', '"\x7f"', '"\u2028"', '"\U0001f600"',
]  # fmt: skip
#: And others: nested, beyond a limit, surrogates, or not JSON.
VALUES = [
    *FLAT, "9" * 40, "9" * 4301, "1" + "0" * 400 + ".5", "1e99999999999999999999", '"\\ud800"',
    '"\\udc00"', '"\\ud83d\\ude00"', '"\\uD83D\\uDE00"', '"\\uDFFF"', '"\\x41"', '"\\u12"',
    '"\\a"', "[]", "{}", "[1, 2]", '{"a": 1}', '{"a": 1, "a": 2}', '[{"a": 1, "a": 2}]', "NaN",
    "Infinity", "-Infinity", "01", "-", "1.", ".5", "+1", "1e", "0x1F", "tru", "nul", "True",
    "01.5", "00", "-01", "01e2", "-.5", "1.e3", "1e+", "--1", "'x'",
]  # fmt: skip
#: Bytes that break a body in ways a shortcut could miss (put anywhere, or in place of a byte).
MUTATIONS = [
    b"\xff", b"\xed\xa0\x80", b"\xc0\xaf", b"\xc3", b"\t", b"\r", b"\x00", b"\x01", b"\x1f",
    b"\x0b", b"\x0c", b"\\", b"\\u0000", b"\\ud800", b"\n", b"\n\n", b" \n", b"\r\n", b" ",
    b":", b'"', b"{", b"}", b"[", b"]", b",", b'"id": 1, ', b'"id":1,', b"\xef\xbb\xbf", b"0",
    b"-", b"e", b".",
]  # fmt: skip


@st.composite
def record(draw: st.DrawFn, keys: list[str], clean: bool) -> str:
    """One JSON object of ``keys`` in order (or changed, unless ``clean``), as text."""
    pairs = [(json.dumps(k, ensure_ascii=False), draw(st.sampled_from(FLAT))) for k in keys]
    if not clean:
        change = draw(st.sampled_from(["none", "value", "repeat", "drop", "add", "swap", "esc"]))
        at = draw(st.integers(0, len(pairs) - 1))
        if change == "value":
            pairs[at] = (pairs[at][0], draw(st.sampled_from(VALUES)))
        elif change == "repeat":
            pairs.insert(draw(st.integers(0, len(pairs))), pairs[at])
        elif change == "drop" and len(pairs) > 1:
            del pairs[at]
        elif change == "add":
            pairs.append((json.dumps(draw(st.sampled_from(KEYS))), draw(st.sampled_from(VALUES))))
        elif change == "swap" and len(pairs) > 1:
            pairs[0], pairs[-1] = pairs[-1], pairs[0]
        elif change == "esc":  # the same key, escaped
            name = json.loads(pairs[at][0])
            pairs[at] = ('"' + "".join(f"\\u{ord(c):04x}" for c in name) + '"', pairs[at][1])
    ws = draw(st.sampled_from(["", " ", "\t", "\r", "  "]))
    colon = draw(st.sampled_from([":", ": ", " : ", "\t:"]))
    return ws + "{" + ws + f",{ws}".join(f"{k}{colon}{v}" for k, v in pairs) + ws + "}" + ws


@st.composite
def body(draw: st.DrawFn) -> bytes:
    mode = draw(st.sampled_from(["clean", "records", "bytes"]))
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=5, unique=True))
    lines = draw(st.lists(record(keys, mode == "clean"), min_size=1, max_size=6))
    end = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    text = end.join(lines) + draw(st.sampled_from([end, "", "\n\n"]))
    data = ("\ufeff" if draw(st.integers(0, 9)) == 0 else "") + text
    sent = data.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(1, 3)) if mode == "bytes" else 0):
        at = draw(st.integers(0, len(sent)))
        cut = draw(st.integers(0, 1))
        sent = sent[:at] + draw(st.sampled_from(MUTATIONS)) + sent[at + cut :]
    return sent


def answer(data: bytes, max_records: int = 100) -> tuple[Any, ...]:
    return fast_answer(
        lambda: parse_records(data, ndjson=True, max_records=max_records, max_errors=5)
    )


def both_ways(
    monkeypatch: pytest.MonkeyPatch, data: bytes, max_records: int = 100
) -> tuple[tuple[Any, ...], tuple[Any, ...], bool]:
    """The answer with the fast test, the answer without any shortcut, and whether the fast
    test said "yes"."""
    taken = flatlines.flat_records(data, max_records) is not None
    fast = answer(data, max_records)
    with monkeypatch.context() as m:
        m.setattr(flatlines, "flat_records", lambda *a: None)
        m.setattr(validation, "_same_keys", lambda *a: None)
        m.setattr(fastcontract, "whole_records", lambda *a: None)
        m.setattr(fastcontract, "holds", lambda *a: False)
        exact = answer(data, max_records)
    return fast, exact, taken


@pytest.mark.slow
@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=body())
def test_the_same_answer_with_and_without_the_fast_test(
    monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    fast, exact, taken = both_ways(monkeypatch, data)
    assert fast == exact, data
    if taken:
        assert exact[0] in ("202", "422"), (data, exact)  # 422: a key bronze cannot keep


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("where", ["first", "later", "alone"])
def test_each_value_agrees(monkeypatch: pytest.MonkeyPatch, value: str, where: str) -> None:
    plain = '{"id": 1, "v": "x"}'
    line = '{"id": 2, "v": ' + value + "}"
    lines = {"first": [line, plain], "later": [plain, line, plain], "alone": [line]}[where]
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    fast, exact, _ = both_ways(monkeypatch, data)
    assert fast == exact, data


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}\n{"a": 2}\n',
        b'{"a": 1}\n{"a": 2}',
        b'{"a": 1}\r\n{"a": 2}\r\n',
        b' {"a" : 1 , "b":"x:y"} \n\t{"a":2,"b":null}\n',
        b'{"a": "\\u00e9\\n", "b": 1e3}\n',
        b'{"a": "\xc3\xa7\xe2\x82\xac\xf0\x9f\x98\x80"}\n',
    ],
)
def test_flat_bodies_take_the_fast_test(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """What machine-written NDJSON looks like is judged by one pattern; the same answer."""
    fast, exact, taken = both_ways(monkeypatch, data)
    assert taken and fast == exact and fast[0] == "202"
    assert fast[2] == data if data.endswith(b"\n") else data + b"\n"


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1, "a": 2}\n',  # a repeated key
        b'{"a": 1}\n{"a": 1, "a": 2}\n',
        b'{"a": 1}\n{"\\u0061": 1}\n',  # the same key, escaped
        b'{"a": 1, "b": 2}\n{"b": 2, "a": 1}\n',  # another order: the general check
        b'{"a": 1}\n\n{"a": 2}\n',  # a blank line is dropped: another text lands
        b'\xef\xbb\xbf{"a": 1}\n',  # a byte-order mark is dropped
        b'{"a": {"b": 1}}\n',  # nested
        b'{"a": "\\ud800"}\n',  # a lone surrogate escape
        b'{"a": "\\ud83d\\ude00"}\n',  # a pair: left to the general check
        b'{"a": "\xed\xa0\x80"}\n',  # a surrogate in UTF-8
        b'{"a": "\xff"}\n',
        b'{"a": "x\ty"}\n',  # a raw control character
        b'{"a": "x"}\n{"a": "x\ty"}\n',
        b'{"a": "x"}\n{"a": "x\x1fy"}\n',
        b'{"a": "x"}\n{"a": "x\x00y"}\n',
        b'{"a": 1}\n{"a": 1}\x0b\n',  # whitespace to bytes.strip, not to JSON
        b'{"a": 1}\n{"a": 1}\x0c\n',
        b'{"a": ' + b"9" * 4301 + b"}\n",  # an integer beyond the digit limit
        b'{"a": 01}\n',
        b'{"a": NaN}\n',
        b'{"a": 1}\n{"a": 2} {"a": 3}\n',  # two objects on a line
        b'{"a": 1}\x0b\n',  # whitespace to bytes.strip, not to JSON
    ],
)
def test_other_bodies_go_to_the_general_check(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    fast, exact, taken = both_ways(monkeypatch, data)
    assert not taken, data
    assert fast == exact


def test_too_many_records_go_to_the_general_check(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b'{"a": 1}\n' * 11
    fast, exact, taken = both_ways(monkeypatch, data, max_records=10)
    assert not taken and fast == exact and fast[0] == "TooManyRecordsError"
    fast, exact, taken = both_ways(monkeypatch, data, max_records=11)
    assert taken and fast == exact and fast[1] == 11


@pytest.mark.parametrize(
    "keys",
    [
        ["k" * 1_000_000],  # one key RE2 could not compile into a pattern: a 500 once
        [f"{i}" + "k" * 20_000 for i in range(64)],
        [f"{i}" + "k" * 300 for i in range(4)],  # past the characters the fast test holds
    ],
    ids=["one_1mb_key", "64_keys_of_20k", "just_past"],
)
def test_long_keys_go_to_the_general_check(
    monkeypatch: pytest.MonkeyPatch, keys: list[str]
) -> None:
    """Long keys make a pattern too large to compile or to keep: the general check decides."""
    data = ("{" + ", ".join(f'"{k}": 1' for k in keys) + "}\n").encode()
    fast, exact, taken = both_ways(monkeypatch, data)
    assert not taken and fast == exact and fast[0] == "202"


def test_json_test_suite_in_records(monkeypatch: pytest.MonkeyPatch, shared_dir: Path) -> None:
    """Every JSONTestSuite parsing case as a value of a flat record, and as a line itself."""
    folder = shared_dir / "data" / "badinput" / "JSONTestSuite" / "test_parsing"
    files = sorted(folder.glob("*.json"))
    assert len(files) > 300
    wrong = []
    for path in files:
        case = path.read_bytes()
        for data in (
            b'{"id": 1, "v": 2}\n{"id": 2, "v": ' + case + b"}\n",
            b'{"id": 1, "v": ' + case + b"}\n",
            case + b"\n",
            b'{"v": 1}\n' + case,
        ):
            fast, exact, _ = both_ways(monkeypatch, data)
            if fast != exact:
                wrong.append((path.name, data[:80], fast, exact))
    assert wrong == []


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"A", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xed\xa0\x80"])
        | st.binary(max_size=3),
        max_size=12,
    ).map(b"".join),
    step=st.integers(1, 4),
)
def test_utf8_in_steps_as_the_strict_decoder(data: bytes, step: int) -> None:
    """The body's UTF-8 is checked a step at a time (bounded memory): a sequence split between
    two steps, a truncated one, a surrogate, as :meth:`bytes.decode` says."""
    try:
        data.decode("utf-8")
        want = True
    except UnicodeDecodeError:
        want = False
    with pytest.MonkeyPatch.context() as m:
        m.setattr(flatlines, "_UTF8_STEP", step)
        assert flatlines._utf8(data) is want
