"""dbt renders Jinja in a source's properties (dbt 1.11 parse: ``data_type: "{{ 'big' ~ 'int'
}}"`` is ``bigint`` in manifest.json; cross-database projects write ``"{{ dbt.type_int() }}"``,
``"{{ var('id_type') }}"``); the lakehouse cannot render it (macros, vars), so a contract value
it reads holding ``{{`` or ``{%`` is a misshapen contract: every table held, the value named
(revl s14 09: the unrendered text was taken for an unknown type, kept as text: 202)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from adversary_support import lakehouse, run

from lakehouse.contracts import ContractShape, parse_sources


@pytest.mark.parametrize(
    "data_type",
    ["{{ 'big' ~ 'int' }}", "{{ dbt.type_bigint() }}", "{{ var('id_type', 'bigint') }}"],
)
def test_a_jinja_data_type_is_not_taken_for_text(tmp_path: Path, data_type: str) -> None:
    settings = lakehouse(tmp_path)
    (settings.dbt_project_dir / "models" / "t.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n"
        "        meta: {on_mismatch: quarantine}\n        columns:\n"
        f'          - name: n\n            data_type: "{data_type}"\n'
    )
    out = run(settings, [("t", "a.csv", b"n\nabc\n")])["t"]
    stored = out.loaded_rows and [r["n"] for r in out.loaded_rows]
    assert out.api_status == 503 and stored is None, (out.api_status, out.api_detail, stored)
    assert "holds Jinja" in str(out.api_detail), out.api_detail


JINJA = "{{ var('x') }}"


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"name": JINJA}, "its name holds Jinja"),
        ({"name": "t", "identifier": JINJA}, "its identifier holds Jinja"),
        ({"name": "t", "meta": {"primary_key": [JINJA]}}, "meta.primary_key holds Jinja"),
        ({"name": "t", "config": {"meta": {"skip_lines": JINJA}}}, "meta.skip_lines holds"),
        ({"name": "t", "columns": [{"name": JINJA}]}, "a column's name holds Jinja"),
        (
            {"name": "t", "columns": [{"name": "n", "tests": [{"not_null": {"where": JINJA}}]}]},
            "its not_null under tests holds Jinja",
        ),
        (
            {
                "name": "t",
                "columns": [
                    {
                        "name": "n",
                        "data_tests": [{"not_null": {"config": {"enabled": "{% if 1 %}"}}}],
                    }
                ],
            },
            "its not_null under data_tests holds Jinja",
        ),
    ],
)
def test_jinja_where_the_contract_reads_is_refused(table: dict[str, Any], words: str) -> None:
    with pytest.raises(ContractShape, match=words):
        parse_sources([("s.yml", {"sources": [{"name": "bronze", "tables": [table]}]})])


def test_jinja_the_contract_does_not_read_is_dbts() -> None:
    column = {
        "name": "n",
        "description": "{{ doc('n') }}",
        "tests": [{"accepted_values": {"values": JINJA}}],
    }
    table = {
        "name": "t",
        "description": "{{ doc('t') }}",
        "meta": {"owner": JINJA},
        "columns": [column],
    }
    doc = {"sources": [{"name": "bronze", "tables": [table]}]}
    assert parse_sources([("s.yml", doc)])["t"].columns[0].name == "n"


@pytest.mark.parametrize(
    "source",
    [
        {"name": "{{ 'bron' ~ 'ze' }}"},
        {"name": "bronze", "meta": {"plugin": JINJA}},
        {"name": "shop", "meta": {"plugin": "lakehouse_bronze", "folder": JINJA}},
    ],
)
def test_jinja_deciding_whether_a_source_is_bronze_is_refused(source: dict[str, Any]) -> None:
    """A source's name, or the plugin and folder its tables are read through, decide whether
    its tables are bronze's: Jinja there is refused, not taken for another source's."""
    doc = {"sources": [{**source, "tables": [{"name": "t"}]}]}
    with pytest.raises(ContractShape, match="holds Jinja"):
        parse_sources([("s.yml", doc)])
