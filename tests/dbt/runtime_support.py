"""Small throw-away dbt projects and bronze tables for the runtime tests (dbt-duckdb style).

Each test module writes its own project under ``tmp_path`` (models, sources, dbt_project.yml)
and uses the repo's ``profiles.yml`` (the ``test`` target: in-memory DuckDB, 4 threads), so the
runtime is tested against the profile users get, not a copy of it.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from lakehouse import Settings, table_path

REPO = Path(__file__).resolve().parents[2]

PROJECT_YML = """
name: lakehouse
version: "1.0.0"
config-version: 2
profile: lakehouse
model-paths: ["models"]
models:
  lakehouse:
    staging:
      +materialized: table
    intermediate:
      +materialized: view
    marts:
      +materialized: table
"""

SOURCES_YML = """
version: 2
sources:
  - name: bronze
    meta:
      plugin: lakehouse_bronze
    tables:
      - name: orders
        columns:
          - name: order_id
            data_tests: [not_null]
      - name: customers
        columns:
          - name: customer_id
            data_tests: [not_null, unique]
"""


def bronze_sources(*tables: str) -> str:
    """A sources YAML: the ``bronze`` source (the lakehouse's plugin) with ``tables``."""
    names = "".join(f"      - name: {t}\n" for t in tables)
    head = "version: 2\nsources:\n  - name: bronze\n    meta: {plugin: lakehouse_bronze}\n"
    return f"{head}    tables:\n{names}"


def write_project(root: Path, files: dict[str, str]) -> Path:
    """A dbt project at ``root``: dbt_project.yml, the bronze sources, and ``files``."""
    root.mkdir(parents=True, exist_ok=True)
    all_files = {"dbt_project.yml": PROJECT_YML, "models/staging/_sources.yml": SOURCES_YML}
    all_files.update(files)
    for name, text in all_files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def project_settings(tmp_path: Path, project: Path, *, target: str = "test") -> Settings:
    return Settings(
        root=tmp_path,
        dbt_project_dir=project,
        profiles_dir=REPO,
        dbt_target=target,
        batch_window_ms=0,
    )


#: a project whose models record what they read (the version watermark: docs/dbt.md)
WATERMARK_PROJECT_YML = """
name: lakehouse
version: "1.0.0"
config-version: 2
profile: lakehouse
model-paths: ["models"]
macro-paths: ["macros"]
models:
  lakehouse:
    +post-hook: "{{ lakehouse_absorb() }}"
    staging:
      +materialized: table
      +meta:
        publish: silver
"""
#: the sample project's macros the version watermark needs
WATERMARK_MACROS = (
    "bronze_since.sql",
    "bronze_watermark.sql",
    "changed_since.sql",
    "changed_keys.sql",
)


def watermark_settings(tmp_path: Path, files: dict[str, str]) -> Settings:
    """Settings of a project of ``files`` with the watermark's dbt_project.yml and macros."""
    every = {"dbt_project.yml": WATERMARK_PROJECT_YML, **files}
    for name in WATERMARK_MACROS:
        every[f"macros/{name}"] = (REPO / "dbt_project" / "macros" / name).read_text()
    return project_settings(tmp_path, write_project(tmp_path / "project", every))


def orders(first: int, count: int, *, customer_count: int = 3) -> pa.Table:
    ids = list(range(first, first + count))
    return pa.table(
        {
            "order_id": pa.array(ids, pa.int64()),
            "customer_id": pa.array([i % customer_count + 1 for i in ids], pa.int64()),
            "amount_cents": pa.array([i * 100 for i in ids], pa.int64()),
            "ordered_at": pa.array(
                [datetime(2026, 1, 1, tzinfo=UTC)] * count, pa.timestamp("us", tz="UTC")
            ),
            "_batch_id": pa.array([f"bat_{first:032x}"] * count, pa.string()),
        }
    )


def customers(count: int) -> pa.Table:
    ids = list(range(1, count + 1))
    return pa.table(
        {
            "customer_id": pa.array(ids, pa.int64()),
            "name": pa.array([f"customer {i}" for i in ids], pa.string()),
        }
    )


def append_bronze(
    settings: Settings, table: str, data: pa.Table, *, partition_by: list[str] | None = None
) -> int:
    """Append to bronze ``table`` (created on first use); the new Delta version."""
    from deltalake import DeltaTable

    path = str(table_path(settings, "bronze", table))
    write_deltalake(path, data, mode="append", partition_by=partition_by)
    return DeltaTable(path).version()
