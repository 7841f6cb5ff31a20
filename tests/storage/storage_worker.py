"""A loader or an upkeep run in a process of its own, for the race and lease tests.

    python storage_worker.py load ROOT DADOS TABLE FILES ROWS TAG
        write FILES csv files of ROWS rows (ids TAG*1e6 + n) into its own landing zone, then
        load them one commit per file
    python storage_worker.py maintain ROOT DADOS TABLE ROUNDS
        compact + checkpoint + vacuum the bronze table ROUNDS times (once it exists)

Prints one JSON line with what it did; exits with ``os._exit`` (delta-rs can abort the
interpreter's teardown after a write).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def _settings(root: str, dados: str, **extra: object) -> object:
    from lakehouse import Settings

    return Settings(root=Path(root), dados=dados, batch_window_ms=0, **extra)


def load(root: str, dados: str, table: str, files: int, rows: int, tag: int) -> dict[str, object]:
    from lakehouse.layout import raw_dir
    from loader import Loader

    settings = _settings(root, dados, batch_max_files=1)
    folder = raw_dir(settings, table)  # type: ignore[arg-type]
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        first = tag * 1_000_000 + f * rows
        lines = ["id,worker"] + [f"{i},{tag}" for i in range(first, first + rows)]
        (folder / f"w{tag}_{f:04d}.csv").write_text("\n".join(lines) + "\n")
    summary = Loader(settings).load_pending()  # type: ignore[arg-type]
    return {"loaded": len(summary.loaded), "rows": summary.rows}


def maintain(root: str, dados: str, table: str, rounds: int) -> dict[str, object]:
    from lakehouse.layout import table_exists
    from lakehouse.maintenance import maintain_table

    settings = _settings(root, dados)
    deadline = time.monotonic() + 60
    while not table_exists(settings, "bronze", table):  # type: ignore[arg-type]
        if time.monotonic() > deadline:
            return {"error": "the table never appeared"}
        time.sleep(0.05)
    done = [maintain_table(settings, "bronze", table) for _ in range(rounds)]  # type: ignore[arg-type]
    return {"rounds": len(done), "compacted": sum(u.files_removed for u in done)}


def main(argv: list[str]) -> None:
    command, args = argv[0], argv[1:]
    if command == "load":
        out = load(args[0], args[1], args[2], int(args[3]), int(args[4]), int(args[5]))
    elif command == "maintain":
        out = maintain(args[0], args[1], args[2], int(args[3]))
    else:
        raise SystemExit(f"unknown command {command!r}")
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except BaseException as exc:
        import traceback

        traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1 if not isinstance(exc, SystemExit) else 2)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
