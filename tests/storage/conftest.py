"""Real servers for the storage and scale-out tests, started on loopback by the tests.

* ``s3_endpoint``: moto's standalone S3 server (``moto[server]``, a dev dependency), one per
  session; every test gets its own bucket (``s3_bucket``) and the standard ``AWS_*`` variables
  pointing at it, as a user sets them for MinIO or AWS.

Tests that need a server are marked (``s3``) and run in their own CI step (``.ci/run``); when the
server cannot start they are skipped with the reason.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from e2e.e2e_support import free_port
from waiting import wait_for

from lakehouse import Settings


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto S3 server started for this test session."""
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"moto[server] is not installed ({exc}); `uv sync` installs it (dev group)")
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: proc.poll() is not None or _answers(url), 30, "the moto S3 server")
        if proc.poll() is not None:
            pytest.skip(f"the moto S3 server did not start: {log_path.read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket, with the standard AWS variables set the way a user sets them for MinIO."""
    import boto3

    for key, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "lakehouse-test",
        "AWS_SECRET_ACCESS_KEY": "lakehouse-test-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(key, value)
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def s3_settings(settings: Settings, s3_bucket: str) -> Settings:
    """The ``settings`` fixture's lakehouse with its tables in ``s3://<bucket>/dados``."""
    return Settings(
        root=settings.root,
        dados=f"s3://{s3_bucket}/dados",
        dbt_project_dir=settings.dbt_project_dir,
        profiles_dir=settings.profiles_dir,
        batch_window_ms=0,
    )
