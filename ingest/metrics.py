"""Prometheus metrics, one registry per app (no process-wide singletons), served at ``/metrics``.

Labels are route templates and status codes, never table names or tokens.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "lakehouse_api_requests",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lakehouse_api_request_seconds",
            "Request latency by route template.",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.bytes_in = Counter(
            "lakehouse_api_received_bytes", "Request body bytes landed.", registry=self.registry
        )
        self.records = Counter("lakehouse_api_records", "Records accepted.", registry=self.registry)
        self.batches = Counter(
            "lakehouse_api_batches", "Batches landed, by kind.", ["kind"], registry=self.registry
        )
        self.rejects = Counter(
            "lakehouse_api_rejects",
            "Requests refused, by reason.",
            ["reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times every HTTP request by its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - start)
            reason = {
                401: "unauthorized",
                403: "forbidden",
                409: "conflict",
                413: "too_large",
                415: "media_type",
                422: "invalid",
                429: "rate_limited",
                503: "back_pressure",
            }.get(status)
            if reason:
                self.metrics.rejects.labels(reason).inc()
