"""Review finding revx 07 (session 14), fixed. Under the default ``on_mismatch: rescue``, a
value that does not fit a *required* column's type (a ``not_null`` / ``meta.primary_key``
column) was rescued: the row loaded with the required column NULL (the text in
``_rescued_data``), a row the contract says cannot exist (docs/loading.md, Required columns:
the dbt not_null test on bronze then fails a build long after the file was archived). The API
answered 422 (a mismatch); the loader, for a dropped file, loaded ``id`` = NULL::

    id,c        (contract: id bigint, not_null, primary_key)
    "",a   ->   id NULL, _rescued_data {"id": ""}
    x,c    ->   id NULL, _rescued_data {"id": "x"}

Now it refuses the file, under either policy, as the API does.
"""

from __future__ import annotations

from adversary_support import run

from lakehouse.settings import Settings

CONTRACT = """version: 2
sources:
  - name: bronze
    tables:
      - name: t
        meta: {primary_key: [id]}
        columns:
          - name: id
            data_type: bigint
            data_tests: [not_null]
          - name: c
            data_type: varchar
"""


def test_a_misfit_in_a_required_column_is_no_null_key(one_lakehouse: Settings) -> None:
    (one_lakehouse.dbt_project_dir / "models" / "t.yml").write_text(CONTRACT)
    outcome = run(one_lakehouse, [("t", "x.csv", b'id,c\n"",a\n7,b\nx,c\n')])["t"]
    assert outcome.api_status == 422, outcome.api_detail
    nulls = [r for r in outcome.loaded_rows or [] if r["id"] is None]
    assert outcome.refused is not None and not nulls, ("loaded with a NULL key", nulls)
    assert outcome.refused["kind"] == "type_conflict", outcome.refused
    assert outcome.refused["column"] == "id" and outcome.refused["line"] == 2, outcome.refused


UNTYPED = """version: 2
sources:
  - name: bronze
    tables:
      - name: u
        columns:
          - name: n
            data_tests: [not_null]
"""


def test_a_required_column_of_no_declared_type_is_rescued_as_the_api_takes_it(
    one_lakehouse: Settings,
) -> None:
    """A required column the contract gives no type, which bronze holds as BIGINT: the API
    does not judge its values by the table's type (202), so the loader rescues a misfit there
    (before-stop read readB 02, session 14: 663820e refused it, type_conflict after a 202,
    its reason saying "on_mismatch: quarantine" under rescue)."""
    first = run(one_lakehouse, [("u", "a.csv", b"id,n\n1,5\n")])["u"]
    assert first.refused is None, first.refused
    (one_lakehouse.dbt_project_dir / "models" / "u.yml").write_text(UNTYPED)
    outcome = run(one_lakehouse, [("u", "b.csv", b"id,n\n2,x\n")])["u"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rescued = [r["_rescued_data"] for r in outcome.loaded_rows or [] if r["id"] == 2]
    assert rescued == ['{"n": "x"}'], outcome.loaded_rows


def test_the_refusal_of_a_required_misfit_names_the_rule_not_quarantine(
    one_lakehouse: Settings,
) -> None:
    (one_lakehouse.dbt_project_dir / "models" / "t.yml").write_text(CONTRACT)
    outcome = run(one_lakehouse, [("t", "x.csv", b"id,c\nx,c\n")])["t"]
    assert outcome.refused is not None, outcome.loaded_rows
    assert "never rescued" in outcome.refused["reason"], outcome.refused
    assert "on_mismatch: quarantine" not in outcome.refused["reason"], outcome.refused
