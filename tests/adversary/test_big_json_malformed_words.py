"""A ``.json`` file past ``api_max_body_bytes`` whose text is no JSON: the API read it in
pieces (``ingest.jsonstream``) and named "(record N)" where the loader (msgspec over the whole
text) names none, and worded a trailing comma ("invalid character") and a string cut short
("Input data was truncated") otherwise; the same bodies under the bound agreed (before-stop
read B-06 of session 17). Now the API words a big file's malformed text as a small file's and
the loader's (``lakehouse.jsontext``). The bound is lowered to 1 MiB here, the first record
padded past it (as 17 MiB past the 16 MiB default)."""

from __future__ import annotations

import gzip
from pathlib import Path

from adversary_support import lakehouse, run

_PAD = b'{"p": "' + b"x" * (2 * 1024**2) + b'"}'

BODIES = {
    "unquoted_key": b"[" + _PAD + b", {a: 1}]",
    "cut_literal": b"[" + _PAD + b', {"v": nul}]',
    "object_unquoted_key": b'{"p": "' + b"x" * (2 * 1024**2) + b'", a: 1}',
    "single_quotes": b"[" + _PAD + b", {'a': 1}]",
    "cut_in_string": b"[" + _PAD + b', {"v": "]',
    "cut_short": b"[" + _PAD + b', {"v": 1}',
    "trailing_comma": b"[" + _PAD + b', {"v": 1},]',
    "lone_surrogate_in_array": b"[" + _PAD + b', {"v": ["\\ud800abc"]}]',
    "form_feed_inside": b"[" + b" " * (2 * 1024**2) + b"\x0c]",
}


def test_a_big_json_files_malformed_text_is_said_alike(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path, api_max_body_bytes=1024**2)
    inputs = [(f"big_{c}", "a.json", data) for c, data in BODIES.items()]
    inputs.append(("big_gz_trailing_comma", "a.json.gz", gzip.compress(BODIES["trailing_comma"])))
    outcomes = run(settings, inputs, rows=False)
    api = {c: (o.api_status, o.api_detail) for c, o in outcomes.items()}
    assert all(status == 400 for status, _ in api.values()), api
    loader = {
        c: o.refused and (o.refused["kind"], o.refused["reason"]) for c, o in outcomes.items()
    }
    assert loader == {c: ("unparseable", detail) for c, (_, detail) in api.items()}
