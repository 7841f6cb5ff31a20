"""``kill -9`` of ``lakehouse api`` during uploads: nothing answered 202 is lost, no landed file
is partial, and the ledger never says ``accepted`` for a file that is not there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from e2e_support import free_port
from waiting import wait_for

from lakehouse import Ledger, Settings
from lakehouse.layout import is_candidate

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")


def _start_api(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {"LAKEHOUSE_ROOT": str(tmp_path), "LAKEHOUSE_API_RATE_PER_TOKEN": "0"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [LAKEHOUSE, "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def healthy() -> bool:
        assert server.poll() is None, f"lakehouse api exited with {server.returncode}"
        try:
            return httpx.get(f"{url}/health").status_code == 200
        except httpx.TransportError:
            return False

    # ~1.3 CPU s to start, but 49-67 s of wall at load 15-22 on 2 cores (measured, session 9)
    try:
        wait_for(healthy, 180, "the API to start")
    except BaseException:
        server.kill()
        server.wait()
        raise
    return server, url


@pytest.mark.e2e
def test_kill_9_during_uploads(tmp_path: Path) -> None:
    server, url = _start_api(tmp_path)
    body = b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * 40) for i in range(3000))
    accepted: list[str] = []
    refused: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client() -> None:
        # generous: a client that timed out would stop posting, leaving fewer posts to cut
        with httpx.Client(base_url=url, timeout=180) as http:
            while not stop.is_set():
                try:
                    r = http.post(
                        "/v1/tables/events/records",
                        content=body,
                        headers={"content-type": "application/x-ndjson"},
                    )
                except httpx.TransportError:
                    return
                with lock:
                    if r.status_code == 202:
                        accepted.append(r.json()["batch_id"])
                    else:
                        refused.append(r.status_code)

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(accepted) >= 10, 180, "ten uploads accepted")  # well into the uploads
    finally:
        server.send_signal(signal.SIGKILL)
    server.wait(timeout=60)
    stop.set()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a client still waits on a killed server"
    assert len(accepted) >= 10 and refused == []

    settings = Settings(root=tmp_path)
    folder = settings.raw_dir / "events"
    landed = {p.name.split(".")[0]: p for p in folder.iterdir() if is_candidate(p)}
    for batch_id in accepted:  # every 202 is on disk, whole
        assert batch_id in landed
    for path in landed.values():  # no visible file is partial
        assert path.read_bytes() == body
    ledger = Ledger(settings.ledger_file)
    for batch in ledger.batches(states=["accepted"], limit=10_000):
        assert batch.batch_id in landed  # the ledger never runs ahead of the data
