"""A JSON or NDJSON file holding two problems in different records is refused for the same one,
in one set of words, by the API and the loader (review finding revc 02 of session 18; issue
#8): the one order of docs/loading.md (Refusals, ``lakehouse.jsonorder``): the records in
turn, the first failing one named (its text, then its kind, its nesting, a repeated key),
then the names over the union of keys, then no key at all.

Each file is good records ``{"a":1,"b":"x"}`` with two of the record problems below at
records 2 and 4, in either order (every ordered pair), as NDJSON lines and as a ``.json``
array; sent through the real API (``/files``) and the real loader in one pass
(``adversary_support.run``): both take it, or both refuse it, the loader's reason being the
API's words (its 422 list's record and column placed before the ``msg``, as
``test_refusal_words_sweep`` places them).

*Before:* (until session 19) 126 of these 840 files were named differently (counted by
revc's harness at 0597b79): a record nested too deep was judged by the API before every
record's text (``deep`` then ``{"a":1,"b":}``: the API's "line 2, column 'a': nested 601 levels
deep ...", the loader's "malformed JSON (line 4): ..."), by the loader after it; a name (a
blank key, a control character, a reserved name, twins equal but for case) by the loader
first, from DuckDB's keys of its first 20,480 records, by the API after the records parse
(``{"a":NaN,...}`` then ``{"a":1,"":2}``: "malformed JSON (line 2) ..." and "column 3 has a
blank name ('')"); a repeated key by the loader before a later record's text, the API
parsing the whole text first; a later record's kind by the loader before an earlier
record's text.
"""

from __future__ import annotations

import gzip
import itertools
import os
from pathlib import Path

import pytest
from adversary_support import Outcome, lakehouse, run
from fastapi.testclient import TestClient
from test_refusal_words_sweep import api_words

from ingest.app import create_app

GOOD = b'{"a":1,"b":"x"}'

#: a record problem (or none: a number past float64, a NUL escaped, an empty object load)
PROBLEMS: dict[str, bytes] = {
    "malformed": b'{"a":1,"b":}',
    "not_object": b"5",
    "array_rec": b"[1,2]",
    "null_rec": b"null",
    "repeat_key": b'{"a":1,"a":2}',
    "repeat_inner": b'{"a":1,"b":{"k":1,"k":2}}',
    "lone_surrogate": b'{"a":1,"b":"\\ud800"}',
    "not_utf8": b'{"a":1,"b":"\xff"}',
    "blank_key": b'{"a":1,"":2}',
    "case_twin": b'{"a":1,"A":2}',
    "reserved": b'{"a":1,"_source_file":2}',
    "ctl_key": b'{"a":1,"b\\u0001":2}',
    "deep": b'{"a":' + b"[" * 600 + b"]" * 600 + b"}",
    "nul_in_string": b'{"a":1,"b":"x\\u0000y"}',
    "raw_ctl_in_string": b'{"a":1,"b":"x\x01y"}',
    "big_number": b'{"a":1e999999,"b":"x"}',
    "trailing_comma": b'{"a":1,"b":"x",}',
    "single_quote": b"{'a':1}",
    "nan": b'{"a":NaN,"b":"x"}',
    "bom_mid": b'\xef\xbb\xbf{"a":1,"b":"x"}',
    "empty_obj": b"{}",
}

#: one problem of each kind of the order, and a kind judged differently by each side before:
#: the default run's pairs (both orders); the slow run takes every pair of :data:`PROBLEMS`
SOME = ("malformed", "not_object", "repeat_key", "repeat_inner", "deep", "blank_key", "nan")


def _file(first: str, second: str, ndjson: bool) -> bytes:
    records = [GOOD, PROBLEMS[first], GOOD, PROBLEMS[second], GOOD]
    return b"\n".join(records) + b"\n" if ndjson else b"[" + b",\n".join(records) + b"]"


def _alike(outcomes: dict[str, Outcome]) -> list[tuple[str, object, object]]:
    """The files the API and the loader do not judge alike: (table, the API's, the loader's)."""
    differ: list[tuple[str, object, object]] = []
    for table, outcome in outcomes.items():
        if outcome.api_status == 202:
            if outcome.refused is not None or outcome.loaded_rows is None:
                differ.append((table, 202, outcome.refused))
            continue
        said = api_words(outcome, outcome.data)
        if outcome.refused is None or outcome.refused["reason"] != said:
            differ.append((table, said, outcome.refused and outcome.refused["reason"]))
    return differ


def _pairs_alike(root: Path, names: tuple[str, ...] | list[str]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
            mp.delenv(key)
        inputs = [
            (f"p_{first}__{second}_{ext}", f"a.{ext}", _file(first, second, ext == "ndjson"))
            for first, second in itertools.permutations(names, 2)
            for ext in ("ndjson", "json")
        ]
        outcomes = run(lakehouse(root), inputs, rows=False)
    assert _alike(outcomes) == []


def test_two_problems_in_json_records_are_named_alike(tmp_path: Path) -> None:
    """Every ordered pair of :data:`SOME` (84 files): one reason, by both."""
    _pairs_alike(tmp_path, SOME)


@pytest.mark.slow
def test_every_pair_of_json_record_problems_is_named_alike(tmp_path: Path) -> None:
    """Every ordered pair of :data:`PROBLEMS` (840 files, ~15 s)."""
    _pairs_alike(tmp_path, list(PROBLEMS))


def _lines(n: int, at: dict[int, bytes]) -> bytes:
    return b"".join(at.get(i, b'{"a":%d,"b":"x"}' % i) + b"\n" for i in range(n))


#: past the loader's first 20,480 records (``loader.readers.SAMPLE_RECORDS``), whose keys it
#: judged the names by
_PAST_SAMPLE = 25_000


@pytest.mark.parametrize("ext", ["ndjson", "json"])
def test_a_name_in_the_first_records_is_named_after_a_later_records_problem(
    tmp_path: Path, ext: str
) -> None:
    """A blank key in record 2, a line that is no JSON past the loader's first 20,480 records:
    the record's problem is named, by both, and a blank key past them after an earlier
    record's problem too: the answer does not depend on which records the loader's key list
    came from (*before:* the loader said "column 3 has a blank name ('')" of the first file,
    the API "malformed JSON (line 25000) ...")."""
    at = {1: PROBLEMS["blank_key"], _PAST_SAMPLE - 1: PROBLEMS["malformed"]}
    later = {1: PROBLEMS["repeat_key"], _PAST_SAMPLE - 1: PROBLEMS["blank_key"]}
    data = {"first": _lines(_PAST_SAMPLE, at), "later": _lines(_PAST_SAMPLE, later)}
    if ext == "json":
        data = {k: b"[" + b",".join(v.splitlines()) + b"]" for k, v in data.items()}
    outcomes = run(lakehouse(tmp_path), [(k, f"a.{ext}", v) for k, v in data.items()], rows=False)
    assert _alike(outcomes) == []
    first, later_one = outcomes["first"], outcomes["later"]
    assert first.refused is not None and later_one.refused is not None
    where = f"line {_PAST_SAMPLE}" if ext == "ndjson" else None
    if where is not None:
        assert first.refused["reason"] == (
            f"malformed JSON ({where}): JSON is malformed: invalid character (byte 11)"
        )
    else:
        assert first.refused["reason"].startswith("malformed JSON: JSON is malformed: ")
    place = "line 2" if ext == "ndjson" else "record 2"
    assert later_one.refused["reason"] == f"{place}: an object repeats the key 'a'"


def test_a_list_of_one_kind_of_errors_is_kept_when_it_opens_with_the_problem_named(
    tmp_path: Path,
) -> None:
    """Repeated keys in records 2 and 4: the one order names record 2's, which opens the API's
    422 list, so the list stays whole (both records' errors, as ``api_max_errors`` allows),
    and the loader names record 2's."""
    data = _file("repeat_key", "repeat_inner", ndjson=True)
    outcome = run(lakehouse(tmp_path), [("t", "a.ndjson", data)], rows=False)["t"]
    assert [(e["row"], e["field"], e["msg"]) for e in outcome.api_detail] == [
        (1, "a", "an object repeats the key 'a'"),
        (3, "b.k", "an object repeats the key 'k'"),
    ]
    assert outcome.refused is not None
    assert outcome.refused["reason"] == "line 2: an object repeats the key 'a'"


def test_two_problems_in_a_gzipped_json_file_are_named_alike(tmp_path: Path) -> None:
    """The same order of a gzipped file (the loader reads a ``.json`` again whole, inflated in
    its scratch folder): a name in record 2 beside a line that is no JSON in record 4, a
    record nested too deep beside a later one's text."""
    inputs = [
        (f"gz_{a}__{b}_{ext}", f"a.{ext}.gz", gzip.compress(_file(a, b, ext == "ndjson"), mtime=0))
        for a, b in (("blank_key", "nan"), ("deep", "malformed"))
        for ext in ("ndjson", "json")
    ]
    outcomes = run(lakehouse(tmp_path), inputs, rows=False)
    for outcome in outcomes.values():  # the API's words of the plain file
        outcome.data = gzip.decompress(outcome.data)
        outcome.name = outcome.name.removesuffix(".gz")
    assert _alike(outcomes) == []
    said = {t: o.refused and o.refused["reason"] for t, o in outcomes.items()}
    assert said["gz_blank_key__nan_ndjson"] == (
        "malformed JSON (line 4): JSON is malformed: invalid character (byte 5)"
    )
    assert said["gz_deep__malformed_json"] == (
        "record 2, column 'a': nested 601 levels deep; JSON records may nest at most 512 levels"
    )


_MEDIA = {"ndjson": "application/x-ndjson", "json": "application/json"}


def test_a_records_body_is_judged_in_the_order_of_a_file(tmp_path: Path) -> None:
    """A ``/records`` body of two problems is refused for the one a file of the same bytes is
    refused for, in the same words (*before:* a body's depth was judged before every record's
    text, its names after its records', as a file's were by the API until session 19)."""
    settings = lakehouse(tmp_path)
    pairs = [(a, b) for a, b in itertools.permutations(SOME, 2)]
    files = run(
        settings,
        [
            (f"f_{a}__{b}_{ext}", f"a.{ext}", _file(a, b, ext == "ndjson"))
            for a, b in pairs
            for ext in _MEDIA
        ],
        rows=False,
    )
    differ = []
    with TestClient(create_app(settings)) as client:
        for a, b in pairs:
            for ext, media in _MEDIA.items():
                r = client.post(
                    f"/v1/tables/r_{ext}/records",
                    content=_file(a, b, ext == "ndjson"),
                    headers={"content-type": media},
                )
                file = files[f"f_{a}__{b}_{ext}"]
                if (r.status_code, r.json().get("detail")) != (file.api_status, file.api_detail):
                    differ.append((a, b, ext, r.json().get("detail"), file.api_detail))
    assert differ == []
