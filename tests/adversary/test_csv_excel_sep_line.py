"""Excel, in locales whose list separator is not ``,``, reads (and some exporters write) a CSV
whose first line is ``sep=;``: a line declaring the delimiter, no record. Before (review finding
s13 revc 05, LOW) it was the header: ``sep=;`` read as the names ``sep=`` and a blank one,
refused "column 2 has a blank name ('')" (a reason about a column the file does not have), and
``sep=:`` loaded as one column named ``sep=:`` holding ``a:b`` (a name the sender never wrote,
every value a whole line). Now (docs/loading.md, CSV: Delimiter) a line that is exactly ``sep=``
and one character, first after the ``skip_lines`` ones, declares the delimiter and is no
record: the header is the next line, read with that delimiter alone; one the dialect does not
read (``:``; in a ``.tsv`` anything but TAB) refuses the file naming the line. The API and the
loader alike, lines numbered as in the file."""

from __future__ import annotations

import codecs
import gzip

import pytest
from adversary_support import declare, run

from lakehouse.settings import Settings


def _rows(outcome: object) -> list[dict[str, object]]:
    rows = getattr(outcome, "loaded_rows", None) or []
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


@pytest.mark.parametrize(
    ("name", "body", "want"),
    [
        ("semicolon", b"sep=;\na;b\n1;2\n", [{"a": 1, "b": 2}]),
        ("comma", b"sep=,\r\na,b\r\n1,2\r\n", [{"a": 1, "b": 2}]),
        # the declared delimiter alone: a comma is a character (a decimal comma)
        ("declared", b"sep=;\r\na,b;c\r\n1,5;2\r\n", [{"a,b": "1,5", "c": 2}]),
        ("one_column", b"sep=|\nsolo\nx\n", [{"solo": "x"}]),
        ("tab", b"sep=\t\na\tb\nx\ty\n", [{"a": "x", "b": "y"}]),
    ],
)
def test_excels_sep_line_declares_the_delimiter(
    module_lakehouse: Settings, name: str, body: bytes, want: list[dict[str, object]]
) -> None:
    table = f"sep_{name}"
    outcome = run(module_lakehouse, [(table, "excel.csv", body)])[table]
    assert outcome.api_status == 202, outcome.api_detail  # before: 422, a blank name
    assert outcome.refused is None, outcome.refused
    assert _rows(outcome) == want


def test_utf16_and_gzip(module_lakehouse: Settings) -> None:
    text = "sep=;\r\nname;n\r\ncafé;1\r\n"
    utf16 = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    outcome = run(
        module_lakehouse,
        [
            ("sep_utf16", "excel.csv", utf16),
            ("sep_gzip", "excel.csv.gz", gzip.compress(text.encode())),
        ],
    )
    for table in ("sep_utf16", "sep_gzip"):
        assert outcome[table].api_status == 202, outcome[table].api_detail
        assert _rows(outcome[table]) == [{"name": "café", "n": 1}]


def test_a_quoted_sep_is_a_header(module_lakehouse: Settings) -> None:
    """``"sep=;"`` is a quoted name, not Excel's line (which Excel writes unquoted)."""
    outcome = run(module_lakehouse, [("sep_quoted", "f.csv", b'"sep=;"\na;b\n')])["sep_quoted"]
    assert outcome.api_status == 202 and outcome.refused is None, outcome.refused
    assert _rows(outcome) == [{"sep=;": "a;b"}]


@pytest.mark.parametrize(
    ("name", "file", "body", "why"),
    [
        ("colon", "f.csv", b"sep=:\na:b\n1:2\n", "line 1 is Excel's line declaring the delimiter"),
        ("tsv", "f.tsv", b"sep=,\na,b\n1,2\n", "bronze reads TAB alone (a .tsv file)"),
        ("fields", "f.csv", b"sep=;\na;b\n1;2;3\n", "line 3 has 3 fields, the header has 2"),
        ("blank", "f.csv", b"sep=;\n", "line 2, the header, is blank"),
    ],
)
def test_refusals_name_the_files_own_lines(
    module_lakehouse: Settings, name: str, file: str, body: bytes, why: str
) -> None:
    table = f"sep_bad_{name}"
    outcome = run(module_lakehouse, [(table, file, body)])[table]
    assert outcome.api_status in (400, 422), outcome.api_detail
    assert why in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None and why in outcome.refused["reason"], outcome.refused


def test_declared_columns_and_skip_lines(module_lakehouse: Settings) -> None:
    """A declared column's values are judged after the sep= line (the API's values pass, the
    loader's quarantine naming line 3); ``skip_lines`` lines come first, then the sep= line."""
    declare(module_lakehouse, "sep_typed", {"b": "bigint"}, "quarantine")
    models = module_lakehouse.dbt_project_dir / "models"
    (models / "sep_title.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: sep_title\n"
        "        meta: {skip_lines: 1}\n        columns:\n"
        "          - {name: b, data_type: bigint}\n"
    )
    outcome = run(
        module_lakehouse,
        [
            ("sep_typed", "f.csv", b"sep=;\na;b\n1;x\n"),
            ("sep_title", "f.csv", b"Quarterly report\nsep=;\na;b\n1,5;2\n"),
        ],
    )
    typed = outcome["sep_typed"]
    assert typed.api_status == 422, typed.api_detail
    assert "'x' does not fit BIGINT" in str(typed.api_detail), typed.api_detail
    assert typed.refused is not None and typed.refused["line"] == 3, typed.refused
    title = outcome["sep_title"]
    assert title.api_status == 202 and title.refused is None, (title.api_detail, title.refused)
    assert _rows(title) == [{"a": "1,5", "b": 2}]
