"""A JSON or NDJSON file that is not UTF-8 (UTF-16 with a byte-order mark among them): the API's
400 and the loader's ``encoding`` reason say JSON is read as UTF-8 only (review finding auditD
02, session 9). Both said ``not UTF-8 at byte 0 (nor UTF-16 with a byte-order mark)``, CSV's
words, which promised a UTF-16 file with a mark would be taken: for JSON it is not. CSV keeps
its words (a UTF-16 CSV with a mark is read)."""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

CASES = {
    "utf16le_bom.json": (b"\xff\xfe" + '[{"a": 1}]'.encode("utf-16-le"), 0),
    "utf16be_bom.ndjson": (b"\xfe\xff" + '{"a": 1}\n'.encode("utf-16-be"), 0),
    "utf32_bom.ndjson": (b"\xff\xfe\x00\x00" + '{"a": 1}\n'.encode("utf-32-le"), 0),
    "latin1_late.ndjson": (b'{"a": 1}\n{"a": "\xe9"}\n', 16),
    "latin1.json": (b'[{"a": 1}, {"a": "\xe9"}]', 18),
}


@pytest.mark.parametrize("name", list(CASES))
def test_json_not_utf8_says_json_is_read_as_utf8_only(
    module_lakehouse: Settings, name: str
) -> None:
    data, byte = CASES[name]
    table = "u16_" + name.replace(".", "_")
    outcome = run(module_lakehouse, [(table, name, data)])[table]
    words = f"not UTF-8 at byte {byte} (JSON is read as UTF-8 only)"
    assert outcome.api_status == 400 and words in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "encoding", refused
    assert refused["reason"] == words, refused


def test_csv_keeps_its_words(module_lakehouse: Settings) -> None:
    outcome = run(module_lakehouse, [("u16_csv", "a.csv", b"a\n\xff\n")])["u16_csv"]
    words = "not UTF-8 at byte 2 (nor UTF-16 with a byte-order mark)"
    assert outcome.api_status == 400 and outcome.api_detail == words, outcome.api_detail
    assert outcome.refused is not None and outcome.refused["reason"] == words
