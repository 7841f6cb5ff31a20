"""A gzip bomb posted to a real ``lakehouse api`` on loopback, default settings: 10 MB of
``.csv.gz`` that inflates to 10 GiB is answered 413 having inflated no further than the bound
(the bytes its answer names, and the server's CPU seconds for the request: not a wall time,
which a busy machine stretches), and the server's peak memory stays low."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import httpx
import pytest
from e2e_support import running_api

ZEROS = gzip.compress(b"\0" * (10 * 1024**2), compresslevel=9)  # 10 MiB → ~10 KiB


def _cpu_s(pid: int) -> float:
    """The process's CPU seconds so far (user + system, all its threads: /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_a_10_gib_bomb_posted_to_a_real_server_is_refused_fast(tmp_path: Path) -> None:
    """The issue's reproduction: 10 MB of .csv.gz inflating to 10 GiB, default settings."""
    with running_api(tmp_path, api_min_free_bytes="0") as (server, url):
        before = _peak_rss(server.pid)
        data = gzip.compress(b"id,name\n1,a\n") + ZEROS * 1024
        assert len(data) < 11 * 1024**2
        cpu_before = _cpu_s(server.pid)
        r = httpx.post(
            f"{url}/v1/tables/bomb/files?filename=big.csv.gz",
            content=data,
            headers={"content-type": "application/octet-stream"},
            timeout=60,
        )
        cpu = _cpu_s(server.pid) - cpu_before
        assert r.status_code == 413, r.text
        detail = json.loads(r.text)["detail"]
        assert "max_inflate_ratio" in detail and ".tmp" not in detail  # no server file names
        # the server stopped at the bound (lakehouse.formats.Inflater: 250 times the compressed
        # bytes read, past the first 16 MiB), and its answer names what it inflated: 16 MiB and
        # a few bytes, not 10 GiB
        found = re.search(r"(\d+) bytes from (\d+)", detail)
        assert found is not None, detail
        inflated, consumed = int(found[1]), int(found[2])
        assert inflated <= max(16 * 1024**2, 250 * consumed) + 1024**2, detail
        assert inflated < 64 * 1024**2, detail
        # and its CPU went to that, not to 10 GiB (inflating 1 GiB of these zeros costs about
        # 2 CPU s here; the request took 0.11 CPU s, session 10): CPU seconds, which a busy
        # machine does not stretch as it stretches the wall (`elapsed < 10` before)
        assert cpu < 5.0, f"the server spent {cpu:.2f} CPU s on the request"
        grown = _peak_rss(server.pid) - before
        assert grown < 100 * 1024**2, f"peak RSS grew by {grown / 1024**2:.0f} MiB"
        assert not list((tmp_path / "landing_zone/data/raw").rglob("*.gz"))
