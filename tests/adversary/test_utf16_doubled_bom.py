"""Exactly one byte-order mark is dropped from a CSV, whatever its encoding.

A UTF-16 CSV whose text starts with a second U+FEFF (software that writes a mark before text
that already has one) kept it only in UTF-8: the loader transcoded UTF-16 to a UTF-8 scratch
file that began with the second mark's bytes, and the UTF-8 reading dropped them as the file's
mark, so the first column `\\ufeffid` was stored as `id` (a name changed without a word) while
the API read `\\ufeffid`.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_second_byte_order_mark_in_utf16_stays_in_the_first_name(
    module_lakehouse: Settings, encoding: str
) -> None:
    table = f"bom2_{encoding.replace('-', '_')}"
    data = "\ufeff\ufeffid,name\n1,x\n".encode(encoding)
    outcome = run(module_lakehouse, [(table, "a.csv", data)])[table]
    assert outcome.api_status == 202 and outcome.loaded_rows is not None
    names = [c for c in outcome.loaded_rows[0] if not c.startswith("_")]
    assert names == ["\ufeffid", "name"], names
    assert [(r["\ufeffid"], r["name"]) for r in outcome.loaded_rows] == [(1, "x")]


def test_the_same_text_in_utf8_keeps_it(module_lakehouse: Settings) -> None:
    data = b"\xef\xbb\xbf" + "\ufeffid,name\n1,x\n".encode()
    outcome = run(module_lakehouse, [("bom2_utf8", "a.csv", data)])["bom2_utf8"]
    assert outcome.loaded_rows is not None
    assert [c for c in outcome.loaded_rows[0] if not c.startswith("_")] == ["\ufeffid", "name"]


def test_a_single_byte_order_mark_in_utf16_is_dropped(module_lakehouse: Settings) -> None:
    data = "\ufeffid,name\n1,x\n".encode("utf-16-le")
    outcome = run(module_lakehouse, [("bom1_utf16", "a.csv", data)])["bom1_utf16"]
    assert outcome.loaded_rows is not None
    assert [(r["id"], r["name"]) for r in outcome.loaded_rows] == [(1, "x")]
