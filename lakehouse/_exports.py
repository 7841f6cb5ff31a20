"""A package's public names, imported on first use (PEP 562).

Every package's ``__init__.py`` says what it offers in ``__all__`` and imports it from the
module that defines it. The imports run on first use, not when the package is imported, so
``lakehouse status`` or ``lakehouse token create`` never import dbt, FastAPI or delta-rs
because a package they touch offers something that does. For type checkers the same names are
imported under ``if TYPE_CHECKING:`` (``tests/test_public_surface.py`` keeps the two lists equal).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, from ``{module: names it defines}``."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # once: later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return __getattr__, __dir__
