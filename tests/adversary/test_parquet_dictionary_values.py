"""A dictionary-encoded Parquet column (pyarrow's ``dictionary_encode``, a pandas categorical; the
file's ``ARROW:schema`` keeps the dictionary) is read as its values, as docs/loading.md says ("a
dictionary to its values"), by the API's check and the loader alike:

- a dictionary of durations, at any depth, which pyarrow reads as its bare ``int64`` counts (the
  Parquet column has no duration type, only the ``ARROW:schema`` says it), becomes the text of its
  exact seconds as a plain duration does: before, 90 s and 90 ms were both stored as the BIGINT
  90 after a 202, and a contract declaring ``bigint`` took them (review finding auditp 04, HIGH);
- a dictionary of timestamps with a zone, which pyarrow reads in UTC, meets a text column with
  its zone's offset as the plain column does (auditp 04, its second case);
- a dictionary of bytes meets a text column as bytes do: bytes that are not UTF-8 are a mismatch
  of their record, rescued as base64; before, the API answered 202 and the loader refused the
  file ("cannot meet the table's VARCHAR"), and a declared ``varchar`` got a 422 naming no record
  (review finding auditp 03, HIGH).
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, declare, run

from lakehouse.settings import Settings

SECONDS = pa.array([90, -1, None], pa.duration("s"))
MILLIS = pa.array([90, 1500, None], pa.duration("ms"))
RAW = [b"ab", b"\xff\x00", None, b"ab"]


def _parquet(column: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array(range(len(column))), "c": column}), out)
    return out.getvalue()


def _list(values: pa.Array) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(range(len(values) + 1), pa.int32()), values)


def _stored(settings: Settings, table: str) -> list[object]:
    rows = bronze_table(settings, table).to_pylist()
    return [r["c"] for r in sorted(rows, key=lambda r: r["id"])]


def _rows(settings: Settings, table: str) -> list[tuple[object, object, object]]:
    rows = bronze_table(settings, table).to_pylist()
    return sorted(((r["id"], r["c"], r.get("_rescued_data")) for r in rows), key=repr)


DURATIONS = {
    "seconds": (SECONDS, ["90 seconds", "-1 seconds", None]),
    "millis": (MILLIS, ["0.090 seconds", "1.500 seconds", None]),
}


@pytest.mark.parametrize("case", list(DURATIONS))
def test_a_dictionary_of_durations_is_stored_as_plain_durations_are(
    module_lakehouse: Settings, case: str
) -> None:
    values, want = DURATIONS[case]
    struct = pa.StructArray.from_arrays([values.dictionary_encode()], ["x"])
    tables = {
        f"duration_plain_{case}": _parquet(values),
        f"duration_dictionary_{case}": _parquet(values.dictionary_encode()),
        f"duration_listed_{case}": _parquet(_list(values.dictionary_encode())),
        f"duration_struct_{case}": _parquet(struct),
    }
    assert pq.read_schema(io.BytesIO(tables[f"duration_dictionary_{case}"])).field("c").type == (
        pa.int64()  # what pyarrow reads: the counts, their unit lost
    )
    outcomes = run(module_lakehouse, [(t, "f.parquet", d) for t, d in tables.items()], rows=False)
    for table, outcome in outcomes.items():
        assert outcome.api_status == 202 and outcome.refused is None, (table, outcome)
    assert _stored(module_lakehouse, f"duration_plain_{case}") == want
    assert _stored(module_lakehouse, f"duration_dictionary_{case}") == want
    assert _stored(module_lakehouse, f"duration_listed_{case}") == [[w] for w in want]
    assert _stored(module_lakehouse, f"duration_struct_{case}") == [{"x": w} for w in want]


def test_a_declared_bigint_refuses_a_dictionary_of_durations(module_lakehouse: Settings) -> None:
    files = []
    for kind, column in (("plain", SECONDS), ("dictionary", SECONDS.dictionary_encode())):
        declare(module_lakehouse, f"duration_bigint_{kind}", {"c": "bigint"})
        files.append((f"duration_bigint_{kind}", "f.parquet", _parquet(column)))
    outcomes = run(module_lakehouse, files, rows=False)
    assert outcomes["duration_bigint_plain"].api_status == 422
    assert outcomes["duration_bigint_dictionary"].api_status == 422, outcomes


def test_a_dictionary_of_zoned_timestamps_meets_text_with_its_offset(
    module_lakehouse: Settings,
) -> None:
    values = pa.array([0, 1_700_000_000_000_000, None], pa.timestamp("us", tz="+05:30"))
    tables = {"zoned_plain": values, "zoned_dictionary": values.dictionary_encode()}
    run(module_lakehouse, [(t, "a.csv", b"id,c\n9,text\n") for t in tables], rows=False)
    files = [(t, "f.parquet", _parquet(column)) for t, column in tables.items()]
    run(module_lakehouse, files, rows=False)
    assert _stored(module_lakehouse, "zoned_plain")[:2] == [
        "1970-01-01 05:30:00.000000+0530",
        "2023-11-15 03:43:20.000000+0530",
    ]
    assert _stored(module_lakehouse, "zoned_dictionary") == _stored(module_lakehouse, "zoned_plain")


def test_a_dictionary_of_bytes_meeting_text_is_rescued_as_plain_bytes_are(
    module_lakehouse: Settings,
) -> None:
    tables = {"bytes_plain": pa.array(RAW), "bytes_dictionary": pa.array(RAW).dictionary_encode()}
    run(module_lakehouse, [(t, "a.csv", b"id,c\n9,text\n") for t in tables], rows=False)
    files = [(t, "f.parquet", _parquet(column)) for t, column in tables.items()]
    outcomes = run(module_lakehouse, files, rows=False)
    for table, outcome in outcomes.items():
        assert outcome.api_status == 202 and outcome.refused is None, (table, outcome)
    rows = _rows(module_lakehouse, "bytes_dictionary")
    assert rows == _rows(module_lakehouse, "bytes_plain")
    assert (1, None, '{"c": {"base64": "/wA="}}') in rows, rows


def test_a_declared_varchar_judges_a_dictionary_of_bytes_as_plain_bytes(
    module_lakehouse: Settings,
) -> None:
    tables = {
        "bytes_varchar_plain": pa.array(RAW),
        "bytes_varchar_dictionary": pa.array(RAW).dictionary_encode(),
    }
    for table in tables:
        declare(module_lakehouse, table, {"c": "varchar"})
    files = [(t, "f.parquet", _parquet(column)) for t, column in tables.items()]
    outcomes = run(module_lakehouse, files, rows=False)
    for table, outcome in outcomes.items():
        assert outcome.api_status == 422 and outcome.api_detail[0]["row"] == 1, (table, outcome)
        assert outcome.refused is None, (table, outcome.refused)  # rescued
    rows = _rows(module_lakehouse, "bytes_varchar_dictionary")
    assert rows == _rows(module_lakehouse, "bytes_varchar_plain")
