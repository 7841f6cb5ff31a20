"""A Parquet ``fixed_size_binary`` column (FIXED_LEN_BYTE_ARRAY) whose batch would hold 2 GiB or
more decoded is refused as too large, before reading it, by the API (413) and the loader
(``too_large``) alike: pyarrow reads such a column decoded, its dictionary pages too
(``read_dictionary`` is for BYTE_ARRAY), so one 64 KiB value on 40,000 records, a 241 KB file,
took the API 2.7 GB and a 202, and the loader held the file for ever ("FixedSizeBinary array
too large to cast to Binary array", 2.7 GB at every pass) (review finding revl s14 13, HIGH).
A narrower column of the same records still loads as sent.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import lakehouse, run

from lakehouse import parquet


def _file(rows: int, width: int, group: int) -> bytes:
    """One value of ``width`` bytes on ``rows`` records, dictionary-encoded, in row groups of
    ``group`` records (pyarrow decodes a group to write it: memory is a group's)."""
    value = pa.array([b"\xab" * width], pa.binary(width))
    schema = pa.schema([("id", pa.int64()), ("b", pa.dictionary(pa.int32(), value.type))])
    out = io.BytesIO()
    with pq.ParquetWriter(out, schema) as writer:
        for start in range(0, rows, group):
            n = min(group, rows - start)
            col = pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), value)
            writer.write_table(pa.table([pa.array(range(start, start + n)), col], schema=schema))
    return out.getvalue()


def test_a_fixed_size_binary_batch_past_2_gib_is_too_large(tmp_path: Path) -> None:
    # 40 row groups of 1,000 records; a batch of read_batch_rows spans them: 2.6 GB decoded
    data = _file(40_000, 65_536, 1_000)
    assert len(data) < 400_000
    settings = lakehouse(tmp_path)
    out = run(settings, [("d", "d.parquet", data), ("e", "e.csv", b"x\n1\n")], rows=False)
    said = "column 'b': 40,000 records (one read of read_batch_rows) of fixed_size_binary(65536)"
    assert out["d"].api_status == 413, out["d"].api_detail
    assert said in str(out["d"].api_detail), out["d"].api_detail
    refused = out["d"].refused
    assert refused is not None and refused["kind"] == "too_large", refused
    assert said in refused["reason"], refused
    assert out["e"].loaded_rows is not None, "the pass stopped"


def test_the_bound_counts_a_batch_not_the_file() -> None:
    # 40,000 records of 64 KiB in row groups of 1,000, read in batches of 16,384: 1 GiB each
    file = pq.ParquetFile(io.BytesIO(_file(40_000, 65_536, 1_000)))
    assert parquet.wide_too_large(file, 16_384, by_group=False) is None
    assert parquet.wide_too_large(file, 40_000, by_group=True) is None
    assert parquet.wide_too_large(file, 40_000, by_group=False) is not None


def test_a_narrower_fixed_size_binary_loads_as_sent(tmp_path: Path) -> None:
    data = _file(2_000, 1_024, 2_000)
    settings = lakehouse(tmp_path)
    out = run(settings, [("d", "d.parquet", data)])
    assert out["d"].api_status == 202, out["d"].api_detail
    loaded = out["d"].loaded_rows
    assert loaded is not None and len(loaded) == 2_000, out["d"].refused
    assert {bytes(r["b"]) for r in loaded} == {b"\xab" * 1_024}
