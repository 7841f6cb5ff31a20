"""schemathesis against the live OpenAPI schema of a real uvicorn server: no 5xx, no answer that
breaks the schema (status codes, content types, bodies, headers). Bounded examples per operation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import schemathesis
from api_support import make_settings
from deltalake import write_deltalake
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingest import BackgroundServer


@schemathesis.serializer("application/x-ndjson", "text/csv", "text/tab-separated-values")
def _as_text(ctx: Any, value: Any) -> bytes:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.encode("utf-8", "surrogatepass")


@schemathesis.serializer("application/vnd.apache.parquet")
def _as_bytes(ctx: Any, value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def live_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root: Path = tmp_path_factory.mktemp("schemathesis")
    for layer, name in (("bronze", "orders"), ("gold", "a")):  # so the catalog has rows to show
        rows = pa.table({"id": [1, 2], "at": pa.array([0, 1], pa.timestamp("us", "UTC"))})
        write_deltalake(str(root / "dados" / layer / name), rows)
    with BackgroundServer(make_settings(root, api_max_wait_s=0.1)) as server:
        yield schemathesis.openapi.from_url(f"{server.url}/openapi.json")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _run(schema: Any, examples: int, *, derandomize: bool) -> None:
    # schemathesis' own pytest plugin does not work with this pytest (Function._nodeid), so
    # each operation's strategy runs under hypothesis directly.
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=derandomize,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(checks=CHECKS, timeout=30)

        run()


def test_api_keeps_its_schema(live_schema: Any) -> None:
    _run(live_schema, 25, derandomize=True)  # the same examples every run: CI is no lottery


@pytest.mark.slow
def test_api_keeps_its_schema_long(live_schema: Any) -> None:
    _run(live_schema, 500, derandomize=False)
