"""The API applies the landing dialect (lakehouse.dialect, docs/loading.md) to files and records:
it takes what the loader loads, and refuses with a 4xx that says why what the loader refuses."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from api_support import landed, make_settings, write_dbt_project
from fastapi.testclient import TestClient

from ingest import create_app
from lakehouse import Settings

FREE = "/v1/tables/free/files"
ORDERS = "/v1/tables/orders/files"
OCTET = {"content-type": "application/octet-stream"}


def post(client: TestClient, name: str, data: bytes, url: str = FREE) -> tuple[int, str]:
    r = client.post(f"{url}?filename={name}", content=data, headers=OCTET)
    return r.status_code, r.text


@pytest.mark.parametrize(
    ("name", "data", "records"),
    [
        ("utf16.csv", "\ufeffid,name\n1,ação\n".encode("utf-16-le"), 1),
        ("utf16be.csv", "\ufeffid,name\n1,ação\n2,b\n".encode("utf-16-be"), 2),
        ("bom.csv", b"\xef\xbb\xbfid,name\r\n1,Mark\r\n", 1),
        ("bom.json", b'\xef\xbb\xbf[{"id": 1, "name": "x"}]', 1),
        ("bom.ndjson", b'\xef\xbb\xbf{"id": 1}\n{"id": 2}\n', 2),
        ("bom_lines.json", b'\xef\xbb\xbf{"id": 1}\n{"id": 2}\n', 2),
        ("semi.csv", b"a;b;c\n1;2;3\n4;5;6\n", 2),
        ("pipe.csv", b"a|b\n1|x,y\n", 1),
        ("crlf_mixed.csv", b'id,text\r\n1,"line one\nline two"\r\n2,plain\n', 2),
        ("cr.csv", b"a,b\r1,2\r3,4\r", 2),
        ("hash.csv", b"id,name\n1,alice\n#2,bob\n3,carol\n", 3),
        ("na.csv", b"country,code\nNA,1\nPT,2\nNULL,3\nN/A,4\n", 4),
        ("spaces.csv", b" barks,dog\n 2,3 \n", 1),
        ("one_column_blank.csv", b"col\n1\n\n3\n", 3),  # a blank line: one null field
        ("blank_lines.csv", b"a,b\r\n1,2\r\n\r\n3,4\r\n\r\n", 2),  # no record in 2 columns
        ("quoted_empty.csv", b'a,b\n"",\n', 1),
        ("keys.ndjson", "".join(f'{{"id": {i}, "p{i}": {i}}}\n' for i in range(30)).encode(), 30),
        ("wide.json", b'[{"n": 99999999999999999999}, {"n": 1.0000000000000000001}]', 2),
    ],
)
def test_what_the_loader_loads_is_taken(
    client: TestClient, api_settings: Settings, name: str, data: bytes, records: int
) -> None:
    status, text = post(client, name, data)
    assert status == 202, text
    assert client.app is not None
    [path] = landed(api_settings, "free")
    assert path.read_bytes() == data  # as sent
    assert f'"records":{records}' in text


@pytest.mark.parametrize(
    ("name", "data", "status", "says"),
    [
        ("latin1.csv", "id,name\n1,José\n".encode("latin-1"), 400, "not UTF-8 at byte 13"),
        ("late_latin1.csv", b"id,name\n" + b"1,a\n" * 5000 + b"2,\xe9\n", 400, "at byte 20010"),
        ("utf16.json", '\ufeff[{"a": 1}]'.encode("utf-16-le"), 400, "not UTF-8 at byte 0"),
        ("dup.csv", b"id,id\n1,2\n", 422, "repeats column 'id'"),
        ("case.csv", b"ID,id\n1,2\n", 422, "differs only by case"),
        ("blank_name.csv", b"a,,c\n1,2,3\n", 422, "blank name"),
        ("nul_name.csv", b"a,b\x00c\n1,2\n", 422, "control character"),
        ("reserved.csv", b"id,_batch_id\n1,2\n", 422, "reserved"),
        ("short_row.csv", b"a,b\n1,2\n3\n", 400, "line 3 has 1 field, the header has 2"),
        ("long_row.csv", b"a,b\n1,2,3\n", 400, "line 2 has 3 fields"),
        ("after_break.csv", b'a,b\n1,"x\ny"\n3\n', 400, "line 4 has 1 field"),
        ("broken_row.csv", b'a,b\n1,"x\r\ny",3\n', 400, "line 2 has 3 fields"),
        ("late_quote.csv", b'a,b\n1,"x\ny"\n3,"x"y\n', 400, "line 4: text after a closing quote"),
        ("after_quote.csv", b'a,b\n1,"x"y\n', 400, "line 2: text after a closing quote"),
        ("open_quote.csv", b'a,b\n1,"x\n2,3\n', 400, "line 2: a quoted field is never closed"),
        ("header_only.csv", b"a,b\n", 422, "a header and no rows"),
        ("header_blank.csv", b"a,b\n\n\n", 422, "a header and no rows"),
        ("empty_keys.ndjson", b'{"": 1}\n', 422, "blank name"),
        ("blank.ndjson", b"\n\r\n \n", 422, "holds no records"),
        ("blank.json", b"\xef\xbb\xbf\n\n", 422, "holds no records"),
        ("case_keys.ndjson", b'{"a": 1}\n{"A": 2}\n', 422, "differs only by case"),
        ("many_keys.json", ("[{" + ",".join(f'"k{i}": 1' for i in range(5000)) + "}]").encode(),
         422, "at most 4096"),
    ],
)  # fmt: skip
def test_what_the_loader_refuses_is_refused_saying_why(
    client: TestClient, api_settings: Settings, name: str, data: bytes, status: int, says: str
) -> None:
    code, text = post(client, name, data)
    assert code == status, text
    assert says in text
    assert landed(api_settings, "free") == []


CONTRACT_HEAD = "order_id,customer_id,currency,ordered_at,amount,quantity\n"


@pytest.mark.parametrize(
    ("row", "fields"),
    [
        ("1,2,NA,2024-05-01 12:00:00,1.5,3", set()),  # NA is text: a currency, present
        ('1,2,"",2024-05-01 12:00:00,1.5,3', set()),  # "" is the empty text, present
        ("1,2,,2024-05-01 12:00:00,1.5,3", {"currency"}),  # unquoted empty: null, required
        ("NA,2,EUR,2024-05-01 12:00:00,1.5,3", {"order_id"}),  # NA is no bigint
        ("00077,2,EUR,2024-05-01 12:00:00,1.5,3", {"order_id"}),
        ("0x1F,1_000,EUR,2024-05-01 12:00:00,1.5,3", {"order_id", "customer_id"}),
        ("1,2,EUR,2024-05-01 12:00:00,1.005,3", {"amount"}),
        ("1,2,EUR,2024-05-01 12:00:00, 2,3", {"amount"}),  # a space is data
        ("1,2,EUR,2024-05-01 12:00:00,1e3,40000", {"amount", "quantity"}),
        ("1,2,EUR,03/04/2024 12:00,1,3", {"ordered_at"}),
        ("1,2,EUR,2024-05-01T12:00:00+02:00,1,3", set()),
    ],
)
def test_contract_types_by_the_same_fits(client: TestClient, row: str, fields: set[str]) -> None:
    code, text = post(client, "o.csv", (CONTRACT_HEAD + row + "\n").encode(), ORDERS)
    if not fields:
        assert code == 202, text
        return
    assert code == 422, text
    assert {e["field"] for e in json.loads(text)["detail"]} == fields


@pytest.mark.parametrize(
    ("record", "fields"),
    [
        ('"currency": "NA"', set()),
        ('"currency": null', {"currency"}),
        ('"currency": "EUR", "amount": "12.50"', {"amount"}),  # a string is no number
        ('"currency": "EUR", "amount": 1.005', {"amount"}),
        ('"currency": "EUR", "amount": 1e2', {"amount"}),
        ('"currency": "EUR", "order_id": "007"', {"order_id"}),
        ('"currency": "EUR", "order_id": -0', {"order_id"}),
        ('"currency": "EUR", "order_id": true', {"order_id"}),
        ('"currency": "EUR", "order_id": [1]', {"order_id"}),
        ('"currency": "EUR", "is_gift": "true"', {"is_gift"}),  # nor a boolean
        ('"currency": "EUR", "is_gift": 1', {"is_gift"}),
    ],
)
def test_records_contract_by_the_same_fits(
    client: TestClient, record: str, fields: set[str]
) -> None:
    body = '{"order_id": 1, "customer_id": 2, "ordered_at": "2024-05-01T12:00:00Z", '
    body = body.replace('"order_id": 1, ', "") if '"order_id"' in record else body
    body += record + "}\n"
    r = client.post(
        "/v1/tables/orders/records",
        content=body.encode(),
        headers={"content-type": "application/x-ndjson"},
    )
    if not fields:
        assert r.status_code == 202, r.text
        return
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["detail"]} == fields


def test_records_land_exactly_what_was_sent(client: TestClient, api_settings: Settings) -> None:
    body = b'{"n": 1.0000000000000000001, "m": 99999999999999999999, "t": " 2", "z": 1E+2}\n'
    r = client.post(
        "/v1/tables/free/records", content=body, headers={"content-type": "application/x-ndjson"}
    )
    assert r.status_code == 202, r.text
    assert landed(api_settings, "free")[0].read_bytes() == body


def test_skip_lines_from_the_contract(tmp_path: Path) -> None:
    sources = """\
version: 2
sources:
  - name: bronze
    tables:
      - name: report
        config:
          meta: {skip_lines: 1}
        columns:
          - name: id
            data_type: bigint
"""
    project = write_dbt_project(tmp_path / "other", sources)
    settings = make_settings(tmp_path, dbt_project_dir=project)
    with TestClient(create_app(settings)) as c:
        code, text = post(c, "r.csv", b"Monthly report\nid,name\n1,a\n", "/v1/tables/report/files")
        assert code == 202, text
        assert '"records":1' in text
        code, text = post(c, "r.csv", b"Monthly report\nid,name\nx,a\n", "/v1/tables/report/files")
        assert code == 422 and "does not fit BIGINT" in text


def test_gzip_csv_by_the_same_rule(client: TestClient) -> None:
    code, text = post(client, "g.csv.gz", gzip.compress(b"a,b\n1,2\n3\n"))
    assert code == 400 and "line 3 has 1 field" in text


def test_names_are_checked_over_the_whole_ndjson_file(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.filecheck

    monkeypatch.setattr(ingest.filecheck, "CHUNK", 64)  # many pieces
    data = b'{"a": 1}\n' * 20 + b'{"A": 2}\n'
    code, text = post(client, "pieces.ndjson", data)
    assert code == 422 and "differs only by case" in text


@pytest.mark.parametrize(
    ("table", "says"),
    [
        (pa.table({"id": [1], "ID": [2]}), "differs only by case"),
        (pa.table({"id": [1], "_source_file": ["x"]}), "reserved"),
        (pa.table({"": [1]}), "blank name"),
        (pa.table({"d": pa.array([1], pa.decimal256(40, 0))}), "the 38 a Delta decimal holds"),
    ],
)
def test_parquet_names_and_types_the_loader_refuses(
    client: TestClient, table: pa.Table, says: str
) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    code, text = post(client, "p.parquet", sink.getvalue())
    assert code == 422 and says in text, text
