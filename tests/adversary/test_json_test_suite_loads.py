"""nst/JSONTestSuite's ``y_`` and ``i_`` parsing cases (in ``../shared/data/badinput``; skipped
when absent) as landing files: each as it is (``.json``), and, when it is one JSON value, as
the value of a record (``{"v": ...}`` in a ``.json`` and an ``.ndjson`` file), plain and gzipped:
through the real API (``/files``) and the real loader in one pass. Each outcome is the rule's
(``adversary_support.expected``): bronze holds exactly the file's records, or the loader
refuses it with the rule's kind and the API answers a 4xx.

Slow (about 750 files, a minute or two): ``-m slow``. It found: records of only empty objects
(API 202, loader empty), an object value repeating a key (API 422, loader kept the last value),
refusal kinds that named the file's name instead of its bytes, and gzipped JSON files whose
bytes are not UTF-8 refused as unparseable (the reason was looked for after the inflated copy
was removed).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from adversary_support import Outcome, Refusal, Table, expected, mismatches, run

from lakehouse import Settings

pytestmark = pytest.mark.slow


def _files(folder: Path) -> list[tuple[str, bytes]]:
    files = []
    for path in sorted(folder.glob("[yi]_*.json")):
        data = path.read_bytes()
        files.append((path.name, data))
        try:
            json.loads(data)
        except ValueError:
            continue  # not one JSON value (Python's reading): no record to wrap it in
        value = data.strip()
        stem = path.name.removesuffix(".json")
        files.append((f"w_{stem}.json", b'{"v": ' + value + b"}\n"))
        one_line = value.replace(b"\r", b" ").replace(b"\n", b" ")
        files.append((f"w_{stem}.ndjson", b'{"v": ' + one_line + b"}\n"))
    files += [(name + ".gz", gzip.compress(data)) for name, data in files]
    return files


@pytest.fixture
def cases(shared_dir: Path) -> list[tuple[str, bytes]]:
    folder = shared_dir / "data" / "badinput" / "JSONTestSuite" / "test_parsing"
    if not folder.is_dir():
        pytest.skip("JSONTestSuite is absent")
    return _files(folder)


def test_every_case_is_loaded_exactly_or_refused_by_the_rule(
    cases: list[tuple[str, bytes]], module_lakehouse: Settings
) -> None:
    by_table = run(
        module_lakehouse, [(f"j{i}", name, data) for i, (name, data) in enumerate(cases)]
    )
    wrong = []
    for i, (name, data) in enumerate(cases):
        outcome: Outcome = by_table[f"j{i}"]
        plain = gzip.decompress(data) if name.endswith(".gz") else data
        want = expected(name.removesuffix(".gz"), plain)
        if isinstance(want, Refusal):
            refused = outcome.refused is not None and outcome.refused["kind"] == want.kind
            if not (refused and 400 <= outcome.api_status < 500):
                wrong.append((name, want.kind, outcome.api_status, outcome.refused))
            continue
        assert isinstance(want, Table)
        if outcome.api_status != 202 or outcome.refused is not None:
            wrong.append((name, "load", outcome.api_status, outcome.refused))
        elif outcome.loaded_rows is None or mismatches(outcome.loaded_rows, want, js=True):
            wrong.append((name, "exactly", outcome.loaded_rows))
    assert len(cases) > 700
    assert wrong == []
