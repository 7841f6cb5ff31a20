"""The API and the loader agree: 202 ⇔ loaded, 4xx ⇔ quarantined, and for the same reason.

The same bytes go to the real API (``POST /v1/tables/{t}/files``) and to the real loader: a
file the API took is loaded as it landed; a file the API refused is dropped into the landing
zone as it was. Inputs: the lossless-bronze issue's reproductions, the API's own dialect cases,
and every file of ``tests/data`` (the generated files of ``test_properties.py`` check the same).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import test_corpus
from adversary_support import Outcome, run

from ingest.filecheck import CHUNK
from lakehouse import Settings

#: A line of NDJSON; a byte-order mark opens the line holding the byte where the API's file
#: check reads its second chunk (it once dropped a mark opening any chunk: 202, quarantined).
_LINE = b'{"a": 1, "b": "' + b"x" * 100 + b'"}\n'
_SECOND_CHUNK = _LINE * (CHUNK // len(_LINE)) + b"\xef\xbb\xbf" + _LINE + _LINE

_ZERO_BYTE_NAMES = ("csv", "tsv", "json", "ndjson", "parquet", "csv.gz")

#: Single-file reproductions of the lossless-bronze issue, and the API's dialect cases.
CASES: list[tuple[str, str, bytes]] = [
    ("hash_rows", "h.csv", b"id,name\n1,alice\n#2,bob\n3,carol\n"),
    ("title_line", "t.csv", b"Monthly report\nid,name\n1,a\n2,b\n"),
    ("first_hex", "a.csv", b"n\n0x1F\n-007\n"),
    ("long_digits", "a.csv", b"x\n0.1234567890123456789\n12345678901234567.89\n"),
    ("big_json", "a.ndjson", b'{"n": 99999999999999999999}\n{"n": 1.0000000000000000001}\n'),
    ("huge_int", "a.ndjson", b'{"n": ' + b"9" * 5000 + b'}\n{"n": 1}\n'),  # past int()'s limit
    ("huge_exp", "a.ndjson", b'{"n": 1.0e+99999999999999999999}\n'),  # past Decimal's
    ("wide_point", "a.json", b'[{"n": 1' + b"0" * 400 + b".5}]"),  # past float64, no exponent
    ("na_text", "a.csv", b"country,code\nNA,1\nPT,2\nNULL,3\nN/A,4\n"),
    ("space_name", "a.csv", b" barks,dog\n1,2\n"),
    ("space_value", "a.csv", b"v\n 2\n3\n"),
    ("time_text", "a.csv", b"t\n12:02:55\n"),
    ("date_order", "a.csv", b"d\n03/04/2024\n12/31/2024\n"),
    ("void", "a.ndjson", b'{"a": {"b": null, "c": 1}}\n'),
    ("nested_one_file", "a.ndjson", b'{"c": [1.0, 2.0]}\n{"c": ["x", "y"]}\n'),
    ("quoted_newline", "a.csv", b'id,text\r\n1,"line one\nline two"\r\n2,plain\n'),
    (
        "ndjson_keys",
        "a.ndjson",
        b"".join(b'{"id": %d, "p%d": %d}\n' % (i, i, i) for i in range(30)),
    ),
    ("utf16", "a.csv", "\ufeffid,name\n1,ação\n".encode("utf-16-le")),
    ("bom_json", "a.json", "\ufeff".encode() + b'[{"id": 1, "name": "x"}]'),
    ("empty_key", "a.ndjson", b'{"": 1}\n'),
    ("wide", "a.json", ("[{" + ",".join(f'"k{i}": 1' for i in range(5000)) + "}]").encode()),
    ("semicolons", "a.csv", b"a;b\n" + b"1;2\n" * 21625),
    ("dup_names", "a.csv", b"id,id\n1,2\n"),
    ("case_names", "a.csv", b"ID,id\n1,2\n"),
    ("nul_name", "a.csv", b"a,b\x00c\n1,2\n"),
    ("latin1", "a.csv", "id,name\n1,José\n".encode("latin-1")),
    ("short_row", "a.csv", b"a,b\n1,2\n3\n"),
    ("after_quote", "a.csv", b'a,b\n1,"x"y\n'),
    ("open_quote", "a.csv", b'a,b\n1,"x\n2,3\n'),
    ("header_only", "a.csv", b"a,b\n"),
    ("reserved", "a.csv", b"id,_batch_id\n1,2\n"),
    ("dup_key", "a.ndjson", b'{"a": 1, "a": 2}\n'),
    ("case_keys", "a.ndjson", b'{"a": 1}\n{"A": 2}\n'),
    ("not_object", "a.json", b"[1, 2]"),
    ("cr_only", "a.csv", b"a,b\r1,2\r3,4\r"),
    ("pipe", "a.csv", b"a|b\n1|x,y\n"),
    ("one_col_blank", "a.csv", b"col\n1\n\n3\n"),
    ("blank_line", "a.csv", b"a,b\n1,2\n\n3,4\n"),
    ("bom_mid", "a.ndjson", _LINE + b"\xef\xbb\xbf" + _LINE),
    ("bom_second_chunk", "a.ndjson", _SECOND_CHUNK),
    # zero bytes: `empty` in every format (a zero-byte .parquet was `unparseable` to the loader)
    *((f"zero_{name.replace('.', '_')}", f"a.{name}", b"") for name in _ZERO_BYTE_NAMES),
]

#: Where the loader does not agree with the API yet (the lossless-bronze work in progress).
#: Strict: a case that starts agreeing fails until its entry goes.
DISAGREEMENTS: dict[str, str] = {}


def api_kind(status: int, detail: Any) -> str:
    """The quarantine kind an API refusal speaks of (docs/loading.md, Refusals)."""
    text = detail if isinstance(detail, str) else json.dumps(detail)
    if status == 413:
        return "too_large"
    for kind, marks in (
        ("encoding", ["not UTF-8", "not UTF-16"]),
        ("header_only", ["a header and no rows"]),
        ("empty", ["is empty", "holds no records", "no header line", "an empty JSON array"]),
        ("column_count", ["field, the header has", "fields, the header has"]),
        (
            "invalid_column",
            [
                "blank name",
                "repeats column",
                "differs only by case",
                "control character",
                "reserved for bronze",
                "columns: at most",
            ],
        ),
        ("type_conflict", ["does not fit"]),
    ):
        if any(m in text for m in marks):
            return kind
    return "unparseable"


def inputs() -> list[tuple[str, str, bytes]]:
    corpus = [(f"k{t[0][1:]}", t[1], t[2]) for t in test_corpus.inputs()]
    return [(f"a_{name}", file, data) for name, file, data in CASES] + corpus


IDS = [f"issue:{c[0]}" for c in CASES] + test_corpus.IDS


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> list[Outcome]:
    found = run(module_lakehouse, inputs())
    return [found[table] for table, _, _ in inputs()]


def _params() -> list[object]:
    out = []
    for i, case_id in enumerate(IDS):
        why = DISAGREEMENTS.get(case_id)
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        out.append(pytest.param(i, marks=marks, id=case_id))
    return out


@pytest.mark.parametrize("i", _params())
def test_api_and_loader_agree(outcomes: list[Outcome], i: int) -> None:
    outcome = outcomes[i]
    if outcome.api_took:
        assert outcome.loader_took, (
            f"the API took it (202), the loader refused it: {outcome.refused}"
        )
        return
    assert 400 <= outcome.api_status < 500, outcome.api_status
    assert outcome.refused is not None, (
        f"the API refused it ({outcome.api_status}: {outcome.api_detail}), the loader loaded it"
    )
    said = api_kind(outcome.api_status, outcome.api_detail)
    assert said == outcome.refused["kind"], (
        f"the API says {said} ({outcome.api_detail}); the loader says "
        f"{outcome.refused['kind']} ({outcome.refused['reason']})"
    )
