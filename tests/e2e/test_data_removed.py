"""``rm -rf dados`` under ``lakehouse up``: one clear error line and a clean stop, not tracebacks
and a service that goes on answering 401 to valid tokens."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from e2e_support import free_port, lakehouse_env
from waiting import wait_for

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")


@pytest.mark.e2e
def test_removing_the_data_folder_stops_up_with_one_clear_error(tmp_path: Path) -> None:
    env = lakehouse_env(tmp_path, loader_metrics_port="0")
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

        def ready() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, 180, "lakehouse up to be ready")
        shutil.rmtree(tmp_path / "dados")
        # the guard looks every 0.5 s; the exit then waits for the builder's running step
        # (upkeep, history), which a loaded 2-core machine slows many times over
        code = proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert code == 1, text
    assert f"error: {tmp_path / 'dados'}" in text and "was removed while the lakehouse ran" in text
    assert "Traceback" not in text, text
