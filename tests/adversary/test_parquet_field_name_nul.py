"""A Parquet struct field whose name holds a NUL: the API took it (202) and bronze stored the
field as the name cut at the NUL (``z\\x00`` as ``z``, without a word); beside a field ``z`` the
loader quarantined the file with delta-rs's "Duplicate field name ... 'z'", a name the file does
not repeat (review finding auditD 07, HIGH). Both refuse it now (API 422, loader
``invalid_column``), naming the column and the field, at any depth, as a column name holding a
control character is refused.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run

from lakehouse.settings import Settings

INT = pa.int64()
CASES = {
    "alone": pa.table(
        {"s": pa.array([{"x": 1, "z\x00": 2}], pa.struct([("x", INT), ("z\x00", INT)]))}
    ),
    "beside_z": pa.table(
        {"s": pa.array([{"z": 1, "z\x00": 2}], pa.struct([("z", INT), ("z\x00", INT)]))}
    ),
    "in_a_list": pa.table(
        {"l": pa.array([[{"a\x00b": 1}]], pa.list_(pa.struct([("a\x00b", INT)])))}
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_field_name_holding_a_nul_is_refused_by_both(
    module_lakehouse: Settings, case: str
) -> None:
    out = io.BytesIO()
    pq.write_table(CASES[case], out)
    table = f"field_nul_{case}"
    outcome = run(module_lakehouse, [(table, "f.parquet", out.getvalue())], rows=False)[table]
    assert outcome.api_status == 422 and "NUL" in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None, "bronze stored the field under another name"
    assert refused["kind"] == "invalid_column" and "NUL" in refused["reason"], refused
