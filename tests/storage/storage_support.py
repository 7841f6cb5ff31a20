"""A small dbt project for the storage tests: staging → (intermediate) → marts over bronze
``orders``, using the repo's profile."""

from __future__ import annotations

import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEADER = {
    "dbt_project.yml": """
        name: lakehouse
        version: "1.0.0"
        config-version: 2
        profile: lakehouse
        model-paths: ["models"]
        models:
          lakehouse:
            staging: {+materialized: table}
            intermediate: {+materialized: view}
            marts: {+materialized: table}
    """,
    "models/staging/_sources.yml": """
        version: 2
        sources:
          - name: bronze
            meta: {plugin: lakehouse_bronze}
            tables:
              - name: orders
    """,
}


def write_project(root: Path, models: dict[str, str]) -> Path:
    """``dbt_project.yml``, the ``bronze`` source and ``models`` under ``root``."""
    for name, text in {**HEADER, **models}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root
