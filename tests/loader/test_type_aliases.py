"""One table of type names (``lakehouse.dialect.TYPE_ALIASES``): the API and the loader read a
contract's ``data_type`` the same way, for every alias and spelling.

The API checks a value by :func:`lakehouse.dialect.fits` (through ``ingest.typecheck``) and a
Parquet column by the contract's kind (``lakehouse.contracts``); the loader stores the column as
``loader.fitting.storage_type``. A type both must agree on: its name, its kind, its storage, and
that a Parquet column typed as bronze stores it is taken by the API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from textwrap import dedent

import pyarrow as pa
import pytest
from loader_support import bronze, drop

from ingest.filecheck import _parquet_schema
from ingest.typecheck import first_misfit
from lakehouse import dialect
from lakehouse.contracts import Column, Contract, normalize_type, type_kind
from lakehouse.settings import Settings
from loader.fitting import storage_type
from loader.loading import Loader

CANONICAL = sorted(
    {*dialect.TYPE_ALIASES.values(), *dialect.INT_RANGES, "HUGEINT", "DOUBLE", "FLOAT"}
    | {"BOOLEAN", "DATE", "TIMESTAMP", "TIMESTAMPTZ", "VARCHAR", "DECIMAL", "TIME", "UUID"}
)
SPELLINGS = sorted(
    {*dialect.TYPE_ALIASES, *CANONICAL}
    | {name.lower() for name in dialect.TYPE_ALIASES}
    | {"timestamp  with   time zone", "Timestamptz", "numeric(12, 2)", "varchar(20)"}
)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_means_one_type_to_both(spelling: str) -> None:
    name = dialect.base_type(spelling)
    assert normalize_type(spelling) == name  # the API's name is the loader's
    canonical = dialect.type_name(spelling)
    assert dialect.type_name(canonical) == canonical
    assert type_kind(spelling) == type_kind(canonical)
    assert storage_type(spelling) == storage_type(canonical)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_api_takes_a_parquet_column_typed_as_bronze_stores_it(spelling: str) -> None:
    stored = storage_type(spelling)
    contract = Contract("t", (Column("c", spelling),))
    errors: list[dict[str, object]] = []
    _parquet_schema(pa.schema([("c", stored)]), contract, errors)
    assert errors == [], (spelling, stored)
    kind = type_kind(spelling)
    if kind == "timestamp":
        assert stored == pa.timestamp("us", tz="UTC")
    if kind == "integer":
        assert dialect.integer_range(spelling) is not None


def test_timestamptz_is_an_instant_to_both(settings: Settings) -> None:
    """``timestamptz`` (any spelling): a time with an offset is that instant, stored in UTC; a
    time without one is read as UTC (docs/loading.md, Types)."""
    texts = ["2024-01-02T13:45:00+01:00", "2024-01-02 12:45:00", "2024-01-02T12:45:00Z"]
    for spelling in ("timestamptz", "timestamp with time zone", "TIMESTAMPTZ"):
        assert first_misfit(pa.array(texts), spelling) is None  # the API takes every one
    project = settings.root / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "_sources.yml").write_text(
        dedent("""
        version: 2
        sources:
          - name: bronze
            tables:
              - name: t
                meta: {on_mismatch: quarantine}
                columns:
                  - {name: at, data_type: timestamp with time zone}
        """)
    )
    settings = settings.model_copy(update={"dbt_project_dir": project})
    drop(settings, "t", "a.csv", "at\n" + "\n".join(texts) + "\n")
    summary = Loader(settings).load_pending()
    assert summary.loaded and not summary.quarantined
    at = bronze(settings, "t").column("at")
    assert at.type == pa.timestamp("us", tz="UTC")
    assert set(at.to_pylist()) == {datetime(2024, 1, 2, 12, 45, tzinfo=UTC)}
