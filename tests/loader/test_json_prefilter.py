"""The JSON number prefilter (``readers._needs_literals``) by Hyperscan gives RE2's answer.

A file where :data:`readers._LITERAL_AT_RISK` occurs is read exactly (every number as written);
the search runs by Hyperscan, the slow alternative (an exponent) found by a hint and confirmed
around it, the file in blocks that overlap. Whatever the bytes, the answer must be the one RE2
gives over the whole file at once (``readers._matches``): a miss would load a number as DuckDB
prints it. Blocks are made tiny here so that matches straddle them.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader import readers

SETTINGS = {
    "max_examples": 150,
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.function_scoped_fixture],
}

#: The bytes the patterns turn on, and some they do not.
ALPHABET = [*'0123456789.eE+-,}]{[: \t\r\n"\\NaIfinyty_xAZé', "NaN", "Infinity", "1e5"]
noise = st.lists(st.sampled_from(ALPHABET), max_size=120).map(lambda parts: "".join(parts))

numbers = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,18})?", fullmatch=True),
    st.sampled_from(["-0", "-0.0", "0.5", "1E+2", "NaN", "-Infinity", "nan", "INF", "1.e5"]),
)
strings = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
    numbers,  # a number's text inside a string: may trip the filter (harmless), never a miss
    st.sampled_from(["1e5", "ab1e5x", "3e4f2a", "x-0,", "e-1", "\u00e9\\n"]),
).map(json.dumps)
leaves = st.one_of(numbers, strings, st.sampled_from(["true", "false", "null"]))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.lists(st.tuples(strings, inner), max_size=3).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
        ),
    ),
    max_leaves=6,
)
spaces = st.sampled_from(["", " ", "\t", "  \n", " " * 30])
records = st.lists(
    st.tuples(st.lists(st.tuples(strings, values, spaces), max_size=4), st.booleans()),
    min_size=1,
    max_size=6,
).map(
    lambda rows: "".join(
        "{" + ",".join(f"{k}:{s}{v}" for k, v, s in fields) + ("," if comma else "") + "}\n"
        for fields, comma in rows
    )
)


def _reference(path: Path) -> bool:
    return readers._matches(path.read_bytes())


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "_BLOCK", 97)  # matches straddle blocks
    monkeypatch.setattr(readers, "_SEARCH_BLOCK", 97)


def test_hyperscan_runs_here() -> None:
    """The fast search is the one tested (not the RE2 fallback of a CPU it cannot run on)."""
    assert readers._RiskScan.make() is not None


@settings(**SETTINGS)
@given(text=st.one_of(records, noise))
def test_fast_prefilter_is_re2(tmp_path: Path, tiny_blocks: None, text: str) -> None:
    path = tmp_path / "f.ndjson"
    path.write_text(text, encoding="utf-8")
    assert readers._needs_literals(path) == _reference(path), text


@settings(**SETTINGS)
@given(text=st.one_of(records, noise), block=st.integers(1, 300))
@pytest.mark.slow
def test_fast_prefilter_is_re2_at_any_block_and_hint_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, block: int
) -> None:
    """Blocks of any size, and a block of too many exponent hints searched by RE2 instead."""
    monkeypatch.setattr(readers, "_BLOCK", block)
    monkeypatch.setattr(readers, "_SEARCH_BLOCK", block)
    monkeypatch.setattr(readers, "_MAX_HINTS", block % 3)
    path = tmp_path / "f.ndjson"
    path.write_text(text, encoding="utf-8")
    assert readers._needs_literals(path) == _reference(path), (block, text)


@settings(**SETTINGS)
@given(text=st.one_of(records, noise), block=st.integers(1, 300), parts=st.integers(2, 7))
def test_fast_prefilter_is_re2_in_ranges_on_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, block: int, parts: int
) -> None:
    """The file cut into ranges searched on threads at once (a big file's scan on every core):
    RE2's answer over the whole file, whatever the ranges and blocks cut through."""
    monkeypatch.setattr(readers, "_BLOCK", block)
    monkeypatch.setattr(readers, "_SEARCH_BLOCK", block)
    path = tmp_path / "f.ndjson"
    path.write_text(text, encoding="utf-8")
    assert readers._needs_literals(path, parts=parts) == _reference(path), (block, parts, text)


def test_a_match_across_every_range_seam_is_found(tmp_path: Path) -> None:
    """A number at risk across the seam of two ranges, at every offset from it."""
    path = tmp_path / "f.ndjson"
    risky = '{"a":-1234567.25e-5}\n'
    for pad in range(0, 2 * len(risky) + 2):
        text = '{"p":"' + "x" * pad + '"}\n' + risky + '{"p":"' + "y" * 40 + '"}\n'
        path.write_text(text, encoding="utf-8")
        for parts in (2, 3):
            with pytest.MonkeyPatch.context() as m:
                m.setattr(readers, "_BLOCK", len(text) // parts)
                m.setattr(readers, "_SEARCH_BLOCK", len(text) // parts)
                assert readers._needs_literals(path, parts=parts) is True, (pad, parts)
        path.write_text(text.replace("e-5", "5"), encoding="utf-8")
        assert readers._needs_literals(path, parts=3) is False


@pytest.mark.parametrize(
    ("text", "at_risk"),
    [
        ('{"a": 1.5, "b": "1e5"}\n', False),  # an exponent-like string is no number
        ('{"a": "ab1e5x", "b": "3e4f2a"}\n', False),
        ('{"a": 1e5}\n', True),
        ('{"a": -2.5E-07}\n', True),
        ('{"a": -1234567.25e-5}\n', True),  # the match starts 14 bytes before its hint ends
        ('{"a":123456789012.5E3,"b":1}\n', True),
        ('{"a": 5e1234567890123456}\n', True),  # a long exponent
        ('{"a": [1, 2e3]}\n', True),
        ('{"a": {"b": 1E+2}}\n', True),
        ('{"a": -0}\n', True),
        ('{"a": 12345678901234567}\n', True),
        ('{"a": NaN}\n', True),
        ('{"a": 1,}\n', True),
    ],
)
def test_prefilter_cases(tmp_path: Path, text: str, at_risk: bool) -> None:
    path = tmp_path / "f.ndjson"
    padded = '{"pad": "' + "x" * 90 + '"}\n' + text  # the number near a block's end
    for block in (len(padded) - len(text) + 9, 16 * 1024**2):
        path.write_text(padded, encoding="utf-8")
        with pytest.MonkeyPatch.context() as m:
            m.setattr(readers, "_BLOCK", block)
            m.setattr(readers, "_SEARCH_BLOCK", block)
            assert readers._needs_literals(path) is at_risk, (block, text)
            assert readers._needs_literals_re2(path) is at_risk


def test_many_hints_fall_back_to_re2(tmp_path: Path) -> None:
    """Strings full of exponent-like text: past ``_MAX_HINTS`` a block is searched by RE2."""
    path = tmp_path / "f.ndjson"
    rows = "".join(f'{{"h": "{i}e{i}x"}}\n' for i in range(5000))
    path.write_text(rows, encoding="utf-8")
    assert readers._needs_literals(path) is False
    path.write_text(rows + '{"h": 1e5}\n', encoding="utf-8")
    assert readers._needs_literals(path) is True


def test_scans_on_several_threads_at_once(tmp_path: Path) -> None:
    """Each scan has its own scratch space: loader workers scan files at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    risky, plain = tmp_path / "risky.ndjson", tmp_path / "plain.ndjson"
    rows = "".join(f'{{"a": {i}.5, "s": "n{i}"}}\n' for i in range(20_000))
    plain.write_text(rows, encoding="utf-8")
    risky.write_text(rows + '{"a": 1e5}\n', encoding="utf-8")
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(readers._needs_literals, [risky, plain] * 8))
    assert found == [True, False] * 8


def test_every_range_searches_the_file_as_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file renamed over the path while its ranges are searched is not half read: every
    range reads the one file the search opened (the reading itself is checked against the
    file's identity apart)."""
    path, plain = tmp_path / "f.ndjson", tmp_path / "plain.ndjson"
    rows = "".join(f'{{"a": {i}.5, "s": "n{i}"}}\n' for i in range(2000))
    path.write_text(rows + '{"a": 1e5}\n', encoding="utf-8")  # at risk in its last range
    plain.write_text(rows + '{"a": 15}\n', encoding="utf-8")
    monkeypatch.setattr(readers, "_BLOCK", 4096)
    monkeypatch.setattr(readers, "_SEARCH_BLOCK", 4096)
    real = readers._range_needs_literals
    renamed = threading.Lock()

    def range_after_rename(*args: object) -> bool:
        with renamed:
            if plain.exists():
                os.replace(plain, path)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(readers, "_range_needs_literals", range_after_rename)

    assert readers._needs_literals(path, parts=4) is True
    assert not plain.exists() and readers._needs_literals(path, parts=4) is False


class _Fed:
    """What the number search fed to a file's hash (``readers.ContentFeed``)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends: list[str] = []

    def update(self, data: memoryview) -> None:
        self.data += data

    def finish(self) -> None:
        self.ends.append("finish")

    def abandon(self) -> None:
        self.ends.append("abandon")


def _feeding(path: Path, parts: int, stop: threading.Event | None = None) -> tuple[bool, _Fed]:
    fed = _Fed()
    with path.open("rb", buffering=0) as f:
        found = readers._feeding_needs_literals(f.fileno(), fed, parts, stop)
    return found, fed


@settings(**SETTINGS)
@given(text=st.one_of(records, noise), block=st.integers(1, 300), parts=st.integers(1, 5))
def test_the_search_feeding_the_hash_is_re2_and_feeds_every_byte_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, block: int, parts: int
) -> None:
    """The search that reads the file once for its hash too (one reading thread, blocks
    searched on ``parts`` threads in any order): RE2's answer over the whole file, whatever the
    blocks cut through, and the hash fed every byte of the file once, in order, then finished."""
    monkeypatch.setattr(readers, "_BLOCK", block)
    monkeypatch.setattr(readers, "_SEARCH_BLOCK", block)
    path = tmp_path / "f.ndjson"
    path.write_text(text, encoding="utf-8")
    found, fed = _feeding(path, parts)
    assert found == _reference(path), (block, parts, text)
    assert bytes(fed.data) == path.read_bytes() and fed.ends == ["finish"]


def test_the_search_feeding_the_hash_finds_a_match_across_every_block_seam(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A number at risk across the seam of two blocks, at every offset from it; and once it is
    found, the rest of the file is still read for the hash."""
    path = tmp_path / "f.ndjson"
    risky = '{"a":-1234567.25e-5}\n'
    monkeypatch.setattr(readers, "_BLOCK", 16)
    monkeypatch.setattr(readers, "_SEARCH_BLOCK", 16)
    for pad in range(0, 2 * len(risky) + 2):
        text = '{"p":"' + "x" * pad + '"}\n' + risky + '{"p":"' + "y" * 400 + '"}\n'
        path.write_text(text, encoding="utf-8")
        for parts in (1, 2, 3):
            found, fed = _feeding(path, parts)
            assert found is True and bytes(fed.data) == text.encode(), (pad, parts)
        path.write_text(text.replace("e-5", "5"), encoding="utf-8")
        assert _feeding(path, 2)[0] is False


def test_the_search_feeding_the_hash_stopped_abandons_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search given up before the file's end (the reading closed) hands the hash back: it
    was not fed every byte, so it must not be finished."""
    monkeypatch.setattr(readers, "_BLOCK", 64)
    monkeypatch.setattr(readers, "_SEARCH_BLOCK", 64)
    path = tmp_path / "f.ndjson"
    path.write_text('{"a": 1}\n' * 1000, encoding="utf-8")
    stop = threading.Event()
    stop.set()
    found, fed = _feeding(path, 2, stop)
    assert found is False and fed.ends == ["abandon"]
    assert len(fed.data) < path.stat().st_size


def test_the_search_reads_blocks_that_stay_in_a_cores_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search (and the hash it feeds) reads a big file 1 MiB at a time, not 16 MiB: a
    block read, hashed and searched while it is still in the core's cache (-0.13 to -0.18 CPU
    s of a 1M-row NDJSON load's ~1.3, bench/RESULTS-loader.md, session 20). Every byte is
    still fed once, in order, and a number at risk in the last block is still found."""
    reads: list[int] = []
    real = os.preadv

    def preadv(fd: int, buffers: list[memoryview], offset: int) -> int:
        reads.append(sum(len(b) for b in buffers))
        return real(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", preadv)
    path = tmp_path / "f.ndjson"
    rows = "".join(f'{{"a": {i}.5, "s": "n{i}"}}\n' for i in range(150_000))  # ~4 MiB
    path.write_bytes((rows + '{"a": 1e5}\n').encode())
    for parts in (1, 2):
        reads.clear()
        found, fed = _feeding(path, parts)
        assert found is True and bytes(fed.data) == path.read_bytes() and fed.ends == ["finish"]
        assert max(reads) <= (1 << 20) + readers._OVERLAP and len(reads) > 4, reads
        reads.clear()
        assert readers._needs_literals(path, parts=parts) is True
        assert max(reads) <= (1 << 20) + readers._OVERLAP, reads
