"""A big CSV is hashed beside the reading of its first records: the same outcome as before.

``landing.Identifying`` hashes a big dropped CSV on a thread while the loader reads the records
that decide its columns' types; the identity (its batch id) is settled before anything of the
file is committed, archived or quarantined. These tests make every CSV take that path
(``HASH_BESIDE_BYTES`` 0) and check what the path must keep: refusals under the file's batch id,
an already loaded file skipped rather than refused, and files renamed over the path or written
to while hashed (the identity itself, exactly once by content and resuming after committed
pieces: ``test_loader_plumbing``, ``test_bronze_exactly_once``, both ways).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from loader_support import bronze, csv_rows, drop

from lakehouse import Settings
from lakehouse.layout import batch_id_of
from loader import Loader, landing, pieces
from loader.landing import identify


@pytest.fixture(autouse=True)
def _every_csv_hashed_beside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landing, "HASH_BESIDE_BYTES", 0)


def test_a_refused_file_is_quarantined_under_its_batch_id(settings: Settings) -> None:
    path = drop(settings, "t", "bad.csv", "a,b\n1,2\n3\n")
    batch_id = identify(settings, "t", path).batch_id

    summary = Loader(settings).load_pending()

    assert [(q.file, q.kind, q.batch_id) for q in summary.quarantined] == [
        ("bad.csv", "column_count", batch_id)
    ]
    error = json.loads((settings.quarantine_dir / "t" / "bad.csv.error.json").read_text())
    assert error["batch_id"] == batch_id and error["kind"] == "column_count"


def test_a_loaded_file_is_skipped_even_where_its_reading_would_now_be_refused(
    settings: Settings,
) -> None:
    drop(settings, "t", "a.csv.gz", csv_rows(2000))
    assert len(Loader(settings).load_pending().loaded) == 1
    drop(settings, "t", "a-again.csv.gz", csv_rows(2000))
    tight = settings.model_copy(update={"max_inflated_bytes": 100})  # the reading is refused

    summary = Loader(tight).load_pending()

    assert summary.quarantined == [] and [s.file for s in summary.skipped] == ["a-again.csv.gz"]
    assert (settings.archive_dir / "t" / "a-again.csv.gz").exists()
    assert bronze(settings, "t").num_rows == 2000


def _rename_over(path: Path, content: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(content)
    os.replace(tmp, path)


@pytest.mark.parametrize("streamed", [False, True], ids=["small", "streamed"])
def test_renamed_over_after_the_hash_opened_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    """B renamed over A once the hash has A open, before the reading opens the path: the
    reading holds B, the identity is A's; B must not go in under A's batch id."""
    a, b = csv_rows(3).encode(), csv_rows(2, start=100).encode()
    if streamed:  # every file streams in pieces of 2 rows
        monkeypatch.setattr(pieces, "SMALL_FILE_BYTES", 0)
        settings = settings.model_copy(update={"chunk_rows": 2})
    path = drop(settings, "t", "x.csv", a)
    real = landing.Identifying
    hooked = []

    class Renamed(real):  # type: ignore[misc,valid-type]
        def __init__(self, table: str, at: Path, rel: str = "") -> None:
            super().__init__(table, at, rel)
            if not hooked:
                hooked.append(at)
                _rename_over(at, b)

    monkeypatch.setattr(landing, "Identifying", Renamed)

    first = Loader(settings).load_pending()

    assert hooked and first.loaded == [] and first.quarantined == []
    assert path.read_bytes() == b  # B stays for its own pass
    Loader(settings).load_pending()
    drop(settings, "t", "again.csv", a)  # A arrives again: not taken for loaded
    Loader(settings).load_pending()
    table = bronze(settings, "t")
    ids, batches = table.column("id").to_pylist(), table.column("_batch_id").to_pylist()
    rows = sorted(zip(ids, batches, strict=True))
    assert [i for i, _ in rows] == [0, 1, 2, 100, 101]
    assert rows[0][1] != rows[-1][1]  # each under its own content's batch id
    assert not any((settings.raw_dir / "t").iterdir())


def test_written_while_hashed_is_left_for_its_own_pass(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = drop(settings, "t", "x.csv", csv_rows(3))
    real = landing._hashed
    calls = []

    def hashed(table: str, at: Path, *args: object) -> landing.LandingFile:
        if not calls:
            calls.append(at)
            _rename_over(at, csv_rows(2, start=100).encode())
        return real(table, at, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(landing, "_hashed", hashed)

    first = Loader(settings).load_pending()

    assert calls and first.loaded == [] and first.quarantined == [] and first.skipped == []
    assert path.exists()
    second = Loader(settings).load_pending()
    assert [f.file for f in second.loaded] == ["x.csv"]
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == [100, 101]


# -- NDJSON: hashed beside the reading of its first records too -------------------------------


def _ndjson_rows(n: int, start: int = 0, late: int | None = None) -> str:
    """``n`` records; record ``late`` (if any) holds a key no record before it has."""
    return "".join(
        json.dumps({"id": i, "name": f"n{i}", **({"extra": "x"} if i == late else {})}) + "\n"
        for i in range(start, start + n)
    )


def test_a_refused_ndjson_is_quarantined_under_its_batch_id(settings: Settings) -> None:
    path = drop(settings, "t", "bad.ndjson", '{"a": 1}\n[2]\n')
    batch_id = identify(settings, "t", path).batch_id

    summary = Loader(settings).load_pending()

    assert [(q.file, q.kind, q.batch_id) for q in summary.quarantined] == [
        ("bad.ndjson", "unparseable", batch_id)
    ]


def test_a_loaded_ndjson_is_skipped_even_where_its_reading_would_now_be_refused(
    settings: Settings,
) -> None:
    drop(settings, "t", "a.ndjson.gz", _ndjson_rows(2000))
    assert len(Loader(settings).load_pending().loaded) == 1
    drop(settings, "t", "a-again.ndjson.gz", _ndjson_rows(2000))
    tight = settings.model_copy(update={"max_inflated_bytes": 100})  # the reading is refused

    summary = Loader(tight).load_pending()

    assert summary.quarantined == [] and [s.file for s in summary.skipped] == ["a-again.ndjson.gz"]
    assert bronze(settings, "t").num_rows == 2000


@pytest.mark.parametrize("why", ["late key", "exact number"])
def test_an_ndjson_read_again_after_its_pieces_loads_once(settings: Settings, why: str) -> None:
    """Pieces committed, then the reading must start again (a key first seen late, a number
    DuckDB may not keep): the file's identity is settled first, its pieces rolled back, every
    record in once."""
    settings = settings.model_copy(update={"chunk_rows": 1000, "read_batch_rows": 1024})
    n = 30_000
    text = _ndjson_rows(n, late=25_000 if why == "late key" else None)
    if why == "exact number":
        text += json.dumps({"id": n, "name": "big"})[:-1] + ', "amount": 1e5}\n'
        n += 1
    path = drop(settings, "t", "big.ndjson", text)
    batch_id = identify(settings, "t", path).batch_id

    summary = Loader(settings).load_pending()

    assert [(f.file, f.batch_id) for f in summary.loaded] == [("big.ndjson", batch_id)]
    table = bronze(settings, "t")
    assert sorted(table.column("id").to_pylist()) == list(range(n))
    assert set(table.column("_batch_id").to_pylist()) == {batch_id}
    if why == "late key":
        assert table.column("extra").drop_null().to_pylist() == ["x"]
    else:
        assert table.column("amount").drop_null().to_pylist() == ["1e5"]


def test_an_ndjson_renamed_over_after_the_hash_opened_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _ndjson_rows(3).encode(), _ndjson_rows(2, start=100).encode()
    path = drop(settings, "t", "x.ndjson", a)
    real = landing.Identifying
    hooked = []

    class Renamed(real):  # type: ignore[misc,valid-type]
        def __init__(self, table: str, at: Path, rel: str = "") -> None:
            super().__init__(table, at, rel)
            if not hooked:
                hooked.append(at)
                _rename_over(at, b)

    monkeypatch.setattr(landing, "Identifying", Renamed)

    first = Loader(settings).load_pending()

    assert hooked and first.loaded == [] and first.quarantined == []
    assert path.read_bytes() == b  # B stays for its own pass
    Loader(settings).load_pending()
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == [100, 101]


def _hashes_alone(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths ``landing.Identifying`` hashes by reading the file itself (not fed)."""
    hashed_alone: list[Path] = []
    real = landing._hashed

    def hashed(table: str, at: Path, *args: object) -> landing.LandingFile:
        hashed_alone.append(at)
        return real(table, at, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(landing, "_hashed", hashed)
    return hashed_alone


def test_a_big_ndjson_is_read_once_for_its_hash_and_its_number_search(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The number search reads every byte of the file: it feeds the file's hash as it reads
    (the hash reads nothing itself), and the identity is the one ``identify`` gives."""
    hashed_alone = _hashes_alone(monkeypatch)
    path = drop(settings, "t", "big.ndjson", _ndjson_rows(5000))
    batch_id = batch_id_of(landing.content_identity("t", path), path.name)

    summary = Loader(settings).load_pending()

    assert [(f.file, f.batch_id) for f in summary.loaded] == [("big.ndjson", batch_id)]
    assert hashed_alone == []  # fed by the search
    assert sorted(bronze(settings, "t").column("id").to_pylist()) == list(range(5000))


@pytest.mark.parametrize("how", ["gzip", "bom", "exact"])
def test_an_ndjson_the_search_cannot_feed_is_hashed_alone(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A file whose search reads another file (a .gz's inflated copy, a copy without the
    byte-order mark) is hashed on its own; one whose search finds a number at risk (read again
    exactly) gets its identity all the same: the one ``identify`` gives, every record once."""
    hashed_alone = _hashes_alone(monkeypatch)
    text = _ndjson_rows(3000)
    if how == "exact":
        text += json.dumps({"id": 3000, "name": "big", "amount": 1e21}) + "\n"
    content = text.encode()
    if how == "bom":
        content = b"\xef\xbb\xbf" + content
    name = "big.ndjson.gz" if how == "gzip" else "big.ndjson"
    path = drop(settings, "t", name, content)
    batch_id = batch_id_of(landing.content_identity("t", path), path.name)

    summary = Loader(settings).load_pending()

    assert [(f.file, f.batch_id) for f in summary.loaded] == [(name, batch_id)]
    table = bronze(settings, "t")
    assert sorted(table.column("id").to_pylist()) == list(range(3001 if how == "exact" else 3000))
    if how != "exact":
        assert hashed_alone == [path]
