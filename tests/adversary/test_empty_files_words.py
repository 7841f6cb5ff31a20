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
        ("a.csv.gz", gzip.compress(b"", mtime=0), "the file is empty"),
        ("a.ndjson.gz", gzip.compress(b"", mtime=0), "the file is empty"),
        ("a.json.gz", gzip.compress(b"", mtime=0), "the file is empty"),
        ("a.ndjson", b"\n\n", "the file holds no records"),
        ("a.json", b" \n", "the file holds no records"),
        ("a.csv", b"\xef\xbb\xbf", "the file has no header line: line 1, the header, is blank"),
        ("a.json", b"{}", dialect.NO_KEYS),
        ("a.json", b"[ \n]\n", "the file is an empty JSON array"),
        ("a.json.gz", gzip.compress(b"[]", mtime=0), "the file is an empty JSON array"),
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


KEYED = (
    "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n"
    "        meta: {primary_key: id}\n"
)


@pytest.mark.parametrize("name", ["a.csv", "a.tsv"])
def test_a_header_without_the_key_and_no_rows_is_refused_for_the_key(
    one_lakehouse: Settings, name: str
) -> None:
    """A header lacking a required column, and no rows: refused for the column first, by the
    API as by the loader (and as a Parquet file of no rows is, both sides); the API said "the
    file has a header and no rows" (revl 11 of session 14)."""
    (one_lakehouse.dbt_project_dir / "models" / "t.yml").write_text(KEYED)
    (one_lakehouse.dbt_project_dir / "models" / "u.yml").write_text(KEYED.replace(": t\n", ": u\n"))
    outcome = run(one_lakehouse, [("t", name, b"x\n")])["t"]
    assert outcome.api_status == 422, outcome.api_detail
    assert [(e["field"], e["type"]) for e in outcome.api_detail] == [("id", "missing")]
    assert outcome.refused is not None and outcome.refused["kind"] == "required", outcome.refused
    outcome = run(one_lakehouse, [("u", name, b"id\n")])["u"]  # the key there: no rows
    assert outcome.api_detail == "the file has a header and no rows", outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "header_only"
