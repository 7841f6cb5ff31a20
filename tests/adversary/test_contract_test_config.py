"""A ``not_null`` test makes its column required when dbt runs it on every row (docs/loading.md,
Required columns), read as dbt reads its config: the test's own ``where``/``enabled`` over
``dbt_project.yml``'s ``data_tests:`` (at its top or under the project's name). This project's
default ``where: "__changed_rows__"`` (macros/changed_since.sql: every row a load adds) and an
empty ``where`` limit nothing (revl s14 10: a contract spelling the project's own where lost
its not_null: a null got 202 and was stored)."""

from __future__ import annotations

from pathlib import Path

import pytest
from adversary_support import lakehouse, run

from lakehouse.contracts import load_contracts

CONTRACT = """version: 2
sources:
  - name: bronze
    tables:
      - name: t
        columns:
          - name: n
            data_type: bigint
            data_tests:
              - not_null{test}
"""
CHANGED = ':\n                  config:\n                    where: "__changed_rows__"'


def test_the_projects_own_where_keeps_the_column_required(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    (settings.dbt_project_dir / "models" / "t.yml").write_text(CONTRACT.format(test=CHANGED))
    out = run(settings, [("t", "a.csv", b"n,x\n,1\n")])["t"]
    stored = out.loaded_rows and [r["n"] for r in out.loaded_rows]
    assert out.api_status == 422, (out.api_status, stored)
    assert out.refused is not None and out.refused["kind"] == "required", stored


@pytest.mark.parametrize(
    ("project", "test", "required"),
    [
        ("", "", True),
        ('data_tests:\n  +where: "__changed_rows__"\n', "", True),
        ('data_tests:\n  p:\n    +where: "__changed_rows__"\n', "", True),
        ('data_tests:\n  p:\n    +where: "n > 0"\n', "", False),
        ("data_tests:\n  +enabled: false\n", "", False),
        ("tests:\n  p:\n    enabled: false\n", "", False),
        ('data_tests:\n  +where: "n > 0"\n', CHANGED, True),  # the test's own wins
        ("", ':\n                  where: ""', True),  # dbt filters nothing
        ("", ':\n                  where: "n > 0"', False),
    ],
)
def test_project_level_test_config_is_read(
    tmp_path: Path, project: str, test: str, required: bool
) -> None:
    settings = lakehouse(tmp_path)
    (settings.dbt_project_dir / "dbt_project.yml").write_text(f"name: p\n{project}")
    (settings.dbt_project_dir / "models" / "t.yml").write_text(CONTRACT.format(test=test))
    assert load_contracts(settings)["t"].required == (("n",) if required else ())


def test_the_repos_project_keeps_its_not_nulls_required() -> None:
    from lakehouse import Settings

    root = Path(__file__).resolve().parents[2]
    settings = Settings(root=root, dbt_project_dir=root / "dbt_project")
    assert {"email", "country_code"} <= set(load_contracts(settings)["customers"].required)


def test_a_disabled_bare_not_null_leaves_the_columns_other_not_null(tmp_path: Path) -> None:
    """dbt 1.11 parse of this project (``+enabled: false`` for the project's tests): the bare
    ``not_null`` is disabled, the one enabling itself runs, so the column is required."""
    settings = lakehouse(tmp_path)
    (settings.dbt_project_dir / "dbt_project.yml").write_text(
        "name: p\ndata_tests:\n  +enabled: false\n"
    )
    test = "\n              - not_null:\n                  config: {enabled: true}"
    (settings.dbt_project_dir / "models" / "t.yml").write_text(CONTRACT.format(test=test))
    assert load_contracts(settings)["t"].required == ("n",)
