"""Every kind of bad file ends in quarantine with a reason; other files keep flowing."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loader_support import bronze, drop

from lakehouse import Ledger, Settings
from loader import Loader
from loader.bronze import ROLLED_BACK, Bronze
from loader.exceptions import FileRejected
from loader.fitting import Typer
from loader.landing import identify
from loader.loading import _cast_refused
from loader.schema import parquet_plans

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
    settings = settings.model_copy(update={"on_mismatch": "quarantine"})
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
    settings = settings.model_copy(update={"on_mismatch": "quarantine"})
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


def _parquet_bytes(table: pa.Table) -> bytes:
    import io

    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_a_column_differing_only_by_case_is_quarantined(settings: Settings) -> None:
    drop(settings, "o", "a.csv", "id,amount\n1,2\n")
    Loader(settings).load_pending()
    drop(settings, "o", "b.csv", "id,Amount\n2,3\n")
    drop(settings, "o", "c.csv", "id,amount\n3,4\n")

    summary = Loader(settings).load_pending()  # used to raise, every pass, loading nothing

    assert [(q.file, q.kind, q.column) for q in summary.quarantined] == [
        ("b.csv", "invalid_column", "Amount")
    ]
    assert "only by case" in summary.quarantined[0].reason
    assert [f.file for f in summary.loaded] == ["c.csv"]
    assert sorted(bronze(settings, "o").column("id").to_pylist()) == [1, 3]
    assert not any((settings.raw_dir / "o").iterdir())


def test_decimal256_is_stored_as_decimal_or_refused_past_38_digits(settings: Settings) -> None:
    from decimal import Decimal

    fits = pa.table({"x": pa.array([Decimal("1.50")], pa.decimal256(20, 2))})
    wide = pa.table({"x": pa.array([Decimal("1.50")], pa.decimal256(40, 2))})
    drop(settings, "d", "fits.parquet", _parquet_bytes(fits))
    drop(settings, "w", "wide.parquet", _parquet_bytes(wide))

    summary = Loader(settings).load_pending()

    assert [f.file for f in summary.loaded] == ["fits.parquet"]
    assert bronze(settings, "d").column("x").to_pylist() == [Decimal("1.50")]
    assert bronze(settings, "d").schema.field("x").type == pa.decimal128(20, 2)
    [q] = summary.quarantined
    assert (q.file, q.kind, q.column) == ("wide.parquet", "type_conflict", "x")


def test_a_file_failing_a_shared_commit_is_quarantined_alone(settings: Settings) -> None:
    good = pa.table({"id": [1], "n": pa.array([{"a": 1}], pa.struct([("a", pa.int64())]))})
    # struct fields equal but for case: refused before the write since f8bb153 (auditC 10; it
    # was Delta's refusal of the shared commit, then of the file alone), the others still load
    nested = pa.struct([("a", pa.int64()), ("A", pa.int64())])
    bad = pa.table({"id": [2], "m": pa.array([{"a": 1, "A": 2}], nested)})
    drop(settings, "t", "good1.parquet", _parquet_bytes(good))
    drop(settings, "t", "bad.parquet", _parquet_bytes(bad))
    drop(settings, "t", "good2.parquet", _parquet_bytes(good.set_column(0, "id", pa.array([3]))))
    paths = [settings.raw_dir / "t" / n for n in ("good1.parquet", "bad.parquet", "good2.parquet")]

    summary = Loader(settings).load_files("t", paths)

    assert [(q.file, q.kind) for q in summary.quarantined] == [("bad.parquet", "invalid_column")]
    assert "holds the fields 'a' and 'A', equal but for case" in summary.quarantined[0].reason
    assert sorted(f.file for f in summary.loaded) == ["good1.parquet", "good2.parquet"]
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == [1, 3]
    assert not any((settings.raw_dir / "t").iterdir())


def test_json_keys_differing_only_by_case_are_quarantined(settings: Settings) -> None:
    drop(settings, "c", "ok.ndjson", '{"a":1,"a_1":5}\n')  # a key really named a_1 is fine
    drop(settings, "c", "same-object.ndjson", '{"a":1,"A":2}\n')
    drop(settings, "c", "two-objects.json", '[{"b":1},{"B":2}]')
    drop(settings, "c", "gzipped.ndjson.gz", '{"a":1,"A":2}\n')

    summary = Loader(settings).load_pending()

    assert [f.file for f in summary.loaded] == ["ok.ndjson"]
    refused = sorted((q.file, q.kind, q.column) for q in summary.quarantined)
    assert refused == [
        ("gzipped.ndjson.gz", "invalid_column", "A"),
        ("same-object.ndjson", "invalid_column", "A"),
        ("two-objects.json", "invalid_column", "B"),
    ]
    assert all("only by case" in q.reason for q in summary.quarantined)
    assert bronze(settings, "c").select(["a", "a_1"]).to_pylist() == [{"a": 1, "a_1": 5}]


def test_a_failure_after_a_shared_commit_is_not_retried_as_a_write(settings: Settings) -> None:
    from loader.landing import archive_dir

    drop(settings, "t", "a.csv", "id,v\n1,1\n")
    drop(settings, "t", "b.csv", "id,v\n2,2\n")
    blocked = archive_dir(settings, "t")
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("not a folder")  # archiving fails after the commit

    held = Loader(settings).load_pending().held  # the pass goes on: the files are held
    assert sorted(h.file for h in held) == ["a.csv", "b.csv"]
    assert all("Not a directory" in h.reason or "exists" in h.reason for h in held), held

    assert sorted(bronze(settings, "t").column("id").to_pylist()) == [1, 2]  # once each


def _parquet(table: pa.Table, **options: Any) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **options)
    return out.getvalue()


def test_a_parquet_value_bronze_cannot_hold_in_a_later_piece_is_rolled_back(
    settings: Settings,
) -> None:
    """A timestamp[ms] of 10**17 (past what microseconds hold) in the last row group, pieces
    of 2000 rows: the cast to microseconds raised ArrowInvalid out of ``load_pending`` after
    pieces were committed, the file left open in the landing zone, the same crash on every
    pass. Now the file is quarantined and its pieces rolled back."""
    settings = settings.model_copy(update={"chunk_rows": 2000, "read_batch_rows": 1024})
    n = 20_000
    stamps = pa.array([0] * (n - 1) + [10**17], pa.timestamp("ms"))
    data = _parquet(pa.table({"i": pa.array(range(n)), "t": stamps}), row_group_size=2000)
    path = drop(settings, "t", "late.parquet", data)
    file = identify(settings, "t", path)

    summary = Loader(settings).load_pending()

    assert [(q.file, q.kind, q.column) for q in summary.quarantined] == [
        ("late.parquet", "type_conflict", "t")
    ]
    assert summary.quarantined[0].reason.startswith("record 20000, column 't': a timestamp")
    assert not path.exists()
    # pieces were committed (the reading runs at most a few batches ahead of the writing)
    assert Bronze(settings, "t").watermark(file.batch_id) == ROLLED_BACK
    assert bronze(settings, "t").num_rows == 0
    assert not Loader(settings).load_pending().quarantined  # nothing left to crash on


def test_an_arrow_refusal_while_typing_parquet_is_a_quarantine_reason() -> None:
    """Whatever Arrow refuses to cast while a Parquet batch is typed (``ArrowInvalid``) refuses
    the file; it is not raised out of the loader. Here the typing is handed a value the
    landing dialect's checks (``lakehouse.parquet.Values``) refuse before."""
    batch = pa.record_batch({"t": pa.array([0, 10**17], pa.timestamp("ms"))})
    typer = Typer(parquet_plans(batch.schema, {}, {}), "quarantine")
    with pytest.raises(pa.ArrowInvalid):
        typer.apply(batch)
    typer = Typer(parquet_plans(batch.schema, {}, {}), "quarantine")
    with pytest.raises(FileRejected) as refused:
        list(_cast_refused(typer, (typer.apply(b) for b in [batch])))
    assert refused.value.kind == "type_conflict"
    assert refused.value.reason.startswith("a value of record 1 or after cannot be stored")


def test_any_arrow_error_while_typing_parquet_is_a_quarantine_reason() -> None:
    """Not only ``ArrowInvalid``: a cast Arrow does not implement (a plan paired with another
    column, as an empty Parquet group once made happen) refuses the file, never stops the
    pass."""
    batch = pa.record_batch({"t": pa.array([1, 2], pa.int32())})
    plans = parquet_plans(pa.schema([("t", pa.struct([("a", pa.int32())]))]), {}, {})
    typer = Typer(plans, "quarantine")
    with pytest.raises(FileRejected) as refused:
        list(_cast_refused(typer, (typer.apply(b) for b in [batch])))
    assert refused.value.kind == "type_conflict"
