"""Arrow types pyarrow keeps in a Parquet file's Arrow schema that Delta does not hold
(``docs/loading.md``, Parquet): ``decimal32``/``decimal64`` are stored as the Delta decimal of
the same precision and scale, and list views as lists, at any depth, alike in the API's check
and the loader. Before, the API answered 202 and the loader refused the file ("Invalid data type
for Delta Lake: Decimal32(5, 2)"; a list view: an untrue "record 2 or after" reason) (review
finding auditL 08).
"""

from __future__ import annotations

import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings

VALUES = [Decimal("1.23"), None, Decimal("-999.99")]


def _loaded(settings: Settings, table: str, data: pa.Table) -> pa.Table:
    out = io.BytesIO()
    pq.write_table(data, out)
    outcome = run(settings, [(table, "f.parquet", out.getvalue())], rows=False)[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    return bronze_table(settings, table).select(data.column_names)


@pytest.mark.parametrize("width", [pa.decimal32, pa.decimal64, pa.decimal128, pa.decimal256])
def test_every_decimal_width_at_any_depth(module_lakehouse: Settings, width: object) -> None:
    kind = width(5, 2)  # type: ignore[operator]
    data = pa.table(
        {
            "i": [0, 1, 2],
            "d": pa.array(VALUES, kind),
            "s": pa.array([{"d": v} for v in VALUES], pa.struct([("d", kind)])),
            "l": pa.array([[v] for v in VALUES], pa.list_(kind)),
            "m": pa.array([[("k", v)] for v in VALUES], pa.map_(pa.string(), kind)),
        }
    )
    stored = _loaded(module_lakehouse, f"widths_{kind.id}", data)
    assert stored.schema.field("d").type == pa.decimal128(5, 2)
    rows = sorted(stored.to_pylist(), key=lambda r: r["i"])
    assert [r["d"] for r in rows] == VALUES
    assert [r["s"] for r in rows] == [{"d": v} for v in VALUES]
    assert [r["l"] for r in rows] == [[v] for v in VALUES]
    assert [r["m"] for r in rows] == [[("k", v)] for v in VALUES]


@pytest.mark.parametrize(
    "kind",
    [
        pa.list_(pa.int64()),
        pa.large_list(pa.int64()),
        pa.list_view(pa.int64()),
        pa.large_list_view(pa.int64()),
        pa.list_(pa.list_view(pa.decimal32(5, 2))),
    ],
    ids=["list", "large_list", "list_view", "large_list_view", "list_of_views_of_decimal32"],
)
def test_every_list_flavour(module_lakehouse: Settings, kind: pa.DataType) -> None:
    if pa.types.is_list(kind) and pa.types.is_list_view(kind.value_type):
        values: list[object] = [[[Decimal("1.50")], None], None, [[]]]
    else:
        values = [[1, 2], None, [], [3]]
    data = pa.table({"i": list(range(len(values))), "c": pa.array(values, kind)})
    stored = _loaded(module_lakehouse, f"lists_{abs(hash(str(kind))) % 10**8}", data)
    rows = sorted(stored.to_pylist(), key=lambda r: r["i"])
    assert [r["c"] for r in rows] == values
