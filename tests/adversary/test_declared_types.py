"""A declared type holds a value only when it keeps it exactly, in the API and the loader alike.

docs/loading.md, "Types": a value that does not fit its column's declared type is a mismatch,
never rounded or widened; the table's ``on_mismatch`` says what happens to it (``quarantine``:
the file is refused ``type_conflict``; ``rescue``: null in the column, the text in
``_rescued_data``). The API answers 422 for the same bytes. Each case goes through the real API
and the real loader (``adversary_support.run``).
"""

from __future__ import annotations

import io
import json
import re

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import Outcome, declare, run
from deltalake import DeltaTable

from ingest import fastcontract, typecheck
from lakehouse import dialect
from lakehouse.layout import table_path
from lakehouse.settings import Settings
from lakehouse.storage import arrow_dataset
from loader import fitting


def _is_mismatch(outcome: Outcome, policy: str, misfits: dict[str, str]) -> None:
    """The API refused the file; the loader quarantined it (``quarantine``) or stored null in
    each column of ``misfits`` and its text in ``_rescued_data`` (``rescue``)."""
    assert outcome.api_status == 422, outcome.api_detail
    if policy == "quarantine":
        assert outcome.refused is not None, outcome.loaded_rows
        assert outcome.refused["kind"] == "type_conflict"
        return
    assert outcome.loaded_rows is not None, outcome.refused
    (row,) = [r for r in outcome.loaded_rows if r["_rescued_data"] is not None]
    # a CSV field's text; a JSON number as written (its digits), not as a string
    assert json.loads(row["_rescued_data"], parse_float=str, parse_int=str) == misfits
    assert all(row[name] is None for name in misfits), row


#: Numbers of at most 6 digits a float32 does not hold: below its normal range it keeps fewer
#: digits (1.23456e-44 is 1.2611686e-44), below 1.4e-45 none (3e-46 is 0.0); 3.4e38 is a finite
#: float32 beyond the rule's exponent bound (37).
OUT_OF_FLOAT = {
    "3e-46": "0." + "0" * 45 + "3",
    "1.23456e-44": "0." + "0" * 43 + "123456",
    "3.4e38": "34" + "0" * 37,
}


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize("kind", ["csv", "ndjson"])
@pytest.mark.parametrize("name", list(OUT_OF_FLOAT))
def test_a_number_beyond_float32s_range_is_a_mismatch_of_a_real_column(
    module_lakehouse: Settings, policy: str, kind: str, name: str
) -> None:
    value = OUT_OF_FLOAT[name]
    assert not dialect.fits(value, "real")
    table = f"float_range_{policy}_{kind}_{list(OUT_OF_FLOAT).index(name)}"
    declare(module_lakehouse, table, {"x": "real"}, policy)
    data = f"x\n{value}\n" if kind == "csv" else f'{{"x": {value}}}\n'
    outcome = run(module_lakehouse, [(table, f"a.{kind}", data.encode())])[table]
    _is_mismatch(outcome, policy, {"x": value})


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize(
    ("a_type", "a", "b"),
    [
        ("utinyint", "-1", "-1"),
        ("utinyint", "300", "18446744073709551616"),
        ("usmallint", "-1", "1"),
        ("uinteger", "4294967296", "1"),
    ],
)
@pytest.mark.parametrize("kind", ["csv", "ndjson"])
def test_a_later_file_is_held_to_the_declared_unsigned_range(
    module_lakehouse: Settings, policy: str, a_type: str, a: str, b: str, kind: str
) -> None:
    """An unsigned column is stored in a wider signed type (``UTINYINT`` as Int16): a file
    after the first is held to the declared range, not the storage type's."""
    table = f"unsigned_{policy}_{kind}_{a_type}_{a.strip('-')}"
    declare(module_lakehouse, table, {"a": a_type, "b": "ubigint"}, policy)
    first = b"a,b\n1,1\n" if kind == "csv" else b'{"a": 1, "b": 1}\n'
    assert run(module_lakehouse, [(table, f"first.{kind}", first)])[table].loader_took
    data = f"a,b\n{a},{b}\n" if kind == "csv" else f'{{"a": {a}, "b": {b}}}\n'
    later = run(module_lakehouse, [(table, f"later.{kind}", data.encode())])[table]
    _is_mismatch(later, policy, {"a": a} | ({} if dialect.fits(b, "UBIGINT") else {"b": b}))


def _parquet_table(columns: dict[str, pa.Array]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize(
    ("a_type", "column"),
    [
        ("utinyint", pa.array([-1], pa.int16())),  # int16 is UTINYINT's storage type
        ("utinyint", pa.array([-1], pa.int8())),  # int8 widens to it
        ("utinyint", pa.array([300], pa.uint16())),
        ("usmallint", pa.array([-1], pa.int32())),
        ("tinyint", pa.array([300], pa.int64())),
    ],
    ids=str,
)
@pytest.mark.parametrize("later", [False, True], ids=["first", "later"])
def test_parquet_integers_are_held_to_the_declared_range(
    module_lakehouse: Settings, policy: str, a_type: str, column: pa.Array, later: bool
) -> None:
    """A Parquet integer column whose type reaches beyond the declared range is checked value
    by value (the loader kept an int16 column's -1 in a UTINYINT column; the API took it)."""
    table = f"parquet_{policy}_{a_type}_{column.type}_{column[0]}_{int(later)}".replace("-", "m")
    declare(module_lakehouse, table, {"a": a_type}, policy)
    if later:
        first = run(module_lakehouse, [(table, "first.csv", b"a\n1\n")])[table]
        assert first.loader_took, first.refused
    outcome = run(module_lakehouse, [(table, "a.parquet", _parquet_table({"a": column}))])[table]
    _is_mismatch(outcome, policy, {"a": str(column[0])})


def test_parquet_integers_within_the_declared_range_are_kept(module_lakehouse: Settings) -> None:
    declare(module_lakehouse, "parquet_kept", {"a": "utinyint", "b": "utinyint"})
    data = _parquet_table({"a": pa.array([255], pa.uint8()), "b": pa.array([255], pa.int32())})
    outcome = run(module_lakehouse, [("parquet_kept", "a.parquet", data)])["parquet_kept"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.loaded_rows is not None, outcome.refused
    (row,) = outcome.loaded_rows
    assert (row["a"], row["b"], row.get("_rescued_data")) == (255, 255, None)


#: Instants an offset moves out of 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z (bronze's:
#: deltalake reads a file's timestamp statistics past 9999 as no bound, and skipped the whole
#: file for any filter on the column), and the edges inside it
OUT_OF_INSTANTS = [
    "9999-12-31T23:59:59-01:00",
    "9999-12-31 23:00:00-01:00",
    "0001-01-01T00:30:00+01:00",
]
EDGE_INSTANTS = [
    "9999-12-31T22:59:59.999999-01:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59.999999+05:00",
    "0001-01-01T01:00:00+01:00",
    "0001-01-01T00:00:00-03:00",
    "0001-01-01 00:00:00",
]


def test_the_rule_holds_the_instants_of_the_days_it_holds() -> None:

    texts = OUT_OF_INSTANTS + EDGE_INSTANTS
    want = [False] * len(OUT_OF_INSTANTS) + [True] * len(EDGE_INSTANTS)
    assert [dialect.fits(t, "timestamptz") for t in texts] == want
    assert typecheck.fits_array(pa.array(texts), "timestamptz").to_pylist() == want
    assert fitting.fits(pa.array(texts), "timestamptz").to_pylist() == want
    pattern = fastcontract.value_pattern("timestamptz")
    assert pattern is not None
    assert not any(re.fullmatch(pattern, f'"{t}"') for t in OUT_OF_INSTANTS)


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize("kind", ["csv", "ndjson"])
def test_an_instant_past_9999_is_a_mismatch_and_filters_find_the_rest(
    module_lakehouse: Settings, policy: str, kind: str
) -> None:
    """An end-of-time sentinel with a negative offset (``9999-12-31T23:59:59-01:00``) is
    10000-01-01T00:59:59Z: stored, it hid its whole file from filtered reads of the column."""
    table = f"instant_range_{policy}_{kind}"
    declare(module_lakehouse, table, {"t": "timestamptz"}, policy)
    sentinel, usual = OUT_OF_INSTANTS[0], "2024-01-01T00:00:00Z"
    if kind == "csv":
        data = f"t,k\n{sentinel},1\n{usual},2\n"
    else:
        data = f'{{"t": "{sentinel}", "k": 1}}\n{{"t": "{usual}", "k": 2}}\n'
    outcome = run(module_lakehouse, [(table, f"a.{kind}", data.encode())])[table]
    _is_mismatch(outcome, policy, {"t": sentinel})
    if policy == "rescue":
        con = duckdb.connect()
        bronze = DeltaTable(str(table_path(module_lakehouse, "bronze", table)))
        con.register("bronze", arrow_dataset(bronze))
        found = con.sql("select k from bronze where t = timestamptz '2024-01-01 00:00:00+00'")
        assert found.fetchall() == [(2,)]
