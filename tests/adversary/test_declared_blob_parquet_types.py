"""Review finding revx 02 (session 14), fixed: a contract column declared ``blob`` over a
Parquet column the readers turn into text (a ``time``, a ``duration``, an ``arrow.uuid``) was
not "a Parquet column of another type" to the loader: it stored the value's *text* as bytes,
while docs/loading.md (Types, "`blob` means bytes") says any Parquet column but bytes or text
is a mismatch (API 422, the loader rescues or refuses it by ``on_mismatch``). Before:

* ``time64``: the API answers 422 (``column type time64[us] does not fit BLOB``), the loader,
  under ``on_mismatch: quarantine``, loads ``b'01:02:03.000000'``: **API and loader disagree**.
* ``duration``: the API answers 202 and the loader loads ``b'90 seconds'``.
* ``arrow.uuid`` (16 bytes in the file): the API answers 202 and the loader stores the 36
  bytes of its text ``b'7f1e2d3c-...'``, not the file's 16 bytes (a plain
  ``fixed_size_binary(16)`` of the same bytes loads as its 16 bytes).

Now both refuse the three (API 422 naming the type, the loader by ``on_mismatch``), and an
all-null column fits ``blob`` for both.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, run

from lakehouse.settings import Settings

U = uuid.UUID("7f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")


def _parquet(values: pa.Array) -> bytes:
    out = io.BytesIO()
    ids = pa.array(range(len(values)), pa.int64())
    pq.write_table(pa.table({"id": ids, "b": values}), out)
    return out.getvalue()


CASES = {
    "time": pa.array([dt.time(1, 2, 3), None], pa.time64("us")),
    "duration": pa.array([90, None], pa.duration("s")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_parquet_time_or_duration_is_a_blob_mismatch_for_both(
    one_lakehouse: Settings, case: str
) -> None:
    declare(one_lakehouse, "t", {"id": "bigint", "b": "blob"}, "quarantine")
    outcome = run(one_lakehouse, [("t", "f.parquet", _parquet(CASES[case]))])["t"]
    assert outcome.api_status == 422, outcome.api_detail
    assert outcome.refused is not None, ("loaded", outcome.loaded_rows)
    assert outcome.refused["kind"] == "type_conflict", outcome.refused


def test_a_parquet_uuid_declared_blob_is_a_mismatch_for_both(
    one_lakehouse: Settings,
) -> None:
    declare(one_lakehouse, "t", {"id": "bigint", "b": "blob"}, "quarantine")
    data = _parquet(pa.array([U.bytes, None], pa.uuid()))
    outcome = run(one_lakehouse, [("t", "f.parquet", data)])["t"]
    # a UUID is another type, as the file wrote it (docs/loading.md): never its text's bytes
    assert outcome.api_status == 422, outcome.api_detail
    assert "does not fit BLOB" in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, ("loaded", outcome.loaded_rows)
    assert outcome.refused["kind"] == "type_conflict", outcome.refused


def test_an_all_null_parquet_column_fits_a_declared_blob_for_both(one_lakehouse: Settings) -> None:
    """An Arrow ``null`` column (no value): the API answers 422 "column type null does not fit
    BLOB", the loader loads its nulls; a null fits every other declared type in both."""
    declare(one_lakehouse, "t", {"id": "bigint", "b": "blob"}, "quarantine")
    outcome = run(one_lakehouse, [("t", "f.parquet", _parquet(pa.array([None, None])))])["t"]
    assert outcome.refused is None, outcome.refused
    assert outcome.api_status == 202, outcome.api_detail
