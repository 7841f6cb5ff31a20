"""A Parquet file whose pages inflate like a gzip bomb is refused before a page is read, by the
API (413) and the loader (``too_large``) in one set of words (session 14; found by fixb and
fixg, left open by the review of c1290d6 and 3201582): pyarrow decompresses a page whole, so a
53 KB file holding one 1 GiB page of zstd took the API's check past 1.2 GB (its container
holds 1 GiB) whatever the batch size, and 40,000 copies of one 64 KiB value without a
dictionary (284 KB) got an untrue 400 "realloc of size 2147483648 failed". The bounds are a
gzip body's (``max_inflated_bytes``; ``max_inflate_ratio`` past 16 MiB), on the footer's counts
of the uncompressed bytes, or the page headers' when more: a footer that understates its sizes
passed the bound until session 15 (pyarrow allocates what a page's header says)."""

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


@pytest.mark.slow
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


def _varint(n: int, width: int | None = None) -> bytes:
    """``n`` zigzag-encoded as Thrift's compact protocol writes an i64, or in ``width`` bytes
    (a varint may carry continuation bytes of nothing: readers take it)."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F or (width is not None and len(out) < width - 1):
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _understated(data: bytes) -> bytes:
    """``data`` whose footer counts 1,000 bytes where it counted each row group's and column
    chunk's uncompressed bytes (the same footer length: each number in as many bytes)."""
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    sizes = {metadata.row_group(0).total_byte_size}
    sizes |= {metadata.row_group(0).column(i).total_uncompressed_size for i in range(2)}
    length = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - length : -8]
    for size in sizes:
        if size > 10_000:
            written = _varint(size)
            assert footer.count(written) == 1, size
            footer = footer.replace(written, _varint(1_000, len(written)))
    return data[: -8 - length] + footer + data[-8:]


def test_a_footer_understating_its_pages_is_refused_by_their_headers(
    module_lakehouse: Settings,
) -> None:
    data = _understated(_bomb())
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    assert metadata.row_group(0).total_byte_size == 1_000  # what the footer says now
    outcome = run(module_lakehouse, [("liar", "l.parquet", data)], rows=False)["liar"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", refused
    said = "(max_inflate_ratio): its pages' headers count 1048588014 bytes uncompressed"
    assert f"{said} (its footer 1000) from {len(data)}" in refused["reason"], refused
    assert (outcome.api_status, outcome.api_detail) == (413, refused["reason"])
