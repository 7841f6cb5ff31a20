"""Text after a closing quote in a CSV header is refused as in any record, never glued into a
name. PapaParse's test input ``a,"b,c\\nd"e,f,g`` (mholt/PapaParse@a51bdc77cb
tests/test-cases.js, MIT; a row added under it) was quarantined by the loader as
``invalid_column`` "column name 'b,c\\nde' holds the control character": its header was read by
a lenient CSV reader that glued the stray ``e`` into a name the file does not hold, while the
API refused the file's quoting (review finding auditE 09). Spark's keep-quotes.csv header
``"a"b,ccc,"",ddd`` (apache/spark sql/core/src/test/resources/test-data/keep-quotes.csv,
Apache-2.0) was refused by the loader for its blank name, by the API for its quoting. The
header is read strictly now (``lakehouse.dialect.csv_quote_problem``), before its names are
judged, as the API does: both refuse the file ``unparseable`` on line 1, in the same words.
"""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

CASES = {
    "papaparse": (b'a,"b,c\nd"e,f,g\n1,2,3,4\n', 1),
    "spark_keep_quotes": (b'"a"b,ccc,"",ddd\n1,2,3,4\n', 1),
    "after_two_lines": (b'a,"b\n\nc" ,d\n1,2,3\n', 1),
    "skipped_title": (b'title "x\na,"b\nc"e\n1,2\n', 2),
}
SAID = "text after a closing quote (RFC 4180: quote the whole field)"


@pytest.mark.parametrize("case", CASES)
def test_text_after_a_quote_in_the_header_refuses_the_file(
    module_lakehouse: Settings, case: str
) -> None:
    data, line = CASES[case]
    if case == "skipped_title":
        (module_lakehouse.dbt_project_dir / "models" / f"{case}.yml").write_text(
            "version: 2\nsources:\n  - name: bronze\n    tables:\n"
            f"      - name: {case}\n        meta: {{skip_lines: 1}}\n"
        )
    outcome = run(module_lakehouse, [(case, "a.csv", data)], rows=False)[case]
    assert outcome.api_status == 400, outcome.api_detail
    assert outcome.refused is not None, "loaded"
    assert outcome.refused["kind"] == "unparseable", outcome.refused
    assert outcome.refused["reason"] == f"line {line}: {SAID}", outcome.refused
    assert outcome.refused["line"] == line
    assert outcome.api_detail == outcome.refused["reason"]  # the same words (auditE 01)
