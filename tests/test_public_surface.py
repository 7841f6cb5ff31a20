"""Each package says what it offers in ``__init__.py``, and offering it costs nothing up front.

The names in ``__all__``, the ``if TYPE_CHECKING:`` imports (what type checkers see) and the
lazy map (what Python imports on first use, :mod:`lakehouse._exports`) are one list three times:
they must agree, and every name must be the object its module defines.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["lakehouse", "ingest", "loader", "transform", "app"]


def _surface(package: str) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """``__all__``, ``{name: module}`` type checkers see, ``{name: module}`` Python imports."""
    tree = ast.parse((REPO / package / "__init__.py").read_text())
    declared: list[str] = []
    typed: dict[str, str] = {}
    lazy: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            declared = list(ast.literal_eval(node.value))
        elif isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module
                typed.update({alias.name: imp.module for alias in imp.names})
            for call in ast.walk(ast.Module(body=node.orelse, type_ignores=[])):
                if isinstance(call, ast.Call) and ast.unparse(call.func) == "lazy_exports":
                    exports = ast.literal_eval(call.args[1])
                    lazy.update(
                        {name: module for module, names in exports.items() for name in names}
                    )
    return declared, typed, lazy


@pytest.mark.parametrize("package", PACKAGES)
def test_all_type_checking_imports_and_lazy_map_agree(package: str) -> None:
    declared, typed, lazy = _surface(package)
    assert declared, f"{package}/__init__.py declares no __all__"
    assert declared == sorted(set(declared), key=declared.index), "a name is listed twice"
    assert set(declared) == set(typed), "__all__ and the TYPE_CHECKING imports differ"
    assert typed == lazy, "the TYPE_CHECKING imports and the lazy map differ"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_offered_name_is_its_modules_object(package: str) -> None:
    module = importlib.import_module(package)
    _, typed, _ = _surface(package)
    for name, where in typed.items():
        assert getattr(module, name) is getattr(importlib.import_module(where), name), name
        assert name in dir(module)
    with pytest.raises(AttributeError, match="no attribute 'not_offered'"):
        getattr(module, "not_offered")  # noqa: B009


def test_importing_the_packages_imports_none_of_the_heavy_libraries() -> None:
    """``lakehouse status`` or ``token create`` must not pay for dbt because a package offers it."""
    heavy = ["dbt", "deltalake", "duckdb", "fastapi", "polars", "uvicorn"]
    code = (
        "import sys\n"
        f"import {', '.join(PACKAGES)}\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == ""
