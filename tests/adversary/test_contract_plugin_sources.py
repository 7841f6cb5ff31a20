"""dbt reads a bronze table through the ``lakehouse_bronze`` plugin from any source whose
(merged) meta names it, whatever the source's name (``transform/dbt_plugin.py``: it serves
``dados/bronze/<identifier>``, ``dados/ops`` with ``meta: {folder: ops}``). So such a source's
table is a bronze contract, and a ``bronze`` source's table the plugin serves from ``ops`` (or
another plugin serves) is none (session 14, the family of revl 05: a contract declared under
``- name: shop, meta: {plugin: lakehouse_bronze}`` vanished without a word: a text in a
declared bigint, 202)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from adversary_support import lakehouse, run

from lakehouse.contracts import ContractShape, parse_sources

CONTRACT = """version: 2
sources:
  - name: shop
    meta: {plugin: lakehouse_bronze}
    tables:
      - name: t
        meta: {on_mismatch: quarantine}
        columns:
          - {name: n, data_type: bigint}
"""


def test_a_source_the_plugin_serves_is_the_tables_contract(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    (settings.dbt_project_dir / "models" / "s.yml").write_text(CONTRACT)
    out = run(settings, [("t", "a.csv", b"n\nabc\n")])["t"]
    stored = out.loaded_rows and [r["n"] for r in out.loaded_rows]
    assert out.api_status == 422, (out.api_status, stored)
    assert out.refused is not None and out.refused["kind"] == "type_conflict", stored


@pytest.mark.parametrize(
    ("source", "table", "declared"),
    [
        ({"name": "shop", "meta": {"plugin": "lakehouse_bronze"}}, {}, True),
        ({"name": "shop", "meta": {"plugin": "lakehouse_bronze", "folder": "bronze"}}, {}, True),
        ({"name": "shop"}, {"config": {"meta": {"plugin": "lakehouse_bronze"}}}, True),
        ({"name": "shop", "meta": {"plugin": "lakehouse_bronze", "folder": "ops"}}, {}, False),
        ({"name": "bronze", "meta": {"plugin": "lakehouse_bronze", "folder": "ops"}}, {}, False),
        ({"name": "bronze", "meta": {"plugin": "excel"}}, {}, False),
        ({"name": "bronze"}, {}, True),
        ({"name": "shop"}, {}, False),
    ],
)
def test_which_source_tables_are_bronze(
    source: dict[str, Any], table: dict[str, Any], declared: bool
) -> None:
    doc = {"sources": [{**source, "tables": [{"name": "t", **table}]}]}
    assert ("t" in parse_sources([("s.yml", doc)])) is declared


def test_one_table_declared_by_two_sources_is_refused() -> None:
    doc = {
        "sources": [
            {"name": "bronze", "tables": [{"name": "t"}]},
            {"name": "shop", "meta": {"plugin": "lakehouse_bronze"}, "tables": [{"name": "t"}]},
        ]
    }
    with pytest.raises(ContractShape, match="table 't' is declared twice"):
        parse_sources([("s.yml", doc)])
