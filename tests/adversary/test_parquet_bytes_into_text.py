"""Parquet bytes that are not UTF-8, meeting a column the table holds as text (or a number): the
API's 202 is kept, the value rescued in a lossless form (audit8 finding 02).

A table whose ``c`` is VARCHAR (from an earlier CSV) and a Parquet file whose ``c`` is binary
(large_binary, fixed_size_binary) holding ``b"\\xff\\x00"``: the API answered 202 (it cannot know
every type a table has taken) and the loader quarantined the whole file ``type_conflict``, even
under the default ``on_mismatch: rescue``, the file's other columns lost with it. Now the bytes
that are UTF-8 load as their text, and each value that is not is a mismatch of its own row:
rescued as ``{"c": {"base64": "/wA="}}`` (never altered text), or under ``quarantine`` refusing
the file naming the record, the column and the bytes.
"""

from __future__ import annotations

import base64
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, run

from lakehouse.settings import Settings

BAD = b"\xff\x00"
KINDS = {
    "binary": pa.binary(),
    "large_binary": pa.large_binary(),
    "fixed_size_binary": pa.binary(2),
}


def _parquet(c: list[bytes | None], t: pa.DataType) -> bytes:
    out = io.BytesIO()
    n = list(range(2, 2 + len(c)))
    pq.write_table(pa.table({"c": pa.array(c, t), "n": n}), out)
    return out.getvalue()


def _by_n(rows: list[dict[str, object]]) -> dict[object, tuple[object, object]]:
    return {
        r["n"]: (r["c"], json.loads(str(r["_rescued_data"])) if r["_rescued_data"] else None)
        for r in rows
    }


@pytest.mark.parametrize("kind", list(KINDS))
def test_bytes_not_utf8_into_a_text_column_are_rescued_as_base64(
    module_lakehouse: Settings, kind: str
) -> None:
    table = f"bytes_text_{kind}"
    run(module_lakehouse, [(table, "a.csv", b"c,n\nhello,1\n")])  # `c` is VARCHAR now
    data = _parquet([BAD, b"ok", None], KINDS[kind])
    outcome = run(module_lakehouse, [(table, "b.parquet", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    assert _by_n(outcome.loaded_rows) == {
        1: ("hello", None),
        2: (None, {"c": {"base64": base64.b64encode(BAD).decode()}}),  # the bytes, exactly
        3: ("ok", None),
        4: (None, None),  # a null is a null, not rescued
    }


def test_bytes_into_a_number_column_fit_by_their_text_or_are_rescued(
    module_lakehouse: Settings,
) -> None:
    table = "bytes_number"
    run(module_lakehouse, [(table, "a.csv", b"c,n\n7,1\n")])  # `c` is BIGINT now
    data = _parquet([b"12", BAD, b"x"], pa.binary())
    outcome = run(module_lakehouse, [(table, "b.parquet", data)])[table]
    assert outcome.api_status == 202 and outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    assert _by_n(outcome.loaded_rows) == {
        1: (7, None),
        2: (12, None),
        3: (None, {"c": {"base64": "/wA="}}),
        4: (None, {"c": "x"}),  # a text that does not fit: rescued as its text, as ever
    }


@pytest.mark.parametrize("first", ["bytes", "text"])
def test_under_quarantine_the_file_is_refused_naming_the_first_mismatch(
    module_lakehouse: Settings, first: str
) -> None:
    table = f"bytes_quarantine_{first}"
    declare(module_lakehouse, table, {"n": "bigint"}, policy="quarantine")
    run(module_lakehouse, [(table, "a.csv", b"c,n\n7,1\n")])  # `c` is BIGINT now
    values = [b"3", BAD, b"x"] if first == "bytes" else [b"3", b"x", BAD]
    outcome = run(module_lakehouse, [(table, "b.parquet", _parquet(values, pa.binary()))])[table]
    assert outcome.refused is not None, outcome.loaded_rows
    assert outcome.refused["kind"] == "type_conflict"
    assert outcome.refused["column"] == "c"
    reason = outcome.refused["reason"]
    assert reason.startswith("record 2, column 'c'"), reason
    if first == "bytes":
        assert "bytes that are not UTF-8 (base64 /wA=)" in reason, reason
    else:
        assert "'x' does not fit BIGINT" in reason, reason
