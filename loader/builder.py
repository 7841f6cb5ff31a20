"""The dbt builder: a warm ``dbtRunner`` that turns load events into published silver and gold.

* :class:`DbtSession` runs dbt in this process for one project and profile: the ``LAKEHOUSE_*``
  variables the profile reads are set from :class:`Settings` for each invocation, one invocation
  at a time per process (dbt does not support parallel invocations), and the parse is reused
  between invocations (no per-run ``--vars``: per-build facts, the pinned bronze versions, live in
  :mod:`loader.dbt_plugin`). :meth:`DbtSession.build` is one build: pin bronze, ``dbt build``,
  publish every model that built *and passed all its tests* (:mod:`loader.publish`). The pins
  are process-wide, so one build (pin → dbt → publish) runs at a time per process: a second
  session (``lakehouse docs`` beside a builder) waits instead of re-pinning a running build.
* :class:`Builder` is the long-lived thread behind ``lakehouse load|loader|up``: ``submit`` load
  events (non-blocking), bursts coalesce into one build of ``source:bronze.<table>+`` for the
  tables they touched, failures are recorded in the run ledger and retried with back-off
  (tenacity); loading never waits for it. Event builds leave dbt unit tests out (they test the
  SQL, not the data: dbt's advice for production); ``lakehouse build`` and CI run them.
* :func:`run_build` (``lakehouse build``) and :func:`run_docs` (``lakehouse docs``).

The publish rule, stated once: a model is published only when it built successfully in this
build and none of the tests attached to it failed or errored (``warn`` does not block). dbt build
already skips the children of a model whose tests fail, so gold never serves data that failed its
tests; the failures are in the build result and the ledger (``builds.error``).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console
from tenacity import RetryCallState, Retrying, stop_after_attempt, wait_exponential

from lakehouse.events import LoadEvent
from lakehouse.exceptions import LakehouseError
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings

__all__ = ["BuildResult", "Builder", "DbtSession", "run_build", "run_docs"]

log = logging.getLogger(__name__)

#: dbt does not support parallel invocations in one process, and the bronze pins
#: (:mod:`loader.dbt_plugin`) are process-wide: held from pinning to publishing.
_DBT_LOCK = threading.RLock()
_FAILED_TESTS = {"fail", "error"}
_FAILED_NODES = {"error", "fail", "runtime error"}


class BuildError(LakehouseError):
    """A dbt invocation that could not run at all (bad project, bad profile...)."""


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
        s = self.settings
        full = [
            *args,
            "--project-dir",
            str(s.dbt_project_dir),
            "--profiles-dir",
            str(s.profiles_dir),
            "--target",
            s.dbt_target,
        ]
        with _DBT_LOCK, _dbt_environment(s):
            _switch_database(s)
            # no dbt.log: dbt leaks the file's handle on every invocation of a warm runner
            return self._runner.invoke(
                [*full, "--log-level", self.log_level, "--log-level-file", "none"]
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
        with _DBT_LOCK:  # no other session may re-pin bronze before this build has published
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
        from loader import dbt_plugin

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
        result = BuildResult(success=bool(outcome.success), pinned=pinned)
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
        from loader import dbt_plugin
        from loader.publish import ModelSpec, Publisher

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
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        with DuckDBConnectionManager._LOCK:
            if DuckDBConnectionManager._ENV is not None:
                DuckDBConnectionManager._ENV.close()
                DuckDBConnectionManager._ENV = None
    _LAST_DATABASE[:] = [key]


@contextmanager
def _dbt_environment(settings: Settings) -> Iterator[None]:
    """The variables ``profiles.yml`` and the bronze plugin read, from ``settings``."""
    values = {
        "LAKEHOUSE_ROOT": str(settings.root),
        "LAKEHOUSE_DADOS": str(settings.dados),
        "LAKEHOUSE_DBT_TARGET": settings.dbt_target,
        "LAKEHOUSE_STORAGE_OPTIONS": json.dumps(settings.storage_options),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# -- the long-lived builder --------------------------------------------------------------------


class Builder:
    """One thread, one warm dbt, one build at a time; load events coalesce into builds."""

    def __init__(
        self,
        settings: Settings,
        *,
        attempts: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        debounce_s: float = 0.02,
    ) -> None:
        self.settings = settings
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.debounce_s = debounce_s
        self.ledger = Ledger(settings.ledger_file)
        self.builds = 0
        self.last_result: BuildResult | None = None
        self._cond = threading.Condition()
        self._pending: dict[str, set[str]] = {}  # table -> batch ids
        self._running = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: DbtSession | None = None
        self._covered: set[str] = set()  # bronze tables a successful build has started from

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lakehouse-builder", daemon=True)
        self._thread.start()

    def submit(self, event: LoadEvent) -> None:
        """Queue a build for ``event``'s table (returns at once; bursts coalesce)."""
        with self._cond:
            self._pending.setdefault(event.table, set()).update(event.batch_ids)
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued or running (False if ``timeout`` passed first)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._running, timeout)

    def stop(self) -> None:
        """Stop after the running build (queued events are dropped; bronze keeps the data)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # -- the thread ------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stop.is_set())
                if self._stop.is_set():
                    break
            if self.debounce_s:
                self._stop.wait(self.debounce_s)  # let the rest of a burst arrive
            with self._cond:
                pending, self._pending = self._pending, {}
                self._running = True
            try:
                self._build(pending)
            except Exception:  # never let the builder thread die; loading goes on
                log.exception("builder: unexpected error")
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()

    def _build(self, pending: dict[str, set[str]]) -> None:
        select = [f"source:bronze.{table}+" for table in sorted(pending)]
        attempts = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=self.max_backoff_s),
            retry=lambda state: not self._stop.is_set() and _failed(state),
            sleep=self._sleep,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        result: BuildResult | None = attempts(functools.partial(self._attempt, select))
        if result is not None and result.success:
            self._covered |= set(result.pinned)
        if result is not None and not result.success and not self._stop.is_set():
            error = {"error": "build failed after retries", "detail": result.error}
            for table, batch_ids in pending.items():
                for batch_id in batch_ids:
                    batch = self.ledger.get_batch(batch_id)
                    if batch is not None and batch.state == "loaded":
                        self.ledger.mark_failed(batch_id, table, batch.source_file, error)

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)  # back-off that stop() interrupts

    def _attempt(self, select: list[str]) -> BuildResult:
        build_id = self.ledger.start_build(" ".join(select))
        try:
            if self._session is None:
                self._session = DbtSession(self.settings)
            result = self._session.build(select, covered=self._covered, unit_tests=False)
        except Exception as exc:
            log.exception("build %s crashed", build_id)
            result = BuildResult(success=False, failures=[f"{type(exc).__name__}: {exc}"])
        self.builds += 1
        self.last_result = result
        if result.success:
            self.ledger.finish_build(
                build_id,
                "succeeded",
                read_versions=result.read_versions,
                published=result.published,
            )
            self.ledger.mark_published(build_id, result.read_versions)
            log.info("build %s published %s in %.2fs", build_id, result.published, result.seconds)
        else:
            self.ledger.finish_build(
                build_id,
                "failed",
                read_versions=result.read_versions,
                published=result.published,
                error=result.error,
            )
            log.warning("build %s failed: %s", build_id, result.error)
        return result


def _failed(state: RetryCallState) -> bool:
    outcome = state.outcome
    if outcome is None or outcome.failed:
        return True
    return not outcome.result().success


# -- commands ------------------------------------------------------------------------------------


def run_build(settings: Settings, *, select: list[str], full_refresh: bool = False) -> int:
    """``lakehouse build``: one dbt build + publish; prints what was published; 0 or 1."""
    console = Console()
    ledger = Ledger(settings.ledger_file)
    session = DbtSession(settings, log_level="info")
    build_id = ledger.start_build(" ".join(select) or None)
    result = session.build(select, full_refresh=full_refresh)
    ledger.finish_build(
        build_id,
        "succeeded" if result.success else "failed",
        read_versions=result.read_versions,
        published=result.published,
        error=result.error,
    )
    if result.success:
        ledger.mark_published(build_id, result.read_versions)
    _print_result(console, settings, result)
    return 0 if result.success else 1


def _print_result(console: Console, settings: Settings, result: BuildResult) -> None:
    from rich.table import Table

    if not result.published and not result.failures:
        console.print("nothing published: no model built (no bronze table loaded yet?)")
        return
    table = Table(title=f"published ({result.seconds:.1f}s)")
    table.add_column("table")
    table.add_column("version", justify="right")
    table.add_column("where")
    for target, version in sorted(result.published.items()):
        note = " (unchanged)" if target in result.unchanged else ""
        table.add_row(target, f"{version}{note}", str(settings.dados / target))
    console.print(table)
    if result.read_versions:
        read = ", ".join(f"{t} v{v}" for t, v in result.read_versions.items())
        console.print(f"read bronze: {read}")
    for unique_id, why in sorted(result.not_published.items()):
        console.print(f"[yellow]not published[/yellow] {unique_id}: {why}")
    for failure in result.failures:
        console.print(f"[red]failed[/red] {failure}")


def run_docs(settings: Settings, *, serve: bool = False, port: int = 8080) -> int:
    """``lakehouse docs``: dbt docs generate (lineage + published Delta locations), serve."""
    from loader import dbt_plugin

    console = Console()
    if _warehouse_in_use(settings):
        # held by a running loader (`lakehouse up`): lineage and docs from the in-memory target;
        # only the catalog's column types are missing
        console.print("[yellow]the warehouse is in use: docs from the in-memory target[/]")
        settings = settings.model_copy(update={"dbt_target": "ci"})
    session = DbtSession(settings, log_level="info")
    with _DBT_LOCK:  # the pins are process-wide: not while a builder's build runs
        dbt_plugin.begin_build(settings)  # docs compile SQL (missing bronze tables are fine)
        outcome = session.invoke(["docs", "generate"])
    if not outcome.success:
        console.print(f"[red]dbt docs generate failed[/red]: {outcome.exception or ''}")
        return 1
    target = docs_target(settings)
    count = annotate_docs(settings, target / "manifest.json")
    console.print(f"docs in {target / 'index.html'} ({count} published models annotated)")
    if serve:
        serve_docs(target, port=port, ready=lambda url: console.print(f"serving {url}"))
    return 0


def _warehouse_in_use(settings: Settings) -> bool:
    """Whether another process holds the DuckDB warehouse file (its lock)."""
    import duckdb

    path = settings.warehouse_path
    if settings.dbt_target != "dev" or not path.exists():
        return False
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as exc:
        return "lock" in str(exc).lower()
    return False


def docs_target(settings: Settings) -> Path:
    return settings.dbt_project_dir / "target"


def annotate_docs(settings: Settings, manifest_path: Path) -> int:
    """Write each published model's Delta location into the docs' manifest (meta + text)."""
    from loader.publish import publish_layer

    manifest = json.loads(manifest_path.read_text())
    count = 0
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        config = node.get("config") or {}
        meta = {**(node.get("meta") or {}), **(config.get("meta") or {})}
        layer = publish_layer(node.get("fqn") or [], meta)
        if layer is None or config.get("materialized") == "ephemeral":
            continue
        location = settings.dados / layer / node["name"]
        shown = _shown_path(settings, location)
        node.setdefault("meta", {})["delta_location"] = shown
        config.setdefault("meta", {})["delta_location"] = shown
        note = f"**Published as Delta ({layer}):** `{shown}`"
        description = node.get("description") or ""
        if note not in description:
            node["description"] = f"{description}\n\n{note}".strip()
        count += 1
    manifest_path.write_text(json.dumps(manifest))
    return count


def _shown_path(settings: Settings, path: Path) -> str:
    try:
        return str(path.relative_to(settings.root))
    except ValueError:
        return str(path)


def serve_docs(
    directory: Path,
    *,
    port: int,
    host: str = "127.0.0.1",
    ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve the generated docs on ``host:port`` until Ctrl-C (or ``stop`` is set)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    with ThreadingHTTPServer((host, port), handler) as server:
        url = f"http://{host}:{server.server_address[1]}/"
        if ready is not None:
            ready(url)
        if stop is None:
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
            return
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stop.wait()
        server.shutdown()
        thread.join()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("docs: " + format, *args)
