"""A Parquet map whose key is annotated Null (DuckDB writes its empty ``MAP()`` so: pyarrow reads
``map<null, null>``) is loaded as what it holds: a key is never null, so every such map is empty
or null, stored as ``map<string, string>`` (``docs/loading.md``, Parquet), by the API and the
loader alike.

*Before* (review findings s17 revc 05 and 07): a map of such maps (``MAP {'k': MAP()}``) made
Arrow C++ abort the whole API process at its Parquet check (a view of the map's entries,
"Map array keys array should have no nulls": no ``except`` catches it), and every other such
file was taken by the API (202) and held by the loader in the landing zone pass after pass
("A null type field may not be non-nullable", taken for storage trouble), every later file of
its table with it. The API here is a real server in a child process: an abort ends it, and the
test says so instead of dying with it.

Since session 18 the API checks a Parquet file in a worker process (``ingest.parsing``): an
abort there ends the worker, not the server. The last test here aborts the real server's
workers (SIGABRT, from outside: no file aborting Arrow C++ 26 through the API's checks is known
today) and posts the next file.
"""

from __future__ import annotations

import base64
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import (
    _bronze,
    _drop,
    _error,
    bronze_table,
    lakehouse,
    post_file,
    run,
    run_measured,
)
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from waiting import wait_for

from lakehouse import Settings, parquet
from lakehouse.layout import raw_dir
from loader import Loader

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")

#: DuckDB's values (a row each, after ``1::BIGINT AS id``), each holding a map of Null keys
CASES = {
    "map": ["MAP()", "NULL", "MAP()"],
    "list_of_map": ["[MAP()]", "NULL", "[NULL, MAP()]"],
    "struct_of_map": ["{'x': MAP()}", "NULL", "{'x': NULL}"],
    "list_of_struct": ["[{'m': MAP()}]", "NULL", "[{'m': NULL}, NULL]"],
    "struct_of_map_and_int": ["{'x': MAP(), 'y': 2}", "NULL", "{'x': NULL, 'y': NULL}"],
    "map_of_map": ["MAP {'k': MAP()}", "NULL", "MAP {'k': NULL, 'j': MAP()}"],
}


def _duckdb_file(values: list[str], first: int = 0) -> bytes:
    """A Parquet file DuckDB writes: ``id`` ``first``, ``first + 1``, ... and ``v`` each of
    ``values``."""
    rows = " UNION ALL ".join(
        f"SELECT {i}::BIGINT AS id, {v} AS v" for i, v in enumerate(values, first)
    )
    with tempfile.TemporaryDirectory() as folder, duckdb.connect() as con:
        out = Path(folder) / "duck.parquet"
        con.sql(f"COPY (SELECT * FROM ({rows}) ORDER BY id) TO '{out}' (FORMAT parquet)")
        return out.read_bytes()


def _as_written(data: bytes) -> list[dict[str, Any]]:
    """The file's rows as pyarrow reads them (its maps: lists of (key, value) pairs)."""
    return pq.read_table(io.BytesIO(data)).to_pylist()


def _null_keyed(t: pa.DataType) -> bool:
    """Whether ``t`` holds, at any depth, a map whose key type is ``null``."""
    if pa.types.is_map(t):
        return pa.types.is_null(t.key_type) or _null_keyed(t.item_type)
    if pa.types.is_struct(t):
        return any(_null_keyed(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_list(t):
        return _null_keyed(t.value_type)
    return False


@contextmanager
def _serving(root: Path) -> Iterator[tuple[Settings, str, Any]]:
    """A real API (``lakehouse api``) in a child process serving a lakehouse at ``root``, its
    settings (for the loader, in this process), its URL and the process."""
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
            mp.delenv(key)
        settings = lakehouse(root)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
        env |= {
            "LAKEHOUSE_ROOT": str(root),
            "LAKEHOUSE_DBT_PROJECT_DIR": str(settings.dbt_project_dir),
            "LAKEHOUSE_API_MIN_FREE_BYTES": "0",
            "LAKEHOUSE_API_RATE_PER_TOKEN": "0",
            "LAKEHOUSE_BATCH_WINDOW_MS": "0",
            "LAKEHOUSE_API_READY_REQUIRES_LOADER": "false",
        }
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        url = f"http://127.0.0.1:{port}"
        child = subprocess.Popen(
            [LAKEHOUSE, "api", "--port", str(port)],
            env=env,
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:

            def up() -> bool:
                try:
                    return httpx.get(f"{url}/health").status_code == 200
                except httpx.TransportError:
                    return child.poll() is not None  # it died: said by the tests

            wait_for(up, 180, "the API to start")
            yield settings, url, child
        finally:
            child.terminate()
            child.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str, Any]]:
    """A real API (``lakehouse api``) in a child process, for the module's tests."""
    with _serving(tmp_path_factory.mktemp("nullkey")) as served:
        yield served


@pytest.mark.parametrize("case", list(CASES))
def test_a_duckdb_map_of_null_keys_is_taken_and_loaded_as_written(
    server: tuple[Settings, str, Any], case: str
) -> None:
    settings, url, child = server
    data = _duckdb_file(CASES[case])
    written = pq.read_schema(io.BytesIO(data))
    assert _null_keyed(written.field("v").type), written  # what the test is about
    assert child.poll() is None, "the API process had ended before this file"
    with httpx.Client(base_url=url) as api:
        try:
            r = post_file(api, case, "a.parquet", data)
        except httpx.TransportError as exc:  # before: Arrow aborted the server (map_of_map)
            child.wait(timeout=30)
            pytest.fail(f"the API process ended on the file ({exc!r}; exit {child.returncode})")
        assert r.status_code == 202, r.text
        assert r.json()["records"] == len(CASES[case])
        assert api.get("/health").status_code == 200  # still serving
    assert child.poll() is None
    summary = Loader(settings).load_pending()
    assert not summary.held, summary.held  # before: held pass after pass
    assert not summary.quarantined, summary.quarantined
    rows = sorted(_bronze(settings, case) or [], key=lambda r: r["id"])
    assert [{"id": r["id"], "v": r["v"]} for r in rows] == _as_written(data)
    stored = bronze_table(settings, case).schema.field("v").type
    assert not _null_keyed(stored)
    assert "map<string, string>" in str(stored)


def test_a_good_file_beside_one_is_loaded(one_lakehouse: Settings) -> None:
    """The loader alone (files dropped into the landing zone): a map of Null keys and a good
    file of the same table both load in one pass; before, both were held, pass after pass."""
    _drop(one_lakehouse, "t", "a.parquet", _duckdb_file(CASES["map"]))
    good = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([7], pa.int64())}), good)
    _drop(one_lakehouse, "t", "b.parquet", good.getvalue())
    summary = Loader(one_lakehouse).load_pending()
    assert not summary.held and not summary.quarantined, summary
    assert sorted(f.file for f in summary.loaded) == ["a.parquet", "b.parquet"]
    assert not any(raw_dir(one_lakehouse, "t").iterdir())
    rows = sorted(_bronze(one_lakehouse, "t") or [], key=lambda r: r["id"])
    assert [(r["id"], r["v"]) for r in rows] == [(0, []), (1, None), (2, []), (7, None)]


def test_a_table_of_integer_maps_takes_empty_maps_as_written(one_lakehouse: Settings) -> None:
    """A table whose map column holds integers (``map<string, bigint>``) takes a later file of
    DuckDB's empty maps as they are (a map of no entry fits any map of text keys: the widening
    rule, ``docs/loading.md``), by the API and the loader alike."""
    first = _duckdb_file(["MAP {'a': 1::BIGINT}"])
    later = _duckdb_file(["MAP()", "NULL"], first=1)
    outcome = run(one_lakehouse, [("t", "a.parquet", first)])["t"]
    assert outcome.api_status == 202 and outcome.refused is None, outcome
    outcome = run(one_lakehouse, [("t", "b.parquet", later)])["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    table = bronze_table(one_lakehouse, "t")
    assert table.schema.field("v").type == pa.map_(pa.string(), pa.int64())
    rows = sorted(table.select(["id", "v"]).to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], r["v"]) for r in rows] == [(0, [("a", 1)]), (1, []), (2, None)]
    assert _error(one_lakehouse, "t") is None


def _extension_keyed(t: pa.DataType) -> pa.DataType:
    """``t`` with each map key of type ``null`` as an ``arrow.opaque`` extension over it."""
    if pa.types.is_map(t):
        key = t.key_type
        if pa.types.is_null(key):
            key = pa.opaque(pa.null(), "k", "v")
        return pa.map_(pa.field("key", key, False), _extension_keyed(t.item_type))
    if pa.types.is_struct(t):
        return pa.struct(
            [
                pa.field(t.field(i).name, _extension_keyed(t.field(i).type))
                for i in range(t.num_fields)
            ]
        )
    if pa.types.is_list(t):
        return pa.list_(_extension_keyed(t.value_type))
    return t


def _duckdb_file_extension_keyed(values: list[str]) -> bytes:
    """:func:`_duckdb_file` with an ``ARROW:schema`` naming each map key of type null an
    ``arrow.opaque`` extension over it (as an Arrow writer stores its schema): pyarrow reads
    such a map as ``map<extension<arrow.opaque[storage_type=null]>, ...>``."""
    plain = pq.read_schema(io.BytesIO(_duckdb_file(values)))
    schema = pa.schema([pa.field(f.name, _extension_keyed(f.type)) for f in plain])
    stored = base64.b64encode(schema.serialize().to_pybytes()).decode()
    rows = " UNION ALL ".join(f"SELECT {i}::BIGINT AS id, {v} AS v" for i, v in enumerate(values))
    with tempfile.TemporaryDirectory() as folder, duckdb.connect() as con:
        out = Path(folder) / "duck.parquet"
        con.sql(
            f"COPY (SELECT * FROM ({rows}) ORDER BY id) TO '{out}'"
            f" (FORMAT parquet, KV_METADATA {{'ARROW:schema': '{stored}'}})"
        )
        return out.read_bytes()


@pytest.mark.parametrize("case", list(CASES))
def test_a_map_keyed_by_an_extension_over_null_is_loaded_alike(
    one_lakehouse: Settings, case: str
) -> None:
    """A map whose keys are an extension type over ``null`` holds no entry either (its keys
    hold no value): read as a map of ``string`` keys, as a map of ``null`` keys is. *Before*
    (session 18, fixe: the one input found reaching the loader's quarantine of "a type bronze
    cannot store"), the API answered 500 (``ValueError: A null type field may not be
    non-nullable``, rebuilding the map's key field) and the loader quarantined the file
    (``type_conflict``)."""
    data = _duckdb_file_extension_keyed(CASES[case])
    written = pq.read_schema(io.BytesIO(data)).field("v").type
    assert "arrow.opaque[storage_type=null" in str(written), written  # what the test is about
    outcome = run(one_lakehouse, [("t", "a.parquet", data)])["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = sorted(outcome.loaded_rows, key=lambda r: r["id"])
    assert [{"id": r["id"], "v": r["v"]} for r in rows] == _as_written(data)
    assert "map<string, string>" in str(bronze_table(one_lakehouse, "t").schema.field("v").type)


def _null_keyed_with_entries() -> bytes:
    """DuckDB's ``MAP {7::INTEGER: NULL}`` with its key annotated Null in the footer (the
    Thrift of the key's schema element: its converted type INT_32 replaced by the logical type
    UNKNOWN, as DuckDB writes ``MAP()``'s key; the footer's length rewritten): a map whose key
    type is null holding an entry, the key 7 read as null. No writer was found writing one."""
    data = _duckdb_file(["MAP {7::INTEGER: NULL}"])
    size = int.from_bytes(data[-8:-4], "little")
    body, footer = data[: -8 - size], data[-8 - size : -8]
    int_32 = bytes.fromhex("1803" + b"key".hex() + "252200")  # name 'key', converted_type 17
    unknown = bytes.fromhex("1803" + b"key".hex() + "6cbc000000")  # logicalType UNKNOWN
    assert footer.count(int_32) == 1, footer.hex()
    footer = footer.replace(int_32, unknown)
    return body + footer + len(footer).to_bytes(4, "little") + b"PAR1"


def test_a_map_of_null_keys_holding_an_entry_is_refused_alike(one_lakehouse: Settings) -> None:
    """A key is never null: such a file does not parse, for the API (400) and the loader
    (``unparseable``) in the same words; before, the API said so and the loader held it."""
    data = _null_keyed_with_entries()
    written = pq.ParquetFile(io.BytesIO(data)).schema_arrow.field("v").type
    assert pa.types.is_map(written) and pa.types.is_null(written.key_type), written
    outcome = run(one_lakehouse, [("t", "a.parquet", data)])["t"]
    assert outcome.api_status == 400, outcome.api_detail
    assert "does not parse as Parquet" in outcome.api_detail, outcome.api_detail
    assert outcome.refused is not None, "held in the landing zone"
    assert outcome.refused["kind"] == "unparseable", outcome.refused
    assert outcome.refused["reason"] == outcome.api_detail


_LOOK_INTO = """
import sys
import pyarrow.parquet as pq
from lakehouse import parquet
column = pq.read_table(sys.argv[1]).column("v").combine_chunks()
for values in (column, column.slice(1), column.slice(0, 1)):
    leaves = list(parquet._leaves(values, int))
    print(len(leaves), [len(e) for e in parquet._entries(values).values.flatten()])
"""


def test_arrow_looks_into_a_map_of_such_maps_as_read(tmp_path: Path) -> None:
    """The map of such maps as pyarrow reads it (before it is read as text keys), looked into as
    the checks of values do (their leaves, the map's entries): in a child, where an abort ends
    only the child. Before, a view of its entries aborted (exit -6)."""
    path = tmp_path / "a.parquet"
    path.write_bytes(_duckdb_file(["MAP {'k': MAP()}", "NULL"]))
    lines, _ = run_measured(_LOOK_INTO, str(path))
    assert lines == ["3 [1, 1]", "3 [0, 0]", "3 [1, 1]"], lines


@hyp_settings(max_examples=60, deadline=None)
@given(
    maps=st.lists(
        st.none()
        | st.lists(st.tuples(st.text(max_size=3), st.none() | st.integers(-9, 9)), max_size=3),
        max_size=8,
    ),
    start=st.integers(0, 8),
    length=st.integers(0, 8),
)
def test_entries_built_from_a_maps_parts_are_its_view(
    maps: list[list[tuple[str, int | None]] | None], start: int, length: int
) -> None:
    """``parquet.built_entries`` (what a map holding a map of null keys is looked into as) is
    the list Arrow's view of any map gives: its nulls, its slices."""
    values = pa.array(maps, pa.map_(pa.string(), pa.int64())).slice(start, length)
    t = values.type
    view = values.view(pa.list_(pa.field("entries", pa.struct([t.key_field, t.item_field]), False)))
    built = parquet.built_entries(values)
    built.validate(full=True)
    assert built.equals(view), (built, view)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            state, parent = stat.rsplit(")", 1)[1].split()[:2]
            if int(parent) == pid and state != "Z":
                found.append(int(entry.name))
    return found


def _forkservers(api: int) -> list[int]:
    """The API's ``forkserver`` processes (multiprocessing's)."""
    servers = []
    for pid in _children(api):
        try:
            if b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                servers.append(pid)
        except OSError:
            continue
    return servers


def _file_checkers(api: int) -> list[int]:
    """The API's worker processes: the children of its ``forkserver``."""
    return [worker for server in _forkservers(api) for worker in _children(server)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_an_aborted_file_checker_leaves_the_api_serving(server: tuple[Settings, str, Any]) -> None:
    """The real API's Parquet checkers aborted (SIGABRT, as Arrow C++ aborts): the server
    lives, and the next file is checked (202) in new ones. Before, there were no checkers: the
    API checked a Parquet file in its own process, and an abort ended it."""
    _, url, child = server
    good = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64())}), good)
    with httpx.Client(base_url=url) as api:
        assert post_file(api, "apart", "a.parquet", good.getvalue()).status_code == 202
        workers = _file_checkers(child.pid)
        assert workers, "no process apart from the API's own checked the Parquet file"
        for pid in workers:
            os.kill(pid, signal.SIGABRT)
        wait_for(lambda: not set(workers) & set(_file_checkers(child.pid)), 60, "the aborts")
        r = post_file(api, "apart", "b.parquet", good.getvalue())
        assert r.status_code == 202, r.text
        assert r.json()["records"] == 2
        assert api.get("/health").status_code == 200
        assert child.poll() is None
        assert post_file(api, "apart", "c.parquet", good.getvalue()).status_code == 202
        assert set(_file_checkers(child.pid)) - set(workers), "no new checkers"


def test_the_file_checkers_end_with_a_killed_api(tmp_path: Path) -> None:
    """An API process killed (SIGKILL: no shutdown of its pools) takes its Parquet checkers
    and their forkserver with it. Before, they waited for work for ever, pyarrow loaded (~150
    MiB), and the forkserver with them (each worker holds the pipe that ends it)."""
    good = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1], pa.int64())}), good)
    with _serving(tmp_path) as (_, url, child), httpx.Client(base_url=url) as api:
        assert post_file(api, "t", "a.parquet", good.getvalue()).status_code == 202
        left = _forkservers(child.pid) + _file_checkers(child.pid)
        assert len(left) >= 2, left  # a forkserver and a worker at least
        child.kill()
        child.wait(timeout=30)
        wait_for(lambda: not any(_alive(pid) for pid in left), 60, "the checkers to end")
