"""Every DuckDB database the lakehouse opens gets Settings' memory limit and spill folder."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from lakehouse import duckdb_config
from lakehouse.settings import Settings


def _setting(conn: object, name: str) -> str:
    row = conn.execute(f"select current_setting('{name}')").fetchone()  # type: ignore[attr-defined]
    assert row is not None
    return str(row[0])


def test_the_default_is_a_share_of_memory_and_a_folder_under_the_state_dir(
    settings: Settings,
) -> None:
    assert settings.duckdb_memory_limit == "25%"
    assert settings.duckdb_temp_dir == settings.meta_dir / "duckdb_temp"
    conn = duckdb_config.connect(settings, "probe")
    try:
        default = duckdb_config.connect(
            settings.model_copy(update={"duckdb_memory_limit": "80%"}), "p"
        )
        try:  # a quarter of the machine, not DuckDB's own 80%
            ratio = _bytes(_setting(conn, "memory_limit")) / _bytes(
                _setting(default, "memory_limit")
            )
        finally:
            default.close()
        assert ratio == pytest.approx(25 / 80, rel=0.03)  # shown to 0.1 GiB
        temp = Path(_setting(conn, "temp_directory"))
        assert temp.parent == settings.duckdb_temp_dir and temp.name.startswith("probe-")
    finally:
        conn.close()


def _bytes(text: str) -> float:
    number, unit = text.split()
    scale = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
    return float(number) * scale[unit]


def test_a_big_query_spills_into_its_own_folder_and_it_goes_on_close(settings: Settings) -> None:
    small = settings.model_copy(update={"duckdb_memory_limit": "64MiB"})
    conn = duckdb_config.connect(small, "spill")
    temp = Path(_setting(conn, "temp_directory"))
    try:
        assert _setting(conn, "memory_limit") == "64.0 MiB"
        conn.execute("set threads = 1")
        conn.execute("create table t as select i, md5(i::varchar) as s from range(2000000) as r(i)")
        row = conn.execute("select count(distinct s) from t").fetchone()
        assert row == (2_000_000,)  # more than 64 MiB of hash table: it spilled, not failed
        assert temp.is_dir() and any(temp.iterdir())
    finally:
        conn.close()
    assert not temp.exists()


def test_the_limit_is_checked_when_settings_load(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_DUCKDB_MEMORY_LIMIT", "3GiB")
    assert Settings(root=settings.root).duckdb_memory_limit == "3GiB"
    monkeypatch.setenv("LAKEHOUSE_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(pydantic.ValidationError, match="duckdb_memory_limit"):
        Settings(root=settings.root)


def test_a_state_folder_that_cannot_be_written_leaves_spilling_off(settings: Settings) -> None:
    blocked = settings.root / "a-file"
    blocked.write_text("not a folder")
    options = duckdb_config.duckdb_options(
        settings.model_copy(update={"duckdb_temp_dir": blocked / "duckdb_temp"}), "status"
    )
    assert options == {"memory_limit": "25%", "temp_directory": ""}  # the limit holds
    conn = duckdb_config.connect(
        settings.model_copy(update={"duckdb_temp_dir": blocked / "duckdb_temp"}), "status"
    )
    try:
        assert _setting(conn, "temp_directory") == ""  # no spilling into the working directory
    finally:
        conn.close()
