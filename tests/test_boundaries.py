"""Package boundaries stay one-directional: parsed from the imports, not assumed.

The shape (README, "Layout"): the core ``lakehouse`` at the bottom; ``ingest``, ``loader`` and
``transform`` side by side on it, none importing another; ``app`` (the ``lakehouse`` command and
what it composes) above them; ``bench`` on top. Only ``bench`` and the tests import ``app``.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"lakehouse", "ingest", "loader", "transform", "app", "bench"}

# package -> first-party packages it may import
ALLOWED = {
    "lakehouse": {"lakehouse"},
    "ingest": {"lakehouse", "ingest"},
    "loader": {"lakehouse", "loader"},
    "transform": {"lakehouse", "transform"},
    "app": {"lakehouse", "ingest", "loader", "transform", "app"},
    "bench": {"lakehouse", "ingest", "loader", "transform", "app", "bench"},
}
FORBIDDEN_THIRD_PARTY = {
    "ingest": {"deltalake", "duckdb", "dbt"},
    "loader": {"fastapi", "starlette", "dbt"},
    "transform": {"fastapi", "starlette"},
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


def _first_party_dirs() -> set[str]:
    """Every top-level folder of the repository that holds Python (tests aside)."""
    return {
        folder.name
        for folder in REPO.iterdir()
        if folder.is_dir()
        and not folder.name.startswith(".")
        and folder.name != "tests"
        and any(folder.glob("*.py"))
    }


def test_every_package_has_its_rules() -> None:
    """A new top-level package must say where it stands before it can import anything."""
    assert _first_party_dirs() <= set(ALLOWED), sorted(_first_party_dirs() - set(ALLOWED))
    assert set(ALLOWED) <= FIRST_PARTY


def _python_files(package: str) -> list[Path]:
    """The package's modules: what git tracks or would (``bench/out`` holds a peers' virtualenv
    of thousands of modules, ignored by git, that are not ours)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", package],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file
        return sorted((REPO / package).rglob("*.py"))
    return sorted(
        REPO / name for name in listed if name.endswith(".py") and (REPO / name).is_file()
    )


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    files = _python_files(package)
    assert files, f"{package} has no modules"
    for path in files:
        imported = _imports(path)
        wrong = (imported & FIRST_PARTY) - ALLOWED[package]
        assert not wrong, f"{path.relative_to(REPO)} imports {sorted(wrong)}"
        banned = imported & FORBIDDEN_THIRD_PARTY.get(package, set())
        assert not banned, f"{path.relative_to(REPO)} imports {sorted(banned)}"


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    """The parser sees both import forms, including ones inside functions (lazy imports)."""
    module = tmp_path / "m.py"
    module.write_text("import app.cli\n\ndef f():\n    from transform.builder import Builder\n")
    assert _imports(module) == {"app", "transform"}
