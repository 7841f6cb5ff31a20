"""PostgreSQL writes a ``timestamptz`` with its session zone's offset, an hour-only one when the
offset is a whole hour (``2024-01-01 10:00:00+00``, ``...-03``: ISO 8601's ``±hh``), minutes
when not (``+05:30``), seconds before a zone's standard time (Local Mean Time:
``+05:53:28``). Before (review finding s13 revc 10, LOW) a column declared ``timestamptz``
refused ``+00`` and ``-03`` ("does not fit TIMESTAMPTZ", API 422, quarantine): every file
``psql \\copy ... CSV`` writes in UTC. Now ``±HH`` is an offset of the rule (docs/loading.md,
Types), read as that instant by the API's check and the loader alike; an offset with seconds is
still refused, never shifted; an undeclared column keeps the text exactly (inference reads no
offsets).

The files are PostgreSQL 15.18's own output (``COPY (...) TO STDOUT WITH (FORMAT csv, HEADER)``
under ``PGTZ=<zone>``, psql 15.18, this machine's /usr/lib/postgresql/15, session 14) of
timestamptz '2024-01-01 10:00:00Z', '2024-07-01 10:00:00.5Z', '1850-01-01 00:00:00Z' and NULL."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from adversary_support import bronze_table, declare, run
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import typecheck
from ingest.app import create_app
from lakehouse import dialect
from lakehouse.settings import Settings
from loader import Loader, fitting

COPIED = {
    "UTC": "id,t\n1,2024-01-01 10:00:00+00\n2,2024-07-01 10:00:00.5+00\n"
    "3,1850-01-01 00:00:00+00\n4,\n",
    "Asia/Kolkata": "id,t\n1,2024-01-01 15:30:00+05:30\n2,2024-07-01 15:30:00.5+05:30\n"
    "3,1850-01-01 05:53:28+05:53:28\n4,\n",
    "America/Sao_Paulo": "id,t\n1,2024-01-01 07:00:00-03\n2,2024-07-01 07:00:00.5-03\n"
    "3,1849-12-31 20:53:32-03:06:28\n4,\n",
    "America/Los_Angeles": "id,t\n1,2024-01-01 02:00:00-08\n2,2024-07-01 03:00:00.5-07\n"
    "3,1849-12-31 16:07:02-07:52:58\n4,\n",
}
UTC = dt.UTC
INSTANTS = [
    dt.datetime(2024, 1, 1, 10, tzinfo=UTC),
    dt.datetime(2024, 7, 1, 10, 0, 0, 500_000, tzinfo=UTC),
    dt.datetime(1850, 1, 1, tzinfo=UTC),
    None,
]


def _without_lmt(zone: str) -> bytes:
    """The file without its 1850 line (an offset with seconds, Local Mean Time)."""
    lines = COPIED[zone].splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("3,")).encode()


def _table(zone: str) -> str:
    return "pg_" + zone.lower().replace("/", "_")


@pytest.mark.parametrize("zone", sorted(COPIED))
def test_a_postgres_timestamptz_is_its_instant(one_lakehouse: Settings, zone: str) -> None:
    table = _table(zone)
    declare(one_lakehouse, table, {"t": "timestamptz"}, "quarantine")
    body = COPIED[zone].encode() if zone == "UTC" else _without_lmt(zone)
    outcome = run(one_lakehouse, [(table, "pg.csv", body)])[table]
    assert outcome.api_status == 202, outcome.api_detail  # before: 422 for +00, -03, -08
    assert outcome.refused is None, outcome.refused
    got = {r["id"]: r["t"] for r in outcome.loaded_rows or []}
    want = dict(zip([1, 2, 3, 4], INSTANTS, strict=True))
    if zone != "UTC":
        del want[3]
    assert got == want


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/Sao_Paulo", "America/Los_Angeles"])
def test_an_offset_with_seconds_is_refused_not_shifted(one_lakehouse: Settings, zone: str) -> None:
    table = _table(zone)
    declare(one_lakehouse, table, {"t": "timestamptz"}, "quarantine")
    outcome = run(one_lakehouse, [(table, "pg.csv", COPIED[zone].encode())])[table]
    value = COPIED[zone].splitlines()[3].split(",")[1]
    said = f"{value!r} does not fit TIMESTAMPTZ"
    assert outcome.api_status == 422 and said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None and said in outcome.refused["reason"], outcome.refused


def test_undeclared_or_plain_timestamp(one_lakehouse: Settings) -> None:
    """Undeclared: the text exactly (inference reads no offsets); declared ``timestamp``: a
    mismatch (a text with an offset is no local time), by the API and the loader alike."""
    declare(one_lakehouse, "pg_plain", {"t": "timestamp"}, "quarantine")
    body = COPIED["America/Sao_Paulo"].encode()
    outcome = run(one_lakehouse, [("pg_any", "pg.csv", body), ("pg_plain", "pg.csv", body)])
    kept = outcome["pg_any"]
    assert kept.api_status == 202 and kept.refused is None, kept.refused
    texts = {r["id"]: r["t"] for r in kept.loaded_rows or []}
    assert texts == {
        1: "2024-01-01 07:00:00-03",
        2: "2024-07-01 07:00:00.5-03",
        3: "1849-12-31 20:53:32-03:06:28",
        4: None,
    }
    plain = outcome["pg_plain"]
    said = "'2024-01-01 07:00:00-03' does not fit TIMESTAMP"
    assert plain.api_status == 422 and said in str(plain.api_detail), plain.api_detail
    assert plain.refused is not None and said in plain.refused["reason"], plain.refused


def test_json_records_take_an_hour_offset(one_lakehouse: Settings) -> None:
    declare(one_lakehouse, "pg_json", {"t": "timestamptz"}, "quarantine")
    records = [{"id": 1, "t": "2024-01-01 10:00:00+00"}, {"id": 2, "t": "2024-01-01 07:00:00-03"}]
    with TestClient(create_app(one_lakehouse)) as client:
        r = client.post("/v1/tables/pg_json/records", json=records)
        assert r.status_code == 202, r.text  # before: 422, "does not fit TIMESTAMPTZ"
        r = client.post(
            "/v1/tables/pg_json/records", json=[{"id": 3, "t": "9999-12-31 23:30:00-01"}]
        )
        assert r.status_code == 422, r.text  # year 10000 as an instant
    Loader(one_lakehouse).load_pending()
    rows = {r["id"]: r["t"] for r in bronze_table(one_lakehouse, "pg_json").to_pylist()}
    assert rows == {1: INSTANTS[0], 2: INSTANTS[0]}


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30)),
    hours=st.integers(-23, 23),
    minutes=st.sampled_from([None, 0, 30, 45]),
    sep=st.sampled_from([" ", "T"]),
)
def test_an_offset_is_read_as_its_instant(
    moment: dt.datetime, hours: int, minutes: int | None, sep: str
) -> None:
    """Any wall-clock time with an offset ``±HH`` or ``±HH:MM``: the API's check and the
    loader's take it, and the loader stores the instant it names."""
    sign = "-" if hours < 0 else "+"
    offset = f"{sign}{abs(hours):02d}" + ("" if minutes is None else f":{minutes:02d}")
    text = moment.isoformat(sep=sep, timespec="microseconds") + offset
    texts = pa.array([text])
    assert dialect.fits(text, "TIMESTAMPTZ")
    assert typecheck.fits_array(texts, "timestamptz").to_pylist() == [True]
    ok, values = fitting.fits_and_values(texts, "timestamptz")
    stored = fitting.cast(texts, "timestamptz")
    shift = dt.timedelta(hours=abs(hours), minutes=minutes or 0)
    want = moment.replace(tzinfo=UTC) - (shift if sign == "+" else -shift)
    assert ok.to_pylist() == [True]
    assert values is not None and values.to_pylist() == [want]
    assert stored.to_pylist() == [want]
