"""``kill -9`` of ``lakehouse api`` during uploads: nothing answered 202 is lost, no landed file
is partial, and the ledger never says ``accepted`` for a file that is not there."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import pytest
from e2e_support import running_api
from waiting import wait_for

from lakehouse import Ledger, Settings
from lakehouse.layout import is_candidate


@pytest.mark.e2e
def test_kill_9_during_uploads(tmp_path: Path) -> None:
    with running_api(tmp_path, api_rate_per_token="0") as (server, url):
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
            # well into the uploads
            wait_for(lambda: len(accepted) >= 10, 180, "ten uploads accepted")
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
