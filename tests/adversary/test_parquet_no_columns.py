"""A Parquet file of rows but no columns (dask/fastparquet's test-data/no_columns.parquet: a
pandas frame with an index of 2 and no columns, written by fastparquet 1.0.0; 166 bytes, BSD-3,
embedded): the API answered 202 and the loader then quarantined it as "the file holds no
records" (it holds 2) (review finding auditD 01, MEDIUM). Both refuse it now, in one set of
words (``lakehouse.parquet.no_columns``), as they refuse JSON records that are all ``{}``.
"""

from __future__ import annotations

import base64

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import run

from lakehouse.settings import Settings

NO_COLUMNS = base64.b64decode(
    "UEFSMRUCGRxIBnNjaGVtYRUAABYEGRwZDBYAFgQAGRwYBnBhbmRhcxhEeyJjb2x1bW5zIjogW10sICJpbmRleF9j"
    "b2x1bW5zIjogW10sICJwYW5kYXNfdmVyc2lvbiI6ICIwLjI0LjBhMDAzIn0AGCxmYXN0cGFycXVldC1weXRob24g"
    "dmVyc2lvbiAxLjAuMCAoYnVpbGQgMTExKQCaAAAAUEFSMQ=="
)


def test_rows_without_columns_are_refused_by_both_in_true_words(module_lakehouse: Settings) -> None:
    meta = pq.read_metadata(pa.BufferReader(NO_COLUMNS))
    assert (meta.num_rows, meta.num_columns) == (2, 0)
    table = "no_columns"
    outcome = run(module_lakehouse, [(table, "f.parquet", NO_COLUMNS)], rows=False)[table]
    said = "the file holds 2 records but no columns"
    assert outcome.api_status == 422 and said in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, "202 then refused: the API must refuse it too"
    assert outcome.refused["kind"] == "empty", outcome.refused
    assert said in outcome.refused["reason"], outcome.refused
