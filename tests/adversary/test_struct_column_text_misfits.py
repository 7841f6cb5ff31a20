"""A CSV/TSV field's text (or a Parquet string's) meeting a struct column the table has (an
earlier JSON file's objects) is a text, not the file's JSON: an object in it that repeats a key
(at any depth) or a string in it holding a lone surrogate escape (``"\\ud800"``, which no text
can hold) does not fit the struct, as any other misfit text: rescued (the default; the row's
other values load), or ``type_conflict`` under ``quarantine``. *Before:* (until session 13) a
repeated key quarantined the whole file as ``unparseable`` after the API's 202 (review findings
revj 01, revc 03), and a lone surrogate made the loader's pass raise, the file stuck in
``raw/`` and the tables after it not loaded (revc 04). A JSON file's own object repeating a
key still refuses the file (docs/loading.md)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, lakehouse, rescued, run

FIRST = b'{"id":0,"k":{"a":1,"t":"x"}}\n'


def _parquet(texts: list[str]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2], "k": texts}), out)
    return out.getvalue()


_REPEAT = '{"a":1,"a":2}'
_DEEP_REPEAT = '{"a":1,"t":"x","z":{"b":1,"b":2}}'
_SURROGATE = '{"a":1,"t":"\\ud800"}'
_REVERSED = '{"a":1,"t":"\\udc00\\ud800"}'


def _csv(text: str) -> bytes:
    quoted = text.replace('"', '""')
    return f'id,k\n1,"{quoted}"\n2,"{{""a"":5}}"\n'.encode()


CASES = {
    "csv-repeat": ("2.csv", _csv(_REPEAT), _REPEAT),
    "csv-deep-repeat": ("2.csv", _csv(_DEEP_REPEAT), _DEEP_REPEAT),
    "csv-surrogate": ("2.csv", _csv(_SURROGATE), _SURROGATE),
    "csv-reversed-pair": ("2.csv", _csv(_REVERSED), _REVERSED),
    "tsv-repeat": ("2.tsv", f'id\tk\n1\t{_REPEAT}\n2\t{{"a":5}}\n'.encode(), _REPEAT),
    "csv-gz-repeat": ("2.csv.gz", gzip.compress(_csv(_REPEAT)), _REPEAT),
    "parquet-repeat": ("2.parquet", _parquet([_REPEAT, '{"a":5}']), _REPEAT),
    "parquet-surrogate": ("2.parquet", _parquet([_SURROGATE, '{"a":5}']), _SURROGATE),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_text_no_struct_can_take_is_rescued(tmp_path: Path, case: str) -> None:
    settings = lakehouse(tmp_path)
    first = run(settings, [("t", "1.ndjson", FIRST)])["t"]
    assert first.loaded_rows is not None, first.refused
    name, data, text = CASES[case]
    out = run(settings, [("t", name, data), ("zz_other", "o.csv", b"x\n1\n")])
    second = out["t"]
    assert second.api_status == 202, second.api_detail
    assert second.refused is None, second.refused
    rows = {r["id"]: r for r in second.loaded_rows or []}
    assert sorted(rows) == [0, 1, 2], rows
    assert rows[1]["k"] is None and rescued(rows[1], "k") == text, rows[1]
    assert rows[2]["k"] == {"a": 5, "t": None} and rescued(rows[2], "k") is None, rows[2]
    other = out["zz_other"].loaded_rows  # the pass went on
    assert other is not None and [r["x"] for r in other] == [1], out["zz_other"]


@pytest.mark.parametrize("case", ["csv-repeat", "csv-surrogate", "parquet-repeat"])
def test_under_quarantine_it_is_a_type_conflict(tmp_path: Path, case: str) -> None:
    settings = lakehouse(tmp_path, on_mismatch="quarantine")
    run(settings, [("t", "1.ndjson", FIRST)])
    name, data, _ = CASES[case]
    second = run(settings, [("t", name, data)], rows=False)["t"]
    assert second.refused is not None and second.refused["kind"] == "type_conflict", second.refused
    assert second.refused.get("column") == "k", second.refused


@pytest.mark.parametrize(
    ("text", "words"),
    [(_REPEAT, "repeats the key 'a'"), (_SURROGATE, "lone UTF-16 surrogate")],
    ids=["repeat", "surrogate"],
)
def test_the_apis_check_says_why(tmp_path: Path, text: str, words: str) -> None:
    """A contract declaring the column after the table took it as a struct: the API judges the
    text by the struct, in true words (*before:* 'is not a JSON object' for a repeated key, and
    202 for a lone surrogate)."""
    settings = lakehouse(tmp_path)
    run(settings, [("t", "1.ndjson", FIRST)])
    declare(settings, "t", {"id": "bigint", "k": "varchar"}, "quarantine")
    second = run(settings, [("t", "2.csv", _csv(text))], rows=False)["t"]
    assert second.api_status == 422, second.api_detail
    assert words in json.dumps(second.api_detail), second.api_detail
    assert second.refused is not None and second.refused["kind"] == "type_conflict", second.refused


def test_a_json_files_own_object_repeating_a_key_still_refuses_it(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    run(settings, [("t", "1.ndjson", FIRST)])
    second = run(settings, [("t", "2.ndjson", b'{"id":1,"k":{"a":1,"a":2}}\n')], rows=False)["t"]
    assert second.api_status == 422 and "an object repeats the key 'a'" in str(second.api_detail)
    assert second.refused is not None and second.refused["kind"] == "unparseable", second.refused
