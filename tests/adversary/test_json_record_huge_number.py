"""A JSON record that is a number past float64 (``1e400``) where an object should be is no
object: the API answered 400 "Number out of range" (``/files`` and ``/records``, ``.json`` and
NDJSON) though bronze keeps such numbers (``{"a": 1e400}`` loads, as its text), while ``5`` in
the same place got 422 "a record must be a JSON object", the loader's reason (review finding
auditE 03). Inputs from akheron/jansson@a8b3c5999e test/suites/invalid/real-negative-overflow
and real-positive-overflow (MIT), as records of a ``.json`` array, and written here.
"""

from __future__ import annotations

import pytest
from adversary_support import run
from fastapi.testclient import TestClient

from ingest.app import create_app
from lakehouse import dialect
from lakehouse.settings import Settings

CASES = {
    "real_negative_overflow": ("a.json", b"[-123123e100000]\n"),
    "real_positive_overflow": ("a.json", b"[123123e100000]\n"),
    "second_record": ("a.json", b'[{"a": 1}, 1e400]'),
    "second_line": ("a.ndjson", b'{"a": 1}\n1e400\n'),
    "blank_before": ("a.ndjson", b'{"a": 1}\n \t-1e999\n'),
}
MEDIA = {"a.json": "application/json", "a.ndjson": "application/x-ndjson"}


def _no_object(detail: object) -> bool:
    return "a record must be a JSON object" in str(detail) and "out of range" not in str(detail)


@pytest.mark.parametrize("case", CASES)
def test_a_huge_number_for_a_record_is_no_object(module_lakehouse: Settings, case: str) -> None:
    name, data = CASES[case]
    outcome = run(module_lakehouse, [(case, name, data)], rows=False)[case]
    assert outcome.api_status == 422 and _no_object(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None and outcome.refused["kind"] == "unparseable"
    assert dialect.NOT_OBJECT in outcome.refused["reason"], outcome.refused
    with TestClient(create_app(module_lakehouse)) as client:
        r = client.post(
            f"/v1/tables/{case}_r/records", content=data, headers={"content-type": MEDIA[name]}
        )
    assert r.status_code == 422 and _no_object(r.json()["detail"]), r.text


def test_a_huge_number_in_a_record_is_kept(module_lakehouse: Settings) -> None:
    outcome = run(module_lakehouse, [("kept", "a.ndjson", b'{"a": 1e400}\n{"a": -1e999}\n')])
    assert outcome["kept"].api_status == 202, outcome["kept"].api_detail
    assert outcome["kept"].loaded_rows is not None
    assert sorted(r["a"] for r in outcome["kept"].loaded_rows) == ["-1e999", "1e400"]
