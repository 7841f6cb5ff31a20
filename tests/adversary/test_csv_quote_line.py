"""A CSV record whose quoting is refused is named by the line it opens on, by the API and the
loader in the same words. miller's docs/src/data/lazy-quotes.csv (johnkerl/miller@d413b30867,
BSD-2-Clause), whose line 2 opens a quote never closed, got the API's 400 "line 3 is not valid
CSV: unexpected end of data" (Python's csv counts the lines read: the file's end, line 5000 in a
5,000-line file) while the loader said "line 2: a quoted field is never closed" (review finding
auditE 01); text after a closing quote in a record spanning lines was named by the line the
error was met on. Both name the record's first line now (``lakehouse.dialect.csv_quote_problem``;
the API reads the file again for it on the refusal path only).
"""

from __future__ import annotations

import gzip

import pytest
from adversary_support import run

from lakehouse.settings import Settings

LAZY_QUOTES = b'id,name,flag,city\n1,"ACME CORP. INC,Q8,Rome\n2,BETA,X,Milan\n'
NEVER = "a quoted field is never closed"
AFTER = "text after a closing quote (RFC 4180: quote the whole field)"

CASES = {
    "lazy_quotes": (LAZY_QUOTES, 2, NEVER),
    "lazy_quotes_5000_lines": (LAZY_QUOTES + b"3,GAMMA,Y,Oslo\n" * 4997, 2, NEVER),
    "open_at_the_end": (b'a,b\n1,2\n3,"4\n', 3, NEVER),
    "crlf_open": (b'a,b\r\n1,2\r\n3,"4\r\n5,6\r\n', 3, NEVER),
    "after_quote_in_a_long_record": (b'a,b\n1,"2\nx\ny"z\n3,4\n', 2, AFTER),
    "after_quote_after_a_long_record": (b'a,b\n1,"x\ny"\n3,"x"y\n', 4, AFTER),
}


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_the_api_and_the_loader_name_the_line_a_record_opens_on(
    module_lakehouse: Settings, case: str, gz: bool
) -> None:
    data, line, why = CASES[case]
    table = case + ("_gz" if gz else "")
    name = "f.csv.gz" if gz else "f.csv"
    outcome = run(module_lakehouse, [(table, name, gzip.compress(data) if gz else data)])[table]
    said = f"line {line}: {why}"
    assert outcome.api_status == 400 and outcome.api_detail == said, outcome.api_detail
    assert outcome.refused is not None, "loaded"
    assert outcome.refused["kind"] == "unparseable" and outcome.refused["line"] == line
    assert outcome.refused["reason"] == said, outcome.refused


def test_after_skipped_lines_and_in_utf16_the_line_is_the_files(module_lakehouse: Settings) -> None:
    (module_lakehouse.dbt_project_dir / "models" / "skipped.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        "      - name: skipped\n        meta: {skip_lines: 2}\n"
    )
    data = b'title\n(c)\na,b\n1,2\n3,"4\n'
    utf16 = b'a,b\r\n1,2\r\n3,"4\r\n'.decode().encode("utf-16")
    outcome = run(module_lakehouse, [("skipped", "f.csv", data), ("utf16", "g.csv", utf16)])
    for table, line in (("skipped", 5), ("utf16", 3)):
        said = f"line {line}: {NEVER}"
        assert outcome[table].api_detail == said, (table, outcome[table].api_detail)
        assert outcome[table].refused is not None, table
        assert outcome[table].refused["reason"] == said, outcome[table].refused
