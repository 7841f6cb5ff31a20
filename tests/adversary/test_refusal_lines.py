"""An NDJSON refusal names the line of the file the bad record is on, in the API and the loader.

docs/loading.md, "Refusals": a refusal names the line, as a CSV refusal does: the file's own
line, blank lines counted (a blank line is no record, but it is a line). DuckDB (the loader's
reader) counts records, from 2 for one it cannot parse; the API counted records too. Each case
goes through the real API and the real loader (``adversary_support.run``).
"""

from __future__ import annotations

import pytest
from adversary_support import Outcome, run

from lakehouse.settings import Settings

#: The file, and the line of its first bad record.
CASES: dict[str, tuple[bytes, int]] = {
    "control_character": (b'{"v": 1}\n{"v": 2}\n{"v": "a\x01b"}\n{"v": 4}\n', 3),
    "invalid_literal_after_blank_lines": (b'{"v": 1}\n\n\n{"v": 2}\n{"v": tru}\n', 5),
    "one_line": (b'{"v": tru}\n', 1),
    "text_after_a_record": (b'{"v": 1}\n{"v": 2} x\n', 2),
    "repeated_key_after_blank_lines": (b'{"v": 1}\n\n\n{"v": 2}\n{"v": 1, "v": 2}\n', 5),
    "crlf_and_a_blank_line": (b'{"v": 1}\r\n\r\n{"v": tru}\r\n', 3),
    "lone_surrogate": (b'{"v": 1}\n\n{"v": "\\ud800"}\n', 3),
}


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> dict[str, Outcome]:
    return run(
        module_lakehouse, [(f"line_{k}", "a.ndjson", data) for k, (data, _) in CASES.items()]
    )


@pytest.mark.parametrize("key", list(CASES))
def test_an_ndjson_refusal_names_the_files_line(outcomes: dict[str, Outcome], key: str) -> None:
    data, line = CASES[key]
    outcome = outcomes[f"line_{key}"]
    if outcome.api_status == 422:  # a record's error (a repeated key) names the record (row)
        records_before = sum(1 for ln in data.split(b"\n")[: line - 1] if ln.strip())
        assert outcome.api_detail[0]["row"] == records_before, outcome.api_detail
    else:  # JSON that does not parse: 400 naming the line
        assert outcome.api_status == 400, outcome.api_detail
        assert f"(line {line})" in outcome.api_detail, outcome.api_detail
    assert outcome.refused is not None, outcome.loaded_rows
    assert outcome.refused["kind"] == "unparseable"
    assert outcome.refused["line"] == line, outcome.refused
    others = [f"line {n}" for n in range(1, 8) if n != line]
    assert not any(o in outcome.refused["reason"] for o in others), outcome.refused["reason"]
