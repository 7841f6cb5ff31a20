"""Every loader commit says which files are open after it; the complete version follows from it."""

from __future__ import annotations

import json

import pyarrow as pa
from deltalake import DeltaTable
from loader_support import csv_rows, drop

from lakehouse import Settings, table_path
from lakehouse.complete import COMPLETE_KEY, OPEN_FILES_KEY, complete_version
from loader import Loader
from loader.bronze import COMPLETE, Bronze

A = "bat_" + "a" * 32
B = "bat_" + "b" * 32
C = "bat_" + "c" * 32


def rows(batch_id: str, n: int) -> pa.Table:
    return pa.table({"x": list(range(n)), "_batch_id": [batch_id] * n})


def table(settings: Settings) -> DeltaTable:
    return DeltaTable(str(table_path(settings, "bronze", "t")))


def test_open_files_are_carried_from_commit_to_commit(settings: Settings) -> None:
    bronze = Bronze(settings, "t")
    v0 = bronze.append(rows(C, 2), {C: COMPLETE})  # a small file, whole
    assert complete_version(table(settings)) == v0
    bronze.append(rows(A, 3), {A: 3})  # A's first piece
    bronze.append(rows(B, 3), {B: 3})  # B's first piece
    table(settings).optimize.compact()  # upkeep in between: no metadata, inherits "open"
    bronze.append(rows(A, 1), {A: COMPLETE})  # A's last piece; B still open
    assert complete_version(table(settings)) == v0
    v_end = bronze.append(rows(B, 1), {B: COMPLETE})
    assert complete_version(table(settings)) == v_end

    history = {c["version"]: c for c in table(settings).history()}
    assert json.loads(history[v0 + 2][OPEN_FILES_KEY]) == [A, B]
    assert history[v0 + 2][COMPLETE_KEY] == "false"
    assert OPEN_FILES_KEY not in history[v0 + 3]  # the compaction
    assert json.loads(history[v0 + 4][OPEN_FILES_KEY]) == [B]
    assert history[v_end][COMPLETE_KEY] == "true"

    table(settings).optimize.compact()  # a commit after a complete one is complete too
    assert complete_version(table(settings)) == table(settings).version()


def test_a_rolled_back_file_closes_and_a_first_open_file_has_no_complete_version(
    settings: Settings,
) -> None:
    bronze = Bronze(settings, "t")
    bronze.append(rows(A, 3), {A: 3})
    assert complete_version(table(settings)) is None  # nothing whole to read yet
    v = bronze.roll_back(A)
    assert complete_version(table(settings)) == v
    assert table(settings).to_pyarrow_table().num_rows == 0


def test_a_table_written_before_the_rule_is_complete_up_to_the_first_open_piece(
    settings: Settings,
) -> None:
    path = str(table_path(settings, "bronze", "t"))
    from deltalake import write_deltalake

    for _ in range(3):
        write_deltalake(path, rows(C, 1), mode="append")  # no metadata: an older writer
    assert complete_version(table(settings)) == 2
    Bronze(settings, "t").append(rows(A, 3), {A: 3})
    assert complete_version(table(settings)) == 2


def test_the_loader_marks_the_pieces_of_a_big_file(settings: Settings) -> None:
    settings = settings.model_copy(update={"chunk_rows": 1000, "read_batch_rows": 1024})
    drop(settings, "t", "small.csv", csv_rows(10))
    Loader(settings).load_pending()
    drop(settings, "t", "big.csv", csv_rows(3500, start=10))
    seen: list[tuple[int, int | None, int]] = []

    def after_each_commit(event: object) -> None:
        t = table(settings)
        seen.append((t.version(), complete_version(t), t.to_pyarrow_dataset().count_rows()))

    Loader(settings, on_event=after_each_commit).load_pending()
    first = seen[0][0] - 1  # the version holding the small file only
    assert [(v, c) for v, c, _ in seen] == [
        (first + 1, first),
        (first + 2, first),
        (first + 3, first),
        (first + 4, first + 4),
    ]
    assert [n for _, _, n in seen] == [1010, 2010, 3010, 3510]
    assert (
        DeltaTable(str(table_path(settings, "bronze", "t")), version=first)
        .to_pyarrow_dataset()
        .count_rows()
        == 10
    )


def test_a_table_object_behind_the_log_still_gets_the_right_version(settings: Settings) -> None:
    """deltalake numbers ``history()`` from the version the object holds, not the newest one."""
    bronze = Bronze(settings, "t")
    bronze.append(rows(C, 2), {C: COMPLETE})
    stale = table(settings)  # held at v0 while the loader goes on
    bronze.append(rows(A, 3), {A: 3})
    bronze.append(rows(A, 3), {A: 6})
    done = bronze.append(rows(A, 1), {A: COMPLETE})
    bronze.append(rows(B, 3), {B: 3})
    assert complete_version(stale) == done
    assert stale.version() == done + 1  # brought up to date
