"""A real dbt project on real bronze Delta tables, shared per test module (dbt is slow to start).

:class:`DbtProject` runs dbt in-process (``dbtRunner``) with the repo's ``profiles.yml`` and the
runtime's bronze plugin (``transform.dbt_plugin``), against a DuckDB file and Delta tables under a
temporary folder. It reads results through the DuckDB connection dbt keeps open (the file is
locked by it, as in production).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse import Settings, get_settings

REPO = Path(__file__).resolve().parents[2]


class DbtError(AssertionError):
    pass


class DbtProject:
    """dbt on ``project_dir`` with the repo's profiles, data under ``root``."""

    def __init__(self, root: Path, project_dir: Path) -> None:
        self.root = root
        self.settings = Settings(
            root=root, dbt_project_dir=project_dir, profiles_dir=REPO, batch_window_ms=0
        )
        self.target_path = root / "dbt_target"

    def env(self) -> dict[str, str]:
        return {
            "LAKEHOUSE_ROOT": str(self.root),
            "LAKEHOUSE_DADOS": str(self.settings.dados),
            "LAKEHOUSE_DBT_TARGET": "dev",
            "LAKEHOUSE_DBT_THREADS": "2",
            "LAKEHOUSE_DBT_PROJECT_DIR": str(self.settings.dbt_project_dir),
            "LAKEHOUSE_PROFILES_DIR": str(REPO),
        }

    def dbt(self, *args: str, expect_success: bool = True) -> Any:
        """Run one dbt command on a freshly pinned bronze snapshot; its ``RunExecutionResult``."""
        from dbt.cli.main import dbtRunner

        from transform.dbt_plugin import begin_build

        begin_build(self.settings)
        result = dbtRunner().invoke(
            [
                *args,
                "--project-dir",
                str(self.settings.dbt_project_dir),
                "--profiles-dir",
                str(REPO),
                "--target-path",
                str(self.target_path),
                "--quiet",
                "--log-level-file",  # no dbt.log: dbt leaks its handle on every invocation
                "none",
            ]
        )
        if expect_success and not result.success:
            failures = [
                f"{r.node.unique_id}: {r.status} {r.message}"
                for r in getattr(result.result, "results", [])
                if str(r.status) not in ("success", "pass")
            ]
            raise DbtError(f"dbt {' '.join(args)} failed: {result.exception or failures}")
        return result.result

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        from transform.dbt_plugin import connection

        conn = connection()
        assert conn is not None, "dbt has not opened its DuckDB connection yet"
        cursor = conn.cursor()
        try:
            return cursor.execute(sql).fetchall()
        finally:
            cursor.close()

    def table(self, name: str) -> pa.Table:
        from transform.dbt_plugin import connection

        conn = connection()
        assert conn is not None
        cursor = conn.cursor()
        try:
            return cursor.sql(f"select * from main.{name}").to_arrow_table()
        finally:
            cursor.close()

    def column_types(self, name: str) -> dict[str, str]:
        rows = self.query(
            "select column_name, data_type from information_schema.columns"
            f" where table_schema = 'main' and table_name = '{name}' order by ordinal_position"
        )
        return dict(rows)

    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.target_path / "manifest.json").read_text())
        return manifest

    def append_bronze(self, table: str, records: list[dict[str, Any]], **extra: Any) -> int:
        """Append ``records`` to bronze ``table`` directly (as a loader commit would), cast to
        the table's schema, with the bronze columns given in ``extra``; the new version."""
        path = str(self.settings.dados / "bronze" / table)
        schema = DeltaTable(path).schema().to_arrow()
        schema = pa.schema(schema)  # arro3 → pyarrow
        rows = [{**r, **extra} for r in records]
        data = pa.Table.from_pylist(rows).select(schema.names)
        write_deltalake(path, data.cast(schema), mode="append")
        return int(DeltaTable(path).version())


@contextmanager
def lakehouse_env(project: DbtProject) -> Iterator[None]:
    """The LAKEHOUSE_* variables a plain ``dbt`` command reads, for the duration of a module."""
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith("LAKEHOUSE_"):
                patch.delenv(key)
        for key, value in project.env().items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()
