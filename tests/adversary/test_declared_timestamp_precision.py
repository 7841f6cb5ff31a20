"""A contract's ``timestamp(3)`` / ``timestamp_ms`` (DuckDB's ``TIMESTAMP_MS``) and
``timestamp(0)`` / ``timestamp_s`` (``TIMESTAMP_S``) are timestamp columns, exactly (fixg,
session 15; docs/loading.md, Types).

A text fits when it is ``TIMESTAMP``'s form with at most 3 (0) decimals once the zeros ending
the fraction are set aside (``.120000`` is 120 ms; ``.1234`` is none); it is stored as a Delta
``timestamp``, read as UTC, the text's instant exactly. A Parquet timestamp column in seconds
or milliseconds fits by its type; one in micro- or nanoseconds is checked value by value (a
value with digits past the millisecond is a mismatch), and so are JSON strings. The API (202 /
422) and the loader (loaded, rescued or quarantined) say the same. ``TIMESTAMP_NS`` stays
text: Delta has no nanosecond timestamp.

Before: since session 14 (revl 03) every one of these was kept as text, ``.123456`` too: a
contract exported from Trino, Athena, Snowflake or Spark (which say ``timestamp(3)``) got a
text column where it declared a timestamp. Until session 14 ``timestamp(3)`` was read as
``TIMESTAMP`` and took ``.123456``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import Outcome, declare, lakehouse, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse import dialect, parquet

UTC = dt.UTC
#: spelling → the decimals of a second its type holds
SPELLINGS = {
    "timestamp(0)": 0,
    "timestamp_s": 0,
    "timestamp(1)": 3,  # DuckDB's TIMESTAMP_MS too
    "timestamp(3)": 3,
    "datetime(3)": 3,
    "timestamp_ms": 3,
    "timestamp (3) without time zone": 3,
    "timestamp(6)": 6,
}
TYPE = {0: "TIMESTAMP_S", 3: "TIMESTAMP_MS", 6: "TIMESTAMP"}


def _fraction() -> st.SearchStrategy[str]:
    """0 to 9 decimals, some ending in zeros (``""``, ``5``, ``120``, ``000000``, ``1234500``)."""
    return st.builds(
        lambda digits, zeros: (digits + "0" * zeros)[:9],
        st.text("0123456789", max_size=9),
        st.integers(0, 9),
    )


@st.composite
def _stamp(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)))
    fraction = draw(_fraction())
    sep = draw(st.sampled_from([" ", "T"]))
    text = moment.replace(microsecond=0).isoformat(sep=sep)
    return f"{text}.{fraction}" if fraction else text


def _fits(text: str, digits: int) -> bool:
    """The rule, stated here: at most 6 decimals, at most ``digits`` once zeros are set aside."""
    fraction = text.partition(".")[2]
    return len(fraction) <= 6 and len(fraction.rstrip("0")) <= digits


def _instant(text: str) -> dt.datetime:
    """The instant a naive timestamp text names, read as UTC (its decimals in microseconds)."""
    whole, _, fraction = text.partition(".")
    moment = dt.datetime.fromisoformat(whole.replace("T", " "))
    return moment.replace(microsecond=int(fraction.ljust(6, "0")[:6] or 0), tzinfo=UTC)


def _declared(root: Path, spelling: str, tables: dict[str, str]) -> Any:
    found = lakehouse(root)
    for table, policy in tables.items():
        declare(found, table, {"id": "bigint", "ts": spelling}, policy)
    return found


def _rows(out: Outcome) -> list[dict[str, Any]]:
    assert out.loaded_rows is not None, (out.api_status, out.api_detail, out.refused)
    return sorted(out.loaded_rows, key=lambda r: r["id"])


def _api_misfits(out: Outcome) -> dict[int, str]:
    """The API's 422 errors: record (0-based) → its words."""
    if out.api_status == 202:
        return {}
    assert out.api_status == 422, (out.api_status, out.api_detail)
    return {e["row"]: e["msg"] for e in out.api_detail}


# -- the rule: one definition, every place that applies it -------------------------------------


@settings(max_examples=400, deadline=None)
@given(texts=st.lists(_stamp(), min_size=1, max_size=12), spelling=st.sampled_from(list(SPELLINGS)))
@pytest.mark.slow
def test_every_place_applies_the_one_rule(texts: list[str], spelling: str) -> None:
    """dialect.fits (the rule), the loader's vectorized fitting, the API's column check and the
    API's fast JSON pattern give the rule's answer; what fits is cast to its instant exactly."""
    from ingest import fastcontract, typecheck
    from loader import fitting

    digits = SPELLINGS[spelling]
    want = [_fits(t, digits) for t in texts]
    assert [dialect.fits(t, spelling) for t in texts] == want
    column = pa.array(texts, pa.string())
    assert fitting.fits(column, spelling).to_pylist() == want
    assert typecheck.fits_array(column, spelling).to_pylist() == want
    pattern = fastcontract.value_pattern(spelling)
    assert pattern is not None
    import re

    fast = [re.fullmatch(pattern, json.dumps(t)) is not None for t in texts]
    assert all(w or not f for f, w in zip(fast, want, strict=True))  # never a yes the rule refuses
    ok = pa.array(want)
    stored = fitting.cast(column, spelling, ok).to_pylist()
    assert stored == [_instant(t) if w else None for t, w in zip(texts, want, strict=True)]


# -- the API and the loader, end to end ---------------------------------------------------------


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(texts=st.lists(_stamp(), min_size=1, max_size=5), spelling=st.sampled_from(list(SPELLINGS)))
@pytest.mark.slow
def test_the_api_and_the_loader_agree_on_texts(texts: list[str], spelling: str) -> None:
    """CSV under rescue and quarantine, NDJSON under rescue: the API answers 202 exactly when
    every text fits, else 422 naming each misfit's record and text; the loader stores each
    fitting text as its instant and rescues each misfit as sent, or quarantines the file naming
    the first misfit in the API's words."""
    digits = SPELLINGS[spelling]
    name = TYPE[digits]
    want = [_fits(t, digits) for t in texts]
    csv = "id,ts\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts))
    ndjson = "".join(json.dumps({"id": i, "ts": t}) + "\n" for i, t in enumerate(texts))
    with tempfile.TemporaryDirectory() as root:
        found = _declared(Path(root), spelling, {"r": "rescue", "q": "quarantine", "j": "rescue"})
        outs = run(
            found,
            [
                ("r", "a.csv", csv.encode()),
                ("q", "a.csv", csv.encode()),
                ("j", "a.ndjson", ndjson.encode()),
            ],
        )
    misfits = {i for i, w in enumerate(want) if not w}
    for table in ("r", "j"):
        out = outs[table]
        api = _api_misfits(out)
        assert set(api) == misfits, (table, texts, api)
        for i, words in api.items():
            assert f"{texts[i]}" in words and f"does not fit {name} exactly" in words, words
        rows = _rows(out)
        for row, text, fits in zip(rows, texts, want, strict=True):
            if fits:
                assert row["ts"] == _instant(text) and row.get("_rescued_data") is None, row
            else:
                assert row["ts"] is None, row
                assert json.loads(row["_rescued_data"]) == {"ts": text}, row
    quarantined = outs["q"]
    if not misfits:
        assert quarantined.api_status == 202 and quarantined.refused is None
        assert [r["ts"] for r in _rows(quarantined)] == [_instant(t) for t in texts]
    else:
        first = min(misfits)
        assert quarantined.refused is not None, quarantined
        reason = quarantined.refused["reason"]
        said = f"{texts[first]!r} does not fit {name}"
        assert said in reason and said in _api_misfits(quarantined)[first], (reason, said)


_UNITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}


@st.composite
def _timestamps(draw: st.DrawFn) -> tuple[str, list[int]]:
    """A Parquet timestamp unit and values in it (a nanosecond one a whole microsecond: one
    that is not refuses the file, docs/loading.md, Parquet)."""
    unit = draw(st.sampled_from(list(_UNITS)))
    places = _UNITS[unit]
    values = []
    for _ in range(draw(st.integers(1, 5))):
        seconds = draw(st.integers(-(10**9), 4 * 10**9))
        fraction = draw(_fraction())[: min(places, 6)]
        values.append(seconds * 10**places + int(fraction.ljust(places, "0") or 0))
    return unit, values


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    found=_timestamps(),
    spelling=st.sampled_from(list(SPELLINGS)),
    zone=st.sampled_from([None, "UTC", "America/Sao_Paulo"]),
)
def test_the_api_and_the_loader_agree_on_parquet_timestamps(
    found: tuple[str, list[int]], spelling: str, zone: str | None
) -> None:
    """A Parquet timestamp column (any unit, naive or zoned): a value fits when its instant has
    at most the declared decimals; stored as that instant exactly; a misfit is 422 by the API
    and rescued by the loader as the text the API names."""
    unit, values = found
    digits = SPELLINGS[spelling]
    micros = [v * 10**6 // 10 ** _UNITS[unit] for v in values]
    want = [m % 10 ** (6 - digits) == 0 for m in micros]
    column = pa.array(values, pa.timestamp(unit, zone))
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array(range(len(values)), pa.int64()), "ts": column}), buffer)
    with tempfile.TemporaryDirectory() as root:
        settings_ = _declared(Path(root), spelling, {"p": "rescue"})
        out = run(settings_, [("p", "a.parquet", buffer.getvalue())])["p"]
    api = _api_misfits(out)
    assert set(api) == {i for i, w in enumerate(want) if not w}, (unit, values, api)
    epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)
    for row, m, fits in zip(_rows(out), micros, want, strict=True):
        if fits:
            assert row["ts"] == epoch + dt.timedelta(microseconds=m), row
        else:
            assert row["ts"] is None, row
            text = json.loads(row["_rescued_data"])["ts"]
            assert f"{text!r} does not fit {TYPE[digits]} exactly" in api[row["id"]], (text, api)


# -- named cases ----------------------------------------------------------------------------------


def _one(
    tmp_path: Path, spelling: str, name: str, data: bytes, policy: str = "quarantine"
) -> Outcome:
    found = lakehouse(tmp_path)
    declare(found, "t", {"ts": spelling}, policy)
    return run(found, [("t", name, data)])["t"]


@pytest.mark.parametrize("spelling", ["timestamp(3)", "timestamp_ms", "datetime(3)"])
def test_timestamp_3_is_a_timestamp_column(tmp_path: Path, spelling: str) -> None:
    """``.123`` and ``.120000`` (zeros ending it set aside) are stored as timestamps, exactly."""
    out = _one(
        tmp_path, spelling, "a.csv", b"ts\n2020-01-01 00:00:00.123\n2020-01-01T00:00:01.120000\n"
    )
    assert out.api_status == 202, out.api_detail
    stored = [r["ts"] for r in out.loaded_rows or []]
    assert stored == [
        dt.datetime(2020, 1, 1, 0, 0, 0, 123000, tzinfo=UTC),
        dt.datetime(2020, 1, 1, 0, 0, 1, 120000, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("spelling", "text", "name"),
    [
        ("timestamp(3)", "2020-01-01 00:00:00.123456", "TIMESTAMP_MS"),
        ("timestamp_ms", "2020-01-01 00:00:00.1234", "TIMESTAMP_MS"),
        ("timestamp(0)", "2020-01-01 00:00:00.5", "TIMESTAMP_S"),
        ("timestamp_s", "2020-01-01 00:00:00.001000", "TIMESTAMP_S"),
    ],
)
def test_digits_past_the_type_are_a_mismatch(
    tmp_path: Path, spelling: str, text: str, name: str
) -> None:
    """Never rounded nor cut: the API's 422 and the loader's quarantine say the same."""
    out = _one(tmp_path, spelling, "a.csv", f"ts\n{text}\n".encode())
    assert out.api_status == 422, (out.api_status, out.api_detail)
    said = f"{text!r} does not fit {name}"
    assert said in out.api_detail[0]["msg"], out.api_detail
    assert out.refused is not None and said in out.refused["reason"], out.refused


def _parquet(values: pa.Array) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"ts": values}), buffer)
    return buffer.getvalue()


def test_a_parquet_millisecond_column_fits_timestamp_3(tmp_path: Path) -> None:
    out = _one(
        tmp_path,
        "timestamp(3)",
        "a.parquet",
        _parquet(pa.array([1577836800123], pa.timestamp("ms"))),
    )
    assert out.api_status == 202, out.api_detail
    assert [r["ts"] for r in out.loaded_rows or []] == [
        dt.datetime(2020, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    ]
    assert parquet.held_by_type(pa.timestamp("ms"), "timestamp(3)")
    assert not parquet.held_by_type(pa.timestamp("us"), "timestamp(3)")
    assert not parquet.held_by_type(pa.timestamp("ms"), "timestamp(0)")


def test_a_parquet_microsecond_value_past_the_millisecond_is_a_mismatch(tmp_path: Path) -> None:
    values = pa.array([1577836800123000, 1577836800123456], pa.timestamp("us", "UTC"))
    out = _one(tmp_path, "timestamp(3)", "a.parquet", _parquet(values))
    said = "'2020-01-01 00:00:00.123456' does not fit TIMESTAMP_MS"
    assert out.api_status == 422 and said in out.api_detail[0]["msg"], out.api_detail
    assert out.api_detail[0]["row"] == 1
    assert out.refused is not None and said in out.refused["reason"], out.refused


def test_a_parquet_nanosecond_column_of_whole_milliseconds_fits(tmp_path: Path) -> None:
    values = pa.array([1577836800123000000], pa.timestamp("ns", "UTC"))
    out = _one(tmp_path, "timestamp_ms", "a.parquet", _parquet(values))
    assert out.api_status == 202, out.api_detail
    assert [r["ts"] for r in out.loaded_rows or []] == [
        dt.datetime(2020, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    ]


def test_a_table_s_timestamp_column_declared_timestamp_3_later_takes_its_rule(
    tmp_path: Path,
) -> None:
    """A column the table has as a timestamp (from a ``timestamp`` contract) keeps its type when
    the contract says ``timestamp(3)`` later, and its rule is then ``TIMESTAMP_MS``."""
    found = lakehouse(tmp_path)
    declare(found, "t", {"ts": "timestamp"}, "quarantine")
    first = run(found, [("t", "a.csv", b"ts\n2020-01-01 00:00:00.123456\n")])["t"]
    assert first.api_status == 202 and first.refused is None
    declare(found, "t", {"ts": "timestamp(3)"}, "quarantine")
    out = run(found, [("t", "b.csv", b"ts\n2020-01-01 00:00:00.654321\n")])["t"]
    said = "'2020-01-01 00:00:00.654321' does not fit TIMESTAMP_MS"
    assert out.api_status == 422 and said in out.api_detail[0]["msg"], out.api_detail
    assert out.refused is not None and said in out.refused["reason"], out.refused


@pytest.mark.parametrize("spelling", ["timestamp(9)", "timestamp_ns", "timestamp(7)"])
def test_a_nanosecond_timestamp_is_kept_as_text(tmp_path: Path, spelling: str) -> None:
    """Delta has no nanosecond timestamp: the column keeps each value as sent."""
    out = _one(tmp_path, spelling, "a.csv", b"ts\n2020-01-01 00:00:00.123456789\n")
    assert out.api_status == 202, out.api_detail
    assert [r["ts"] for r in out.loaded_rows or []] == ["2020-01-01 00:00:00.123456789"]
