"""A Parquet timestamp whose time zone (kept only in the file's ``ARROW:schema``: an Arrow writer
keeps any string) Arrow's time-zone database does not know: ``utc`` in lower case, ``Z``,
``+05:30:15``, ``+25:00``, ``Mars/Olympus``. Its instants are UTC by the format, and a fresh
table stored them so, but Arrow cannot print such a zone nor cast it to text: meeting a text
column, the API answered 202 and the loader refused the file ("cannot meet the table's
VARCHAR"; review finding auditp 06, HIGH). Such a column is now read as UTC instants by both,
alike (``lakehouse.parquet``): meeting text, its text is a UTC timestamp's, at any depth.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run

from lakehouse.settings import Settings

ZONES = ["utc", "Z", "+05:30:15", "+25:00", "Mars/Olympus"]
INSTANTS = [0, 1_700_000_000_000_000]
TEXTS = ["1970-01-01 00:00:00.000000Z", "2023-11-14 22:13:20.000000Z"]


def _parquet(tz: str, listed: bool = False) -> bytes:
    values = pa.array(INSTANTS, pa.timestamp("us", tz=tz))
    if listed:
        values = pa.ListArray.from_arrays(pa.array([0, 1, 2], pa.int32()), values)
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2], "c": values}), out)
    data = out.getvalue()
    read = pq.read_schema(io.BytesIO(data)).field("c").type
    assert (read.value_type if listed else read).tz == tz  # pyarrow keeps the name
    return data


def _name(tz: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in tz.lower())


@pytest.mark.parametrize("tz", ZONES)
def test_an_unknown_zone_meeting_text_is_stored_as_utc_text(
    module_lakehouse: Settings, tz: str
) -> None:
    tables = {f"zone_text_{_name(tz)}": False, f"zone_list_text_{_name(tz)}": True}
    run(module_lakehouse, [(t, "a.csv", b"id,c\n9,text\n") for t in tables], rows=False)
    files = [(t, "f.parquet", _parquet(tz, listed)) for t, listed in tables.items()]
    outcomes = run(module_lakehouse, files, rows=False)
    for table, outcome in outcomes.items():
        assert outcome.api_status == 202, (table, outcome.api_detail)
        assert outcome.refused is None, (table, outcome.refused)
    flat, listed = (bronze_table(module_lakehouse, t).to_pylist() for t in tables)
    assert sorted(r["c"] for r in flat) == sorted(["text", *TEXTS])
    assert sorted(r["c"] for r in listed) == sorted(["text", *(f'["{t}"]' for t in TEXTS)])


@pytest.mark.parametrize("tz", ZONES)
def test_an_unknown_zone_in_a_fresh_table_is_utc_instants(
    module_lakehouse: Settings, tz: str
) -> None:
    table = f"zone_fresh_{_name(tz)}"
    outcome = run(module_lakehouse, [(table, "f.parquet", _parquet(tz))], rows=False)[table]
    assert outcome.api_status == 202 and outcome.refused is None, outcome
    stored = bronze_table(module_lakehouse, table).sort_by("id").column("c")
    assert stored.type == pa.timestamp("us", tz="UTC")
    assert stored.cast(pa.int64()).to_pylist() == INSTANTS
