"""A column declared ``json`` holds JSON text in every row, whose value is the value sent
(docs/loading.md, Declared types win): from a JSON or NDJSON file (and ``/records``) each
value's JSON text (a string with its quotes, a number its literal as sent, an object or array
its compact JSON text); from a CSV field or a Parquet string column the text itself, which must
be one JSON value (RFC 8259), else a mismatch (rescued, or refused by ``on_mismatch``; the API's
422 names column, line or record, and value); a Parquet nested column its JSON text. JSON
``null`` (and an absent key, an unquoted empty CSV field) is null; the JSON text ``null`` (a
CSV field ``null``, the string ``"null"`` as its JSON text ``"null"``) is text.

Before (review finding s12 auditj 06): a JSON string was stored as its characters, ``"x"`` as
``x`` (no JSON), ``"5"`` and ``5`` as one ``5``, ``"null"`` as ``null``; a CSV field ``x`` was
stored as ``x`` too (the column then failed every JSON reader)."""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, run
from fastapi.testclient import TestClient

from ingest import create_app
from ingest.typecheck import fits_array
from lakehouse import dialect
from lakehouse.settings import Settings
from loader import fitting

#: JSON values sent (as ``json.dumps`` writes them), each kept as JSON text of the same value
VALUES: list[Any] = [
    "5",
    5,
    "x",
    {"a": 1},
    '{"a":1}',
    True,
    "true",
    "null",
    [1, "a"],
    'a"b',
    "é\t\\",
    "",
    {"k": {"n": [None, False, "s"]}},
]
#: Numbers whose literal is kept exactly as sent (the exact reading)
LITERALS = [
    "1.50",
    "1e5",
    "-0",
    "99999999999999999999",
    "1E-7",
    "0.1000000000000000055511151231257827",
]


def _ndjson(values: list[Any], literals: list[str] = ()) -> bytes:  # type: ignore[assignment]
    lines = [json.dumps({"i": i, "v": v}) for i, v in enumerate(values)]
    lines += [f'{{"i": {len(values) + j}, "v": {lit}}}' for j, lit in enumerate(literals)]
    lines.append(f'{{"i": {len(values) + len(literals)}, "v": null}}')
    lines.append(f'{{"i": {len(values) + len(literals) + 1}}}')
    return ("\n".join(lines) + "\n").encode()


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _kept(stored: dict[int, Any], values: list[Any], literals: list[str]) -> dict[int, Any]:
    """What is wrong: each row's stored text must be JSON whose value (and kind) is the value
    sent, a number's literal exactly as sent; the last two rows (null, absent) null."""
    wrong: dict[int, Any] = {}
    for i, v in enumerate(values):
        try:
            back = json.loads(stored[i])
        except (TypeError, ValueError):
            back = ("not JSON", stored[i])
        if back != v or type(back) is not type(v):
            wrong[i] = (v, stored[i])
    for j, lit in enumerate(literals):
        if stored[len(values) + j] != lit:
            wrong[len(values) + j] = (lit, stored[len(values) + j])
    n = len(values) + len(literals)
    if stored[n] is not None or stored[n + 1] is not None:
        wrong[n] = (None, stored[n], stored[n + 1])
    return wrong


@pytest.mark.parametrize("literals", [[], LITERALS], ids=["fast_reading", "exact_reading"])
@pytest.mark.parametrize("existing", [False, True], ids=["new_column", "over_text_column"])
def test_a_json_files_values_are_kept_as_their_json_text(
    module_lakehouse: Settings, literals: list[str], existing: bool
) -> None:
    table = f"jt_ndjson_{len(literals)}_{int(existing)}"
    if existing:  # the table's column is text already, from a file before the contract
        first = run(module_lakehouse, [(table, "a.csv", b"i,v\n-1,hello\n")], rows=False)[table]
        assert first.api_status == 202 and first.refused is None
    declare(module_lakehouse, table, {"v": "json"}, "quarantine")
    outcome = run(module_lakehouse, [(table, "b.ndjson", _ndjson(VALUES, literals))])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    stored = {r["i"]: r["v"] for r in outcome.loaded_rows or [] if r["i"] >= 0}
    assert _kept(stored, VALUES, literals) == {}
    assert all(r.get("_rescued_data") is None for r in outcome.loaded_rows or [])


def test_records_are_kept_as_their_json_text(module_lakehouse: Settings) -> None:
    """``/records``, a JSON array: the same JSON text, a string with its quotes."""
    from loader import Loader

    table = "jt_records"
    declare(module_lakehouse, table, {"v": "json"}, "quarantine")
    body = (
        "["
        + ",".join(
            [json.dumps({"i": i, "v": v}) for i, v in enumerate(VALUES)]
            + [f'{{"i": {len(VALUES) + j}, "v": {lit}}}' for j, lit in enumerate(LITERALS)]
            + [f'{{"i": {len(VALUES) + len(LITERALS)}, "v": null}}']
            + [f'{{"i": {len(VALUES) + len(LITERALS) + 1}}}']
        )
        + "]"
    ).encode()
    with TestClient(create_app(module_lakehouse)) as client:
        r = client.post(
            f"/v1/tables/{table}/records",
            content=body,
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 202, r.text
    Loader(module_lakehouse).load_pending()
    from adversary_support import _bronze

    rows = _bronze(module_lakehouse, table) or []
    stored = {r["i"]: r["v"] for r in rows}
    assert _kept(stored, VALUES, LITERALS) == {}


#: CSV fields (as the file writes them) that are one JSON value each, kept as that text
GOOD_TEXTS = ['"""x"""', "5", "1.50", '"{""a"": [1, 2]}"', "null", "true", '" 5 "', "[]", '""""""']
GOOD_STORED = ['"x"', "5", "1.50", '{"a": [1, 2]}', "null", "true", " 5 ", "[]", '""']
#: CSV field texts that are no JSON value: a mismatch
BAD_TEXTS = ["x", "NaN", "01", "[1,]", '"a', "{'a': 1}", "1 2", "Infinity", "\\u0041", "tru"]


def test_csv_fields_that_are_json_text_load_as_written(module_lakehouse: Settings) -> None:
    table = "jt_csv_good"
    declare(module_lakehouse, table, {"v": "json"}, "quarantine")
    body = (
        "i,v\n" + "".join(f"{i},{t}\n" for i, t in enumerate(GOOD_TEXTS)) + f"{len(GOOD_TEXTS)},\n"
    )
    outcome = run(module_lakehouse, [(table, "a.csv", body.encode())])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    stored = {r["i"]: r["v"] for r in outcome.loaded_rows or []}
    assert [stored[i] for i in range(len(GOOD_TEXTS))] == GOOD_STORED
    assert stored[len(GOOD_TEXTS)] is None  # an unquoted empty field: null, not the text null


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize("bad", BAD_TEXTS)
def test_a_csv_field_that_is_no_json_value_is_a_mismatch_alike(
    module_lakehouse: Settings, bad: str, policy: str
) -> None:
    table = f"jt_csv_bad_{BAD_TEXTS.index(bad)}_{policy}"
    declare(module_lakehouse, table, {"v": "json"}, policy)
    field = '"' + bad.replace('"', '""') + '"'
    outcome = run(module_lakehouse, [(table, "a.csv", f"i,v\n0,[1]\n1,{field}\n".encode())])[table]
    assert outcome.api_status == 422, outcome.api_detail
    [error] = outcome.api_detail
    assert error["field"] == "v" and error["row"] == 1, error
    assert repr(bad) in error["msg"] and "JSON" in error["msg"], error
    if policy == "quarantine":
        assert outcome.refused is not None, outcome.loaded_rows
        assert outcome.refused["kind"] == "type_conflict", outcome.refused
        assert outcome.refused["column"] == "v" and outcome.refused["line"] == 3
        assert repr(bad) in outcome.refused["reason"], outcome.refused["reason"]
        return
    assert outcome.refused is None, outcome.refused
    rows = sorted(outcome.loaded_rows or [], key=lambda r: r["i"])
    assert [r["v"] for r in rows] == ["[1]", None]
    assert json.loads(rows[1]["_rescued_data"]) == {"v": bad}


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
def test_parquet_strings_are_json_text_and_nested_values_their_json(
    module_lakehouse: Settings, policy: str
) -> None:
    table = f"jt_parquet_{policy}"
    declare(module_lakehouse, table, {"v": "json", "s": "json"}, policy)
    data = _parquet(
        pa.table(
            {
                "v": ['"x"', "5", "x", None, "null"],
                "s": pa.array(
                    [{"a": 1, "b": "é"}, None, {"a": 2, "b": None}, {"a": 3, "b": "x"}, None],
                    pa.struct([("a", pa.int64()), ("b", pa.string())]),
                ),
            }
        )
    )
    outcome = run(module_lakehouse, [(table, "a.parquet", data)])[table]
    assert outcome.api_status == 422, outcome.api_detail
    [error] = outcome.api_detail
    assert error["field"] == "v" and error["row"] == 2 and "'x'" in error["msg"], error
    if policy == "quarantine":
        assert outcome.refused is not None and outcome.refused["column"] == "v", outcome.refused
        assert "'x'" in outcome.refused["reason"], outcome.refused
        return
    assert outcome.refused is None, outcome.refused
    rows = outcome.loaded_rows or []
    assert [r["v"] for r in rows] == ['"x"', "5", None, None, "null"]
    assert [json.loads(r["_rescued_data"]) if r["_rescued_data"] else None for r in rows] == [
        None,
        None,
        {"v": "x"},
        None,
        None,
    ]
    assert [None if r["s"] is None else json.loads(r["s"]) for r in rows] == [
        {"a": 1, "b": "é"},
        None,
        {"a": 2, "b": None},
        {"a": 3, "b": "x"},
        None,
    ]


TEXTS = [
    '"x"',
    "5",
    "1.50",
    '{"a": [1, 2]}',
    "null",
    "true",
    " 5 ",
    "[]",
    '""',
    "\t[1]\r\n",
    "1e400",
    '"\\ud83d\\ude00"',
    "[" * 600 + "]" * 600,
    *BAD_TEXTS,
    '"\\ud800"',
    '"\x01"',
    "\x0c5",
    "[" * 513 + "]" * 513,
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_api_and_the_loader_judge_a_text_alike(text: str) -> None:
    """One rule (``dialect.fits``): the API's vectorized check and the loader's agree on each
    text; a JSON text nested past 512 levels (the JSON records' limit), a lone surrogate's
    escape (DuckDB refuses it), a control character or a form feed are no JSON value taken."""
    want = dialect.fits(text, "json")
    deep = text.startswith("[" * 513)
    bad = text in BAD_TEXTS or deep or text in ('"\\ud800"', '"\x01"', "\x0c5", "")
    assert want is (not bad), text
    assert fits_array(pa.array([text]), "json").to_pylist() == [want]
    assert fitting.fits(pa.array([text]), "JSON").to_pylist() == [want]


def test_a_lone_surrogate_behind_a_repeated_key_is_no_json_value() -> None:
    """``json.loads`` keeps a repeated key's last value only: the first one's lone surrogate
    (which DuckDB's JSON refuses) is looked at too (every pair is kept)."""
    from lakehouse import dialect

    assert not dialect.json_value('{"a":"\\ud800","a":"x"}')
    assert not dialect.json_value('[{"a":"\\udc00"}]')
    assert dialect.json_value('{"a":"\\ud83d\\ude00","a":"x"}')  # a pair: one character
    assert dialect.json_value('{"a":"\\\\ud800"}')  # an escaped backslash: no surrogate
