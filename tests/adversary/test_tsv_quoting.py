"""A ``.tsv`` field opening with a quote is read as its table says, never by a guess (review
finding revx 06). A ``.tsv`` was read with CSV quoting, so the TSV writers that do not quote --
PostgreSQL's ``COPY ... TO (FORMAT text)``, MySQL's ``SELECT ... INTO OUTFILE``, IANA's
text/tab-separated-values -- lost the quotes of a value starting and ending with one: ``"quoted"``
was stored ``quoted``, the JSON text ``"str"`` the bare word ``str`` (API 202, loader loads).
Excel's "Text (Tab delimited)" and Python's ``excel-tab`` quote as a CSV does: whichever single
reading, one of them is read wrong. Now such a field refuses the file, by the API (400) and the
loader (``unparseable``) in one set of words, unless the table's ``meta: {tsv_quoting: csv}``
(Excel) or ``{tsv_quoting: none}`` (no quoting: the text as sent, backslash escapes included)
says which; a file with no field opening with a quote reads the same either way and loads.

The PostgreSQL bytes are real exports of PostgreSQL 15.18 (Debian 15.18-0+deb12u1), made with
``create table q (id int, t text, j json)``, the rows below, and
``\\copy q to 'pg_text.tsv' with (format text, header)`` /
``\\copy q to 'pg_csv_tab.tsv' with (format csv, delimiter E'\\t', header)``.
"""

from __future__ import annotations

import csv
import io

import pytest
from adversary_support import held_as_misshapen, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse import dialect
from lakehouse.settings import Settings

#: insert into q values (1, '"quoted"', '"str"'), (2, 'say "hi"', '{"a":1}'),
#: (3, '"a""b"', '["x"]'), (4, 'tab<TAB>in', 'null'), (5, 'back\slash', '"\\"'), (6, null, '1'),
#: (7, '', '"x y"')
PG_TEXT = (
    b'id\tt\tj\n1\t"quoted"\t"str"\n2\tsay "hi"\t{"a":1}\n3\t"a""b"\t["x"]\n4\ttab\\tin\tnull\n'
    b'5\tback\\\\slash\t"\\\\\\\\"\n6\t\\N\t1\n7\t\t"x y"\n'
)
PG_CSV_TAB = (
    b'id\tt\tj\n1\t"""quoted"""\t"""str"""\n2\t"say ""hi"""\t"{""a"":1}"\n'
    b'3\t"""a""""b"""\t"[""x""]"\n4\t"tab\tin"\tnull\n5\tback\\slash\t"""\\\\"""\n6\t\t1\n'
    b'7\t""\t"""x y"""\n'
)
#: what PostgreSQL holds (the CSV export keeps it all: null and '' apart)
HELD = {
    1: ('"quoted"', '"str"'),
    2: ('say "hi"', '{"a":1}'),
    3: ('"a""b"', '["x"]'),
    4: ("tab\tin", "null"),
    5: ("back\\slash", '"\\\\"'),
    6: (None, "1"),
    7: ("", '"x y"'),
}


def _quoting(settings: Settings, table: str, quoting: str) -> None:
    (settings.dbt_project_dir / "models" / f"{table}.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        f"      - name: {table}\n        meta: {{tsv_quoting: {quoting}}}\n"
    )


def _stored(rows: list[dict[str, object]] | None) -> dict[object, tuple[object, object]]:
    return {r["id"]: (r["t"], r["j"]) for r in rows or []}


@pytest.mark.parametrize("name", ["pg_text", "pg_csv_tab"])
def test_a_tsv_field_opening_with_a_quote_is_refused_by_both_in_the_same_words(
    one_lakehouse: Settings, name: str
) -> None:
    """Fails on main: both loaded, the text export's ``"quoted"`` stored ``quoted``."""
    data = PG_TEXT if name == "pg_text" else PG_CSV_TAB
    outcome = run(one_lakehouse, [("q", "q.tsv", data)])["q"]
    refused = outcome.refused
    assert refused is not None, _stored(outcome.loaded_rows)
    assert refused["kind"] == "unparseable" and refused["line"] == 2, refused
    shown = "'\"quoted\"'" if name == "pg_text" else '\'"""quoted"""\''
    assert refused["reason"] == (
        f"line 2, field 2 opens with a quote ({shown}): in a .tsv that is a quoted field as a"
        " CSV quotes it (Excel's Text (Tab delimited)) or the text itself"
        " (text/tab-separated-values, PostgreSQL's COPY ... (FORMAT text), MySQL's INTO"
        " OUTFILE), so which one the file means is unclear: the table's meta says it,"
        " tsv_quoting: csv, tsv_quoting: none or tsv_quoting: postgres (PostgreSQL's text"
        " format, its escapes and \\N read)"
    )
    assert outcome.api_status == 400 and outcome.api_detail == refused["reason"]


def test_a_postgresql_text_copy_keeps_its_quotes_under_tsv_quoting_none(
    one_lakehouse: Settings,
) -> None:
    """revx's test_06: ``"quoted"`` and ``"a""b"`` stored as sent. No quoting, and no escape
    read: ``tab\\tin`` and ``\\N`` are the text as sent; an empty field is null (the dialect's
    rule: PostgreSQL's empty string, which its text format writes as nothing)."""
    _quoting(one_lakehouse, "q", "none")
    outcome = run(one_lakehouse, [("q", "q.tsv", PG_TEXT)])["q"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert _stored(outcome.loaded_rows) == {
        1: ('"quoted"', '"str"'),
        2: ('say "hi"', '{"a":1}'),
        3: ('"a""b"', '["x"]'),
        4: ("tab\\tin", "null"),
        5: ("back\\\\slash", '"\\\\\\\\"'),
        6: ("\\N", "1"),
        7: (None, '"x y"'),
    }


def test_a_quoting_tsv_loads_exactly_under_tsv_quoting_csv(one_lakehouse: Settings) -> None:
    _quoting(one_lakehouse, "q", "csv")
    outcome = run(one_lakehouse, [("q", "q.tsv", PG_CSV_TAB)])["q"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert _stored(outcome.loaded_rows) == HELD


def test_a_tsv_with_no_field_opening_with_a_quote_loads_as_written(
    one_lakehouse: Settings,
) -> None:
    """Both readings agree: a quote inside a field is a character, nothing to ask."""
    data = b'id\tt\n1\tsay "hi"\n2\t5\'11"\n3\tx""\n'
    outcome = run(one_lakehouse, [("q", "q.tsv", data)])["q"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = outcome.loaded_rows or []
    assert {r["id"]: r["t"] for r in rows} == {1: 'say "hi"', 2: "5'11\"", 3: 'x""'}


def test_a_header_name_opening_with_a_quote_is_asked_too(one_lakehouse: Settings) -> None:
    outcome = run(one_lakehouse, [("q", "q.tsv", b'id\t"name\n1\t2\n')])["q"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "unparseable", refused
    assert refused["reason"].startswith("line 1, field 2 opens with a quote ('\"name'): in a .tsv")
    assert outcome.api_status == 400 and outcome.api_detail == refused["reason"]


def test_a_quoting_the_dialect_does_not_know_is_a_misshapen_contract(
    one_lakehouse: Settings,
) -> None:
    _quoting(one_lakehouse, "q", "excel")
    reason = held_as_misshapen(one_lakehouse, "q", b"id\tt\n1\t2\n")
    assert "meta.tsv_quoting is 'excel', not one of csv, none, postgres" in reason


# -- properties ---------------------------------------------------------------------------------

VALUES = st.text(alphabet='ab "\t\\,', min_size=1, max_size=6)


@st.composite
def excel_tab(draw: st.DrawFn) -> list[list[str]]:
    names = draw(st.lists(st.text(alphabet="ab", min_size=1, max_size=3), min_size=2, max_size=3))
    names = [f"{n}{i}" for i, n in enumerate(names)]
    rows = draw(st.lists(st.lists(VALUES, min_size=len(names), max_size=len(names)), min_size=1))
    return [names, *rows]


def _excel_tab(table: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, dialect="excel-tab").writerows(table)
    return out.getvalue().encode()


@settings(max_examples=300, deadline=None)
@given(excel_tab())
def test_the_rule_never_reads_a_tsv_one_way_when_it_may_mean_the_other(
    table: list[list[str]],
) -> None:
    """Python's excel-tab writer (Excel's quoting): a field the writer quoted opens with a
    quote, and the file is asked about; a file it quoted nothing in reads as written without
    quoting, as with it."""
    text = _excel_tab(table).decode()
    asked = dialect.tsv_open_quote(dialect.csv_lines(text))
    if asked is None:
        as_csv = list(csv.reader(dialect.csv_lines(text), delimiter="\t", strict=True))
        as_text = [line.rstrip("\r\n").split("\t") for line in dialect.csv_lines(text)]
        assert as_csv == as_text == table
    else:
        line, why = asked
        assert why.startswith(f"line {line}, field ")


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet='ab"\t\r\né', max_size=60),
    st.integers(0, 3),
    st.sampled_from([None, 1000, 8]),
)
def test_the_first_field_opening_with_a_quote_is_named_by_its_line_and_field(
    text: str, before: int, limit: int | None
) -> None:
    """``dialect.tsv_open_quote`` names the first line holding a field that opens with a quote
    (at the line's start or after a TAB) and that field's number, read line by line here (a
    line past ``limit`` bytes before it: ``CsvRecordTooLarge`` naming that line), whether the
    text is read through ``BoundedLines`` or not."""
    want: tuple[int, int] | None = None
    too_long = None
    for number, line in enumerate(io.StringIO(text, newline=""), start=before + 1):
        body = line.rstrip("\r\n")
        if limit is not None and len(body.encode()) > limit:
            too_long = number
            break
        fields = body.split("\t")
        opening = [i for i, field in enumerate(fields, start=1) if field.startswith('"')]
        if opening:
            want = (number, opening[0])
            break
    try:
        found = dialect.tsv_open_quote(io.StringIO(text, newline=""), before, limit)
    except dialect.CsvRecordTooLarge as exc:
        assert exc.line == too_long
        return
    assert too_long is None
    if want is None:
        assert found is None
    else:
        assert found is not None and found[0] == want[0]
        assert found[1].startswith(f"line {want[0]}, field {want[1]} opens with a quote")


_SEEN: list[int] = []


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(excel_tab())
def test_an_excel_tab_export_loads_exactly_under_tsv_quoting_csv(
    module_lakehouse: Settings, table: list[list[str]]
) -> None:
    name = f"xt_{len(_SEEN)}"
    _SEEN.append(1)
    _quoting(module_lakehouse, name, "csv")
    outcome = run(module_lakehouse, [(name, "x.tsv", _excel_tab(table))])[name]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    header, *rows = table
    stored = [[str(r[h]) for h in header] for r in outcome.loaded_rows or []]
    assert sorted(stored) == sorted(rows)
