"""A bronze column of bytes (an earlier Parquet file's binary column, no contract then) keeps
its type when a contract written later declares it text (``varchar``, ``json``): the API judges
it as the loader stores it (``contracts.as_loaded``): a JSON or CSV value is no bytes (a
mismatch: 422 under ``quarantine``, rescued by default), a Parquet file's bytes join it as
written. *Before:* (until session 13) the API judged it as declared: 202 for texts and numbers
the loader then quarantined, 422 for bytes the loader stored (review finding revl 11)."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, lakehouse, run


def _parquet(values: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"b": values}), out)
    return out.getvalue()


@pytest.mark.parametrize("declared", ["varchar", "json"])
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("b.ndjson", b'{"b":"\\"hi\\""}\n'),
        ("b.ndjson", b'{"b":7}\n'),
        ("b.csv", b"b\n7\n"),
        ("b.parquet", _parquet(pa.array([b"\xfe"], pa.binary()))),
        ("b.parquet", _parquet(pa.array(['"x"'], pa.string()))),
        ("b.parquet", _parquet(pa.array([b"\xfe", b"\xfe"], pa.binary()).dictionary_encode())),
    ],
    ids=[
        "ndjson-string",
        "ndjson-number",
        "csv-number",
        "parquet-bytes",
        "parquet-string",
        "parquet-dictionary-of-bytes",
    ],
)
def test_the_api_judges_a_bytes_column_as_the_loader_stores_it(
    tmp_path: Path, declared: str, name: str, data: bytes
) -> None:
    settings = lakehouse(tmp_path)
    first = run(settings, [("t", "a.parquet", _parquet(pa.array([b"\xff"], pa.binary())))])
    assert first["t"].refused is None, first["t"].refused
    declare(settings, "t", {"b": declared}, "quarantine")
    out = run(settings, [("t", name, data)], rows=False)["t"]
    assert (out.api_status == 202) == (out.refused is None), (
        out.api_status,
        out.api_detail,
        out.refused,
    )
