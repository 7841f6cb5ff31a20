"""Commands that run several packages together: ``lakehouse up`` and ``lakehouse demo``.

They sit in ``app/``, above the packages they compose (``tests/test_boundaries.py`` checks that
nothing below imports ``app``).
"""

from __future__ import annotations

import logging

from lakehouse import Settings

log = logging.getLogger(__name__)


def run_up(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    """The API in a thread, the loader and the builder in this one, until SIGINT/SIGTERM."""
    from app.service import run_loader
    from ingest import BackgroundServer

    host = host or settings.api_host
    port = settings.api_port if port is None else port
    with BackgroundServer(settings, host=host, port=port) as server:
        log.info("ingest API on %s (OpenAPI UI: %s/docs)", server.url, server.url)
        return run_loader(settings, build=True)


def run_demo(settings: Settings, *, rows: int) -> int:
    """The sample shop through the real API (loopback, a free port) and the landing zone."""
    from app.demo import ApiTarget
    from app.demo import run_demo as demo
    from ingest import BackgroundServer, TokenStore, create_token

    token = None
    if settings.mode != "development" or TokenStore.of(settings).tokens():
        # Tokens are required here: the demo issues its own (stored hashed, like any other).
        token = create_token(settings, scopes=["write", "read"], tables=[], name="lakehouse demo")
    with BackgroundServer(settings, host="127.0.0.1", port=0) as server:
        for chatty in ("uvicorn.access", "httpx"):  # one line per request drowns the story
            logging.getLogger(chatty).setLevel(logging.WARNING)
        return demo(settings, rows=rows, api=ApiTarget(server.url, token))
