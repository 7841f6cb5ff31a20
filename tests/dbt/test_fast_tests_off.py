"""A project that changes how dbt wraps a test keeps every test on dbt's own path.

transform.fast_tests wraps a kept compiled test as dbt's default ``get_test_sql`` does; a
project overriding it must get its own wrapper's verdicts. Here the override is stricter than
dbt's (every test fails, whatever its rows): served by the default wrapper, the second build's
tests would pass; they must fail as the project says.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from runtime_support import append_bronze, bronze_sources, project_settings, write_project

from lakehouse import Settings
from transform import BuildRequest, DbtSession

SOURCES = bronze_sources("customers")
MODELS = """
version: 2
models:
  - name: stg_customers
    columns:
      - name: customer_id
        data_tests: [unique, not_null]
"""
#: dbt's default__get_test_sql, but every test fails
WRAPPER = """
{% macro default__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    select
      {{ fail_calc }} as failures,
      {{ fail_calc }} >= 0 as should_warn,
      {{ fail_calc }} >= 0 as should_error
    from (
      {{ main_sql }}
      {{ "limit " ~ limit if limit != none }}
    ) dbt_internal_test
{%- endmacro %}
"""
FILES = {
    "models/staging/_sources.yml": SOURCES,
    "models/staging/_models.yml": MODELS,
    "models/staging/stg_customers.sql": "select * from {{ source('bronze', 'customers') }}",
    "macros/get_test_sql.sql": WRAPPER,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, DbtSession]:
    root = tmp_path_factory.mktemp("fast_tests_off")
    settings = project_settings(root, write_project(root / "project", FILES))
    append_bronze(settings, "customers", pa.table({"customer_id": pa.array([1, 2], pa.int64())}))
    return settings, DbtSession(settings)


def _statuses(settings: Settings) -> dict[str, str]:
    results = json.loads((settings.dbt_project_dir / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in results["results"] if "test." in r["unique_id"]}


def test_an_overridden_wrapper_keeps_every_test_on_dbts_path(
    project: tuple[Settings, DbtSession],
) -> None:
    settings, session = project
    for _ in range(2):  # the second build would be served if the path were on
        built = session.build(BuildRequest([], unit_tests=False))
        assert not built.success
        statuses = _statuses(settings)
        assert len(statuses) == 2 and set(statuses.values()) == {"fail"}, statuses
        assert session._fast is not None and not session._fast.enabled
        assert not session._fast.served
