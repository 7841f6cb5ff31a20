"""``dbt_project.yml`` configures source tables and their tests as dbt 1.11 reads it, and the
contracts read it so: its ``sources:`` block (``+meta``, ``+enabled`` at the top, under the
project's name, the YAML file's folders, the source's name, the table's name; the deepest
winning, all under the YAML's own meta and config), and its ``data_tests:`` block down to the
YAML file's folders and the test's name (readA s14 05: a project-level ``+meta: {on_mismatch:
quarantine}`` loaded the table under ``rescue``, and a table dbt disabled there was enforced).

The judge is dbt itself: each project below is parsed by ``dbt parse`` and what its
manifest.json says of the bronze source tables (enabled, meta, required columns) is what the
lakehouse reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from adversary_support import held_as_misshapen, lakehouse, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse import Settings
from lakehouse.contracts import (
    PLUGIN,
    SOURCE_NAME,
    ContractStore,
    ContractsUnreadable,
    load_contracts,
)

DBT = Path(sys.executable).parent / "dbt"
PROFILE = 'p:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ":memory:"\n'
HEAD = "name: p\nconfig-version: 2\nprofile: p\n"
SETTINGS_KEYS = ("primary_key", "on_mismatch", "infer_types", "skip_lines")
#: the where that limits nothing (docs/loading.md, Required columns)
UNLIMITED = (None, "", "__changed_rows__")


def _write(project: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)


def dbt_reads(project: Path, profile: str = "") -> dict[str, dict[str, Any]]:
    """What dbt's manifest says of each bronze source table (by the bronze table it reads):
    its contract settings in its meta, and its columns with an enabled ``not_null`` test that
    judges every row and fails a build for one null (:func:`fails_for_one_null`), and its
    primary key's."""
    (project / "profiles.yml").write_text(profile + PROFILE)
    done = subprocess.run(
        [
            str(DBT),
            "parse",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(project / "target"),
            "--no-partial-parse",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    tables: dict[str, dict[str, Any]] = {}
    by_id: dict[str, str] = {}
    for unique_id, source in manifest["sources"].items():
        meta = source["meta"]
        bronze = (
            source["source_name"] == SOURCE_NAME
            if "plugin" not in meta
            else meta["plugin"] == PLUGIN and meta.get("folder", "bronze") == "bronze"
        )
        if not bronze:
            continue
        keys = meta.get("primary_key") or []
        keys = [keys] if isinstance(keys, str) else keys
        tables[source["identifier"]] = {
            "meta": {k: meta[k] for k in SETTINGS_KEYS if k in meta},
            "required": set(keys),
        }
        by_id[unique_id] = source["identifier"]
    for node in manifest["nodes"].values():
        test = node.get("test_metadata") or {}
        config = node["config"]
        if test.get("name") != "not_null" or config["where"] not in UNLIMITED:
            continue
        if not config["enabled"] or not fails_for_one_null(config):
            continue
        for depends in node["depends_on"]["nodes"]:
            if depends in by_id:
                # a column's test names its column; a table's, in its arguments (none: a
                # table's test naming it only under arguments: while dbt does not read them)
                column = node["column_name"] or test["kwargs"].get("column_name")
                if column is not None:
                    tables[by_id[depends]]["required"].add(column)
    return tables


def fails_for_one_null(config: dict[str, Any]) -> bool:
    """Whether a not_null test of this manifest config fails a build for one null row and
    passes one without: its severity (any case) is error, and what dbt's ``get_test_sql``
    computes of its ``fail_calc``, ``error_if`` and ``limit``, run in DuckDB over one null and
    over none, says so (``dbt.task.test.TestRunner.build_test_run_result``)."""
    if config["severity"].upper() != "ERROR":
        return False

    def should_error(value: str) -> bool:
        limit = "" if config["limit"] is None else f" limit {config['limit']}"
        main = f"select * from (values ({value})) v(c) where c is null{limit}"
        sql = f"select {config['fail_calc']} {config['error_if']} from ({main}) dbt_internal_test"
        return bool(duckdb.connect().execute(sql).fetchall()[0][0])

    return should_error("null") and not should_error("1")


def lakehouse_reads(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "meta": {
                k: v
                for k, v in (
                    ("primary_key", list(c.primary_key)),
                    ("on_mismatch", c.on_mismatch),
                    ("infer_types", c.infer_types),
                    ("skip_lines", c.skip_lines),
                )
                if not (v is None or v == [] or (k == "skip_lines" and v == 0))
            },
            "required": set(c.required),
        }
        for name, c in load_contracts(settings).items()
    }


def _dbt_meta(tables: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """dbt's reading in the lakehouse's terms (a key list, unset settings left out)."""
    for table in tables.values():
        meta = table["meta"]
        if isinstance(meta.get("primary_key"), str):
            meta["primary_key"] = [meta["primary_key"]]
        for key, unset in (("primary_key", []), ("skip_lines", 0)):
            if meta.get(key) == unset:
                del meta[key]
    return tables


SOURCES = """version: 2
sources:
  - name: bronze
    tables:
      - name: orders
      - name: items
        columns:
          - {name: id, data_type: bigint}
"""

CASES: dict[str, dict[str, str]] = {
    # readA s14 05, as found: the source's +meta and a table's +enabled
    "finding": {
        "dbt_project.yml": HEAD + "sources:\n  p:\n    bronze:\n      +meta: {on_mismatch:"
        " quarantine}\n      orders:\n        +enabled: false\n",
        "models/sources.yml": SOURCES,
    },
    # every level of dbt_project.yml, the file's folder among them, under the YAML's meta
    "levels": {
        "dbt_project.yml": HEAD
        + """sources:
  +meta: {skip_lines: 1, on_mismatch: rescue, infer_types: true, primary_key: [a]}
  p:
    +meta: {skip_lines: 2, on_mismatch: quarantine}
    meta: {infer_types: false}  # no +: a level named meta, not config
    staging:
      +meta: {skip_lines: 3}
      bronze:
        +meta: {infer_types: false}
        items:
          +meta: {skip_lines: 5, primary_key: [id]}
    bronze:  # not the path of models/staging/s.yml's sources
      +meta: {on_mismatch: rescue}
""",
        "models/staging/s.yml": """version: 2
sources:
  - name: bronze
    config: {meta: {skip_lines: 4}}
    tables:
      - name: orders
        meta: {primary_key: [k]}
      - name: items
""",
    },
    # enabled: the table's config over its source's over the project's (deepest first)
    "enabled": {
        "dbt_project.yml": HEAD
        + """sources:
  p:
    enabled: false  # no +: a value that is no mapping is config
    bronze:
      projon:
        +enabled: true
      yamloff:
        +enabled: true
""",
        "models/s.yml": """version: 2
sources:
  - name: bronze
    tables:
      - name: projoff
      - name: projon
      - name: yamlon
        config: {enabled: true}
      - name: yamloff
        config: {enabled: false}
  - name: other
    config: {enabled: false, meta: {plugin: lakehouse_bronze}}
    tables:
      - name: sourceoff
      - name: tableon
        config: {enabled: true}
""",
    },
    # a plugin source by the project's meta; tests configured down to folders and names
    "tests": {
        "dbt_project.yml": HEAD
        + """model-paths: [models, more/deep]
sources:
  p:
    x:
      shop:
        +meta: {plugin: lakehouse_bronze}
data_tests:
  p:
    +where: "__changed_rows__"
    deep:
      x:
        source_not_null_shop_t_a_b:
          +enabled: false
        mine:
          +where: "id > 0"
    sub:
      +enabled: false
""",
        "more/deep/x/s.yml": """version: 2
sources:
  - name: shop
    tables:
      - name: t
        columns:
          - name: "a b"
            data_tests: [not_null]
          - name: c
            data_tests: [{not_null: {name: mine}}]
          - name: d
            data_tests: [not_null]
""",
        "models/sub/s.yml": """version: 2
sources:
  - name: bronze
    tables:
      - name: u
        columns:
          - name: a
            data_tests: [not_null]
          - name: b
            data_tests: [{not_null: {config: {enabled: true}}}]
""",
    },
    # an installed package's sources: its own project's config under its YAML, the root's
    # over both (dbt 1.11: the root project's config of a package's node applies last)
    "packages": {
        "dbt_project.yml": HEAD
        + """sources:
  pkg:
    bronze:
      +meta: {on_mismatch: quarantine}
      t2:
        +enabled: false
data_tests:
  pkg:
    +enabled: false
    source_not_null_bronze_t1_b:
      +enabled: true
""",
        "models/s.yml": "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: r\n",
        "dbt_packages/pkg/dbt_project.yml": """name: pkg
config-version: 2
sources:
  pkg:
    bronze:
      +meta: {on_mismatch: rescue, skip_lines: 2}
""",
        "dbt_packages/pkg/models/s.yml": """version: 2
sources:
  - name: bronze
    tables:
      - name: t1
        config: {meta: {infer_types: false}}
        columns:
          - {name: a, data_tests: [not_null]}
          - {name: b, data_tests: [not_null]}
      - name: t2
      - name: t3
        meta: {on_mismatch: rescue, skip_lines: 3}
""",
    },
    # a table's own not_null tests (column_name:, or under arguments:), configured as any
    "table_tests": {
        "dbt_project.yml": HEAD
        + "data_tests:\n  p:\n    source_not_null_bronze_t_gone:\n      +enabled: false\n",
        "models/s.yml": """version: 2
sources:
  - name: bronze
    tables:
      - name: t
        data_tests:
          - not_null: {column_name: id}
          - not_null: {arguments: {column_name: x}}
          - not_null: {column_name: gone}
          - not_null: {column_name: w, config: {where: "w > 0"}}
          - unique: {column_name: u}
        columns:
          - {name: x, data_type: bigint}
          - {name: w}
""",
    },
    # not_null in each form dbt reads: dbt.not_null, test_name: (named or not), on a column
    # or on the table; the project's config by each one's name
    "test_forms": {
        "dbt_project.yml": HEAD
        + """data_tests:
  p:
    dbt_source_not_null_bronze_t_b:
      +enabled: false
    my_nn:
      +where: "a > 0"
""",
        "models/s.yml": """version: 2
sources:
  - name: bronze
    tables:
      - name: t
        data_tests:
          - {test_name: not_null, name: tbl_nn, column_name: tcol}
          - {test_name: dbt.not_null, column_name: tcol2}
        columns:
          - name: a
            data_tests: [{test_name: not_null, name: my_nn}]
          - name: b
            data_tests: [dbt.not_null]
          - name: c
            data_tests: [{dbt.not_null: {config: {severity: warn}}}]
          - name: d
            data_tests: [{test_name: not_null}]
          - name: e
            data_tests: [dbt.not_null]
""",
    },
    # severity and the other config deciding whether one null fails the test (fixc s17:
    # severity warn made the column required), in each place dbt reads them
    "severity": {
        "dbt_project.yml": HEAD
        + """data_tests:
  p:
    source_not_null_bronze_t_pw:
      +severity: warn
    source_not_null_bronze_t_po:
      +severity: Warn
    source_not_null_bronze_t_pe:
      +error_if: ">100"
    source_not_null_bronze_t_pl:
      +limit: 0
    source_not_null_bronze_t_tw:
      +severity: WARN
""",
        "models/s.yml": """version: 2
sources:
  - name: bronze
    tables:
      - name: t
        data_tests:
          - not_null: {column_name: tw}
          - not_null: {column_name: tx, config: {severity: warn}}
          - not_null: {column_name: te}
        columns:
          - {name: plain, data_tests: [not_null]}
          - {name: warn, data_tests: [{not_null: {config: {severity: warn}}}]}
          - {name: upper, data_tests: [{not_null: {config: {severity: WARN}}}]}
          - {name: error, data_tests: [{not_null: {config: {severity: Error}}}]}
          - {name: top, data_tests: [{not_null: {severity: warn}}]}
          - {name: args, data_tests: [{not_null: {arguments: {severity: warn}}}]}
          - {name: old, tests: [{not_null: {config: {severity: warn}}}]}
          - {name: olderr, tests: [{not_null: {severity: eRRor}}]}
          - {name: named, data_tests: [{test_name: not_null, config: {severity: warn}}]}
          - {name: pw, data_tests: [not_null]}
          - {name: po, data_tests: [{not_null: {config: {severity: error}}}]}
          - {name: pe, data_tests: [not_null]}
          - {name: pl, data_tests: [not_null]}
          - {name: gt10, data_tests: [{not_null: {config: {error_if: "> 10"}}}]}
          - {name: gt0, data_tests: [{not_null: {config: {error_if: ">0"}}}]}
          - {name: ge1, data_tests: [{not_null: {config: {error_if: ">= 1"}}}]}
          - {name: ge2, data_tests: [{not_null: {error_if: ">=2"}}]}
          - {name: ne, data_tests: [{not_null: {config: {error_if: "<> 0"}}}]}
          - {name: eq0, data_tests: [{not_null: {config: {error_if: "= 0"}}}]}
          - {name: warnif, data_tests: [{not_null: {config: {warn_if: "> 5"}}}]}
          - {name: lim2, data_tests: [{not_null: {config: {limit: 2}}}]}
          - {name: lim0, data_tests: [{not_null: {config: {limit: 0}}}]}
          - {name: count, data_tests: [{not_null: {config: {fail_calc: "COUNT( * )"}}}]}
          - name: both
            data_tests: [{not_null: {name: both_w, config: {severity: warn}}}, not_null]
          - name: disabled
            data_tests: [{not_null: {config: {severity: error, enabled: false}}}]
          - name: where
            data_tests: [{not_null: {config: {where: "plain > 0"}}}]
""",
    },
    # severity for every test of the project, a test's own winning
    "severity_project": {
        "dbt_project.yml": HEAD
        + """data_tests:
  +severity: warn
  p:
    source_not_null_bronze_t_c:
      +severity: ERROR
""",
        "models/s.yml": """version: 2
sources:
  - name: bronze
    tables:
      - name: t
        columns:
          - {name: a, data_tests: [not_null]}
          - {name: b, data_tests: [{not_null: {config: {severity: error}}}]}
          - {name: c, data_tests: [not_null]}
          - {name: d, data_tests: [{dbt.not_null: {severity: warn}}]}
""",
    },
    # dbt_project.yml's flag require_generic_test_arguments_property off (dbt 1.10+; on by
    # default in 1.11): a test's arguments: are not read as its arguments (a kwarg of that
    # name), so the config and column_name under them are not the test's
    "arguments_flag_off": {
        "dbt_project.yml": HEAD + "flags:\n  require_generic_test_arguments_property: false\n",
        "models/s.yml": """version: 2
sources:
  - name: bronze
    tables:
      - name: t
        data_tests:
          - not_null: {column_name: id}
          - not_null: {arguments: {column_name: x}}
          - not_null: {column_name: tw, arguments: {severity: warn}}
        columns:
          - {name: x, data_type: bigint}
          - {name: top, data_tests: [{not_null: {severity: warn}}]}
          - {name: args, data_tests: [{not_null: {arguments: {severity: warn}}}]}
          - {name: argsconf, data_tests: [{not_null: {arguments: {config: {severity: warn}}}}]}
          - {name: argswhere, data_tests: [{not_null: {arguments: {where: "x > 0"}}}]}
          - {name: conf, data_tests: [{not_null: {config: {severity: warn}}}]}
""",
    },
    # the same flag on, as dbt 1.11 reads it unset
    "arguments_flag_on": {
        "dbt_project.yml": HEAD + "flags:\n  require_generic_test_arguments_property: true\n",
        "models/s.yml": """version: 2
sources:
  - name: bronze
    tables:
      - name: t
        data_tests:
          - not_null: {arguments: {column_name: x}}
          - not_null: {column_name: tw, arguments: {severity: warn}}
        columns:
          - {name: args, data_tests: [{not_null: {arguments: {severity: warn}}}]}
          - {name: argsconf, data_tests: [{not_null: {arguments: {config: {severity: warn}}}}]}
          - {name: argswhere, data_tests: [{not_null: {arguments: {where: "x > 0"}}}]}
          - {name: plain, data_tests: [not_null]}
""",
    },
    # .dbtignore: the files it names are not read (a twin there is no twin)
    "dbtignore": {
        "dbt_project.yml": HEAD,
        ".dbtignore": "models/ignored/\n*_off.yml\n",
        "models/s.yml": "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: v\n",
        "models/ignored/s.yml": """version: 2
sources:
  - name: bronze
    tables:
      - name: v
      - name: t
""",
        "models/sub/x_off.yml": SOURCES.replace("items", "u"),
    },
}


#: the cases whose dbt parse takes longest: in the slow suite (README, Developing)
SLOW_CASES = {
    "dbtignore", "levels", "packages", "severity", "severity_project", "table_tests", "test_forms",
    "tests",
}  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c in SLOW_CASES else c for c in sorted(CASES)],
)
def test_contracts_are_what_dbt_parse_reads(tmp_path: Path, case: str) -> None:
    settings = lakehouse(tmp_path)
    _write(settings.dbt_project_dir, CASES[case])
    expected = _dbt_meta(dbt_reads(settings.dbt_project_dir))
    assert expected, "dbt reads no bronze table: the case judges nothing"
    assert lakehouse_reads(settings) == expected


def test_the_projects_meta_quarantines_a_misfit(tmp_path: Path) -> None:
    """End to end (readA s14 05): the project's ``+meta: {on_mismatch: quarantine}`` refuses a
    text in a bigint column (under ``rescue`` the row was kept, its value null)."""
    settings = lakehouse(tmp_path)
    _write(settings.dbt_project_dir, CASES["finding"])
    out = run(settings, [("items", "a.csv", b"id\nabc\n")])["items"]
    stored = out.loaded_rows and [r["id"] for r in out.loaded_rows]
    assert out.api_status == 422, (out.api_status, stored)
    assert out.refused is not None and out.refused["kind"] == "type_conflict", stored


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("+meta: [on_mismatch]", "sources: p: bronze: +meta is a list, not a mapping"),
        ('+enabled: "false"', "sources: p: bronze: +enabled is 'false', not true or false"),
        ("+meta: {on_mismatch: drop}", "meta.on_mismatch is 'drop'"),
        ("+meta: {on_mismatch: \"{{ var('p') }}\"}", "holds Jinja"),
    ],
)
def test_a_project_config_dbt_refuses_holds_the_files(
    tmp_path: Path, config: str, words: str
) -> None:
    settings = lakehouse(tmp_path)
    _write(
        settings.dbt_project_dir,
        {
            "dbt_project.yml": HEAD + f"sources:\n  p:\n    bronze:\n      {config}\n",
            "models/sources.yml": SOURCES,
        },
    )
    assert words in held_as_misshapen(settings, "items", b"id\n1\n")


def test_the_arguments_flag_in_the_profiles_config_is_read(tmp_path: Path) -> None:
    """dbt 1.11 reads its flags from ``profiles.yml``'s ``config:`` (deprecated) when
    ``dbt_project.yml`` has no ``flags:``: the flag off there, ``arguments:`` are not the
    test's arguments (before: read as dbt's default, a null its test fails loaded with 202)."""
    project = tmp_path / "dbt_project"
    settings = lakehouse(tmp_path, profiles_dir=project)
    case = dict(CASES["arguments_flag_off"])
    case["dbt_project.yml"] = HEAD
    _write(project, case)
    profile = "config:\n  require_generic_test_arguments_property: false\n"
    expected = _dbt_meta(dbt_reads(project, profile))
    assert "tw" in expected["t"]["required"]  # the flag is read by dbt
    assert lakehouse_reads(settings) == expected


def test_flags_in_the_project_and_the_profile_hold_the_files(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project"
    settings = lakehouse(tmp_path, profiles_dir=project)
    flags = "flags:\n  require_generic_test_arguments_property: true\n"
    _write(project, {"dbt_project.yml": HEAD + flags, "models/sources.yml": SOURCES})
    config = "config:\n  require_generic_test_arguments_property: false\n"
    (project / "profiles.yml").write_text(config + PROFILE)
    said = held_as_misshapen(settings, "items", b"id\n1\n")
    assert "profiles.yml has config: (dbt refuses both" in said, said


@pytest.mark.parametrize("value", ['"false"', "0", "null"])
def test_an_arguments_flag_dbt_would_ignore_holds_the_files(tmp_path: Path, value: str) -> None:
    """dbt 1.11 validates ``flags:`` and, when a value is no boolean, reads none of them
    (``read_project_flags``: every flag its default, this one true), without a word: the
    contract cannot be read as the analytics engineer meant it."""
    settings = lakehouse(tmp_path)
    flags = f"flags:\n  require_generic_test_arguments_property: {value}\n"
    _write(
        settings.dbt_project_dir,
        {"dbt_project.yml": HEAD + flags, "models/sources.yml": SOURCES},
    )
    words = "flags.require_generic_test_arguments_property is"
    assert words in held_as_misshapen(settings, "items", b"id\n1\n")


def test_another_flag_dbt_drops_holds_an_arguments_flag_off(tmp_path: Path) -> None:
    """dbt 1.11 reads none of ``flags:`` when any flag's value is of another kind than its
    schema's (``read_project_flags``), so ``require_generic_test_arguments_property: false``
    beside ``fail_fast: "yes"`` is read true, unsaid (before session 19 only the arguments
    flag's own value was judged: the contract was read with it false, dbt's tests with it
    true). dbt's reading is checked too: its manifest reads the arguments as the test's."""
    settings = lakehouse(tmp_path)
    case = dict(CASES["arguments_flag_off"])
    case["dbt_project.yml"] = case["dbt_project.yml"] + '  fail_fast: "yes"\n'
    _write(settings.dbt_project_dir, case)
    assert "x" in dbt_reads(settings.dbt_project_dir)["t"]["required"]  # read as true
    said = held_as_misshapen(settings, "t", b"x\n1\n")
    assert "flags.fail_fast is 'yes', not true, false or null, so dbt reads none" in said, said


def test_a_flag_dbt_drops_beside_no_arguments_flag_reads_as_dbt_reads(tmp_path: Path) -> None:
    """Without the arguments flag off, a dropped ``flags:`` block changes nothing the contract
    reads: the table is read as dbt reads it, not held."""
    settings = lakehouse(tmp_path)
    case = dict(CASES["arguments_flag_on"])
    case["dbt_project.yml"] = HEAD + "flags:\n  printer_width: wide\n"
    _write(settings.dbt_project_dir, case)
    assert lakehouse_reads(settings) == _dbt_meta(dbt_reads(settings.dbt_project_dir))


def test_the_flag_kinds_are_dbts() -> None:
    """:data:`lakehouse.contracts._FLAG_KINDS` names every flag of dbt's ``ProjectFlags``."""
    from dbt.contracts.project import ProjectFlags

    from lakehouse.contracts import _FLAG_KINDS

    assert set(_FLAG_KINDS) == set(ProjectFlags.json_schema()["properties"])


_FLAG_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers().map(float)  # 80.0: an integer to JSON Schema
    | st.floats(allow_nan=False)
    | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2)
    ),
    max_leaves=4,
)


@settings(max_examples=300, deadline=None)
@given(
    flags=st.dictionaries(
        st.sampled_from(
            ["fail_fast", "printer_width", "log_level", "warn_error_options",
             "send_anonymous_usage_stats", "require_generic_test_arguments_property", "unknown"]
        ),
        _FLAG_VALUES,
        max_size=3,
    )
)  # fmt: skip
def test_the_flags_dbt_drops_are_the_ones_its_schema_refuses(flags: dict[str, Any]) -> None:
    """Whatever ``flags:`` holds, :func:`lakehouse.contracts._flag_dbt_drops` finds a flag
    exactly when dbt's own ``ProjectFlags.validate`` refuses the block."""
    from dbt.contracts.project import ProjectFlags
    from dbt_common.dataclass_schema import ValidationError

    from lakehouse.contracts import _flag_dbt_drops

    try:
        ProjectFlags.validate(flags)
        dbt_drops = False
    except ValidationError:
        dbt_drops = True
    assert (_flag_dbt_drops(flags) is not None) == dbt_drops, flags


def test_a_package_without_its_dbt_project_yml_holds_the_files(tmp_path: Path) -> None:
    """dbt refuses to run with an installed package lacking ``dbt_project.yml`` (its sources
    cannot be known): every table is held, the file named."""
    settings = lakehouse(tmp_path)
    _write(
        settings.dbt_project_dir,
        {"models/sources.yml": SOURCES, "dbt_packages/pkg/models/s.yml": SOURCES},
    )
    detail = held_as_misshapen(settings, "items", b"id\n1\n")
    assert "dbt_packages/pkg/dbt_project.yml" in detail, detail
    assert "dbt refuses an installed package without one" in detail, detail


def test_a_package_installed_later_is_read(tmp_path: Path) -> None:
    """A package ``dbt deps`` installs after the contracts were read is read on the next
    refresh (the store's stamp counts the packages' folder and files)."""
    settings = lakehouse(tmp_path)
    _write(settings.dbt_project_dir, {"models/sources.yml": SOURCES})
    store = ContractStore(settings, refresh_s=0)
    assert sorted(store.all()) == ["items", "orders"]
    _write(
        settings.dbt_project_dir,
        {
            "dbt_packages/pkg/dbt_project.yml": "name: pkg\n",
            "dbt_packages/pkg/models/s.yml": SOURCES.replace("orders", "more"),
        },
    )
    with pytest.raises(ContractsUnreadable, match="'items' is declared in"):
        store.all()  # both declare items: which declaration is meant?


SETTING_VALUES = {
    "on_mismatch": st.sampled_from(["rescue", "quarantine"]),
    "skip_lines": st.integers(1, 3),
    "infer_types": st.booleans(),
    "primary_key": st.sampled_from([["a"], ["b"]]),
}
metas = st.fixed_dictionaries({}, optional=SETTING_VALUES)
#: the config of a test, besides enabled and where, that decides whether one null fails it
TEST_SETTINGS = {
    "severity": st.sampled_from([None, None, "warn", "error", "WARN", "Error"]),
    "error_if": st.sampled_from([None, None, "!= 0", "> 10", ">=1"]),
}
enableds = st.sampled_from([None, True, False])


def _config(meta: dict[str, Any], enabled: bool | None, plus: bool = True) -> dict[str, Any]:
    config: dict[str, Any] = {"+meta": meta} if meta else {}
    if enabled is not None:
        config["+enabled" if plus else "enabled"] = enabled
    return config


def _test_levels(draw: st.DrawFn, folder: tuple[str, ...]) -> dict[str, Any]:
    """``dbt_project.yml``'s ``data_tests:``: ``enabled``, ``where``, ``severity`` and
    ``error_if`` at its top, the project's name, the folder and two tests' names."""
    tests: dict[str, Any] = {}
    named = ["source_not_null_bronze_t1_a", "dbt_source_not_null_bronze_t2_b"]
    for path in [(), ("p",), ("p", *folder), *(("p", *folder, name) for name in named)]:
        level = tests
        for name in path:
            level = level.setdefault(name, {})
        where = draw(st.sampled_from([None, "a > 0", "__changed_rows__"]))
        level.update(_config({}, draw(enableds)))
        if where is not None:
            level["+where"] = where
        for key, values in TEST_SETTINGS.items():
            if (value := draw(values)) is not None:
                level[f"+{key}"] = value
    return tests


@st.composite
def projects(draw: st.DrawFn) -> dict[str, str]:
    """A project of one YAML file (in ``models/`` or ``models/staging/``) declaring two
    tables of the bronze source, with meta, ``enabled`` and not_null tests at every level of
    the YAML and of ``dbt_project.yml``'s ``sources:`` and ``data_tests:`` (``severity``,
    ``error_if``, ``where``, ``enabled``)."""
    folder = draw(st.sampled_from([(), ("staging",)]))
    tables = ["t1", "t2"]
    levels = [(), ("p",), ("p", *folder), ("p", *folder, "bronze")]
    levels += [("p", *folder, "bronze", t) for t in tables]
    sources: dict[str, Any] = {}
    for path in levels:
        level = sources
        for name in path:
            level = level.setdefault(name, {})
        level.update(_config(draw(metas), draw(enableds), plus=draw(st.booleans())))
    tests = _test_levels(draw, folder)

    def yaml_config() -> dict[str, Any]:
        node: dict[str, Any] = {}
        if meta := draw(metas):
            node["meta"] = meta
        config: dict[str, Any] = {}
        if meta := draw(metas):
            config["meta"] = meta
        if (enabled := draw(enableds)) is not None:
            config["enabled"] = enabled
        return {**node, "config": config} if config else node

    def column(name: str) -> dict[str, Any]:
        test: Any = draw(
            st.sampled_from(
                [
                    "not_null",
                    "dbt.not_null",
                    {"not_null": {"config": {"enabled": True}}},
                    {"not_null": {"where": ""}},
                    {"test_name": "not_null", "config": {"where": "a > 0"}},
                    {"not_null": {"config": {"severity": "warn"}}},
                    {"not_null": {"severity": "ERROR"}},
                    {"dbt.not_null": {"config": {"severity": "Warn", "enabled": True}}},
                    {"not_null": {"config": {"error_if": "> 10"}}},
                    {"not_null": {"config": {"severity": "error", "limit": 0}}},
                ]
            )
        )
        return {"name": name, "data_tests": [test]}

    source = {
        "name": "bronze",
        **yaml_config(),
        "tables": [
            {"name": t, **yaml_config(), "columns": [column("a"), column("b")]} for t in tables
        ],
    }
    project = {**yaml.safe_load(HEAD), "sources": sources, "data_tests": tests}
    return {
        "dbt_project.yml": yaml.safe_dump(project),
        "/".join(["models", *folder, "s.yml"]): yaml.safe_dump({"version": 2, "sources": [source]}),
    }


@pytest.mark.slow
@pytest.mark.timeout(1800)  # one dbt parse an example: seconds each
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(files=projects())
def test_generated_projects_read_as_dbt_parse_reads_them(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, str]
) -> None:
    settings = lakehouse(tmp_path_factory.mktemp("p"))
    _write(settings.dbt_project_dir, files)
    assert lakehouse_reads(settings) == _dbt_meta(dbt_reads(settings.dbt_project_dir)), files


@pytest.mark.parametrize(
    ("column", "required"),
    [
        ("plain", True),
        ("po", True),  # the project's severity warn under the test's own error
        ("warn", False),
        ("top", False),  # severity warn at the test's top level
        ("pw", False),  # the project's severity warn
        ("tw", False),  # a table's own test, the project's severity WARN
        ("gt10", False),  # error_if '> 10': one null does not fail it
        ("lim0", False),  # limit 0: dbt counts no failure
    ],
)
def test_a_null_dbt_only_warns_about_is_loaded(tmp_path: Path, column: str, required: bool) -> None:
    """A null in a column whose not_null test dbt would not fail for it (severity warn, an
    error_if one null does not meet) is what the analytics engineer said to accept: the API
    takes it (202) and the loader loads it, the column null (fixc s17: both refused it, 422
    and kind required); a test that fails for one null still refuses it on both sides."""
    settings = lakehouse(tmp_path)
    _write(settings.dbt_project_dir, CASES["severity"])
    names = [
        c["name"]
        for c in yaml.safe_load(CASES["severity"]["models/s.yml"])["sources"][0]["tables"][0][
            "columns"
        ]
    ]
    names += ["tw", "tx", "te"]
    header = ",".join(names)
    values = ",".join("" if name == column else "1" for name in names)
    out = run(settings, [("t", "a.csv", f"{header}\n{values}\n".encode())])["t"]
    if required:
        assert out.api_status == 422, out.api_status
        assert out.refused is not None and out.refused["kind"] == "required", out.refused
        assert out.refused["column"] == column, out.refused
    else:
        assert out.api_status == 202, (out.api_status, out.api_detail)
        assert out.refused is None, out.refused
        assert [r[column] for r in out.loaded_rows] == [None], out.loaded_rows


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("{severity: fatal}", "its not_null has severity 'fatal', not warn or error"),
        ("{severity: \"{{ 'warn' if target.name == 'prod' else 'error' }}\"}", "holds Jinja"),
        ("{error_if: 'between 1 and 5'}", "error_if 'between 1 and 5', which the lakehouse"),
        ("{fail_calc: 'sum(1)'}", "fail_calc 'sum(1)', which the lakehouse cannot judge"),
        ("{limit: '2'}", "has limit '2', not a whole number"),
    ],
)
def test_a_not_null_config_the_lakehouse_cannot_judge_holds_the_files(
    tmp_path: Path, config: str, words: str
) -> None:
    """A not_null test whose severity dbt refuses, or whose ``error_if``/``fail_calc`` dbt
    writes into its SQL in a form the lakehouse cannot judge: whether one null fails it is
    unknown, so the contract is misshapen (required, a row dbt accepts would be refused; not,
    a null dbt refuses would load without a word)."""
    settings = lakehouse(tmp_path)
    test = f"          - {{name: n, data_tests: [{{not_null: {{config: {config}}}}}]}}\n"
    _write(settings.dbt_project_dir, {"models/sources.yml": SOURCES + test})
    detail = held_as_misshapen(settings, "items", b"id\n1\n")
    assert words in detail, detail


def test_a_project_severity_dbt_refuses_holds_the_files(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    _write(
        settings.dbt_project_dir,
        {
            "dbt_project.yml": HEAD + "data_tests:\n  +severity: fatal\n",
            "models/sources.yml": SOURCES + "          - {name: n, data_tests: [not_null]}\n",
        },
    )
    detail = held_as_misshapen(settings, "items", b"id\n1\n")
    assert "its not_null has severity 'fatal', not warn or error" in detail, detail


@pytest.mark.parametrize("column", ["coalesce(a, b)", '"a b"', "{{ var('c') }}"])
def test_a_table_level_not_null_of_no_column_name_holds_the_files(
    tmp_path: Path, column: str
) -> None:
    """dbt writes a table-level test's ``column_name`` into its SQL (an expression, a quoted
    name): the lakehouse cannot judge it, and dropping the test would load the nulls it
    refuses, so the contract is misshapen."""
    settings = lakehouse(tmp_path)
    test = f"        data_tests:\n          - not_null: {{column_name: {json.dumps(column)}}}\n"
    _write(
        settings.dbt_project_dir,
        {"models/sources.yml": SOURCES.replace("        columns:\n", test + "        columns:\n")},
    )
    detail = held_as_misshapen(settings, "items", b"id\n1\n")
    assert "table 'items': its not_null under data_tests" in detail, detail


def test_a_table_level_not_null_refuses_a_null(tmp_path: Path) -> None:
    """A table's own ``not_null`` test (``column_name: id``) makes ``id`` required, as a
    column's does: a null is refused by the API (422) and the loader (until session 15 it was
    not read: the null got 202 and was stored, and dbt's test failed the build)."""
    settings = lakehouse(tmp_path)
    test = "        data_tests:\n          - not_null: {column_name: id}\n"
    _write(
        settings.dbt_project_dir,
        {"models/sources.yml": SOURCES.replace("        columns:\n", test + "        columns:\n")},
    )
    out = run(settings, [("items", "a.csv", b"id,x\n,1\n")])["items"]
    stored = out.loaded_rows and [(r["id"], r["x"]) for r in out.loaded_rows]
    assert out.api_status == 422, (out.api_status, stored)
    assert out.refused is not None and out.refused["kind"] == "required", stored


def test_a_file_under_two_resource_paths_holds_the_files(tmp_path: Path) -> None:
    """``model-paths: [models, models/staging]``: dbt reads ``models/staging/s.yml`` twice and
    refuses the project ("dbt found two sources with the name"); its contracts are held, as
    a table declared twice is (the lakehouse read it once, under the first path's config)."""
    settings = lakehouse(tmp_path)
    _write(
        settings.dbt_project_dir,
        {
            "dbt_project.yml": HEAD + "model-paths: [models, models/staging]\n",
            "models/staging/s.yml": SOURCES,
        },
    )
    detail = held_as_misshapen(settings, "items", b"id\n1\n")
    assert "under two resource paths of dbt_project.yml (the second 'models/staging')" in detail
