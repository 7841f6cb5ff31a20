"""dbt reads a ``sources:`` YAML in every resource path of ``dbt_project.yml`` (model-, seed-,
snapshot-, analysis-, macro-, test- and function-paths, dbt's defaults where unset; dbt 1.11
parse: a bronze source in macros/, tests/, seeds/, snapshots/ or analyses/ is in manifest.json).
The contracts are read from the same files (revl s14 08: only models/ was read, and such a
contract vanished without a word: a text in a declared bigint, 202)."""

from __future__ import annotations

from pathlib import Path

import pytest
from adversary_support import lakehouse, run

from lakehouse.contracts import ContractsUnreadable, load_contracts

CONTRACT = """version: 2
sources:
  - name: bronze
    tables:
      - name: t
        meta: {on_mismatch: quarantine}
        columns:
          - {name: n, data_type: bigint}
"""


@pytest.mark.parametrize("folder", ["macros", "tests", "seeds", "snapshots", "analyses"])
def test_a_source_declared_outside_models_is_the_tables_contract(
    tmp_path: Path, folder: str
) -> None:
    settings = lakehouse(tmp_path)
    where = settings.dbt_project_dir / folder
    where.mkdir(parents=True, exist_ok=True)
    (where / "sources.yml").write_text(CONTRACT)
    out = run(settings, [("t", "a.csv", b"n\nabc\n")])["t"]
    stored = out.loaded_rows and [r["n"] for r in out.loaded_rows]
    assert out.api_status == 422, (out.api_status, stored)
    assert out.refused is not None and out.refused["kind"] == "type_conflict", stored


def test_the_paths_dbt_project_yml_names_are_read(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    project = settings.dbt_project_dir
    (project / "dbt_project.yml").write_text("name: p\nmodel-paths: [models, more/]\n")
    (project / "more" / "deep").mkdir(parents=True)
    (project / "more" / "deep" / "s.yml").write_text(CONTRACT)
    assert "t" in load_contracts(settings)
    (project / "dbt_project.yml").write_text("name: p\nmodel-paths: [models]\n")
    assert "t" not in load_contracts(settings)  # dbt reads more/ no longer either


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: p\nmodel-paths: [models\n", "dbt_project.yml does not parse"),
        ("name: p\nmacro-paths: macros\n", "macro-paths is no list of folders"),
        ("name: p\nmodel-paths: [\"{{ var('m') }}\"]\n", "model-paths holds Jinja"),
    ],
)
def test_a_dbt_project_yml_not_read_as_dbt_reads_it_holds_every_table(
    tmp_path: Path, text: str, words: str
) -> None:
    settings = lakehouse(tmp_path)
    (settings.dbt_project_dir / "dbt_project.yml").write_text(text)
    with pytest.raises(ContractsUnreadable, match=words):
        load_contracts(settings)
