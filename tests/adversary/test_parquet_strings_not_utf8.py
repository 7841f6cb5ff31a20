"""A Parquet string column (its logical type says UTF-8) holding bytes that are not UTF-8: a
Parquet reader hands them over unchecked, so the API took such a file (202) and the loader
stored the bytes as they were, after which DuckDB (the build's read of bronze) refused the
whole table: "value ... is not valid UTF8!" (review finding auditC 05, HIGH; DuckDB's
parquet-testing files ``invalid_utf8_*.parquet`` hold such values). Now the API (4xx) and the
loader (``encoding``) refuse the file, naming the record, the column and the bytes in base64,
at any depth and in a dictionary-encoded column; a valid file's strings still load.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse import parquet
from lakehouse.settings import Settings


def _strings(values: list[bytes | None], t: pa.DataType | None = None) -> pa.Array:
    """A string array of ``values`` as they are (pyarrow's constructors would check them)."""
    t = t or pa.string()
    large = t == pa.large_string()
    offsets, at, valid = [0], 0, []
    for v in values:
        at += len(v or b"")
        offsets.append(at)
        valid.append(v is not None)
    width = pa.int64() if large else pa.int32()
    return pa.Array.from_buffers(
        t,
        len(values),
        [
            pa.array(valid, pa.bool_()).buffers()[1],
            pa.array(offsets, width).buffers()[1],
            pa.py_buffer(b"".join(v or b"" for v in values)),
        ],
    )


def _parquet(table: pa.Table, dictionary: bool) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, use_dictionary=dictionary)
    return out.getvalue()


_BAD = [b"hello", None, b"TREL\xc3", b"ok"]


def _tables() -> dict[str, pa.Table]:
    s = _strings(_BAD)
    n = pa.array(range(4), pa.int64())
    listed = pa.ListArray.from_arrays(pa.array([0, 1, 1, 3, 4], pa.int32()), s)
    struct = pa.StructArray.from_arrays([n, s], names=["i", "t"])
    return {
        "top": pa.table({"n": n, "s": s}),
        "large": pa.table({"n": n, "s": _strings(_BAD, pa.large_string())}),
        "in_list": pa.table({"n": n, "l": listed}),
        "in_struct": pa.table({"n": n, "st": struct}),
    }


@pytest.mark.parametrize("dictionary", [False, True])
@pytest.mark.parametrize("shape", ["top", "large", "in_list", "in_struct"])
def test_a_string_that_is_not_utf8_refuses_the_file_in_the_api_and_the_loader(
    module_lakehouse: Settings, shape: str, dictionary: bool
) -> None:
    table = f"not_utf8_{shape}_{int(dictionary)}"
    data = _parquet(_tables()[shape], dictionary)
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    assert 400 <= outcome.api_status < 500, outcome.api_detail
    assert "not UTF-8" in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "the loader stored bytes no reader of bronze can read"
    assert outcome.refused["kind"] == "encoding", outcome.refused
    reason = outcome.refused["reason"]
    assert "not UTF-8" in reason and "VFJFTMM=" in reason, reason  # base64 of b"TREL\xc3"
    # record 3 holds it (in_list: the list of record 3 holds b"TREL\xc3")
    assert "record 3" in reason, reason


def test_valid_strings_in_every_shape_still_load(module_lakehouse: Settings) -> None:
    good = [b"hello", None, "\u00e9t\u00e9 \U0001f600".encode(), b""]
    s = _strings(good)
    written = pa.table({"n": pa.array(range(4), pa.int64()), "s": s})
    outcome = run(module_lakehouse, [("utf8_ok", "f.parquet", _parquet(written, True))])
    result = outcome["utf8_ok"]
    assert result.api_status == 202, result.api_detail
    assert result.refused is None, result.refused
    stored = bronze_table(module_lakehouse, "utf8_ok").sort_by("n")
    assert stored.column("s").to_pylist() == ["hello", None, "\u00e9t\u00e9 \U0001f600", ""]


def test_the_refusal_names_the_first_bad_value_of_a_batch() -> None:
    """The rule itself, on a batch: the first value that is not UTF-8, its row and bytes."""
    batch = pa.record_batch({"s": _strings([b"a", b"\xff\xfe", b"\xc3"])})
    refused = parquet.Values(batch.schema).refusal(batch)
    assert refused is not None
    assert (refused.column, refused.row, refused.value, refused.kind) == (
        "s",
        1,
        "//4=",
        "encoding",
    )
    assert parquet.Values(batch.schema).refusal(batch.slice(0, 1)) is None
