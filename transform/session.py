"""The warm dbt session: one ``dbtRunner`` per project and profile; one build (pin, dbt, publish).

* :class:`DbtSession` runs dbt in this process for one project and profile, with what the
  profile needs from :class:`Settings` passed as dbt arguments (never through the process
  environment, which other threads read), one invocation at a time per process (dbt does not
  support parallel invocations), and the parse is reused
  between invocations (no per-run ``--vars``: per-build facts, the pinned bronze versions, live in
  :mod:`transform.dbt_plugin`). :meth:`DbtSession.build` is one build: pin bronze, ``dbt build``,
  publish every model that built *and passed all its tests* (:mod:`transform.publish`). The pins
  are process-wide, so one build (pin → dbt → publish) runs at a time per process: a second
  session (``lakehouse docs`` beside a builder) waits instead of re-pinning a running build.

The publish rule, stated once: a model is published only when it built successfully in this
build and none of the tests attached to it failed or errored (``warn`` does not block). dbt build
already skips the children of a model whose tests fail, so gold never serves data that failed its
tests; the failures are in the build result and the ledger (``builds.error``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lakehouse.settings import Settings
from transform import _dbt_duckdb_internals

__all__ = ["DBT_LOCK", "BuildResult", "DbtSession", "dbt_arguments"]

log = logging.getLogger(__name__)

#: dbt does not support parallel invocations in one process, and the bronze pins
#: (:mod:`transform.dbt_plugin`) are process-wide: held from pinning to publishing.
DBT_LOCK = threading.RLock()
_FAILED_TESTS = {"fail", "error"}
_FAILED_NODES = {"error", "fail", "runtime error"}


@dataclass
class BuildResult:
    """What one build did."""

    success: bool
    pinned: dict[str, int] = field(default_factory=dict)
    read_versions: dict[str, int] = field(default_factory=dict)
    published: dict[str, int] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    not_published: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    #: bronze tables pinned below their latest version (a file still coming in pieces):
    #: ``{table: (pinned version or None, latest version)}``
    held_back: dict[str, tuple[int | None, int]] = field(default_factory=dict)
    seconds: float = 0.0
    dbt_seconds: float = 0.0
    publish_seconds: float = 0.0

    @property
    def error(self) -> str | None:
        return "; ".join(self.failures) or None


class DbtSession:
    """dbt for one project/profile in this process, kept warm between invocations."""

    def __init__(self, settings: Settings, *, log_level: str = "warn") -> None:
        from dbt.cli.main import dbtRunner

        self.settings = settings
        self.log_level = log_level
        self._runner = dbtRunner()
        #: models built but not yet published (a failed publish is redone by the next build)
        self._unpublished: dict[str, Any] = {}
        self._parsed = False

    # -- invoking dbt ----------------------------------------------------------------------

    def invoke(self, args: Sequence[str]) -> Any:
        """Run one dbt command (``args`` without the project/profile options)."""
        from transform import dbt_plugin

        with DBT_LOCK:
            _switch_database(self.settings)
            dbt_plugin.use_settings(self.settings)
            # no dbt.log: dbt leaks the file's handle on every invocation of a warm runner
            return self._runner.invoke(
                [
                    *args,
                    *dbt_arguments(self.settings),
                    "--log-level",
                    self.log_level,
                    "--log-level-file",
                    "none",
                ]
            )

    def build(
        self,
        select: Sequence[str] = (),
        *,
        full_refresh: bool = False,
        covered: set[str] | None = None,
        unit_tests: bool = True,
    ) -> BuildResult:
        """Pin bronze, ``dbt build`` the selection, publish what passed; never raises for dbt.

        With ``covered`` (bronze tables earlier builds started from), every pinned table not in
        it is selected too (``source:bronze.<table>+``): a model downstream of the selection
        may read a model of such a table, which was then never built.
        """
        with DBT_LOCK:  # no other session may re-pin bronze before this build has published
            return self._build(
                select, full_refresh=full_refresh, covered=covered, unit_tests=unit_tests
            )

    def _build(
        self,
        select: Sequence[str],
        *,
        full_refresh: bool,
        covered: set[str] | None,
        unit_tests: bool,
    ) -> BuildResult:
        from transform import dbt_plugin

        started = time.perf_counter()
        pins = dbt_plugin.begin_build(self.settings)
        pinned = pins.pinned_versions
        if covered is not None:
            select = [*select, *(f"source:bronze.{t}+" for t in sorted(set(pinned) - covered))]
        args = ["build"]
        if select:
            args += ["--select", " ".join(dict.fromkeys(select))]
        missing = sorted(self.declared_bronze() - set(pinned))
        if missing:  # not loaded yet: leave out what reads them instead of failing the build
            args += ["--exclude", " ".join(f"source:bronze.{t}+" for t in missing)]
        if full_refresh:
            args.append("--full-refresh")
        if not unit_tests:  # dbt's advice for production builds: they test SQL, not data
            args += ["--exclude-resource-type", "unit_test"]
        dbt_started = time.perf_counter()
        outcome = self.invoke(args)
        result = BuildResult(
            success=bool(outcome.success), pinned=pinned, held_back=dict(pins.held_back)
        )
        result.dbt_seconds = time.perf_counter() - dbt_started
        if outcome.exception is not None:
            result.failures.append(f"dbt: {outcome.exception}")
        to_publish, blocked, failures = _analyse(outcome.result)
        result.failures.extend(failures)
        result.not_published.update(blocked)
        for unique_id in blocked:
            self._unpublished.pop(unique_id, None)
        self._unpublished.update(to_publish)
        publish_started = time.perf_counter()
        self._publish(result, full_refresh=full_refresh)
        result.publish_seconds = time.perf_counter() - publish_started
        result.read_versions = pins.read_versions
        result.success = result.success and not result.failures
        result.seconds = time.perf_counter() - started
        return result

    def declared_bronze(self) -> set[str]:
        """The tables of the ``bronze`` source, from the last manifest dbt wrote (or a parse)."""
        path = self.settings.dbt_project_dir / "target" / "manifest.json"
        if not path.exists() and not self._parsed:
            self._parsed = True  # once: a project with another target-path has no such file
            self.invoke(["parse"])
        try:
            sources = json.loads(path.read_text()).get("sources", {}).values()
        except (OSError, ValueError):
            return set()
        return {s["name"] for s in sources if s.get("source_name") == "bronze"}

    def _publish(self, result: BuildResult, *, full_refresh: bool) -> None:
        from transform import dbt_plugin
        from transform.publish import ModelSpec, Publisher

        conn = dbt_plugin.connection()
        if conn is None:
            return
        publisher = Publisher(self.settings, conn, batch_rows=self.settings.read_batch_rows)
        cursor = conn.cursor()
        try:
            dbt_plugin.prepare_cursor(cursor)  # views over bronze read the build's pins
            for unique_id, node in list(self._unpublished.items()):
                try:
                    spec = ModelSpec.from_node(node)
                    if spec is not None:
                        done = publisher.publish(spec, full_refresh=full_refresh, cursor=cursor)
                        result.published[done.target] = done.version
                        if done.mode == "unchanged":
                            result.unchanged.append(done.target)
                    del self._unpublished[unique_id]
                except Exception as exc:  # recorded; redone by the next build
                    log.exception("publishing %s failed", unique_id)
                    result.failures.append(f"publish {unique_id}: {exc}")
                    result.not_published[unique_id] = f"publish failed: {exc}"
        finally:
            cursor.close()


def _analyse(run_result: Any) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Models to publish, models blocked (with why), and failures, from dbt's results."""
    results = list(getattr(run_result, "results", None) or [])
    built: dict[str, Any] = {}
    blocked: dict[str, str] = {}
    failures: list[str] = []
    for res in results:
        node = res.node
        status = str(getattr(res.status, "value", res.status))
        kind = str(getattr(node.resource_type, "value", node.resource_type))
        if kind == "model":
            if status == "success":
                built[node.unique_id] = node
            elif status in _FAILED_NODES:
                failures.append(f"{node.unique_id}: {res.message}")
                blocked[node.unique_id] = f"{status}: {res.message}"
            else:
                blocked[node.unique_id] = status
        elif kind in ("test", "unit_test") and status in _FAILED_TESTS:
            failures.append(f"{node.unique_id}: {status}: {res.message}")
            attached = getattr(node, "attached_node", None)
            targets = [attached] if attached else list(node.depends_on.nodes)
            for target in targets:
                if target.startswith("model."):
                    blocked[target] = f"test {node.name} {status}"
        elif status in _FAILED_NODES:
            failures.append(f"{node.unique_id}: {res.message}")
    for unique_id in blocked:
        built.pop(unique_id, None)
    return built, blocked, failures


_LAST_DATABASE: list[tuple[str, str, str]] = []


def _switch_database(settings: Settings) -> None:
    """Drop dbt-duckdb's process-wide database when this invocation targets another one.

    dbt-duckdb keeps one environment per process and, after an invocation on another target,
    can run the next one against the old database; this only happens to a process that uses
    two targets (``lakehouse docs`` falling back to the in-memory target, tests).
    """
    key = (str(settings.profiles_dir), settings.dbt_target, str(settings.dados))
    if _LAST_DATABASE and _LAST_DATABASE[0] != key:
        _dbt_duckdb_internals.drop_environment()
    _LAST_DATABASE[:] = [key]


def dbt_arguments(settings: Settings) -> list[str]:
    """What every invocation passes dbt from ``settings``, instead of process environment.

    The profile's ``path`` reads ``var('lakehouse_dados')`` (falling back to the
    ``LAKEHOUSE_DADOS`` variable for a plain ``dbt`` command); the value is the same on every
    invocation of a session, so dbt's partial parse is kept. The bronze plugin gets the
    settings in-process (:func:`transform.dbt_plugin.use_settings`).
    """
    return [
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.profiles_dir),
        "--target",
        settings.dbt_target,
        "--vars",
        json.dumps({"lakehouse_dados": str(settings.dados)}),
        "--no-send-anonymous-usage-stats",
    ]
