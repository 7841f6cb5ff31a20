"""A gzipped Parquet file (``x.parquet.gz``): the API answered 415 ("gzipped parquet is not
taken: it compresses inside"), while the loader loaded the same bytes dropped into the landing
zone (review finding auditF 03, LOW). One rule now (``lakehouse.formats.gzip_refusal``): the
loader refuses it too, ``unsupported``, in the API's words; gzipped CSV, TSV and JSON are taken
by both.
"""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import run

from lakehouse.settings import Settings


def test_gzipped_parquet_is_refused_by_both(module_lakehouse: Settings) -> None:
    out = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2]}), out)
    files = [
        ("parquet_gz", "f.parquet.gz", gzip.compress(out.getvalue())),
        ("csv_gz", "f.csv.gz", gzip.compress(b"a\n1\n2\n")),
    ]
    outcomes = run(module_lakehouse, files, rows=False)
    refused = outcomes["parquet_gz"]
    said = "gzipped parquet is not taken: it compresses inside"
    assert refused.api_status == 415 and said in str(refused.api_detail), refused.api_detail
    assert refused.refused is not None, "415, then loaded: the two disagree"
    assert refused.refused["kind"] == "unsupported" and said in refused.refused["reason"]
    taken = outcomes["csv_gz"]
    assert taken.api_status == 202 and taken.refused is None, taken.refused
