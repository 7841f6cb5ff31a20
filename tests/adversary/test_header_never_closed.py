"""A CSV header whose quoted name is never closed, in a file under ``dialect.MAX_HEADER_BYTES``:
the header record runs from that quote to the file's end, so the API (400) and the loader
(``unparseable``) refuse the same bytes for that one reason, naming the line and the field
(``dialect.open_quoted_name``, ``dialect.header_never_closed``). Before, the API answered 400
"line 1 is not valid CSV: unexpected end of data" and the loader quarantined the file as
``invalid_column`` (a name holding a line break): two reasons for one fault.

A quote that opens no quoted field (after another candidate than the delimiter) and a quoted
name that closes, holding a line break, are other cases: they keep their own outcome.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from adversary_support import run

from ingest import filecheck
from lakehouse import dialect
from lakehouse.settings import Settings
from loader import readers
from loader.exceptions import FileRejected


def _ONE_CANDIDATE(skipped: int, delimiter: str) -> int | None:
    """The rows' reading of a header holding one candidate or none: never asked for."""
    raise AssertionError("a header of one candidate needs no reading of its rows")


NEVER_CLOSED = {  # name -> (file name, bytes, the field whose quote is never closed)
    "second_name": ("a.csv", b'id,"screen\n1,ok\n2,fine\n', 2),
    "first_name": ("a.csv", b'"id,screen\n1,ok\n', 1),
    "semicolons_crlf": ("a.csv", b'id;x;"name\r\n1;2;3\r\n', 3),
    "cr_line_ends": ("a.csv", b'id,"screen\r1,ok\r', 2),
    # a .tsv's name opening with a quote is refused for its quoting first: test_tsv_quoting.py
    "byte_order_mark": ("a.csv", dialect.BOM_UTF8 + b'id,"x\n1,2\n', 2),
    "utf16": ("a.csv", 'id,"x\n1,2\n'.encode("utf-16"), 2),
    "gzip": ("a.csv.gz", gzip.compress(b'id,"screen\n1,ok\n'), 2),
    "no_line_end": ("a.csv", b'id,"x', 2),
    # the first quoted name closes (a line break in it); the second never does
    "after_a_closed_one": ("a.csv", b'"a\nb","c\n1,2\n', 2),
}


@pytest.mark.parametrize("case", list(NEVER_CLOSED))
def test_the_api_and_the_loader_refuse_it_for_one_reason(
    module_lakehouse: Settings, case: str
) -> None:
    name, data, field = NEVER_CLOSED[case]
    table = f"never_closed_{case}"
    outcome = run(module_lakehouse, [(table, name, data)], rows=False)[table]
    why = dialect.header_never_closed(1, field)
    assert outcome.api_status == 400 and outcome.api_detail == why, outcome.api_detail
    assert outcome.refused is not None, "the loader loaded it"
    assert outcome.refused["kind"] == "unparseable", outcome.refused
    assert outcome.refused["reason"] == why and outcome.refused["line"] == 1


def test_a_quote_that_opens_no_field_of_the_delimiter_loads_alike(
    module_lakehouse: Settings,
) -> None:
    """``a,x,b;"c``: ',' is the delimiter (twice, ';' once), so the quote is inside the name
    ``b;"c``."""
    data = b'a,x,b;"c\n1,0,2\n'
    outcome = run(module_lakehouse, [("never_closed_other", "a.csv", data)])["never_closed_other"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None and outcome.loaded_rows is not None
    kept = [{k: v for k, v in r.items() if not k.startswith("_")} for r in outcome.loaded_rows]
    assert kept == [{"a": 1, "x": 0, 'b;"c': 2}]


def test_a_closed_name_holding_a_line_break_stays_a_column_name_problem(
    module_lakehouse: Settings,
) -> None:
    data = b'"a\nb",c\n1,2\n'
    outcome = run(module_lakehouse, [("closed_break", "a.csv", data)], rows=False)
    refused = outcome["closed_break"].refused
    assert outcome["closed_break"].api_status == 422
    assert refused is not None and refused["kind"] == "invalid_column"


@pytest.mark.parametrize("skip", [0, 2])
def test_the_line_counts_the_skipped_lines(tmp_path: Path, skip: int) -> None:
    data = b"title\r\n" * skip + b'id,"x\r\n1,2\r\n'
    path = tmp_path / "a.csv"
    path.write_bytes(data)
    why = dialect.header_never_closed(skip + 1, 2)
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    with pytest.raises(filecheck.FileError) as refused:
        filecheck._header_text(text, skip, "csv", _ONE_CANDIDATE)
    assert str(refused.value) == why and refused.value.status == 400
    with pytest.raises(FileRejected) as rejected:
        readers._csv_header(path, skip, "csv")
    assert rejected.value.kind == "unparseable"
    assert rejected.value.reason == why and rejected.value.line == skip + 1


def test_open_quoted_name() -> None:
    assert dialect.open_quoted_name('id,"x\n1,2\n', 'id,"x\n1,2\n', ",") == 2
    assert dialect.open_quoted_name('id,"x"\n1,2\n', 'id,"x"', ",") is None  # it ends
    assert dialect.open_quoted_name('a,b;"c\n1,2\n', 'a,b;"c\n1,2\n', ",") is None
    assert dialect.open_quoted_name('a;"b,c', 'a;"b,c', ";") == 2
    assert dialect.open_quoted_name('"a""b', '"a""b', ",") == 1  # a doubled quote: still open
    assert dialect.open_quoted_name('"a""', '"a""', ",") == 1
    assert dialect.open_quoted_name('"a"""', '"a"""', ",") is None
    assert dialect.open_quoted_name("id,name", "id,name", ",") is None  # a header alone
