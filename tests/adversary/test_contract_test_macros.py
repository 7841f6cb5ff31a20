"""A ``not_null`` test the dbt project runs through its own macros is not judged by dbt's
(docs/loading.md, Required columns): a project overriding the test itself
(``{% test not_null %}``, ``default__test_not_null``), how dbt selects its rows
(``get_where_subquery``), limits them, counts and compares its failures (``get_test_sql``) or
materializes it decides what fails the test, in SQL the lakehouse does not run. Before
(session 17's open edge), such a test was read as dbt's own: the column was required, or not,
by dbt's default query, whatever the project's said. Now it is a misshapen contract (the API
503, the loader holds the files) unless disabled or ``severity: warn``; the lakehouse's own
``__changed_rows__`` scoping is no override.

The judge is dbt: each project runs ``dbt test`` on a source table holding a null, every
override below making the test pass; dbt passing it shows dbt ran the override, failing it that
dbt did not (a package's macro, a commented one, one for another adapter), and the lakehouse
then reads the column as required, as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from adversary_support import held_as_misshapen, lakehouse

from lakehouse.contracts import ContractStore, ContractsUnreadable, load_contracts

DBT = Path(sys.executable).parent / "dbt"
PROFILE = 'p:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: "{db}"\n'
HEAD = "name: p\nconfig-version: 2\nprofile: p\n"
SOURCE = """version: 2
sources:
  - name: bronze
    tables:
      - name: t
        columns:
          - name: n
            data_tests: [{test}]
"""
NONE = "select 1 as x where false"
WRAP = "select 0 as failures, false as should_warn, false as should_error"
MAT = (
    "{% call statement('main', fetch_result=True) %} " + WRAP + " {% endcall %}"
    " {{ return({'relations': []}) }}"
)
WHERE = "{% do return('(select * from ' ~ relation ~ ' where false) s') %}"
LIMITED = "select * from ({{ sql }}) q where false"
PACKAGE = {"dbt_packages/q/dbt_project.yml": "name: q\nconfig-version: 2\n"}


def _macro(name: str, args: str, body: str) -> str:
    return f"{{% macro {name}({args}) %}} {body} {{% endmacro %}}"


#: an override dbt runs (each makes the not_null test pass on a null)
RUN: dict[str, dict[str, str]] = {
    "test_block": {
        "macros/o.sql": f"{{% test not_null(model, column_name) %}} {NONE} {{% endtest %}}"
    },
    "test_block_generic": {
        "tests/generic/o.sql": f"{{% test not_null(model, column_name) %}} {NONE} {{% endtest %}}"
    },
    "test_macro": {"macros/o.sql": _macro("test_not_null", "model, column_name", NONE)},
    "default__test_not_null": {
        "macros/o.sql": _macro("default__test_not_null", "model, column_name", NONE)
    },
    "duckdb__test_not_null": {
        "macros/o.sql": _macro("duckdb__test_not_null", "model, column_name", NONE)
    },
    **{
        f"{p}get_test_sql": {
            "macros/o.sql": _macro(
                f"{p}get_test_sql", "main_sql, fail_calc, warn_if, error_if, limit", WRAP
            )
        }
        for p in ("", "default__", "duckdb__")
    },
    **{
        f"{p}get_where_subquery": {
            "macros/o.sql": _macro(f"{p}get_where_subquery", "relation", WHERE)
        }
        for p in ("", "default__", "duckdb__")
    },
    "get_limit_subquery_sql": {
        "macros/o.sql": _macro("get_limit_subquery_sql", "sql, limit", LIMITED)
    },
    "default__get_limit_sql": {
        "macros/o.sql": _macro("default__get_limit_sql", "sql, limit", LIMITED)
    },
    "duckdb__get_limit_sql": {
        "macros/o.sql": _macro("duckdb__get_limit_sql", "sql, limit", LIMITED)
    },
    "materialization_default": {
        "macros/o.sql": "{%- materialization test, default -%} "
        + MAT
        + " {%- endmaterialization -%}"
    },
    "materialization_duckdb": {
        "macros/o.sql": "{% materialization test, adapter='duckdb' %} "
        + MAT
        + " {% endmaterialization %}"
    },
    # dbt's own dbt.not_null still dispatches to the project's SQL
    "namespaced_default__": {
        "macros/o.sql": _macro("default__test_not_null", "model, column_name", NONE),
        "models/s.yml": SOURCE.format(test="dbt.not_null"),
    },
    # the root project's dispatch: searches a package for dbt's macros first
    "dispatch_duckdb__get_where_subquery": {
        **PACKAGE,
        "dbt_packages/q/macros/o.sql": _macro("duckdb__get_where_subquery", "relation", WHERE),
        "dbt_project.yml": HEAD
        + "dispatch:\n  - macro_namespace: dbt\n    search_order: [q, p, dbt]\n",
    },
    "dispatch": {
        **PACKAGE,
        "dbt_packages/q/macros/o.sql": _macro("default__test_not_null", "model, column_name", NONE),
        "dbt_project.yml": HEAD
        + "dispatch:\n  - macro_namespace: dbt\n    search_order: [p, q, dbt]\n",
    },
}

#: the source declared by an installed package (the root project's YAML declaring none)
IN_PACKAGE = {
    **PACKAGE,
    "models/s.yml": "version: 2\n",
    "dbt_packages/q/models/s.yml": SOURCE.format(test="not_null"),
}


def _in_package(case: str) -> dict[str, str]:
    """``RUN[case]``'s macro file in the package declaring the source."""
    return {**IN_PACKAGE, "dbt_packages/q/macros/o.sql": RUN[case]["macros/o.sql"]}


RUN.update(
    {
        f"package_source_{case}": _in_package(case)
        for case in ("test_block", "get_test_sql", "get_where_subquery", "get_limit_subquery_sql")
    }
)
RUN["package_source_root_get_test_sql"] = {**IN_PACKAGE, **RUN["get_test_sql"]}

#: a definition dbt does not run for the test (it fails on the null: the column is required)
NOT_RUN: dict[str, dict[str, str]] = {
    **{
        f"package_{name}": {**PACKAGE, **{f"dbt_packages/q/{k}": v for k, v in files.items()}}
        for name, files in RUN.items()
        if name
        in ("test_block", "default__test_not_null", "get_test_sql", "materialization_default")
    },
    "tests_not_generic": {"tests/o.sql": RUN["test_block"]["macros/o.sql"]},
    "commented": {"macros/o.sql": "{# " + RUN["get_test_sql"]["macros/o.sql"] + " #}"},
    "another_adapter": {
        "macros/o.sql": RUN["materialization_duckdb"]["macros/o.sql"].replace("duckdb", "postgres")
    },
    "dbtignore": {**RUN["get_test_sql"], ".dbtignore": "macros/o.sql\n"},
    # a package's dispatched body and materialization, for the package's own source
    **{
        f"package_source_{case}": _in_package(case)
        for case in ("default__test_not_null", "materialization_default")
    },
    "package_source_namespaced_test_block": {
        **_in_package("test_block"),
        "dbt_packages/q/models/s.yml": SOURCE.format(test="dbt.not_null"),
    },
    # the root project's dispatch: searches a package for dbt's macros first, and finds no
    # default__/duckdb__ body there (before session 19 any such dispatch held the files)
    "dispatch_finds_no_body": {
        **PACKAGE,
        "dbt_packages/q/macros/o.sql": RUN["get_test_sql"]["macros/o.sql"]
        + _macro("default__other", "x", NONE),
        "dbt_project.yml": HEAD
        + "dispatch:\n  - macro_namespace: dbt\n    search_order: [p, q, dbt]\n",
    },
    "dispatch_to_a_package_not_installed": {
        "dbt_project.yml": HEAD
        + "dispatch:\n  - macro_namespace: dbt\n    search_order: [zz, p, dbt]\n",
    },
    "dispatch_to_a_package_of_no_macros": {
        **PACKAGE,
        "dbt_project.yml": HEAD
        + "dispatch:\n  - macro_namespace: dbt\n    search_order: [q, p, dbt]\n",
    },
    # dbt.not_null is dbt's own test, not the project's test block
    "namespaced_test_block": {
        **RUN["test_block"],
        "models/s.yml": SOURCE.format(test="dbt.not_null"),
    },
}

#: the cases of the default run (the others: the slow suite, README Developing)
QUICK = {"get_test_sql", "dispatch_finds_no_body"}


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    settings = lakehouse(tmp_path)
    project = settings.dbt_project_dir
    every = {
        "dbt_project.yml": HEAD,
        "models/s.yml": SOURCE.format(test="not_null"),
        "profiles.yml": PROFILE.format(db=tmp_path / "w.duckdb"),
        **files,
    }
    for name, text in every.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as db:
        db.execute("create schema if not exists bronze")
        db.execute("create or replace table bronze.t as select * from (values (null), (1)) v(n)")
    return project


def dbt_fails_the_null(project: Path) -> bool:
    """Whether ``dbt test`` fails the project's not_null test of a column holding a null."""
    done = subprocess.run(
        [
            str(DBT),
            "test",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(project / "target"),
            "--no-partial-parse",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert "ERROR=0" in out or "FAIL 1" in out, out[-3000:]  # a verdict on the data
    return done.returncode != 0


def _cases(cases: dict[str, dict[str, str]]) -> list[object]:
    return [c if c in QUICK else pytest.param(c, marks=pytest.mark.slow) for c in sorted(cases)]


@pytest.mark.parametrize("case", _cases(RUN))
def test_a_not_null_dbt_runs_through_the_projects_macros_is_not_judged(
    tmp_path: Path, case: str
) -> None:
    project = _project(tmp_path, RUN[case])
    assert not dbt_fails_the_null(project)  # dbt ran the project's SQL
    settings = lakehouse(tmp_path)
    with pytest.raises(ContractsUnreadable) as raised:
        load_contracts(settings)
    said = str(raised.value)
    assert "in place of dbt's" in said and "not_null" in said, said


@pytest.mark.parametrize("case", _cases(NOT_RUN))
def test_a_macro_dbt_does_not_run_leaves_the_column_required(tmp_path: Path, case: str) -> None:
    project = _project(tmp_path, NOT_RUN[case])
    assert dbt_fails_the_null(project)  # dbt's own SQL
    assert load_contracts(lakehouse(tmp_path))["t"].required == ("n",)


def test_the_api_and_the_loader_hold_the_files(tmp_path: Path) -> None:
    _project(tmp_path, RUN["get_test_sql"])
    said = held_as_misshapen(lakehouse(tmp_path), "t", b"n\n1\n")
    assert "get_test_sql (macros/o.sql) in place of dbt's" in said, said


@pytest.mark.parametrize(
    "test",
    ["{not_null: {config: {severity: warn}}}", "{not_null: {config: {enabled: false}}}"],
)
def test_a_warning_or_disabled_not_null_is_no_contract_whatever_the_macros(
    tmp_path: Path, test: str
) -> None:
    """dbt's TestRunner only warns for ``severity: warn``, whatever SQL the macros made; a
    disabled test is none: the column is not required, the contract read."""
    _project(tmp_path, {**RUN["get_test_sql"], "models/s.yml": SOURCE.format(test=test)})
    assert load_contracts(lakehouse(tmp_path))["t"].required == ()


def test_the_lakehouses_own_where_scoping_is_no_override(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2] / "dbt_project" / "macros"
    text = (root / "changed_since.sql").read_text()
    _project(tmp_path, {"macros/changed_since.sql": text})
    assert load_contracts(lakehouse(tmp_path))["t"].required == ("n",)
    _project(tmp_path, {"macros/changed_since.sql": text.replace("-infinity", "infinity")})
    with pytest.raises(ContractsUnreadable, match=r"changed_since\.sql"):
        load_contracts(lakehouse(tmp_path))


def test_a_store_rereads_the_contracts_when_a_macro_file_changes(tmp_path: Path) -> None:
    """The API's and the loader's cached contracts (``ContractStore``) are read again when a
    macro file comes, goes or changes, as when a YAML file does: an override written after
    the store read the contracts is seen, and one removed is no longer."""
    project = _project(tmp_path, {})
    store = ContractStore(lakehouse(tmp_path), refresh_s=0)
    assert store.all()["t"].required == ("n",)
    (project / "macros").mkdir(exist_ok=True)
    (project / "macros" / "o.sql").write_text(RUN["get_test_sql"]["macros/o.sql"])
    with pytest.raises(ContractsUnreadable, match=r"get_test_sql \(macros/o\.sql\)"):
        store.all()
    (project / "macros" / "o.sql").unlink()
    assert store.all()["t"].required == ("n",)
