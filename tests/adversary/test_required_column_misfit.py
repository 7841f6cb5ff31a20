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
