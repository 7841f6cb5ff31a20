"""A gzip bomb posted to a real ``lakehouse api`` on loopback, default settings: 10 MB of
``.csv.gz`` that inflates to 10 GiB is answered 413 within seconds, and the server's peak memory
stays low (it inflates no further than the bound)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from e2e_support import free_port
from waiting import wait_for

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
ZEROS = gzip.compress(b"\0" * (10 * 1024**2), compresslevel=9)  # 10 MiB → ~10 KiB


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {"LAKEHOUSE_ROOT": str(tmp_path), "LAKEHOUSE_API_MIN_FREE_BYTES": "0"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [LAKEHOUSE, "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{url}/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, 180, "the API to start")
        before = _peak_rss(server.pid)
        data = gzip.compress(b"id,name\n1,a\n") + ZEROS * 1024
        assert len(data) < 11 * 1024**2
        started = time.monotonic()
        r = httpx.post(
            f"{url}/v1/tables/bomb/files?filename=big.csv.gz",
            content=data,
            headers={"content-type": "application/octet-stream"},
            timeout=60,
        )
        elapsed = time.monotonic() - started
        assert r.status_code == 413, r.text
        detail = json.loads(r.text)["detail"]
        assert "max_inflate_ratio" in detail and ".tmp" not in detail  # no server file names
        assert elapsed < 10, f"took {elapsed:.1f} s"
        grown = _peak_rss(server.pid) - before
        assert grown < 100 * 1024**2, f"peak RSS grew by {grown / 1024**2:.0f} MiB"
        assert not list((tmp_path / "landing_zone/data/raw").rglob("*.gz"))
    finally:
        server.terminate()
        server.wait(timeout=30)
