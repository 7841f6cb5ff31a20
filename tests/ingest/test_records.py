"""POST /v1/tables/{table}/records: landing, validation, limits, idempotency."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest
from api_support import landed, make_settings, order
from fastapi.testclient import TestClient

from ingest import create_app
from lakehouse import Ledger, Settings

NDJSON = {"content-type": "application/x-ndjson"}


def ndjson(rows: list[dict[str, object]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def test_ndjson_lands_atomically_and_is_accepted(
    client: TestClient, api_settings: Settings
) -> None:
    body = ndjson([order(1), order(2), order(3)])
    r = client.post("/v1/tables/orders/records", content=body, headers=NDJSON)
    assert r.status_code == 202, r.text
    answer = r.json()
    assert answer["records"] == 3
    assert answer["status_url"] == f"/v1/batches/{answer['batch_id']}"
    assert r.headers["location"] == answer["status_url"]
    files = landed(api_settings, "orders")
    assert [f.name for f in files] == [f"{answer['batch_id']}.ndjson"]
    assert files[0].read_bytes() == body  # byte for byte
    batch = Ledger(api_settings.ledger_file).get_batch(answer["batch_id"])
    assert batch is not None
    assert (batch.state, batch.table, batch.records) == ("accepted", "orders", 3)


def test_json_array_lands_as_ndjson_keeping_each_value_text(
    client: TestClient, api_settings: Settings
) -> None:
    body = b'[\n  {"order_id": 1, "customer_id": 2, "currency": "EUR",\n'
    body += b'   "ordered_at": "2024-05-01T12:00:00Z", "amount": 1.10},\n'
    body += b'  {"order_id": 2, "customer_id": 3, "currency": "EUR", '
    body += b'"ordered_at": "2024-05-01T12:00:00+02:00", "amount": 100, "extra": {"a": [1e2]}}\n]'
    r = client.post(
        "/v1/tables/orders/records", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 202, r.text
    lines = landed(api_settings, "orders")[0].read_bytes().splitlines()
    assert len(lines) == 2
    assert b'"amount": 1.10' in lines[0] and b'"a": [1e2]' in lines[1]  # not re-encoded
    assert [json.loads(line)["order_id"] for line in lines] == [1, 2]


def test_one_object_is_one_record(client: TestClient) -> None:
    r = client.post("/v1/tables/events/records", json={"kind": "click"})
    assert r.status_code == 202 and r.json()["records"] == 1


def test_gzip_body(client: TestClient, api_settings: Settings) -> None:
    body = ndjson([order(i) for i in range(50)])
    r = client.post(
        "/v1/tables/orders/records",
        content=gzip.compress(body),
        headers=NDJSON | {"content-encoding": "gzip"},
    )
    assert r.status_code == 202, r.text
    assert landed(api_settings, "orders")[0].read_bytes() == body


def test_contract_errors_name_row_and_field(client: TestClient, api_settings: Settings) -> None:
    rows = [
        order(0),
        order(1, customer_id="seven"),
        order(2, quantity=40000, is_gift="yes"),
        {k: v for k, v in order(3).items() if k != "ordered_at"},
        order(4, ordered_at=None),
        order(5, amount="12.50", ordered_at="yesterday"),  # a JSON string is no decimal
        order(6, amount=1.005, customer_id=1e3),  # three decimals; an exponent is no integer
    ]
    r = client.post("/v1/tables/orders/records", content=ndjson(rows), headers=NDJSON)
    assert r.status_code == 422
    found = {(e["row"], e["field"]) for e in r.json()["detail"]}
    assert found == {
        (1, "customer_id"),
        (2, "quantity"),
        (2, "is_gift"),
        (3, "ordered_at"),
        (4, "ordered_at"),
        (5, "amount"),
        (5, "ordered_at"),
        (6, "amount"),
        (6, "customer_id"),
    }
    for error in r.json()["detail"]:
        assert error["loc"] == ["body", error["row"], error["field"]]
        assert error["msg"]
    assert landed(api_settings, "orders") == []  # nothing half-written


def test_error_list_is_bounded(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, api_max_errors=3))
    with TestClient(app) as c:
        rows = [order(i, customer_id="x") for i in range(50)]
        r = c.post("/v1/tables/orders/records", content=ndjson(rows), headers=NDJSON)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert len(detail) == 4 and detail[-1]["type"] == "truncated"


def test_undeclared_tables_are_schemaless_by_default(client: TestClient) -> None:
    r = client.post("/v1/tables/anything/records", json=[{"x": 1}, {"y": "z"}])
    assert r.status_code == 202


def test_undeclared_tables_refused_by_setting(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, api_refuse_undeclared=True))) as c:
        assert c.post("/v1/tables/anything/records", json=[{"x": 1}]).status_code == 404
        assert c.post("/v1/tables/orders/records", json=[order(1)]).status_code == 202


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"content-type": "text/plain"}, 415),
        ({"content-type": "application/xml"}, 415),
        ({"content-type": "application/json; charset=latin-1"}, 415),
        ({"content-type": "application/json", "content-encoding": "br"}, 415),
    ],
)
def test_wrong_media_type(client: TestClient, headers: dict[str, str], status: int) -> None:
    r = client.post("/v1/tables/orders/records", content=b"[{}]", headers=headers)
    assert r.status_code == status
    assert "detail" in r.json()


def test_body_limit(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, api_max_body_bytes=1000)
    with TestClient(create_app(settings)) as c:
        big = ndjson([order(i) for i in range(100)])
        r = c.post("/v1/tables/orders/records", content=big, headers=NDJSON)
        assert r.status_code == 413
        # chunked (no Content-Length): refused while streaming
        r = c.post(
            "/v1/tables/orders/records", content=iter([big[:500], big[500:]]), headers=NDJSON
        )
        assert r.status_code == 413
        # a gzip bomb: small on the wire, too large once decompressed
        bomb = gzip.compress(b'{"a":"' + b"x" * 100_000 + b'"}')
        r = c.post(
            "/v1/tables/orders/records",
            content=bomb,
            headers=NDJSON | {"content-encoding": "gzip"},
        )
        assert r.status_code == 413
    assert landed(settings, "orders") == []


def test_records_per_request_limit(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, api_max_records=10))) as c:
        r = c.post(
            "/v1/tables/t/records", content=ndjson([{"i": i} for i in range(11)]), headers=NDJSON
        )
        assert r.status_code == 413
        assert "at most 10" in r.json()["detail"]


def test_malformed_ndjson_names_the_line(client: TestClient) -> None:
    r = client.post("/v1/tables/t/records", content=b'{"a":1}\n{"a":\n2}\n', headers=NDJSON)
    assert r.status_code == 400
    assert "line 2" in r.json()["detail"]
    r = client.post("/v1/tables/t/records", content=b'{"a":1}\n[1]\n', headers=NDJSON)
    assert r.status_code == 422
    assert r.json()["detail"][0]["row"] == 1


def test_bad_gzip(client: TestClient) -> None:
    r = client.post(
        "/v1/tables/t/records", content=b"not gzip", headers=NDJSON | {"content-encoding": "gzip"}
    )
    assert r.status_code == 400
    truncated = gzip.compress(b'{"a":1}\n')[:-6]
    r = client.post(
        "/v1/tables/t/records", content=truncated, headers=NDJSON | {"content-encoding": "gzip"}
    )
    assert r.status_code == 400


def test_idempotency_key(client: TestClient, api_settings: Settings) -> None:
    body = ndjson([order(1)])
    headers = NDJSON | {"idempotency-key": "order-1-attempt"}
    first = client.post("/v1/tables/orders/records", content=body, headers=headers)
    again = client.post("/v1/tables/orders/records", content=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(landed(api_settings, "orders")) == 1  # nothing new landed
    other = client.post("/v1/tables/orders/records", content=ndjson([order(2)]), headers=headers)
    assert other.status_code == 409
    # the same key for another table is another request
    elsewhere = client.post("/v1/tables/t/records", content=body, headers=headers)
    assert elsewhere.status_code == 202
    # without a key, equal bodies are two batches
    a = client.post("/v1/tables/orders/records", content=body, headers=NDJSON)
    b = client.post("/v1/tables/orders/records", content=body, headers=NDJSON)
    assert a.json()["batch_id"] != b.json()["batch_id"]


def test_failed_request_frees_its_idempotency_key(client: TestClient) -> None:
    headers = NDJSON | {"idempotency-key": "k1"}
    bad = client.post(
        "/v1/tables/orders/records", content=ndjson([order(1, customer_id="x")]), headers=headers
    )
    assert bad.status_code == 422
    good = client.post("/v1/tables/orders/records", content=ndjson([order(1)]), headers=headers)
    assert good.status_code == 202


@pytest.mark.parametrize("key", ["", "a" * 256, "with space", "tab\tkey", "ключ"])
def test_bad_idempotency_keys(client: TestClient, key: str) -> None:
    r = client.post(
        "/v1/tables/t/records",
        content=b'{"a":1}',
        headers={"content-type": "application/x-ndjson", "idempotency-key": key.encode("utf-8")},  # type: ignore[dict-item]
    )
    assert r.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/v1/tables/Orders/records",
        "/v1/tables/..%2F..%2Fetc/records",
        "/v1/tables/%2E%2E/records",
        "/v1/tables/orders%00/records",
        "/v1/tables/ord%C3%A9rs/records",
        "/v1/tables/%EF%BC%8Fetc/records",  # fullwidth solidus
        "/v1/tables/a%E2%80%AEb/records",  # right-to-left override
        "/v1/tables/_x/records",
        "/v1/tables/" + "a" * 64 + "/records",
    ],
)
def test_table_names_cannot_escape(client: TestClient, api_settings: Settings, path: str) -> None:
    r = client.post(path, content=b'{"a":1}', headers=NDJSON)
    assert r.status_code in (400, 404, 422), r.text
    raw = api_settings.raw_dir
    assert not raw.exists() or not any(raw.rglob("*.ndjson"))
    assert not (api_settings.root / "etc").exists()


def test_errors_beyond_the_first_slice_keep_their_row(client: TestClient) -> None:
    rows = [order(i) for i in range(10_000)]
    rows[9_000]["customer_id"] = "x"
    rows[20]["order_id"] = None
    r = client.post("/v1/tables/orders/records", content=ndjson(rows), headers=NDJSON)
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["detail"]] == [
        (20, "order_id"),
        (9_000, "customer_id"),
    ]
    body = ndjson(rows[:9_500]).replace(b'{"order_id":9400,', b'{"order_id":9400')
    r = client.post("/v1/tables/orders/records", content=body, headers=NDJSON)
    assert r.status_code == 400 and "line 9401" in r.json()["detail"]


def test_ndjson_sent_as_json_gets_a_hint(client: TestClient) -> None:
    r = client.post(
        "/v1/tables/t/records",
        content=b'{"a":1}\n{"a":2}\n',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and "application/x-ndjson" in r.json()["detail"]


def test_concurrent_posts_with_one_key_land_once(tmp_path: Path) -> None:
    import threading

    import httpx

    from ingest import BackgroundServer

    settings = make_settings(tmp_path)
    body = ndjson([order(i) for i in range(2_000)])
    codes: list[int] = []
    ids: set[str] = set()
    with BackgroundServer(settings) as server:

        def post() -> None:
            r = httpx.post(
                f"{server.url}/v1/tables/orders/records",
                content=body,
                headers=NDJSON | {"idempotency-key": "same"},
                timeout=60,
            )
            codes.append(r.status_code)
            if r.status_code == 202:
                ids.add(r.json()["batch_id"])

        threads = [threading.Thread(target=post) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert set(codes) <= {202, 409} and 202 in codes
    assert len(ids) == 1  # every 202 is the first answer
    assert len(landed(settings, "orders")) == 1


def _answers(tmp_path: Path, processes: int, body: bytes) -> tuple[int, object, bytes]:
    settings = make_settings(tmp_path / f"p{processes}", api_parse_processes=processes)
    app = create_app(settings)
    with TestClient(app) as client:
        r = client.post("/v1/tables/orders/records", content=body, headers=NDJSON)
        assert app.state.context.parsers.started == (processes > 0)
        files = landed(settings, "orders")
        data = files[0].read_bytes() if r.status_code == 202 else b""
        return r.status_code, r.json()["detail"] if r.status_code != 202 else None, data


@pytest.mark.slow
def test_large_bodies_are_checked_in_worker_processes_with_the_same_answers(
    tmp_path: Path,
) -> None:
    """A body past PROCESS_MIN_BYTES is checked in a worker process: the same 202 and landed
    bytes, the same 422 errors (row and field), the same 413, as when checked on the loop."""
    from ingest.parsing import PROCESS_MIN_BYTES

    good = ndjson([order(i, status="x" * 100) for i in range(3000)])
    wrong = ndjson(
        [order(i, status="x" * 100, amount="lots" if i in (7, 2500) else 1.5) for i in range(3000)]
    )
    malformed = good + b'{"order_id": 1, oops\n'
    too_many = ndjson([{"n": i} for i in range(100_001)])
    for body, status in ((good, 202), (wrong, 422), (malformed, 400), (too_many, 413)):
        assert len(body) >= PROCESS_MIN_BYTES
        pooled, inline = _answers(tmp_path, 1, body), _answers(tmp_path, 0, body)
        assert pooled[0] == inline[0] == status, (pooled[:2], inline[:2])
        assert pooled[1:] == inline[1:]
    assert _answers(tmp_path, 1, good)[2].count(b"\n") == 3000


def _free(tmp_path: Path, body: bytes) -> tuple[int, object, bytes]:
    settings = make_settings(tmp_path / f"f{len(list(tmp_path.iterdir()))}")
    with TestClient(create_app(settings)) as client:
        r = client.post("/v1/tables/free/records", content=body, headers=NDJSON)
        files = landed(settings, "free")
        data = files[0].read_bytes() if r.status_code == 202 else b""
        return r.status_code, r.json()["detail"] if r.status_code != 202 else None, data


@pytest.mark.parametrize(
    ("last", "status"),
    [
        (b'{"order_id": 9, "note": "x"}', 202),
        (b'{"order_id": 9, "note": {"a": 1, "a": 2}}', 422),  # the general check finds it
        (b'{"order_id": 9, "note": "\\ud800"}', 400),
        (b'{"order_id": 9, "note": "x", "_batch_id": 1}', 422),
    ],
)
def test_large_flat_bodies_take_the_threaded_test_with_the_same_answers(
    tmp_path: Path, last: bytes, status: int
) -> None:
    """An NDJSON body without a contract past THREAD_MIN_BYTES has its flat-records test in
    a worker thread: the answer (and landed bytes) of the general check alone."""
    from ingest.accept import as_http_error
    from ingest.parsing import THREAD_MIN_BYTES
    from ingest.validation import BodyError, RecordsError, parse_records

    line = b'{"order_id": 1, "note": "' + b"x" * 100 + b'"}\n'
    body = line * (THREAD_MIN_BYTES // len(line) + 1) + last + b"\n"
    assert len(body) >= THREAD_MIN_BYTES
    code, detail, data = _free(tmp_path, body)
    assert code == status, detail
    try:
        parse_records(body, ndjson=True, flat=False)
    except (BodyError, RecordsError) as exc:
        assert detail == as_http_error(exc).detail
    else:
        assert data == body


def test_the_checker_threads_start_again_after_a_restart(api_settings: Settings) -> None:
    """The flat-records test's threads are closed with the app and started again with it."""
    from ingest.parsing import THREAD_MIN_BYTES

    line = b'{"id": 1, "note": "' + b"x" * 100 + b'"}\n'
    body = line * (THREAD_MIN_BYTES // len(line) + 1)
    app = create_app(api_settings)
    for _ in range(2):
        with TestClient(app) as client:
            r = client.post("/v1/tables/free/records", content=body, headers=NDJSON)
            assert r.status_code == 202, r.text
            assert r.json()["records"] == body.count(b"\n")
