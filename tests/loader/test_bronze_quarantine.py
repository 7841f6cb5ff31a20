"""Every kind of bad file ends in quarantine with a reason; other files keep flowing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from loader_support import bronze, drop

from lakehouse.ledger import Ledger
from lakehouse.settings import Settings
from loader.bronze import ROLLED_BACK, Bronze
from loader.landing import identify
from loader.service import Loader

BAD = {
    "not parseable json": ("bad.json", b'[{"a": 1}, {"a": ', "unparseable"),
    "not parseable ndjson": ("bad.ndjson", b'{"a": 1}\n{"a": \n', "unparseable"),
    "not records": ("scalars.json", b"[1, 2, 3]", "unparseable"),
    "not parquet": ("fake.parquet", b"this is not parquet at all", "unparseable"),
    "wrong encoding": ("latin1.csv", "a,b\n1,café\n".encode("latin-1"), "encoding"),
    "empty": ("empty.csv", b"", "empty"),
    "empty gzip": ("empty.csv.gz", b"", "empty"),
    "empty json array": ("none.json", b"[]", "empty"),
    "header only": ("header.csv", b"a,b,c\n", "header_only"),
    "column count": ("ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n", "column_count"),
    "too many columns": ("wide.csv", b"a,b\n1,2\n3,4,5\n", "column_count"),
    "unsupported": ("notes.xlsx", b"PK\x03\x04", "unsupported"),
    "reserved column": ("r.csv", b"a,_batch_id\n1,2\n", "invalid_column"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_is_quarantined_with_reason(settings: Settings, case: str) -> None:
    name, content, kind = BAD[case]
    drop(settings, "t", name, content)
    drop(settings, "t", "good.csv", "a,b\n1,2\n")

    summary = Loader(settings).load_pending()

    assert [q.file for q in summary.quarantined] == [name]
    assert summary.quarantined[0].kind == kind
    moved = settings.quarantine_dir / "t" / name
    assert moved.exists() and not (settings.raw_dir / "t" / name).exists()
    error = json.loads((moved.parent / f"{name}.error.json").read_text())
    assert error["kind"] == kind and error["reason"] and error["at"]
    assert error["batch_id"].startswith("bat_")
    batch = Ledger(settings.ledger_file).get_batch(error["batch_id"])
    assert batch is not None and batch.state == "quarantined"
    assert batch.error is not None and batch.error["kind"] == kind
    # the good file beside it was loaded
    assert [f.file for f in summary.loaded] == ["good.csv"]
    assert bronze(settings, "t").num_rows == 1


def test_column_count_names_the_line(settings: Settings) -> None:
    drop(settings, "t", "ragged.csv", "a,b,c\n1,2,3\n4,5\n")
    q = Loader(settings).load_pending().quarantined[0]
    assert q.line == 3 and "3" in q.reason


def test_type_conflict_with_the_table(settings: Settings) -> None:
    drop(settings, "t", "1.csv", "id,amount\n1,10\n")
    Loader(settings).load_pending()
    drop(settings, "t", "2.csv", "id,amount\n2,ten\n")
    drop(settings, "t", "3.ndjson", '{"id": "three", "amount": 3}\n')
    drop(settings, "t", "4.csv", "id,amount\n4,40\n")

    summary = Loader(settings).load_pending()

    kinds = {q.file: (q.kind, q.column, q.line) for q in summary.quarantined}
    assert kinds["2.csv"] == ("type_conflict", "amount", 2)
    assert kinds["3.ndjson"][0] == "type_conflict"
    assert [f.file for f in summary.loaded] == ["4.csv"]
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == [1, 4]


def test_failure_after_committed_pieces_rolls_them_back(settings: Settings) -> None:
    # as if a killed run had committed the first 5 rows of a file that turns out bad later
    rows = [f"{i},{i}" for i in range(9)] + ["9,oops"]
    path = drop(settings, "t", "big.csv", "id,n\n" + "\n".join(rows) + "\n")
    drop(settings, "t", "other.csv", "id,n\n100,100\n")
    file = identify(settings, "t", path)
    first = pa.table({"id": list(range(5)), "n": list(range(5))})
    Bronze(settings, "t").append(
        first.append_column("_batch_id", pa.array([file.batch_id] * 5)), {file.batch_id: 5}
    )

    summary = Loader(settings).load_pending()

    assert [q.file for q in summary.quarantined] == ["big.csv"]
    assert summary.quarantined[0].kind == "type_conflict"
    table = bronze(settings, "t")
    assert table.column("id").to_pylist() == [100]  # the 5 committed rows were deleted
    assert Bronze(settings, "t").watermark(file.batch_id) == ROLLED_BACK


def test_quarantine_keeps_earlier_files_of_the_same_name(settings: Settings) -> None:
    drop(settings, "t", "x.csv", b"")
    Loader(settings).load_pending()
    drop(settings, "t", "x.csv", b"a\n")
    Loader(settings).load_pending()
    names = sorted(p.name for p in Path(settings.quarantine_dir / "t").iterdir())
    assert len([n for n in names if n.endswith("x.csv")]) == 2
    assert len([n for n in names if n.endswith(".error.json")]) == 2


def test_bad_rows_within_tolerance_are_skipped(settings: Settings) -> None:
    tolerant = settings.model_copy(update={"csv_max_bad_rows": 2})
    drop(tolerant, "t", "two-bad.csv", "a,b\n1,2\n3,4,5\n6,7\n8\n9,10\n")
    drop(tolerant, "t", "three-bad.csv", "a,b\n1,2\n3,4,5\n6\n7,8,9\n10,11\n")
    summary = Loader(tolerant).load_pending()
    assert [(q.file, q.kind, q.line) for q in summary.quarantined] == [
        ("three-bad.csv", "column_count", 3)
    ]
    assert sorted(bronze(tolerant, "t").column("a").to_pylist()) == [1, 6, 9]


def test_tolerance_never_covers_a_type_conflict(settings: Settings) -> None:
    tolerant = settings.model_copy(update={"csv_max_bad_rows": 5})
    drop(tolerant, "t", "1.csv", "a,b\n1,2\n")
    Loader(tolerant).load_pending()
    drop(tolerant, "t", "2.csv", "a,b\n3,4\nx,5\n")
    summary = Loader(tolerant).load_pending()
    assert [(q.file, q.kind, q.line, q.column) for q in summary.quarantined] == [
        ("2.csv", "type_conflict", 3, "a")
    ]
    assert bronze(tolerant, "t").num_rows == 1
