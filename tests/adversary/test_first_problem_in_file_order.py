"""A file holding a required column's null and a value that does not fit its declared type, in
any order over its records and columns: the API and the loader name the same first problem
(issue #8, review finding reada 06 of session 19).

The rule (docs/loading.md, Required columns): of every format (CSV, TSV, NDJSON, JSON, Parquet)
and under either ``on_mismatch``, the first record in the file's order holding either problem
is named; of that record, the first such column in the contract's order. *Before:* the loader
named a batch's first required null before any misfit (so did the API's CSV and Parquet checks,
a column's nulls before its misfits), the API's JSON check the first record holding either:
``{"a":2.5}`` then ``{"a":null}`` was record 1's misfit to the API, line 2's null to the
loader.

Each file goes through the real API (``/files``) and the real loader (``adversary_support.run``).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import Outcome, lakehouse, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: the contract's columns, in its order (not the file's: a, b, c, d); required ones marked
CONTRACT = """version: 2
sources:
  - name: bronze
    tables:
      - name: {table}
        meta: {{on_mismatch: {policy}}}
        columns:
          - {{name: d, data_type: date, data_tests: [not_null]}}
          - {{name: b, data_type: integer}}
          - {{name: c, data_type: varchar, data_tests: [not_null]}}
          - {{name: a, data_type: integer, data_tests: [not_null]}}
"""
COLUMNS = ("a", "b", "c", "d")
#: each column's value that fits, and the one that does not (None: none misfits a varchar)
FITS = {"a": ("1", "2.5"), "b": ("7", "x"), "c": ("t", None), "d": ("2024-01-02", "2024-13-01")}
#: what each column may hold: its fitting value, null, its misfit
STATES = {c: ["ok", "null"] + (["bad"] if FITS[c][1] is not None else []) for c in COLUMNS}
FORMATS = ("csv", "tsv", "ndjson", "json", "parquet")

Record = dict[str, tuple[str, bool]]  # column -> (state, a JSON null written as no key)


@pytest.fixture(autouse=True, scope="module")
def _environment_cleared() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
            mp.delenv(key)
        yield


def _value(column: str, state: str) -> str | None:
    return None if state == "null" else FITS[column][state == "bad"]


def _json_value(column: str, state: str) -> Any:
    text = _value(column, state)
    if text is None or column == "c" or column == "d" or (column == "b" and state == "bad"):
        return text  # a string (or null)
    return json.loads(text)  # a number, as JSON writes it


def encode(records: list[Record], kind: str) -> bytes:
    if kind in ("csv", "tsv"):
        sep = "," if kind == "csv" else "\t"
        lines = [sep.join(COLUMNS)]
        lines += [sep.join(_value(c, r[c][0]) or "" for c in COLUMNS) for r in records]
        return ("\n".join(lines) + "\n").encode()
    if kind == "parquet":
        columns = {c: pa.array([_value(c, r[c][0]) for r in records], pa.string()) for c in COLUMNS}
        sink = io.BytesIO()
        pq.write_table(pa.table(columns), sink)
        return sink.getvalue()
    objects = [
        {c: _json_value(c, r[c][0]) for c in COLUMNS if not (r[c][0] == "null" and r[c][1])}
        for r in records
    ]
    if kind == "ndjson":
        return b"".join(json.dumps(o).encode() + b"\n" for o in objects)
    return json.dumps(objects).encode()


def _place(kind: str, row: int) -> str:
    """Where the loader's reason places the API's ``row`` (0-based among the records)."""
    if kind in ("csv", "tsv"):
        return f"line {row + 2}"  # after the header line
    if kind == "ndjson":
        return f"line {row + 1}"
    return f"record {row + 1}"


def said_alike(outcome: Outcome, kind: str, policy: str) -> None:
    """The API takes the file and the loader loads it, or the API's first error is the
    loader's refusal: its place, column and words. Under ``rescue`` the API refuses a
    misfit the loader rescues (docs/api.md: a mismatch is 422 whatever the policy, the API
    has a client to tell): the first of its errors the loader refuses for is the one."""
    refused = outcome.refused
    if outcome.api_status == 202:
        assert refused is None, refused
        return
    assert outcome.api_status == 422, outcome.api_detail
    errors = outcome.api_detail
    if policy == "rescue":
        errors = [e for e in errors if not (e["type"] == "type_error" and e["field"] == "b")]
        if not errors:  # only b's misfits: rescued
            assert refused is None, (outcome.api_detail, refused)
            return
    assert refused is not None, (outcome.api_detail, "loaded")
    first = errors[0]
    if first["row"] is None:  # a required column no record holds
        assert refused["reason"] == first["msg"], (first, refused)
        return
    want = f"{_place(kind, first['row'])}, column {first['field']!r}: {first['msg']}"
    assert refused["reason"] == want, (outcome.data, outcome.api_detail[:3], refused)


def judge(files: dict[str, tuple[str, str, bytes]]) -> None:
    """``files``: table → (policy, file name, bytes), each table under its policy."""
    with tempfile.TemporaryDirectory() as root:
        lake = lakehouse(Path(root))
        for table, (policy, _, _) in files.items():
            contract = CONTRACT.format(table=table, policy=policy)
            (lake.dbt_project_dir / "models" / f"{table}.yml").write_text(contract)
        outcomes = run(lake, [(t, name, data) for t, (_, name, data) in files.items()], rows=False)
    for table, outcome in outcomes.items():
        said_alike(outcome, files[table][1].rsplit(".", 1)[1], files[table][0])


def _records(*rows: dict[str, str]) -> list[Record]:
    return [{c: (row.get(c, "ok"), False) for c in COLUMNS} for row in rows]


#: the finding's files: a misfit in record 1, a required null in record 2, in one column; and
#: the same in two columns, and both problems in one record (the contract's order names d first)
CASES = {
    "misfit_then_null": _records({"a": "bad"}, {"a": "null"}),
    "null_then_misfit": _records({"a": "null"}, {"a": "bad"}),
    "misfit_then_other_null": _records({"d": "bad"}, {"c": "null"}),
    "one_record_both": _records({"a": "null", "d": "bad"}),
    "one_record_null_after_misfit": _records({"c": "null", "b": "bad"}),
}


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
def test_the_findings_files_are_named_alike(policy: str) -> None:
    files = {}
    for case, records in CASES.items():
        for kind in FORMATS:
            files[f"{case}_{kind}"] = (policy, f"t.{kind}", encode(records, kind))
    judge(files)


@st.composite
def _record(draw: st.DrawFn) -> Record:
    return {c: (draw(st.sampled_from(STATES[c])), draw(st.booleans())) for c in COLUMNS}


files = st.lists(_record(), min_size=1, max_size=5)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(records=files, policy=st.sampled_from(["quarantine", "rescue"]))
def test_any_mix_is_named_alike_in_every_format(records: list[Record], policy: str) -> None:
    """Random mixes of fitting, null and misfitting values over a few records and four columns
    (three required, two typed), each file in every format at once: one rule for them all."""
    judge({f"t_{kind}": (policy, f"t.{kind}", encode(records, kind)) for kind in FORMATS})


def test_the_tables_columns_are_named_in_the_tables_order() -> None:
    """Under ``quarantine`` the columns bronze has that the contract does not declare judge
    a file too: a record misfitting two of them is named by the first in the table's order,
    as the API lists them (the contract's columns, then the table's), whatever the file's
    order. *Before:* the loader named the file's first (``y`` of a file ``y,x``), the API
    the table's (``x``)."""
    second = {
        "csv": b"y,x\nbad,bad\n",
        "tsv": b"y\tx\nbad\tbad\n",
        "ndjson": b'{"y": "bad", "x": "bad"}\n',
        "json": b'[{"y": "bad", "x": "bad"}]',
        "parquet": encode_strings({"y": ["bad"], "x": ["bad"]}),
    }
    contract = "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: {table}\n"
    with tempfile.TemporaryDirectory() as root:
        lake = lakehouse(Path(root))
        for kind in second:
            meta = "        meta: {on_mismatch: quarantine}\n"
            path = lake.dbt_project_dir / "models" / f"t_{kind}.yml"
            path.write_text(contract.format(table=f"t_{kind}") + meta)
        first = run(lake, [(f"t_{k}", "a.csv", b"x,y\n1,2\n") for k in second], rows=False)
        assert all(o.api_status == 202 and o.refused is None for o in first.values())
        outcomes = run(lake, [(f"t_{k}", f"b.{k}", data) for k, data in second.items()])
    for kind, outcome in outcomes.items():
        assert outcome.api_detail[0]["field"] == "x", outcome.api_detail
        said_alike(outcome, kind.removeprefix("t_"), "quarantine")


def encode_strings(columns: dict[str, list[str]]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()}), sink)
    return sink.getvalue()
