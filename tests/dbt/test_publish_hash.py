"""Changes DuckDB's hash cannot tell apart are still published (transform.publish).

DuckDB hashes values that compare equal the same: 'alice' and 'ALICE' in a ``COLLATE NOCASE``
column, 0.0 and -0.0 in a DOUBLE or FLOAT. The publisher's row hash must see both changes on
every path that decides what changed (overwrite fingerprint, keyed diff, key ranges, newer
rows, keyless diff), and a shadow made by the older hash must not hide them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake

from lakehouse import Settings
from transform.publish import (
    FINGERPRINT_KEY,
    ROW,
    SHADOW_SCHEMA,
    ModelSpec,
    Publisher,
    _last_fingerprint,
)

PATHS = {
    # name: (unique key, diff_ranges_from, with _ingested_at)
    "keyed": (("k",), 100_000, False),
    "key_ranges": (("k",), 0, False),
    "newer_rows": (("k",), 0, True),
    "keyless": ((), 100_000, False),
}


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    yield con
    con.close()


def spec(key: tuple[str, ...]) -> ModelSpec:
    return ModelSpec(
        unique_id="model.lakehouse.m",
        name="m",
        relation="main.m",
        layer="gold",
        materialized="incremental" if key else "table",
        unique_key=key,
    )


def create(conn: duckdb.DuckDBPyConnection, ingested: bool) -> None:
    at = ", _ingested_at timestamptz" if ingested else ""
    conn.execute(f"create table m (k bigint, name varchar collate nocase, x double, f float{at})")
    value = ", timestamptz '2026-01-01 00:00:00+00'" if ingested else ""
    conn.execute(
        f"insert into m select i, 'name' || i, i, i{value} from range(1, 50) t(i)"
        f" union all select 0, 'alice', '0.0'::double, '0.0'::float{value}"
    )


def replace(conn: duckdb.DuckDBPyConnection, values: str) -> None:
    """Row 0 with ``values`` (DuckDB's UPDATE keeps a value equal to the new one: 0.0 for
    -0.0, so the row is deleted and inserted again)."""
    conn.execute(
        f"create or replace temp table r as select * replace ({values}) from m where k = 0"
    )
    conn.execute("delete from m where k = 0")
    conn.execute("insert into m select * from r")


def published(settings: Settings) -> dict[str, object]:
    table = DeltaTable(str(settings.dados / "gold/m")).to_pyarrow_table()
    found = [r for r in table.to_pylist() if r["k"] == 0]
    assert len(found) == 1, found
    return found[0]


def negative(value: object) -> bool:
    assert isinstance(value, float) and value == 0.0
    return math.copysign(1.0, value) < 0


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("change", ["case", "zero", "float_zero"])
def test_a_change_only_a_collation_or_a_zero_sign_hides_is_published(
    settings: Settings, conn: duckdb.DuckDBPyConnection, path: str, change: str
) -> None:
    key, ranges_from, ingested = PATHS[path]
    publisher = Publisher(settings, conn, batch_rows=1024, diff_ranges_from=ranges_from)
    model = spec(key)
    create(conn, ingested)
    publisher.publish(model)
    assert published(settings)["name"] == "alice"
    assert not negative(published(settings)["x"])
    update = {
        "case": "'ALICE' as name",
        "zero": "'-0.0'::double as x",
        "float_zero": "'-0.0'::float as f",
    }[change]
    replace(conn, update)
    done = publisher.publish(model)
    assert done.mode != "unchanged", done
    row = published(settings)
    assert row["name"] == ("ALICE" if change == "case" else "alice")
    assert negative(row["x"]) == (change == "zero")
    assert negative(row["f"]) == (change == "float_zero")
    assert DeltaTable(str(settings.dados / "gold/m")).count() == 50
    assert publisher.publish(model).mode == "unchanged"  # and then nothing more to publish
    # a full refresh decides by the content fingerprint: the same content, nothing committed
    assert publisher.publish(model, full_refresh=True).mode == "unchanged"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_shadow_made_by_the_older_hash_is_rebuilt_not_trusted(
    settings: Settings, conn: duckdb.DuckDBPyConnection, path: str
) -> None:
    """The older hash (DuckDB's ``hash`` of the collated row) made 'ALICE' hash as 'alice': a
    shadow of it, trusted, would take the model's 'alice' for what is published."""
    key, ranges_from, ingested = PATHS[path]
    publisher = Publisher(settings, conn, batch_rows=1024, diff_ranges_from=ranges_from)
    model = spec(key)
    create(conn, ingested)
    # no float column: the older hash of every other row is the newer one (a float's would
    # differ by its zero sign, and the diff would rewrite the table whatever the shadow)
    conn.execute("alter table m drop column x")
    conn.execute("alter table m drop column f")
    replace(conn, "'ALICE' as name")
    publisher.publish(model)
    assert published(settings)["name"] == "ALICE"
    # the shadow and its state as the older publisher left them: its hashes of the model's
    # rows as they were (collation and all), no hash version recorded
    shadow, state = f"{SHADOW_SCHEMA}.gold__m", f"{SHADOW_SCHEMA}.gold__m__state"
    keys = "k, " if key else ""
    conn.execute(
        f"create or replace table {shadow} as select {keys}hash({ROW}) as _lh_hash"
        f" from (select * from m) as {ROW}"
    )
    conn.execute(f"create or replace table {state} as select seq, keys, newest from {state}")
    replace(conn, "'alice' as name")
    done = publisher.publish(model)
    assert done.mode != "unchanged", done
    assert published(settings)["name"] == "alice"
    assert publisher.publish(model).mode == "unchanged"


def test_the_last_fingerprint_is_the_newest_publishs_past_upkeep(tmp_path: Path) -> None:
    """``_last_fingerprint`` reads the newest commit alone first; the answer is the one the 50
    newest give: the newest publish's fingerprint past commits that are neither (upkeep), none
    past an incremental merge, none when no commit says."""
    path = str(tmp_path / "t")
    data = pa.table({"k": pa.array([1], pa.int64())})

    def commit(metadata: dict[str, str]) -> DeltaTable:
        write_deltalake(
            path, data, mode="append", commit_properties=CommitProperties(custom_metadata=metadata)
        )
        return DeltaTable(path)

    assert _last_fingerprint(commit({})) is None  # nothing says
    assert _last_fingerprint(commit({FINGERPRINT_KEY: "a"})) == "a"  # the newest says
    assert _last_fingerprint(commit({"upkeep": "x"})) == "a"  # past upkeep
    for _ in range(3):
        table = commit({})
    assert _last_fingerprint(table) == "a"
    assert _last_fingerprint(commit({"lakehouse.model": "m"})) is None  # a merge since
    assert _last_fingerprint(commit({})) is None
    assert _last_fingerprint(commit({FINGERPRINT_KEY: "b", "lakehouse.model": "m"})) == "b"
    for _ in range(50):  # the fingerprint beyond the 50 newest is not looked for
        table = commit({})
    assert _last_fingerprint(table) is None
