"""dbt's built-in generic data tests of a warm build, evaluated together (docs/dbt.md).

A warm event build of the sample shop runs ~46 data tests; dbt spends ~30 ms of CPU on each
(compiling it anew, a connection, a transaction, its events) for a query DuckDB answers in a
millisecond. Here a test that dbt already ran under the same manifest is not compiled again:

* **What may take this path**: a generic test named ``unique``, ``not_null``,
  ``accepted_values`` or ``relationships`` from dbt itself (no namespace), materialized as a
  ``test``, without ``store_failures``/``store_failures_as``, ``sql_header`` or
  ``--store-failures``, in a project that does not override how dbt wraps or limits a test
  (``get_test_sql``, ``get_limit_sql``, the ``test`` materialization, the test's own macros) nor
  ``get_where_subquery``, except by the lakehouse's own ``duckdb__get_where_subquery`` and
  ``changed_since`` (the sample's ``__changed_rows__`` scoping, whose only compile-time input is
  the tested relation's columns), recognised by their text: a project's own variant of either
  may put a value read at compile time into the SQL, which a kept compiled SQL would repeat.
  Anything else (singular tests, custom generic tests such as ``unique_combination``, unit
  tests) runs through dbt as before.
* **Compiled SQL**: dbt's own, kept from the last time dbt compiled and ran the test in this
  session, for this very manifest (a re-parse forgets everything), and used again only while
  the columns of every relation the test depends on are what they were then.
* **One query per group**: the tests of the same parents (the tests of one model; a
  ``relationships`` test with its two models) are evaluated in one DuckDB query when dbt
  reaches the first of them (dbt runs a test only once all its parents are built), each
  wrapped as dbt wraps it (``fail_calc``, ``warn_if``, ``error_if``, ``limit``), and the
  verdict is made by dbt's own ``TestRunner.build_test_run_result``.
* **Only a pass is taken**: a test whose verdict is anything but ``pass`` (warn, fail, a value
  dbt would not read as a boolean, a wrapper that did not return exactly one row, any error of
  the query) is run by dbt itself, one by one, as before, so its result, message and failure
  count are dbt's. A test that passed is reported by dbt's machinery like any other (events,
  ``run_results.json``, the build result and the ledger).

The runner is installed for ``dbt build`` in this process (:func:`install`) and does nothing
unless a :class:`FastTests` is active (:func:`active`), which the session turns on for its own
builds on a kept manifest.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lakehouse.contracts import KNOWN_MACROS, macro_digest

log = logging.getLogger(__name__)

__all__ = [
    "BUILTIN_TESTS",
    "KNOWN_MACROS",
    "FastTests",
    "active",
    "hoist_scopes",
    "install",
    "macro_digest",
]

#: dbt's built-in generic data tests
BUILTIN_TESTS = frozenset({"unique", "not_null", "accepted_values", "relationships"})
# KNOWN_MACROS (lakehouse.contracts, whose contracts read them too): macros a project may
# define while its tests keep this path, the lakehouse's own ``__changed_rows__`` scoping
# (dbt_project/macros/changed_since.sql), by macro_digest of their text; any other text under
# these names turns the path off for the project

#: macros that must be dbt's own for a kept compiled SQL to be wrapped here as dbt would
_DBT_ONLY = (
    "get_test_sql",
    "default__get_test_sql",
    "duckdb__get_test_sql",
    "get_limit_subquery_sql",
    "get_limit_sql",
    "default__get_limit_sql",
    "duckdb__get_limit_sql",
    "should_store_failures",
    "get_where_subquery",
    "default__get_where_subquery",
    *(f"{prefix}test_{name}" for prefix in ("", "default__", "duckdb__") for name in BUILTIN_TESTS),
)

_ACTIVE: list[FastTests] = []
_INSTALLED: list[bool] = []


def install() -> None:
    """``dbt build`` runs data tests through :class:`_Runner` (a no-op unless one is active)."""
    if _INSTALLED:
        return
    from dbt.artifacts.resources.types import NodeType
    from dbt.task.build import BuildTask

    BuildTask.RUNNER_MAP[NodeType.Test] = _runner_class()
    _INSTALLED.append(True)


@contextlib.contextmanager
def active(fast: FastTests | None) -> Iterator[None]:
    """``fast`` serves the data tests of the dbt invocation inside (``None``: dbt alone)."""
    if fast is None:
        yield
        return
    fast.begin()
    _ACTIVE.append(fast)
    try:
        yield
    finally:
        _ACTIVE.remove(fast)


@dataclass
class _Known:
    """A test as dbt last compiled and ran it: its compiled node, its parents' columns then."""

    node: Any
    columns: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@dataclass
class _Group:
    """The verdicts of the tests of one parent set in this build (computed once)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    done: bool = False
    #: unique id -> dbt's RunResult for the tests that passed
    passed: dict[str, Any] = field(default_factory=dict)


class FastTests:
    """The kept compiled tests of one manifest, and the verdicts of the build running now."""

    def __init__(self, manifest: Any, project_name: str) -> None:
        self.manifest = manifest
        self.enabled = _wrapping_is_dbts(manifest, project_name)
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()
        self._groups: dict[tuple[str, ...], _Group] = {}
        #: tests served here and run by dbt in the last build (for logs and tests)
        self.served: set[str] = set()
        self.ran: set[str] = set()

    def begin(self) -> None:
        with self._lock:
            self._groups = {}
            self.served = set()
            self.ran = set()

    # -- eligibility -----------------------------------------------------------------------

    def eligible(self, node: Any) -> bool:
        if not self.enabled or str(getattr(node, "resource_type", "")) != "test":
            return False
        meta = getattr(node, "test_metadata", None)
        if meta is None or meta.name not in BUILTIN_TESTS or meta.namespace is not None:
            return False
        config = node.config
        if str(config.materialized) != "test" or config.store_failures or config.store_failures_as:
            return False
        if getattr(config, "sql_header", None):
            return False
        from dbt.flags import get_flags

        flags = get_flags()  # type: ignore[no-untyped-call]
        return not getattr(flags, "STORE_FAILURES", False)

    # -- learning from dbt's own runs ------------------------------------------------------

    def learn(self, runner: Any, compiled: Any, result: Any) -> None:
        """Keep ``compiled`` (a test dbt just compiled and ran) with its parents' columns."""
        if result is None or not getattr(compiled, "compiled_code", None):
            return
        try:
            columns = self._columns(runner, compiled)
        except Exception:  # not kept: dbt runs it next time too
            log.debug("cannot read the columns of %s's parents", compiled.unique_id, exc_info=True)
            return
        with self._lock:
            self._known[compiled.unique_id] = _Known(compiled, columns)

    def _columns(
        self, runner: Any, node: Any
    ) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
        """The columns (name, type) of every relation ``node`` depends on, as DuckDB has them."""
        out = []
        for parent_id in sorted(node.depends_on.nodes):
            parent = self.manifest.nodes.get(parent_id) or self.manifest.sources.get(parent_id)
            if parent is None:
                raise LookupError(parent_id)
            relation = runner.adapter.Relation.create_from(runner.config, parent).render()
            rows = _query(f"select column_name, column_type from (describe {relation})")
            out.append((parent_id, tuple((str(n), str(t)) for n, t in rows)))
        return tuple(out)

    # -- serving a test --------------------------------------------------------------------

    def serve(self, runner: Any, node: Any) -> Any:
        """dbt's RunResult of a pass for ``node`` if the group's query says so, else None."""
        if node.unique_id not in self._known:
            return None
        parents = tuple(sorted(node.depends_on.nodes))
        with self._lock:
            group = self._groups.setdefault(parents, _Group())
        with group.lock:
            if not group.done:
                group.done = True
                try:
                    self._evaluate(runner, parents, group)
                except Exception:  # dbt runs each test of the group itself
                    log.debug("the batched tests of %s failed", parents, exc_info=True)
            result = group.passed.pop(node.unique_id, None)
        if result is not None:
            with self._lock:
                self.served.add(node.unique_id)
        return result

    def _evaluate(self, runner: Any, parents: tuple[str, ...], group: _Group) -> None:
        """One query for every kept test of ``parents`` in this build; the passes kept."""
        with self._lock:
            kept = list(self._known.values())
        members = [k for k in kept if tuple(sorted(k.node.depends_on.nodes)) == parents]
        if not members:
            return
        columns = self._columns(runner, members[0].node)
        members = [m for m in members if m.columns == columns]
        if not members:
            return
        started = time.perf_counter()
        branches = []
        scopes: dict[str, str] = {}
        for i, known in enumerate(members):
            sql = wrap(hoist_scopes(known.node.compiled_code, scopes), known.node.config)
            # each test's own column types: a union all makes them one type for all
            branches.append(
                f"select {i} as i, failures, should_warn, should_error, typeof(failures),"
                f" typeof(should_warn), typeof(should_error) from ({sql}) as t{i}"
            )
        sql = "\nunion all\n".join(branches)
        if scopes:
            ctes = [
                f"{name} as materialized (select {text} as since)" for text, name in scopes.items()
            ]
            sql = f"with {', '.join(ctes)}\n{sql}"
        rows: dict[int, list[tuple[Any, ...]]] = {}
        for row in _query(sql):
            rows.setdefault(int(row[0]), []).append(tuple(row[1:]))
        elapsed = time.perf_counter() - started
        for i, known in enumerate(members):
            got = rows.get(i, [])
            if len(got) != 1:  # the wrapper did not return exactly one row: dbt's error to give
                continue
            values, types = got[0][:3], got[0][3:]
            if types[0] not in _INTEGERS or types[1:] != ("BOOLEAN", "BOOLEAN"):
                continue  # dbt reads other types its own way: dbt runs the test
            result = _verdict(runner, known.node, values, elapsed)
            if result is not None:
                group.passed[known.node.unique_id] = result


#: DuckDB's integer types (``typeof``): a failure count of any of them is an exact Python int
_INTEGERS = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)


#: what ``changed_since(relation)`` renders (dbt_project/macros/changed_since.sql, its text
#: pinned in :data:`KNOWN_MACROS`), whitespace aside: a scalar expression of literals only
_SCOPE = re.compile(
    r"coalesce\(\s*\(\s*select\s+min\(c\.since\)\s+from\s+_lakehouse_changed\.since\s+as\s+c"
    r"\s+inner\s+join\s+duckdb_tables\(\)\s+as\s+t\s+on"
    r"\s+c\.database_name\s*=\s*t\.database_name\s+and\s+c\.schema_name\s*=\s*t\.schema_name"
    r"\s+and\s+c\.table_name\s*=\s*t\.table_name\s+and\s+c\.table_oid\s*=\s*t\.table_oid"
    r"\s+where\s+t\.database_name\s*=\s*'[^']*'\s+and\s+t\.schema_name\s*=\s*'[^']*'"
    r"\s+and\s+t\.table_name\s*=\s*'[^']*'\s*\)\s*,\s*'-infinity'::timestamptz\s*\)"
)


def hoist_scopes(compiled_sql: str, scopes: dict[str, str]) -> str:
    """``compiled_sql`` with each ``__changed_rows__`` scope (:data:`_SCOPE`) read from a CTE of
    the group's query instead: ``scopes`` maps the scope's text to the CTE's name (added here).

    Every test of a model carries the same scope, a join with ``duckdb_tables()`` (~1-2 ms in
    DuckDB each); the group's query computes it once per relation (``materialized``). It is a
    scalar expression of literals evaluated in the same query, so the value is the same."""

    def hoisted(match: re.Match[str]) -> str:
        name = scopes.setdefault(match.group(0), f"__lakehouse_changed_since_{len(scopes)}")
        return f"(select since from {name})"

    return _SCOPE.sub(hoisted, compiled_sql)


def wrap(compiled_sql: str, config: Any) -> str:
    """``compiled_sql`` as dbt's ``test`` materialization runs it: ``default__get_limit_sql``
    inside ``default__get_test_sql`` (the project overrides neither: :func:`_wrapping_is_dbts`)."""
    sql = compiled_sql
    if config.limit is not None:
        sql = f"{sql}\n  limit {config.limit}"
    fail_calc = config.fail_calc
    return (
        f"select {fail_calc} as failures, {fail_calc} {config.warn_if} as should_warn, "
        f"{fail_calc} {config.error_if} as should_error from (\n{sql}\n) dbt_internal_test"
    )


def _verdict(runner: Any, node: Any, values: tuple[Any, ...], elapsed: float) -> Any:
    """dbt's RunResult for ``values`` (failures, should_warn, should_error) if it is a pass."""
    from dbt.adapters.contracts.connection import AdapterResponse
    from dbt.artifacts.schemas.results import TestStatus
    from dbt.task.test import TestResultData
    from dbt.utils import _coerce_decimal  # type: ignore[attr-defined]

    for flag in values[1:]:  # what dbt reads as a boolean without a doubt; else dbt decides
        if flag is not None and not isinstance(flag, bool):
            return None
    data: dict[str, Any] = dict(
        zip(("failures", "should_warn", "should_error"), map(_coerce_decimal, values), strict=True)
    )
    if not isinstance(data["failures"], int):
        return None
    data["adapter_response"] = AdapterResponse(_message="OK").to_dict(omit_none=True)
    TestResultData.validate(data)  # type: ignore[no-untyped-call]
    result = runner.build_test_run_result(node, TestResultData.from_dict(data))
    if result.status != TestStatus.Pass:
        return None
    result.execution_time = elapsed
    return result


def _query(sql: str) -> list[tuple[Any, ...]]:
    """``sql`` on a cursor of dbt's own DuckDB connection (bronze views read the build's pins)."""
    from transform import dbt_plugin

    conn = dbt_plugin.connection()
    if conn is None:
        raise RuntimeError("dbt's DuckDB connection is not open")
    cursor = conn.cursor()
    try:
        dbt_plugin.prepare_cursor(cursor)
        return list(cursor.execute(sql).fetchall())
    finally:
        cursor.close()


def _wrapping_is_dbts(manifest: Any, project_name: str) -> bool:
    """Whether dbt itself wraps, limits and materializes tests in this project."""
    for macro in manifest.macros.values():
        if macro.package_name == "dbt":
            continue
        if macro.name in _DBT_ONLY:
            return False
        known = KNOWN_MACROS.get(macro.name)
        if known is not None and macro_digest(macro.macro_sql) != known:
            return False
    materialization = manifest.find_materialization_macro_by_name(project_name, "test", "duckdb")
    return materialization is not None and materialization.package_name == "dbt"


def _runner_class() -> Any:
    from dbt.task.test import TestRunner

    class _Runner(TestRunner):
        """dbt's TestRunner; a kept built-in test that passes in its group's query is not
        compiled nor run again (module docstring)."""

        def compile_and_execute(self, manifest: Any, ctx: Any) -> Any:
            fast = _ACTIVE[-1] if _ACTIVE else None
            if fast is None or fast.manifest is not manifest or not fast.eligible(self.node):
                return super().compile_and_execute(manifest, ctx)
            from dbt.artifacts.schemas.results import collect_timing_info

            started = time.time()
            timing: list[Any] = []
            with collect_timing_info("execute", timing.append):
                result = fast.serve(self, self.node)
            if result is not None:
                ctx.timing.extend(timing)
                ctx.node = result.node
                result.execution_time = time.time() - started
                return result
            result = super().compile_and_execute(manifest, ctx)
            with fast._lock:
                fast.ran.add(self.node.unique_id)
            fast.learn(self, ctx.node, result)
            return result

    return _Runner
