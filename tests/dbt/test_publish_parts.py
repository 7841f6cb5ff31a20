"""A rewrite written as key ranges instead of sorted (transform.publish.key_parts): every row
published exactly once, files with disjoint key ranges, and nothing committed on a miscount."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from lakehouse import Settings
from transform import delta_files, publish
from transform.publish import ModelSpec, Publisher, key_parts


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    yield con
    con.close()


def _spy_key_parts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every ``publish.key_parts`` answer of the test, in order (the real function runs)."""
    cut: list[object] = []
    real = publish.key_parts

    def spy(*args: object) -> object:
        cut.append(real(*args))  # type: ignore[arg-type]
        return cut[-1]

    monkeypatch.setattr(publish, "key_parts", spy)
    return cut


def spec(name: str) -> ModelSpec:
    return ModelSpec(
        unique_id=f"model.lakehouse.{name}",
        name=name,
        relation=f"main.{name}",
        layer="silver",
        unique_key=("k",),
    )


@st.composite
def row_groups(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """Row groups of a key nearly in order (some displaced, some overlapping), or not at all."""
    count = draw(st.integers(1, 40))
    groups = []
    for i in range(count):
        if draw(st.booleans()) and draw(st.booleans()):  # a displaced or wide group
            lo = draw(st.integers(-50, 50 * count))
            hi = lo + draw(st.integers(0, 200))
        else:
            lo = i * 50 + draw(st.integers(-5, 5))
            hi = lo + draw(st.integers(0, 49))
        groups.append((lo, hi, draw(st.integers(0, 100))))
    return groups


@hypothesis_settings(max_examples=400, deadline=None)
@given(groups=row_groups(), per_file=st.integers(1, 600))
def test_key_parts_cover_every_key_once_reading_each_row_about_once(
    groups: list[tuple[int, int, int]], per_file: int
) -> None:
    ranges = key_parts(groups, per_file)
    if ranges is None:
        return
    total = sum(n for *_, n in groups)
    if ranges == [(None, None)]:  # one part, as the rows fit in one, nearly in order
        assert total <= per_file and key_parts(groups, -(-total // 2)) is not None
        return
    # from below the least key to above the greatest, each cut the start of the next range
    assert ranges[0][0] is None and ranges[-1][1] is None and len(ranges) >= 2
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    cuts = [high for _, high in ranges[:-1]]
    assert all(isinstance(c, int) for c in cuts)
    assert all(a < b for a, b in itertools.pairwise(cuts))  # type: ignore[operator]  # ints
    # every row with a key falls in exactly one range
    for lo, _, n in groups:
        if n:
            inside = [(a, b) for a, b in ranges if (a is None or lo >= a) and (b is None or lo < b)]
            assert len(inside) == 1
    # the parts read their row groups about once, and there are enough of them
    read = sum(
        n
        for lo, hi, n in groups
        if n
        for a, b in ranges
        if (a is None or hi >= a) and (b is None or lo < b)
    )
    assert read <= publish.PARTS_READ * total
    assert total > per_file


def test_key_parts_leave_sorting_to_a_sort_when_rows_are_not_nearly_in_order() -> None:
    wide = [(0, 1000, 100), (1, 999, 100), (2, 998, 100)]  # every part would read every group
    assert key_parts(wide, 100) is None
    # rows that fit in one file: one part in their own order when nearly in order, else sorted
    assert key_parts([(10, 19, 100), (0, 9, 100)], 1000) == [(None, None)]
    assert key_parts(wide, 1000) is None
    ordered = [(i * 100, i * 100 + 99, 100) for i in range(10)]  # in any order
    assert key_parts(ordered[::-1], 300) == [(None, 250), (250, 500), (500, 750), (750, None)]
    # a wide group among narrow ones is read by every part it meets, and no more
    assert key_parts([*ordered, (0, 999, 10)], 300) is not None


#: row orders of a key nearly in order: a block moved ahead (row groups that overlap), and
#: what DuckDB's parallel ``create table as`` over several bronze files leaves (the newest
#: keys first, a few rows far from their place, so a group spans every key)
LAYOUTS = {
    "block moved": "case when i between 100000 and 101000 then 130000.5 else i end",
    "newest first": "case when i >= 400000 then i - 1000000 when i % 50000 = 7 then 1000000 + i"
    " else i end",
}


def nearly_ordered(conn: duckdb.DuckDBPyConnection, name: str, rows: int, order: str) -> None:
    """Keys 0..rows-1 in ``order``, with a repeated key and NULL keys."""
    conn.execute(
        f"create table {name} as select case when i % 9973 = 0 then null"
        f" when i = {rows} then 5 else i end as k, 'v' || i::varchar as v"
        f" from range({int(rows) + 1}) t(i) order by case when i = {rows} then 5.5"
        f" else {order} end"
    )


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_nearly_ordered_model_is_published_as_key_ranges_exactly(
    settings: Settings,
    conn: duckdb.DuckDBPyConnection,
    monkeypatch: pytest.MonkeyPatch,
    layout: str,
) -> None:
    """Every row of the model published exactly once (NULL keys and a repeated key too), in
    files whose key ranges do not overlap, without sorting: one ``COPY`` per range."""
    monkeypatch.setattr(publish, "PARTS_FROM", 0)
    monkeypatch.setattr(publish, "ROW_GROUP_ROWS", 10_000)  # groups of rowids, small
    monkeypatch.setattr(delta_files, "FILE_BYTES", "200KB")
    cut = _spy_key_parts(monkeypatch)
    nearly_ordered(conn, "m", 500_000, LAYOUTS[layout])
    # v1 files: the sizes above cut these rows into more than two parts
    settings = settings.model_copy(update={"publish_parquet_version": "v1"})
    publisher = Publisher(settings, conn, batch_rows=4096)
    done = publisher.publish(spec("m"))
    assert done.mode == "overwrite"
    assert cut and isinstance(cut[0], list) and len(cut[0]) > 2  # written as key ranges
    table = DeltaTable(str(settings.dados / "silver" / "m"))
    published = table.to_pyarrow_table()
    expected = conn.sql("select k, v from m").to_arrow_table()
    assert Counter(zip(*published.to_pydict().values(), strict=True)) == Counter(
        zip(*expected.to_pydict().values(), strict=True)
    )
    files = pa.table(table.get_add_actions(flatten=True))
    ranges = sorted(
        (lo, hi)
        for lo, hi in zip(files["min.k"].to_pylist(), files["max.k"].to_pylist(), strict=True)
        if lo is not None  # the file of NULL keys
    )
    assert len(ranges) > 2
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges)), ranges
    # the next publish of the same rows commits nothing; a change merges as before
    assert publisher.publish(spec("m")).mode == "unchanged"
    conn.execute("update m set v = 'changed' where k = 400000")
    assert publisher.publish(spec("m")).mode == "merge"
    after = DeltaTable(str(settings.dados / "silver" / "m")).to_pyarrow_table()
    assert after.num_rows == expected.num_rows
    assert after.filter(pa.compute.equal(after["k"], 400000))["v"].to_pylist() == ["changed"]


def test_a_nearly_ordered_model_that_fits_one_file_is_written_unsorted_in_one_copy(
    settings: Settings, conn: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows that fit in one file and are nearly in order: one part, the whole model (NULL keys
    and a repeated key too) in its own order, no sort; every row published exactly once."""
    monkeypatch.setattr(publish, "PARTS_FROM", 0)
    monkeypatch.setattr(publish, "ROW_GROUP_ROWS", 10_000)
    cut = _spy_key_parts(monkeypatch)
    nearly_ordered(conn, "one", 300_000, LAYOUTS["newest first"])
    done = Publisher(settings, conn, batch_rows=4096).publish(spec("one"))
    assert done.mode == "overwrite" and done.rows == 300_001
    assert cut[-1] == [(None, None)]  # (after the two-part check it makes)
    table = DeltaTable(str(settings.dados / "silver" / "one"))
    assert len(table.file_uris()) == 1
    published = table.to_pyarrow_table()
    expected = conn.sql("select k, v from one").to_arrow_table()
    assert Counter(zip(*published.to_pydict().values(), strict=True)) == Counter(
        zip(*expected.to_pydict().values(), strict=True)
    )
    assert publish.Publisher(settings, conn).publish(spec("one")).mode == "unchanged"


def test_a_model_in_random_order_is_still_sorted(
    settings: Settings, conn: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish, "PARTS_FROM", 0)
    monkeypatch.setattr(delta_files, "FILE_BYTES", "200KB")
    conn.execute("create table r as select i as k from range(400000) t(i) order by hash(i)")
    settings = settings.model_copy(update={"publish_parquet_version": "v1"})  # files > 200KB
    Publisher(settings, conn, batch_rows=4096).publish(spec("r"))
    table = DeltaTable(str(settings.dados / "silver" / "r"))
    assert sorted(table.to_pyarrow_table()["k"].to_pylist()) == list(range(400000))
    files = pa.table(table.get_add_actions(flatten=True))
    ranges = sorted(zip(files["min.k"].to_pylist(), files["max.k"].to_pylist(), strict=True))
    assert len(ranges) > 1
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges)), ranges


def test_a_sorted_rewrite_keeps_the_default_dictionary_limit(
    settings: Settings, conn: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lower dictionary limit is judged on the model's own row groups: sorted by the key,
    a column that follows the key has other row groups (15,360 values each here, a dictionary
    under DuckDB's default, plain under the lower limit) than in the model's random order
    (about 53,000 each), so a sorted write keeps the default."""
    monkeypatch.setattr(delta_files, "FILE_BYTES", "1GB")
    rows = 4 * delta_files.ROW_GROUP_ROWS
    conn.execute(
        f"create table s as select i as k, i // 8 as c from range({rows}) t(i) order by hash(i)"
    )
    assert delta_files.dictionary_limit(conn, "main.s", rows) is not None  # the model's order
    Publisher(settings, conn, batch_rows=4096).publish(spec("s"))
    folder = settings.dados / "silver" / "s"
    chunks = conn.execute(
        "select encodings from parquet_metadata(?) where path_in_schema = 'c'",
        [[str(p) for p in folder.glob("*.parquet")]],
    ).fetchall()
    assert len(chunks) >= 4
    assert all("DICTIONARY" in str(encodings) for (encodings,) in chunks), chunks
    table = DeltaTable(str(folder)).to_pyarrow_table()
    assert sorted(table["k"].to_pylist()) == list(range(rows))


def test_the_dictionary_limit_samples_tables_never_views(
    settings: Settings, conn: duckdb.DuckDBPyConnection
) -> None:
    """Sampling a view across runs its query to the end, once more than the write: a view is
    published with DuckDB's default limit, every row as the view gives it."""
    rows = 3 * delta_files.ROW_GROUP_ROWS
    conn.execute(f"create table base as select i as n, i % 3 as few from range({rows}) t(i)")
    conn.execute("create view v as select n, few, n * 2 as twice from base")
    view = ModelSpec(unique_id="model.lakehouse.v", name="v", relation="main.v", layer="silver")
    table = ModelSpec(
        unique_id="model.lakehouse.base", name="base", relation="main.base", layer="silver"
    )
    assert not publish._is_table(conn, view) and publish._is_table(conn, table)
    assert Publisher(settings, conn, batch_rows=4096).publish(view).rows == rows
    published = DeltaTable(str(settings.dados / "silver" / "v")).to_pyarrow_table()
    assert sorted(published["twice"].to_pylist()) == [2 * i for i in range(rows)]


def test_a_write_of_another_row_count_commits_nothing(
    tmp_path: Path, conn: duckdb.DuckDBPyConnection
) -> None:
    """The parts of a rewrite must hold the model's rows exactly: a miscount (a part missing,
    a row in two parts) leaves no version and no file behind."""
    conn.execute("create table t as select i as k from range(1000) t(i)")
    folder = tmp_path / "t"
    select = "select k from t"
    for parts in (
        [f"{select} where k < 500"],  # a range missing
        [f"{select} where k < 600", f"{select} where k >= 500"],  # rows in two ranges
    ):
        with pytest.raises(RuntimeError, match="not committed"):
            delta_files.write_files(
                conn,
                select,
                folder,
                current=None,
                mode="overwrite",
                commit=CommitProperties(),
                parts=parts,
                rows=1000,
            )
        assert not list(folder.glob("*.parquet"))
        assert not DeltaTable.is_deltatable(str(folder))
    delta_files.write_files(
        conn,
        select,
        folder,
        current=None,
        mode="overwrite",
        commit=CommitProperties(),
        parts=[f"{select} where k < 500", f"{select} where k >= 500"],
        rows=1000,
    )
    assert sorted(DeltaTable(str(folder)).to_pyarrow_table()["k"].to_pylist()) == list(range(1000))


@pytest.mark.parametrize("groups", [1, 256, 257, 300])
def test_the_row_groups_are_read_alike_past_256_groups(
    conn: duckdb.DuckDBPyConnection, groups: int
) -> None:
    """_row_groups' perfect-hash form (the group number as UTINYINT) up to 256 groups, the
    plain form past them (the cast fails): the same groups as a plain aggregate of each, in
    order, NULL keys counted in the rows only; a view has none."""
    size = 100
    conn.execute(
        "create table main.t as select case when i % 97 = 5 then null"
        f" else (i * 7919) % 100000 end as k from range({groups * size - 37}) r(i)"
    )
    found = publish._row_groups(conn, spec("t"), size)
    expected = conn.execute(
        f"select min(k), max(k), count(k), count(*) from main.t group by rowid // {size}"
        f" order by rowid // {size}"
    ).fetchall()
    assert found == [(lo, hi, int(n), int(total)) for lo, hi, n, total in expected]
    assert len(found) == groups and sum(total for *_, total in found) == groups * size - 37
    conn.execute("create view main.v as select * from main.t")
    assert publish._row_groups(conn, spec("v"), size) is None
