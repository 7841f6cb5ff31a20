"""Many small files go in few commits; a bad one among them is still found and isolated."""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pytest
from loader_support import bronze, csv_rows, drop

from lakehouse import LoadEvent, Settings, dialect
from loader import Loader


def test_a_bad_file_among_many_is_isolated(settings: Settings) -> None:
    settings = settings.model_copy(update={"on_mismatch": "quarantine"})
    drop(settings, "t", "a00.csv", csv_rows(2, start=0))
    for i in range(1, 12):
        drop(settings, "t", f"a{i:02}.csv", csv_rows(2, start=i * 10))
    drop(settings, "t", "a05.csv", "id,name,amount\n50,x,not-a-number\n")  # replaces a05

    summary = Loader(settings).load_pending()

    assert [(q.file, q.kind, q.line) for q in summary.quarantined] == [
        ("a05.csv", "type_conflict", 2)
    ]
    assert len(summary.loaded) == 11 and len(summary.events) == 1
    assert bronze(settings, "t").num_rows == 22


def test_a_key_only_in_a_late_small_file_becomes_a_column(settings: Settings) -> None:
    drop(settings, "t", "first.ndjson", '{"id": 0}\n')
    Loader(settings).load_pending()
    for i in range(1, 60):
        record = {"id": i, "late": "yes"} if i == 55 else {"id": i}
        drop(settings, "t", f"n{i:02}.ndjson", json.dumps(record) + "\n")

    summary = Loader(settings).load_pending()

    assert summary.quarantined == [] and len(summary.loaded) == 59
    table = bronze(settings, "t").sort_by("id")
    assert table.column("late").to_pylist().count("yes") == 1
    assert table.num_rows == 60


def test_many_small_json_files_with_a_type_conflict(settings: Settings) -> None:
    settings = settings.model_copy(update={"on_mismatch": "quarantine"})
    drop(settings, "t", "first.ndjson", '{"id": 0, "v": 1}\n')
    Loader(settings).load_pending()
    for i in range(1, 20):
        v = '"text"' if i == 7 else str(i)
        drop(settings, "t", f"n{i:02}.ndjson", f'{{"id": {i}, "v": {v}}}\n')

    summary = Loader(settings).load_pending()

    assert [(q.file, q.kind) for q in summary.quarantined] == [("n07.ndjson", "type_conflict")]
    assert bronze(settings, "t").num_rows == 19


def test_small_csv_files_together_keep_each_files_quoting(settings: Settings) -> None:
    drop(settings, "p", "0.csv", "id,name,note\n0,zed,z\n")
    Loader(settings).load_pending()  # the table's columns are known: the next ones go together
    drop(settings, "p", "1.csv", "id,name,note\n1,bob,plain\n")
    drop(settings, "p", "2.csv", 'id,name,note\n2,"alice","x"\n')
    drop(settings, "p", "3.csv", 'id,name,note\n3,"a ""quoted"", word",y\n')
    drop(settings, "p", "4.csv", "id,name,note\n4,'carol',NA\n")
    drop(settings, "p", "5.csv", "id,name,note\n5,dan,NA\n")

    summary = Loader(settings).load_pending()

    assert summary.quarantined == [] and len(summary.loaded) == 5
    rows = {r["id"]: (r["name"], r["note"]) for r in bronze(settings, "p").to_pylist()}
    assert rows[1] == ("bob", "plain")
    assert rows[2] == ("alice", "x")  # not '"alice"': the quotes are the file's, not data
    assert rows[3] == ('a "quoted", word', "y")
    assert rows[4] == ("'carol'", "NA")  # the quote is '"', NA is text
    assert rows[5] == ("dan", "NA")


def test_a_key_first_seen_past_the_sampled_records_of_one_file_becomes_a_column(
    settings: Settings,
) -> None:
    """``read_json`` with named columns ignores any other key: the key pass must catch it."""
    from loader.readers import SAMPLE_RECORDS

    n = SAMPLE_RECORDS + 50
    lines = [json.dumps({"id": i, "late": "yes"} if i == n - 1 else {"id": i}) for i in range(n)]
    drop(settings, "t", "big.ndjson", "\n".join(lines) + "\n")

    summary = Loader(settings).load_pending()

    assert summary.quarantined == []
    table = bronze(settings, "t")
    assert table.num_rows == n
    assert table.column("late").to_pylist().count("yes") == 1
    assert table.column("id").to_pylist()[-1] == n - 1


def test_a_late_record_that_is_no_object_or_repeats_a_key_refuses_the_file(
    settings: Settings,
) -> None:
    from loader.readers import SAMPLE_RECORDS

    head = "".join(json.dumps({"id": i}) + "\n" for i in range(SAMPLE_RECORDS + 10))
    drop(settings, "t", "array.ndjson", head + "[1, 2]\n")
    drop(settings, "u", "dup.ndjson", head + '{"id": 1, "id": 2}\n')

    summary = Loader(settings).load_pending()

    found = {(q.file, q.kind, q.line) for q in summary.quarantined}
    assert found == {
        ("array.ndjson", "unparseable", SAMPLE_RECORDS + 11),
        ("dup.ndjson", "unparseable", SAMPLE_RECORDS + 11),
    }
    reasons = {q.file: q.reason for q in summary.quarantined}
    assert reasons["array.ndjson"] == f"line {SAMPLE_RECORDS + 11}: {dialect.NOT_OBJECT}"
    assert "an object repeats the key 'id'" in reasons["dup.ndjson"]  # named, as the API names it
    assert summary.loaded == []


def test_a_key_first_seen_after_committed_pieces_reads_the_file_again(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """DuckDB's detection of the first records' keys refuses a later key mid-file: the pieces
    committed by then are rolled back and the file is read again listing every key."""
    settings = settings.model_copy(update={"chunk_rows": 100_000})
    n = 300_000
    lines = [json.dumps({"id": i, "s": "x"}) for i in range(n)]
    lines.append(json.dumps({"id": n, "late": 1}))
    drop(settings, "t", "late.ndjson", "\n".join(lines) + "\n")

    with caplog.at_level(logging.INFO, logger="loader.loading"):
        summary = Loader(settings).load_pending()

    assert summary.quarantined == []
    assert any("read again" in r.getMessage() for r in caplog.records)
    table = bronze(settings, "t")
    assert table.num_rows == n + 1  # nothing of the first reading kept
    assert sorted(table.column("id").to_pylist()) == list(range(n + 1))
    # typed by the first piece, where it has no value: text (docs/loading.md)
    assert table.column("late").drop_null().to_pylist() == ["1"]


def test_a_resumed_file_read_again_after_a_rollback_starts_from_its_first_row(
    settings: Settings,
) -> None:
    """A rollback deletes every row of the file, an earlier run's pieces too: the reading
    again must not skip the rows that run had committed."""
    from loader.bronze import Bronze
    from loader.landing import identify

    settings = settings.model_copy(update={"chunk_rows": 100_000})
    n = 300_000
    lines = [json.dumps({"id": i, "s": "x"}) for i in range(n + 1)]
    # a number in a text column, in the third piece: read again keeping literals
    lines[250_000] = json.dumps({"id": 250_000, "s": 1.50}).replace("1.5", "1.50")
    path = drop(settings, "t", "late.ndjson", "\n".join(lines) + "\n")
    file = identify(settings, "t", path)
    # a killed run had committed the first piece of it
    first = pa.table(
        {
            "id": pa.array(range(100_000), pa.int64()),
            "s": ["x"] * 100_000,
            "_batch_id": [file.batch_id] * 100_000,
        }
    )
    Bronze(settings, "t").append(first, {file.batch_id: 100_000})

    events: list[LoadEvent] = []
    summary = Loader(settings, on_event=events.append).load_pending()

    assert summary.quarantined == []
    assert [e.rows for e in events][:2] == [100_000, 0]  # a piece, then its roll-back
    table = bronze(settings, "t")
    assert sorted(table.column("id").to_pylist()) == list(range(n + 1))  # the first piece's too
    assert table.column("s").to_pylist().count("1.50") == 1  # as written
