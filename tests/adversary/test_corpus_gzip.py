"""The text files of tests/data/MANIFEST.tsv gzipped (``<name>.gz``), through the real API and
the real loader in one pass: the same verdict as the plain file (loaded exactly, or refused with
the same kind, the API agreeing).

Found: a dropped ``.csv.gz`` whose records have another field count than the header crashed the
loader (``FileNotFoundError``: the reason was looked for in the inflated copy after it was
removed), so ``lakehouse load`` stopped there, while the API answered 400.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from adversary_support import Outcome, Refusal, Table, expected, manifest, mismatches, run

from lakehouse import Settings

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = [c for c in manifest(DATA) if not c["path"].endswith(".parquet")]
IDS = [c["path"] + ".gz" for c in CASES]


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> list[Outcome]:
    files = [
        (f"g{i}", Path(c["path"]).name + ".gz", gzip.compress((DATA / c["path"]).read_bytes()))
        for i, c in enumerate(CASES)
    ]
    by_table = run(module_lakehouse, files)
    return [by_table[f"g{i}"] for i in range(len(CASES))]


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_a_gzipped_file_has_the_plain_files_verdict(outcomes: list[Outcome], i: int) -> None:
    outcome = outcomes[i]
    plain = (DATA / CASES[i]["path"]).read_bytes()
    want = expected(Path(CASES[i]["path"]).name, plain)
    if isinstance(want, Refusal):
        assert outcome.refused is not None, f"loaded, but the rule refuses it ({want})"
        assert outcome.refused["kind"] == want.kind, outcome.refused
        assert 400 <= outcome.api_status < 500 and outcome.api_detail
        return
    assert isinstance(want, Table)
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    js = outcome.name.endswith((".json.gz", ".ndjson.gz", ".jsonl.gz"))
    assert mismatches(outcome.loaded_rows, want, js) == []
