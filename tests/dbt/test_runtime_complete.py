"""No build reads part of a file: a big file loads in pieces while builds run.

The real loader commits a big CSV file in pieces of ``chunk_rows``; builds run between its
pieces (from the loader's own event hook, so exactly then) and beside it (a warm Builder fed by
the loader). Every version of every published table must hold a whole number of files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from deltalake import DeltaTable
from runtime_support import bronze_sources, project_settings, write_project

from lakehouse import LoadEvent, Settings
from loader import Loader
from transform import Builder, BuildResult, DbtSession

MODELS = {
    "models/staging/_sources.yml": bronze_sources("items", "first_big"),
    "models/staging/stg_items.sql": """
        select cast(item_id as bigint) as item_id, cast(qty as bigint) as qty
        from {{ source('bronze', 'items') }}
    """,
    "models/staging/stg_first_big.sql": """
        select cast(item_id as bigint) as item_id from {{ source('bronze', 'first_big') }}
    """,
    "models/marts/item_totals.sql": """
        select count(*) as items, sum(qty) as qty from {{ ref('stg_items') }}
    """,
}


def drop_items(settings: Settings, table: str, name: str, first: int, count: int) -> None:
    folder = settings.raw_dir / table
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["item_id,qty", *(f"{i},{i % 7 + 1}" for i in range(first, first + count))]
    tmp = folder / f".{name}.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.rename(folder / name)


def versions(settings: Settings, target: str) -> list[int]:
    """The row count of every version of a published table (``count(*)`` for the mart)."""
    path = str(settings.dados / target)
    latest = DeltaTable(path).version()
    counts = []
    for v in range(latest + 1):
        data = DeltaTable(path, version=v).to_pyarrow_table()
        counts.append(int(data["items"][0].as_py()) if "items" in data.column_names else len(data))
    return counts


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Each test's own project and lakehouse: a test sets up the files it starts from."""
    base = project_settings(tmp_path, write_project(tmp_path / "project", MODELS), target="dev")
    yield base.model_copy(update={"chunk_rows": 1000, "read_batch_rows": 1024})


def load_whole(settings: Settings, files: list[tuple[str, int, int]]) -> None:
    """Items ``(name, first, count)`` loaded with no build between their pieces."""
    for name, first, count in files:
        drop_items(settings, "items", name, first, count)
    Loader(settings).load_pending()


@pytest.mark.slow
def test_a_build_between_pieces_reads_the_last_complete_version(settings: Settings) -> None:
    session = DbtSession(settings)
    drop_items(settings, "items", "small.csv", 0, 500)
    Loader(settings).load_pending()
    assert session.build().success
    assert versions(settings, "silver/stg_items") == [500]

    drop_items(settings, "items", "big.csv", 500, 3500)  # 4 pieces: 1000, 1000, 1000, 500
    drop_items(settings, "first_big", "first.csv", 0, 2500)  # a table whose first file is big
    between: list[tuple[LoadEvent, BuildResult]] = []

    def build_now(event: LoadEvent) -> None:  # the loader waits: the build runs between pieces
        between.append((event, session.build()))

    Loader(settings, on_event=build_now).load_pending()
    pieces = {t: [e.rows for e, _ in between if e.table == t] for t in ("items", "first_big")}
    assert pieces == {"items": [1000, 1000, 1000, 500], "first_big": [1000, 1000, 500]}
    for event, result in between:
        assert result.success, result.error
        last_piece = event.rows < 1000
        if event.table == "items":  # the small file's version until the big file's last piece
            assert (result.pinned["items"] == 0) is not last_piece, result.pinned
            assert bool(result.held_back.get("items")) is not last_piece
        else:  # no complete version before its last piece: left out of the build
            assert ("first_big" in result.pinned) is last_piece, result.pinned
    assert set(versions(settings, "silver/stg_items")) == {500, 4000}  # never a piece
    assert set(versions(settings, "gold/item_totals")) == {500, 4000}
    assert versions(settings, "silver/stg_first_big") == [2500]

    done = session.build()
    assert done.success, done.error
    assert versions(settings, "silver/stg_items")[-1] == 4000
    assert done.held_back == {}


def test_a_running_builder_never_publishes_part_of_a_file(settings: Settings) -> None:
    load_whole(settings, [("small.csv", 0, 500), ("big.csv", 500, 3500)])  # 4,000 rows, whole
    no_settle = settings.model_copy(update={"build_settle_ms": 0, "build_settle_max_ms": 0})
    builder = Builder(no_settle, attempts=2, backoff_s=0.05, max_backoff_s=0.1)
    builder.start()
    try:
        # every commit triggers a build here, pieces included (as another table's files
        # arriving meanwhile would): only the pin keeps the pieces out of them
        loader = Loader(settings, on_event=lambda e: builder.submit(replace(e, complete=True)))
        drop_items(settings, "items", "big-2.csv", 4000, 5500)  # 6 pieces, builds beside them
        loader.load_pending()
        drop_items(settings, "items", "big-3.csv", 9500, 2200)  # 3 pieces
        loader.load_pending()
        assert builder.wait_idle(180)
    finally:
        builder.stop()
    assert builder.builds >= 2
    whole = {500, 4000, 9500, 11700}  # the row counts that hold whole files only
    for target in ("silver/stg_items", "gold/item_totals"):
        counts = versions(settings, target)
        assert set(counts) <= whole, (target, counts)
        assert counts[-1] == 11700


def test_the_builder_waits_for_the_last_piece(settings: Settings) -> None:
    load_whole(settings, [("small.csv", 0, 500), ("big.csv", 500, 3500), ("big-2.csv", 4000, 7700)])
    first = DbtSession(settings).build()
    assert first.success, first.error
    assert versions(settings, "silver/stg_items") == [11700]
    builder = Builder(settings, attempts=1)
    builder.start()
    try:
        events: list[LoadEvent] = []

        def submit(event: LoadEvent) -> None:
            events.append(event)
            builder.submit(event)

        before = versions(settings, "silver/stg_items")
        drop_items(settings, "items", "big-4.csv", 11700, 3300)  # 4 pieces
        Loader(settings, on_event=submit).load_pending()
        assert builder.wait_idle(180)
    finally:
        builder.stop()
    assert [e.complete for e in events] == [False, False, False, True]
    assert builder.builds == 1  # one build, after the last piece
    assert versions(settings, "silver/stg_items") == [*before, 15000]
