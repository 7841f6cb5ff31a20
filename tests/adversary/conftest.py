"""Fixtures for the adversary: one lakehouse per module, its environment cleared."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from adversary_support import lakehouse

from lakehouse import Settings


@pytest.fixture(scope="module")
def module_lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("LAKEHOUSE_"):
                mp.delenv(key)
        yield lakehouse(Path(tmp_path_factory.mktemp("adversary")))
