"""Bronze appends written as our own Parquet files (loader.own_files) against delta-rs's writer.

The same landing files are loaded twice, once with every append through ``write_deltalake``
(``own_files.ENABLED`` off) and once as the loader does; the two tables must hold the same
schema and rows for every reader (deltalake's Arrow dataset, DuckDB's ``read_parquet`` as the
builds read bronze, Polars), and every statistic of a file we wrote must bound its values.
"""

from __future__ import annotations

import io
import json
import math
import random
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake
from hypothesis import given, settings
from hypothesis import strategies as st
from loader_support import drop

from lakehouse import table_path
from lakehouse.layout import INGESTED_AT
from lakehouse.settings import Settings
from lakehouse.storage import arrow_dataset
from loader import own_files
from loader.loading import Loader

OURS = '"partitionBy":"[]"'  # create_write_transaction's commitInfo; write_deltalake's has none
CREATED = '"operation":"CREATE TABLE"'  # create_table_with_add_actions's; write_deltalake's: WRITE


def _ours(commit: str) -> bool:
    """Whether a commit's log text is one of ours (own_files.append or own_files.create)."""
    return OURS in commit or (CREATED in commit and '{"add":' in commit)


def _csv(rows: int, seed: int) -> str:
    rng = random.Random(seed)
    lines = ["id,name,amount,price,day,at,flag,code"]
    for i in range(rows):
        name = rng.choice(["", "a", "é ü", 'q, "x"', "z" * 80, "NA", " lead"]) + str(i % 7)
        name = '"' + name.replace('"', '""') + '"' if "," in name else name
        amount = rng.choice([f"{rng.uniform(-1e6, 1e6):.6f}", "", "-0.0", "1e300"])
        price = f"{rng.randint(-99999, 99999) / 100:.2f}"
        day = (date(1970, 1, 1) + timedelta(days=rng.randint(-40000, 40000))).isoformat()
        at = datetime(2024, 1, 1) + timedelta(microseconds=rng.randint(0, 10**13))
        flag = rng.choice(["true", "false", ""])
        code = rng.choice(["00077", "12", "x"])
        if i == rows * 2 // 3:  # a text too long for footer bounds, in one row group only
            name = "ÿ" * 3000 + str(i)
        lines.append(f"{i},{name},{amount},{price},{day},{at.isoformat(' ')},{flag},{code}")
    return "\n".join(lines) + "\n"


def _ndjson(rows: int, seed: int) -> str:
    rng = random.Random(seed)
    out = []
    for i in range(rows):
        record: dict[str, Any] = {"id": i, "v": rng.choice([1.5, -2.25, None, 1e-300])}
        record["s"] = rng.choice(["x", "ÿ", "", None, "long " * 20])
        record["when"] = (datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=i)).isoformat()
        record["n"] = rng.choice([{"a": 1, "b": "t"}, {"a": None, "b": "u"}])
        record["l"] = rng.choice([[1, 2], [], None])
        out.append(json.dumps(record))
    return "\n".join(out) + "\n"


def _parquet(rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    floats = [rng.choice([float("nan"), 1.0, -3.5, None, float("inf")]) for _ in range(rows)]
    table = pa.table(
        {
            "i8": pa.array([i % 100 - 50 for i in range(rows)], pa.int8()),
            "i32": pa.array(list(range(rows)), pa.int32()),
            "f32": pa.array([rng.uniform(-1, 1) for _ in range(rows)], pa.float32()),
            "f64": pa.array(floats, pa.float64()),
            "dec": pa.array(
                [Decimal(rng.randint(-(10**9), 10**9)) / 1000 for _ in range(rows)],
                pa.decimal128(12, 3),
            ),
            "big": pa.array([Decimal(10**30 + i) for i in range(rows)], pa.decimal128(38, 0)),
            "d": pa.array([date(2000, 1, 1) + timedelta(days=i) for i in range(rows)]),
            "ts": pa.array(
                [
                    datetime(2024, 1, 1, tzinfo=UTC) + timedelta(microseconds=7 * i)
                    for i in range(rows)
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "ntz": pa.array(
                [datetime(1999, 12, 31) + timedelta(milliseconds=i) for i in range(rows)],
                pa.timestamp("ms"),
            ),
            "bin": pa.array([bytes([i % 256]) * 3 for i in range(rows)], pa.binary()),
            "b": pa.array([i % 3 == 0 if i % 5 else None for i in range(rows)], pa.bool_()),
            "t": pa.array([None if i % 4 == 0 else f"t{i}" for i in range(rows)], pa.string()),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=max(1, rows // 3))
    return sink.getvalue()


FILES: dict[str, list[tuple[str, str | bytes]]] = {
    "csv": [("a.csv", _csv(2500, 1)), ("b.csv", _csv(40, 2)), ("c.csv.gz", _csv(1200, 3))],
    "ndjson": [("a.ndjson", _ndjson(2500, 4)), ("b.ndjson", _ndjson(30, 5))],
    "parquet": [("a.parquet", _parquet(2500, 6)), ("b.parquet", _parquet(20, 7))],
}


def _load(
    root: Path, files: list[tuple[str, str | bytes]], *, own: bool, group_rows: int | None = None
) -> Settings:
    settings = Settings(root=root, chunk_rows=1000, read_batch_rows=1024)
    loader = Loader(settings)
    enabled, rows, dictionary = (
        own_files.ENABLED,
        own_files.ROW_GROUP_ROWS,
        own_files.DICTIONARY_BYTES,
    )
    own_files.ENABLED = own
    own_files.ROW_GROUP_ROWS = group_rows or rows
    # a byte a row, as the loader's: dictionaries fall back to plain part way through a group
    own_files.DICTIONARY_BYTES = group_rows or dictionary
    try:
        for name, content in files:  # one file a pass: the small ones commit as one table
            drop(settings, "t", name, content)
            summary = loader.load_pending()
            assert summary.loaded and not summary.quarantined, summary
    finally:
        own_files.ENABLED, own_files.ROW_GROUP_ROWS = enabled, rows
        own_files.DICTIONARY_BYTES = dictionary
    return settings


def _txns(delta: DeltaTable) -> list[list[tuple[str, int]]]:
    folder = Path(delta.table_uri.removeprefix("file://"), "_delta_log")
    commits = [p.read_text().splitlines() for p in sorted(folder.glob("*.json"))]
    lines = [[json.loads(line) for line in commit] for commit in commits]
    return [[(a["txn"]["appId"], a["txn"]["version"]) for a in c if "txn" in a] for c in lines]


def _rows(table: pa.Table) -> pa.Table:
    """The rows in a fixed order, ``_ingested_at`` (the time of the commit) left out."""
    table = table.drop_columns([INGESTED_AT])
    keys = [n for n in table.column_names if not pa.types.is_nested(table.schema.field(n).type)]
    return table.sort_by([(k, "ascending") for k in keys])


def _same(got: pa.Table, expected: pa.Table) -> None:
    """The same schema and values, column by column (NaN equal to NaN)."""
    assert got.schema == expected.schema
    for name in expected.column_names:
        a, b = got.column(name).combine_chunks(), expected.column(name).combine_chunks()
        assert a.equals(b) or a.to_pylist() == b.to_pylist() or _nan_equal(a, b), name


def _nan_equal(a: pa.Array, b: pa.Array) -> bool:
    if not pa.types.is_floating(a.type):
        return False
    left, right = a.to_pylist(), b.to_pylist()
    nan = [isinstance(x, float) and math.isnan(x) for x in left]
    if nan != [isinstance(y, float) and math.isnan(y) for y in right]:
        return False
    return [x for x, n in zip(left, nan, strict=True) if not n] == [
        y for y, n in zip(right, nan, strict=True) if not n
    ]


def _duckdb(delta: DeltaTable) -> pa.Table:
    """Bronze as a build reads it: ``read_parquet`` of the snapshot's files by name."""
    paths = ", ".join(f"'{p}'" for p in delta.file_uris())
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con.sql(f"select * from read_parquet([{paths}], union_by_name = true)").to_arrow_table()


def _check_stats(delta: DeltaTable) -> int:
    """Every statistic of each file we wrote bounds its values; the files checked."""
    folder = Path(delta.table_uri.removeprefix("file://"))
    checked = 0
    log = sorted((folder / "_delta_log").glob("*.json"))
    for commit in log:
        lines = [json.loads(line) for line in commit.read_text().splitlines()]
        if not _ours(commit.read_text()):
            continue
        for add in (line["add"] for line in lines if "add" in line):
            stats = json.loads(add["stats"])
            data = pq.read_table(folder / add["path"])
            assert stats["numRecords"] == data.num_rows
            for name, nulls in stats["nullCount"].items():
                assert data.column(name).null_count == nulls, name
            for name, low in stats["minValues"].items():
                column = data.column(name)
                high = stats["maxValues"][name]
                values = [v for v in column.to_pylist() if v is not None]
                if pa.types.is_floating(column.type):
                    assert not any(math.isnan(v) for v in values), name
                for value in values:
                    assert _json(low, value) <= _json(value, value) <= _json(high, value), name
            checked += 1
    return checked


def _json(bound: Any, like: Any) -> Any:
    """A statistic (or a value) in the value's Python form, to compare."""
    if isinstance(like, datetime):
        text = bound.isoformat() if isinstance(bound, datetime) else bound
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        return parsed.replace(tzinfo=None) if like.tzinfo is None else parsed
    if isinstance(like, date):
        return date.fromisoformat(str(bound)) if not isinstance(bound, date) else bound
    if isinstance(like, Decimal):
        return Decimal(str(bound))
    return bound


@pytest.mark.parametrize("group_rows", [None, 97, 700])
@pytest.mark.parametrize("kind", sorted(FILES))
def test_own_files_hold_what_delta_rs_wrote(
    tmp_path: Path, kind: str, group_rows: int | None
) -> None:
    """``group_rows``: our files' row groups (None: the loader's), and the bytes of their
    dictionaries; 97 and 700 rows cut the pieces (1,000 rows, batches of 1,024) inside a batch
    and across batches."""
    theirs = _load(tmp_path / "theirs", FILES[kind], own=False)
    ours = _load(tmp_path / "ours", FILES[kind], own=True, group_rows=group_rows)
    old = DeltaTable(str(table_path(theirs, "bronze", "t")))
    new = DeltaTable(str(table_path(ours, "bronze", "t")))
    log = sorted(Path(new.table_uri[7:], "_delta_log").glob("*.json"))
    assert _ours(log[0].read_text())  # the new table's first commit went our way (create)
    assert OURS in "".join(p.read_text() for p in log[1:])  # and pieces after it (append)
    assert not any(
        _ours(p.read_text()) for p in Path(old.table_uri[7:], "_delta_log").glob("*.json")
    )
    assert new.schema().to_json() == old.schema().to_json()
    assert new.metadata().configuration == old.metadata().configuration
    assert new.protocol() == old.protocol()
    assert _txns(new) == _txns(old)  # each commit's watermarks, in order
    _same(_rows(arrow_dataset(new).to_table()), _rows(arrow_dataset(old).to_table()))
    _same(_rows(_duckdb(new)), _rows(_duckdb(old)))
    left = pl.from_arrow(_rows(pl.read_delta(new.table_uri).to_arrow()))
    right = pl.from_arrow(_rows(pl.read_delta(old.table_uri).to_arrow()))
    assert isinstance(left, pl.DataFrame) and isinstance(right, pl.DataFrame)
    assert left.equals(right)
    assert _check_stats(new) >= 2
    groups = [pq.read_metadata(f).num_row_groups for f in new.file_uris()]
    if group_rows is not None:  # the pieces were cut into row groups of that many rows
        assert max(groups) == -(-1000 // group_rows), groups
    else:
        assert max(groups) == 1, groups


def test_a_table_asking_more_of_a_writer_keeps_delta_rs(tmp_path: Path) -> None:
    """Partitions, constraints, other writer features: what delta-rs's writer honours and
    a bare add action would not; such a table is written by delta-rs as before."""
    rows = pa.table({"id": pa.array([1, 2], pa.int64()), "p": ["a", "b"]})
    plain = tmp_path / "plain"
    write_deltalake(str(plain), rows)
    assert own_files.plain(DeltaTable(str(plain)))
    assert own_files.fits(DeltaTable(str(plain)), rows)
    assert not own_files.fits(DeltaTable(str(plain)), rows.select(["p", "id"]))  # order
    assert not own_files.fits(DeltaTable(str(plain)), rows.select(["id"]))  # a column less
    wider = rows.cast(pa.schema([pa.field("id", pa.int32()), pa.field("p", pa.string())]))
    assert not own_files.fits(DeltaTable(str(plain)), wider)

    partitioned = tmp_path / "partitioned"
    write_deltalake(str(partitioned), rows, partition_by=["p"])
    assert not own_files.plain(DeltaTable(str(partitioned)))

    checked = tmp_path / "checked"
    write_deltalake(str(checked), rows)
    DeltaTable(str(checked)).alter.add_constraint({"positive": "id > 0"})
    assert not own_files.plain(DeltaTable(str(checked)))

    feed = tmp_path / "feed"  # writer version 4 (another feature than those we know)
    write_deltalake(str(feed), rows, configuration={"delta.enableChangeDataFeed": "true"})
    assert not own_files.plain(DeltaTable(str(feed)))


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), max_size=12),
    group=st.integers(min_value=1, max_value=400),
)
@settings(max_examples=200, deadline=None)
def test_row_groups_hold_the_batches_rows_in_order(sizes: list[int], group: int) -> None:
    """own_files cuts a reader's batches into row groups of ``group`` rows, the rest last:
    the same rows in the same order, none lost or repeated, whatever the batch sizes."""
    schema = pa.schema([("i", pa.int64()), ("s", pa.dictionary(pa.int32(), pa.string()))])
    batches, start = [], 0
    for size in sizes:
        ids = list(range(start, start + size))
        text = pa.array([f"v{i % 5}" for i in ids]).dictionary_encode()
        batches.append(pa.record_batch([pa.array(ids, pa.int64()), text], schema=schema))
        start += size
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    groups = list(own_files._groups(reader, group))
    assert [g.num_rows for g in groups] == [group] * (start // group) + (
        [start % group] if start % group else []
    )
    got = [row for g in groups for row in g.to_pylist()]
    assert got == [{"i": i, "s": f"v{i % 5}"} for i in range(start)]


def _adds(delta: DeltaTable) -> list[list[str]]:
    """Each commit's added files, in the log's order."""
    folder = Path(delta.table_uri.removeprefix("file://"), "_delta_log")
    commits = [p.read_text().splitlines() for p in sorted(folder.glob("*.json"))]
    lines = [[json.loads(line) for line in commit] for commit in commits]
    return [[a["add"]["path"] for a in c if "add" in a] for c in lines]


def _in_log_order(delta: DeltaTable) -> pa.Table:
    """The files' rows in the order of the log's add actions (text, not dictionaries)."""
    schema = pa.schema(delta.schema().to_arrow())
    folder = delta.table_uri.removeprefix("file://")
    tables = [pq.read_table(Path(folder, p)).cast(schema) for adds in _adds(delta) for p in adds]
    return pa.concat_tables(tables).drop_columns([INGESTED_AT])


@pytest.mark.parametrize("kind", sorted(FILES))
def test_a_piece_known_whole_is_two_files_of_one_commit(tmp_path: Path, kind: str) -> None:
    """A file's last piece, read to its end before it is written (and a table of small files),
    is written as two files on two threads in one commit (``own_files.SPLIT``): the same rows in
    the same order, the same watermarks and schema as one file, each file's row groups as one
    file cuts them, and statistics that bound each file."""
    split = own_files.SPLIT
    try:
        own_files.SPLIT = False
        one = _load(tmp_path / "one", FILES[kind], own=True, group_rows=97)
        own_files.SPLIT = True
        two = _load(tmp_path / "two", FILES[kind], own=True, group_rows=97)
    finally:
        own_files.SPLIT = split
    old = DeltaTable(str(table_path(one, "bronze", "t")))
    new = DeltaTable(str(table_path(two, "bronze", "t")))
    assert _txns(new) == _txns(old)
    assert new.schema().to_json() == old.schema().to_json()
    assert [len(a) for a in _adds(old)] == [1] * len(_adds(old))
    counts = [len(a) for a in _adds(new)]
    assert 2 in counts and set(counts) <= {1, 2}, counts  # a piece went as two files
    # the files in the log's order hold the rows in the order one file holds them
    _same(_in_log_order(new), _in_log_order(old))
    for path in new.file_uris():  # each file cut into groups of 97 rows, the rest last
        meta = pq.read_metadata(path)
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        assert all(n == 97 for n in sizes[:-1]) and 0 < sizes[-1] <= 97, sizes
    assert _check_stats(new) >= sum(n for n in counts if n == 2)  # split commits: ours
    _same(_rows(_duckdb(new)), _rows(_duckdb(old)))
    _same(_rows(arrow_dataset(new).to_table()), _rows(arrow_dataset(old).to_table()))
    left = pl.from_arrow(_rows(pl.read_delta(new.table_uri).to_arrow()))
    right = pl.from_arrow(_rows(pl.read_delta(old.table_uri).to_arrow()))
    assert isinstance(left, pl.DataFrame) and isinstance(right, pl.DataFrame)
    assert left.equals(right)


def _broken(schema: pa.Schema, rows: int, at: int) -> pa.RecordBatchReader:
    """A reader of ``rows`` rows in batches of 50 whose reading breaks after ``at`` rows."""

    def batches() -> Any:
        for start in range(0, rows, 50):
            if start >= at:
                raise OSError("the reading broke")
            ids = pa.array(range(start, min(rows, start + 50)), pa.int64())
            yield pa.record_batch([ids, pc.cast(ids, pa.string())], schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


@pytest.mark.parametrize("at", [0, 120, 260, 380, 450])
def test_two_files_a_broken_reading_leaves_no_file_and_no_commit(tmp_path: Path, at: int) -> None:
    """A reading that breaks while the first file (on its thread) or the second is written:
    no commit, no file left behind; ``at`` 450 (every row) commits both."""
    schema = pa.schema([("id", pa.int64()), ("s", pa.string())])
    folder = tmp_path / "t"
    write_deltalake(str(folder), pa.table({"id": pa.array([-1], pa.int64()), "s": ["x"]}))
    before = sorted(p.name for p in folder.glob("*.parquet"))
    table = DeltaTable(str(folder))
    rows, commit = own_files.ROW_GROUP_ROWS, own_files.CommitProperties()
    own_files.ROW_GROUP_ROWS = 100
    try:
        reader = _broken(schema, 450, at)
        if at < 450:
            with pytest.raises(OSError, match="the reading broke"):
                own_files.append(table, folder, reader, commit, total=450)
            assert sorted(p.name for p in folder.glob("*.parquet")) == before
            assert DeltaTable(str(folder)).version() == 0
            return
        assert own_files.append(table, folder, reader, commit, total=450)
    finally:
        own_files.ROW_GROUP_ROWS = rows
    after = DeltaTable(str(folder))
    assert after.version() == 1 and len(_adds(after)[1]) == 2
    sizes = [pq.read_metadata(Path(folder, p)).num_rows for p in _adds(after)[1]]
    assert sizes == [300, 150]  # 5 groups: the first 3 in the first file
    got = arrow_dataset(after).to_table().sort_by("id")
    assert got.column("id").to_pylist() == list(range(-1, 450))


def test_two_files_the_first_files_writer_failing_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first file's writer (its own thread) failing: no commit, neither file left."""
    schema = pa.schema([("id", pa.int64()), ("s", pa.string())])
    folder = tmp_path / "t"
    write_deltalake(str(folder), pa.table({"id": pa.array([-1], pa.int64()), "s": ["x"]}))
    before = sorted(p.name for p in folder.glob("*.parquet"))

    class Failing(pq.ParquetWriter):  # a disk that fails under the first file only
        def write_table(self, table: pa.Table, row_group_size: int | None = None) -> None:
            if threading.current_thread().name == "loader-own-file":
                raise OSError("no space left on device")
            super().write_table(table, row_group_size=row_group_size)

    monkeypatch.setattr(own_files.pq, "ParquetWriter", Failing)
    monkeypatch.setattr(own_files, "ROW_GROUP_ROWS", 100)
    reader = _broken(schema, 450, 450)
    with pytest.raises(OSError, match="no space left"):
        own_files.append(
            DeltaTable(str(folder)), folder, reader, own_files.CommitProperties(), total=450
        )
    assert sorted(p.name for p in folder.glob("*.parquet")) == before
    assert DeltaTable(str(folder)).version() == 0


def _dictionary_pages(path: Path) -> dict[str, list[int]]:
    """Each column's dictionary page bytes in each row group of a file written uncompressed
    (0: none): a page of ``own_files.DICTIONARY_BYTES`` or more is a dictionary the writer
    gave up on (it falls back to plain encoding once its dictionary reaches that size)."""
    meta = pq.read_metadata(path)
    pages: dict[str, list[int]] = {}
    for g in range(meta.num_row_groups):
        for c in range(meta.num_columns):
            chunk = meta.row_group(g).column(c)
            start = chunk.dictionary_page_offset if chunk.has_dictionary_page else None
            size = 0 if start is None else chunk.data_page_offset - start
            pages.setdefault(chunk.path_in_schema, []).append(size)
    return pages


def test_a_column_of_distinct_values_is_written_without_a_dictionary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A column whose first row group's values would overflow the writer's dictionary (a key,
    a text of distinct values) is written plain in every group, one of few values keeps its
    dictionary, the bronze columns theirs; the table holds every value as given either way."""
    monkeypatch.setattr(own_files, "ROW_GROUP_ROWS", 1000)
    monkeypatch.setattr(own_files, "DICTIONARY_BYTES", 1000)
    monkeypatch.setattr(own_files, "COMPRESSION", "none")  # dictionary pages' bytes as written
    rows = 3500
    table = pa.table(
        {
            "key": pa.array(range(rows), pa.int64()),
            "at": pa.array([datetime(2024, 1, 1) + timedelta(seconds=i) for i in range(rows)]),
            "text": pa.array([f"order {i}" if i % 9 else None for i in range(rows)]),
            "few": pa.array([["a", "b", None][i % 3] for i in range(rows)]),
            "small": pa.array([i % 50 for i in range(rows)], pa.int32()),
            "batch": pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), ["b1"]),
        }
    )
    folder = tmp_path / "t"
    assert own_files.create(folder, table, {}, own_files.CommitProperties())
    files = DeltaTable(str(folder)).file_uris()
    assert len(files) == 2  # written as two files, both as the first group decided
    for file in files:
        pages = _dictionary_pages(Path(file.removeprefix("file://")))
        assert pages["key"] == pages["at"] == pages["text"] == [0, 0], pages
        assert all(0 < size < 1000 for c in ("few", "small", "batch") for size in pages[c]), pages
    got = arrow_dataset(DeltaTable(str(folder))).to_table().sort_by("key")
    assert got.to_pylist() == table.cast(got.schema).to_pylist()


@given(
    values=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=900),
    text=st.booleans(),
    nulls=st.integers(min_value=0, max_value=5),
)
@settings(max_examples=150, deadline=None)
def test_a_dictionary_is_left_out_only_where_the_writer_gives_it_up(
    values: list[int], text: bool, nulls: int
) -> None:
    """Whenever own_files judges a column's dictionary would overflow, pyarrow's writer with
    that column's dictionary on does give it up in the first row group (its dictionary page
    reaches the limit), for numbers and texts, with nulls among them."""
    limit = 400
    column: list[Any] = [
        None if nulls and i % (nulls + 3) == 0 else v for i, v in enumerate(values)
    ]
    array = pa.array([None if v is None else f"v{v}" for v in column] if text else column)
    group = pa.table({"c": array})
    previous = own_files.DICTIONARY_BYTES
    own_files.DICTIONARY_BYTES = limit
    try:
        judged = own_files._dictionaries(group)
    finally:
        own_files.DICTIONARY_BYTES = previous
    sink = io.BytesIO()
    pq.write_table(
        group, sink, compression="none", dictionary_pagesize_limit=limit, write_batch_size=1
    )
    meta = pq.read_metadata(pa.BufferReader(sink.getvalue())).row_group(0).column(0)
    page = meta.data_page_offset - meta.dictionary_page_offset if meta.has_dictionary_page else 0
    if judged != True:  # noqa: E712 (a list of the columns kept, or True: all)
        assert judged == [] and page >= limit, (judged, page)
