"""A slow client cannot hold a worker: time limits on reading a request's headers and body.

* **Headers** (``api_header_timeout_s``): from the connection (or, on a kept-alive connection,
  from a request's first byte) to the end of its headers. A client that trickles its headers
  gets ``408`` and the connection is closed. uvicorn has no such limit (its keep-alive timer
  stops at the first byte), so :func:`http_protocol` gives it a protocol class that has one.
* **Body** (``api_body_timeout_s``): the longest wait for the next piece of a request body.
  :class:`BodyTimeoutMiddleware` answers ``408`` (``Connection: close``) when it passes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STATUS_408 = b"HTTP/1.1 408 Request Timeout\r\n"


class BodyTimeoutMiddleware:
    """Pure ASGI middleware: 408 when the next piece of a request body takes too long."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:  # after the body: waiting for a disconnect is not reading
                return await receive()
            try:
                with anyio.fail_after(self.timeout_s):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(
                    status.HTTP_408_REQUEST_TIMEOUT,
                    f"the request body stalled for {self.timeout_s:g}s (api_body_timeout_s)",
                    headers={"Connection": "close"},
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await self.app(scope, timed_receive, send)


def http_protocol(header_timeout_s: float) -> type[asyncio.Protocol] | str:
    """uvicorn's httptools protocol with a header time limit (``"auto"`` without httptools)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn[standard] installs httptools
        return "auto"

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:  # the next request on a kept-alive connection
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            detail = (
                f'{{"detail": "the request headers took longer than {header_timeout_s:g}s '
                f'(api_header_timeout_s)"}}'
            ).encode()
            self.transport.write(
                _STATUS_408
                + b"content-type: application/json\r\n"
                + b"content-length: "
                + str(len(detail)).encode()
                + b"\r\nconnection: close\r\n\r\n"
                + detail
            )
            self.transport.close()

    return HeaderTimeoutProtocol
