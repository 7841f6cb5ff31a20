"""One numbering of the byte a ``.json`` refusal names: the byte of the file's JSON text (after
a byte-order mark), for the API and the loader, in a later record as in the first
(docs/loading.md, Refusals). A literal DuckDB reads though it is no JSON (``NaN``,
``Infinity``) sends the file to the loader's exact reading, which named the byte counted from
the record's start: ``[{"a":1},{"a":NaN}]`` -> API "(byte 14)", loader "(byte 5)" (review
finding auditj 04, LOW); for objects one after another, and in a file bigger than
``api_max_body_bytes``, the API named the record's byte too."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from adversary_support import lakehouse, run

from lakehouse.settings import Settings

PAD = b'{"a":0,"pad":"' + b"x" * 300 + b'"},\n'
CASES = {
    "NaN": b'[{"a":1},{"a":NaN}]',
    "Infinity": b'[{"a":1},{"a":Infinity}]',
    "NaN_later_line": b'[{"a":1},\n {"a":2},\n {"a":NaN}]',
    "NaN_objects": b'{"a":1}\n{"a":NaN}\n',
    "NaN_glued": b'{"a":1}{"a":NaN}',
    "comma_objects": b'{"a":1}\n{"a":2,}\n',
    "NaN_big_array": b"[" + PAD * 4 + b'{"a":NaN}]',
    "NaN_big_objects": (PAD[:-2] + b"\n") * 4 + b'{"a":NaN}\n',
}
LIMIT = 1024


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
            mp.delenv(key)
        yield lakehouse(Path(tmp_path_factory.mktemp("jsonbyte")), api_max_body_bytes=LIMIT)


@pytest.mark.parametrize("case", list(CASES))
def test_both_name_the_byte_of_the_files_text(small_limit: Settings, case: str) -> None:
    data = CASES[case]
    assert case.endswith(("_big_array", "_big_objects")) == (len(data) > LIMIT)
    token = b",}" if case.startswith("comma") else case.split("_")[0].encode()
    at = data.rindex(token) + (1 if case.startswith("comma") else 0)  # where msgspec stops
    table = "jb_" + case.lower()
    outcome = run(small_limit, [(table, "a.json", data)], rows=False)[table]
    assert outcome.api_status == 400, outcome.api_detail
    assert re.findall(r"\(byte (\d+)\)", str(outcome.api_detail)) == [str(at)], outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "unparseable", outcome
    named = re.findall(r"\(byte (\d+)\)", outcome.refused["reason"])
    assert named == [str(at)], outcome.refused["reason"]
