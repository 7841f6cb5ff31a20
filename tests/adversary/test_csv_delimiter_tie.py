"""A CSV header holding two candidate delimiters is settled by the rows, or refused (review
finding revx 04, sessions 14 and 15). Before session 14, a tie read ``,`` (docs/loading.md,
Delimiter), so a German or French Excel export (``;``-separated, decimal commas) with one comma
in a header name loaded with every row split at its decimal comma when each row held one::

    Betrag (EUR, brutto);Anzahl
    12,50;3

was stored as columns ``Betrag (EUR`` = 12 (BIGINT) and `` brutto);Anzahl`` = ``'50;3'``: the
amount 12,50 became the number 12 under a cut name, without a word (API 202, loader loads).
Session 14 refused ties only; since session 15 each candidate occurring in the header is tried
on the rows: one reading every record with the header's field count is the delimiter, two are
refused in the same words by both, whichever occurs more often.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse import dialect
from lakehouse.settings import Settings

UNCLEAR = {
    "amount": b"Betrag (EUR, brutto);Anzahl\r\n12,50;3\r\n7,00;1\r\n",
    "name": "Name, Vorname;Betrag\r\nMüller, Hans;12\r\n".encode(),
    "pipe": b"a|b,c\n1|2,3\n",
    # one candidate more often than the other: both read every row (was: ';', by its count)
    "more_semicolons": b"Betrag (EUR, brutto);Anzahl;Preis\r\n12,50;3;1\r\n",
}


@pytest.mark.parametrize("case", sorted(UNCLEAR))
def test_a_header_the_rows_cannot_settle_is_refused_by_both_in_the_same_words(
    module_lakehouse: Settings, case: str
) -> None:
    table = f"tie_{case}"
    outcome = run(module_lakehouse, [(table, "export.csv", UNCLEAR[case])], rows=False)[table]
    refused = outcome.refused
    assert refused is not None, "loaded"
    assert refused["kind"] == "unparseable" and refused["line"] == 1, refused
    assert "every record has the header's field count" in refused["reason"], refused
    assert "(delimiter: " in refused["reason"], refused
    assert outcome.api_status == 400 and outcome.api_detail == refused["reason"]


def test_a_header_no_candidate_reads_is_refused_by_its_rows(module_lakehouse: Settings) -> None:
    """``,`` and ``;`` twice each: neither reads ``1;2`` with the header's 3 fields; the first
    of the most frequent (``,``) is read, and the row refuses the file."""
    outcome = run(module_lakehouse, [("tie_none", "export.csv", b"a,b;c,d;e\n1;2\n")])["tie_none"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "column_count", refused
    assert "line 2 has 1 field, the header has 3" in refused["reason"], refused
    assert outcome.api_status == 400, outcome.api_detail


SETTLED = {
    # the rows read with ';' alone: ``a,b`` is one name
    "rows_semicolon": (b"a,b;c\r\n1;2\r\n3;4\r\n", "a,b"),
    # the rows read with ',' alone: ``price;EUR`` is one name (a ';' majority would split none)
    "rows_comma": (b"id,price;EUR;net\r\n1,3\r\n", "price;EUR;net"),
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


def _settle(text: str, declared: str | None = None, kind: str = "csv") -> tuple[str, str | None]:
    found = dialect.csv_header(text, kind, end="eof", declared=declared)  # type: ignore[arg-type]
    assert found is not None

    def reads(delimiter: str) -> int | None:
        return dialect.reads_every_record(dialect.csv_lines(text), delimiter)

    return dialect.settle_delimiter(
        text,
        3,
        found[1],
        reads,
        kind,
        end="eof",
        declared=declared,  # type: ignore[arg-type]
    )


def test_the_rows_settle_what_the_header_holds() -> None:
    assert _settle("a,b;c\n1;2\n") == (";", None)
    assert _settle("a,b;c;d\n1,2\n") == (",", None)  # the rows against the header's count
    assert _settle('a;"b,c"\n1;2\n') == (";", None)  # inside quotes: not counted
    assert _settle("a\tb,c\n1\t2,3\n", kind="tsv") == ("\t", None)  # a .tsv: TAB alone
    assert _settle("a,b;c\n1,2;3\n", declared=";") == (";", None)  # Excel's sep= line
    chosen, unclear = _settle("a,b;c\n1,2;3\n")
    assert chosen == "," and unclear is not None and unclear.startswith("line 3,"), unclear
    assert dialect.reads_every_record(dialect.csv_lines('a;b\n1;"x\n'), ";") is None  # quote
    assert dialect.reads_every_record(dialect.csv_lines("a;b\n\n1;2\n"), ";") == 2  # blank


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
