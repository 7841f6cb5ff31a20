"""The peers' environment: a throwaway venv under bench/out/peers, never the product's.

Its packages are pinned in ``bench/peers/requirements.txt`` and installed from the registry with
``uv`` on first use (the only thing the benchmark downloads). The peers' scripts run with its
interpreter in a subprocess and print their measures as one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.harness import REPO

PEERS = REPO / "bench" / "peers"
VENV = REPO / "bench" / "out" / "peers"


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    return found


def python() -> Path:
    """The peers' interpreter, its venv made and its requirements installed when needed."""
    interpreter = VENV / "bin" / "python"
    requirements = PEERS / "requirements.txt"
    stamp = VENV / ".requirements"
    if interpreter.exists() and stamp.exists() and stamp.read_text() == requirements.read_text():
        return interpreter
    shutil.rmtree(VENV, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    subprocess.run(
        [_uv(), "venv", "--quiet", "--python", sys.executable, str(VENV)], check=True, env=env
    )
    subprocess.run(
        [_uv(), "pip", "install", "--quiet", "--python", str(interpreter), "-r", str(requirements)],
        check=True,
        env=env,
    )
    stamp.write_text(requirements.read_text())
    return interpreter


def versions() -> dict[str, str]:
    out = subprocess.run(
        [
            str(python()),
            "-c",
            "import json, dlt, deltalake; print(json.dumps("
            "{'dlt': dlt.__version__, 'deltalake (dlt venv)': deltalake.__version__}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, str] = json.loads(out.stdout)
    return result


def dlt_load(mode: str, source: Path, work: Path) -> dict[str, Any]:
    """One dlt load of ``source`` into a fresh Delta table under ``work`` (``arrow``/``dicts``)."""
    dest = work / f"dlt-{mode}"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "LAKEHOUSE_"))}
    done = subprocess.run(
        [str(python()), str(PEERS / "dlt_load.py"), mode, str(source), str(dest)],
        capture_output=True,
        text=True,
        env=env,
        cwd=dest,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dlt {mode} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    shutil.rmtree(dest, ignore_errors=True)
    return result
