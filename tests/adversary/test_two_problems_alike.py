"""Files holding two problems are refused for the same one, in one set of words, by the API and
the loader (review revc, session 18; issue #8): one order of checks gives one reason for one
file (docs/loading.md, Refusals).

Each CSV and TSV file is a header, good rows and two of the row problems below on lines 3 and 5,
in either order (every ordered pair), or a header problem with one row problem, or a row problem
with a quote left open on the last line; each Parquet file (pyarrow) holds a column-name problem
and a value problem in either column order, or two value problems. Sent through the real API
(``/files``) and the real loader in one pass (``adversary_support.run``): both take the file
(the API's 202, bronze holding every value exactly by the rule, ``adversary_support.expected``),
or both refuse it, the loader's reason being the API's words (the 422 list's record and column
placed before its ``msg``, as ``test_refusal_words_sweep`` and ``test_parquet_corpus`` place
them).

Some "problems" are no problem (a quoted line feed, a form feed, U+2028 in a value, a CR ending
a record): the pair then holds one problem or none. JSON and NDJSON files of two problems are
``test_json_two_problems_alike``'s (session 19). In Parquet, a column-name problem beside a
struct of twin fields is not yet named alike (finding revc 03 of session 18): left out here
until fixed.
"""

from __future__ import annotations

import io
import itertools
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import Outcome, Table, expected, mismatches, run
from test_refusal_words_sweep import api_words

from lakehouse.settings import Settings

_GOOD = b"1,x"

#: a CSV row problem (or none), as written with commas; on lines 3 and 5 of a file
ROWS: dict[str, bytes] = {
    "more": b"1,2,3",
    "fewer": b"1",
    "after_quote": b'"a"b,c',
    "not_utf8": b"a\xff,b",
    "nul": b"a\x00,b",
    "bare_quote": b'a"b,c',
    "bom_mid": b"\xef\xbb\xbfa,b",
    "quoted_lf": b'"a\nb",c',
    "cr_alone": b"a,b\rc,d",
    "empty_quoted": b'"",""',
    "space_quote": b' "a",b',
    "form_feed": b"a\x0c,b",
    "line_separator": "a\u2028,b".encode(),
}

#: a CSV header problem, with one row problem after it
HEADERS: dict[str, bytes] = {
    "blank": b"a,",
    "repeat": b"a,a",
    "twin": b"a,A",
    "reserved": b"a,_batch_id",
    "control": b"a,b\x01",
    "quote_open": b'a,"b',
    "not_utf8": b"a,\xff",
}


def _csv_cases() -> dict[str, tuple[str, bytes]]:
    cases: dict[str, tuple[str, bytes]] = {}
    for (p1, b1), (p2, b2) in itertools.permutations(ROWS.items(), 2):
        body = b"\n".join([b"a,b", _GOOD, b1, _GOOD, b2, _GOOD]) + b"\n"
        cases[f"csv-{p1}-{p2}"] = ("a.csv", body)
        cases[f"tsv-{p1}-{p2}"] = ("a.tsv", body.replace(b",", b"\t"))
    for (h, hb), (p, pb) in itertools.product(HEADERS.items(), ROWS.items()):
        cases[f"csv-header_{h}-{p}"] = ("a.csv", b"\n".join([hb, _GOOD, pb, _GOOD]) + b"\n")
    for p, pb in ROWS.items():
        lines = [b"a,b", _GOOD, pb, _GOOD, b'"open,x']
        cases[f"csv-{p}-quote_left_open"] = ("a.csv", b"\n".join(lines) + b"\n")
    return cases


def _pq(names: list[str], arrays: list[pa.Array], **options: Any) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=names), out, **options)
    return out.getvalue()


def _twin_fields(names: list[str]) -> pa.Array:
    return pa.StructArray.from_arrays([pa.array([1, 2, 3]), pa.array([4, 5, 6])], names=names)


_FAR_DAYS = pa.array([0, 1, 3_000_000], pa.int32()).cast(pa.date32())
_FAR_US = [0, 1, 300_000_000_000_000_000]

#: a Parquet column whose values bronze does not hold: (array, write options)
VALUES: dict[str, tuple[pa.Array, dict[str, Any]]] = {
    "nanoseconds": (pa.array([0, 1, 41], pa.timestamp("ns")), {}),
    "nanoseconds_in_list": (pa.array([[0], [1], [41]], pa.list_(pa.timestamp("ns"))), {}),
    "date_far": (_FAR_DAYS, {}),
    "date_far_in_struct": (pa.StructArray.from_arrays([_FAR_DAYS], names=["d"]), {}),
    "timestamp_far": (pa.array(_FAR_US, pa.timestamp("us")), {}),
    "int96_far": (
        pa.array(_FAR_US, pa.timestamp("us")),
        {"use_deprecated_int96_timestamps": True},
    ),
    "decimal256": (pa.array([1, 2, 3], pa.decimal256(40, 0)), {}),
    "struct_blank_field": (_twin_fields(["x", ""]), {}),
}

#: a column name bronze cannot keep (beside a column 'a')
NAMES = {
    "blank": "",
    "space": " ",
    "reserved": "_batch_id",
    "control": "b\x01",
    "line_feed": "b\nc",
    "twin": "A",
}


def _parquet_cases() -> dict[str, tuple[str, bytes]]:
    good = pa.array([1, 2, 3])
    cases: dict[str, tuple[str, bytes]] = {}
    for (n, name), (v, (values, options)) in itertools.product(NAMES.items(), VALUES.items()):
        cases[f"parquet-name_{n}-{v}"] = (
            "a.parquet",
            _pq(["a", name, "v"], [good, good, values], **options),
        )
        cases[f"parquet-{v}-name_{n}"] = (
            "a.parquet",
            _pq(["v", "a", name], [values, good, good], **options),
        )
    for (v1, (a1, o1)), (v2, (a2, o2)) in itertools.permutations(VALUES.items(), 2):
        cases[f"parquet-{v1}-{v2}"] = ("a.parquet", _pq(["p", "q"], [a1, a2], **o1, **o2))
    # two struct problems, each alone: both name the struct (not left out: finding 03 is a
    # struct's twin fields beside a name problem)
    for fields in (["x", "x"], ["x", "X"]):
        cases[f"parquet-struct_{''.join(fields)}"] = (
            "a.parquet",
            _pq(["a", "v"], [good, _twin_fields(fields)]),
        )
    return cases


CASES = {**_csv_cases(), **_parquet_cases()}


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> dict[str, Outcome]:
    tables = {key: f"tp{i}" for i, key in enumerate(CASES)}
    by_table = run(module_lakehouse, [(tables[k], *CASES[k]) for k in CASES])
    return {key: by_table[table] for key, table in tables.items()}


def _parquet_words(outcome: Outcome) -> str:
    """The API's refusal of a Parquet file as the loader says it: a value's record and column
    before the ``msg`` (the column named even when the value is the column's own)."""
    detail = outcome.api_detail
    if not isinstance(detail, list):
        return str(detail)
    error = detail[0]
    if error.get("row") is None:
        return str(error["msg"])
    return f"record {error['row'] + 1}, column {error['field']!r}: {error['msg']}"


@pytest.mark.parametrize("case", list(CASES))
def test_both_take_it_or_refuse_it_for_one_reason(outcomes: dict[str, Outcome], case: str) -> None:
    name, data = CASES[case]
    outcome = outcomes[case]
    if outcome.api_status == 202:
        assert outcome.refused is None, outcome.refused
        assert outcome.loaded_rows is not None, "nothing in bronze"
        if name.endswith(".parquet"):
            assert len(outcome.loaded_rows) == 3
            return
        want = expected(name, data)
        assert isinstance(want, Table), want
        assert mismatches(outcome.loaded_rows, want, js=False) == []
        return
    assert outcome.api_status in (400, 413, 422), (outcome.api_status, outcome.api_detail)
    assert outcome.refused is not None, ("the loader loaded it", outcome.api_detail)
    said = _parquet_words(outcome) if name.endswith(".parquet") else api_words(outcome, data)
    assert outcome.refused["reason"] == said, (outcome.api_detail, outcome.refused)
