"""A CSV field or record of any length up to ``max_csv_record_bytes`` (16 MiB) is taken by the
API and loaded (past it: test_csv_record_bound.py).

docs/loading.md, "CSV", Length: no limit on a field's length but the record's. Python's csv
module refuses a field past 131,072 characters by default (the API's structure pass and the
loader's strict quote check read by it), and pyarrow reads a record across two of its blocks
at most (the loader's 4 MiB, the API's 8 MiB): the loader reads such a file again by longer
blocks, rolling back pieces already committed, and the API checks it the same way. Each case
goes through the real API and the real loader and is read back by the rule
(``adversary_support``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from adversary_support import Table, declare, expected, lakehouse, mismatches, run

from lakehouse.settings import Settings

KIB = 1024
MIB = 1024**2
#: (file bytes, whether a contract types a column: the API's values pass reads the file too)
CASES: dict[str, tuple[bytes, bool]] = {
    # past Python's csv default of 131,072 characters
    "unquoted_200_kib": (b"id,t\n1," + b"x" * (200 * KIB) + b"\n2,y\n", False),
    # a quote in an unquoted field sends the loader to its strict (Python) check
    "quoted_200_kib_beside_a_quote": (b'id,t\n1,"' + b"x" * (200 * KIB) + b'"\n2,5\'"N\n', False),
    # past two of the loader's blocks (4 MiB, then 8 MiB: its records then read one by one,
    # none past max_csv_record_bytes, 16 MiB), quoted newlines in it
    "quoted_15_mib_typed": (
        b'id,t\n1,a\n2,"' + b"ab\ncd " * (15 * MIB // 6) + b'"\n3,"x""y"\n',
        True,
    ),
    "unquoted_9_mib_last_without_line_break": (b"id,t\n1,a\n2," + b"z" * (9 * MIB), True),
}


@pytest.mark.parametrize("key", list(CASES))
def test_a_long_field_is_taken_by_the_api_and_loaded_exactly(
    module_lakehouse: Settings, key: str
) -> None:
    data, typed = CASES[key]
    table = f"long_{key}"
    if typed:
        declare(module_lakehouse, table, {"id": "bigint"})
    want = expected("a.csv", data)
    assert isinstance(want, Table), want  # valid CSV by the rule
    outcome = run(module_lakehouse, [(table, "a.csv", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    assert mismatches(outcome.loaded_rows, want, js=False) == []


@pytest.mark.slow
def test_a_long_record_after_a_committed_piece_is_loaded_once(tmp_path: Path) -> None:
    """The record longer than the loader's blocks comes after its first piece was committed
    (``chunk_rows``: 50,000): pieces are rolled back and the file read again, every row once."""
    settings = lakehouse(tmp_path, chunk_rows=50_000)
    rows = b"".join(b"%d,r%d\n" % (i, i) for i in range(200_000))
    data = b"id,t\n" + rows + b'9999,"' + b"q" * (10 * MIB) + b'"\n10000,end\n'
    want = expected("a.csv", data)
    assert isinstance(want, Table)
    outcome = run(settings, [("long_after_piece", "a.csv", data)])["long_after_piece"]
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    got = sorted((str(r["id"]), r["t"]) for r in outcome.loaded_rows)  # id: BIGINT, inferred
    assert got == sorted((w["id"], w["t"]) for w in want.rows)
    assert len(got) == 200_002
