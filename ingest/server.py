"""Serving the ingest API with uvicorn: blocking (``serve``), or in a thread."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from ingest.app import create_app
from ingest.timeouts import http_protocol
from lakehouse.settings import Settings
from lakehouse.signals import stop_on_signals


def _config(settings: Settings, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings, host=host),
        host=host,
        port=port,
        log_level="info",
        log_config=None,  # uvicorn's loggers go through ours (lakehouse.logs): one format
        server_header=False,
        proxy_headers=False,
        http=http_protocol(settings.api_header_timeout_s),  # a slow client cannot hold a worker
    )


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    """Serve until SIGINT or SIGTERM (what ``lakehouse api`` runs); 0 after a clean stop.

    uvicorn run in the main thread re-raises the signal it caught once it has shut down, so a
    ``docker stop`` would end as "killed by SIGTERM" (exit 143) although every request was
    finished. Here the server runs in a thread and this one waits for the signal.
    """
    with (
        stop_on_signals("the API") as stop,
        BackgroundServer(
            settings,
            host=host or settings.api_host,
            port=settings.api_port if port is None else port,
        ) as server,
    ):
        while not stop.wait(0.5):
            if not server.thread.is_alive():  # it stopped by itself: a failure
                return 1
    return 0


class BackgroundServer:
    """The API in a thread, for ``lakehouse up``, the demo and tests. ``port=0``: a free one.

    ``with BackgroundServer(settings) as server: httpx.get(server.url + "/health")``
    """

    def __init__(self, settings: Settings, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = uvicorn.Server(_config(settings, host, port))
        self.thread = threading.Thread(target=self.server.run, name="lakehouse-api", daemon=True)
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        sockets = [s for server in self.server.servers for s in server.sockets]
        self.port = sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
