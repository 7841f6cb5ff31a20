"""The containers' entry commands, run for real outside a container with the same environment.

No Docker engine here, so the next best thing: each service's ``command`` from the compose files
(production overrides merged) runs as ``lakehouse ...`` with the image's and the service's
variables, only the container paths moved into a temporary folder and the API bound to a free
loopback port; then the services' own health-check commands are run against them, and SIGTERM
stops them cleanly (what ``docker compose stop`` sends).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from deploy_support import (
    COMPOSE,
    COMPOSE_PROD,
    dockerfile_instructions,
    environment,
    resolve_anchors_and_merge,
)
from e2e.e2e_support import free_port
from waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LAKEHOUSE = str(BIN / "lakehouse")
START_S = 120.0
STOP_S = 60.0
DOCS_START_S = 240.0  # dbt docs generate


def _image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in dockerfile_instructions():
        if ins.keyword == "ENV" and ins.stage == max(i.stage for i in dockerfile_instructions()):
            env |= dict(re.findall(r"\b(LAKEHOUSE_\w+)=(\S+)", ins.args))
    return env


def _service_env(service: dict[str, object], tmp: Path, port: int) -> dict[str, str]:
    """The process environment the container would have, its paths moved under ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= _image_env() | environment(service)  # type: ignore[arg-type]
    moved = {
        "LAKEHOUSE_ROOT": tmp,
        "LAKEHOUSE_LANDING_ZONE": tmp / "landing_zone",
        "LAKEHOUSE_DADOS": tmp / "dados",
        "LAKEHOUSE_DBT_PROJECT_DIR": tmp / "dbt_project",
        "LAKEHOUSE_PROFILES_DIR": REPO,
    }
    for key, path in moved.items():
        assert env[key].startswith("/"), f"{key}={env[key]}: the container uses absolute paths"
        env[key] = str(path)
    for key in ("LAKEHOUSE_API_HOST", "LAKEHOUSE_LOADER_METRICS_HOST"):
        if env.get(key) == "0.0.0.0":
            env[key] = "127.0.0.1"  # tests bind loopback only
    env["LAKEHOUSE_API_PORT"] = str(port)
    if "LAKEHOUSE_LOADER_METRICS_PORT" in env:
        env["LAKEHOUSE_LOADER_METRICS_PORT"] = str(free_port())
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _probe(test: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert test[0] == "CMD"
    argv = [sys.executable if test[1] == "python" else test[1], *test[2:]]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)


class Service:
    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                [LAKEHOUSE, *command], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def healthy(self, test: list[str], env: dict[str, str]) -> bool:
        assert self.proc.poll() is None, f"{self.name} died:\n{self.log.read_text()}"
        return _probe(test, env).returncode == 0

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name} ignored SIGTERM:\n{self.log.read_text()}") from None


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in reversed(started):
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()


@pytest.mark.slow
@pytest.mark.e2e
def test_every_service_starts_passes_its_health_check_and_stops(
    tmp_path: Path, services: list[Service]
) -> None:
    model = resolve_anchors_and_merge((COMPOSE, COMPOSE_PROD), {})
    shutil.copytree(
        REPO / "dbt_project", tmp_path / "dbt_project", ignore=shutil.ignore_patterns("target")
    )
    port = free_port()
    loader_svc, api_svc = model["services"]["loader"], model["services"]["api"]
    loader_env = _service_env(loader_svc, tmp_path, port)
    api_env = _service_env(api_svc, tmp_path, port)
    assert api_env["LAKEHOUSE_MODE"] == "production"
    loader_check = loader_svc["healthcheck"]["test"]
    api_check = api_svc["healthcheck"]["test"]

    # nothing runs yet: the checks say so (they can fail)
    assert _probe(loader_check, loader_env).returncode == 1
    down = _probe(api_check, api_env)
    assert down.returncode == 1 and "unhealthy" in down.stderr

    # the documented first step: a token (production refuses to start without one)
    token = subprocess.run(
        [LAKEHOUSE, *["token", "create", "--scope", "admin"]],
        env=api_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert token.returncode == 0, token.stderr
    assert token.stdout.startswith("lh_")

    loader = Service("loader", loader_svc["command"], loader_env, tmp_path / "loader.log")
    services.append(loader)
    wait_for(lambda: loader.healthy(loader_check, loader_env), START_S, "a healthy loader")
    metrics = httpx.get(
        f"http://127.0.0.1:{loader_env['LAKEHOUSE_LOADER_METRICS_PORT']}/metrics", timeout=10
    )
    assert metrics.status_code == 200 and "lakehouse_loader_backlog_files" in metrics.text

    api = Service("api", api_svc["command"], api_env, tmp_path / "api.log")  # after: depends_on
    services.append(api)
    wait_for(lambda: api.healthy(api_check, api_env), START_S, "a ready API")
    health = [*api_check[:4], "health"]
    assert _probe(health, api_env).returncode == 0

    # the docs site and the scheduled backups, beside them
    docs_port = str(free_port())
    docs_svc, backup_svc = model["services"]["docs"], model["services"]["backup"]
    moves = {"0.0.0.0": "127.0.0.1", "8080": docs_port, "/backups": str(tmp_path / "backups")}
    docs_command = [moves.get(arg, arg) for arg in docs_svc["command"]]
    docs_check = [a.replace(":8080/", f":{docs_port}/") for a in docs_svc["healthcheck"]["test"]]
    docs_env = _service_env(docs_svc, tmp_path, port)
    docs = Service("docs", docs_command, docs_env, tmp_path / "docs.log")
    services.append(docs)
    backup_command = [moves.get(arg, arg) for arg in backup_svc["command"]]
    backup_env = _service_env(backup_svc, tmp_path, port)
    backups = Service("backup", backup_command, backup_env, tmp_path / "backup.log")
    services.append(backups)
    wait_for(
        lambda: backups.proc.poll() is None and any((tmp_path / "backups").glob("*/manifest.json")),
        START_S,
        "the first scheduled backup",
    )
    wait_for(lambda: docs.healthy(docs_check, docs_env), DOCS_START_S, "the docs site")

    for service in reversed(services):
        assert service.stop() == 0, f"{service.name}:\n{service.log.read_text()}"

    # LAKEHOUSE_LOG_FORMAT=json (the image's default): every line is a JSON object, uvicorn's
    # access log included, with its fields
    lines = [json.loads(line) for line in api.log.read_text().splitlines() if line.strip()]
    access = [e for e in lines if e["logger"] == "uvicorn.access"]
    assert any(e["path"] == "/ready" and e["status"] == 200 for e in access), lines
    assert all({"ts", "level", "logger", "msg"} <= set(e) for e in lines)
    loader_lines = [json.loads(x) for x in loader.log.read_text().splitlines() if x.strip()]
    assert any("watching" in e["msg"] for e in loader_lines), loader_lines
