"""A sender renames a new file over one the loader is at: the rows go in under their own batch.

The batch id of a dropped file is the hash of its bytes (exactly once by content). The loader
opens the path again to read it, and again to archive or quarantine it: a file renamed over it
in between (docs/loading.md allows "rename over the old one") must neither go in under the
older file's batch id (that content would then count as loaded, and never load) nor be archived
or quarantined in its place.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loader_support import bronze, drop

from lakehouse import Settings
from lakehouse.layout import raw_dir
from loader import Loader, landing, pieces


def _rows(settings: Settings) -> list[tuple[str, str]]:
    table = bronze(settings, "t")
    return sorted(
        zip(table.column("v").to_pylist(), table.column("_batch_id").to_pylist(), strict=True)
    )


def _parquet(values: list[str]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"v": values}), sink)
    return sink.getvalue().to_pybytes()


def _csv(values: list[str]) -> bytes:
    return ("v\n" + "".join(f"{v}\n" for v in values)).encode()


def _rename_over(path: Path, content: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def _once(monkeypatch: pytest.MonkeyPatch, name: str, after: Callable[..., None]) -> None:
    """Run ``after(*args)`` once, right after ``landing.<name>`` returns (identify) or right
    before it runs (retire, quarantine)."""
    real = getattr(landing, name)

    def hooked(*args: object, **kwargs: object) -> object:
        monkeypatch.setattr(landing, name, real)
        if name == "identify":
            found = real(*args, **kwargs)
            after(*args)
            return found
        after(*args)
        return real(*args, **kwargs)

    monkeypatch.setattr(landing, name, hooked)


@pytest.mark.parametrize("streamed", [False, True], ids=["small", "streamed"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_renamed_over_between_hash_and_read(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, fmt: str, streamed: bool
) -> None:
    make = _csv if fmt == "csv" else _parquet
    a, b = make(["a1", "a2", "a3"]), make(["b1", "b2"])
    if streamed:  # every file streams in pieces of 2 rows
        monkeypatch.setattr(pieces, "SMALL_FILE_BYTES", 0)
        settings = settings.model_copy(update={"chunk_rows": 2})
    path = drop(settings, "t", f"x.{fmt}", a)
    _once(monkeypatch, "identify", lambda _s, _t, p: _rename_over(p, b))

    first = Loader(settings).load_pending()  # hashed A, then B is renamed over it

    assert first.loaded == [] and first.quarantined == []
    assert path.read_bytes() == b  # B stays for its own pass
    Loader(settings).load_pending()
    drop(settings, "t", f"again.{fmt}", a)  # A arrives again: not taken for loaded
    Loader(settings).load_pending()
    rows = _rows(settings)
    assert [v for v, _ in rows] == ["a1", "a2", "a3", "b1", "b2"]
    ids = {v[0]: batch for v, batch in rows}
    assert ids["a"] != ids["b"]  # each under its own content's batch id
    assert not any(raw_dir(settings, "t").iterdir())


@pytest.mark.parametrize("loaded_files", ["archive", "delete"])
def test_renamed_over_after_the_read_is_not_archived(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, loaded_files: str
) -> None:
    settings = settings.model_copy(update={"loaded_files": loaded_files})
    path = drop(settings, "t", "x.csv", _csv(["a1"]))
    _once(monkeypatch, "retire", lambda _s, file: _rename_over(file.path, _csv(["b1"])))

    first = Loader(settings).load_pending()  # A committed; B renamed over before archiving

    assert [f.file for f in first.loaded] == ["x.csv"]
    assert path.read_bytes() == _csv(["b1"])  # B was neither archived nor deleted
    Loader(settings).load_pending()
    assert [v for v, _ in _rows(settings)] == ["a1", "b1"]
    assert not path.exists()


def test_renamed_over_a_refused_file_is_not_quarantined(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = drop(settings, "t", "x.csv", b"v\n")  # a header and no rows: refused
    _once(monkeypatch, "quarantine", lambda _s, file, _e: _rename_over(file.path, _csv(["b1"])))

    first = Loader(settings).load_pending()

    assert first.quarantined == [] and path.read_bytes() == _csv(["b1"])
    assert not (settings.quarantine_dir / "t").exists() or not any(
        (settings.quarantine_dir / "t").iterdir()
    )
    Loader(settings).load_pending()
    assert [v for v, _ in _rows(settings)] == ["b1"]
