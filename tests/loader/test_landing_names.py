"""Landing file names the file system allows but the loader once could not move or record
(review findings audith 03 and 04): every pass raised, the file stayed in ``raw/`` and no other
table's file was loaded again.

- A name of up to 255 bytes (Linux's limit) loads or is quarantined like any other; its
  archived or quarantined copy gets a fitted name (``loader.landing.fitted_name``) whose
  sidecar's name fits, the sidecar keeps the name whole, and a replay restores it.
- A name that is not UTF-8 (a Latin-1 ``café.csv`` from a Windows share) is quarantined
  ``unsupported`` with a reason naming its bytes: bronze records each row's file name as text.
"""

from __future__ import annotations

import json
import os
import re

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from loader_support import bronze, drop

from lakehouse import Ledger, Settings
from loader import Loader, replay
from loader.landing import NAME_MAX, fitted_name

LONG = "y" * 247 + ".csv"  # 251 bytes


def _put(settings: Settings, table: str, name: str, data: bytes) -> None:
    """Written in place (a ``.part`` beside it, as ``drop`` writes, would pass 255 bytes)."""
    folder = settings.raw_dir / table
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def test_a_long_name_loads_and_is_archived_under_a_fitted_name(settings: Settings) -> None:
    _put(settings, "a_long", LONG, b"a,b\n1,2\n")
    drop(settings, "z_other", "ok.csv", "a,b\n1,2\n")
    summary = Loader(settings).load_pending()
    assert sorted(f.file for f in summary.loaded) == sorted([LONG, "ok.csv"])
    assert bronze(settings, "a_long").column("_source_file").to_pylist() == [LONG]
    assert bronze(settings, "z_other").num_rows == 1
    assert not any((settings.raw_dir / "a_long").iterdir())
    (archived,) = (settings.archive_dir / "a_long").iterdir()
    assert archived.name == fitted_name(LONG) and archived.name.endswith(".csv")
    assert archived.read_bytes() == b"a,b\n1,2\n"


def test_a_long_name_refused_is_quarantined_and_replayed_whole(settings: Settings) -> None:
    name = "x" * 247 + ".csv"
    _put(settings, "a_long", name, b"a,b\n1\n")
    drop(settings, "z_other", "ok.csv", "a,b\n1,2\n")
    summary = Loader(settings).load_pending()
    assert [q.file for q in summary.quarantined] == [name]
    assert [f.file for f in summary.loaded] == ["ok.csv"]
    folder = settings.quarantine_dir / "a_long"
    moved = folder / fitted_name(name)
    error = json.loads((folder / f"{moved.name}.error.json").read_text())
    assert error["file"] == name and error["kind"] == "column_count"
    # the name whole finds it too (it is quarantined under the fitted one)
    (named,) = replay(settings, f"a_long/{name}")
    assert named.moved_to == settings.raw_dir / "a_long" / name
    Loader(settings).load_pending()  # refused again: back under its fitted name
    (done,) = replay(settings, "a_long")
    assert done.moved_to == settings.raw_dir / "a_long" / name
    assert done.moved_to.read_bytes() == b"a,b\n1\n"
    assert done.history is not None and done.history.exists()


def test_a_name_that_is_not_utf8_is_quarantined_saying_so(settings: Settings) -> None:
    raw_name = os.fsdecode(b"caf\xe9.csv")
    _put(settings, "latin", raw_name, b"a,b\n1,2\n")
    folder = settings.raw_dir / "latin"
    drop(settings, "z_other", "ok.csv", "a,b\n1,2\n")
    summary = Loader(settings).load_pending()
    assert [f.file for f in summary.loaded] == ["ok.csv"]
    (refused,) = summary.quarantined
    assert refused.kind == "unsupported"
    assert "the file name is not UTF-8" in refused.reason and r"caf\xe9.csv" in refused.reason
    assert not any(folder.iterdir())
    assert (settings.quarantine_dir / "latin" / raw_name).read_bytes() == b"a,b\n1,2\n"
    # the ledger holds the batch, the name's bytes escaped (it holds text)
    batch = Ledger(settings.ledger_file).get_batch(refused.batch_id)
    assert batch is not None and batch.state == "quarantined", batch
    assert batch.source_file == r"caf\xe9.csv", batch


_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00")
NAMES = st.one_of(
    st.text(_CHARS, min_size=1),
    st.text(st.sampled_from("y-.aé€😀0f"), min_size=200, max_size=255),  # often past the limit
).filter(lambda n: len(n.encode()) <= 255)


@hsettings(max_examples=300, deadline=None)
@given(NAMES, NAMES)
def test_a_fitted_name_fits_and_keeps_what_it_can(name: str, other: str) -> None:
    fitted = fitted_name(name)
    assert len(os.fsencode(fitted)) <= NAME_MAX
    if len(name.encode()) <= NAME_MAX:
        assert fitted == name
        return
    # the last "-<16 hex>" is the mark: the kept end (at most 16 bytes) cannot hold one
    found = re.fullmatch(r"(.*)-[0-9a-f]{16}(.*)", fitted, re.S)
    assert found is not None, fitted
    head, end = found.groups()
    assert name.startswith(head) and name.endswith(end) and 0 < len(end.encode()) <= 16
    if other != name and len(other.encode()) > NAME_MAX:
        assert fitted_name(other) != fitted  # the hash of the whole name tells them apart


def test_the_long_names_of_one_stem_stay_apart() -> None:
    names = ["y" * 240 + f"{i:03d}.csv" for i in range(50)]
    fitted = {fitted_name(n) for n in names}
    assert len(fitted) == 50 and all(f.endswith(".csv") for f in fitted)
