"""The contracts are read from the YAML files dbt reads, by dbt's file names (dbt 1.11,
``filesystem_search``: ``[!.#~]*.yml``/``[!.#~]*.yaml``, ignoring case): a file whose name
starts with ``.`` (a macOS AppleDouble ``._sources.yml``: NULs, read as UTF-16 text that may
declare the source), ``#`` or ``~`` is no dbt file and declares nothing; ``S.YML`` and a dot
folder's files are read (revl s14 07: an AppleDouble file held every table, 503, with an untrue
reason, though dbt parses the project)."""

from __future__ import annotations

from pathlib import Path

import pytest
from adversary_support import lakehouse, run

from lakehouse.contracts import load_contracts

APPLEDOUBLE = (
    b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x00\x00\t\x00\x00\x002"
    b"\x00\x00\x0e\xb0\x00\x00\x00\x02\x00\x00\x0e\xe2" + b"\x00" * 64
)
SOURCE = "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: {table}\n"


def test_an_appledouble_file_holds_no_table(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    models = settings.dbt_project_dir / "models"
    (models / "sources.yml").write_text(SOURCE.format(table="t"))
    (models / "._sources.yml").write_bytes(APPLEDOUBLE)
    out = run(settings, [("t", "a.csv", b"x\n1\n")])["t"]
    assert out.api_status == 202, out.api_detail
    assert out.loaded_rows, "held"


@pytest.mark.parametrize(
    ("name", "read"),
    [
        (".dot.yml", False),
        ("#t.yml", False),
        ("~t.yaml", False),
        ("t.yml~", False),
        ("T.YML", True),
        ("t.Yaml", True),
        (".hidden/t.yml", True),
    ],
)
def test_dbts_file_names(tmp_path: Path, name: str, read: bool) -> None:
    settings = lakehouse(tmp_path)
    path = settings.dbt_project_dir / "models" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SOURCE.format(table="t"))
    assert ("t" in load_contracts(settings)) is read
