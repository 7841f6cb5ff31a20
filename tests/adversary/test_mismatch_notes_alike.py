"""A value that does not fit its column is refused by the API (422) and the loader
(``type_conflict``) in one set of words, also where session 18 left them apart (its closing
note; ``lakehouse.misfit``): the sentence (``misfit.sentence``), then the column's note
(``misfit.notes``), after the value's place in the loader's reason.

*Before* (session 18's main, 0597b79), each of these differed:

- a struct, list or map column bronze has: the loader said ``'x' does not fit the struct
  column's type struct<a: int64>: not a JSON object`` or ``'x' does not fit
  map<string, int64>``, the API ``'x' is not a JSON object, which a struct column takes (...)``
  or ``'x' does not fit a list or map column: only null does (...)``, with its note naming the
  table's type;
- Parquet bytes that are not UTF-8 meeting a type bronze keeps as text (``interval``,
  ``integer[]``, ``timestamp(9)``): the loader said ``'bytes that are not UTF-8 (...)' does not
  fit VARCHAR``, the API named the type declared;
- a required column's value under ``on_mismatch: rescue``: the loader ended with "(a required
  column's value is never rescued (...))", the API did not;
- a column judged by bronze's type (undeclared under ``quarantine``, declared after the table
  was made, required of no declared type): the API ended with "(bronze's column 'n' is BIGINT,
  ...)", the loader did not.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings


def _parquet(columns: dict[str, pa.Array]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


def _contract(settings: Settings, table: str, policy: str, columns: dict[str, str | None]) -> None:
    """``columns``: name -> data_type (None: none), a name ending in ``!`` is required."""
    said = ""
    for name, data_type in columns.items():
        said += f"\n          - name: {name.rstrip('!')}"
        if data_type:
            said += f"\n            data_type: {json.dumps(data_type)}"
        if name.endswith("!"):
            said += "\n            data_tests: [not_null]"
    (settings.dbt_project_dir / "models" / f"{table}.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        f"      - name: {table}\n        meta: {{on_mismatch: {policy}}}\n"
        f"        columns:{said}\n"
    )


OBJECT = ("1.ndjson", b'{"id": 0, "k": {"a": 1}}\n')
MAP = (
    "1.parquet",
    _parquet(
        {
            "id": pa.array([0], pa.int64()),
            "k": pa.array([[("a", 1)]], pa.map_(pa.string(), pa.int64())),
        }
    ),
)
NUMBER = ("1.csv", b"id,n\n0,5\n")
NOT_UTF8 = _parquet({"v": pa.array([b"\xff"], pa.binary())})

#: case -> (a first file making the table, or None; on_mismatch; the contract's columns; the
#: file refused; the value's place; its column)
CASES: dict[
    str, tuple[tuple[str, bytes] | None, str, dict[str, str | None], tuple[str, bytes], str, str]
] = {
    "struct_csv": (
        OBJECT,
        "quarantine",
        {"id": "bigint"},
        ("2.csv", b"id,k\n1,x\n"),
        "line 2",
        "k",
    ),
    "struct_ndjson": (
        OBJECT,
        "quarantine",
        {"id": "bigint"},
        ("2.ndjson", b'{"id": 1, "k": "x"}\n'),
        "line 1",
        "k",
    ),
    "struct_parquet": (
        OBJECT,
        "quarantine",
        {"id": "bigint"},
        ("2.parquet", _parquet({"id": pa.array([1]), "k": pa.array(["x"])})),
        "record 1",
        "k",
    ),
    "struct_field_ndjson": (
        OBJECT,
        "quarantine",
        {"id": "bigint"},
        ("2.ndjson", b'{"id": 1, "k": {"a": "x"}}\n'),
        "line 1",
        "k",
    ),
    "struct_required_rescue": (
        OBJECT,
        "rescue",
        {"id": "bigint", "k!": None},
        ("2.csv", b"id,k\n1,x\n"),
        "line 2",
        "k",
    ),
    "map_csv": (MAP, "quarantine", {"id": "bigint"}, ("2.csv", b"id,k\n1,x\n"), "line 2", "k"),
    "map_ndjson": (
        MAP,
        "quarantine",
        {"id": "bigint"},
        ("2.ndjson", b'{"id": 1, "k": "x"}\n'),
        "line 1",
        "k",
    ),
    "not_utf8_interval": (
        None,
        "quarantine",
        {"v": "interval"},
        ("1.parquet", NOT_UTF8),
        "record 1",
        "v",
    ),
    "not_utf8_integer_list": (
        None,
        "quarantine",
        {"v": "integer[]"},
        ("1.parquet", NOT_UTF8),
        "record 1",
        "v",
    ),
    "not_utf8_timestamp_ns": (
        None,
        "quarantine",
        {"v": "timestamp(9)"},
        ("1.parquet", NOT_UTF8),
        "record 1",
        "v",
    ),
    "required_rescue_csv": (
        None,
        "rescue",
        {"id!": "bigint"},
        ("1.csv", b"id\nx\n"),
        "line 2",
        "id",
    ),
    "required_rescue_ndjson": (
        None,
        "rescue",
        {"id!": "bigint"},
        ("1.ndjson", b'{"id": 1.5}\n'),
        "line 1",
        "id",
    ),
    "required_rescue_parquet": (
        None,
        "rescue",
        {"id!": "bigint"},
        ("1.parquet", _parquet({"id": pa.array(["x"])})),
        "record 1",
        "id",
    ),
    "undeclared_quarantine": (
        NUMBER,
        "quarantine",
        {"id": "bigint"},
        ("2.csv", b"id,n\n1,x\n"),
        "line 2",
        "n",
    ),
    "undeclared_quarantine_parquet": (
        NUMBER,
        "quarantine",
        {"id": "bigint"},
        ("2.parquet", _parquet({"id": pa.array([1]), "n": pa.array(["x"])})),
        "record 1",
        "n",
    ),
    "declared_after": (
        NUMBER,
        "quarantine",
        {"id": "bigint", "n": "double"},
        ("2.csv", b"id,n\n1,1.5\n"),
        "line 2",
        "n",
    ),
    "declared_after_required_rescue": (
        NUMBER,
        "rescue",
        {"id": "bigint", "n!": "double"},
        ("2.csv", b"id,n\n1,1.5\n"),
        "line 2",
        "n",
    ),
    "required_untyped_rescue": (
        NUMBER,
        "rescue",
        {"id": "bigint", "n!": None},
        ("2.csv", b"id,n\n1,x\n"),
        "line 2",
        "n",
    ),
    "required_untyped_quarantine": (
        NUMBER,
        "quarantine",
        {"id": "bigint", "n!": None},
        ("2.ndjson", b'{"id": 1, "n": "x"}\n'),
        "line 1",
        "n",
    ),
}

#: what each reason must say besides being the API's msg (the note naming bronze's type, the
#: type declared, why a required value is not rescued)
SAYS = {
    "struct_csv": "bronze's column 'k' is struct<a: int64>",
    "map_csv": "bronze's column 'k' is map<string, int64>",
    "not_utf8_interval": "does not fit INTERVAL",
    "not_utf8_integer_list": "does not fit INTEGER[]",
    "required_rescue_csv": "a required column's value is never rescued",
    "declared_after_required_rescue": "a required column's value is never rescued",
    "undeclared_quarantine": "bronze's column 'n' is BIGINT",
    "declared_after": "the contract's double, declared after the table was made",
}


def test_a_mismatch_and_its_note_are_one_set_of_words(module_lakehouse: Settings) -> None:
    firsts = [(f"n_{case}", *first) for case, (first, *_) in CASES.items() if first is not None]
    for table, outcome in run(module_lakehouse, firsts, rows=False).items():
        assert (outcome.api_status, outcome.refused) == (202, None), (table, outcome)
    for case, (_, policy, columns, _, _, _) in CASES.items():
        _contract(module_lakehouse, f"n_{case}", policy, columns)
    outcomes = run(
        module_lakehouse, [(f"n_{case}", *c[3]) for case, c in CASES.items()], rows=False
    )
    differ = []
    for case, (_, _, _, _, where, column) in CASES.items():
        outcome = outcomes[f"n_{case}"]
        assert outcome.api_status == 422, (case, outcome.api_detail)
        [error] = outcome.api_detail
        assert (error["row"], error["field"], error["type"]) == (0, column, "type_error"), error
        refused = outcome.refused
        assert refused is not None and refused["kind"] == "type_conflict", (case, refused)
        said = dialect.placed(where, f"column {column!r}: {error['msg']}")
        if refused["reason"] != said or SAYS.get(case, "") not in said:
            differ.append((case, said, refused["reason"]))
    assert not differ, "\n".join(map(repr, differ))
