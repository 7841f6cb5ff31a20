"""JSON values keep their text as written, whatever the column they land in.

A number's literal is its text (docs/loading.md, "JSON and NDJSON"): ``-0``, ``1.50`` and
``1E+2`` are not the numbers 0, 1.5 and 100.0 when bronze keeps them as text (a key of mixed
kinds, a nested array), and ``-0`` fits no number type (no type gives its ``-`` back). Each
case goes through the real API and the real loader and is read back by the rule
(``adversary_support.mismatches``). Found by ``test_properties.py``; ``LOADER_DEFECTS`` names
what the loader does with each today (strict: an entry goes when the loader keeps the case).
"""

from __future__ import annotations

import json

import pytest
from adversary_support import Outcome, Refusal, Table, expected, mismatches, run

from lakehouse.settings import Settings

CASES: dict[str, bytes] = {
    "negative_zero_with_text": b'{"a": -0}\n{"a": "x"}\n',
    "negative_zero_alone": b'{"a": -0}\n',
    "negative_zero_decimal_with_int": b'{"a": -0.0}\n{"a": 1}\n',
    "trailing_zero_with_text": b'{"a": 1.50}\n{"a": "x"}\n',
    "exponent_with_boolean": b'{"a": 1E+2}\n{"a": true}\n',
    "negative_zero_nested": b'{"a": {"b": -0}}\n',
    "literals_in_an_array": b'{"a": [-0, 1.0, 1E+2, 1.50]}\n',
    "long_number_with_text": b'{"a": 1.0000000000000000001}\n{"a": "x"}\n',
    "big_integer_nested": b'{"a": {"b": 99999999999999999999}}\n',
    "exponent_alone": b'{"a": 1e3}\n',
    "exponents_with_numbers": b'{"a": 1.5e3}\n{"a": 1}\n{"a": 0.5}\n',
    "exponent_in_an_array": b'{"a": [1e3]}\n',
}

#: Cases the loader does not keep yet (strict: remove an entry once it does).
LOADER_DEFECTS: dict[str, str] = {}


class Literal(str):
    """A JSON number's literal, compared as text."""


def as_written(text: str | bytes) -> object:
    """JSON parsed with every number kept as its literal (``-0`` is not ``0``)."""
    return json.loads(text, parse_float=Literal, parse_int=Literal, parse_constant=Literal)


def same_literals(stored: object, raw: bytes) -> bool:
    """A value kept as JSON text holds the same literals as the one sent (whitespace aside)."""
    if not isinstance(stored, str) or not raw.lstrip().startswith((b"[", b"{")):
        return True  # not JSON text: mismatches() judged it
    try:
        return bool(as_written(stored) == as_written(raw))
    except ValueError:
        return False


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> dict[str, Outcome]:
    return run(module_lakehouse, [(f"l_{name}", "a.ndjson", data) for name, data in CASES.items()])


def _params() -> list[object]:
    return [
        pytest.param(
            name,
            marks=[pytest.mark.xfail(strict=True, reason=LOADER_DEFECTS[name])]
            if name in LOADER_DEFECTS
            else [],
            id=name,
        )
        for name in CASES
    ]


@pytest.mark.parametrize("name", _params())
def test_json_literals_are_kept_as_written(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[f"l_{name}"]
    want = expected("a.ndjson", CASES[name])
    assert not isinstance(want, Refusal)
    assert isinstance(want, Table)
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    assert mismatches(outcome.loaded_rows, want, js=True) == []
    for row, sent in zip(outcome.loaded_rows, want.rows, strict=True):
        for column, raw in sent.items():
            assert same_literals(row.get(column), raw), (column, raw, row.get(column))
