"""DuckDB running out of memory while reading a JSON file is the machine's trouble, not the
file's: the file is not quarantined (a review found it refused as "unparseable", an untrue
reason), it stays in the landing zone, and loads once memory allows."""

from __future__ import annotations

import json

from loader_support import bronze, drop

from lakehouse.settings import Settings
from loader.loading import Loader


def test_a_file_duckdb_has_no_memory_for_stays_and_loads_later(settings: Settings) -> None:
    body = "".join(
        json.dumps({"id": i, "s": "x" * 3000, f"k{i % 500}": 1}) + "\n" for i in range(6000)
    )
    drop(settings, "t", "f.ndjson", body)
    starved = settings.model_copy(update={"duckdb_memory_limit": "2MB"})
    held = Loader(starved).load_pending().held  # the pass goes on: the file is held
    assert [h.file for h in held] == ["f.ndjson"] and "Out of Memory" in held[0].reason, held
    assert not (settings.quarantine_dir / "t").exists() or not any(
        (settings.quarantine_dir / "t").iterdir()
    )
    assert (settings.raw_dir / "t" / "f.ndjson").is_file()
    done = Loader(settings).load_pending()
    assert [f.rows for f in done.loaded] == [6000] and not done.quarantined
    assert bronze(settings, "t").num_rows == 6000
