"""A Parquet DECIMAL with a negative scale (review finding revl 12, session 13): pyarrow's
``decimal128(5, -1)`` exists, but the Parquet spec bounds a DECIMAL's scale to 0..precision and
pyarrow's writer refuses to write it; a footer that says so anyway (here a pyarrow file whose
``DECIMAL(5,3)`` is changed to scale -1, in the schema element and its logical type) is refused
by pyarrow's reader. The API (400) and the loader (``unparseable``) refuse it alike, in the
reader's words; nothing is stored. (A contract declaring one: test_contract_yaml_shape.py.)"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import lakehouse, run

#: a schema element's and a DecimalType's scale 3 then precision 5 (Thrift compact, zigzag)
_SCALE_3 = b"\x15\x06\x15\x0a"
_SCALE_MINUS_1 = b"\x15\x01\x15\x0a"


def _negative_scale() -> bytes:
    sink = io.BytesIO()
    table = pa.table({"d": pa.array([Decimal("12.345")], pa.decimal128(5, 3))})
    pq.write_table(table, sink, store_schema=False)
    data = sink.getvalue()
    assert _SCALE_3 in data
    return data.replace(_SCALE_3, _SCALE_MINUS_1)


def test_pyarrow_does_not_write_a_negative_scale() -> None:
    table = pa.table({"d": pa.array([Decimal("12340")], pa.decimal128(5, -1))})
    with pytest.raises(OSError, match="Scale must be a non-negative integer"):
        pq.write_table(table, io.BytesIO())


def test_a_parquet_decimal_of_negative_scale_is_refused(tmp_path: Path) -> None:
    outcome = run(lakehouse(tmp_path), [("neg", "f.parquet", _negative_scale())])["neg"]
    assert outcome.api_status == 400, outcome.api_detail
    assert "Scale must be a non-negative integer" in str(outcome.api_detail)
    assert outcome.refused is not None and outcome.refused["kind"] == "unparseable"
    assert "Scale must be a non-negative integer" in outcome.refused["reason"]
