"""Module boundaries stay one-directional (STYLE.md): parsed from the imports, not assumed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# the only modules that compose every package
COMPOSERS = {REPO / "lakehouse" / "cli.py", REPO / "lakehouse" / "compose.py"}
FIRST_PARTY = {"lakehouse", "ingest", "loader"}

# package -> first-party packages it may import (the CLI composes them all)
ALLOWED = {
    "lakehouse": {"lakehouse"},
    "ingest": {"lakehouse", "ingest"},
    "loader": {"lakehouse", "loader"},
}
FORBIDDEN_THIRD_PARTY = {
    "ingest": {"deltalake", "duckdb", "dbt"},
    "loader": {"fastapi", "starlette"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    files = [p for p in (REPO / package).rglob("*.py") if p not in COMPOSERS]
    assert files, f"{package} has no modules"
    for path in files:
        imported = _imports(path)
        wrong = (imported & FIRST_PARTY) - ALLOWED[package]
        assert not wrong, f"{path.relative_to(REPO)} imports {sorted(wrong)}"
        banned = imported & FORBIDDEN_THIRD_PARTY.get(package, set())
        assert not banned, f"{path.relative_to(REPO)} imports {sorted(banned)}"
