"""Shared fixtures: settings rooted in a temporary folder, so every test has its own lakehouse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse import Settings, get_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """How many workers ``-n auto`` starts: one per CPU this process may use, two at most
    (the default run is kept for 2-core machines, and each worker pays its own imports and
    module fixtures); none (the tests run in this process) with one CPU.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` sets another number, and ``-n N`` on the command line
    overrides ``-n auto``."""
    wanted = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if wanted:
        return int(wanted)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 if (cpus or 1) >= 2 else 0


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(
    config: pytest.Config, report: pytest.TestReport
) -> Iterator[None] | Any:
    """A test's report as an xdist worker sends it, its text UTF-8 (a lone surrogate, a name's
    undecodable byte in a captured log line, as ``\\udce9``): execnet refuses to send a lone
    surrogate, and the worker died (INTERNALERROR) after
    ``test_a_name_that_is_not_utf8_is_quarantined_saying_so`` passed."""
    data = yield
    return _sendable(data)


def _sendable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode()
        return value
    if isinstance(value, dict):
        return {_sendable(k): _sendable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_sendable(v) for v in value)
    return value


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings whose data folders live under ``tmp_path``; the dbt project is the repo's."""
    for key in list(os.environ):
        if key.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(key)
    get_settings.cache_clear()
    yield Settings(
        root=tmp_path,
        dbt_project_dir=REPO / "dbt_project",
        profiles_dir=REPO,
        batch_window_ms=0,
    )
    get_settings.cache_clear()


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (a user's clone)")
    return SHARED
