"""A byte that is not UTF-8 is named at one offset by the API (a real server on loopback) and
the loader: counted from the start of the file (or body) as sent, a byte-order mark included
(``docs/loading.md``, CSV and JSON). The API counted it from the start of the line (NDJSON) or
record (JSON) holding it: ``line 2: not UTF-8 at byte 8`` where the loader said ``byte 17``.
"""

from __future__ import annotations

import httpx
import pytest
from adversary_support import post_file

from ingest.filecheck import CHUNK
from lakehouse import Settings, dialect
from loader import Loader

_LINE = b'{"a": 1, "b": "' + b"x" * 100 + b'"}\n'

#: name → (file, bytes): each holds one byte that is not UTF-8 (\xff)
CASES: dict[str, tuple[str, bytes]] = {
    "ndjson_line_2": ("a.ndjson", b'{"a": 1}\n{"a": "x\xff"}\n'),
    "ndjson_bom": ("a.ndjson", dialect.BOM_UTF8 + b'{"a": 1}\n{"a": "x\xff"}\n'),
    "json_array_record_2": ("a.json", b'[{"a": 1},\n {"a": "x\xff"}]'),
    "json_bom": ("a.json", dialect.BOM_UTF8 + b'[{"a": 1},\n {"a": "x\xff"}]'),
    # past the first piece the API's file check reads (its offset in the file, not the piece)
    "ndjson_second_chunk": (
        "a.ndjson",
        _LINE * (CHUNK // len(_LINE) + 10) + b'{"a": "x\xff"}\n',
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_api_and_the_loader_name_the_same_byte(
    one_lakehouse: Settings, api: httpx.Client, case: str
) -> None:
    name, data = CASES[case]
    at = data.index(b"\xff")
    said = dialect.not_utf8_reason(at, json=not name.endswith((".csv", ".tsv", ".csv.gz")))
    r = post_file(api, "t", name, data)
    assert r.status_code == 400, r.text
    # the encoding refusal's words alone, as the loader's (review finding revc 09: the API
    # said "malformed JSON (line 2): not UTF-8 ...", an encoding refusal called malformed JSON)
    assert r.json()["detail"] == said, r.text
    raw = one_lakehouse.raw_dir / "t"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / name).write_bytes(data)
    refused = Loader(one_lakehouse).load_pending().quarantined
    assert [(q.kind, q.reason) for q in refused] == [("encoding", said)]


@pytest.mark.parametrize("case", ["ndjson_line_2", "ndjson_bom"])
def test_a_records_body_names_the_byte_from_its_start(api: httpx.Client, case: str) -> None:
    data = CASES[case][1]
    r = api.post(
        "/v1/tables/t/records", content=data, headers={"content-type": "application/x-ndjson"}
    )
    assert r.status_code == 400, r.text
    said = dialect.not_utf8_reason(data.index(b"\xff"), json=True)
    assert r.json()["detail"] == said  # until session 17 after "malformed JSON (line 2): "
