"""A slow client cannot hold a worker: headers that trickle and a body that stalls get 408 and
the connection closes, on a real server (uvicorn on loopback)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from api_support import make_settings
from waiting import wait_for

from ingest.server import BackgroundServer


def _read_all(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (bounded by ``timeout``)."""
    sock.settimeout(timeout)
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_trickled_headers_get_408_and_a_closed_connection(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_header_timeout_s=0.5)
    with (
        BackgroundServer(settings) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
    ):
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        answer = _read_all(sock, timeout=10)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"api_header_timeout_s" in answer
        assert time.monotonic() - started < 5


def test_a_stalled_body_gets_408(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_body_timeout_s=0.5)
    with (
        BackgroundServer(settings) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
    ):
        sock.sendall(
            b"POST /v1/tables/orders/records HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n"
            b'{"order_id": 1'
        )  # 14 of the 1000 bytes promised, then nothing
        answer = _read_all(sock, timeout=10)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"api_body_timeout_s" in answer
    assert (
        not list((settings.raw_dir / "orders").glob("*"))
        if (settings.raw_dir / "orders").exists()
        else True
    )


def test_a_normal_client_is_not_affected(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_header_timeout_s=0.5, api_body_timeout_s=0.5)
    with (
        BackgroundServer(settings) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
    ):
        for _ in range(2):  # two requests on one kept-alive connection
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(10)
            answer = wait_for(lambda: sock.recv(65536), 10, "the answer")
            assert answer.startswith(b"HTTP/1.1 200"), answer
            # the client idles longer than the header limit: idle time between requests is
            # the keep-alive timer's business, not a slow header
            time.sleep(0.7)
