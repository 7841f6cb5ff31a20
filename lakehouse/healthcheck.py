"""Container health checks: ``python -m lakehouse.healthcheck health|ready|loader|url URL``.

Each exits 0 when healthy and 1 (with one line on stderr saying why) when not, as Docker's
``HEALTHCHECK`` and compose's ``healthcheck.test`` expect. They read the same ``LAKEHOUSE_*``
settings as the service they check, need nothing but the standard library and the core, and
start in well under a second (no dbt, no FastAPI, no Delta):

* ``health``: the API answers ``GET /health`` (it is alive);
* ``ready``: the API answers ``GET /ready`` with 200 (landing zone writable, disk headroom, a
  loader alive);
* ``loader``: the loader's heartbeat file is fresher than ``api_loader_stale_s`` (the loader
  holds the landing zone and its heartbeat thread runs, also during a long load or build);
* ``url URL``: any HTTP URL answers 2xx (the docs site).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

from lakehouse.heartbeat import read_heartbeat
from lakehouse.settings import Settings

TIMEOUT_S = 4.0
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1", "[::]": "::1"}


def api_url(settings: Settings, path: str) -> str:
    """The URL of the API's ``path`` as seen from its own host (a wildcard bind → loopback)."""
    host = _WILDCARDS.get(settings.api_host, settings.api_host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}{path}"


def check_url(url: str, timeout: float = TIMEOUT_S) -> str | None:
    """None when ``url`` answers 2xx, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{url} did not answer: {reason}"
    return None if 200 <= status < 300 else f"{url} answered {status}"


def check_loader(settings: Settings) -> str | None:
    """None when the loader's heartbeat is fresh, else why not."""
    beat = read_heartbeat(settings)
    if beat is None:
        return "no loader heartbeat yet"
    age = beat.age()
    if age > settings.api_loader_stale_s:
        return f"the loader's heartbeat is {age:.0f}s old (limit {settings.api_loader_stale_s:g}s)"
    return None


def check(argv: Sequence[str], settings: Settings | None = None) -> str | None:
    """Run the check ``argv`` names; None when healthy, else why not."""
    what = argv[0] if argv else ""
    if what == "url" and len(argv) == 2:
        return check_url(argv[1])
    if len(argv) != 1 or what not in ("health", "ready", "loader"):
        raise SystemExit("usage: python -m lakehouse.healthcheck health|ready|loader|url URL")
    settings = settings or Settings()
    if what == "loader":
        return check_loader(settings)
    return check_url(api_url(settings, f"/{what}"))


def main(argv: Sequence[str] | None = None) -> int:
    why = check(sys.argv[1:] if argv is None else argv)
    if why is not None:
        print(f"unhealthy: {why}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
