"""Real servers for the storage and scale-out tests, started on loopback by the tests.

* ``postgres_server`` / ``postgres_url``: Debian's PostgreSQL, initdb'd in a temporary folder
  and listening on loopback, one per session; every test gets its own database.
* ``s3_endpoint``: moto's standalone S3 server (``moto[server]``, a dev dependency), one per
  session; every test gets its own bucket (``s3_bucket``) and the standard ``AWS_*`` variables
  pointing at it, as a user sets them for MinIO or AWS.

Tests that need a server are marked (``s3``, ``postgres``) and run in their own CI step
(``.ci/run``); when the server cannot start they are skipped with the reason.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from e2e.e2e_support import free_port

from bench.servers import ServerDidNotStart, moto_s3
from lakehouse import Settings


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto S3 server started for this test session."""
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"moto[server] is not installed ({exc}); `uv sync` installs it (dev group)")
    with ExitStack() as stack:
        try:
            url = stack.enter_context(moto_s3(tmp_path_factory.mktemp("moto") / "moto.log"))
        except ServerDidNotStart as exc:
            pytest.skip(f"the moto S3 server did not start: {exc}")
        yield url


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


# -- PostgreSQL ------------------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    """The folder of Debian's initdb and pg_ctl (``/usr/lib/postgresql/<major>/bin``)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """``postgresql://lakehouse@127.0.0.1:<port>`` of a server started for this test session
    in a temporary folder (as the ``postgres`` user when the tests run as root: initdb refuses
    root)."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL is not installed (Debian's postgresql package; .ci/run installs it)"
        )
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="lakehouse-pg-"))
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    log_path = folder / "server.log"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*as_user, *args], capture_output=True, text=True, timeout=120, check=False
        )

    init = run(str(bindir / "initdb"), "-D", str(data), "-U", "lakehouse", "-A", "trust")
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr[-2000:]}")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(log_path),
        "-w",
        "-t",
        "60",
        "start",
    )
    if start.returncode != 0:
        log = log_path.read_text() if log_path.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {start.stderr[-1000:]} {log[-1000:]}")
    try:
        yield f"postgresql://lakehouse@127.0.0.1:{port}"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the session's server."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"create database {name}")
    return f"{postgres_server}/{name}"
