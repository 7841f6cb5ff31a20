"""Parquet bytes that are not UTF-8 nested in a list, struct or map, meeting a column whose type
is not the file's (text from an earlier CSV, or a type too deep for Delta, kept as JSON text):
the API's 202 is kept and each such value is a mismatch of its own row, rescued whole and
losslessly (required item 4): ``{"c": {"arrow_type": "<type>", "value": <its JSON text, each
such bytes value as {"base64": "..."}>}}``, or under ``quarantine`` refusing the file naming
the record and the column. Before, the whole file was refused (``type_conflict``) even under
the default ``rescue``, though the API had answered 202.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, run

from lakehouse import dialect
from lakehouse.settings import Settings

BAD = b"\xff\x00"


def _deep(depth: int) -> pa.DataType:
    t: pa.DataType = pa.binary()
    for _ in range(depth):
        t = pa.list_(t)
    return t


def _wrap(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


DEEP = dialect.MAX_TYPE_DEPTH + 1
CASES: dict[str, tuple[pa.DataType, list[Any]]] = {
    "list": (pa.list_(pa.binary()), [[b"ok", BAD], [b"fine"], None, [None]]),
    "large_list": (pa.large_list(pa.large_binary()), [[BAD, b"\xc3"], [b"x"]]),
    "struct": (
        pa.struct([("base64", pa.string()), ("b", pa.binary()), ("n", pa.int64())]),
        [{"base64": "/wA=", "b": BAD, "n": 1}, {"base64": "t", "b": b"ok", "n": 2}],
    ),
    "map": (
        pa.map_(pa.binary(), pa.list_(pa.binary(2))),
        [[(BAD, [b"ab", BAD]), (b"k", None)], [(b"k", [b"ok"])]],
    ),
    "too_deep": (_deep(DEEP), [_wrap(BAD, DEEP), _wrap(b"ok", DEEP)]),
}


def _parquet(t: pa.DataType, values: list[Any]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"c": pa.array(values, t), "n": range(len(values))}), out)
    return out.getvalue()


def _bytes_back(value: Any, t: pa.DataType) -> Any:
    """A rescued value's JSON back into Python values of type ``t`` (the marker's bytes)."""
    if value is None:
        return None
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        if isinstance(value, dict):
            assert list(value) == ["base64"], value
            return base64.b64decode(value["base64"], validate=True)
        return value.encode("utf-8")
    if pa.types.is_struct(t):
        return {
            t.field(i).name: _bytes_back(value[t.field(i).name], t.field(i).type)
            for i in range(t.num_fields)
        }
    if pa.types.is_map(t):
        return [
            (_bytes_back(e["key"], t.key_type), _bytes_back(e["value"], t.item_type)) for e in value
        ]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return [_bytes_back(v, t.value_type) for v in value]
    return value


def _holds_bad(value: Any) -> bool:
    if isinstance(value, bytes):
        return dialect.first_non_utf8(value) is not None
    if isinstance(value, dict):
        return any(_holds_bad(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_bad(v) for v in value)
    return False


@pytest.mark.parametrize("case", list(CASES))
def test_nested_bytes_not_utf8_are_rescued_whole_and_lossless(
    module_lakehouse: Settings, case: str
) -> None:
    t, values = CASES[case]
    table = f"nested_bytes_{case}"
    if case != "too_deep":  # `c` is VARCHAR now; too deep: kept as JSON text by itself
        run(module_lakehouse, [(table, "a.csv", b"c,n\nhello,-1\n")])
    data = _parquet(t, values)
    t = pq.read_schema(io.BytesIO(data)).field("c").type  # the type as read (its names)
    outcome = run(module_lakehouse, [(table, "b.parquet", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = {r["n"]: r for r in outcome.loaded_rows or []}
    for n, value in enumerate(values):
        row = rows[n]
        if not _holds_bad(value):
            assert row["_rescued_data"] is None, row
            continue
        assert row["c"] is None, row
        rescued = json.loads(row["_rescued_data"])["c"]
        assert rescued["arrow_type"] == str(t), rescued
        assert _bytes_back(rescued["value"], t) == value, rescued  # every byte, in order


def test_under_quarantine_the_file_is_refused_naming_the_record(
    module_lakehouse: Settings,
) -> None:
    table = "nested_bytes_quarantine"
    declare(module_lakehouse, table, {"n": "bigint"}, "quarantine")
    run(module_lakehouse, [(table, "a.csv", b"c,n\nhello,1\n")])
    t, values = CASES["list"]
    outcome = run(module_lakehouse, [(table, "b.parquet", _parquet(t, values))])[table]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "type_conflict", refused
    assert "record 1, column 'c'" in refused["reason"], refused
    assert '"value":["ok",{"base64":"/wA="}]' in refused["reason"], refused
