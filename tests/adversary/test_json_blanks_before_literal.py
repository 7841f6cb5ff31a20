"""``nan``/``inf`` (no JSON) or a trailing comma after a long run of blanks inside a nested
NDJSON value: refused by the loader as by the API (review finding auditL 05). The loader's
number prefilter (``loader.readers._AT_RISK``) bounds the blanks it looks through; past the
bound DuckDB's read took the value and the loader stored non-JSON text (``{"b":nan}``) where the
API answered 400. A run of blanks reaching the bound now sends the file to the exact reader.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings
from loader import readers


def _blanks(n: int) -> bytes:
    """``n`` blanks, the last a tab."""
    return b" " * (n - 1) + b"\t" if n else b""


@pytest.mark.parametrize("n", [23, 24, 25, 30, 200])
@pytest.mark.parametrize(
    "shape",
    [
        b'{"a": {"b":%snan}}\n',
        b'{"a": [%sinf]}\n',
        b'{"a": [1,%s-INF]}\n',
        b'{"a": {"b": 1,%s}}\n',
        b'{"a": [1,%s]}\n',
    ],
    ids=["object_nan", "array_inf", "array_minus_inf", "object_comma", "array_comma"],
)
def test_refused_alike_whatever_the_blanks(
    module_lakehouse: Settings, shape: bytes, n: int
) -> None:
    data = shape % _blanks(n)
    table = f"blanks_{abs(hash(data)) % 10**9}"
    outcome = run(module_lakehouse, [(table, "f.ndjson", data)])[table]
    assert outcome.api_status == 400, outcome.api_detail
    assert outcome.refused is not None, outcome.loaded_rows
    assert outcome.refused["kind"] == "unparseable", outcome.refused


def test_a_long_run_of_blanks_is_read_exactly(module_lakehouse: Settings) -> None:
    """Valid JSON with 30 blanks before nested values: loaded, the same as without them."""
    body = b'{"i": %d, "a": {"b":%s1.50, "c": [%s2,%s"x"]}}\n'
    plain = body % (0, b"", b"", b"")
    spaced = body % (1, _blanks(30), _blanks(30), _blanks(30))
    assert readers._matches(spaced) and not readers._matches(plain)
    table = "blanks_valid"
    outcome = run(module_lakehouse, [(table, "f.ndjson", plain + spaced)])[table]
    assert outcome.api_status == 202 and outcome.refused is None, outcome.refused
    rows = sorted(outcome.loaded_rows or [], key=lambda r: r["i"])
    assert len(rows) == 2 and rows[0]["a"] == rows[1]["a"], rows
