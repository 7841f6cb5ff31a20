"""dbt merges a source's meta (``meta:`` and ``config: {meta:}``) into each of its tables' meta,
and a table's ``config: {meta:}`` wins over its ``meta:`` (dbt 1.11 parse: source.meta <
source.config.meta < table.meta < table.config.meta). The contract reads meta so (revl s14 06:
a source-level primary_key / on_mismatch was dropped without a word, and the table's ``meta:``
won over its ``config.meta``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from adversary_support import lakehouse, run

from lakehouse.contracts import ContractShape, parse_sources

CONTRACT = """version: 2
sources:
  - name: bronze
    {where}
    tables:
      - name: t
        columns:
          - {{name: id, data_type: bigint}}
"""


@pytest.mark.parametrize(
    "where", ["meta: {primary_key: [id]}", "config: {meta: {primary_key: [id]}}"]
)
def test_a_source_level_primary_key_is_required(tmp_path: Path, where: str) -> None:
    settings = lakehouse(tmp_path)
    (settings.dbt_project_dir / "models" / "t.yml").write_text(CONTRACT.format(where=where))
    out = run(settings, [("t", "a.csv", b"id,x\n,1\n")])["t"]
    stored = out.loaded_rows and [(r["id"], r["x"]) for r in out.loaded_rows]
    assert out.api_status == 422, (out.api_status, stored)
    assert out.refused is not None and out.refused["kind"] == "required", stored


def test_a_source_level_on_mismatch_applies(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    (settings.dbt_project_dir / "models" / "t.yml").write_text(
        CONTRACT.format(where="meta: {on_mismatch: quarantine}")
    )
    out = run(settings, [("t", "a.csv", b"id\nabc\n")])["t"]
    assert out.refused is not None and out.refused["kind"] == "type_conflict", out.loaded_rows


def test_meta_is_merged_as_dbt_merges_it() -> None:
    source = {
        "name": "bronze",
        "meta": {"on_mismatch": "rescue", "infer_types": True},
        "config": {"meta": {"on_mismatch": "quarantine", "primary_key": ["k"]}},
        "tables": [
            {
                "name": "t",
                "meta": {"skip_lines": 2, "infer_types": False},
                "config": {"meta": {"skip_lines": 3}},
            }
        ],
    }
    contract = parse_sources([("s.yml", {"sources": [source]})])["t"]
    assert (contract.on_mismatch, contract.infer_types, contract.skip_lines) == (
        "quarantine",
        False,
        3,
    )
    assert contract.primary_key == ("k",)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ({"meta": ["x"]}, "source 'bronze': meta is a list"),
        ({"config": {"meta": {"on_mismatch": "drop"}}}, "meta.on_mismatch is 'drop'"),
    ],
)
def test_a_misshapen_source_meta_is_refused(source: dict[str, object], words: str) -> None:
    doc = {"sources": [{"name": "bronze", **source, "tables": [{"name": "t"}]}]}
    with pytest.raises(ContractShape, match=words):
        parse_sources([("s.yml", doc)])
