"""revx finding 03: a lone surrogate escape (``"\\ud800"``) in a JSON file is refused by both, but
with untrue words: the loader's ``.error.json`` for a ``.json`` says "the file does not parse as
JSON: Input data was truncated" (the file is whole), and for a ``.json`` past
``api_max_body_bytes`` (16 MiB, read a record at a time) both say "unexpected end of hex escape"
(the escape is complete). The API's small-file reason starts with the same untrue "Input data
was truncated" before naming the surrogate; the loader's NDJSON reason is true ("no low
surrogate in string"). Expected: every refusal names the lone surrogate, in the same words for
the API and the loader, and none says truncated.

Place in tests/adversary/ (uses its conftest and adversary_support).
"""

from __future__ import annotations

import json

import pytest
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings

RECORD = b'{"id": 1, "s": "\\ud800"}'


def _big_array() -> bytes:
    filler = [json.dumps({"id": i, "s": "x" * 80}) for i in range(170_000)]  # ~17 MiB
    return ("[\n" + ",\n".join(filler) + ",\n").encode() + RECORD + b"\n]\n"


CASES = {
    "small.json": lambda: b"[" + RECORD + b"]\n",
    "small.ndjson": lambda: RECORD + b"\n",
    "big.json": _big_array,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_lone_surrogate_is_named_truly_by_both(one_lakehouse: Settings, name: str) -> None:
    outcome = run(one_lakehouse, [("t", name, CASES[name]())], rows=False)["t"]
    assert outcome.api_status == 400, outcome.api_detail
    assert outcome.refused is not None
    api, loader = str(outcome.api_detail), outcome.refused["reason"]
    for words in (api, loader):
        assert "surrogate" in words, (api, loader)
        assert "truncated" not in words and "end of hex escape" not in words, (api, loader)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("low.ndjson", b'{"id": 0}\n{"id": 1, "s": "\\udc00"}\n'),
        ("two-high.json", b'[{"id": 1, "s": "\\ud800\\ud801"}]'),
        ("key.json", b'{"id": 1, "\\udbff": 2}'),
    ],
)
def test_the_same_words_name_the_escape(one_lakehouse: Settings, name: str, data: bytes) -> None:
    """The API and the loader give one reason, naming the escape as written (review finding
    revx 03: "Input data was truncated", "unexpected end of hex escape" before session 14)."""
    outcome = run(one_lakehouse, [("t", name, data)], rows=False)["t"]
    assert outcome.api_status == 400 and outcome.refused is not None, outcome.api_detail
    escape = "\\u" + data.split(b"\\u")[1][:4].decode()
    words = dialect.LONE_SURROGATE.format(escape=escape)
    assert words in str(outcome.api_detail) and words in outcome.refused["reason"], (
        outcome.api_detail,
        outcome.refused["reason"],
    )


def test_a_pair_cut_by_the_reader_s_block_is_no_lone_surrogate() -> None:
    """The API's big-file reader reads a block at a time: a pair cut after its high half is
    read on, not refused."""
    assert dialect.lone_surrogate_escape(b'{"s": "\\ud83d', whole=False) is None
    assert dialect.lone_surrogate_escape(b'{"s": "\\ud83d\\ude00"}') is None
    assert dialect.lone_surrogate_escape(b'{"s": "\\\\ud800"}') is None  # an escaped backslash
    assert dialect.lone_surrogate_escape(b'{"s": "\\\\\\ud800"}') == "\\ud800"


def test_a_form_feed_after_an_element_of_a_big_array_same_words(one_lakehouse: Settings) -> None:
    """Past ``api_max_body_bytes`` the API reads a ``.json`` a record at a time: a form feed
    after an element is refused in msgspec's words and byte, as the loader and the API's
    small-file path say it (*before:* the API said "b'\\x0c' after an array element", a Python
    bytes repr; revx 03, LOW)."""
    filler = [json.dumps({"id": i, "s": "x" * 80}) for i in range(170_000)]  # ~17 MiB
    data = ("[\n" + ",\n".join(filler)).encode() + b"\x0c\n]\n"
    outcome = run(one_lakehouse, [("t", "big.json", data)], rows=False)["t"]
    words = f"JSON is malformed: expected ',' or ']' (byte {len(data) - 4})"
    assert outcome.api_status == 400 and outcome.refused is not None, outcome.api_detail
    assert words in str(outcome.api_detail) and words in outcome.refused["reason"], (
        outcome.api_detail,
        outcome.refused["reason"],
    )


@pytest.mark.parametrize("after", [b"[]", b'[{"id": 2}]', b"{}"])
def test_text_after_an_array_same_words(one_lakehouse: Settings, after: bytes) -> None:
    """A ``.json`` array followed by another JSON text is refused by both as text after the
    array (*before:* the loader said "top-level JSON values must be objects" for ``[]`` after
    it, reading two arrays; revx 03, LOW)."""
    data = b'[{"id": 1}]\n' + after + b"\n"
    outcome = run(one_lakehouse, [("t", "two.json", data)], rows=False)["t"]
    assert outcome.api_status == 400 and outcome.refused is not None, outcome.api_detail
    words = dialect.json_after_array(after + b"\n")
    assert words in str(outcome.api_detail) and words in outcome.refused["reason"], (
        outcome.api_detail,
        outcome.refused["reason"],
    )
