"""Tables on an S3 server vs local disk, same run: load and publish throughput.

    uv run python -m bench.bench_storage                     # 10 files x 100k rows, 3 rounds
    uv run python -m bench.bench_storage --files 4 --rows 50000 --repeat 1   # quick

Starts moto's S3 server on loopback (the one the tests use: an S3-speaking server in Python,
slower than MinIO or S3 itself, so the S3 figures are a floor for the protocol's cost, not for
a real store), then, interleaved round by round so a neighbour's burst slows both alike:

1. **load**: ``--files`` CSV files of ``--rows`` rows each, one commit per file
   (``batch_max_files=1``), into a fresh bronze table on local disk / in the bucket;
2. **publish**: one dbt build over that bronze table (a silver copy of every row and a gold
   aggregate), its publish part timed apart (``BuildResult.publish_seconds``).

Prints the load average before and after: figures taken on a busy machine say so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import bench_build
from bench.harness import interleaved, ratio, timed
from bench.servers import moto_s3
from lakehouse import Settings
from loader import Loader

REPO = Path(__file__).resolve().parents[1]
PROJECT = {
    "dbt_project.yml": bench_build.PROJECT,
    "models/staging/_sources.yml": bench_build.SOURCES,
    "models/staging/stg_orders.sql": """
        select cast(order_id as bigint) as order_id, customer_id, status,
            cast(amount as decimal(18, 2)) as amount, note
        from {{ source('bronze', 'orders') }}
    """,
    "models/marts/revenue_by_status.sql": """
        select status, count(*) as orders, sum(amount) as amount
        from {{ ref('stg_orders') }} group by status
    """,
}


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server on loopback, with the AWS variables pointing at it."""
    with moto_s3() as url:
        os.environ.update(
            AWS_ENDPOINT_URL=url,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench-secret",
            AWS_REGION="us-east-1",
            AWS_ALLOW_HTTP="true",
        )
        yield url


def _files(folder: Path, files: int, rows: int) -> list[Path]:
    """The same CSV bytes every time (no randomness)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in range(files):
        first = f * rows
        lines = ["order_id,customer_id,status,amount,note"]
        lines += [
            f"{i},{(i * 7919) % 100000},{('placed', 'shipped', 'returned')[i % 3]},"
            f"{((i * 37) % 100000) / 100:.2f},note {i % 1000}"
            for i in range(first, first + rows)
        ]
        path = folder / f"orders_{f:04d}.csv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def _project(root: Path) -> Path:
    for name, text in PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def _round(kind: str, work: Path, sources: list[Path], bucket: str | None) -> dict[str, Any]:
    """One fresh lakehouse: load every file (one commit each), then build and publish."""
    from transform.session import DbtSession

    root = work / f"{kind}-{uuid.uuid4().hex[:8]}"
    dados = f"s3://{bucket}/{root.name}" if bucket else "dados"
    settings = Settings(
        root=root,
        dados=dados,
        dbt_project_dir=_project(root / "project"),
        profiles_dir=REPO,
        dbt_target="dev",
        batch_window_ms=0,
        batch_max_files=1,
    )
    inbox = settings.raw_dir / "orders"
    inbox.mkdir(parents=True)
    for path in sources:
        shutil.copy(path, inbox / path.name)
    nbytes = sum(p.stat().st_size for p in sources)
    with timed() as load:
        summary = Loader(settings).load_pending()
    rows = summary.rows
    result = DbtSession(settings).build()
    if not result.success:
        raise RuntimeError(f"{kind}: the build failed: {result.failures}")
    shutil.rmtree(root, ignore_errors=True)
    return {
        "load_s": load["wall_s"],
        "load_rows_per_s": rows / load["wall_s"],
        "load_mb_per_s": nbytes / 1e6 / load["wall_s"],
        "build_s": result.seconds,
        "publish_s": result.publish_seconds,
        "publish_rows_per_s": (rows + 3) / result.publish_seconds,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import boto3

    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp, s3_server():
        work = Path(tmp)
        sources = _files(work / "source", args.files, args.rows)
        bucket = "bench"
        boto3.client("s3").create_bucket(Bucket=bucket)
        results = interleaved(
            {
                "local": lambda: _round("local", work, sources, None),
                "s3": lambda: _round("s3", work, sources, bucket),
            },
            args.repeat,
        )
    after = os.getloadavg()
    print(f"# tables on moto's S3 server vs local disk ({args.files} x {args.rows:,} rows)")
    print(f"load average before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, ", end="")
    print(f"after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}; {os.cpu_count()} cores\n")
    print("| measure (median of rounds) | local disk | S3 (moto) | S3 / local |")
    print("|---|---|---|---|")
    for key in ("load_rows_per_s", "load_mb_per_s", "load_s", "publish_rows_per_s", "publish_s"):
        local, s3 = results["local"][key], results["s3"][key]
        print(f"| {key} | {local['median']:,.2f} | {s3['median']:,.2f} | {ratio(s3, local):.2f} |")


if __name__ == "__main__":
    main()
