"""Files in sub-folders of ``raw/<table>/`` (Hive partitions, an exporter's dated folders,
Spark's output folders) load, exactly once each, named by their path under ``raw/<table>/``;
writers' work folders (``_temporary/``) are left alone, their marker files (``_SUCCESS``) set
aside. *Before:* such files were neither loaded nor quarantined, and stayed pending for ever.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loader_support import bronze
from waiting import wait_for

from lakehouse import Settings
from lakehouse.layout import SOURCE_FILE, landing_in_flight
from lakehouse.maintenance import files_waiting
from lakehouse.status import collect_status
from loader import Loader
from loader.landing import replay


def _put(settings: Settings, rel: str, content: bytes) -> Path:
    """Write ``raw/t/<rel>`` under a temporary name, then rename it (as the loader's tests do)."""
    path = settings.raw_dir / "t" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return path


def _parquet(rows: dict[str, list[object]]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table(rows), out)
    return out.getvalue()


def _sources(settings: Settings) -> list[tuple[object, ...]]:
    table = bronze(settings, "t")
    return sorted(zip(table[SOURCE_FILE].to_pylist(), table["id"].to_pylist(), strict=True))


def test_sub_folder_files_load_once_named_by_their_path(settings: Settings) -> None:
    _put(settings, "top.csv", b"id\n1\n")
    _put(settings, "2024/01/a.csv", b"id\n2\n")
    # two part-0.parquet in two Hive partitions: two files; dt=... is not made a column
    _put(settings, "dt=2024-01-01/part-0.parquet", _parquet({"id": [3]}))
    _put(settings, "dt=2024-01-02/part-0.parquet", _parquet({"id": [4]}))
    _put(settings, "dt=2024-01-02/_SUCCESS", b"")
    _put(settings, "dt=2024-01-02/_committed_123", b'{"added":[]}')
    # a writer's work in progress, and Hadoop's hidden checksum file: never taken
    work = _put(settings, "_temporary/0/task_1/part-9.parquet", _parquet({"id": [9]}))
    crc = _put(settings, "dt=2024-01-01/.part-0.parquet.crc", b"crc")

    summary = Loader(settings).load_pending()

    assert sorted(f.file for f in summary.loaded) == [
        "2024/01/a.csv",
        "dt=2024-01-01/part-0.parquet",
        "dt=2024-01-02/part-0.parquet",
        "top.csv",
    ]
    assert _sources(settings) == [
        ("2024/01/a.csv", 2),
        ("dt=2024-01-01/part-0.parquet", 3),
        ("dt=2024-01-02/part-0.parquet", 4),
        ("top.csv", 1),
    ]
    assert "dt" not in bronze(settings, "t").column_names
    assert sorted((a.file, a.reason) for a in summary.set_aside) == [
        ("dt=2024-01-02/_SUCCESS", "a writer's marker file (_SUCCESS) holds no rows"),
        ("dt=2024-01-02/_committed_123", "a writer's marker file (_committed_123) holds no rows"),
    ]
    archived = sorted(p.name for p in (settings.archive_dir / "t").iterdir())
    assert archived == [
        "2024__01__a.csv",
        "dt=2024-01-01__part-0.parquet",
        "dt=2024-01-02___SUCCESS",
        "dt=2024-01-02___committed_123",
        "dt=2024-01-02__part-0.parquet",
        "top.csv",
    ]
    assert work.exists() and crc.exists()
    assert collect_status(settings)["pending_files"] == ["t/_temporary/0/task_1/part-9.parquet"]
    # a second pass finds nothing new
    again = Loader(settings).load_pending()
    assert not again.loaded and not again.quarantined and not again.skipped


def test_same_name_size_and_time_in_two_folders_are_two_files(settings: Settings) -> None:
    """Without content identity (table, name, size, mtime), the name is the path under
    ``raw/<table>/``: two ``part-0.csv`` alike in all else are two files."""
    settings = settings.model_copy(update={"dedup_by_content": False})
    first = _put(settings, "a/part-0.csv", b"id\n1\n")
    second = _put(settings, "b/part-0.csv", b"id\n1\n")
    stamp = first.stat().st_mtime_ns
    os.utime(second, ns=(stamp, stamp))

    summary = Loader(settings).load_pending()

    assert sorted(f.file for f in summary.loaded) == ["a/part-0.csv", "b/part-0.csv"]
    assert len({f.batch_id for f in summary.loaded}) == 2
    assert _sources(settings) == [("a/part-0.csv", 1), ("b/part-0.csv", 1)]


def test_sub_folder_file_quarantined_then_replayed_into_its_folder(settings: Settings) -> None:
    _put(settings, "2024/01/bad.csv", b"id,name\n1,a\n2\n")

    summary = Loader(settings).load_pending()

    assert [(q.file, q.kind) for q in summary.quarantined] == [("2024/01/bad.csv", "column_count")]
    moved = settings.quarantine_dir / "t" / "2024__01__bad.csv"
    error = json.loads(moved.with_name(f"{moved.name}.error.json").read_text())
    assert error["file"] == "2024/01/bad.csv" and error["kind"] == "column_count"

    (done,) = replay(settings, "t")
    assert done.moved_to == settings.raw_dir / "t" / "2024" / "01" / "bad.csv"
    assert done.moved_to.read_bytes() == b"id,name\n1,a\n2\n"


def test_a_waiting_sub_folder_file_counts(settings: Settings) -> None:
    """Upkeep keeps a table's watermarks while one of its files waits, in a sub-folder too;
    the builder waits for it."""
    path = _put(settings, "2024/01/a.csv", b"id\n1\n")
    assert files_waiting(settings, "t")
    assert landing_in_flight(settings) == path


@pytest.fixture(params=["inotify", "polling"])
def running(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Loader]:
    if request.param == "polling":
        settings = settings.model_copy(update={"force_polling": True, "poll_interval_s": 0.1})
    (settings.raw_dir / "t").mkdir(parents=True)
    loader = Loader(settings)
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            loader.run(stop)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield loader
    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive() and not errors


def test_watched_sub_folders_load(running: Loader, tmp_path: Path) -> None:
    settings = running.settings
    _put(settings, "2024/01/02/a.csv", b"id\n1\n")  # folders made while it watches
    outside = tmp_path / "export"  # a whole folder moved in, as Spark's commit does
    (outside / "dt=1").mkdir(parents=True)
    (outside / "dt=1" / "part-0.csv").write_bytes(b"id\n2\n")
    os.replace(outside, settings.raw_dir / "t" / "run1")

    def loaded() -> bool:
        try:
            return _sources(settings) == [("2024/01/02/a.csv", 1), ("run1/dt=1/part-0.csv", 2)]
        except Exception:  # no table yet
            return False

    wait_for(loaded, 20, "both sub-folder files in bronze")
