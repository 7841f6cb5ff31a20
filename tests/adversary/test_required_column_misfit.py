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

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
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
QUARANTINED = "      - name: u\n        meta: {on_mismatch: quarantine}\n"


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "first", "then"),
    [
        ("csv", b"id,n\n1,5\n", b"id,n\n2,x\n"),
        ("ndjson", b'{"id": 1, "n": 5}\n', b'{"id": 2, "n": "x"}\n'),
        (
            "parquet",
            _parquet(pa.table({"id": [1], "n": pa.array([5], pa.int64())})),
            _parquet(pa.table({"id": [2], "n": ["x"]})),
        ),
    ],
)
@pytest.mark.parametrize("policy", ["rescue", "quarantine"])
def test_a_required_column_of_no_declared_type_is_judged_by_the_tables_type(
    one_lakehouse: Settings, name: str, first: bytes, then: bytes, policy: str
) -> None:
    """A required column the contract gives no type, which bronze holds as BIGINT (from an
    earlier file): a value that does not fit refuses the file under either policy, by the API
    (422, naming bronze's type and the rule) and by the loader (type_conflict), instead of a
    202 and a row whose not_null column is null (its value in ``_rescued_data``; before-stop
    read readB 02, session 14, left open)."""
    first_outcome = run(one_lakehouse, [("u", f"a.{name}", first)])["u"]
    assert first_outcome.refused is None, first_outcome.refused
    contract = UNTYPED if policy == "rescue" else UNTYPED.replace("      - name: u\n", QUARANTINED)
    (one_lakehouse.dbt_project_dir / "models" / "u.yml").write_text(contract)
    outcome = run(one_lakehouse, [("u", f"b.{name}", then)])["u"]
    assert outcome.api_status == 422, outcome.api_detail
    said = " ".join(e["msg"] for e in outcome.api_detail)
    assert "x' does not fit BIGINT" in said.replace('"', "'"), said
    assert "bronze's column 'n' is BIGINT" in said, said
    if policy == "rescue":
        assert "never rescued" in said and "on_mismatch: quarantine" not in said, said
    assert outcome.refused is not None, outcome.loaded_rows
    assert outcome.refused["kind"] == "type_conflict", outcome.refused
    assert outcome.refused["column"] == "n", outcome.refused
    # the API's sentence, the value as the file wrote it ('x' in CSV, "x" in JSON; session 18)
    assert "x' does not fit BIGINT exactly" in outcome.refused["reason"].replace('"', "'")
    if policy == "rescue":
        assert "never rescued" in outcome.refused["reason"], outcome.refused
        assert "on_mismatch: quarantine" not in outcome.refused["reason"], outcome.refused


def test_an_untyped_not_required_column_is_still_rescued(one_lakehouse: Settings) -> None:
    """The rule is the required column's: a column of no declared type that is not required
    is rescued under ``rescue`` (202, the value in ``_rescued_data``)."""
    first = run(one_lakehouse, [("u", "a.csv", b"id,n\n1,5\n")])["u"]
    assert first.refused is None, first.refused
    (one_lakehouse.dbt_project_dir / "models" / "u.yml").write_text(
        UNTYPED.replace("            data_tests: [not_null]\n", "")
    )
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


@pytest.mark.parametrize(
    ("first", "value"),
    [
        ('{"id": 1, "n": {"a": 1}}', '{"a": "x"}'),  # a struct of BIGINT: a field that misfits
        ('{"id": 1, "n": {"a": 1}}', '"str"'),  # a struct: a text
        ('{"id": 1, "n": {"a": 1}}', "[1]"),  # a struct: a list
    ],
)
@pytest.mark.parametrize("name", ["ndjson", "json", "records"])
@pytest.mark.parametrize("policy", ["rescue", "quarantine"])
def test_a_required_untyped_struct_column_is_judged_on_the_json_path(
    one_lakehouse: Settings, first: str, value: str, name: str, policy: str
) -> None:
    """A required column of no declared type that bronze holds as a struct: a JSON
    value that does not fit it is refused by the API (NDJSON, ``.json``, ``/records``) as the
    loader refuses it (type_conflict), under either policy. *Before:* (before-stop read readB
    05, session 15) the API's fast JSON check looked only at the value's presence for a type it
    has no fast test of: 202, then the loader's type_conflict."""
    assert run(one_lakehouse, [("u", "a.ndjson", f"{first}\n".encode())])["u"].refused is None
    contract = UNTYPED if policy == "rescue" else UNTYPED.replace("      - name: u\n", QUARANTINED)
    (one_lakehouse.dbt_project_dir / "models" / "u.yml").write_text(contract)
    record = f'{{"id": 2, "n": {value}}}'
    if name == "records":
        from fastapi.testclient import TestClient

        from ingest.app import create_app

        with TestClient(create_app(one_lakehouse)) as api:
            r = api.post(
                "/v1/tables/u/records",
                content=f"[{record}]".encode(),
                headers={"content-type": "application/json"},
            )
        assert r.status_code == 422, r.text
        return
    body = f"{record}\n" if name == "ndjson" else f"[{record}]"
    outcome = run(one_lakehouse, [("u", f"b.{name}", body.encode())])["u"]
    assert outcome.api_status == 422, outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "type_conflict", (
        outcome.refused,
        outcome.loaded_rows,
    )
