"""A CSV header holding two candidate delimiters equally often is refused (review finding revx
04, session 14). Before, a tie read ``,`` (docs/loading.md, Delimiter), so a German or French
Excel export (``;``-separated, decimal commas) with one comma in a header name loaded with every
row split at its decimal comma when each row held one::

    Betrag (EUR, brutto);Anzahl
    12,50;3

was stored as columns ``Betrag (EUR`` = 12 (BIGINT) and `` brutto);Anzahl`` = ``'50;3'``: the
amount 12,50 became the number 12 under a cut name, without a word (API 202, loader loads).
Now both refuse it, in the same words; a candidate occurring more often, Excel's ``sep=`` line,
and quoted names settle it as before.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings

TIED = {
    "amount": b"Betrag (EUR, brutto);Anzahl\r\n12,50;3\r\n7,00;1\r\n",
    "name": "Name, Vorname;Betrag\r\nMüller, Hans;12\r\n".encode(),
    "pipe": b"a|b,c\n1|2,3\n",
    "two_each": b"a,b;c,d;e\n1;2\n",
}


@pytest.mark.parametrize("case", sorted(TIED))
def test_a_tied_header_is_refused_by_both_in_the_same_words(
    module_lakehouse: Settings, case: str
) -> None:
    table = f"tie_{case}"
    outcome = run(module_lakehouse, [(table, "export.csv", TIED[case])], rows=False)[table]
    refused = outcome.refused
    assert refused is not None, "loaded"
    assert refused["kind"] == "unparseable" and refused["line"] == 1, refused
    assert "equally often" in refused["reason"], refused
    assert outcome.api_status == 400 and outcome.api_detail == refused["reason"]


SETTLED = {
    # one candidate more often than the other
    "more_semicolons": (b"Betrag (EUR, brutto);Anzahl;Preis\r\n12,50;3;1\r\n", "Anzahl"),
    # the name holding the other candidate quoted
    "quoted": (b'"Betrag (EUR, brutto)";Anzahl\r\n"12,50";3\r\n', "Betrag (EUR, brutto)"),
    # Excel's sep= line declares it
    "excel_sep": (b"sep=;\r\nBetrag (EUR, brutto);Anzahl\r\n12,50;3\r\n", "Betrag (EUR, brutto)"),
    # no candidate at all: one column
    "one_column": (b"Betrag\r\n12\r\n", "Betrag"),
}


@pytest.mark.parametrize("case", sorted(SETTLED))
def test_a_header_that_settles_the_delimiter_loads(module_lakehouse: Settings, case: str) -> None:
    data, name = SETTLED[case]
    table = f"settled_{case}"
    outcome = run(module_lakehouse, [(table, "export.csv", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None and outcome.loaded_rows, outcome.refused
    assert name in outcome.loaded_rows[0], outcome.loaded_rows


def test_the_tie_counts_the_first_record_only() -> None:
    assert dialect.delimiter_tie("a,b;c\n1;2;3;4\n", 1) is not None
    assert dialect.delimiter_tie("a,b;c;d\n1,2\n", 1) is None
    assert dialect.delimiter_tie('a;"b,c"\n1;2\n', 1) is None  # inside quotes: not counted
    assert dialect.delimiter_tie("a\tb,c\n", 1, "tsv") is None  # a .tsv: TAB alone
    assert dialect.delimiter_tie("a,b;c\n", 3, declared=";") is None  # Excel's sep= line
    assert "line 3," in str(dialect.delimiter_tie("a,b;c\n", 3))


def test_a_header_read_past_the_budget_keeps_the_row_it_ends_in(
    module_lakehouse: Settings,
) -> None:
    """The API's header text, when the candidates' reading runs on (a quote after ``|``) past
    the 1 MiB budget: its rows go on with the line the budget cut, whole. Before, the part of
    that line within the budget was read as a record of its own: a valid file refused "line
    174763 has 2 fields, the header has 3" (the loader loaded it)."""
    data = b'id,x,w|"y\n' + b"1,2,3\n" * 300_000
    out = run(module_lakehouse, [("budget_cut", "t.csv", data)], rows=False)["budget_cut"]
    assert out.api_status == 202, out.api_detail
    assert out.refused is None, out.refused
