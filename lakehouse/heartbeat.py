"""The loader's heartbeat: a small JSON file it rewrites about once a second.

The API reads it for ``/ready`` (is a loader alive?) and for back-pressure (how far behind is it?).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lakehouse.settings import Settings


@dataclass(frozen=True, slots=True)
class Heartbeat:
    pid: int
    at: float  # time.time() of the beat
    pending_files: int  # files in the landing zone not yet loaded
    pending_bytes: int

    def age(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.at


def heartbeat_path(settings: Settings) -> Path:
    return settings.meta_dir / "loader.heartbeat.json"


def write_heartbeat(settings: Settings, *, pending_files: int, pending_bytes: int) -> None:
    """Atomically replace the heartbeat file."""
    path = heartbeat_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    beat = Heartbeat(os.getpid(), time.time(), pending_files, pending_bytes)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(beat)))
    os.replace(tmp, path)


def read_heartbeat(settings: Settings) -> Heartbeat | None:
    try:
        return Heartbeat(**json.loads(heartbeat_path(settings).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None
