"""Text after a ``.json`` file's array (``[{...}] x``) is refused by the API and the loader
alike in the same true words (``lakehouse.dialect.json_after_array``): the array is whole, text
follows it. Before, the loader said "the JSON array does not end with ']' (truncated?)" (review
finding auditL 13). An array cut short is still refused as truncated, alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from adversary_support import lakehouse, run

from lakehouse import dialect
from lakehouse.settings import Settings

_ARRAY = b'[{"a": 1}, {"a": 2}]'

CASES = {
    "word": (_ARRAY + b" x", "x"),
    "lines_then_text": (_ARRAY + b"\n  \nxyz\n", "xyz\n"),
    "with_bom": (b"\xef\xbb\xbf" + _ARRAY + b"  oops", "oops"),
    "object_after": (_ARRAY + b' {"a": 3}', '{"a": 3}'),
    "long_text": (_ARRAY + b" " + b"z" * 40, "z" * 16),
}


@pytest.fixture(scope="module", params=[None, 8], ids=["whole", "record_at_a_time"])
def settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """The API's whole-body check, and its record-at-a-time one (a file above the limit)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
            mp.delenv(key)
        extra = {} if request.param is None else {"api_max_body_bytes": request.param}
        yield lakehouse(Path(tmp_path_factory.mktemp("after_array")), **extra)


@pytest.mark.parametrize("case", list(CASES))
def test_text_after_the_array_is_named_alike(settings: Settings, case: str) -> None:
    data, after = CASES[case]
    table = f"after_array_{case}"
    outcome = run(settings, [(table, "f.json", data)], rows=False)[table]
    reason = dialect.malformed_json(dialect.json_after_array(after.encode()))
    assert (outcome.api_status, outcome.api_detail) == (400, reason)
    assert outcome.refused is not None
    assert outcome.refused["kind"] == "unparseable"
    assert outcome.refused["reason"] == reason  # the API's words (until session 17 unprefixed)


@pytest.mark.parametrize("data", [b'[{"a": 1},', b'[{"a": 1}, {"a": '], ids=["comma", "mid_value"])
def test_an_array_cut_short_is_still_truncated(settings: Settings, data: bytes) -> None:
    table = f"after_array_cut_{len(data)}"
    outcome = run(settings, [(table, "f.json", data)], rows=False)[table]
    assert outcome.api_status == 400, outcome.api_detail
    assert outcome.refused is not None
    assert outcome.refused["reason"] == dialect.malformed_json(dialect.JSON_ARRAY_CUT)
