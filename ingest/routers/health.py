"""``/health`` (alive), ``/ready`` (able to take writes), ``/metrics`` (Prometheus). No auth."""

from __future__ import annotations

import os
import shutil
from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from ingest.deps import ContextDep
from lakehouse.heartbeat import read_heartbeat

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


def _writable(context: ContextDep) -> tuple[bool, str]:
    raw = context.settings.raw_dir
    probe = raw / f".ready.{os.getpid()}.tmp"
    try:
        raw.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return False, f"the landing zone is not writable: {exc.strerror}"
    return True, "the landing zone is writable"


@router.get("/ready", responses={503: {"description": "Not ready; the checks say why."}})
def ready(context: ContextDep) -> JSONResponse:
    settings = context.settings
    checks: dict[str, dict[str, Any]] = {}
    ok, detail = _writable(context)
    checks["landing_zone"] = {"ok": ok, "detail": detail}
    if ok:
        free = shutil.disk_usage(settings.raw_dir).free
        checks["disk"] = {"ok": free >= settings.api_min_free_bytes, "free_bytes": free}
    beat = read_heartbeat(settings)
    alive = beat is not None and beat.age() <= settings.api_loader_stale_s
    checks["loader"] = {
        "ok": alive or not settings.api_ready_requires_loader,
        "alive": alive,
        "pending_files": beat.pending_files if beat else None,
        "pending_bytes": beat.pending_bytes if beat else None,
        "heartbeat_age_s": round(beat.age(), 3) if beat else None,
    }
    is_ready = all(c["ok"] for c in checks.values())
    return JSONResponse(
        {"ready": is_ready, "checks": checks},
        status_code=status.HTTP_200_OK if is_ready else status.HTTP_503_SERVICE_UNAVAILABLE,
    )


@router.get("/metrics", response_class=Response)
def metrics(context: ContextDep) -> Response:
    return Response(context.metrics.render(), media_type=CONTENT_TYPE_LATEST)
