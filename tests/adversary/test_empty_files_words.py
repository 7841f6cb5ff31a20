"""Empty inputs are refused by the API and the loader in the same words (review finding revl 11
of session 14): a gzip of no bytes is "the file is empty" (the API said the CSV's header was
blank, or the NDJSON held no records), blank NDJSON lines "the file holds no records" (the loader
said "the file is empty" of a file holding bytes), an empty JSON array "the file is an empty
JSON array" (the API said "the body holds no records"), a blank CSV header "the file has no header
line: ..." on both sides, records of only empty objects one sentence (``dialect.NO_KEYS``)."""

from __future__ import annotations

import gzip

import pytest
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings


def _said(detail: object) -> str:
    if isinstance(detail, list):
        return " ".join(str(e.get("msg")) for e in detail if isinstance(e, dict))
    return str(detail)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("a.csv.gz", gzip.compress(b""), "the file is empty"),
        ("a.ndjson.gz", gzip.compress(b""), "the file is empty"),
        ("a.json.gz", gzip.compress(b""), "the file is empty"),
        ("a.ndjson", b"\n\n", "the file holds no records"),
        ("a.json", b" \n", "the file holds no records"),
        ("a.csv", b"\xef\xbb\xbf", "the file has no header line: line 1, the header, is blank"),
        ("a.json", b"{}", dialect.NO_KEYS),
        ("a.json", b"[ \n]\n", "the file is an empty JSON array"),
        ("a.json.gz", gzip.compress(b"[]"), "the file is an empty JSON array"),
        ("a.ndjson", b"{}\n{}\n", dialect.NO_KEYS),
    ],
)
def test_an_empty_input_is_refused_in_one_set_of_words(
    one_lakehouse: Settings, name: str, data: bytes, words: str
) -> None:
    outcome = run(one_lakehouse, [("t", name, data)])["t"]
    assert outcome.api_status == 422, outcome.api_detail
    assert _said(outcome.api_detail) == words, outcome.api_detail
    assert outcome.refused is not None, outcome.loaded_rows
    assert outcome.refused["kind"] == "empty", outcome.refused
    assert outcome.refused["reason"] == words, outcome.refused
