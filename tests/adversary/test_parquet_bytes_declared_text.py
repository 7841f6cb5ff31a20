"""Parquet bytes meeting a column the contract declares as a type bronze keeps as text (`json`,
`varchar`, `interval`, a list): the API and the loader judge each value alike.

Before (session 9): under ``quarantine`` a `json` column's bytes that are not UTF-8 got 202 from
the API (a type kept as text was not checked at all), then the loader refused the file
(``type_conflict``); and a `varchar` column of bytes was 422 whatever its bytes, where the loader
loads bytes that are UTF-8 as their text. Now bytes that are UTF-8 are taken as their text by
both, and a value without a text (bytes that are not UTF-8, at any depth) is a mismatch of its
own record: the API's 422 names that record, and the loader refuses the file naming the same one
(``quarantine``) or rescues the value (``rescue``, a file nobody waits on: docs/api.md, a
mismatch is 422 whatever ``on_mismatch``). CSV and NDJSON bytes that are not UTF-8 are refused
by both as the file's encoding, whatever the column.
"""

from __future__ import annotations

import io
import json
import zlib
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, run

from lakehouse.settings import Settings

BAD = b"\xff\x00"
DECLARED = ["json", "varchar", "interval", "integer[]"]
GOOD: dict[str, tuple[pa.DataType, list[Any], list[str]]] = {
    # each text one JSON value: a column declared json takes no other (test_declared_json_text)
    "binary": (pa.binary(), [b'{"a":1}', b'"hello"'], ['{"a":1}', '"hello"']),
    "list": (pa.list_(pa.binary()), [[b"x"], [b"y", b"z"]], ['["x"]', '["y","z"]']),
}
BAD_CASES: dict[str, tuple[pa.DataType, list[Any], str]] = {
    "binary": (pa.binary(), [b'{"a":1}', BAD], "bytes that are not UTF-8 (base64 /wA=)"),
    "large_binary": (
        pa.large_binary(),
        [b'"ok"', BAD],
        "bytes that are not UTF-8 (base64 /wA=)",
    ),
    "list": (
        pa.list_(pa.binary()),
        [[b"ok"], [b"x", BAD]],
        'a value holding bytes that are not UTF-8 ({"arrow_type":"list<element: binary>",'
        '"value":["x",{"base64":"/wA="}]})',
    ),
    "struct": (
        pa.struct([("b", pa.binary())]),
        [{"b": b"ok"}, {"b": BAD}],
        'a value holding bytes that are not UTF-8 ({"arrow_type":"struct<b: binary>",'
        '"value":{"b":{"base64":"/wA="}}})',
    ),
}


def _parquet(t: pa.DataType, values: list[Any]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"c": pa.array(values, t), "n": range(len(values))}), out)
    return out.getvalue()


def _table(*parts: str) -> str:
    return "_".join(parts).replace("[]", "_list").replace("-", "_")


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize("declared", DECLARED)
@pytest.mark.parametrize("case", list(GOOD))
def test_bytes_that_are_utf8_are_taken_as_their_text_by_both(
    module_lakehouse: Settings, case: str, declared: str, policy: str
) -> None:
    t, values, texts = GOOD[case]
    table = _table("good", case, declared, policy)
    declare(module_lakehouse, table, {"c": declared}, policy)
    outcome = run(module_lakehouse, [(table, "a.parquet", _parquet(t, values))])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = sorted(outcome.loaded_rows or [], key=lambda r: r["n"])
    assert [r["c"] for r in rows] == texts
    assert all(r.get("_rescued_data") is None for r in rows), rows


@pytest.mark.parametrize("declared", DECLARED)
@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bytes_not_utf8_refused_by_both_naming_one_record_under_quarantine(
    module_lakehouse: Settings, case: str, declared: str
) -> None:
    t, values, why = BAD_CASES[case]
    table = _table("bad", case, declared, "q")
    declare(module_lakehouse, table, {"c": declared}, "quarantine")
    outcome = run(module_lakehouse, [(table, "a.parquet", _parquet(t, values))])[table]
    assert outcome.api_status == 422, outcome.api_detail
    (error,) = outcome.api_detail
    assert (error["row"], error["field"], error["type"]) == (1, "c", "type_error"), error
    assert error["msg"].startswith(why + " does not fit "), error
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "type_conflict", refused
    # 1-based: the same record, in the API's sentence (lakehouse.misfit; session 18), naming
    # the type declared also for a type kept as text (until session 19 the loader said
    # "'bytes that are not UTF-8 (...)' does not fit VARCHAR" for interval and integer[])
    assert refused["reason"] == f"record 2, column 'c': {error['msg']}", refused
    assert declared.upper() in error["msg"], error


@pytest.mark.parametrize("declared", DECLARED)
@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bytes_not_utf8_under_rescue_api_422_loader_rescues_them_whole(
    module_lakehouse: Settings, case: str, declared: str
) -> None:
    t, values, why = BAD_CASES[case]
    table = _table("bad", case, declared, "r")
    declare(module_lakehouse, table, {"c": declared}, "rescue")
    outcome = run(module_lakehouse, [(table, "a.parquet", _parquet(t, values))])[table]
    assert outcome.api_status == 422, outcome.api_detail  # a mismatch: the client is told
    assert [e["row"] for e in outcome.api_detail] == [1], outcome.api_detail
    assert outcome.refused is None, outcome.refused  # dropped in the landing zone: loaded
    rows = sorted(outcome.loaded_rows or [], key=lambda r: r["n"])
    assert rows[0]["_rescued_data"] is None and rows[0]["c"] is not None, rows[0]
    assert rows[1]["c"] is None, rows[1]
    rescued = json.loads(rows[1]["_rescued_data"])["c"]
    marked = why.split("(", 1)[1][:-1]
    if marked.startswith("base64 "):
        assert rescued == {"base64": marked.removeprefix("base64 ")}
    else:
        assert rescued == json.loads(marked)


@pytest.mark.parametrize("declared", ["json", "varchar"])
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.csv", b"c,n\n\xff\x00,1\n"),
        ("a.ndjson", b'{"c": "\xff\x00", "n": 1}\n'),
        ("a.ndjson", b'{"c": {"x": "\xff"}, "n": 1}\n'),
    ],
)
def test_text_files_bytes_not_utf8_are_the_files_encoding_for_both(
    module_lakehouse: Settings, declared: str, name: str, data: bytes
) -> None:
    table = _table("text", declared, str(zlib.crc32(data)), name.split(".")[1])
    declare(module_lakehouse, table, {"c": declared}, "quarantine")
    outcome = run(module_lakehouse, [(table, name, data)])[table]
    assert outcome.api_status == 400, outcome.api_detail
    assert "not UTF-8 at byte" in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "encoding", refused
    assert refused["reason"].split(" (")[0] in str(outcome.api_detail), refused
