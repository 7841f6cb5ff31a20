"""A contract's strings are read as JSON reads them: a double-quoted ``"\\ud83d\\ude00"`` (what
``json.dumps`` writes for U+1F600; a JSON contract file is YAML) names the column U+1F600
(``lakehouse.contracts._joined``). PyYAML reads the escape as two lone surrogates: the API
answered 500 (its error naming the column could not be encoded as UTF-8), the loader refused a
file holding the column "required column ... is not among the file's columns" (review finding
audith 06, MED). A contract file still holding a lone surrogate is skipped as one that does not
parse (the API refuses the table's writes, the loader holds its files): no file can hold such a
name.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.contracts import ContractsUnreadable, load_contracts
from lakehouse.layout import raw_dir
from lakehouse.settings import Settings

EMOJI = "\U0001f600"


def _contract(settings: Settings, escaped: str) -> None:
    (settings.dbt_project_dir / "models" / "t.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n        columns:\n"
        f'          - {{name: "{escaped}", data_type: varchar, tests: [not_null]}}\n'
    )


def test_an_escaped_pair_names_the_character(one_lakehouse: Settings) -> None:
    _contract(one_lakehouse, "\\ud83d\\ude00")
    assert [c.name for c in load_contracts(one_lakehouse)["t"].columns] == [EMOJI]
    out = run(one_lakehouse, [("t", "t.csv", f"{EMOJI}\nx\n".encode())])["t"]
    assert out.api_status == 202, out.api_detail
    assert out.refused is None, out.refused
    assert out.loaded_rows is not None and out.loaded_rows[0][EMOJI] == "x"


@pytest.mark.parametrize("sent", ["csv_without_it", "csv_null"])
def test_a_required_escaped_column_is_refused_in_words(one_lakehouse: Settings, sent: str) -> None:
    _contract(one_lakehouse, "\\ud83d\\ude00")
    data = b"a\nx\n" if sent == "csv_without_it" else f"{EMOJI},a\n,x\n".encode()
    out = run(one_lakehouse, [("t", "t.csv", data)], rows=False)["t"]
    assert out.api_status == 422, out.api_detail
    assert out.api_detail[0]["field"] == EMOJI
    assert out.refused is not None and out.refused["kind"] == "required", out.refused
    assert EMOJI in out.refused["reason"]


def test_a_lone_surrogate_leaves_the_file_unread(one_lakehouse: Settings) -> None:
    """Its contract unknown, the table's writes are refused and its files held (session 12:
    such a file was skipped without a word, and ``t``'s file loaded without its required
    column; tests/adversary/test_contract_yaml_does_not_parse.py)."""
    _contract(one_lakehouse, "\\ud83d")
    with pytest.raises(ContractsUnreadable, match="lone UTF-16 surrogate"):
        load_contracts(one_lakehouse)
    out = run(one_lakehouse, [("t", "t.csv", b"a\nx\n")], rows=False)["t"]
    assert out.api_status == 503, out.api_detail
    assert "t.yml does not parse" in out.api_detail
    assert out.refused is None and out.loaded_rows is None, out
    assert (raw_dir(one_lakehouse, "t") / "t.csv").exists()
