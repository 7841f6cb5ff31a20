"""Rescued values are the text as written, whatever characters it holds.

A table declares ``d: date`` and ``n: bigint``; files bring values that do not fit (quotes at
either end, backslashes, JSON escapes, naughty strings). Under ``on_mismatch: rescue`` (the
default) the loader loads every row, the column holds null and ``_rescued_data`` holds the
value's text exactly (docs/loading.md, "Mismatches"). The API refuses these files (422: the
contract), so they are dropped into the landing zone, as a producer without the API would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from adversary_support import _drop, lakehouse
from deltalake import DeltaTable

from lakehouse.settings import Settings
from loader.loading import Loader

SOURCES = """\
version: 2
sources:
  - name: bronze
    tables:
      - name: {table}
        columns:
          - {{name: d, data_type: date}}
          - {{name: n, data_type: bigint}}
"""
#: (d, n) texts; None: an absent or null value.
VALUES: list[tuple[str | None, str | None]] = [
    ("2024-01-02", "1"),
    ('"quoted"', "007"),
    ('"q\\x', " 2"),
    ("\\u0041", '"5"'),
    ("2024-01-02 13:45:00", "1e3"),
    ("\"`'><script>\\x0Bjavascript:alert(1)</script>", "0x1F"),
    ("\u202etxt", "-0"),
    (None, None),
]

#: Cases the loader does not keep yet (strict: remove an entry once it does).
LOADER_DEFECTS: dict[str, str] = {}


def ndjson() -> bytes:
    lines = []
    for d, n in VALUES:
        record: dict[str, object] = {}
        if d is not None:
            record["d"] = d
        if n is not None:
            record["n"] = n  # a JSON string: its characters are its text
        lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


def csv() -> bytes:
    def field(v: str | None) -> str:
        return "" if v is None else '"' + v.replace('"', '""') + '"'

    return ("d,n\n" + "".join(f"{field(d)},{field(n)}\n" for d, n in VALUES)).encode()


FILES = {"ndjson": ("r.ndjson", ndjson()), "csv": ("r.csv", csv())}


@pytest.fixture
def settings_(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    settings = lakehouse(tmp_path)
    models = settings.dbt_project_dir / "models"
    (models / "sources.yml").write_text(SOURCES.format(table="r"))
    return settings


def _params() -> list[object]:
    return [
        pytest.param(
            kind,
            marks=[pytest.mark.xfail(strict=True, reason=LOADER_DEFECTS[kind])]
            if kind in LOADER_DEFECTS
            else [],
            id=kind,
        )
        for kind in FILES
    ]


@pytest.mark.parametrize("kind", _params())
def test_rescued_values_are_their_text_exactly(settings_: Settings, kind: str) -> None:
    name, data = FILES[kind]
    _drop(settings_, "r", name, data)
    summary = Loader(settings_).load_pending()
    assert summary.quarantined == [], summary.quarantined
    rows = DeltaTable(str(settings_.dados / "bronze" / "r")).to_pyarrow_table().to_pylist()
    assert len(rows) == len(VALUES)
    kept = set()
    for row in rows:
        rescued = json.loads(row["_rescued_data"]) if row.get("_rescued_data") else {}
        d = row["d"].isoformat() if row["d"] is not None else rescued.get("d")
        n = str(row["n"]) if row["n"] is not None else rescued.get("n")
        kept.add((d, n))
    assert kept == set(VALUES)
