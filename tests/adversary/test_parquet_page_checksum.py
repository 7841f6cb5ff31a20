"""A Parquet page whose CRC (written by its writer in the page header) does not match the
page's bytes refuses the file: the API 400 and the loader ``unparseable``, both naming the
checksum. The file itself proves the stored bytes are not the written ones. *Before:* (until
session 13) pages were read unchecked and bronze held the flipped value as sent: apache/
parquet-testing's ``datapage_v1-corrupt-checksum.parquet`` loaded ``a`` = 454695448 on record
1287 where its writer wrote 454695192 (review finding revp 03). A file whose CRCs match loads;
pages without a CRC are read as before."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import run

from lakehouse.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "parquet-testing"


@pytest.mark.parametrize(
    "name",
    ["datapage_v1-corrupt-checksum.parquet", "rle-dict-uncompressed-corrupt-checksum.parquet"],
)
def test_a_page_failing_its_checksum_refuses_the_file(one_lakehouse: Settings, name: str) -> None:
    outcome = run(one_lakehouse, [("crc", name, (DATA / name).read_bytes())], rows=False)["crc"]
    assert outcome.api_status == 400, outcome.api_detail
    assert "CRC checksum verification failed" in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "unparseable", refused
    assert "CRC checksum verification failed" in refused["reason"], refused


def test_its_twin_whose_checksums_match_loads_as_written(one_lakehouse: Settings) -> None:
    name = "datapage_v1-uncompressed-checksum.parquet"
    outcome = run(one_lakehouse, [("crc", name, (DATA / name).read_bytes())])["crc"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = outcome.loaded_rows
    assert rows is not None and len(rows) == 5120
    assert rows[1286]["a"] == 454695192  # the corrupt twin's flipped byte: 454695448


def test_pages_written_with_checksums_load(one_lakehouse: Settings) -> None:
    table = pa.table(
        {"a": pa.array(range(10_000), pa.int64()), "s": [str(i) for i in range(10_000)]}
    )
    out = io.BytesIO()
    pq.write_table(table, out, write_page_checksum=True, data_page_size=4096)
    outcome = run(one_lakehouse, [("crc", "w.parquet", out.getvalue())])["crc"]
    assert outcome.api_status == 202 and outcome.refused is None, outcome.api_detail
    assert outcome.loaded_rows is not None
    assert sorted(r["a"] for r in outcome.loaded_rows) == list(range(10_000))


def test_a_writer_whose_crc_field_is_a_placeholder_loads(one_lakehouse: Settings) -> None:
    """Parquet.jl writes 0 in every page header's CRC field (its writer.jl: "TODO proper CRC"):
    no checksum to check (``parquet.NO_CHECKSUM_WRITERS``). *Before:* (b7a7392, session 13)
    every file it writes was refused as not parsing (review finding revl 09)."""
    path = (
        Path(__file__).resolve().parents[1] / "data" / "parquet-jl" / "multiple_rowgroups.parquet"
    )
    data = path.read_bytes()
    outcome = run(one_lakehouse, [("jl", "m.parquet", data)])["jl"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = outcome.loaded_rows
    want = pq.read_table(io.BytesIO(data)).to_pylist()
    assert rows is not None and len(rows) == len(want) == 100
    names = list(want[0])
    assert sorted(tuple(r[n] for n in names) for r in rows) == sorted(
        tuple(w[n] for n in names) for w in want
    )
