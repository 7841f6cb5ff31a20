"""A file whose reading kills the loader's process is not read for ever: after the process ended
twice in a row while reading it (``loader.readmarks.READ_DEATHS``) the next pass quarantines it
unread (``killed_loader``), with that reason; one death lets it be read again (a restart).
*Before:* (until session 15) the restarted loader met the same file first and died again, at
every start: a crash loop, no table loading any more (review finding s14 revl 18: a 400 MiB JSON
record aborted the loader with std::bad_alloc). The deaths here are real: a loader process
killed (SIGKILL, as the kernel's out-of-memory killer does) while its mark says it reads the file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from adversary_support import lakehouse

from lakehouse.layout import quarantine_dir, raw_dir
from lakehouse.settings import Settings
from loader import Loader
from loader.readmarks import killed_reason

#: ~25 MB of CSV: its reading lasts well past the moment it is killed in, and is one piece
#: (chunk_rows, 1,000,000): a piece committed is progress, and would not count a death
ROWS = 900_000

_PASS = """
import sys
from pathlib import Path
sys.path.insert(0, "tests/adversary")
from adversary_support import lakehouse
from loader import Loader
Loader(lakehouse(Path(sys.argv[1]))).load_pending()
"""


def _landed(settings: Settings) -> Path:
    folder = raw_dir(settings, "t")
    folder.mkdir(parents=True)
    part = folder / ".slow.csv.part"
    with part.open("w") as f:
        f.write("id,name,amount\n")
        for start in range(0, ROWS, 100_000):
            f.write("".join(f"{i},name {i},{i}.25\n" for i in range(start, start + 100_000)))
    os.replace(part, folder / "slow.csv")
    return folder / "slow.csv"


def _mark(settings: Settings) -> dict[str, object] | None:
    try:  # written whole (renamed into place)
        return dict(json.loads((settings.meta_dir / "reading" / "t.json").read_text()))
    except FileNotFoundError:
        return None


def _killed_while_reading(settings: Settings, deaths: int) -> dict[str, object]:
    """A loader pass in a child, killed once its mark says it reads the file after ``deaths``
    deaths (the mark an earlier child left is not its own); the mark."""
    child = subprocess.Popen([sys.executable, "-c", _PASS, str(settings.root)])
    try:
        deadline = time.monotonic() + 120
        while (_mark(settings) or {}).get("deaths") != deaths:
            assert child.poll() is None, "the pass ended before it marked the file"
            assert time.monotonic() < deadline, "the file was never marked as being read"
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    mark = _mark(settings)
    assert mark is not None, "killed after the reading: no death while reading to count"
    return mark


@pytest.mark.slow
def test_a_file_the_loader_died_reading_twice_is_quarantined(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    path = _landed(settings)
    first = _killed_while_reading(settings, 0)
    assert (first["path"], first["deaths"]) == (str(path), 0)
    second = _killed_while_reading(settings, 1)
    assert (second["path"], second["deaths"]) == (str(path), 1)
    summary = Loader(settings).load_pending()
    assert summary.loaded == []
    assert [(q.file, q.kind, q.reason) for q in summary.quarantined] == [
        ("slow.csv", "killed_loader", killed_reason(2))
    ]
    errors = list(quarantine_dir(settings, "t").glob("*.error.json"))
    assert len(errors) == 1
    assert json.loads(errors[0].read_text())["kind"] == "killed_loader"
    assert not path.exists()
    assert not (settings.meta_dir / "reading" / "t.json").exists()


def test_one_death_lets_the_file_load(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    path = _landed(settings)
    assert _killed_while_reading(settings, 0)["path"] == str(path)
    summary = Loader(settings).load_pending()
    assert summary.quarantined == []
    assert sum(f.rows + f.resumed_at for f in summary.loaded) == ROWS
    assert not path.exists()
    assert not (settings.meta_dir / "reading" / "t.json").exists()
