"""A Parquet dictionary of a few long values referenced by many records is checked without
decoding it whole: a 4 KB file (four 1 MiB values on 1,000 records: 1 GiB decoded) drove a real
API to about 1.2 GB of resident memory (past the compose file's 1 GiB for the API container),
or, its address space bounded, to an untrue 400 "does not parse as Parquet: realloc of size
1073741824 failed" (review finding revl 08). pyarrow decoded a plain binary or string column's
dictionary pages one value per record as it read, and ``lakehouse.parquet.plain_batch`` a
dictionary column the file's ``ARROW:schema`` keeps. Now such a column is read as its
dictionary and decoded a piece of at most ``DECODED_BATCH_BYTES`` at a time
(``lakehouse.parquet.decoded_pieces``), by the API and the loader alike: the file is taken
(202) and loaded as sent."""

from __future__ import annotations

import io
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, run, tree_peaks
from hypothesis import given, settings
from hypothesis import strategies as st
from waiting import wait_for

from lakehouse import parquet
from lakehouse.settings import Settings

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")
#: The API process's address space: it starts at about 1.85 GB of it (thread stacks, arenas);
#: before, the request needed more than 1.1 GB past that
ADDRESS_SPACE = 3_000_000_000


def _file(kind: pa.DataType, rows: int, size: int, *, arrow_schema: bool) -> bytes:
    """``rows`` records cycling through four values of ``size`` bytes, dictionary-encoded."""
    values = [chr(ord("A") + i) * size for i in range(4)]
    column = pa.DictionaryArray.from_arrays(
        pa.array([i % 4 for i in range(rows)], pa.int32()),
        pa.array([v.encode() for v in values] if kind == pa.binary() else values, kind),
    )
    out = io.BytesIO()
    table = pa.table({"id": pa.array(range(rows), pa.int64()), "b": column})
    pq.write_table(table, out, compression="zstd", store_schema=arrow_schema)
    return out.getvalue()


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(
    ("kind", "arrow_schema"),
    [
        pytest.param(pa.binary(), False, marks=pytest.mark.slow),
        pytest.param(pa.binary(), True, marks=pytest.mark.slow),
        (pa.string(), False),
    ],
    ids=["bytes", "bytes-arrow-dictionary", "text"],
)
def test_a_tiny_file_decoding_to_a_gib_is_taken_within_bounded_memory(
    tmp_path: Path, kind: pa.DataType, arrow_schema: bool
) -> None:
    data = _file(kind, 1000, 1024**2, arrow_schema=arrow_schema)
    assert len(data) < 8_000  # 1 GiB decoded
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env |= {"LAKEHOUSE_ROOT": str(tmp_path), "LAKEHOUSE_API_MIN_FREE_BYTES": "0"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with httpx.Client() as probe:
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [LAKEHOUSE, "api", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_bounded,
        )
        try:

            def up() -> bool:
                try:
                    return probe.get(f"{url}/health").status_code == 200
                except httpx.TransportError:
                    return server.poll() is not None  # it died: said below

            wait_for(up, 180, "the API to start")
            assert server.poll() is None, "the API did not start within its address space"
            before = _peak_rss(server.pid)
            r = probe.post(
                f"{url}/v1/tables/dict/files",
                params={"filename": "d.parquet"},
                content=data,
                headers={"content-type": "application/octet-stream"},
                timeout=120,
            )
            assert r.status_code == 202, r.text
            assert r.json()["records"] == 1000
            assert server.poll() is None
            grown = _peak_rss(server.pid) - before
            assert grown < 512 * 1024**2, f"the API's peak RSS grew by {grown / 1024**2:.0f} MiB"
            # the check ran in a worker (ingest.parsing, a forkserver's child), kept for the
            # API's life: its peak is the check's. Before (revl 08, in the API process): +1,028
            # MiB (VmHWM 146 -> 1,174 MiB); now forkserver about 92 MiB, worker about 227 MiB
            peaks = tree_peaks(server.pid)
            assert len(peaks) >= 2, peaks  # the forkserver and a worker at least
            assert max(peaks.values()) < 512, f"peak MiB of the API's processes: {peaks}"
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.mark.parametrize("arrow_schema", [False, True], ids=["bytes", "bytes-arrow-dictionary"])
def test_a_file_decoding_past_the_bound_loads_as_sent(
    one_lakehouse: Settings, arrow_schema: bool
) -> None:
    """Past ``DECODED_BATCH_BYTES`` (64 MiB: 1,100 records of 64 KiB values, about 70 MiB),
    the API and the loader read it in pieces alike: taken, and every value in bronze as sent."""
    size, rows = 64 * 1024, 1100
    assert rows * size > parquet.DECODED_BATCH_BYTES
    data = _file(pa.binary(), rows, size, arrow_schema=arrow_schema)
    outcome = run(one_lakehouse, [("dict", "d.parquet", data)], rows=False)["dict"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    bronze = bronze_table(one_lakehouse, "dict").sort_by("id")
    assert bronze.column("id").to_pylist() == list(range(rows))
    want = pa.array([(chr(ord("A") + i % 4) * size).encode() for i in range(rows)], pa.binary())
    assert pc.all(pc.equal(bronze.column("b").cast(pa.binary()), want)).as_py()


def _shaped(shape: str, lengths: list[int]) -> pa.Array:
    """A column holding a dictionary of text whose values are ``lengths`` long, record ``i``
    referencing value ``i % len``, in ``shape``: the column itself, a struct's field, a list's
    items (two per record), a map's values."""
    rows = len(lengths)
    d = pa.DictionaryArray.from_arrays(
        pa.array([i % rows for i in range(2 * rows)], pa.int32()),
        pa.array(["x" * n for n in lengths], pa.string()),
    )
    if shape == "flat":
        return d.slice(0, rows)
    if shape == "struct":
        return pa.StructArray.from_arrays([d.slice(0, rows)], ["b"])
    offsets = pa.array(range(0, 2 * rows + 1, 2), pa.int32())
    if shape == "list":
        return pa.ListArray.from_arrays(offsets, d)
    keys = pa.array([str(i) for i in range(2 * rows)], pa.string())
    return pa.MapArray.from_arrays(offsets, keys, d)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from(["flat", "struct", "list", "map"]),
    lengths=st.lists(st.integers(0, 300), min_size=1, max_size=40),
    bound=st.integers(1, 1000),
    start=st.integers(0, 3),
)
def test_pieces_hold_every_record_once_within_the_bound(
    shape: str, lengths: list[int], bound: int, start: int
) -> None:
    """``decoded_pieces``: the records in order, each once, every piece within the bound but
    one of a single record; one piece (the batch) when the whole is within it. The batch may be
    a slice of a read (``start``)."""
    whole = _shaped(shape, lengths)
    ids = pa.array(range(len(lengths)))
    batch = pa.RecordBatch.from_arrays([ids, whole], ["id", "n"]).slice(start)
    column, lengths = whole.slice(start), lengths[start:]
    per_record = [sum(len(x) for x in _texts(v)) for v in column.to_pylist()]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parquet, "DECODED_BATCH_BYTES", bound)
        pieces = list(parquet.decoded_pieces(batch, batch.schema))
    assert [i for p in pieces for i in p.column("id").to_pylist()] == ids.to_pylist()[start:]
    assert [v for p in pieces for v in p.column("n").to_pylist()] == column.to_pylist()
    first = 0
    for piece in pieces:
        held = sum(per_record[first : first + piece.num_rows])
        assert held <= bound or piece.num_rows == 1, (held, piece.num_rows)
        first += piece.num_rows
    if sum(per_record) <= bound:
        assert len(pieces) == 1 and pieces[0] is batch


def _texts(value: object) -> list[str]:
    """The texts in a record's value (a text, a struct's, a list's, a map's values)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    return [t for v in value for t in (_texts(v[1]) if isinstance(v, tuple) else _texts(v))]
