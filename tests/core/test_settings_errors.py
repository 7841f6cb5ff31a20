"""A bad setting is one line naming the variable and what it accepts, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")


def _run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    return subprocess.run(
        [LAKEHOUSE, *args],
        env=clean | env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("LAKEHOUSE_MODE", "prod", "'development' or 'production'"),
        ("LAKEHOUSE_CHUNK_ROWS", "0", "greater than or equal to 1"),
        ("LAKEHOUSE_LOG_FORMAT", "xml", "'text' or 'json'"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    done = _run("status", cwd=tmp_path, **{variable: value})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error: {variable}='{value}': Input should be {says}"], done.stderr
    assert "Traceback" not in done.stderr and "\x1b[" not in done.stderr  # no ANSI in a pipe


def test_a_root_that_does_not_exist_is_an_error_and_stays_absent(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    done = _run("load", cwd=tmp_path, LAKEHOUSE_ROOT=str(nowhere))
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: LAKEHOUSE_ROOT={nowhere}: no such folder"
    assert not nowhere.exists()


def test_a_root_without_a_dbt_project_is_an_error_not_zero_files(tmp_path: Path) -> None:
    done = _run("load", cwd=tmp_path, LAKEHOUSE_ROOT=str(tmp_path))
    assert done.returncode == 1
    assert "no dbt project at" in done.stderr and "LAKEHOUSE_DBT_PROJECT_DIR" in done.stderr
    assert "loaded 0 file" not in done.stdout
    # loading alone needs no dbt project
    alone = _run("load", "--no-build", cwd=tmp_path, LAKEHOUSE_ROOT=str(tmp_path))
    assert alone.returncode == 0, alone.stderr
