"""Every landing format and its gzip reaches bronze with the right rows, types and columns."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loader_support import bronze, drop

from lakehouse import Ledger, Settings
from loader import Loader

RECORDS = [
    {"id": 1, "name": "ana", "amount": 1.5, "at": "2024-01-02 03:04:05"},
    {"id": 2, "name": "bo, jr", "amount": None, "at": "2024-01-03 00:00:00"},
    {"id": 3, "name": "cé", "amount": 3.0, "at": "2024-01-04 12:00:00"},
]


def _csv(sep: str) -> str:
    head = sep.join(RECORDS[0])
    rows = []
    for r in RECORDS:
        name = f'"{r["name"]}"' if sep in str(r["name"]) else r["name"]
        amount = "" if r["amount"] is None else r["amount"]
        rows.append(sep.join(str(v) for v in (r["id"], name, amount, r["at"])))
    return "\n".join([head, *rows]) + "\n"


def _parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(RECORDS), sink)
    return sink.getvalue()


CONTENT = {
    "csv": _csv(","),
    "tsv": _csv("\t"),
    "json": json.dumps(RECORDS),
    "ndjson": "\n".join(json.dumps(r) for r in RECORDS) + "\n",
    "jsonl": "\n".join(json.dumps(r) for r in RECORDS),
    "parquet": _parquet(),
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("ext", sorted(CONTENT))
def test_each_format_loads(settings: Settings, ext: str, gz: bool) -> None:
    name = f"people.{ext}" + (".gz" if gz else "")
    drop(settings, "people", name, CONTENT[ext])

    summary = Loader(settings).load_pending()

    if ext == "parquet" and gz:  # refused, as the API refuses it (415): it compresses inside
        assert summary.loaded == [] and [f.file for f in summary.quarantined] == [name]
        return

    assert [f.file for f in summary.loaded] == [name]
    assert summary.quarantined == []
    table = bronze(settings, "people").sort_by("id")
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert table.column("name").to_pylist() == ["ana", "bo, jr", "cé"]
    assert table.column("amount").to_pylist() == [1.5, None, 3.0]
    assert pa.types.is_floating(table.schema.field("amount").type)
    assert table.column("_source_file").to_pylist() == [name] * 3
    batch_id = summary.loaded[0].batch_id
    assert table.column("_batch_id").to_pylist() == [batch_id] * 3
    assert table.schema.field("_ingested_at").type == pa.timestamp("us", tz="UTC")
    # the file left the landing zone for the archive
    assert not (settings.raw_dir / "people" / name).exists()
    assert (settings.archive_dir / "people" / name).exists()
    ledger = Ledger(settings.ledger_file).get_batch(batch_id)
    assert ledger is not None and ledger.state == "loaded" and ledger.records == 3
    assert ledger.bronze_version == summary.loaded[0].version


def test_timestamps_are_utc_not_ntz(settings: Settings) -> None:
    drop(settings, "clicks", "e.csv", "id,at\n1,2024-01-02 03:04:05\n2,2024-05-06T07:08:09\n")
    Loader(settings).load_pending()
    table = bronze(settings, "clicks").sort_by("id")
    assert table.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert [t.isoformat() for t in table.column("at").to_pylist()] == [
        "2024-01-02T03:04:05+00:00",
        "2024-05-06T07:08:09+00:00",
    ]
    from deltalake import DeltaTable

    protocol = DeltaTable(str(settings.dados / "bronze" / "clicks")).protocol()
    assert protocol.min_reader_version < 3  # no timestampNtz feature


def test_csv_nulls_and_the_delimiter_rule(settings: Settings) -> None:
    drop(settings, "t", "semi.csv", 'a;b;c\n1;NA;""\n2;;x\n3;N/A;NULL\n')
    Loader(settings).load_pending()
    table = bronze(settings, "t").sort_by("a")
    assert table.column("a").to_pylist() == [1, 2, 3]
    assert table.column("b").to_pylist() == ["NA", None, "N/A"]  # only an unquoted "" is null
    assert table.column("c").to_pylist() == ["", "x", "NULL"]


def test_utf16_with_bom_is_read(settings: Settings) -> None:
    drop(settings, "t", "u16.csv", "a,b\n1,é\n".encode("utf-16"))
    summary = Loader(settings).load_pending()
    assert summary.quarantined == []
    assert bronze(settings, "t").column("b").to_pylist() == ["é"]


def test_nested_json_objects_are_structs_arrays_json_text(settings: Settings) -> None:
    drop(settings, "t", "n.ndjson", '{"id":1,"tags":["a","b"],"o":{"x":1}}\n')
    Loader(settings).load_pending()
    row = bronze(settings, "t").to_pylist()[0]
    assert json.loads(row["tags"]) == ["a", "b"] and row["o"] == {"x": 1}
