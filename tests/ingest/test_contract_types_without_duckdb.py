"""A contract's data_type is checked by DuckDB (``contracts.duckdb_refusal``, a07c9d0), which
the API imported the first time it read a contract with a data_type: 46 MiB more resident
(135 -> 181 MiB here). The spellings DuckDB is known to read (``contracts.PLAIN_TYPES``, plain
DECIMALs) need no DuckDB: checked here against DuckDB itself, and the API's process reading a
contract of them never imports it (the brief of fixf, session 15)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse import contracts


@st.composite
def _cased(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if f else c for c, f in zip(text, flips, strict=True))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(contracts.PLAIN_TYPES)).flatmap(_cased))
def test_every_plain_spelling_is_one_duckdb_reads(spelling: str) -> None:
    assert contracts.read_without_duckdb(spelling)
    assert contracts.duckdb_refusal(spelling) is None, spelling


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["decimal", "numeric", "DECIMAL", "Numeric"]),
    st.integers(1, 38).flatmap(lambda w: st.tuples(st.just(w), st.integers(0, w))),
    st.sampled_from([",", ", "]),
    st.booleans(),
)
def test_a_plain_decimal_is_one_duckdb_reads(
    name: str, params: tuple[int, int], comma: str, scaled: bool
) -> None:
    width, scale = params
    spelling = f"{name}({width}{comma}{scale})" if scaled else f"{name}({width})"
    assert contracts.read_without_duckdb(spelling)
    assert contracts.duckdb_refusal(spelling) is None, spelling


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(
        st.tuples(
            st.sampled_from(["varchar", "char", "character", "character varying", "bpchar"]),
            st.integers(0, 999_999_999).map(str),
        ),
        st.tuples(st.sampled_from(["timestamp", "datetime"]), st.integers(0, 9).map(str)),
    ).map(lambda t: f"{t[0]}({t[1]})")
    | st.sampled_from(["numeric", "decimal"]),
    st.booleans(),
)
def test_a_sized_text_or_timestamp_is_one_duckdb_reads(spelling: str, upper: bool) -> None:
    """The spellings exported contracts carry most (before-stop read readB 06, session 15):
    without them in the list, one ``varchar(255)`` or ``timestamp(3)`` column imported DuckDB
    into the API's process."""
    spelling = spelling.upper() if upper else spelling
    assert contracts.read_without_duckdb(spelling)
    assert contracts.duckdb_refusal(spelling) is None, spelling


def test_other_spellings_are_asked_of_duckdb() -> None:
    for spelling in (
        "int(11)",
        "bigint not null",
        "big int",
        " bigint",
        "decimal(5,x)",
        "timestamp(10)",
        "varchar(1) not null",
    ):
        assert not contracts.read_without_duckdb(spelling), spelling


CHILD = textwrap.dedent(
    """
    import os, sys, tempfile
    from pathlib import Path
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        del os.environ[key]
    from fastapi.testclient import TestClient
    from ingest.app import create_app
    from lakehouse.settings import Settings
    root = Path(tempfile.mkdtemp())
    (root / "dbt_project" / "models").mkdir(parents=True)
    (root / "dbt_project" / "models" / "t.yml").write_text(
        "version: 2\\nsources:\\n  - name: bronze\\n    tables:\\n      - name: t\\n"
        "        columns:\\n          - {name: id, data_type: BIGINT}\\n"
        "          - {name: d, data_type: 'decimal(12,2)'}\\n"
        "          - {name: ts, data_type: timestamp}\\n"
    )
    s = Settings(root=root, dbt_project_dir=root / "dbt_project", api_ready_requires_loader=False,
                 api_min_free_bytes=0, api_rate_per_token=0)
    with TestClient(create_app(s)) as client:
        r = client.post("/v1/tables/t/files?filename=a.csv",
                        content=b"id,d,ts\\n1,2.50,2024-01-01 00:00:00\\n",
                        headers={"content-type": "application/octet-stream"})
    print(r.status_code, "duckdb" in sys.modules)
    """
)


def test_the_api_reads_a_contract_of_plain_types_without_duckdb(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["202", "False"], (done.stdout, done.stderr[-2000:])
