"""A dbt source table's ``identifier:`` is the table's name in the database: ``- name: orders,
identifier: t`` makes ``source('bronze', 'orders')`` read bronze table ``t`` (dbt 1.11 compiles
it to ``"bronze"."t"``), so the contract written under that entry is ``t``'s (revl s14 05: it
bound to ``orders``, and ``t``'s files loaded with none: a text in a declared bigint, 202)."""

from __future__ import annotations

from pathlib import Path

import pytest
from adversary_support import lakehouse, run

from lakehouse.contracts import ContractShape, parse_sources

CONTRACT = """version: 2
sources:
  - name: bronze
    tables:
      - name: orders
        identifier: t
        meta: {on_mismatch: quarantine}
        columns:
          - {name: n, data_type: bigint, tests: [not_null]}
"""


def test_a_contract_names_its_table_by_identifier(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    (settings.dbt_project_dir / "models" / "t.yml").write_text(CONTRACT)
    out = run(settings, [("t", "a.csv", b"n\nabc\n")])["t"]
    stored = out.loaded_rows and [(r["n"], type(r["n"]).__name__) for r in out.loaded_rows]
    assert out.api_status != 202, (out.api_status, stored)
    assert out.refused is not None, stored


def test_the_entrys_name_is_no_table_of_its_own() -> None:
    doc = {"sources": [{"name": "bronze", "tables": [{"name": "orders", "identifier": "t"}]}]}
    assert list(parse_sources([("s.yml", doc)])) == ["t"]


@pytest.mark.parametrize(
    ("tables", "words"),
    [
        ([{"name": "t"}, {"name": "u", "identifier": "t"}], "table 't' is declared twice"),
        ([{"name": "u", "identifier": "T"}], "identifier 'T'"),
        ([{"name": "u", "identifier": ["t"]}], "identifier is a list"),
    ],
)
def test_an_identifier_is_checked_as_the_table(tables: list[dict[str, object]], words: str) -> None:
    with pytest.raises(ContractShape, match=words):
        parse_sources([("s.yml", {"sources": [{"name": "bronze", "tables": tables}]})])
