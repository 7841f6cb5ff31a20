"""A gold model's SQL on Apache Spark (a standalone cluster: master + worker on loopback), over
the published Delta tables, checked against the gold table the lakehouse published.

    uv sync --group distributed            # pyspark (bundles Spark); a Java 17+ runtime
    uv run lakehouse demo                  # or any built lakehouse
    uv run python -m bench.spark_gold --model daily_revenue

1. starts a Spark master and one worker (``spark-class``, 127.0.0.1, free ports, one core each);
2. ``dbt compile`` of the model and its parents (full-refresh SQL: no incremental branch);
3. every parent the lakehouse publishes (silver/gold) becomes a Spark view over the Parquet
   files of one Delta version (``DeltaTable.file_uris()``: what the Delta log says the version
   is); every parent it does not publish (intermediate) becomes a view of its compiled SQL;
4. runs the model's compiled SQL on the cluster and compares every row with the published gold
   table at its current version.

Delta's own Spark connector (``delta-spark``) comes from Maven, which this machine cannot reach;
reading one version's file list is exact for the tables the lakehouse writes (reader version 1:
no deletion vectors, no column mapping) and is what this script refuses otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from deltalake import DeltaTable

from bench.servers import ServerDidNotStart, free_port, port_answers, wait_until_up
from lakehouse import Settings
from lakehouse.layout import table_path
from transform.publish import publish_layer
from transform.session import DbtSession

MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"
WORKER_SIZE = ("--cores", "1", "--memory", "1g")


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 90) -> None:
    try:
        wait_until_up(proc, lambda: port_answers(port), f"the Spark {what}", timeout)
    except ServerDidNotStart as exc:
        raise RuntimeError(str(exc)) from None


@contextmanager
def spark_cluster(workdir: Path) -> Iterator[str]:
    """A standalone Spark master and one worker on loopback; yields ``spark://127.0.0.1:<p>``."""
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    workdir.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(workdir)}
    port, worker_port = free_port(), free_port()
    common = ["--host", "127.0.0.1", "--webui-port", "0"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with open(workdir / "master.log", "wb") as log:
            master = subprocess.Popen(
                [str(spark_class), MASTER, "--port", str(port), *common],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(master)
        _wait_port(port, master, "master")
        url = f"spark://127.0.0.1:{port}"
        with open(workdir / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                [
                    str(spark_class),
                    WORKER,
                    url,
                    "--cores",
                    "1",
                    "--memory",
                    "1g",
                    "--port",
                    str(worker_port),
                    *common,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(worker)
        _wait_port(worker_port, worker, "worker")
        yield url
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def compiled_models(settings: Settings, model: str) -> dict[str, dict[str, Any]]:
    """``dbt compile`` (full refresh) of ``model`` and its parents; the manifest's model nodes."""
    session = DbtSession(settings)
    outcome = session.invoke(["compile", "--select", f"+{model}", "--full-refresh"])
    if not outcome.success:
        raise RuntimeError(f"dbt compile failed: {outcome.exception}")
    manifest = json.loads((settings.dbt_project_dir / "target" / "manifest.json").read_text())
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node.get("resource_type") == "model"
    }


def _view_name(node: dict[str, Any]) -> str:
    return f"lh_{node['name']}"


def _spark_sql(node: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> str:
    """The node's compiled SQL, each parent's relation name replaced by its Spark view."""
    sql = str(node["compiled_code"])
    for parent_id in node["depends_on"]["nodes"]:
        parent = next((n for n in nodes.values() if n["unique_id"] == parent_id), None)
        if parent is not None and parent.get("relation_name"):
            sql = sql.replace(parent["relation_name"], _view_name(parent))
    return to_spark(re.sub(r";\s*$", "", sql.strip()))


def to_spark(sql: str) -> str:
    """DuckDB SQL (what the models are written in) as Spark SQL, by sqlglot.

    One rule sqlglot leaves alone: DuckDB's ``timezone('UTC', ts)`` (a timestamptz as UTC wall
    time) is ``ts`` itself for a Spark session in UTC (set below).
    """
    import sqlglot
    from sqlglot import exp

    def utc(node: exp.Expression) -> exp.Expression:
        if (
            isinstance(node, exp.Anonymous)
            and node.name.lower() == "timezone"
            and len(node.expressions) == 2
            and node.expressions[0].name.upper() == "UTC"
        ):
            return node.expressions[1]
        return node

    tree = sqlglot.parse_one(sql, read="duckdb").transform(utc)
    return tree.sql(dialect="spark")


def _layer(node: dict[str, Any]) -> str | None:
    meta = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
    return publish_layer(node.get("fqn") or [], meta)


def register(
    spark: Any, settings: Settings, nodes: dict[str, dict[str, Any]], name: str, target: str
) -> None:
    """A Spark view for ``name`` and (first) for every parent it needs; ``target`` (the model
    being checked) is computed from its SQL even though it is published."""
    node = nodes[name]
    parents = [n for n in nodes.values() if n["unique_id"] in node["depends_on"]["nodes"]]
    layer = _layer(node)
    if layer is not None and name != target:
        table = DeltaTable(
            str(table_path(settings, layer, name)),  # type: ignore[arg-type]
            storage_options=settings.storage_options or None,
        )
        if table.protocol().min_reader_version > 1:
            raise RuntimeError(f"{layer}/{name}: reader version > 1; needs Delta's connector")
        files = [uri.removeprefix("file://") for uri in table.file_uris()]
        spark.read.parquet(*files).createOrReplaceTempView(_view_name(node))
        return
    for parent in parents:
        register(spark, settings, nodes, parent["name"], target)
    spark.sql(_spark_sql(node, nodes)).createOrReplaceTempView(_view_name(node))


def _normal(value: Any) -> Any:
    if isinstance(value, float | Decimal):
        return round(float(value), 6)
    return value


def run(settings: Settings, model: str, workdir: Path) -> dict[str, Any]:
    """Run ``model``'s SQL on a loopback Spark cluster; compare with the published table."""
    from pyspark.sql import SparkSession

    nodes = compiled_models(settings, model)
    layer = _layer(nodes[model])
    if layer is None:
        raise RuntimeError(f"{model} is not published: nothing to compare with")
    with spark_cluster(workdir) as url:
        spark = (
            SparkSession.builder.master(url)
            .appName("lakehouse-gold")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.executor.memory", "768m")
            .getOrCreate()
        )
        try:
            started = time.perf_counter()
            register(spark, settings, nodes, model, model)
            rows = spark.sql(f"select * from {_view_name(nodes[model])}").collect()
            seconds = time.perf_counter() - started
            executors = spark.sparkContext.getConf().get("spark.master")
        finally:
            spark.stop()
    published = DeltaTable(
        str(table_path(settings, layer, model)),  # type: ignore[arg-type]
        storage_options=settings.storage_options or None,
    )
    expected = published.to_pyarrow_table().to_pylist()
    columns = list(expected[0]) if expected else []
    got = sorted(tuple(_normal(r[c]) for c in columns) for r in rows)
    want = sorted(tuple(_normal(r[c]) for c in columns) for r in expected)
    return {
        "model": f"{layer}/{model}",
        "master": executors,
        "rows": len(rows),
        "published_version": published.version(),
        "matches": got == want,
        "seconds": round(seconds, 2),
        "first_difference": next(((g, w) for g, w in zip(got, want, strict=False) if g != w), None),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="daily_revenue")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="spark-") as tmp:
        print(json.dumps(run(Settings(dbt_target="ci"), args.model, Path(tmp)), default=str))


if __name__ == "__main__":
    main()
