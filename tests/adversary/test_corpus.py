"""Real-world malformed files (tests/data, see its README) through the real API and loader.

Each file of ``tests/data/MANIFEST.tsv`` has a verdict decided by the documented rule
(``docs/loading.md``): ``load`` (bronze holds every row, each value exactly, and the API answers
202) or ``refuse`` (the loader quarantines it with the expected kind, and the API answers a 4xx
that says why). The blns strings are made into a CSV and an NDJSON file that must load exactly.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from adversary_support import Outcome, Refusal, Table, expected, manifest, mismatches, run

from lakehouse import Settings

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = manifest(DATA)
BLNS: list[str] = json.loads((DATA / "blns" / "blns.json").read_text())

#: Files the loader does not read by the rule yet (the lossless-bronze work in progress):
#: the verdict is right, the loader is wrong. Remove an entry when the loader gets it right
#: (strict: a case that starts passing fails until its entry goes).
LOADER_DEFECTS: dict[str, str] = {}


def blns_files() -> list[tuple[str, bytes]]:
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["n", "s"])
    writer.writerows([i, s] for i, s in enumerate(BLNS))
    ndjson = "".join(json.dumps({"n": i, "s": s}) + "\n" for i, s in enumerate(BLNS))
    return [("blns.csv", out.getvalue().encode()), ("blns.ndjson", ndjson.encode())]


def inputs() -> list[tuple[str, str, bytes]]:
    files = [(Path(c["path"]).name, (DATA / c["path"]).read_bytes()) for c in CASES]
    files += blns_files()
    return [(f"c{i}", name, data) for i, (name, data) in enumerate(files)]


IDS = [c["path"] for c in CASES] + ["blns/blns.csv", "blns/blns.ndjson"]
VERDICTS = [(c["expect"], c["rows"], c["kind"]) for c in CASES] + [("load", "515", "")] * 2


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> list[Outcome]:
    by_table = run(module_lakehouse, inputs())
    return [by_table[f"c{i}"] for i in range(len(IDS))]


def _defect(case_id: str) -> list[pytest.MarkDecorator]:
    why = LOADER_DEFECTS.get(case_id)
    return [pytest.mark.xfail(strict=True, reason=why)] if why else []


def _params() -> list[object]:
    return [pytest.param(i, marks=_defect(case_id), id=case_id) for i, case_id in enumerate(IDS)]


@pytest.mark.parametrize("i", range(len(IDS)), ids=IDS)
def test_the_verdict_is_the_rules(i: int) -> None:
    """The manifest's verdict is what the rule, read independently, says."""
    verdict, rows, kind = VERDICTS[i]
    name, data = inputs()[i][1:]
    got = expected(name, data)
    if verdict == "load":
        assert isinstance(got, Table), got
        assert len(got.rows) == int(rows)
    else:
        assert isinstance(got, Refusal), got
        assert got.kind == kind


@pytest.mark.parametrize("i", _params())
def test_the_loader_keeps_it_exactly_or_refuses_it(outcomes: list[Outcome], i: int) -> None:
    outcome = outcomes[i]
    verdict, _, kind = VERDICTS[i]
    want = expected(outcome.name, outcome.data)
    if verdict == "refuse":
        assert outcome.refused is not None, f"loaded, but the rule refuses it ({want})"
        assert outcome.refused["kind"] == kind, outcome.refused
        return
    assert outcome.refused is None, f"quarantined: {outcome.refused}"
    assert outcome.loaded_rows is not None, "nothing in bronze"
    assert isinstance(want, Table)
    js = outcome.name.endswith((".json", ".ndjson", ".jsonl"))
    assert mismatches(outcome.loaded_rows, want, js) == []


@pytest.mark.parametrize("i", range(len(IDS)), ids=IDS)
def test_the_api_takes_it_or_says_why_not(outcomes: list[Outcome], i: int) -> None:
    outcome = outcomes[i]
    verdict = VERDICTS[i][0]
    if verdict == "load":
        assert outcome.api_status == 202, outcome.api_detail
    else:
        assert 400 <= outcome.api_status < 500, outcome.api_status
        assert outcome.api_detail, "a 4xx must say why"
