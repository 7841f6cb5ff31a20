"""A gold model's SQL on a real Spark cluster (standalone master + one worker on loopback),
reading the published silver tables, gives exactly the published gold table (bench/spark_gold.py).

Needs the ``distributed`` dependency group (``uv sync --group distributed``: pyspark, sqlglot) and
a Java runtime; skipped, saying which is missing, otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from storage_support import REPO, write_project

from lakehouse.layout import raw_dir
from lakehouse.settings import Settings
from loader.loading import Loader
from transform.session import DbtSession

pytestmark = pytest.mark.spark
MODELS = {
    "models/staging/stg_orders.sql": """
        select cast(id as bigint) as order_id, customer, cast(cents as bigint) as cents,
            cast(placed as timestamptz) as ordered_at
        from {{ source('bronze', 'orders') }}
    """,
    "models/intermediate/int_orders_dated.sql": """
        select *, cast(timezone('UTC', ordered_at) as date) as order_date
        from {{ ref('stg_orders') }}
    """,
    "models/marts/daily_customers.sql": """
        select order_date, customer, count(*) as orders,
            count(*) filter (where cents >= 100) as big_orders,
            cast(sum(cents) / 100.0 as decimal(18, 2)) as amount
        from {{ ref('int_orders_dated') }} group by order_date, customer
    """,
}


def test_a_gold_models_sql_on_a_spark_cluster(tmp_path: Path) -> None:
    pytest.importorskip("pyspark", reason="uv sync --group distributed installs pyspark")
    pytest.importorskip("sqlglot", reason="uv sync --group distributed installs sqlglot")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (Spark needs one: Debian's default-jre-headless)")
    from bench.spark_gold import run

    project = write_project(tmp_path / "project", MODELS)
    settings = Settings(root=tmp_path, dbt_project_dir=project, profiles_dir=REPO, dbt_target="dev")
    folder = raw_dir(settings, "orders")
    folder.mkdir(parents=True)
    rows = [
        f"{i},{('ann', 'bob', 'cy')[i % 3]},{(i * 37) % 250},"
        f"2026-03-0{1 + (i // 3) % 3}T2{i % 4}:30:00Z"
        for i in range(60)
    ]
    (folder / "orders.csv").write_text("id,customer,cents,placed\n" + "\n".join(rows) + "\n")
    Loader(settings).load_pending()
    built = DbtSession(settings).build()
    assert built.success, built.failures
    assert "gold/daily_customers" in built.published

    result = run(settings, "daily_customers", tmp_path / "spark")
    assert result["master"].startswith("spark://127.0.0.1:")
    assert result["rows"] == 9  # 3 days x 3 customers
    assert result["matches"], result["first_difference"]


def _canonical(value: object) -> object:
    """A value as compared: a float by its repr (NaN equals NaN, -0.0 differs from 0.0)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


#: every type a model may publish, over two row groups, with NULLs, extremes and odd floats
TYPES_SQL = (
    "select i::bigint as id, (i % 1000 - 500)::integer as i32, (i % 100)::smallint as i16,"
    " (i % 50 - 25)::tinyint as i8,"
    " case when i % 7 = 0 then null else (i * 1.25)::decimal(18, 2) end as d18,"
    " (i * 3 - 1000)::decimal(9, 2) as d9,"
    " (i::hugeint * 1000000000000000000)::decimal(38, 0) as d38,"
    " timestamptz '1969-12-31 23:00:00+00' + to_microseconds(i * 1234567) as ts,"
    " date '0001-01-01' + (i * 7)::int as dt,"
    " case when i % 5 = 0 then null when i % 11 = 0 then '' else 'tëxt '"
    " || (hash(i) % 100000)::varchar end as s,"
    " case when i % 13 = 0 then null else [i, i + 1, null] end as lst,"
    " {{'a': i, 'b': 'x' || i::varchar}} as st,"
    " case when i % 17 = 0 then null else i % 3 = 0 end as b, i % 4 as few{floats}"
    " from range(130000) t(i)"
)
FLOATS = (
    ", case i % 9 when 0 then 'nan'::double when 1 then -0.0 when 2 then 'inf'::double"
    " else i::double / 3 end as f, (i::float / 7)::float as f4"
)


def test_spark_reads_the_parquet_v2_files_a_rewrite_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files of a rewrite in Parquet v2 (v2 data pages, the delta encodings; and floats
    byte-stream-split when ``publish_parquet_version`` is ``v2``) read by Spark's Parquet reader,
    vectorized (its default) and not, give every value of every type exactly. ``auto`` writes
    v2 for a model without floats (docs/dbt.md, "Parquet files": which older Spark versions
    read what, measured; the default stays v1). And the default v1 files of a big rewrite,
    Snappy-compressed (``publish.SNAPPY_FROM`` rows, lowered here to the model's 130,000)."""
    pytest.importorskip("pyspark", reason="uv sync --group distributed installs pyspark")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (Spark needs one: Debian's default-jre-headless)")

    import duckdb
    from deltalake import DeltaTable

    from lakehouse.storage import arrow_dataset
    from transform import publish
    from transform.publish import ModelSpec, Publisher

    settings = Settings(root=tmp_path, dbt_project_dir=tmp_path, profiles_dir=REPO)
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    tables: dict[str, tuple[list[str], list[object]]] = {}
    versions = (("plain", "", "auto"), ("floats", FLOATS, "v2"), ("snappy", FLOATS, "v1"))
    for name, floats, version in versions:
        monkeypatch.setattr(publish, "SNAPPY_FROM", 130_000 if name == "snappy" else 10**12)
        conn.execute(f"create table {name} as {TYPES_SQL.format(floats=floats)}")
        model = ModelSpec(
            unique_id=f"model.lakehouse.{name}",
            name=name,
            relation=name,
            layer="silver",
            unique_key=("id",),
        )
        tuned = settings.model_copy(update={"publish_parquet_version": version})
        assert Publisher(tuned, conn).publish(model).mode == "overwrite"
        table = DeltaTable(str(settings.dados / "silver" / name))
        files = [uri.removeprefix("file://") for uri in table.file_uris()]
        metadata = conn.execute(
            "select encodings, compression from parquet_metadata(?)", [files]
        ).fetchall()
        found = " ".join(str(e) for (e, _) in metadata)
        codecs = {str(c) for (_, c) in metadata}
        assert codecs == ({"SNAPPY"} if name == "snappy" else {"ZSTD"}), (name, codecs)
        for encoding in ("DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY"):
            assert (encoding in found) == (version != "v1"), (name, found)
        assert ("BYTE_STREAM_SPLIT" in found) == (version == "v2"), (name, found)
        expected = [
            _canonical(r) for r in arrow_dataset(table).to_table().sort_by("id").to_pylist()
        ]
        model_rows = conn.sql(f"select * from {name} order by id").to_arrow_table().to_pylist()
        assert expected == [_canonical(row) for row in model_rows]
        tables[name] = (files, expected)

    assert [len(expected) for _, expected in tables.values()] == [130000] * len(tables)
    _read_by_spark("lakehouse-parquet-v2", tables)


def test_spark_reads_the_bronze_files_the_loader_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bronze's own Parquet files (``loader.own_files``: a new table's first commit, many row
    groups, dictionaries that fall back to plain encoding part way through a column chunk)
    read by Spark's Parquet reader, vectorized and not, give every value of every type as
    deltalake reads it."""
    pytest.importorskip("pyspark", reason="uv sync --group distributed installs pyspark")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime (Spark needs one: Debian's default-jre-headless)")

    import duckdb
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    from lakehouse.storage import arrow_dataset
    from loader import own_files

    monkeypatch.setattr(own_files, "ROW_GROUP_ROWS", 10_000)  # 13 row groups
    monkeypatch.setattr(own_files, "DICTIONARY_BYTES", 2_000)  # fall back to plain early
    settings = Settings(root=tmp_path)
    folder = raw_dir(settings, "kinds")
    folder.mkdir(parents=True)
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    query = TYPES_SQL.format(floats=FLOATS)
    conn.execute(f"copy ({query}) to '{folder / 'kinds.parquet'}' (format parquet)")
    summary = Loader(settings).load_pending()
    assert summary.loaded and not summary.quarantined, summary
    table = DeltaTable(str(settings.dados / "bronze" / "kinds"))
    assert table.history(1)[0]["operation"] == "CREATE TABLE"  # our own file (own_files.create)
    files = [uri.removeprefix("file://") for uri in table.file_uris()]
    # one piece known whole: written as two files on two threads (own_files.SPLIT), one commit
    assert sum(pq.read_metadata(f).num_row_groups for f in files) == 13 and len(files) == 2
    metadata = conn.execute("select encodings from parquet_metadata(?)", [files])
    found = [str(e) for (e,) in metadata.fetchall()]
    assert any("RLE_DICTIONARY" in e and "PLAIN" in e for e in found), found
    expected = [_canonical(r) for r in arrow_dataset(table).to_table().sort_by("id").to_pylist()]
    assert len(expected) == 130000

    _read_by_spark("lakehouse-bronze-own-files", {"bronze": (files, expected)})


def _read_by_spark(app: str, tables: dict[str, tuple[list[str], list[object]]]) -> None:
    """Each table's files read by Spark's Parquet reader (a local session), vectorized (its
    default) and not, ordered by ``id``: exactly its expected rows (:func:`_canonical`)."""
    import os

    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[1]")
        .appName(app)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    try:
        for vectorized in ("true", "false"):
            spark.conf.set("spark.sql.parquet.enableVectorizedReader", vectorized)
            spark.conf.set("spark.sql.parquet.enableNestedColumnVectorizedReader", vectorized)
            for name, (files, expected) in tables.items():
                read = spark.read.parquet(*files).orderBy("id").toArrow()
                got = [_canonical(row) for row in read.to_pylist()]
                assert got == expected, f"{name}, vectorized={vectorized}: Spark {spark.version}"
    finally:
        spark.stop()
