"""A Parquet file whose pages inflate like a gzip bomb is refused before a page is read, by the
API (413) and the loader (``too_large``) in one set of words (session 14; found by fixb and
fixg, left open by the review of c1290d6 and 3201582): pyarrow decompresses a page whole, so a
53 KB file holding one 1 GiB page of zstd took the API's check past 1.2 GB (its container
holds 1 GiB) whatever the batch size, and 40,000 copies of one 64 KiB value without a
dictionary (284 KB) got an untrue 400 "realloc of size 2147483648 failed". The bounds are a
gzip body's (``max_inflated_bytes``; ``max_inflate_ratio`` past 16 MiB), on the footer's counts
of the uncompressed bytes."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run

from lakehouse import parquet
from lakehouse.formats import InflateLimitError
from lakehouse.settings import Settings


def _bomb() -> bytes:
    out = io.BytesIO()
    values = pa.array([bytes([65 + i % 4]) * 2**20 for i in range(1000)], pa.binary())
    pq.write_table(
        pa.table({"id": pa.array(range(1000), pa.int64()), "b": values}),
        out,
        compression="zstd",
        use_dictionary=False,
    )
    return out.getvalue()


def test_a_page_bomb_is_refused_by_both_in_the_same_words(module_lakehouse: Settings) -> None:
    data = _bomb()
    assert len(data) < 100_000
    outcome = run(module_lakehouse, [("bomb", "b.parquet", data)], rows=False)["bomb"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", refused
    assert "max_inflate_ratio" in refused["reason"], refused
    assert (outcome.api_status, outcome.api_detail) == (413, refused["reason"])


def test_the_bounds_are_a_gzip_bodys() -> None:
    metadata = pq.ParquetFile(io.BytesIO(_bomb())).metadata
    total = metadata.row_group(0).total_byte_size
    assert total > 2**29  # about 1 GiB of pages in 53 KB
    with pytest.raises(InflateLimitError, match="max_inflated_bytes"):
        parquet.check_inflation(metadata, total, total - 1, 250.0)  # past the bytes
    with pytest.raises(InflateLimitError, match="max_inflate_ratio"):
        parquet.check_inflation(metadata, total // 251, 2**40, 250.0)  # past the ratio
    parquet.check_inflation(metadata, total // 249, 2**40, 250.0)  # within both
