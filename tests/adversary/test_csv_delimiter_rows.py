"""A CSV is never read with a delimiter that splits its values (review finding revx 04, the
case session 14 left open): a ``;`` export whose header holds MORE commas than semicolons

    Name, Vorname, Titel;Betrag
    Müller, Hans, Dr.;12,50

was read with ``,`` (the header's most frequent candidate): columns ``Name``, `` Vorname``,
`` Titel;Betrag`` = ``' Dr.;12'``, every amount cut at its decimal comma, API 202, loader
loads. Now each candidate occurring in the header is tried on the rows (docs/loading.md,
Delimiter): one reading every record with the header's field count is the delimiter; two are
a doubt, refused by both in the same words; the table's ``meta: {delimiter: ...}`` (or Excel's
``sep=`` line) settles it.

The properties: a file written by a CSV writer with any of the candidates, its names and values
mixing ``,`` ``;`` ``|`` TAB and decimal commas, is read by the rule with the delimiter it was
written with, or refused as unclear; through the API and the loader, it loads exactly as
written or both refuse it, in the same words.
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

import pytest
from adversary_support import lakehouse, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse import dialect
from lakehouse.settings import Settings


def test_a_comma_majority_in_a_semicolon_header_is_not_the_delimiter_silently(
    one_lakehouse: Settings,
) -> None:
    """Fails on main (e51de4a..): ``{'Name', ' Vorname', ' Titel;Betrag', ...}`` loaded: both
    candidates read every record, so the rows cannot tell either: refused by both alike."""
    data = "Name, Vorname, Titel;Betrag\r\nMüller, Hans, Dr.;12\r\nSchmidt, Eva, Prof.;7\r\n"
    outcome = run(one_lakehouse, [("t", "export.csv", data.encode())])["t"]
    refused = outcome.refused
    assert refused is not None, outcome.loaded_rows
    assert refused["kind"] == "unparseable" and refused["line"] == 1, refused
    assert refused["reason"].startswith(
        "line 1, the header: read with ';' (2 fields) and with ',' (3 fields), every record has"
        " the header's field count, so which one separates the fields is unclear"
    ), refused
    assert outcome.api_status == 400 and outcome.api_detail == refused["reason"]


def test_decimal_commas_settle_a_comma_majority(one_lakehouse: Settings) -> None:
    """Fails on main: ``,`` (3 names) was read and refused the rows (4 fields each); with the
    amounts' decimal commas only ``;`` reads every record: the file loads as written."""
    data = "Name, Vorname, Titel;Betrag\r\nMüller, Hans, Dr.;12,50\r\nSchmidt, Eva, Prof.;7,00\r\n"
    outcome = run(one_lakehouse, [("t", "export.csv", data.encode())])["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = outcome.loaded_rows or []
    assert [(r["Name, Vorname, Titel"], r["Betrag"]) for r in rows] == [
        ("Müller, Hans, Dr.", "12,50"),
        ("Schmidt, Eva, Prof.", "7,00"),
    ]


def _declare_delimiter(settings: Settings, table: str, delimiter: str) -> None:
    (settings.dbt_project_dir / "models" / f"{table}.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        f"      - name: {table}\n        meta: {{delimiter: '{delimiter}'}}\n"
    )


def test_the_table_meta_names_the_delimiter(one_lakehouse: Settings) -> None:
    """The doubt settled by the contract: ``meta: {delimiter: ';'}`` reads ``;`` alone."""
    _declare_delimiter(one_lakehouse, "t", ";")
    data = "Name, Vorname, Titel;Betrag\r\nMüller, Hans, Dr.;12,50\r\n"
    outcome = run(one_lakehouse, [("t", "export.csv", data.encode())])["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = outcome.loaded_rows or []
    assert [(r["Name, Vorname, Titel"], r["Betrag"]) for r in rows] == [
        ("Müller, Hans, Dr.", "12,50")
    ]


def test_a_delimiter_the_dialect_does_not_read_is_a_misshapen_contract() -> None:
    from lakehouse.contracts import ContractShape, check_meta

    with pytest.raises(ContractShape, match=r"meta.delimiter is ':'"):
        check_meta({"delimiter": ":"}, "t")


# -- properties ---------------------------------------------------------------------------------

MIXED = st.text(alphabet="ab ,;|\t09", min_size=1, max_size=6)
#: names hold no TAB: a name holding a control character is refused (Column names)
NAMES = st.lists(
    st.text(alphabet="ab ,;|09", max_size=6).map(lambda s: "n" + s),
    min_size=2,
    max_size=4,
    unique_by=str.lower,
)


@st.composite
def written(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    """A delimiter and a table (header first) a CSV writer writes with it."""
    delimiter = draw(st.sampled_from(dialect.DELIMITERS))
    names = draw(NAMES)
    row = st.lists(
        st.one_of(MIXED, st.from_regex(r"[1-9][0-9]{0,2},[0-9]{2}", fullmatch=True)),
        min_size=len(names),
        max_size=len(names),
    )
    rows = draw(st.lists(row, min_size=1, max_size=4))
    return delimiter, [names, *rows]


def _csv(delimiter: str, table: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(table)
    return out.getvalue()


@settings(max_examples=400, deadline=None)
@given(written())
def test_the_rule_reads_the_delimiter_written_or_refuses(case: tuple[str, list[list[str]]]) -> None:
    delimiter, table = case
    text = _csv(delimiter, table)
    found = dialect.csv_header(text, end="eof")
    assert found is not None

    def reads(candidate: str) -> int | None:
        return dialect.reads_every_record(dialect.csv_lines(text), candidate)

    chosen, unclear = dialect.settle_delimiter(text, 1, found[1], reads, end="eof")
    if unclear is None:
        assert chosen == delimiter, (chosen, text)
        read = list(csv.reader(dialect.csv_lines(text), delimiter=chosen, strict=True))
        assert read == table
    else:  # true: another candidate reads every record too
        others = [d for d in dialect.DELIMITERS if d != delimiter and reads(d) is not None]
        assert others, (unclear, text)


_TABLES = itertools.count()


@pytest.fixture(scope="module")
def agreeing(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return lakehouse(Path(tmp_path_factory.mktemp("delimiter_rows")))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(written())
def test_the_api_and_the_loader_load_as_written_or_refuse_alike(
    agreeing: Settings, case: tuple[str, list[list[str]]]
) -> None:
    delimiter, table = case
    name = f"rows_{next(_TABLES)}"
    outcome = run(agreeing, [(name, "export.csv", _csv(delimiter, table).encode())])[name]
    if outcome.refused is not None:
        assert outcome.refused["kind"] == "unparseable", outcome.refused
        assert "every record has the header's field count" in outcome.refused["reason"]
        assert outcome.api_status == 400 and outcome.api_detail == outcome.refused["reason"]
        return
    assert outcome.api_status == 202, outcome.api_detail
    header, *rows = table
    stored = [[str(r[h]) for h in header] for r in outcome.loaded_rows or []]
    assert sorted(stored) == sorted(rows), (stored, rows)


def test_a_sep_line_declaring_another_delimiter_than_the_meta_is_refused(
    one_lakehouse: Settings,
) -> None:
    _declare_delimiter(one_lakehouse, "t", ";")
    outcome = run(one_lakehouse, [("t", "export.csv", b"sep=,\r\na;b,c\r\n1;2,3\r\n")])["t"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "unparseable", refused
    assert refused["reason"] == (
        "line 1 is Excel's line declaring the delimiter (sep=,), which is ','; the table's meta"
        " declares ';' (delimiter: \";\")"
    )
    assert outcome.api_status == 400 and outcome.api_detail == refused["reason"]
