"""One control while running: ``lakehouse build|retry|docs|status`` talk to a running service.

``lakehouse up`` and ``lakehouse loader`` hold the DuckDB warehouse (dbt's connection stays open
between builds), so a second process cannot build into it. Instead the service listens on a
loopback port for a few commands, and the commands find it through ``control.json`` in the
lakehouse's private folder (``dados/_lakehouse``): its address, its process id, and a random
bearer token, in a file only the owner can read (0600), rewritten at each start and removed at
exit. A request without that token is refused (401), as the ingest API refuses one without its.

* ``POST /v1/build`` (a :class:`~transform.session.BuildRequest` as JSON): the build runs on the
  service's builder thread, between event builds, with the warm dbt; the answer is the
  :class:`~transform.session.BuildResult`.
* ``POST /v1/docs``: ``dbt docs generate`` in the service (the real warehouse's catalog), then
  the published models annotated; the answer says where the site is.
* ``GET /v1/state``: what the builder is doing (pending tables, owed tables, the running build).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from lakehouse import Settings
from transform import Builder, BuildRequest, BuildResult

__all__ = [
    "Control",
    "ControlError",
    "build_command",
    "docs_command",
    "serve_control",
    "service_state",
]

log = logging.getLogger(__name__)

CONTROL_FILE = "control.json"
#: How long a command waits for the service to answer that it is there.
PROBE_TIMEOUT_S = 5.0
#: How long a build or docs request may take in the service.
REQUEST_TIMEOUT_S = 6 * 3600.0


class ControlError(RuntimeError):
    """The running service refused or failed a request."""


def control_file(settings: Settings) -> Path:
    return settings.meta_dir / CONTROL_FILE


# -- the service side ------------------------------------------------------------------------


@contextmanager
def serve_control(settings: Settings, builder: Builder) -> Iterator[str]:
    """Serve the control endpoint on a free loopback port while the block runs; its URL."""
    token = secrets.token_urlsafe(32)
    handler = type("Handler", (_Handler,), {"builder": builder, "token": token})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="lakehouse-control", daemon=True)
    thread.start()
    path = control_file(settings)
    _write_private(
        path,
        {
            "url": url,
            "token": token,
            "pid": os.getpid(),
            "target": settings.dbt_target,
            "dbt_project_dir": str(settings.dbt_project_dir),
            "started_at": time.time(),
        },
    )
    log.info("control endpoint on %s (%s)", url, path)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        try:
            if json.loads(path.read_text()).get("token") == token:  # ours, not a newer one's
                path.unlink()
        except (OSError, ValueError):
            pass


def _write_private(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as JSON readable by the owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(payload).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


class _Handler(BaseHTTPRequestHandler):
    builder: Builder
    token: str
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("control: " + format, *args)

    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self.path == "/v1/state":
            self._answer(200, {"pid": os.getpid(), "builder": self.builder.state()})
        else:
            self._answer(404, {"detail": f"no {self.path}"})

    def do_POST(self) -> None:
        if not self._authorised():
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or "{}")
        except ValueError as exc:
            self._answer(422, {"detail": f"the body is not JSON: {exc}"})
            return
        try:
            if self.path == "/v1/build":
                future = self.builder.request(BuildRequest.from_dict(body))
                self._answer(200, future.result(REQUEST_TIMEOUT_S).as_dict())
            elif self.path == "/v1/docs":
                from transform import generate_docs

                builder = self.builder
                docs = builder.call(lambda: generate_docs(builder.settings, builder.session()))
                target, count = docs.result(REQUEST_TIMEOUT_S)
                self._answer(200, {"target": str(target), "annotated": count})
            else:
                self._answer(404, {"detail": f"no {self.path}"})
        except Exception as exc:  # the command prints it; the service goes on
            log.exception("control: %s failed", self.path)
            self._answer(500, {"detail": f"{type(exc).__name__}: {exc}"})

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            return True
        self._answer(401, {"detail": "a bearer token from dados/_lakehouse/control.json needed"})
        return False

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# -- the command side ------------------------------------------------------------------------


@dataclass(frozen=True)
class Control:
    """A running service's control endpoint, as a command finds it."""

    url: str
    token: str
    pid: int
    target: str

    @classmethod
    def find(cls, settings: Settings) -> Control | None:
        """The service running on this lakehouse, if one answers (else ``None``)."""
        try:
            data = json.loads(control_file(settings).read_text())
            control = cls(str(data["url"]), str(data["token"]), int(data["pid"]), data["target"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not _alive(control.pid):
            return None  # left behind by a service that was killed
        try:
            control.state(timeout=PROBE_TIMEOUT_S)
        except (httpx.HTTPError, ControlError):
            return None
        return control

    def state(self, *, timeout: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
        return self._call("GET", "/v1/state", None, timeout)

    def build(self, request: BuildRequest) -> BuildResult:
        answer = self._call("POST", "/v1/build", request.as_dict(), REQUEST_TIMEOUT_S)
        return BuildResult.from_dict(answer)

    def docs(self) -> tuple[Path, int]:
        answer = self._call("POST", "/v1/docs", {}, REQUEST_TIMEOUT_S)
        return Path(answer["target"]), int(answer["annotated"])

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None, timeout: float
    ) -> dict[str, Any]:
        response = httpx.request(
            method,
            self.url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=httpx.Timeout(timeout, connect=PROBE_TIMEOUT_S),
        )
        payload: dict[str, Any] = response.json()
        if response.status_code != 200:
            raise ControlError(f"the running service answered {response.status_code}: {payload}")
        return payload


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- the commands ----------------------------------------------------------------------------


def build_command(settings: Settings, request: BuildRequest, *, target: str | None = None) -> int:
    """``lakehouse build`` / ``retry``: in the running service when there is one, else here.

    ``target``: another dbt target than the settings' (a service builds into its own: a build
    for another target runs here).
    """
    from rich.console import Console

    from transform import print_result, run_build

    if target is not None and target != settings.dbt_target:
        return run_build(settings.model_copy(update={"dbt_target": target}), request)
    control = Control.find(settings)
    if control is None or control.target != settings.dbt_target:
        return run_build(settings, request)
    console = Console()
    console.print(f"sending the build to the running service (pid {control.pid}, {control.url})")
    try:
        result = control.build(request)
    except (httpx.HTTPError, ControlError) as exc:
        Console(stderr=True).print(f"[red]error:[/red] the running service: {exc}")
        return 1
    print_result(console, settings, result)
    return 0 if result.success else 1


def docs_command(settings: Settings, *, serve: bool, port: int, host: str) -> int:
    """``lakehouse docs``: generated by the running service when there is one, else here."""
    from rich.console import Console

    from transform import run_docs

    control = Control.find(settings)
    generated = None
    if control is not None and control.target == settings.dbt_target:
        Console().print(f"docs generated by the running service (pid {control.pid})")
        try:
            generated = control.docs()
        except (httpx.HTTPError, ControlError) as exc:
            Console(stderr=True).print(f"[red]error:[/red] the running service: {exc}")
            return 1
    return run_docs(settings, serve=serve, port=port, host=host, generated=generated)


def service_state(settings: Settings) -> dict[str, Any] | None:
    """What the running service says of itself (``lakehouse status``), or ``None``."""
    control = Control.find(settings)
    if control is None:
        return None
    try:
        return {"pid": control.pid, "url": control.url, **control.state()}
    except (httpx.HTTPError, ControlError):
        return None
