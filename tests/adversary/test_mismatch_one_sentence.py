"""A value that does not fit its declared column (``on_mismatch: quarantine``) is refused in one
sentence by the API and the loader (review finding revc 05, s18; ``lakehouse.misfit.sentence``):
the loader's ``type_conflict`` reason is the API's 422 ``msg`` after the value's place (``line
2, column 'v': ``). The value is shown as the file wrote it: a CSV field's or a Parquet value's
text quoted (``'1.5'``), a JSON value in its JSON form (a string with its quotes, ``"1.5"``, a
number's literal, ``1.5``); then the type and why (a JSON string meeting a number or boolean
column, a bytes column, a json column say their rule).

*Before:* the loader said ``'1.5' does not fit BIGINT (on_mismatch: quarantine)`` for each of
them, where the API said ``1.5 does not fit BIGINT exactly (docs/loading.md, Types)``, ``"1.5"
does not fit BIGINT exactly (docs/loading.md, Types): a JSON string fits text, date and
timestamp columns only``, ``1 does not fit BLOB: a bytes column takes bytes, ...``: 4,611 of
4,611 refusals of revc's grid (126 texts x 21 types x 3 forms) and all 422 of its Parquet grid
differed. One value per type and form of that grid here.
"""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import declare, run

from lakehouse import dialect
from lakehouse.settings import Settings

#: declared type -> a text none of the forms fits
VALUES = {
    "boolean": "1.5",
    "bigint": "1.5",
    "integer": "1e3",
    "smallint": "1.0",
    "tinyint": "0.1",
    "ubigint": "-1",
    "hugeint": "1.50",
    "double": "-0",
    "real": "1E3",
    "decimal(12,2)": "9223372036854775807",
    "decimal(38,10)": "3.4028235e38",
    "date": "1",
    "timestamp": "0",
    "timestamp(3)": "-1",
    "timestamp(0)": "1.0",
    "timestamptz": "1.5",
    "time": "-0",
    "uuid": "0",
}


def _csv(text: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["v"], [text]])
    return out.getvalue().encode()


def _parquet(array: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"v": array}), out)
    return out.getvalue()


def _cases() -> list[tuple[str, str, str, bytes, str | None, str]]:
    """(case, declared type, file name, bytes, the value's place, the value as shown)."""
    cases = []
    for ty, text in VALUES.items():
        key = ty.replace("(", "_").replace(")", "").replace(",", "_")
        cases += [
            (f"{key}_csv", ty, "f.csv", _csv(text), "line 2", repr(text)),
            (
                f"{key}_ndstr",
                ty,
                "f.ndjson",
                b'{"v": %s}\n' % json.dumps(text).encode(),
                "line 1",
                json.dumps(text),
            ),
            (f"{key}_ndlit", ty, "f.ndjson", b'{"v": %s}\n' % text.encode(), "line 1", text),
            (f"{key}_pqstr", ty, "f.parquet", _parquet(pa.array([text])), "record 1", repr(text)),
        ]
    cases += [
        ("blob_ndlit", "blob", "f.ndjson", b'{"v": 1}\n', "line 1", "1"),
        ("json_csv", "json", "f.csv", _csv("+1"), "line 2", "'+1'"),
        ("json_pqstr", "json", "f.parquet", _parquet(pa.array(["+1"])), "record 1", "'+1'"),
        ("bigint_pqdouble", "bigint", "f.parquet", _parquet(pa.array([1.5])), "record 1", "'1.5'"),
        # a Parquet column of numbers declared blob: no value of it is bytes or text, the
        # column is refused as a whole, by both (the loader named its first record)
        ("blob_pqint8", "blob", "f.parquet", _parquet(pa.array([1], pa.int8())), None, ""),
        ("blob_pqdate", "blob", "f.parquet", _parquet(pa.array([0], pa.date32())), None, ""),
        ("bigint_ndescaped", "bigint", "f.ndjson", b'{"v": "\\u0031"}\n', "line 1", '"1"'),
        (
            "bigint_ndobject",
            "bigint",
            "f.ndjson",
            b'{"v": {"a": 1,  "b": "x y"}}\n',
            "line 1",
            '{"a":1,"b":"x y"}',
        ),
        ("bigint_ndarray", "bigint", "f.ndjson", b'{"v": [1, 2]}\n', "line 1", "[1,2]"),
        # strings inside an object or array in one form too (session 19: the API showed
        # the escapes as sent, the loader DuckDB's characters)
        (
            "bigint_ndobject_escapes",
            "bigint",
            "f.ndjson",
            b'{"v": {"\\u0061": "\\u00e9", "b": "x\\/y"}}\n',
            "line 1",
            '{"a":"\u00e9","b":"x/y"}',
        ),
        (
            "bigint_ndarray_escapes",
            "bigint",
            "f.ndjson",
            b'{"v": ["\\u0041", "\\n", "\\ud83d\\ude00"]}\n',
            "line 1",
            '["A","\\n","\U0001f600"]',
        ),
        ("date_ndquote", "date", "f.ndjson", b'{"v": "a\\"b\\u00e9"}\n', "line 1", '"a\\"bé"'),
    ]
    return cases


CASES = _cases()


def test_a_mismatch_is_one_sentence_to_the_api_and_the_loader(module_lakehouse: Settings) -> None:
    for case, ty, _, _, _, _ in CASES:
        declare(module_lakehouse, f"mis_{case}", {"v": ty}, "quarantine")
    outcomes = run(
        module_lakehouse,
        [(f"mis_{case}", name, data) for case, _, name, data, _, _ in CASES],
        rows=False,
    )
    differ = []
    for case, _, _, _, where, shown in CASES:
        outcome = outcomes[f"mis_{case}"]
        assert outcome.api_status == 422, (case, outcome.api_detail)
        if where is None:  # the column as a whole
            [error] = outcome.api_detail
            assert (error["row"], error["field"]) == (None, "v"), error
            assert outcome.refused is not None, case
            if (outcome.refused["kind"], outcome.refused["reason"]) != (
                "type_conflict",
                error["msg"],
            ):
                differ.append((case, error["msg"], outcome.refused["reason"]))
            continue
        [error] = outcome.api_detail
        assert (error["row"], error["field"], error["type"]) == (0, "v", "type_error"), error
        assert error["msg"].startswith(f"{shown} does not fit "), (case, error["msg"])
        assert outcome.refused is not None, case
        said = dialect.placed(where, f"column 'v': {error['msg']}")
        if (outcome.refused["kind"], outcome.refused["reason"]) != ("type_conflict", said):
            differ.append((case, said, outcome.refused["reason"]))
    assert not differ, "\n".join(map(repr, differ))
