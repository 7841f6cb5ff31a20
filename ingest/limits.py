"""Limits that protect the service: request rate per token and back-pressure on writes."""

from __future__ import annotations

import math
import shutil
import threading
import time
from dataclasses import dataclass

from lakehouse.heartbeat import read_heartbeat
from lakehouse.settings import Settings


class RateLimiter:
    """A token bucket per key: ``rate`` requests a second, bursts up to ``burst``.

    In memory, per process (one uvicorn worker); ``rate == 0`` turns it off.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float:
        """Take one request; return 0 if allowed, else the seconds to wait before retrying."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 100_000:  # forget idle keys rather than grow without end
                self._buckets.clear()
            return (1 - tokens) / self.rate

    def waiting(self, key: str, now: float | None = None) -> float:
        """Seconds until ``key`` may take a request (0: now), without taking one."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


@dataclass(frozen=True, slots=True)
class Pressure:
    reason: str
    retry_after_s: float


def back_pressure(settings: Settings) -> Pressure | None:
    """Why writes should wait now (disk nearly full, loader far behind), or None."""
    target = settings.raw_dir if settings.raw_dir.exists() else settings.landing_zone
    while not target.exists() and target != target.parent:
        target = target.parent
    free = shutil.disk_usage(target).free
    if free < settings.api_min_free_bytes:
        return Pressure(
            f"the landing zone's disk has {free} bytes free, below the "
            f"{settings.api_min_free_bytes} kept free",
            30.0,
        )
    beat = read_heartbeat(settings)
    if beat is not None and beat.age() <= settings.api_loader_stale_s:
        if beat.pending_files > settings.api_max_pending_files:
            return Pressure(f"the loader is {beat.pending_files} files behind", 5.0)
        if beat.pending_bytes > settings.api_max_pending_bytes:
            return Pressure(f"the loader is {beat.pending_bytes} bytes behind", 5.0)
    return None
