"""A Parquet map repeating a key is refused (``test_parquet_map_repeated_keys.py``), naming the
key by its text, as every other Parquet refusal names a value: a date ``1970-01-02``, a decimal
``1.00``, a timestamp as Arrow prints it, bytes that are not UTF-8 in base64. Before, the key's
Python repr was in the API's 422 and the loader's reason: ``datetime.date(1970, 1, 2)``,
``Decimal('1.00')``, ``b'\\xff'``, ``datetime.datetime(..., tzinfo=zoneinfo.ZoneInfo(key='UTC'))``
(review finding auditp 07, LOW).
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run

from lakehouse import parquet
from lakehouse.settings import Settings

KEYS = {
    "date": (pa.array([1, 1], pa.date32()), "the key 1970-01-02:", "1970-01-02"),
    "decimal": (pa.array([1, 1], pa.decimal128(5, 2)), "the key 1.00:", "1.00"),
    "time": (pa.array([1, 1], pa.time64("us")), "the key 00:00:00.000001:", "00:00:00.000001"),
    "timestamp": (
        pa.array([1, 1], pa.timestamp("us", tz="UTC")),
        "the key 1970-01-01 00:00:00.000001Z:",
        "1970-01-01 00:00:00.000001Z",
    ),
    "bytes": (
        pa.array([b"\xff", b"\xff"]),
        "the key of bytes that are not UTF-8 (base64 /w==):",
        "/w==",
    ),
    "utf8_bytes": (pa.array([b"xy", b"xy"]), "the key 'xy':", "xy"),
    "string": (pa.array(["k", "k"]), "the key 'k':", "k"),
    "int": (pa.array([7, 7]), "the key 7:", "7"),
    "nan": (pa.array([float("nan"), -float("nan")]), "the key nan:", "nan"),
    "zeros": (pa.array([-0.0, 0.0]), "the key 0:", "0"),
    "struct": (
        pa.array([{"a": 1, "b": "x"}, {"a": 1, "b": "x"}]),
        'the key {"a":1,"b":"x"}:',
        '{"a":1,"b":"x"}',
    ),
}


def _column(keys: pa.Array) -> pa.Array:
    """Two maps: the first with one key, the second repeating the key twice."""
    keys = pa.concat_arrays([keys.slice(0, 1), keys])
    return pa.MapArray.from_arrays(pa.array([0, 1, 3], pa.int32()), keys, pa.array([1, 2, 3]))


@pytest.mark.parametrize("kind", list(KEYS))
def test_the_refusal_names_the_key_by_its_text(kind: str) -> None:
    keys, words, value = KEYS[kind]
    batch = pa.record_batch({"c": _column(keys)})
    found = parquet.Values(batch.schema).refusal(batch)
    assert found is not None and found.row == 1, found
    assert f"a map repeats {words}" in found.why, found.why
    assert found.value == value
    for python in ("datetime.", "Decimal(", "b'", "zoneinfo"):
        assert python not in found.why, found.why


def test_the_api_and_the_loader_say_the_same_text(module_lakehouse: Settings) -> None:
    out = io.BytesIO()
    pq.write_table(pa.table({"c": _column(KEYS["timestamp"][0])}), out)
    table = "map_key_text"
    outcome = run(module_lakehouse, [(table, "f.parquet", out.getvalue())], rows=False)[table]
    words = "a map repeats the key 1970-01-01 00:00:00.000001Z:"
    assert outcome.api_status == 422 and words in outcome.api_detail[0]["msg"], outcome.api_detail
    assert outcome.refused is not None and words in outcome.refused["reason"], outcome.refused
    assert "record 2" in outcome.refused["reason"], outcome.refused
