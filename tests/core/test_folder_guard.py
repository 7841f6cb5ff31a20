"""lakehouse.signals.FolderGuard: a running service stops when its folders are removed, also when
one of its own threads makes a new folder of the same name before the guard looks again."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from waiting import wait_for

from lakehouse.signals import FolderGuard


def _guarded(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "dados"
    return data, data / "_lakehouse"


def test_a_folder_removed_and_made_again_at_once_counts_as_removed(tmp_path: Path) -> None:
    data, meta = _guarded(tmp_path)
    stop = threading.Event()
    with FolderGuard([meta, data], stop, every_s=0.05) as guard:
        assert not stop.is_set()
        shutil.rmtree(data)
        # what the loader's heartbeat does a moment later: its folder made again, parents too
        meta.mkdir(parents=True)
        (meta / "loader.heartbeat.json").write_text("{}")
        assert wait_for(stop.is_set, 30, "the guard to see the removal")
    assert guard.gone in (meta, data)


def test_a_folder_moved_away_counts_as_removed(tmp_path: Path) -> None:
    data, meta = _guarded(tmp_path)
    stop = threading.Event()
    with FolderGuard([meta, data], stop, every_s=0.05) as guard:
        data.rename(tmp_path / "dados.old")
        data.mkdir()
        assert wait_for(stop.is_set, 30, "the guard to see the move")
    assert guard.gone in (meta, data)


def test_a_folder_replaced_by_a_file_counts_as_removed(tmp_path: Path) -> None:
    data, meta = _guarded(tmp_path)
    stop = threading.Event()
    with FolderGuard([meta], stop, every_s=0.05) as guard:
        shutil.rmtree(data)
        data.write_text("not a folder")
        assert wait_for(stop.is_set, 30, "the guard to see the file")
    assert guard.gone == meta
