"""Gzip bombs are refused with 413 naming the bound, without inflating the rest.

The bombs are real: gzip members of 10 MiB of zeros (~10 KiB each), repeated (see also
tests/e2e/test_api_bomb.py, the same against a real server).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import make_settings
from fastapi.testclient import TestClient

from ingest import create_app
from lakehouse.formats import (
    RATIO_FLOOR_BYTES,
    GzipReader,
    InflateError,
    InflateLimitError,
    inflate,
)

ZEROS = gzip.compress(b"\0" * (10 * 1024**2), compresslevel=9)  # 10 MiB → ~10 KiB


def bomb(header: bytes, members: int) -> bytes:
    """A gzip stream: ``header`` then ``members`` times 10 MiB of zeros (multi-member, as valid)."""
    return gzip.compress(header) + ZEROS * members


def test_inflate_stops_at_the_byte_bound() -> None:
    data = bomb(b"a\n", 1000)  # 10 GiB inflated
    started = time.monotonic()
    with pytest.raises(InflateLimitError) as caught:
        inflate(data, 4 * 1024**2, 10**9)
    assert caught.value.setting == "max_inflated_bytes"
    assert "4194304 bytes" in str(caught.value)
    assert time.monotonic() - started < 2


def test_inflate_stops_at_the_ratio_past_the_floor() -> None:
    with pytest.raises(InflateLimitError) as caught:
        inflate(bomb(b"a\n", 1000), 10**12, 250)
    assert caught.value.setting == "max_inflate_ratio"
    # a small body of one repeated byte is fine: below the floor the ratio is not checked
    small = b"x" * (RATIO_FLOOR_BYTES // 2)
    assert inflate(gzip.compress(small), 10**12, 250) == small


def test_inflate_keeps_every_member_and_refuses_truncation() -> None:
    data = gzip.compress(b"id\n1\n") + gzip.compress(b"2\n")
    assert inflate(data, 1024, 250) == b"id\n1\n2\n"
    with pytest.raises(InflateError, match="truncated"):
        inflate(data[:-3], 1024, 250)
    with pytest.raises(InflateError, match="not valid gzip"):
        inflate(b"not gzip at all", 1024, 250)


def test_gzip_reader_streams_within_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "b.csv.gz"
    path.write_bytes(bomb(b"a\n", 100))
    with open(path, "rb") as raw, GzipReader(raw, 3 * 1024**2, 250) as reader:
        assert reader.read(2) == b"a\n"
        with pytest.raises(InflateLimitError):
            while reader.read(1024**2):
                pass
        assert reader.inflated <= 4 * 1024**2


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, max_inflated_bytes=8 * 1024**2)
    with TestClient(create_app(settings)) as c:
        yield c


def test_records_gzip_bomb_is_413(client: TestClient) -> None:
    body = gzip.compress(b'{"a": 1}\n') + ZEROS * 100  # 1 GiB of zeros after one record
    r = client.post(
        "/v1/tables/t/records",
        content=body,
        headers={"content-type": "application/x-ndjson", "content-encoding": "gzip"},
    )
    assert r.status_code == 413, r.text
    assert "max_inflated_bytes" in r.json()["detail"]


def test_records_past_the_body_limit_names_it(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_max_body_bytes=1024)
    body = gzip.compress(b"".join(b'{"a": %d}\n' % i for i in range(1000)))
    with TestClient(create_app(settings)) as c:
        r = c.post(
            "/v1/tables/t/records",
            content=body,
            headers={"content-type": "application/x-ndjson", "content-encoding": "gzip"},
        )
    assert r.status_code == 413, r.text
    assert "api_max_body_bytes" in r.json()["detail"]


@pytest.mark.parametrize("name", ["b.csv.gz", "b.ndjson.gz", "b.json.gz", "b.tsv.gz"])
def test_file_gzip_bomb_is_413_and_not_landed(client: TestClient, name: str) -> None:
    header = b'{"a": 1}\n' if "json" in name else b"a\n1\n"
    r = client.post(
        f"/v1/tables/t/files?filename={name}",
        content=bomb(header, 100),
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == 413, r.text
    assert "max_inflated_bytes" in r.json()["detail"]
    raw = Path(client.app.state.context.settings.raw_dir) / "t"  # type: ignore[attr-defined]
    assert not raw.is_dir() or not list(raw.iterdir())
