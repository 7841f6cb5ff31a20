"""A dbt YAML file that parses but whose bronze source is not shaped as dbt's (``meta:`` a list,
``tables:`` a number or a mapping, a column without a name, ``on_mismatch: drop``) is read as a
file that does not parse: every table's contract is unknown until it is mended, the API refuses
writes (503 naming the file and the shape) and the loader holds the files. Before, ``meta:`` as
a list gave the API a 500 and then, for the store's 2 s refresh, 202s judged without any
contract, and ``lakehouse load`` crashed; ``sources:``/``tables:`` as mappings or
``on_mismatch: drop`` were skipped or ignored without a word (review finding auditl 04, HIGH)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from adversary_support import bronze_table, held_as_misshapen
from fastapi.testclient import TestClient

from ingest.app import create_app
from lakehouse.layout import raw_dir
from lakehouse.settings import Settings
from loader import Loader

GOOD = (
    "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n"
    "        columns:\n          - name: a\n            data_type: bigint\n"
    "            tests: [not_null]\n"
)
BAD = {
    "meta_list": "        meta:\n          - on_mismatch: quarantine\n",
    "columns_mapping": "        columns:\n          a: {data_type: bigint}\n",
    "column_without_name": "        columns:\n          - data_type: bigint\n",
    "policy_unknown": "        meta: {on_mismatch: drop}\n",
    "infer_not_bool": "        meta: {infer_types: maybe}\n",
    # review findings revl 05, revl 06, revc 08 (session 13): dbt refuses each; before, the
    # declaration was dropped or the last one won without a word
    "tests_string": "        columns:\n          - {name: a, tests: not_null}\n",
    "data_type_list": "        columns:\n          - {name: a, data_type: [bigint]}\n",
    "column_twice": "        columns:\n          - {name: a, data_type: bigint}\n"
    "          - {name: a, data_type: varchar}\n",
    "table_twice": "      - name: u\n",
    "table_uppercase": "      - name: T\n",
    "table_nameless": "      - columns: [{name: a, data_type: bigint}]\n",
    "table_in_two_files": "      - name: t\n",
}
SHAPES = {
    **{
        k: "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: u\n" + v
        for k, v in BAD.items()
    },
    "tables_number": "version: 2\nsources:\n  - name: bronze\n    tables: 5\n",
    "tables_mapping": "version: 2\nsources:\n  - name: bronze\n    tables:\n      u: {}\n",
    "sources_mapping": "version: 2\nsources:\n  name: bronze\n  tables: [{name: u}]\n",
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_misshapen_contract_holds_writes_and_files(one_lakehouse: Settings, shape: str) -> None:
    models = one_lakehouse.dbt_project_dir / "models"
    (models / "t.yml").write_text(GOOD)
    (models / "bad.yml").write_text(SHAPES[shape])
    if shape == "table_twice":  # u twice in one file
        (models / "bad.yml").write_text(SHAPES[shape] + "      - name: u\n")
    with TestClient(create_app(one_lakehouse)) as client:
        for _ in range(3):  # never a 500, never a 202 judged without the contract
            r = client.post(
                "/v1/tables/t/files", content=b"a\nx\n", headers={"content-type": "text/csv"}
            )
            assert r.status_code == 503, (r.status_code, r.text)
            assert "bad.yml" in r.text, r.text
    folder = raw_dir(one_lakehouse, "t")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.csv").write_bytes(b"a\nx\n")
    summary = Loader(one_lakehouse).load_pending()
    assert not summary.loaded and not summary.quarantined, summary
    assert (folder / "a.csv").exists()  # held, neither loaded nor quarantined


def test_a_yaml_not_utf8_naming_no_bronze_source_holds_nothing(one_lakehouse: Settings) -> None:
    """A model's docs YAML written in cp1252 (an ``é`` byte) that names no bronze source
    declares no contract whatever it holds: it is logged, writes and files go on, as for a
    YAML that does not parse and cannot name the source (review finding auditl 07). One that
    names it still holds them (the test above's rule)."""
    models = one_lakehouse.dbt_project_dir / "models"
    (models / "t.yml").write_text(GOOD)
    (models / "silver_docs.yml").write_bytes(
        b"version: 2\nmodels:\n  - name: orders\n    description: caf\xe9 orders\n"
    )
    with TestClient(create_app(one_lakehouse)) as client:
        r = client.post(
            "/v1/tables/t/files", content=b"a\n1\n", headers={"content-type": "text/csv"}
        )
        assert r.status_code == 202, r.text
    folder = raw_dir(one_lakehouse, "t")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "b.csv").write_bytes(b"a\n2\n")
    summary = Loader(one_lakehouse).load_pending()
    assert not summary.held and len(summary.loaded) == 2, summary
    (models / "bronze_docs.yml").write_bytes(
        b"version: 2\nsources:\n  - name: bronze\n    description: caf\xe9\n"
    )
    with TestClient(create_app(one_lakehouse)) as client:
        r = client.post(
            "/v1/tables/t/files", content=b"a\n3\n", headers={"content-type": "text/csv"}
        )
        assert r.status_code == 503 and "bronze_docs.yml" in r.text, r.text


@pytest.mark.parametrize(
    ("declared", "why"),
    [
        ("decimal(40,2)", "width 40 is not 1 to 38"),
        ("numeric(39)", "width 39 is not 1 to 38"),
        ("decimal(5,7)", "scale 7 is greater than its width 5"),
        ("decimal(0,0)", "width 0 is not 1 to 38"),
        # review finding revl 12 (session 13): before, read as no DECIMAL at all, the column
        # stored as text (12345 under decimal(5,-1), which holds multiples of ten), 202
        ("decimal(5,-1)", "its scale -1 is negative"),
        ("numeric(5, -2)", "its scale -2 is negative"),
        ("decimal(5,x)", "its parameters (5,X) are not a width and a scale"),
    ],
)
def test_a_decimal_no_table_holds_is_a_misshapen_contract(
    one_lakehouse: Settings, declared: str, why: str
) -> None:
    """A DECIMAL DuckDB refuses (width past 38, scale past width, width 0) is read as a
    misshapen contract: 503 naming the column and why, files held (review finding revc 01,
    session 13). Before, the API took ``decimal(40,2)``'s 37-digit values (202) and the loader's
    pass raised ArrowInvalid on the cast (the file left in raw/, the tables after it unloaded);
    ``decimal(40,2)``'s small values loaded as decimal(38,2), the width narrowed."""
    models = one_lakehouse.dbt_project_dir / "models"
    (models / "t.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n"
        f"        columns:\n          - {{name: amount, data_type: '{declared}'}}\n"
    )
    detail = held_as_misshapen(one_lakehouse, "t", b"amount\n1.5\n")
    assert "t.yml" in detail and "'amount'" in detail and why in detail, detail


@pytest.mark.parametrize("declared", ["decimal(38,38)", "decimal(1,0)", "decimal(38,0)"])
def test_a_decimal_at_the_limits_is_a_contract(one_lakehouse: Settings, declared: str) -> None:
    models = one_lakehouse.dbt_project_dir / "models"
    (models / "t.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n"
        f"        columns:\n          - {{name: amount, data_type: '{declared}'}}\n"
    )
    with TestClient(create_app(one_lakehouse)) as client:
        r = client.post(
            "/v1/tables/t/files", content=b"amount\n0\n", headers={"content-type": "text/csv"}
        )
    assert r.status_code == 202, r.text
    assert len(Loader(one_lakehouse).load_pending().loaded) == 1


def test_a_disabled_or_where_limited_not_null_requires_nothing(one_lakehouse: Settings) -> None:
    """dbt reads a test's config: ``enabled: false`` is no test, ``where:`` judges only the
    rows it selects, which dbt does (review finding revc 06, session 13; before, both made the
    column required: 422 and quarantine for a file dbt's own test passes), and ``severity:
    warn`` only warns (fixc, session 17; before, it made the column required)."""
    models = one_lakehouse.dbt_project_dir / "models"
    (models / "t.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n"
        "        columns:\n          - name: a\n"
        "            data_tests: [{not_null: {config: {enabled: false}}}]\n"
        '          - name: b\n            tests: [{not_null: {where: "a = 1"}}]\n'
        "          - name: c\n            tests: [{not_null: {severity: warn}}]\n"
        "          - name: d\n            tests: [not_null]\n"
    )
    with TestClient(create_app(one_lakehouse)) as client:
        r = client.post(
            "/v1/tables/t/files", content=b"a,b,c,d\n,,,1\n", headers={"content-type": "text/csv"}
        )
        assert r.status_code == 202, r.text
        r = client.post(
            "/v1/tables/t/files", content=b"a,b,c,d\n1,1,1,\n", headers={"content-type": "text/csv"}
        )
        assert r.status_code == 422, r.text  # an error test refuses its null
    assert len(Loader(one_lakehouse).load_pending().loaded) == 1
    assert bronze_table(one_lakehouse, "t").select(["a", "b", "c", "d"]).to_pylist() == [
        {"a": None, "b": None, "c": None, "d": 1}
    ]


def test_a_decimal_without_parameters_is_duckdbs_default(one_lakehouse: Settings) -> None:
    """``decimal()`` is DuckDB's ``DECIMAL(18,3)``, as ``decimal`` is (before: read as no
    DECIMAL at all, the column stored as text, the declaration ignored without a word)."""
    models = one_lakehouse.dbt_project_dir / "models"
    (models / "t.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n"
        "        columns:\n          - {name: amount, data_type: 'decimal()'}\n"
    )
    with TestClient(create_app(one_lakehouse)) as client:
        r = client.post(
            "/v1/tables/t/files", content=b"amount\n1.5\n", headers={"content-type": "text/csv"}
        )
        assert r.status_code == 202, r.text
        r = client.post(
            "/v1/tables/t/files", content=b"amount\n1.2345\n", headers={"content-type": "text/csv"}
        )
        assert r.status_code == 422, r.text  # four decimals do not fit DECIMAL(18,3)
    assert len(Loader(one_lakehouse).load_pending().loaded) == 1
    bronze = bronze_table(one_lakehouse, "t")
    assert bronze.schema.field("amount").type == pa.decimal128(18, 3), bronze.schema
    assert bronze.column("amount").to_pylist() == [Decimal("1.500")]
