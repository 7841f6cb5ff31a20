"""Gzip bombs: the API answers 413 and the loader quarantines as ``too_large``, by the same
bound (``max_inflated_bytes``, ``max_inflate_ratio``), neither inflating the rest; a gzip file
within the bounds is taken by both."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest
from adversary_support import lakehouse, run

from lakehouse.settings import Settings

ZEROS = gzip.compress(b"\0" * (1024**2), compresslevel=9)  # 1 MiB → ~1 KiB


@pytest.fixture
def small_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    return lakehouse(tmp_path, max_inflated_bytes=4 * 1024**2)


@pytest.mark.parametrize("name", ["b.csv.gz", "b.ndjson.gz", "b.json.gz", "b.tsv.gz"])
def test_a_bomb_is_refused_by_both(small_bounds: Settings, name: str) -> None:
    head = b'{"a": 1}\n' if "json" in name else b"a\n1\n"
    data = gzip.compress(head) + ZEROS * 64  # 64 MiB inflated, past the 4 MiB bound
    started = time.monotonic()
    outcome = run(small_bounds, [("bomb", name, data)])["bomb"]
    assert time.monotonic() - started < 30
    assert outcome.api_status == 413, outcome.api_detail
    assert "max_inflated_bytes" in str(outcome.api_detail)
    assert outcome.refused is not None, "the loader loaded a bomb"
    assert outcome.refused["kind"] == "too_large", outcome.refused
    assert "max_inflated_bytes" in outcome.refused["reason"]


def test_gzip_within_the_bounds_is_taken_by_both(small_bounds: Settings) -> None:
    data = gzip.compress(b"a,b\n" + b"1,x\n" * 1000)
    outcome = run(small_bounds, [("fine", "f.csv.gz", data)])["fine"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.loader_took, outcome.refused
    assert outcome.loaded_rows is not None and len(outcome.loaded_rows) == 1000
