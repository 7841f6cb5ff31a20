"""Delta commits of Parquet files DuckDB wrote (transform.delta_files): same rows and schema as
``write_deltalake``, statistics that are bounds of every stored value, nothing left on failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.delta_adds import _string_above
from lakehouse.storage import arrow_dataset
from transform.delta_files import (
    DEFAULT_DICTIONARY_LIMIT,
    ENUM_MEMBERS,
    LOW_DICTIONARY_LIMIT,
    ROW_GROUP_ROWS,
    TINY_DICTIONARY_LIMIT,
    dictionary_limit,
    enum_members,
    local_folder,
    write_files,
)

SELECT = """
select i::bigint as id, i::int as small, (i * 1.5)::double as amount, 'x' || i as label,
    repeat('z', 300) || i as long_text, i % 2 = 0 as even, date '2024-01-01' + i::int as day,
    timestamptz '2024-01-01 00:00:00.123456+00' + to_seconds(i) as at,
    timestamp '2024-01-01 00:00:00.000999' + to_seconds(i) as naive_at,
    (i / 3)::decimal(12, 2) as price, (i * 1e20)::decimal(38, 0) as huge,
    case when i = 1 then null else i end as sometimes, [i, i] as pair, {{'k': i}} as nested
from range({rows}) t(i)
"""


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute("set TimeZone = 'UTC'")
    yield c
    c.close()


def _stats(table: DeltaTable) -> list[dict[str, Any]]:
    return [json.loads(a["add"]["stats"]) for a in _adds(table)]


def _adds(table: DeltaTable) -> list[dict[str, Any]]:
    log = Path(table.table_uri.removeprefix("file://")) / "_delta_log"
    out = []
    for path in sorted(log.glob("*.json")):
        out += [json.loads(line) for line in path.read_text().splitlines()]
    return [a for a in out if "add" in a]


def test_same_rows_and_schema_as_write_deltalake(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    select = SELECT.format(rows=500)
    write_files(con, select, tmp_path / "ours", current=None, mode="overwrite", commit=_commit())
    write_deltalake(str(tmp_path / "theirs"), con.sql(select).to_arrow_reader(100))
    ours, theirs = DeltaTable(str(tmp_path / "ours")), DeltaTable(str(tmp_path / "theirs"))
    assert ours.schema() == theirs.schema()
    assert ours.count() == theirs.count() == 500
    a = ours.to_pyarrow_table().sort_by("id")
    b = theirs.to_pyarrow_table().sort_by("id")
    assert a.equals(b)
    assert ours.history(1)[0]["lakehouse.test"] == "yes"  # the commit's metadata


def test_statistics_bound_every_value(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    select = SELECT.format(rows=3000)
    write_files(con, select, tmp_path / "t", current=None, mode="overwrite", commit=_commit())
    table = DeltaTable(str(tmp_path / "t"))
    [stats] = _stats(table)
    assert stats["numRecords"] == 3000
    assert stats["nullCount"]["sometimes"] == 1
    low, high = stats["minValues"], stats["maxValues"]
    assert (low["id"], high["id"]) == (0, 2999)
    assert (low["day"], high["day"]) == ("2024-01-01", "2032-03-18")
    assert (low["even"], high["even"]) == (False, True)
    assert (low["price"], high["price"]) == (0.0, 999.67)
    # milliseconds, rounded outwards: never a bound that excludes a stored value
    assert low["at"] == "2024-01-01T00:00:00.123Z"
    assert high["at"] == "2024-01-01T00:49:59.124Z"
    assert (low["naive_at"], high["naive_at"]) == (
        "2024-01-01 00:00:00.000",
        "2024-01-01 00:49:59.001",
    )
    # long text: shortened to 64 characters, still bounds
    assert low["long_text"] == "z" * 64 and high["long_text"] == "z" * 63 + "{"
    # no statistics where they could mislead: 38-digit decimals, nested values, floats (a NaN
    # is left out of delta-rs's bounds: lakehouse.delta_stats)
    for column in ("huge", "pair", "nested", "amount"):
        assert column not in low and column not in high
    # a reader skipping files by them still finds the newest row
    last = datetime(2024, 1, 1, 0, 49, 59, 123456, tzinfo=UTC)
    found = table.to_pyarrow_table(filters=[("at", ">=", last)])
    assert found.column("id").to_pylist() == [2999]


def test_overwrite_replaces_files_and_schema(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    folder = tmp_path / "t"
    write_files(
        con, SELECT.format(rows=10), folder, current=None, mode="overwrite", commit=_commit()
    )
    table = DeltaTable(str(folder))
    write_files(
        con,
        "select 42::bigint as answer",
        folder,
        current=table,
        mode="overwrite",
        commit=_commit(),
    )
    table.update_incremental()
    assert table.to_pyarrow_table().to_pylist() == [{"answer": 42}]
    assert [f.name for f in table.schema().fields] == ["answer"]
    write_files(
        con,
        "select 43::bigint as answer where false",
        folder,
        current=table,
        mode="overwrite",
        commit=_commit(),
    )
    table.update_incremental()
    assert table.count() == 0 and table.version() == 2


def test_append_keeps_the_rows_there(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = tmp_path / "t"
    write_files(
        con, "select 1::bigint as n", folder, current=None, mode="overwrite", commit=_commit()
    )
    table = DeltaTable(str(folder))
    write_files(
        con, "select 2::bigint as n", folder, current=table, mode="append", commit=_commit()
    )
    table.update_incremental()
    assert sorted(table.to_pyarrow_table().column("n").to_pylist()) == [1, 2]


def test_a_failed_commit_leaves_no_file(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    folder = tmp_path / "t"
    write_files(
        con, "select 1::bigint as n", folder, current=None, mode="overwrite", commit=_commit()
    )
    before = sorted(p.name for p in folder.glob("*.parquet"))
    with pytest.raises(Exception, match=r"(?i)exist"):  # a table is there: creating it fails
        write_files(
            con, "select 2::bigint as n", folder, current=None, mode="overwrite", commit=_commit()
        )
    assert sorted(p.name for p in folder.glob("*.parquet")) == before
    assert DeltaTable(str(folder)).to_pyarrow_table().column("n").to_pylist() == [1]


def test_only_local_tables_take_this_path(tmp_path: Path) -> None:
    assert local_folder(str(tmp_path), None) == tmp_path
    assert local_folder(f"file://{tmp_path}", None) == tmp_path
    assert local_folder("s3://bucket/silver/t", None) is None
    assert local_folder(str(tmp_path), {"AWS_REGION": "x"}) is None


def _commit() -> CommitProperties:
    return CommitProperties(custom_metadata={"lakehouse.test": "yes"})


def test_a_dotted_name_beside_a_struct_gets_no_borrowed_statistics(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    select = "select i as \"a.b\", {'b': 100 + i} as a, i as plain from range(5) t(i)"
    write_files(con, select, tmp_path / "t", current=None, mode="overwrite", commit=_commit())
    [stats] = _stats(DeltaTable(str(tmp_path / "t")))
    assert stats["maxValues"] == {"plain": 4}  # never a's leaf b (104) as column "a.b"


#: three row groups of DuckDB's Parquet writer
GROUPS_ROWS = 3 * ROW_GROUP_ROWS
FEW_AND_MANY = f"""
select i::bigint as id, (hash(i) % 100000)::bigint as customer,
    timestamptz '2025-01-01' + to_seconds((hash(i * 3) % 31536000)::bigint) as at,
    'x' || i as label, ['paid', 'shipped', 'cancelled'][(i % 3) + 1] as status,
    date '2025-01-01' + (i % 365)::int as day, (i % 700)::int as shop,
    timestamptz '2026-01-01 00:00:00+00' as ingested, (i // 500)::bigint as clustered
from range({GROUPS_ROWS}) t(i)
"""


def _encodings(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, set[tuple[Any, ...]]]:
    """Per column: the (encodings, has a bloom filter) of its column chunks in every file."""
    found: dict[str, set[tuple[Any, ...]]] = {}
    for path in sorted(folder.glob("*.parquet")):
        rows = con.execute(
            "select path_in_schema, encodings, bloom_filter_offset is not null"
            f" from parquet_metadata('{path}')"
        ).fetchall()
        for column, encodings, bloom in rows:
            found.setdefault(str(column), set()).add((str(encodings), bool(bloom)))
    return found


#: columns of a few values each, a quarter of the tiny limit at most: a status, a load time,
#: a 50-value code; beside FEW_AND_MANY's columns of many values
TINY_AND_MANY = f"""
select i::bigint as id, (hash(i) % 100000)::bigint as customer,
    timestamptz '2025-01-01' + to_seconds((hash(i * 3) % 31536000)::bigint) as at,
    'x' || i as label, ['paid', 'shipped', 'cancelled'][(i % 3) + 1] as status,
    timestamptz '2026-01-01 00:00:00+00' as ingested, (i % 50)::int as code
from range({GROUPS_ROWS}) t(i)
"""


@pytest.mark.parametrize(
    ("select", "expected", "few", "many"),
    [
        (
            FEW_AND_MANY,
            LOW_DICTIONARY_LIMIT,  # day (365 values) and shop (700) pass the tiny limit's quarter
            ("status", "day", "shop", "ingested", "clustered"),
            ("id", "customer", "at", "label"),
        ),
        (
            TINY_AND_MANY,
            TINY_DICTIONARY_LIMIT,
            ("status", "ingested", "code"),
            ("id", "customer", "at", "label"),
        ),
    ],
    ids=["low", "tiny"],
)
def test_the_lower_dictionary_limit_writes_the_default_encodings(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    select: str,
    expected: int,
    few: tuple[str, ...],
    many: tuple[str, ...],
) -> None:
    """Columns with few distinct values keep their dictionary and bloom filter, columns with
    many stay plain: what DuckDB's default limit writes, with less work (dictionary_limit)."""
    con.execute(f"create table t as {select}")
    limit = dictionary_limit(con, "t", GROUPS_ROWS)
    assert limit == expected < DEFAULT_DICTIONARY_LIMIT
    select = "select * from t"
    write_files(con, select, tmp_path / "default", current=None, mode="overwrite", commit=_commit())
    write_files(
        con,
        select,
        tmp_path / "lower",
        current=None,
        mode="overwrite",
        commit=_commit(),
        dictionary_size_limit=limit,
    )
    default, lower = _encodings(con, tmp_path / "default"), _encodings(con, tmp_path / "lower")
    assert lower == default
    for column in few:  # a dictionary each
        assert all("DICTIONARY" in enc and bloom for enc, bloom in lower[column]), column
    for column in many:
        assert all("DICTIONARY" not in enc for enc, _ in lower[column]), column
    a = DeltaTable(str(tmp_path / "default")).to_pyarrow_table().sort_by("id")
    b = DeltaTable(str(tmp_path / "lower")).to_pyarrow_table().sort_by("id")
    assert a.equals(b) and b.num_rows == GROUPS_ROWS


@pytest.mark.parametrize(
    "column",
    [
        "(i % 5000)::int",  # between the two limits: only the default writes a dictionary
        "(i // 20)::bigint",  # sorted: 6,144 values a row group, 100 a block of the sample
        "case when i < 122880 then i % 7 else i % 9000 end",  # the first row group misleads
        "[i % 3]",  # nested: a leaf's values are not the column's
    ],
)
def test_the_default_dictionary_limit_stays_where_a_column_needs_it(
    con: duckdb.DuckDBPyConnection, column: str
) -> None:
    select = f"select i::bigint as id, {column} as c from range({GROUPS_ROWS}) t(i)"
    assert dictionary_limit(con, f"({select})", GROUPS_ROWS) is None


def test_few_in_the_first_row_group_and_many_across_keeps_the_default(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """A column NULL in its first row group (added later), then ~20,000 values a row group,
    other ones in each: few in the first sample, many across the table, and a dictionary in
    every later row group under the default limit, which it must keep."""
    rows = 10 * ROW_GROUP_ROWS
    select = (
        f"select i::bigint as id, case when i >= {ROW_GROUP_ROWS}"
        f" then (i // {ROW_GROUP_ROWS}) * 1000000 + i % 20000 end as c from range({rows}) t(i)"
    )
    con.execute(f"create table t as {select}")
    assert dictionary_limit(con, "t", rows) is None


def test_a_small_table_keeps_the_default_dictionary_limit(
    con: duckdb.DuckDBPyConnection,
) -> None:
    select = "select i::bigint as id, i % 3 as few from range(1000) t(i)"
    assert dictionary_limit(con, f"({select})", 1000) is None


def test_the_end_of_time_is_a_maximum_cut_to_its_millisecond(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    select = (
        "select timestamptz '9999-12-31 23:59:59.999999+00' as at,"
        " timestamp '9999-12-31 23:59:59.9991' as naive_at,"
        " timestamp '2024-01-01 00:00:00.0001' as early"
    )
    write_files(con, select, tmp_path / "t", current=None, mode="overwrite", commit=_commit())
    [stats] = _stats(DeltaTable(str(tmp_path / "t")))
    assert stats["maxValues"]["at"] == "9999-12-31T23:59:59.999Z"
    assert stats["maxValues"]["naive_at"] == "9999-12-31 23:59:59.999"
    assert stats["minValues"]["early"] == "2024-01-01 00:00:00.000"
    assert stats["maxValues"]["early"] == "2024-01-01 00:00:00.001"  # rounded up elsewhere


def test_every_filter_through_deltalakes_arrow_dataset_finds_the_row(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """deltalake's Arrow dataset turns a column with statistics in the table but no bounds in a
    file into a comparison with a null bound, and skips that file for any filter on the column:
    long text, 18-digit integers, a column null in its first row group and a long non-ASCII
    text DuckDB writes no footer bounds for get bounds."""
    select = (
        f"select i::bigint as id, repeat('z', 100) || i as long_text,"
        f" repeat('\U0001f600', 300) || i as emoji,"
        f" (123456789012345678 - i)::decimal(18, 0) as d18,"
        f" case when i >= {ROW_GROUP_ROWS} then i end as late"
        f" from range({ROW_GROUP_ROWS + 10}) t(i)"
    )
    write_files(con, select, tmp_path / "t", current=None, mode="overwrite", commit=_commit())
    dataset = arrow_dataset(DeltaTable(str(tmp_path / "t")))
    last = ROW_GROUP_ROWS + 9
    found = {
        "long_text": dataset.to_table(filter=pads.field("long_text") == "z" * 100 + str(last)),
        "d18": dataset.to_table(
            filter=pads.field("d18") == pa.scalar(123456789012345678 - last, pa.decimal128(18, 0))
        ),
        "late": dataset.to_table(filter=pads.field("late") == last),
        "emoji": dataset.to_table(filter=pads.field("emoji") == "\U0001f600" * 300 + str(last)),
    }
    assert {k: t.column("id").to_pylist() for k, t in found.items()} == {
        "long_text": [last],
        "d18": [last],
        "late": [last],
        "emoji": [last],
    }


@pytest.mark.parametrize(
    ("text", "above"),
    [
        ("a" * 64, "a" * 64),
        ("a" * 65, "a" * 63 + "b"),
        ("a" * 63 + "\U0010ffff" * 2, "a" * 62 + "b"),
        ("a" * 63 + "\ud7ff" + "b", "a" * 63 + "\ue000"),
        ("\U0010ffff" * 65, None),
    ],
)
def test_a_long_string_maximum_is_shortened_to_a_greater_string(
    text: str, above: str | None
) -> None:
    found = _string_above(text)
    assert found == above
    if found is not None:
        assert len(found) <= 64 and found.encode() >= text.encode()


#: a text column of a few values (a quote, an empty string, two and four UTF-8 bytes, NULLs),
#: one of many, one of a few under NOCASE (its values stay apart when published)
FEW_TEXTS = f"""
select i::bigint as id,
    ['paid', 'it''s', '', 'é', '𠮷', null][(i % 6) + 1] as status,
    'x' || i as label,
    (['a', 'A', 'b'][(i % 3) + 1]) collate nocase as code
from range({GROUPS_ROWS}) t(i)
"""


def test_a_text_column_of_few_values_is_written_from_an_enum_of_them(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Each text column of at most ENUM_MEMBERS values is written cast to an ENUM of them:
    the same strings, types and statistics as written plain, as a dictionary without a bloom
    filter (DuckDB's writer spends a tenth of a text value's work on an ENUM's)."""
    con.execute(f"create table t as {FEW_TEXTS}")
    select = 'select id, status, label, code collate "binary" as code from t'
    enums = enum_members(con, "t", select, GROUPS_ROWS)
    assert enums == {"status": sorted(["paid", "it's", "", "é", "𠮷"]), "code": ["A", "a", "b"]}
    for name, given_enums in (("plain", None), ("enum", enums)):
        write_files(
            con,
            select,
            tmp_path / name,
            current=None,
            mode="overwrite",
            commit=_commit(),
            dictionary_size_limit=TINY_DICTIONARY_LIMIT,
            enums=given_enums,
        )
    plain = DeltaTable(str(tmp_path / "plain"))
    enum = DeltaTable(str(tmp_path / "enum"))
    assert enum.schema() == plain.schema()
    a, b = plain.to_pyarrow_table().sort_by("id"), enum.to_pyarrow_table().sort_by("id")
    assert b.schema.field("status").type == pa.string()
    assert a.equals(b) and b.num_rows == GROUPS_ROWS
    assert b.column("status").null_count == GROUPS_ROWS // 6
    bounds = [{k: v for k, v in s.items() if k != "numRecords"} for s in _stats(enum)]
    assert bounds == [{k: v for k, v in s.items() if k != "numRecords"} for s in _stats(plain)]
    written = _encodings(con, tmp_path / "enum")
    assert all("DICTIONARY" in enc and not bloom for enc, bloom in written["status"])
    assert all(
        "DICTIONARY" in enc and bloom
        for enc, bloom in _encodings(con, tmp_path / "plain")["status"]
    )
    assert all("DICTIONARY" not in enc for enc, _ in written["label"])


def test_text_of_many_values_or_few_rows_is_written_plain(
    con: duckdb.DuckDBPyConnection,
) -> None:
    values = ENUM_MEMBERS + 1
    many = f"select i % {values} as n, (i % {values})::varchar as c from range({GROUPS_ROWS}) t(i)"
    con.execute(f"create table t as {many}")
    assert enum_members(con, "t", "select * from t", GROUPS_ROWS) == {}
    # few in both samples (1 and ~35), but 370 values in all: counted, and written plain
    rows = 10 * ROW_GROUP_ROWS
    rare = f"case when i >= {ROW_GROUP_ROWS} and i % 3000 = 0 then 'v' || i else 'a' end"
    con.execute(f"create table rare as select {rare} as c from range({rows}) t(i)")
    assert enum_members(con, "rare", "select * from rare", rows) == {}
    con.execute("create table small as select 'a' as c from range(1000)")
    assert enum_members(con, "small", "select * from small", 1000) == {}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(st.characters(codec="utf-8"))),
        min_size=1,
        max_size=40,
    )
)
def test_every_text_is_published_as_it_is_through_an_enum(
    tmp_path_factory: pytest.TempPathFactory, values: list[str | None]
) -> None:
    """Whatever the strings, an ENUM of a column's values publishes that column's strings."""
    con = duckdb.connect()
    try:
        con.register(
            "source", pa.table({"id": range(len(values)), "c": pa.array(values, pa.string())})
        )
        con.execute("create table t as select * from source")
        members = sorted({v for v in values if v is not None})
        folder = tmp_path_factory.mktemp("enum")
        write_files(
            con,
            "select * from t",
            folder,
            current=None,
            mode="overwrite",
            commit=_commit(),
            enums={"c": members} if members else None,
        )
        got = DeltaTable(str(folder)).to_pyarrow_table().sort_by("id")
        assert got.column("c").to_pylist() == values
    finally:
        con.close()
