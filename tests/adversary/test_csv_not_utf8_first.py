"""A CSV file holding a byte that is not UTF-8 is refused for that byte first, whatever else is
wrong with it (its header's names, a quote, a record's field count, a header too long), by the
API and the loader alike, wherever the byte is (review finding auditC 04, LOW: with a repeated
name and the byte between ~8 KiB and 64 KiB the API said invalid_column, the loader encoding;
with a record of another field count and the byte past 64 KiB the API said encoding, the loader
column_count; the kind a sender read hung on the byte's offset and the path). Found with DuckDB's
data/csv/test/invalid_utf_big.csv.
"""

from __future__ import annotations

import gzip

import pytest
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings


def _rows(n: int) -> bytes:
    return b"1,2\n" * n


CASES = {  # (file name, bytes): the first byte that is not UTF-8 is the only \xff
    "repeated_name_20k": ("a.csv", b"a,a\n" + _rows(5_000) + b"\xff,3\n"),
    "repeated_name_48k": ("a.csv", b"a,a\n" + _rows(12_000) + b"\xff,3\n"),
    "repeated_name_80k": ("a.csv", b"a,a\n" + _rows(20_000) + b"\xff,3\n"),
    "blank_name_20k": ("a.csv", b"a,\n" + _rows(5_000) + b"\xff,3\n"),
    "blank_header_80k": ("a.csv", b"\n" + _rows(20_000) + b"\xff,3\n"),
    "quote_20k": ("a.csv", b'a,b\n1,"x"y\n' + _rows(5_000) + b"\xff,3\n"),
    "quote_200k": ("a.csv", b'a,b\n1,"x"y\n' + _rows(50_000) + b"\xff,3\n"),
    "field_count_20k": ("a.csv", b"a,b\n1,2,3\n" + _rows(5_000) + b"\xff,3\n"),
    "field_count_200k": ("a.csv", b"a,b\n1,2,3\n" + _rows(50_000) + b"\xff,3\n"),
    "header_too_long": ("a.csv", b"a" * (dialect.MAX_HEADER_BYTES + 10) + b",b\n1,2\n\xff\n"),
    "gzip_repeated_name_80k": (
        "a.csv.gz",
        gzip.compress(b"a,a\n" + _rows(20_000) + b"\xff,3\n", mtime=0),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_byte_that_is_not_utf8_is_named_first_by_both(
    module_lakehouse: Settings, case: str
) -> None:
    name, data = CASES[case]
    plain = gzip.decompress(data) if name.endswith(".gz") else data
    said = dialect.not_utf8_reason(plain.index(b"\xff"))
    table = f"utf8_first_{case}"
    outcome = run(module_lakehouse, [(table, name, data)], rows=False)[table]
    assert outcome.api_status == 400 and outcome.api_detail == said, outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "encoding", refused
    assert refused["reason"] == said, refused


def test_utf16_with_a_repeated_name_is_refused_for_the_name(module_lakehouse: Settings) -> None:
    """A UTF-16 file's bytes are not UTF-8 and need not be: its name problem stands."""
    table = "utf8_first_utf16"
    outcome = run(module_lakehouse, [(table, "a.csv", "a,a\n1,2\n".encode("utf-16"))])[table]
    assert outcome.api_status == 422 and "repeats" in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "invalid_column", refused
