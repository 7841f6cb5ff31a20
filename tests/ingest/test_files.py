"""POST /v1/tables/{table}/files: formats, gzip, multipart, contract checks, file names."""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from api_support import landed, order
from fastapi.testclient import TestClient

from lakehouse import Ledger, Settings

FILES = "/v1/tables/orders/files"
CSV = (
    "order_id,customer_id,amount,currency,status,is_gift,ordered_at,quantity\n"
    "1,10,12.50,EUR,placed,true,2024-05-01T12:00:00Z,2\n"
    '2,11,3,EUR,"shipped, late",false,2024-05-01 13:00:00,\n'
)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_csv_lands_as_sent(client: TestClient, api_settings: Settings) -> None:
    r = client.post(FILES, content=CSV.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 202, r.text
    answer = r.json()
    assert answer["records"] == 2
    [path] = landed(api_settings, "orders")
    assert path.name == f"{answer['batch_id']}.csv"
    assert path.read_text() == CSV
    batch = Ledger(api_settings.ledger_file).get_batch(answer["batch_id"])
    assert batch is not None and batch.records == 2 and batch.bytes == len(CSV)


def test_csv_contract_errors(client: TestClient, api_settings: Settings) -> None:
    bad = CSV + "3,x,1,EUR,placed,false,2024-05-01T12:00:00Z,1\n"
    bad += "4,12,1,,placed,maybe,2024-05-01T12:00:00Z,1\n"
    r = client.post(FILES, content=bad.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 422, r.text
    found = {(e["row"], e["field"]) for e in r.json()["detail"]}
    assert found == {(2, "customer_id"), (3, "currency"), (3, "is_gift")}
    assert landed(api_settings, "orders") == []
    missing = "order_id,amount\n1,2\n"
    r = client.post(FILES, content=missing.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["detail"]} == {"customer_id", "currency", "ordered_at"}


def test_tsv_and_gzip_by_name(client: TestClient, api_settings: Settings) -> None:
    tsv = CSV.replace(",", "\t").replace('"shipped\t late"', "shipped")
    r = client.post(
        "/v1/tables/orders/files?filename=export.tsv.gz",
        content=gzip.compress(tsv.encode()),
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == 202, r.text
    [path] = landed(api_settings, "orders")
    assert path.name.endswith(".tsv.gz")
    assert gzip.decompress(path.read_bytes()).decode() == tsv


def test_ndjson_with_content_encoding(client: TestClient, api_settings: Settings) -> None:
    body = b"".join(
        b'{"order_id":%d,"customer_id":1,"currency":"EUR","ordered_at":"2024-01-01T00:00:00Z"}\n'
        % i
        for i in range(10)
    )
    r = client.post(
        FILES,
        content=gzip.compress(body),
        headers={"content-type": "application/x-ndjson", "content-encoding": "gzip"},
    )
    assert r.status_code == 202, r.text
    assert r.json()["records"] == 10
    assert landed(api_settings, "orders")[0].name.endswith(".ndjson.gz")


def test_json_array_file(client: TestClient) -> None:
    import orjson

    r = client.post(
        FILES,
        content=orjson.dumps([order(1), order(2)]),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 202 and r.json()["records"] == 2
    r = client.post(
        FILES,
        content=orjson.dumps([order(1, amount="lots")]),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "amount"


def test_parquet_raw_and_multipart(client: TestClient, api_settings: Settings) -> None:
    table = pa.Table.from_pylist([order(i) for i in range(5)])
    data = parquet_bytes(table)
    r = client.post(FILES, content=data, headers={"content-type": "application/vnd.apache.parquet"})
    assert r.status_code == 202 and r.json()["records"] == 5
    r = client.post(FILES, files={"file": ("orders.parquet", data, "application/octet-stream")})
    assert r.status_code == 202, r.text
    assert r.json()["filename"] == "orders.parquet"
    assert len(landed(api_settings, "orders")) == 2


def test_parquet_contract(client: TestClient) -> None:
    rows = [order(i) for i in range(3)]
    rows[1]["currency"] = None
    r = client.post(
        FILES,
        content=parquet_bytes(pa.Table.from_pylist(rows)),
        headers={"content-type": "application/vnd.apache.parquet"},
    )
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {
            "loc": ["body", 1, "currency"],
            "row": 1,
            "field": "currency",
            "msg": "no value (null) in a required column (the contract's not_null or primary_key)",
            "type": "missing",
        }
    ]
    wrong = pa.Table.from_pylist([order(1, customer_id="c1")])
    r = client.post(
        FILES,
        content=parquet_bytes(wrong),
        headers={"content-type": "application/vnd.apache.parquet"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "customer_id"


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"PAR1garbagePAR1", {"content-type": "application/vnd.apache.parquet"}, 400),
        (b"not gzip", {"content-type": "text/csv", "content-encoding": "gzip"}, 400),
        (b"a,b\n1,2\n", {"content-type": "text/plain"}, 415),
        (b"a,b\n1,2\n", {"content-type": "application/octet-stream"}, 415),  # no file name
        (b"", {"content-type": "text/csv"}, 422),
        (b"a,a\n1,2\n", {"content-type": "text/csv"}, 422),
        (b"a,b\n1,2,3\n", {"content-type": "text/csv"}, 400),
        (b"\xff\xfe,b\n1,2\n", {"content-type": "text/csv"}, 400),
    ],
)
def test_bad_files(
    client: TestClient, api_settings: Settings, content: bytes, headers: dict[str, str], status: int
) -> None:
    r = client.post("/v1/tables/things/files", content=content, headers=headers)
    assert r.status_code == status, r.text
    assert landed(api_settings, "things") == []  # no temporary left behind either


@pytest.mark.parametrize(
    ("filename", "status"),
    [
        ("data.csv.exe", 415),
        ("data.parquet.gz", 415),
        ("../../etc/passwd.csv", 400),
        ("..\\evil.csv", 400),
        (".hidden.csv", 400),
        ("a\x00b.csv", 400),
        ("a\u202egpj.csv", 400),  # right-to-left override
        ("a\uff0fb.csv", 400),  # fullwidth solidus
        ("a\u2024\u2024csv", 400),  # one dot leader look-alikes
        ("cafe\u0301.csv", 400),  # not NFC
        ("x" * 300 + ".csv", 422),
    ],
)
def test_file_names_cannot_escape(
    client: TestClient, api_settings: Settings, filename: str, status: int
) -> None:
    r = client.post(
        "/v1/tables/things/files",
        params={"filename": filename},
        content=b"a,b\n1,2\n",
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == status, r.text
    assert landed(api_settings, "things") == []
    assert not any(api_settings.root.rglob("passwd*"))


def test_multipart_file_names_are_checked(client: TestClient, api_settings: Settings) -> None:
    r = client.post("/v1/tables/things/files", files={"file": ("../x.csv", b"a\n1\n", "text/csv")})
    # some clients strip the folder part of a multipart file name; either way nothing escapes
    assert r.status_code in (202, 400)
    for path in api_settings.root.rglob("*"):
        assert path.is_relative_to(api_settings.root)
    assert not (api_settings.raw_dir.parent / "x.csv").exists()
    r = client.post("/v1/tables/things/files", files={"other": ("x.csv", b"a\n1\n", "text/csv")})
    assert r.status_code == 422


def test_file_idempotency(client: TestClient, api_settings: Settings) -> None:
    headers = {"content-type": "text/csv", "idempotency-key": "upload-7"}
    first = client.post(FILES, content=CSV.encode(), headers=headers)
    again = client.post(FILES, content=CSV.encode(), headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert len(landed(api_settings, "orders")) == 1
    assert (
        client.post(
            FILES, content=(CSV + CSV.splitlines()[1] + "\n").encode(), headers=headers
        ).status_code
        == 409
    )
    assert len(landed(api_settings, "orders")) == 1


def test_multipart_needs_a_length(client: TestClient) -> None:
    boundary = "XyZ"
    parts = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\na\n1\n\r\n--{boundary}--\r\n"
    ).encode()
    r = client.post(
        "/v1/tables/things/files",
        content=iter([parts]),  # chunked: no Content-Length
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 411
    r = client.post(
        "/v1/tables/things/files",
        content=parts,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 202, r.text
