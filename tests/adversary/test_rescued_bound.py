"""A batch whose values that do not fit would make more ``_rescued_data`` text than one Arrow
array holds (2 GiB) is refused as ``too_large``, counted from the values' lengths before any of
that text is made (``lakehouse.rescued``, ``docs/loading.md``, Mismatches). Before (review
finding revl 02): a 0.8 MB Parquet file of one 3,000-character value of control characters
(each written ``\\u0001``: 18 KB of JSON a record) on 122,880 records, into a table whose
``n`` is ``BIGINT``, got 202, then the loader took 7-12 GB and stopped on an Arrow memory
error or offset overflow, a reason that is not what happened. Since a batch is read in pieces
of at most 64 MiB of decoded dictionary text (``parquet.decoded_pieces``, revl 08) that file
loads, a piece at a time; a column's name counts on every record it rescues, and a long one
still passes the bound in a 59 KB file."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse import parquet, rescued
from loader.fitting import ColumnPlan, Typer, _rescued_json, _rescued_text

ROWS = 122_880  # read_batch_rows' default: one batch


def _parquet(value: str, rows: int) -> bytes:
    column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([value]))
    out = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64()), "n": column}), out)
    return out.getvalue()


def _int_file() -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"id": [1], "n": pa.array([5], pa.int64())}), out)
    return out.getvalue()


_texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_texts.filter(bool), _texts, min_size=1, max_size=5))
def test_the_count_is_the_text_rescue_writes(obj: dict[str, str]) -> None:
    """Each entry's name, value and 4 bytes: exactly the bytes of a row's ``_rescued_data``."""
    counted = sum(
        rescued.entry_bytes(k, 1, rescued.json_string_bytes(pa.array([v]))) for k, v in obj.items()
    )
    assert counted == len(_rescued_text(obj).encode())  # type: ignore[arg-type]


@settings(deadline=None)  # a loaded machine: no deadline on an example
@given(st.lists(st.one_of(st.none(), _texts), max_size=20), st.integers(0, 5))
def test_json_string_bytes_of_a_slice(values: list[str | None], skip: int) -> None:
    texts = pa.array(values, pa.string()).slice(min(skip, len(values)))
    kept = [v for v in texts.to_pylist() if v is not None]
    want = sum(len(json.dumps(v, ensure_ascii=False).encode()) for v in kept)
    assert rescued.json_string_bytes(texts) == want
    assert rescued.most_json_bytes(texts) >= want


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.binary(max_size=12)), max_size=20))
def test_bytes_are_counted_as_rescue_writes_them(values: list[bytes | None]) -> None:
    """Parquet bytes: a value with text as a JSON string, one without as its base64 object."""
    column = pa.array(values, pa.binary())
    texts, gaps = parquet.texts_and_gaps(column)
    wrong = pc.is_valid(column)
    count, size = rescued.text_sizes("b", texts, wrong, True, gaps, column)
    written = [
        _rescued_text({"b": v.decode() if _utf8(v) else {"base64": parquet.rescued_bytes(v)}})
        for v in values
        if v is not None
    ]
    assert count == len(written) and size == sum(len(t.encode()) for t in written)
    assert rescued.text_sizes("b", texts, wrong, False, gaps, column)[1] >= size


def _utf8(value: bytes) -> bool:
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True


_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), _texts),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_json_values, min_size=1, max_size=8), st.booleans())
def test_json_values_are_counted_as_rescue_writes_them(values: list[object], ascii: bool) -> None:
    """A JSON file's values (their JSON text as read, escapes or not): a string as its
    characters in a JSON string, any other value as its text."""
    sent = [
        None if v is None else json.dumps(v, ensure_ascii=ascii, separators=(",", ":"))
        for v in values
    ]
    column = pa.array(sent, pa.string())
    typer = Typer([ColumnPlan("n", "BIGINT", "declared", pa.int64())], "rescue", json_text=True)
    wrong = pc.is_valid(column)
    count, size = typer._rescued_size(typer.plans[0], wrong, column, True)
    written = [
        _rescued_text({"n": v})  # type: ignore[dict-item]
        for v, s in zip(_rescued_json(column), sent, strict=True)
        if s is not None
    ]
    assert count == len(written) and size == sum(len(t.encode()) for t in written)
    assert typer._rescued_size(typer.plans[0], wrong, column, False)[1] >= size


_LOAD = textwrap.dedent(
    """
    import json, os, re, resource, sys
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[3]),) * 2)
    sys.path.insert(0, sys.argv[4])
    from adversary_support import lakehouse, run, tree_peaks
    from fastapi.testclient import TestClient
    from ingest import create_app

    settings = lakehouse(Path(sys.argv[1]))
    big = Path(sys.argv[2])
    first = run(settings, [("t", "a.parquet", big.with_name("a.parquet").read_bytes())])
    assert first["t"].refused is None, first["t"].refused
    with TestClient(create_app(settings)) as client:
        outcome = run(settings, [("t", "b.parquet", big.read_bytes())], client, rows=False)["t"]
        # the API checks a Parquet file in a worker (a forkserver's child), kept while its app
        # runs: its peak is the check's, which this process's own does not show
        checkers = tree_peaks(os.getpid())
    # this process image's peak resident size: VmHWM, not ru_maxrss, which survives exec and
    # counts the forking test process (an xdist worker's GBs)
    status = open("/proc/self/status").read()
    peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status)[1])
    vm = [line for line in status.splitlines() if line.startswith("VmPeak")]
    print(json.dumps({"api": [outcome.api_status, outcome.api_detail],
                      "refused": outcome.refused, "peak_kib": peak, "vm": vm,
                      "checkers_mib": list(checkers.values())}))
    """
)

#: The address space the load may take (the interpreter, pyarrow, DuckDB and their threads
#: reserve 2.4-3.8 GB of it, touching 0.6 GB): a stop before the machine's memory, the bound
#: asserted is the peak resident memory
_ADDRESS_SPACE = 6_000_000_000


def test_a_batch_rescuing_past_2_gib_is_too_large(tmp_path: Path) -> None:
    """A 59 KB file: a 17,500-character column name the table has as ``BIGINT``, on 245,760
    records of which the second batch's do not fit (17,509 bytes of ``_rescued_data`` a
    record): that batch is refused by the API and the loader, named by its records, the name
    by its first 80 characters, in the memory of reading the file (the values are one
    character), not of its rescue."""
    name = "c" * 17_500
    (tmp_path / "files").mkdir()
    out = tmp_path / "files" / "a.parquet"
    pq.write_table(pa.table({name: pa.array([5], pa.int64())}), out)
    big = tmp_path / "files" / "b.parquet"
    pq.write_table(pa.table({name: pa.array(["5"] * ROWS + ["x"] * ROWS)}), big)
    assert big.stat().st_size < 100_000
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["MALLOC_ARENA_MAX"] = "2"  # glibc's arenas per thread: address space, not memory
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _LOAD,
            str(tmp_path / "lake"),
            str(big),
            str(_ADDRESS_SPACE),
            str(Path(__file__).parent),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    words = (
        "records 122,881 to 245,760 (one batch): the values that do not fit their columns would"
        " be rescued into _rescued_data as 2,151,505,920 bytes of JSON text"
        f" ({'c' * 80!r}... (17,500 characters) 122,880 values, 2,151,505,920 bytes), more than"
        " one Arrow array holds for a batch (2,147,483,647 bytes, 2 GiB)"
    )
    refused = found["refused"]
    assert refused is not None and refused["kind"] == "too_large", refused
    assert words in refused["reason"] and refused["column"] == name, refused
    assert found["peak_kib"] < 1024**2, found  # its rescue would take several GB
    # the API's check, in its workers since 434da65: the forkserver and a worker at least
    assert len(found["checkers_mib"]) >= 2, found
    assert max(found["checkers_mib"]) < 1024, found
    assert found["api"][0] == 413, found["api"]  # the same rule, the same words
    assert words in str(found["api"][1]), found["api"]


def test_a_batch_just_within_it_loads(tmp_path: Path) -> None:
    """The bound is the text's, not the values': 1,000 rescued control characters a record
    (6,009 bytes of JSON) load, each record's ``_rescued_data`` the value as sent."""
    from adversary_support import lakehouse, run

    settings = lakehouse(tmp_path)
    assert run(settings, [("t", "a.parquet", _int_file())])["t"].refused is None
    outcome = run(settings, [("t", "b.parquet", _parquet("\x01" * 1_000, 4_096))])["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = outcome.loaded_rows
    assert rows is not None and len(rows) == 4_097
    kept = [json.loads(r["_rescued_data"]) for r in rows if r["_rescued_data"] is not None]
    assert kept == [{"n": "\x01" * 1_000}] * 4_096


def test_the_api_counts_only_under_rescue(tmp_path: Path) -> None:
    """Under ``on_mismatch: quarantine`` nothing is rescued: the loader refuses the first misfit
    (``type_conflict``), so the API does not count (its 202 as before)."""
    from ingest.filecheck import FileError, check_file
    from lakehouse.formats import FileFormat

    name = "c" * 17_500
    path = tmp_path / "b.parquet"
    pq.write_table(pa.table({name: pa.array(["x"] * ROWS)}), path)
    kind = FileFormat("parquet", False)
    stored = {name: pa.int64()}
    assert check_file(path, kind, None, existing=[name], stored=stored, rescue=False) == ROWS
    with pytest.raises(FileError, match="2 GiB") as refused:
        check_file(path, kind, None, existing=[name], stored=stored)
    assert refused.value.status == 413
