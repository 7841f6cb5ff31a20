"""``lakehouse up``: API, loader and builder in one process, from a post to silver and back."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from e2e_support import free_port, lakehouse_env
from waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")

CUSTOMERS = b"".join(
    b'{"customer_id": %d, "email": "c%d@example.com", "first_name": "Ana", "last_name": "Silva",'
    b' "country_code": "PT", "created_at": "2026-01-0%dT10:00:00Z",'
    b' "updated_at": "2026-01-0%dT10:00:00Z"}\n' % (i, i, i, i)
    for i in range(1, 6)
)


@pytest.mark.e2e
def test_up_takes_records_to_silver_and_stops_on_sigint(tmp_path: Path) -> None:
    env = lakehouse_env(tmp_path)
    port = free_port()
    log = tmp_path / "up.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [LAKEHOUSE, "up", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:

            def healthy() -> bool:
                try:
                    return http.get("/health").status_code == 200
                except httpx.TransportError:
                    return proc.poll() is not None  # died: stop waiting, fail below

            wait_for(healthy, 180, "the API of lakehouse up")
            assert proc.poll() is None, log.read_text()
            posted = http.post(
                "/v1/tables/customers/records",
                content=CUSTOMERS,
                headers={"Content-Type": "application/x-ndjson"},
            )
            assert posted.status_code == 202, posted.text
            status_url = posted.json()["status_url"]

            def published() -> dict[str, object] | None:
                batch = http.get(status_url, params={"wait": 10}).json()
                assert batch["state"] in ("accepted", "loaded", "published"), batch
                return batch if batch["state"] == "published" else None

            batch = wait_for(published, 180, "the batch to be published")
            assert batch["records"] == 5
            rows = http.get("/v1/tables/silver/stg_shop__customers/rows").json()["rows"]
            assert sorted(r["customer_id"] for r in rows) == [1, 2, 3, 4, 5]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, log.read_text()
