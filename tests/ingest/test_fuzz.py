"""Random and mangled bodies on every write endpoint: a 4xx or a 202, never a 5xx."""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CASES = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
TYPES = [
    ("records", "application/json"),
    ("records", "application/x-ndjson"),
    ("files", "text/csv"),
    ("files", "text/tab-separated-values"),
    ("files", "application/x-ndjson"),
    ("files", "application/json"),
    ("files", "application/vnd.apache.parquet"),
]


def _parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"order_id": [1, 2], "currency": ["EUR", None]}), sink)
    return sink.getvalue()


SEEDS = [
    b'{"order_id": 1, "customer_id": 2, "currency": "EUR", "ordered_at": "2024-01-01T00:00:00Z"}\n',
    b"order_id,customer_id,currency,ordered_at\n1,2,EUR,2024-01-01T00:00:00Z\n",
    _parquet(),
]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    seed = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):  # flip, cut, insert
        op = draw(st.sampled_from(["flip", "cut", "insert"]))
        at = draw(st.integers(0, max(0, len(seed) - 1)))
        if op == "flip" and seed:
            seed[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del seed[at:]
        else:
            seed[at:at] = draw(st.binary(max_size=8))
    return bytes(seed)


@given(
    kind=st.sampled_from(TYPES), body=st.one_of(bodies(), st.binary(max_size=200)), gz=st.booleans()
)
@CASES
def test_mangled_bodies(client: TestClient, kind: tuple[str, str], body: bytes, gz: bool) -> None:
    # one app for every example (a function-scoped fixture is not reset between them: fine)
    endpoint, media = kind
    headers = {"content-type": media}
    if gz:
        body = gzip.compress(body)
        headers["content-encoding"] = "gzip"
    r = client.post(f"/v1/tables/orders/{endpoint}", content=body, headers=headers)
    assert r.status_code in (202, 400, 411, 413, 415, 422), (r.status_code, r.text[:300])
    assert "detail" in r.json() or r.status_code == 202
