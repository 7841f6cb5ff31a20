"""The type rule between a file and its bronze table (``lakehouse.dialect``, ``loader.schema``)."""

from __future__ import annotations

import io
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loader_support import bronze, drop

from lakehouse import Settings
from loader import Loader
from loader.landing import prune_archive
from loader.schema import normalize_type, widens_to


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_new_columns_are_added_and_old_ones_kept(settings: Settings) -> None:
    drop(settings, "t", "1.csv", "id,a\n1,x\n")
    Loader(settings).load_pending()
    drop(settings, "t", "2.csv", "id,b\n2,3.5\n")
    Loader(settings).load_pending()
    table = bronze(settings, "t").sort_by("id")
    assert table.column("a").to_pylist() == ["x", None]
    assert table.column("b").to_pylist() == [None, 3.5]


def test_narrower_values_widen_to_the_table_type(settings: Settings) -> None:
    drop(settings, "t", "1.csv", "id,amount\n1,1.5\n")
    Loader(settings).load_pending()
    small = pa.table({"id": pa.array([2], pa.int16()), "amount": pa.array([7], pa.int32())})
    drop(settings, "t", "2.parquet", _parquet(small))
    drop(settings, "t", "3.csv", "id,amount\n3,8\n")  # an integer-looking CSV column
    summary = Loader(settings).load_pending()
    assert summary.quarantined == []
    table = bronze(settings, "t").sort_by("id")
    assert table.schema.field("amount").type == pa.float64()
    assert table.schema.field("id").type == pa.int64()
    assert table.column("amount").to_pylist() == [1.5, 7.0, 8.0]


def test_a_wider_or_other_type_is_quarantined(settings: Settings) -> None:
    settings = settings.model_copy(update={"on_mismatch": "quarantine"})
    drop(settings, "t", "1.csv", "id,code\n1,7\n")
    Loader(settings).load_pending()
    other = pa.table({"id": [2], "code": ["x7"]})
    drop(settings, "t", "2.parquet", _parquet(other))
    wider = pa.table({"id": [3], "code": [7.5]})
    drop(settings, "t", "3.parquet", _parquet(wider))
    summary = Loader(settings).load_pending()
    assert {q.file: q.kind for q in summary.quarantined} == {
        "2.parquet": "type_conflict",
        "3.parquet": "type_conflict",
    }
    assert all(q.column == "code" for q in summary.quarantined)
    assert bronze(settings, "t").num_rows == 1


def test_no_value_is_rounded_into_an_integer_column(settings: Settings) -> None:
    # DuckDB's readers would round these (1.5 -> 2, "2.5" -> 3), typed by the table or sniffed
    settings = settings.model_copy(update={"on_mismatch": "quarantine"})
    drop(settings, "t", "1.ndjson", '{"id": 1, "amount": 1}\n')
    Loader(settings).load_pending()
    drop(settings, "t", "2.ndjson", '{"id": 2, "amount": 1.5}\n')
    drop(settings, "t", "3.csv", "id,amount\n3,2.5\n")
    drop(settings, "t", "4.csv", "id,amount\n4,abc\n")
    drop(settings, "t", "5.csv", "id,amount\n5,-7\n")
    late = "".join(f"{i},{i}\n" for i in range(100, 30_100)) + "30100,0.5\n"
    drop(settings, "u", "1.csv", "id,amount\n" + late)  # every value types the column
    summary = Loader(settings).load_pending()
    assert {(q.table, q.file): q.kind for q in summary.quarantined} == {
        ("t", "2.ndjson"): "type_conflict",
        ("t", "3.csv"): "type_conflict",
        ("t", "4.csv"): "type_conflict",
    }
    assert bronze(settings, "u").schema.field("amount").type == pa.float64()
    assert {q.column for q in summary.quarantined} == {"amount"}
    assert any("1.5" in q.reason for q in summary.quarantined)
    table = bronze(settings, "t").sort_by("id")
    assert table.column("amount").to_pylist() == [1, -7]


def test_leading_zeros_stay_text(settings: Settings) -> None:
    drop(settings, "t", "zip.csv", "zip\n08123\n00501\n")
    Loader(settings).load_pending()
    assert bronze(settings, "t").column("zip").to_pylist() == ["08123", "00501"]


def test_a_column_without_a_value_is_text_never_dropped(settings: Settings) -> None:
    drop(settings, "t", "1.ndjson", '{"id": 1, "later": null}\n')
    Loader(settings).load_pending()
    assert bronze(settings, "t").schema.field("later").type == pa.string()
    drop(settings, "t", "2.ndjson", '{"id": 2, "later": 5}\n')
    Loader(settings).load_pending()
    assert bronze(settings, "t").sort_by("id").column("later").to_pylist() == [None, "5"]


@pytest.mark.parametrize(
    ("arrow", "stored"),
    [
        (pa.timestamp("ns"), pa.timestamp("us", tz="UTC")),
        (pa.timestamp("s", tz="Europe/Lisbon"), pa.timestamp("us", tz="UTC")),
        (pa.time64("us"), pa.string()),
        (pa.uint32(), pa.int64()),
        (pa.uint64(), pa.decimal128(20, 0)),
        (pa.dictionary(pa.int8(), pa.large_string()), pa.string()),
        (pa.list_(pa.timestamp("ms")), pa.list_(pa.timestamp("us", tz="UTC"))),
    ],
)
def test_normalize_type(arrow: pa.DataType, stored: pa.DataType) -> None:
    assert normalize_type(arrow) == stored


def test_widening_rule() -> None:
    assert widens_to(pa.int8(), pa.int64()) and widens_to(pa.int32(), pa.float64())
    assert not widens_to(pa.int64(), pa.float64())  # 2**53 + 1 is no double
    assert widens_to(pa.null(), pa.string()) and widens_to(pa.float32(), pa.float64())
    assert not widens_to(pa.int64(), pa.int32()) and not widens_to(pa.float64(), pa.int64())
    assert not widens_to(pa.int64(), pa.string()) and not widens_to(pa.string(), pa.int64())


def test_archive_retention_and_delete_mode(settings: Settings) -> None:
    drop(settings, "t", "old.csv", "id\n1\n")
    Loader(settings).load_pending()
    archived = settings.archive_dir / "t" / "old.csv"
    assert archived.exists()
    assert prune_archive(settings, now=time.time() + 6 * 86400) == 0
    assert prune_archive(settings, now=time.time() + 8 * 86400) == 1
    assert not archived.exists()
    deleting = settings.model_copy(update={"loaded_files": "delete"})
    drop(deleting, "t", "gone.csv", "id\n2\n")
    Loader(deleting).load_pending()
    assert not (settings.raw_dir / "t" / "gone.csv").exists()
    assert not (settings.archive_dir / "t" / "gone.csv").exists()
    assert bronze(settings, "t").num_rows == 2


def test_a_json_key_of_mixed_types_is_text_without_json_quotes(settings: Settings) -> None:
    drop(settings, "t", "mixed.ndjson", '{"a":1,"b":"p"}\n{"a":"x","b":"q"}\n')
    first = Loader(settings).load_pending()
    drop(settings, "t", "later.ndjson", '{"a":"y","b":"r"}\n')
    later = Loader(settings).load_pending()

    assert len(first.loaded) == 1 and len(later.loaded) == 1
    table = bronze(settings, "t")
    assert table.schema.field("a").type == pa.string()
    files, values = table.column("_source_file").to_pylist(), table.column("a").to_pylist()
    by_file = sorted(zip(files, values, strict=True))
    # the same string is 'x' whichever file brings it (not '"x"', JSON text)
    assert by_file == [("later.ndjson", "y"), ("mixed.ndjson", "1"), ("mixed.ndjson", "x")]
