"""Real-world malformed files (tests/data, see its README) through the real API and loader.

Each file of ``tests/data/MANIFEST.tsv`` has a verdict decided by the documented rule
(``docs/loading.md``): ``load`` (bronze holds every row, each value exactly, and the API answers
202) or ``refuse`` (the loader quarantines it with the expected kind, and the API answers a 4xx
that says why). The blns strings are made into a CSV and an NDJSON file that must load exactly.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from adversary_support import Outcome, Refusal, Table, expected, manifest, mismatches, run

from lakehouse import Settings

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = manifest(DATA)
BLNS: list[str] = json.loads((DATA / "blns" / "blns.json").read_text())

#: Files the loader does not read by the rule yet (the lossless-bronze work in progress):
#: the verdict is right, the loader is wrong. Remove an entry when the loader gets it right
#: (strict: a case that starts passing fails until its entry goes).
LOADER_DEFECTS: dict[str, str] = {
    "arrow-testing/fuzz-4523557272223744.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='invalid_column', w"
        "hy=\"column 1 has a blank name (' ')\")"
    ),
    "arrow-testing/fuzz-5085419734892544.csv": (
        "refused as 'column_count' (line 2 has 57 columns, the header has 65); "
        "the rule says 'encoding'"
    ),
    "arrow-testing/fuzz-6261070185693184.csv": (
        "refused as 'column_count' (line 5 has 3 columns, the header has 2); th"
        "e rule says 'encoding'"
    ),
    "csvw/test009.csv": (
        "changed: row 0: {'GID': '1', 'On Street': 'ADDISON AV', 'Species': 'Ce"
        "ltis australis', 'Trim Cycle': 'Large Tree Routine Prune', 'Inventory "
        "Date': '10/18/2010'} not in bronze (e.g. {'GID': 1, 'On Stre"
    ),
    "csvw/test155.csv": (
        "changed: row 0: {'integer': '0', 'decimal': '0.1', 'double': '0.0e0', "
        "'float': '0.0e0', 'number': '0.0e0', 'long': '-10', 'int': '-10', 'sho"
        "rt': '-10', 'byte': '-10', 'nonNegativeInteger': '1', 'posit"
    ),
    "csvw/test158.csv": (
        "changed: row 0: {'integer': '0', 'decimal': '0.1', 'double': '0.0E0', "
        "'decimal1': '10.000,1'} not in bronze (e.g. {'integer': 0, 'decimal': "
        "0.1, 'double': 0.0, 'decimal1': '10.000,1'})"
    ),
    "csvw/test161.csv": (
        "changed: row 0: {'integer': '10.1', 'decimal': '10.10e1', 'double': 'f"
        "oo'} not in bronze (e.g. {'integer': 10.1, 'decimal': 101.0, 'double':"
        " 'foo'})"
    ),
    "csvw/test164.csv": (
        "changed: row 0: {'decimal': '123.456E7'} not in bronze (e.g. {'decimal': 1234560000.0})"
    ),
    "csvw/test187.csv": (
        "loaded (3 rows); the rule refuses it: Refusal(kind='invalid_column', w"
        "hy=\"column 'datetime' differs only by case from column 'dateTime' (col"
        'umn names are case-insensitive in Delta and DuckDB)")'
    ),
    "duckdb/csv/14512.csv": (
        "loaded (1 rows); the rule refuses it: Refusal(kind='unparseable', why="
        "'\\',\\' expected after \\'\"\\'')"
    ),
    "duckdb/csv/auto__backslash_escape.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='unparseable', why="
        "'\\'|\\' expected after \\'\"\\'')"
    ),
    "duckdb/csv/auto__duplicate_header_col.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='invalid_column', w"
        "hy=\"column 'a' repeats column 'a' (column names are case-insensitive i"
        'n Delta and DuckDB)")'
    ),
    "duckdb/csv/auto__duplicate_header_collision.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='invalid_column', w"
        "hy=\"column 'a' repeats column 'a' (column names are case-insensitive i"
        'n Delta and DuckDB)")'
    ),
    "duckdb/csv/auto__empty_header.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='invalid_column', w"
        "hy=\"column 1 has a blank name ('')\")"
    ),
    "duckdb/csv/auto__leading_space_numerics.csv": (
        "changed: row 1: {'123': ' 567', 'TEST3': 'TEST3', 'text1': 'text3'} no"
        "t in bronze (e.g. {'123': 567, 'TEST3': 'TEST3', 'text1': 'text3'})"
    ),
    "duckdb/csv/auto__missing_header_col.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='invalid_column', w"
        "hy=\"column 2 has a blank name ('')\")"
    ),
    "duckdb/csv/auto__multi_column_string_mix.csv": (
        "quarantined as 'encoding' (the file is not UTF-8 encoded (nor UTF-16 w"
        "ith a BOM)); a valid file"
    ),
    "duckdb/csv/auto__normalize_names_5.csv": (
        "changed: columns not kept by name: ['#  a ', 'b ', ' c'] (bronze has ["
        "'#  a', '_batch_id', '_ingested_at', '_source_file', 'b', 'c'])"
    ),
    "duckdb/csv/auto__normalize_names_6.csv": (
        "changed: columns not kept by name: ['ᴴᵉᴸᴸᵒ   ᵂᵒᴿᴸᵈ ', ' Qty (m²) '] (b"
        "ronze has ['#  Aₐₓ #', 'Qty (m²)', '_batch_id', '_ingested_at', '_sour"
        "ce_file', 'ᴴᵉᴸᴸᵒ   ᵂᵒᴿᴸᵈ'])"
    ),
    "duckdb/csv/auto__single_quote_backslash.csv": (
        "changed: row 0: {'123': '345', 'TEST8': 'TEST8', 'text1': \"'text\\\\'2\\\\"
        "'text'\"} not in bronze (e.g. {'123': 345, 'TEST8': 'TEST8', 'text1': \""
        "text'2'text\"})"
    ),
    "duckdb/csv/auto__skip_row.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='column_count', why"
        "='record 2 has 3 fields')"
    ),
    "duckdb/csv/auto__test_header_mix.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='invalid_column', w"
        "hy=\"column 'a' repeats column 'a' (column names are case-insensitive i"
        'n Delta and DuckDB)")'
    ),
    "duckdb/csv/auto__time_date_timestamp_trailing.csv": (
        "changed: row 0: {'a': '123', 'b': 'TEST2', 't': '  12:12:12  ', 'tf': "
        "'12:12:12', 'd': '  2000-01-01   ', 'df': '2000-01-01'} not in bronze "
        "(e.g. {'a': 123, 'b': 'TEST2', 't': '12:12:12.000000', 'tf':"
    ),
    "duckdb/csv/auto__unnamed_columns.csv": (
        "loaded (1 rows); the rule refuses it: Refusal(kind='invalid_column', w"
        "hy=\"column 4 has a blank name ('')\")"
    ),
    "duckdb/csv/bad_escape.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='unparseable', why="
        "'\\',\\' expected after \\'\"\\'')"
    ),
    "duckdb/csv/big_escape.csv": (
        "loaded (9 rows); the rule refuses it: Refusal(kind='invalid_column', w"
        "hy='column name \\'a \"\\\\n;a \"\\\\n10\\' holds the control character \\'\\\\n\\"
        "'')"
    ),
    "duckdb/csv/big_number.csv": (
        "changed: row 0: {'bignumber': '82544000000000707.52'} not in bronze (e"
        ".g. {'bignumber': 8.25440000000007e+16})"
    ),
    "duckdb/csv/bool.csv": (
        "changed: row 0: {'abs_file_name': 'True'} not in bronze (e.g. {'abs_file_name': True})"
    ),
    "duckdb/csv/bug_12596.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='column_count', why"
        "='record 2 has 3 fields')"
    ),
    "duckdb/csv/comments__mid_line.csv": (
        "changed: columns not kept by name: ['# Add one full line comment :-)']"
        " (bronze has ['1', '3', '_batch_id', '_ingested_at', '_source_file'])"
    ),
    "duckdb/csv/comments__simple.csv": (
        "changed: columns not kept by name: ['# A few comments'] (bronze has ['"
        "_batch_id', '_ingested_at', '_source_file', 'a', 'b'])"
    ),
    "duckdb/csv/csv_quoted_newline_odd.csv": (
        "loaded (2 rows); the rule refuses it: Refusal(kind='column_count', why"
        "='record 3 has 2 fields')"
    ),
    "duckdb/csv/dates.csv": (
        "changed: row 0: {'number': '919 304 6161', 'date': '10/08/2008'} not i"
        "n bronze (e.g. {'number': '919 304 6161', 'date': datetime.date(2008, "
        "8, 10)})"
    ),
    "duckdb/csv/decimal.csv": (
        "changed: row 0: {'col_a': '3.5215257120407011'} not in bronze (e.g. {'"
        "col_a': 3.521525712040701})"
    ),
    "duckdb/csv/dirty_line.csv": (
        "loaded (3 rows); the rule refuses it: Refusal(kind='column_count', why"
        "='record 2 has 3 fields')"
    ),
    "duckdb/csv/empty_first_line.csv": (
        "loaded (3 rows); the rule refuses it: Refusal(kind='empty', why='line "
        "1, the header, is blank')"
    ),
    "duckdb/csv/empty_space_start_value.csv": (
        "loaded (4 rows); the rule refuses it: Refusal(kind='column_count', why"
        "='record 4 has 4 fields')"
    ),
    "duckdb/json/issue_22827.json": (
        "changed: row 0: {'a': b'{\"k1\":[1]}', 'b': b'{\"u\":1}'} not in bronze (e"
        ".g. {'a': {'k1': [1]}, 'b': {'u': 1}})"
    ),
    "duckdb/json/sample_utf8_bom.json": (
        "changed: row 0: {'users': b'[\\n        {\\n            \"id\": 1,\\n      "
        '      "name": "Alice",\\n            "email": "alice@example.com"\\n    '
        '    },\\n        {\\n            "id": 2,\\n            "name":'
    ),
    "duckdb/json/union.ndjson": (
        "changed: row 0: {'data': b'{\"name\": \"Frank\"}'} not in bronze (e.g. {'d"
        "ata': {'name': 'Frank', 'age': None, 'veteran': None}})"
    ),
    "duckdb/json/with_list.json": (
        'changed: row 0: {\'id\': b\'1\', \'name\': b\'["O","Brother,","Where","Art","'
        "Thou?\"]'} not in bronze (e.g. {'id': 1, 'name': ['O', 'Brother,', 'Whe"
        "re', 'Art', 'Thou?']})"
    ),
}


def blns_files() -> list[tuple[str, bytes]]:
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["n", "s"])
    writer.writerows([i, s] for i, s in enumerate(BLNS))
    ndjson = "".join(json.dumps({"n": i, "s": s}) + "\n" for i, s in enumerate(BLNS))
    return [("blns.csv", out.getvalue().encode()), ("blns.ndjson", ndjson.encode())]


def inputs() -> list[tuple[str, str, bytes]]:
    files = [(Path(c["path"]).name, (DATA / c["path"]).read_bytes()) for c in CASES]
    files += blns_files()
    return [(f"c{i}", name, data) for i, (name, data) in enumerate(files)]


IDS = [c["path"] for c in CASES] + ["blns/blns.csv", "blns/blns.ndjson"]
VERDICTS = [(c["expect"], c["rows"], c["kind"]) for c in CASES] + [("load", "515", "")] * 2


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> list[Outcome]:
    by_table = run(module_lakehouse, inputs())
    return [by_table[f"c{i}"] for i in range(len(IDS))]


def _defect(case_id: str) -> list[pytest.MarkDecorator]:
    why = LOADER_DEFECTS.get(case_id)
    return [pytest.mark.xfail(strict=True, reason=why)] if why else []


def _params() -> list[object]:
    return [pytest.param(i, marks=_defect(case_id), id=case_id) for i, case_id in enumerate(IDS)]


@pytest.mark.parametrize("i", range(len(IDS)), ids=IDS)
def test_the_verdict_is_the_rules(i: int) -> None:
    """The manifest's verdict is what the rule, read independently, says."""
    verdict, rows, kind = VERDICTS[i]
    name, data = inputs()[i][1:]
    got = expected(name, data)
    if verdict == "load":
        assert isinstance(got, Table), got
        assert len(got.rows) == int(rows)
    else:
        assert isinstance(got, Refusal), got
        assert got.kind == kind


@pytest.mark.parametrize("i", _params())
def test_the_loader_keeps_it_exactly_or_refuses_it(outcomes: list[Outcome], i: int) -> None:
    outcome = outcomes[i]
    verdict, _, kind = VERDICTS[i]
    want = expected(outcome.name, outcome.data)
    if verdict == "refuse":
        assert outcome.refused is not None, f"loaded, but the rule refuses it ({want})"
        assert outcome.refused["kind"] == kind, outcome.refused
        return
    assert outcome.refused is None, f"quarantined: {outcome.refused}"
    assert outcome.loaded_rows is not None, "nothing in bronze"
    assert isinstance(want, Table)
    js = outcome.name.endswith((".json", ".ndjson", ".jsonl"))
    assert mismatches(outcome.loaded_rows, want, js) == []


@pytest.mark.parametrize("i", range(len(IDS)), ids=IDS)
def test_the_api_takes_it_or_says_why_not(outcomes: list[Outcome], i: int) -> None:
    outcome = outcomes[i]
    verdict = VERDICTS[i][0]
    if verdict == "load":
        assert outcome.api_status == 202, outcome.api_detail
    else:
        assert 400 <= outcome.api_status < 500, outcome.api_status
        assert outcome.api_detail, "a 4xx must say why"
