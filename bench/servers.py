"""Servers the benchmarks (and the storage tests) start on loopback: a free port, a bounded wait
for a process to answer, and moto's S3 server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "ServerDidNotStart",
    "free_port",
    "moto_s3",
    "port_answers",
    "stop",
    "wait_until_up",
]


class ServerDidNotStart(RuntimeError):
    """A server that exited, or did not answer in time (its log's tail in the message)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_answers(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def wait_until_up(
    proc: subprocess.Popen[bytes], up: Callable[[], bool], what: str, timeout: float
) -> None:
    """Wait until ``up()`` holds; :class:`ServerDidNotStart` when ``proc`` exits first or
    ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not up():
        if proc.poll() is not None:
            raise ServerDidNotStart(f"{what} exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise ServerDidNotStart(f"{what} did not answer within {timeout:.0f} s")
        time.sleep(0.1)


@contextmanager
def moto_s3(log: Path | None = None, timeout: float = 30) -> Iterator[str]:
    """moto's S3 server on loopback (``moto[server]``, a dev dependency); yields its URL.

    Its output goes to ``log`` (discarded without one); a start that fails raises
    :class:`ServerDidNotStart` with the log's tail. Stopped (then killed) on exit.
    """
    port = free_port()
    with open(log or "/dev/null", "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_until_up(proc, lambda: port_answers(port), "moto's S3 server", timeout)
        except ServerDidNotStart as exc:
            tail = log.read_text(errors="replace")[-2000:] if log is not None else ""
            raise ServerDidNotStart(f"{exc}: {tail}") from None
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc, 10)


def stop(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Ask ``proc`` to end (SIGTERM), kill it after ``timeout`` seconds, and reap it."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
