"""Arrow's decimal32/decimal64 and list views in Parquet (pyarrow writes them keeping the type in
``ARROW:schema``, and reads them back as such): bronze stores a decimal32/64 as the decimal128
of its precision and scale (every value exactly) and a list view as a list, at any depth, alike
in the API's check and the loader. Before, the API took such a file (202) and the loader
refused it: "Invalid data type for Delta Lake: Decimal32(5, 2)", and for a list view an untrue
"a value of record 2 or after cannot be stored" (review finding auditL 08).
"""

from __future__ import annotations

import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, declare, run

from lakehouse import parquet
from lakehouse.settings import Settings

_D32 = [Decimal("1.23"), Decimal("-0.01"), None, Decimal("9999999.99"), Decimal("-9999999.99")]
_D64 = [Decimal("0.000000001"), None, Decimal("-999999999.999999999"), Decimal("0E-9")]


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _file() -> pa.Table:
    d32 = pa.decimal32(9, 2)
    d64 = pa.decimal64(18, 9)
    entry = pa.struct([("d", d32), ("l", pa.list_view(d64))])
    return pa.table(
        {
            "i": pa.array(range(5), pa.int64()),
            "d32": pa.array(_D32, d32),
            "d64": pa.array([*_D64, None], d64),
            "lv": pa.array([[1, 2], None, [], [3], [None, 4]], pa.list_view(pa.int64())),
            "llv": pa.array([["a"], ["b", "c"], None, [], ["d"]], pa.large_list_view(pa.string())),
            "s": pa.array(
                [
                    {"d": Decimal("0.05"), "l": [Decimal("1.5"), None]},
                    None,
                    {"d": None, "l": None},
                    {"d": Decimal("-3.00"), "l": []},
                    {"d": Decimal("7.10"), "l": [Decimal("-0.000000001")]},
                ],
                entry,
            ),
            "m": pa.array(
                [[("k", Decimal("1.0"))], None, [], [("a", None)], [("z", Decimal("-2.5"))]],
                pa.map_(pa.string(), pa.decimal64(10, 1)),
            ),
        }
    )


def test_narrow_decimals_and_list_views_load_exactly(module_lakehouse: Settings) -> None:
    written = _file()
    data = _parquet(written)
    assert pq.read_table(io.BytesIO(data)).schema.equals(written.schema)  # read back as such
    table = "narrow_decimals"
    outcome = run(module_lakehouse, [(table, "f.parquet", data)], rows=False)[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    stored = bronze_table(module_lakehouse, table).sort_by("i")
    assert stored.schema.field("d32").type == pa.decimal128(9, 2)
    assert stored.schema.field("d64").type == pa.decimal128(18, 9)
    assert stored.schema.field("lv").type == pa.list_(pa.int64())
    assert stored.schema.field("s").type == pa.struct(
        [("d", pa.decimal128(9, 2)), ("l", pa.list_(pa.decimal128(18, 9)))]
    )
    assert stored.schema.field("m").type.item_type == pa.decimal128(10, 1)
    for name in ("d32", "d64", "lv", "llv", "s", "m"):
        assert stored.column(name).to_pylist() == written.column(name).to_pylist(), name


def test_a_later_file_of_narrow_decimals_joins_the_table(module_lakehouse: Settings) -> None:
    """decimal32(9, 2) into a table's decimal(9, 2) column, and into a declared decimal(12, 2)."""
    table = "narrow_decimals_join"
    declare(module_lakehouse, table, {"wide": "decimal(12,2)"}, "quarantine")
    first = pa.table({"d": pa.array([Decimal("1.00")], pa.decimal128(9, 2)), "wide": ["2.00"]})
    run(module_lakehouse, [(table, "a.parquet", _parquet(first))], rows=False)
    later = pa.table(
        {
            "d": pa.array([Decimal("-7.25"), None], pa.decimal32(9, 2)),
            "wide": pa.array([Decimal("12.50"), Decimal("-0.01")], pa.decimal64(4, 2)),
        }
    )
    outcome = run(module_lakehouse, [(table, "b.parquet", _parquet(later))], rows=False)[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = bronze_table(module_lakehouse, table).to_pylist()
    pairs = {(r["d"], r["wide"]) for r in rows}
    assert pairs == {
        (Decimal("1.00"), Decimal("2.00")),
        (Decimal("-7.25"), Decimal("12.50")),
        (None, Decimal("-0.01")),
    }


@pytest.mark.parametrize("large", [False, True])
def test_a_list_view_out_of_order_reads_as_its_lists(large: bool) -> None:
    """A list view's views may overlap and come in any order: each list is its own values."""
    kind = pa.LargeListViewArray if large else pa.ListViewArray
    width = pa.int64() if large else pa.int32()
    values = pa.array([10, 11, 12, 13, 14], pa.int64())
    views = kind.from_arrays(
        pa.array([3, 0, 1, 4], width),
        pa.array([2, 3, 0, 1], width),
        values,
        mask=pa.array([False, False, True, False]),
    )
    plain = parquet.plain_values(views)
    assert plain.type == (pa.large_list(pa.int64()) if large else pa.list_(pa.int64()))
    assert plain.to_pylist() == [[13, 14], [10, 11, 12], None, [14]]
    assert plain.to_pylist() == views.to_pylist()
