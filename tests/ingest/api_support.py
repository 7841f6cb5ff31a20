"""Helpers for the ingest API tests: a dbt project with a contract, settings, sample rows."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lakehouse import Settings

SOURCES = """\
version: 2
sources:
  - name: bronze
    tables:
      - name: orders
        config:
          meta:
            primary_key: [order_id]
        columns:
          - name: order_id
            data_type: bigint
            data_tests: [not_null, unique]
          - name: customer_id
            data_type: integer
            data_tests:
              - not_null
              - relationships: {to: "source('bronze', 'customers')", field: customer_id}
          - name: amount
            data_type: decimal(12, 2)
          - name: currency
            data_type: varchar
            constraints: [{type: not_null}]
          - name: status
            data_type: varchar
          - name: is_gift
            data_type: boolean
          - name: ordered_at
            data_type: timestamp with time zone
            tests: [not_null]
          - name: quantity
            data_type: smallint
      - name: customers
        columns:
          - name: customer_id
            data_type: integer
  - name: other
    tables:
      - name: ignored
"""


def write_dbt_project(root: Path, sources: str = SOURCES) -> Path:
    project = root / "dbt_project"
    (project / "models" / "staging").mkdir(parents=True, exist_ok=True)
    (project / "models" / "staging" / "_bronze__sources.yml").write_text(textwrap.dedent(sources))
    return project


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "root": tmp_path,
        "dbt_project_dir": write_dbt_project(tmp_path),
        "api_ready_requires_loader": False,
        "api_min_free_bytes": 0,
        "api_rate_per_token": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def order(i: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "order_id": i,
        "customer_id": 100 + i,
        "amount": 12.5,
        "currency": "EUR",
        "status": "placed",
        "is_gift": False,
        "ordered_at": "2024-05-01T12:00:00Z",
        "quantity": 2,
    }
    row.update(changes)
    return row


def landed(settings: Settings, table: str) -> list[Path]:
    """Files in raw/<table>/ (temporaries included, so a leak shows)."""
    folder = settings.raw_dir / table
    return sorted(folder.iterdir()) if folder.is_dir() else []
