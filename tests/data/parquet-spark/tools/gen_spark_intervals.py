"""Writes spark_intervals.parquet and spark_intervals_nested.parquet (Spark's ANSI intervals),
with pyspark 4.3.0 (``uv sync --group distributed``; java 17):
``uv run python tests/data/parquet-spark/tools/gen_spark_intervals.py tests/data/parquet-spark``."""

import glob
import shutil
import sys
import tempfile

from pyspark.sql import SparkSession

FLAT = """
SELECT * FROM VALUES
 (1, INTERVAL '1-2' YEAR TO MONTH, INTERVAL '1 02:03:04.000005' DAY TO SECOND, INTERVAL '3' YEAR,
  INTERVAL '90' SECOND, INTERVAL '-1 00:00:00.000001' DAY TO SECOND, INTERVAL '-0-1' YEAR TO MONTH),
 (2, CAST(NULL AS INTERVAL YEAR TO MONTH), CAST(NULL AS INTERVAL DAY TO SECOND), INTERVAL '0' YEAR,
  INTERVAL '0' SECOND, INTERVAL '0 00:00:00' DAY TO SECOND, INTERVAL '0-0' YEAR TO MONTH)
 AS t(id, ym, dt, y, s, neg_dt, neg_ym)
"""
NESTED = """
SELECT 1 AS id, named_struct('ym', INTERVAL '1-2' YEAR TO MONTH) AS st,
       array(INTERVAL '90' SECOND) AS arr, map('k', INTERVAL '1' DAY) AS m
"""

out = sys.argv[1]
spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.driver.memory", "512m")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.session.timeZone", "UTC")
    .getOrCreate()
)
for name, query in (("spark_intervals", FLAT), ("spark_intervals_nested", NESTED)):
    with tempfile.TemporaryDirectory() as tmp:
        spark.sql(query).coalesce(1).write.mode("overwrite").parquet(f"{tmp}/out")
        shutil.copy(glob.glob(f"{tmp}/out/*.parquet")[0], f"{out}/{name}.parquet")
spark.stop()
