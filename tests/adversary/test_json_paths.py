"""Property: every way the loader reads a JSON file keeps it exactly, or refuses it saying why.

``loader.readers`` reads a JSON file one of three ways: all keys named when the first records
are the whole file; DuckDB's own detection of the first records' keys, one parse of each
record, read again listing every key when a later record brings another key
(``ReadAgain(every_key)``); and the exact path (msgspec, streaming) when a number may not keep
its literal, also chosen mid-file (``ReadAgain(exact)``, before the first piece is committed). The
default suite's files are smaller than the sample, so only the first way ran there: here the
sample is two records and a piece three rows, so files take the other ways, and a re-read
rolls back committed pieces. The rule read independently (``adversary_support.expected``) is
the judge, as in ``test_properties``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from adversary_support import Outcome, Refusal, Table, expected, lakehouse, mismatches, run
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import FAST, json_values, names

from lakehouse import Settings
from loader import fitting, readers

#: Values DuckDB keeps as written (at most 15 digits, no exponent, no -0): the fast path.
safe_values = st.one_of(
    st.none().map(lambda _: "null"),
    st.integers(-(10**15), 10**15).map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,6})\.[0-9]{1,7}", fullmatch=True).filter(
        lambda t: t.strip("-0.") != ""
    ),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(max_size=6).map(json.dumps),
    st.sampled_from(['{"b": 1}', '{"b": "x", "c": null}', "[1, 2.50]", '"2024-01-01"']),
)


#: Numbers DuckDB prints otherwise than sent, or that fit one number rule and not another.
printed_numbers = st.sampled_from(
    ["-0.0", "0.0", "1.0", "100.0", "1.50", "0.0000001", "123456789012345", "12345678901234.5"]
)


@st.composite
def long_json_files(
    draw: st.DrawFn, more: st.SearchStrategy[str] = json_values
) -> tuple[str, bytes]:
    """NDJSON or a JSON array of 3 to 12 records (past the sample, in several pieces), keys
    that may first appear late, mostly safe values and now and then any (``json_values``,
    or ``more``)."""
    keys = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    values = st.one_of(safe_values, safe_values, safe_values, more)
    records = draw(
        st.lists(
            st.dictionaries(st.sampled_from(keys), values, min_size=1), min_size=3, max_size=12
        )
    )
    texts = ["{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in r.items()) + "}" for r in records]
    bom = "\ufeff" if draw(st.booleans()) else ""
    if draw(st.booleans()):
        return "f.json", (bom + "[\n" + ",\n".join(texts) + "\n]").encode()
    return "f.ndjson", (bom + "\n".join(texts) + "\n").encode()


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A lakehouse committing pieces of 3 rows, its JSON columns found from 2 records."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "SAMPLE_RECORDS", 2)
        yield lakehouse(Path(tmp_path_factory.mktemp("json-paths")), chunk_rows=3)


_tables = itertools.count()


def load(settings: Settings, name: str, data: bytes) -> tuple[Outcome, Table | Refusal]:
    table = f"j{next(_tables)}"
    return run(settings, [(table, name, data)])[table], expected(name, data)


@settings(**(FAST | {"max_examples": 25}))
@given(file=long_json_files())
def test_every_json_reading_keeps_the_file_or_refuses_it(
    small_sample: Settings, file: tuple[str, bytes]
) -> None:
    outcome, want = load(small_sample, *file)
    if isinstance(want, Refusal):
        assert outcome.refused is not None, f"loaded, but the rule refuses it: {want}"
        return
    assert outcome.refused is None, f"quarantined: {outcome.refused}"
    assert outcome.loaded_rows is not None
    assert len(outcome.loaded_rows) == len(want.rows)  # no piece twice, none lost
    assert mismatches(outcome.loaded_rows, want, True) == []


def test_a_key_past_the_sample_in_a_later_piece_reads_the_file_again(
    small_sample: Settings,
) -> None:
    lines = [json.dumps({"id": i}) for i in range(10)] + [json.dumps({"id": 10, "late": "x"})]
    outcome, want = load(small_sample, "late.ndjson", ("\n".join(lines) + "\n").encode())
    assert isinstance(want, Table)
    assert outcome.refused is None
    assert outcome.loaded_rows is not None
    rows = sorted(outcome.loaded_rows, key=lambda r: int(r["id"]))
    assert [r["id"] for r in rows] == list(range(11))  # the first reading's pieces rolled back
    assert [r["late"] for r in rows] == [None] * 10 + ["x"]


def test_a_key_past_the_sample_beside_an_escaped_surrogate_pair_reads_the_file_again(
    small_sample: Settings,
) -> None:
    """DuckDB's refusal of the late key quotes the record, its escaped surrogate pair (U+10000)
    as two 3-byte halves: a message that is no UTF-8 (Python cannot read it), which stopped the
    loader's whole pass. The file is read again listing every key, as for any late key."""
    data = (
        b'{" barks": null}\n{" barks": null}\n{" barks": null, "A\\u00e7\\u00e3o": null,'
        b' "a": 0, "a0": "00\\ud800\\udc00\\ud800\\udc01"}\n'
    )
    outcome, want = load(small_sample, "pair.ndjson", data)
    assert isinstance(want, Table)
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    assert len(outcome.loaded_rows) == 3
    assert mismatches(outcome.loaded_rows, want, True) == []
    assert "00\U00010000\U00010001" in [r["a0"] for r in outcome.loaded_rows]


def test_a_key_past_the_sample_differing_only_by_case_refuses_the_file(
    small_sample: Settings,
) -> None:
    lines = [json.dumps({"id": i, "a": 1}) for i in range(5)] + ['{"id": 5, "A": 2}']
    outcome, _ = load(small_sample, "case.ndjson", ("\n".join(lines) + "\n").encode())
    assert outcome.refused is not None
    assert outcome.refused["kind"] == "invalid_column"
    assert "differs only by case" in outcome.refused["reason"]


def test_a_number_at_risk_in_a_later_piece_is_kept_as_written(
    small_sample: Settings,
) -> None:
    lines = [json.dumps({"id": i, "v": 0.5}) for i in range(9)]
    lines.append('{"id": 9, "v": 0.10000000000000001}')
    outcome, want = load(small_sample, "late-digits.ndjson", ("\n".join(lines) + "\n").encode())
    assert isinstance(want, Table)
    assert outcome.refused is None
    assert outcome.loaded_rows is not None
    assert mismatches(outcome.loaded_rows, want, True) == []
    rows = sorted(outcome.loaded_rows, key=lambda r: int(r["id"]))
    assert [r["id"] for r in rows] == list(range(10))  # each once
    assert rows[-1]["v"] != 0.1  # not rounded to the double


def test_the_exact_reading_streams(tmp_path: Path) -> None:
    """The exact path hands out batches as it reads (not the file decoded whole). The path is
    asked for: whether the number search has found the exponents by the time the keys are read
    is a race (it runs in a thread; a cold process lost it), not this test's question."""
    path = tmp_path / "f.ndjson"
    n = 5000
    path.write_text("".join(f'{{"id": {i}, "e": 1e{i % 9}}}\n' for i in range(n)))
    with readers.open_json(readers.detect(path), batch_rows=1024, exact=True) as text:
        assert text.literal_numbers
        sizes = [b.num_rows for b in text.batches]
    assert sum(sizes) == n
    assert max(sizes) <= 1024 and len(sizes) >= 5


@pytest.mark.parametrize(
    "body",
    [
        '{"a": 1, "b": Infinity}\n',
        '{"a": NaN}\n',
        '{"a": -Infinity}\n',
        '{"a": 1,}\n',
        # DuckDB reads these words in any case too (a review found them loaded as text)
        '{"id": 1, "a": 1}\n{"id": 2, "a": nan}\n',
        '{"id": 1, "a": "x"}\n{"id": 2, "a": -inf}\n',
        '{"id":1,"a":infinity}\n',
        '{"a": [1, INF]}\n',
        '{"a":\t+Inf}\n',
        '{"a": -nan}\n',
    ],
)
def test_what_duckdb_reads_but_is_no_json_is_refused(small_sample: Settings, body: str) -> None:
    outcome, want = load(small_sample, "f.ndjson", body.encode())
    assert isinstance(want, Refusal)
    assert outcome.refused is not None and outcome.refused["kind"] == "unparseable"


def test_no_json_words_in_strings_are_text(small_sample: Settings) -> None:
    body = (
        '{"a": "NaN", "b": "Infinity", "c": ",}", "d": "info, nancy"}\n'
        '{"a": "x", "b": "y", "c": "z", "d": "inf"}\n'
    )
    outcome, want = load(small_sample, "f.ndjson", body.encode())
    assert isinstance(want, Table)
    assert outcome.refused is None and outcome.loaded_rows is not None
    assert mismatches(outcome.loaded_rows, want, True) == []


def test_the_exact_reading_takes_a_late_key_and_refuses_a_late_repeated_one(
    small_sample: Settings,
) -> None:
    """An exponent sends the file to the exact reading; its keys are checked in its own pass."""
    lines = ['{"id": 0, "v": 1e3}'] + [json.dumps({"id": i, "v": i}) for i in range(1, 6)]
    late = [*lines, '{"id": 6, "v": 6, "late": "x"}']
    outcome, want = load(small_sample, "late.ndjson", ("\n".join(late) + "\n").encode())
    assert isinstance(want, Table)
    assert outcome.refused is None and outcome.loaded_rows is not None
    assert mismatches(outcome.loaded_rows, want, True) == []
    assert [r["late"] for r in outcome.loaded_rows if r["late"] is not None] == ["x"]

    repeated = [*lines, '{"id": 6, "v": 6, "v": 7}']
    outcome, _ = load(small_sample, "dup.ndjson", ("\n".join(repeated) + "\n").encode())
    assert outcome.refused is not None
    assert (outcome.refused["kind"], outcome.refused["line"]) == ("unparseable", 7)
    assert "an object repeats the key 'v'" in outcome.refused["reason"]


@pytest.fixture(scope="module")
def two_lakehouses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Settings]]:
    """Two lakehouses committing pieces of 3 rows, JSON columns found from 2 records."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "SAMPLE_RECORDS", 2)
        root = Path(tmp_path_factory.mktemp("json-shortcuts"))
        yield (
            lakehouse(root / "with", chunk_rows=3),
            lakehouse(root / "without", chunk_rows=3),
        )


def _as_loaded(outcome: Outcome) -> object:
    """What bronze holds of a file (its rows, without the load's time, batch id and file
    name), or why it was refused (the path DuckDB names left out: a temporary file's)."""
    if outcome.refused is not None:
        why = {k: outcome.refused.get(k) for k in ("kind", "reason", "line", "column", "value")}
        return {**why, "reason": re.sub(r'file "[^"]*"', "file", str(why["reason"]))}
    rows = [
        {k: v for k, v in row.items() if k not in ("_ingested_at", "_batch_id", "_source_file")}
        for row in outcome.loaded_rows or []
    ]
    return sorted(rows, key=repr)


@pytest.mark.slow
@settings(**(FAST | {"max_examples": 25}))
@given(
    first=long_json_files(),
    second=long_json_files(st.one_of(printed_numbers, json_values)),
    quarantine=st.booleans(),
)
def test_the_typer_shortcuts_load_the_same_bronze_as_the_whole_path(
    two_lakehouses: tuple[Settings, Settings],
    first: tuple[str, bytes],
    second: tuple[str, bytes],
    quarantine: bool,
) -> None:
    """Two files into one table (the second typed by the columns the first gave the table),
    loaded with the typer's whole-column shortcuts (``Typer.shortcuts``) and without: the same
    bronze rows, rescues and refusals."""
    table = f"s{next(_tables)}"
    policy = "quarantine" if quarantine else "rescue"
    loaded = []
    for settings_, shortcuts in zip(two_lakehouses, (True, False), strict=True):
        settings_.on_mismatch = policy
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fitting.Typer, "shortcuts", shortcuts)
            outcomes = [run(settings_, [(table, *file)])[table] for file in (first, second)]
        loaded.append([_as_loaded(o) for o in outcomes])
    assert loaded[0] == loaded[1]


def test_a_refusal_duckdb_words_as_no_utf8_is_told_by_the_exact_reading(
    small_sample: Settings,
) -> None:
    """DuckDB cuts the record its error message quotes at a byte count, inside a character
    now and then: a message that is no UTF-8, which Python cannot read (``UnicodeDecodeError``,
    no ``duckdb.Error``) and which stopped the loader's whole pass. The exact reading's own
    checks then tell why (here: an object repeating a key)."""

    def record(pad: int) -> bytes:
        return ('{"k": "' + "x" * pad + "ééé\U00010000\U00010000" + '", "k": 1}\n').encode()

    def cut(pad: int, folder: Path) -> bool:
        path = folder / "probe.ndjson"
        path.write_bytes(record(pad))
        sql = f"select * from read_json('{path}', records = true, columns = {{'k': 'JSON'}})"
        try:
            duckdb.sql(sql).fetchall()
        except UnicodeDecodeError:
            return True
        except duckdb.Error:
            return False
        return False

    folder = small_sample.root
    pad = next((p for p in range(200) if cut(p, folder)), None)
    if pad is None:
        pytest.skip("this DuckDB's messages no longer cut a character")
    outcome, want = load(small_sample, "cut.ndjson", record(pad))
    assert isinstance(want, Refusal)
    assert outcome.refused is not None
    assert outcome.refused["kind"] == "unparseable"
    assert "repeats" in outcome.refused["reason"], outcome.refused
