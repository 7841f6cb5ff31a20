"""A ``.json`` file of JSON Lines (one object a line, a shape docs/loading.md reads) holding more
records than one ``/records`` body may (``max_records``, 100,000) is a file like any other: the
API takes it and the loader loads every record. *Before:* (until session 17, before-stop read
A-04) the API's check of such a file applied the body's bound, its ``TooManyRecordsError``
escaped the check, and the client got a 500 for a file the loader loads."""

from __future__ import annotations

import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings


@pytest.mark.parametrize("records", [100_001, 150_000])
def test_json_lines_past_a_bodys_records_in_a_json_file_load(
    one_lakehouse: Settings, records: int
) -> None:
    data = b"".join(b'{"a": %d}\n' % i for i in range(records))
    outcome = run(one_lakehouse, [("t", "a.json", data)], rows=False)["t"]
    assert (outcome.api_status, outcome.api_detail) == (202, None)
    assert outcome.refused is None
    loaded = bronze_table(one_lakehouse, "t")
    assert loaded.num_rows == records
    assert sorted(loaded.column("a").to_pylist()) == list(range(records))
