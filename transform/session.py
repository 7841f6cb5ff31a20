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
tests; the failures are in the build result and the ledger (``builds.error``). A model that
meets the rule while dbt is still building others is published at once, beside dbt
(:class:`_Overlap`); the rest after dbt.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lakehouse.exceptions import LakehouseError
from lakehouse.history import OPS_FOLDER
from lakehouse.settings import Settings, require_dbt_project

__all__ = [
    "DBT_LOCK",
    "BuildRequest",
    "BuildResult",
    "DbtSession",
    "DepsError",
    "dbt_arguments",
]

log = logging.getLogger(__name__)

#: dbt does not support parallel invocations in one process, and the bronze pins
#: (:mod:`transform.dbt_plugin`) are process-wide: held from pinning to publishing.
DBT_LOCK = threading.RLock()
_FAILED_TESTS = {"fail", "error"}
_FAILED_NODES = {"error", "fail", "runtime error"}
#: dbt commands that run on a parsed manifest (reused between invocations, see invoke)
_MANIFEST_COMMANDS = {"build", "run", "test", "seed", "snapshot", "compile"}
#: what dbt writes in a project folder (its output), not part of the project
_NOT_PROJECT = {"target", "logs"}


@dataclass(frozen=True, init=False)
class BuildRequest:
    """What to build: dbt's own selection (``--select``/``--exclude``/``--full-refresh``/
    ``--vars``), whether unit tests run, and ``failed``: add the tables whose last build failed
    (resolved by the builder that knows them)."""

    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    full_refresh: bool = False
    vars: str | None = None
    unit_tests: bool = True
    failed: bool = False

    def __init__(
        self,
        select: Sequence[str] = (),
        exclude: Sequence[str] = (),
        *,
        full_refresh: bool = False,
        vars: str | None = None,
        unit_tests: bool = True,
        failed: bool = False,
    ) -> None:
        object.__setattr__(self, "select", tuple(select))
        object.__setattr__(self, "exclude", tuple(exclude))
        object.__setattr__(self, "full_refresh", full_refresh)
        object.__setattr__(self, "vars", vars)
        object.__setattr__(self, "unit_tests", unit_tests)
        object.__setattr__(self, "failed", failed)

    def with_select(self, extra: Sequence[str]) -> BuildRequest:
        return BuildRequest(
            [*self.select, *extra],
            self.exclude,
            full_refresh=self.full_refresh,
            vars=self.vars,
            unit_tests=self.unit_tests,
        )

    def describe(self) -> str | None:
        """The selection as the ledger records it (``None``: everything)."""
        parts = list(self.select)
        if self.exclude:
            parts += ["--exclude", *self.exclude]
        if self.full_refresh:
            parts.append("--full-refresh")
        if self.vars:
            parts += ["--vars", self.vars]
        return " ".join(parts) or None

    def as_dict(self) -> dict[str, Any]:
        return {
            "select": list(self.select),
            "exclude": list(self.exclude),
            "full_refresh": self.full_refresh,
            "vars": self.vars,
            "unit_tests": self.unit_tests,
            "failed": self.failed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildRequest:
        return cls(
            [str(s) for s in data.get("select") or []],
            [str(s) for s in data.get("exclude") or []],
            full_refresh=bool(data.get("full_refresh")),
            vars=data.get("vars") or None,
            unit_tests=bool(data.get("unit_tests", True)),
            failed=bool(data.get("failed")),
        )


@dataclass
class BuildResult:
    """What one build did."""

    success: bool
    pinned: dict[str, int] = field(default_factory=dict)
    read_versions: dict[str, int] = field(default_factory=dict)
    published: dict[str, int] = field(default_factory=dict)
    #: unique id -> ``<layer>/<model>`` of every model published (or found unchanged)
    published_ids: dict[str, str] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    not_published: dict[str, str] = field(default_factory=dict)
    #: models built but not published by the folder/``meta.publish`` rule (unique id -> why)
    kept: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    #: bronze tables pinned below their latest version (a file still coming in pieces):
    #: ``{table: (pinned version or None, latest version)}``
    held_back: dict[str, tuple[int | None, int]] = field(default_factory=dict)
    #: bronze tables with a failed or blocked node downstream of them in this build
    dirty_tables: set[str] = field(default_factory=set)
    #: every failure is tied to nodes (else a failure counts against every table)
    attributed: bool = True
    build_id: int | None = None
    #: models no source feeds that this build built (a date spine: see ``unfed_models``)
    unfed: list[str] = field(default_factory=list)
    #: what a build that did not run says instead (``lakehouse retry`` with nothing failed)
    note: str | None = None
    seconds: float = 0.0
    #: dbt's part, with the models published beside it (:class:`_Overlap`)
    dbt_seconds: float = 0.0
    #: after dbt: the models left to publish then
    publish_seconds: float = 0.0

    @property
    def error(self) -> str | None:
        return "; ".join(self.failures) or None

    def failed_tables(self, tables: Iterable[str]) -> set[str]:
        """Which of ``tables`` this build failed for (something downstream failed)."""
        if self.success:
            return set()
        if not self.attributed:
            return set(tables)
        return set(tables) & self.dirty_tables

    def as_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "build_id": self.build_id,
            "pinned": self.pinned,
            "read_versions": self.read_versions,
            "published": self.published,
            "published_ids": self.published_ids,
            "unchanged": self.unchanged,
            "not_published": self.not_published,
            "kept": self.kept,
            "failures": self.failures,
            "dirty_tables": sorted(self.dirty_tables),
            "attributed": self.attributed,
            "note": self.note,
            "unfed": self.unfed,
            "held_back": {t: list(v) for t, v in self.held_back.items()},
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildResult:
        return cls(
            success=bool(data["success"]),
            build_id=data.get("build_id"),
            pinned=dict(data.get("pinned") or {}),
            read_versions=dict(data.get("read_versions") or {}),
            published=dict(data.get("published") or {}),
            published_ids=dict(data.get("published_ids") or {}),
            unchanged=list(data.get("unchanged") or []),
            not_published=dict(data.get("not_published") or {}),
            kept=dict(data.get("kept") or {}),
            failures=list(data.get("failures") or []),
            dirty_tables=set(data.get("dirty_tables") or []),
            attributed=bool(data.get("attributed", True)),
            note=data.get("note"),
            unfed=list(data.get("unfed") or []),
            held_back={t: (v[0], v[1]) for t, v in (data.get("held_back") or {}).items()},
            seconds=float(data.get("seconds") or 0.0),
        )


class DbtSession:
    """dbt for one project/profile in this process, kept warm between invocations."""

    def __init__(
        self,
        settings: Settings,
        *,
        log_level: str = "warn",
        fast_tests: bool = True,
        overlap: bool = True,
    ) -> None:
        from dbt.cli.main import dbtRunner

        require_dbt_project(settings)  # a clear error, not dbt's, and not "loaded 0 files"
        self.settings = settings
        self.log_level = log_level
        self._runner = dbtRunner()
        #: models built but not yet published (a failed publish is redone by the next build)
        self._unpublished: dict[str, Any] = {}
        self._parsed = False
        #: (project files' stamp, manifest) of the last parse: reused while the stamp holds
        self._kept: tuple[tuple[tuple[str, int, int], ...], Any] | None = None
        self._deps_digest: str | None = None
        self._unfed_built = False
        #: (manifest.json's mtime, size and inode, its models no source feeds)
        self._unfed_cache: tuple[tuple[int, int, int], list[str]] | None = None
        #: built-in data tests dbt already ran are evaluated together (transform.fast_tests)
        self.fast_tests = fast_tests
        #: models are published while dbt builds the rest (:class:`_Overlap`)
        self.overlap = overlap
        self._fast: Any = None
        #: (manifest.json's mtime and size, its sources)
        self._sources_cache: (
            tuple[tuple[int, int], list[tuple[str, str, dict[str, Any]]]] | None
        ) = None

    # -- invoking dbt ----------------------------------------------------------------------

    def invoke(
        self,
        args: Sequence[str],
        callbacks: Sequence[Callable[[Any], None]] = (),
        *,
        for_manifest: Any = None,
    ) -> Any:
        """Run one dbt command (``args`` without the project/profile options).

        Builds, runs and tests reuse the manifest of the last parse while no file of the project
        changed (dbt's ``dbtRunner(manifest=...)``): a warm invocation then skips even dbt's
        partial-parse pass over every file, the largest fixed cost of a small build. Such a
        build leaves ``target/manifest.json`` as that parse wrote it (dbt rewriting it after
        every build cost a third of a warm build's CPU) and writes ``run_results.json``.

        Before the first command, and whenever ``packages.yml`` changes, the project's dbt
        packages are installed (``dbt deps``), as a dbt user expects (:meth:`ensure_deps`).
        ``callbacks`` get dbt's events of a build run on a kept manifest (dbt's own
        ``dbtRunner(callbacks=...)``); other commands run without them, and so does a build
        on another manifest than ``for_manifest`` when given (a project file saved since the
        callbacks were made: they would judge its nodes by the older parse).
        """
        from transform import dbt_events, dbt_plugin, dbt_warm, fast_tests

        if args[:1] != ["deps"]:
            self.ensure_deps()
        args, user_vars = _take_vars(args)
        with DBT_LOCK:
            _switch_database(self.settings)
            dbt_plugin.use_settings(self.settings)
            dbt_events.install()  # events nothing reads are not made into messages
            dbt_warm.install()  # plugins and the graph of a kept manifest made once
            full = [
                *args,
                *dbt_arguments(self.settings, user_vars),
                "--log-level",
                self.log_level,
                # no dbt.log: dbt leaks the file's handle on every invocation of a warm runner
                "--log-level-file",
                "none",
            ]
            if args and args[0] in _MANIFEST_COMMANDS and user_vars is None:
                manifest = self._manifest()
                if manifest is not None:
                    from dbt.cli.main import dbtRunner

                    if args[0] != "build":
                        return dbtRunner(manifest=manifest).invoke(full)
                    # the parse wrote this manifest to target/ already: dbt writing it again
                    # (and graph.gpickle) after every build was a third of a warm build's CPU
                    if for_manifest is not None and manifest is not for_manifest:
                        callbacks = ()
                    with fast_tests.active(self._fast_tests(manifest)):
                        runner = dbtRunner(manifest=manifest, callbacks=list(callbacks))
                        outcome = runner.invoke([*full, "--no-write-json"])
                    _write_run_results(outcome.result, self.settings.dbt_project_dir)
                    _freeze_long_lived(manifest)
                    return outcome
            outcome = self._runner.invoke(full)
            if args and args[0] == "parse" and outcome.success:
                self._keep(outcome.result)
            return outcome

    def _manifest(self) -> Any:
        """The manifest of the last parse if no project file changed since; else parse now."""
        stamp = _project_stamp(self.settings.dbt_project_dir)
        if self._kept is not None and self._kept[0] == stamp:
            return self._kept[1]
        outcome = self.invoke(["parse"])
        if not outcome.success:
            return None
        return outcome.result

    def _fast_tests(self, manifest: Any) -> Any:
        """The built-in data tests of ``manifest`` dbt already ran (transform.fast_tests)."""
        from transform import fast_tests

        if not self.fast_tests:
            return None
        fast_tests.install()
        if self._fast is None or self._fast.manifest is not manifest:
            self._fast = fast_tests.FastTests(manifest, manifest.metadata.project_name)
        return self._fast

    def _keep(self, manifest: Any) -> None:
        if self._kept is not None and self._kept[1] is not manifest:
            _unfreeze()  # the manifest it replaces may be collected now
        self._kept = (_project_stamp(self.settings.dbt_project_dir), manifest)

    def ensure_deps(self) -> None:
        """``dbt deps`` when the project declares packages not installed as declared.

        The declaration (``packages.yml`` / ``dependencies.yml``) is fingerprinted into the
        install folder after a successful ``dbt deps``; a changed declaration installs again.
        Packages from dbt Hub or git need the network, as they do for dbt; ``local:`` packages
        do not. A failure raises :class:`DepsError` with dbt's reason.
        """
        project = self.settings.dbt_project_dir
        declared = [project / n for n in ("packages.yml", "dependencies.yml")]
        texts = [p.read_text() for p in declared if p.is_file()]
        if not any((yaml.safe_load(t) or {}).get("packages") for t in texts):
            return
        digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()
        if digest == self._deps_digest:
            return
        marker = _packages_dir(project) / ".lakehouse-deps"
        if marker.is_file() and marker.read_text().strip() == digest:
            self._deps_digest = digest
            return
        log.info("installing the dbt packages of %s (dbt deps)", project)
        outcome = self.invoke(["deps"])
        if not outcome.success:
            raise DepsError(
                f"dbt deps failed: {outcome.exception or 'see the log above'} (packages from "
                "dbt Hub or git need the network; local: packages do not)"
            )
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(digest)
        self._deps_digest = digest

    def unfed_models(self) -> list[str]:
        """Models no source feeds (a date spine, a calendar): no bronze commit ever selects them.

        From the last manifest dbt wrote: a model none of whose ancestors is a source. Read
        again only when that file changed (its modification time, size or inode): every event
        build asks until the first that builds them succeeds, and a project without such a
        model asks on every build (reading the sample shop's 1 MB manifest was ~12 ms of CPU
        before each build's dbt invocation).
        """
        path = self.settings.dbt_project_dir / "target" / "manifest.json"
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if self._unfed_cache is not None and self._unfed_cache[0] == stamp:
                return list(self._unfed_cache[1])
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            return []
        parents: dict[str, list[str]] = manifest.get("parent_map") or {}
        nodes = manifest.get("nodes") or {}
        fed: dict[str, bool] = {}

        def is_fed(unique_id: str) -> bool:
            if unique_id.startswith("source."):
                return True
            if unique_id not in fed:
                fed[unique_id] = False  # a cycle cannot feed itself
                fed[unique_id] = any(is_fed(p) for p in parents.get(unique_id, ()))
            return fed[unique_id]

        unfed = sorted(
            node["name"]
            for unique_id, node in nodes.items()
            if node.get("resource_type") == "model"
            and node.get("package_name") == manifest.get("metadata", {}).get("project_name")
            and not is_fed(unique_id)
        )
        self._unfed_cache = (stamp, unfed)
        return list(unfed)

    def build(
        self,
        select: Sequence[str] | BuildRequest = (),
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
        request = (
            select
            if isinstance(select, BuildRequest)
            else BuildRequest(select, full_refresh=full_refresh, unit_tests=unit_tests)
        )
        with DBT_LOCK:  # no other session may re-pin bronze before this build has published
            return self._build(request, covered=covered)

    def _build(self, request: BuildRequest, *, covered: set[str] | None) -> BuildResult:
        from transform import dbt_plugin

        started = time.perf_counter()
        pins = dbt_plugin.begin_build(self.settings)
        pinned = pins.pinned_versions
        declared = self.declared_bronze()  # parses the project first when it never was
        select = list(request.select)
        unfed: list[str] = []
        if covered is not None and select:
            select += [f"source:bronze.{t}+" for t in sorted(set(pinned) - covered)]
            if not self._unfed_built:  # the first build of a process builds them too
                unfed = self.unfed_models()
                select += unfed
        args = ["build"]
        if select:
            args += ["--select", " ".join(dict.fromkeys(select))]
        exclude = list(request.exclude)
        missing = sorted(declared - set(pinned))
        # not loaded yet: leave out what reads them instead of failing the build
        exclude += [f"source:bronze.{t}+" for t in missing]
        if exclude:
            args += ["--exclude", " ".join(dict.fromkeys(exclude))]
        if request.full_refresh:
            args.append("--full-refresh")
        if request.vars:
            args += ["--vars", request.vars]
        if not request.unit_tests:  # dbt's advice for production builds: they test SQL, not data
            args += ["--exclude-resource-type", "unit_test"]
        dbt_started = time.perf_counter()
        overlap = self._overlap(request)
        try:
            outcome = (
                self.invoke(args)
                if overlap is None
                else self.invoke(args, [overlap.callback()], for_manifest=overlap.manifest)
            )
        finally:
            early = overlap.finish() if overlap is not None else {}
        result = BuildResult(
            success=bool(outcome.success), pinned=pinned, held_back=dict(pins.held_back)
        )
        result.dbt_seconds = time.perf_counter() - dbt_started
        if outcome.exception is not None:
            result.failures.append(f"dbt: {outcome.exception}")
            result.attributed = False
        analysis = _analyse(outcome.result)
        result.failures.extend(analysis.failures)
        result.not_published.update(analysis.blocked)
        for unique_id in analysis.blocked:
            self._unpublished.pop(unique_id, None)
        self._unpublished.update(analysis.built)
        publish_started = time.perf_counter()
        self._publish(
            result,
            full_refresh=request.full_refresh,
            passed_tests=analysis.passed_tests,
            early=early,
        )
        _checkpoint()
        result.publish_seconds = time.perf_counter() - publish_started
        result.read_versions = pins.read_versions
        result.success = result.success and not result.failures
        publish_failed = {u for u, why in result.not_published.items() if why.startswith("publish")}
        result.dirty_tables = analysis.tables_upstream_of(
            analysis.failed_or_blocked | publish_failed
        )
        if not select:  # a build of everything built them
            unfed = self.unfed_models()
        result.unfed = [m for m in unfed if any(u.endswith(f".{m}") for u in analysis.built)]
        if unfed and result.success:
            self._unfed_built = True
        result.seconds = time.perf_counter() - started
        return result

    def declared_bronze(self) -> set[str]:
        """The tables of the ``bronze`` source, from the last manifest dbt wrote (or a parse)."""
        return {name for source, name, _ in self._sources() if source == "bronze"}

    def declared_ops(self) -> set[tuple[str, str]]:
        """``(source, table)`` of the sources that read the pipeline's history
        (``meta: {folder: ops}``, lakehouse.history); none in a project that has no such
        source."""
        return {
            (source, name)
            for source, name, meta in self._sources()
            if meta.get("folder") == OPS_FOLDER
        }

    def _sources(self) -> list[tuple[str, str, dict[str, Any]]]:
        """``(source, table, meta)`` of every source: from the last parse's manifest in memory,
        else from the last manifest dbt wrote (or a parse)."""
        if self._kept is not None:  # that parse's manifest, in memory (no JSON to read)
            return [
                (s.source_name, s.name, dict(s.meta or {})) for s in self._kept[1].sources.values()
            ]
        path = self.settings.dbt_project_dir / "target" / "manifest.json"
        if not path.exists() and not self._parsed:
            self._parsed = True  # once: a project with another target-path has no such file
            self.invoke(["parse"])
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if self._sources_cache is None or self._sources_cache[0] != stamp:
                sources = [
                    (s["source_name"], s["name"], s.get("meta") or {})
                    for s in json.loads(path.read_text()).get("sources", {}).values()
                ]
                self._sources_cache = (stamp, sources)
        except (OSError, ValueError):
            return []
        return self._sources_cache[1]

    def _overlap(self, request: BuildRequest) -> _Overlap | None:
        """A publisher of models while dbt builds the rest (:class:`_Overlap`), for a build on
        a kept manifest; ``None``: everything is published after dbt."""
        if request.vars or not self.overlap:
            return None
        manifest = self._manifest()
        if manifest is None or _has_run_end_hooks(manifest):
            return None  # an on-run-end hook may still change a model after its tests
        return _Overlap(self.settings, manifest, full_refresh=request.full_refresh)

    def _publish(
        self,
        result: BuildResult,
        *,
        full_refresh: bool,
        passed_tests: list[Any],
        early: dict[str, _Early] | None = None,
    ) -> None:
        from transform import dbt_plugin
        from transform.publish import (
            ModelSpec,
            Publisher,
            forget_changes,
            keys_from_tests,
            relation_parts,
        )

        early = early or {}
        conn = dbt_plugin.connection()
        if conn is None or not (self._unpublished or early):
            return  # nothing built (dbt could not even open the warehouse, say)
        publisher = Publisher(self.settings, conn, batch_rows=self.settings.read_batch_rows)
        keys = keys_from_tests(passed_tests)
        cursor = conn.cursor()
        try:
            dbt_plugin.prepare_cursor(cursor)  # views over bronze read the build's pins
            # published while dbt built the rest (in the order they were), then the others
            for unique_id in dict.fromkeys([*early, *self._unpublished]):
                node = early[unique_id].node if unique_id in early else self._unpublished[unique_id]
                try:
                    if unique_id in early:
                        spec, done = early[unique_id].outcome()
                    else:
                        spec = ModelSpec.from_node(node, keys.get(unique_id, ()))
                        done = None
                        if spec is not None:
                            done = publisher.publish(spec, full_refresh=full_refresh, cursor=cursor)
                    if spec is not None and done is not None:
                        result.published[done.target] = done.version
                        result.published_ids[unique_id] = done.target
                        if done.mode == "unchanged":
                            result.unchanged.append(done.target)
                        if unique_id in result.not_published:  # never: see _Overlap
                            log.error("%s was published, yet dbt's results block it", unique_id)
                            result.failures.append(f"publish {unique_id}: published, yet blocked")
                    elif (why := _why_not_published(node)) is not None:
                        result.kept[unique_id] = why
                    # tested and published: the next build tests and diffs from its own rows
                    forget_changes(cursor, relation_parts(node))
                    self._unpublished.pop(unique_id, None)
                except Exception as exc:  # recorded; redone by the next build
                    log.exception("publishing %s failed", unique_id)
                    result.failures.append(f"publish {unique_id}: {exc}")
                    result.not_published[unique_id] = f"publish failed: {exc}"
        finally:
            cursor.close()


#: id() of the manifest after whose first build the collector froze what was alive
_FROZEN_FOR: list[int] = []


def _freeze_long_lived(manifest: Any) -> None:
    """After the first build on a kept manifest, ``gc.freeze()`` what is alive: the manifest,
    dbt's caches and compiled macros, which live as long as the session. The collector's full
    passes then skip them: such a pass over them took ~0.2 CPU s every ~5 warm builds of the
    sample shop, holding every thread of the build (the GIL). Garbage a build makes is
    collected as before; a re-parse unfreezes (:func:`_unfreeze`) so the old manifest goes."""
    if _FROZEN_FOR and _FROZEN_FOR[0] == id(manifest):
        return
    gc.collect()  # what is garbage already is not frozen
    gc.freeze()
    _FROZEN_FOR[:] = [id(manifest)]


def _unfreeze() -> None:
    if _FROZEN_FOR:
        gc.unfreeze()
        _FROZEN_FOR.clear()


@dataclass
class _Early:
    """A model the overlap took: what it published, or why that failed."""

    node: Any
    spec: Any = None
    published: Any = None
    error: Exception | None = None

    def outcome(self) -> tuple[Any, Any]:
        """(spec, published), or the publish's error raised again."""
        if self.error is not None:
            raise self.error
        return self.spec, self.published


class _Overlap:
    """Publishes each model while dbt builds the others (docs/dbt.md, "The publish rule").

    A model is taken once dbt reports it built (``success``) and every data test that could
    block it (attached to it, or a test without a model it is attached to that reads it: what
    :func:`_analyse` blocks a model for) has reported ``pass`` or ``warn`` in this build. Such
    a model is one the publish after the build would publish too: dbt commits a model before
    it reports it, its tests run only after it, and nothing of the build changes it again (a
    project with an ``on-run-end`` hook gets no overlap). A model with a test this build does
    not run, a test that failed, erred or was skipped, or one still running when dbt ends, is
    left to the publish after the build, as before. One thread publishes the models taken, in
    order, on its own DuckDB cursor (dbt's DuckDB writes go to the models' own tables); dbt's
    threads only queue them. A publish that fails is recorded like any failed publish.
    """

    def __init__(self, settings: Settings, manifest: Any, *, full_refresh: bool) -> None:
        self.manifest = manifest  # the parse whose tests block its models
        self.settings = settings
        self.full_refresh = full_refresh
        self._nodes = manifest.nodes
        #: model -> the data tests that block it when they fail; test -> the models it blocks
        self._blockers: dict[str, set[str]] = {}
        self._blocks: dict[str, list[str]] = {}
        for unique_id, node in manifest.nodes.items():
            if _kind_of(node) != "test":
                continue
            attached = getattr(node, "attached_node", None)
            parents = list(getattr(getattr(node, "depends_on", None), "nodes", None) or [])
            targets = [attached] if attached else [p for p in parents if p.startswith("model.")]
            self._blocks[unique_id] = targets
            for target in targets:
                self._blockers.setdefault(target, set()).add(unique_id)
        self._status: dict[str, str] = {}
        self._taken: set[str] = set()
        self._lock = threading.Lock()
        self._jobs: queue.Queue[str | None] = queue.Queue()
        self.done: dict[str, _Early] = {}
        self._thread = threading.Thread(target=self._run, name="lakehouse-publish", daemon=True)
        self._thread.start()

    def callback(self) -> Callable[[Any], None]:
        """:meth:`on_event` for dbt, saying it reads ``NodeFinished`` only (the other events
        need not be made into messages for it: transform.dbt_events)."""
        from transform.dbt_events import reading

        return reading({"NodeFinished"}, self.on_event)

    def on_event(self, msg: Any) -> None:
        """dbt's event callback (on dbt's threads): note each node's end, queue what is ready.

        Never raises: dbt turns an exception of a callback into the node's failure."""
        try:
            if msg.info.name != "NodeFinished":
                return
            unique_id = str(msg.data.node_info.unique_id)
            status = str(msg.data.run_result.status)
            with self._lock:
                self._status[unique_id] = status
                for model in [unique_id, *self._blocks.get(unique_id, ())]:
                    if model not in self._taken and self._ready(model):
                        self._taken.add(model)
                        self._jobs.put(model)
        except Exception:  # the publish after the build covers what was not queued
            log.exception("overlapping the publish with the build")

    def _ready(self, model: str) -> bool:
        node = self._nodes.get(model)
        return (
            node is not None
            and _kind_of(node) == "model"
            and self._status.get(model) == "success"
            and all(self._status.get(t) in ("pass", "warn") for t in self._blockers.get(model, ()))
        )

    def _run(self) -> None:
        from transform import dbt_plugin
        from transform.publish import ModelSpec, Publisher, keys_from_tests

        cursor: Any = None
        try:
            while (model := self._jobs.get()) is not None:
                node = self._nodes[model]
                early = _Early(node)
                try:
                    if cursor is None:
                        conn = dbt_plugin.connection()
                        if conn is None:
                            raise RuntimeError("dbt's DuckDB connection is gone")
                        cursor = conn.cursor()
                        dbt_plugin.prepare_cursor(cursor)  # views over bronze read the pins
                    with self._lock:
                        passed = [
                            self._nodes[t]
                            for t in self._blockers.get(model, ())
                            if self._status.get(t) == "pass"
                        ]
                    early.spec = ModelSpec.from_node(node, keys_from_tests(passed).get(model, ()))
                    if early.spec is not None:
                        publisher = Publisher(
                            self.settings, cursor, batch_rows=self.settings.read_batch_rows
                        )
                        early.published = publisher.publish(
                            early.spec, full_refresh=self.full_refresh, cursor=cursor
                        )
                except Exception as exc:  # recorded by the build like any failed publish
                    early.error = exc
                self.done[model] = early
        finally:
            if cursor is not None:
                cursor.close()

    def finish(self) -> dict[str, _Early]:
        """Once dbt is done: the models published (or failed) meanwhile, after the last one."""
        self._jobs.put(None)
        self._thread.join()
        return dict(self.done)


def _kind_of(node: Any) -> str:
    kind = getattr(node, "resource_type", None)
    return str(getattr(kind, "value", kind))


def _has_run_end_hooks(manifest: Any) -> bool:
    """Whether the project runs ``on-run-end`` hooks (they run after every model and test)."""
    return any(
        _kind_of(node) == "operation" and "on-run-end" in unique_id
        for unique_id, node in manifest.nodes.items()
    )


def _project_stamp(project: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file of the dbt project with its modification time and size (a cheap walk)."""
    found = []
    for folder, dirs, files in os.walk(project):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_PROJECT and not d.startswith("."))
        for name in files:
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            found.append((path, st.st_mtime_ns, st.st_size))
    return tuple(sorted(found))


def _why_not_published(node: Any) -> str | None:
    """Why a model that built is not published (``None`` for an ephemeral model: no table)."""
    config = node.config
    if str(config.materialized) == "ephemeral":
        return None
    meta = {**(getattr(node, "meta", None) or {}), **(getattr(config, "meta", None) or {})}
    if meta.get("publish") is not None:
        return f"meta.publish is {meta['publish']!r}: stays in DuckDB"
    path = "/".join(node.fqn[1:-1]) or "the project root"
    return (
        f"in {path}/, not under models/staging/ or models/marts/: stays in DuckDB "
        "(set meta.publish: silver or gold to publish it)"
    )


@dataclass
class _Analysis:
    """dbt's results of one build: what to publish, what not (and why), the failures."""

    built: dict[str, Any] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    #: every node that failed, errored, or (a model) was skipped or blocked by a test
    failed_or_blocked: set[str] = field(default_factory=set)
    #: unique id -> the nodes it depends on, for every node of the build
    parents: dict[str, list[str]] = field(default_factory=dict)
    #: the data tests that passed (what a publish may take a model's key from)
    passed_tests: list[Any] = field(default_factory=list)

    def tables_upstream_of(self, unique_ids: Iterable[str]) -> set[str]:
        """The bronze tables whose sources feed ``unique_ids`` (through this build's nodes)."""
        tables: set[str] = set()
        seen: set[str] = set()
        todo = list(unique_ids)
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            parts = node.split(".")
            if parts[0] == "source" and len(parts) >= 4 and parts[-2] == "bronze":
                tables.add(parts[-1])
            todo.extend(self.parents.get(node, ()))
        return tables


def _analyse(run_result: Any) -> _Analysis:
    """Models to publish, models blocked (with why), and failures, from dbt's results."""
    out = _Analysis()
    for res in list(getattr(run_result, "results", None) or []):
        node = res.node
        status = str(getattr(res.status, "value", res.status))
        kind = str(getattr(node.resource_type, "value", node.resource_type))
        depends_on = getattr(node, "depends_on", None)
        out.parents[node.unique_id] = list(getattr(depends_on, "nodes", None) or [])
        if kind == "model":
            if status == "success":
                out.built[node.unique_id] = node
            elif status in _FAILED_NODES:
                out.failures.append(f"{node.unique_id}: {res.message}")
                out.blocked[node.unique_id] = f"{status}: {res.message}"
                out.failed_or_blocked.add(node.unique_id)
            else:
                out.blocked[node.unique_id] = status
                out.failed_or_blocked.add(node.unique_id)
        elif kind == "test" and status == "pass":
            out.passed_tests.append(node)
        elif kind in ("test", "unit_test") and status in _FAILED_TESTS:
            out.failures.append(f"{node.unique_id}: {status}: {res.message}")
            out.failed_or_blocked.add(node.unique_id)
            attached = getattr(node, "attached_node", None)
            targets = [attached] if attached else out.parents[node.unique_id]
            for target in targets:
                if target.startswith("model."):
                    out.blocked[target] = f"test {node.name} {status}"
                    out.failed_or_blocked.add(target)
        elif status in _FAILED_NODES:
            out.failures.append(f"{node.unique_id}: {res.message}")
            out.failed_or_blocked.add(node.unique_id)
    for unique_id in out.blocked:
        out.built.pop(unique_id, None)
    return out


def _checkpoint() -> None:
    """``CHECKPOINT`` the DuckDB file after a build, so the blocks of what the build replaced are
    reused: without it the warm connection's file grew by ~30 MB per small batch at 2M orders
    (tables rebuilt, shadows replaced) while the data it held stayed the same size."""
    from transform import dbt_plugin

    conn = dbt_plugin.connection()
    if conn is None:
        return
    try:
        cursor = conn.cursor()
        try:
            cursor.execute("checkpoint")
        finally:
            cursor.close()
    except Exception as exc:  # a transaction open, a closed connection: the next build's turn
        log.info("no checkpoint after the build: %s", exc)


_LAST_DATABASE: list[tuple[str, str, str]] = []


def _switch_database(settings: Settings) -> None:
    """Drop dbt-duckdb's process-wide database when this invocation targets another one.

    dbt-duckdb keeps one environment per process and, after an invocation on another target,
    can run the next one against the old database; this only happens to a process that uses
    two targets (``lakehouse docs`` falling back to the in-memory target, tests).
    """
    key = (str(settings.profiles_dir), settings.dbt_target, str(settings.dados))
    if _LAST_DATABASE and _LAST_DATABASE[0] != key:
        from transform import _dbt_duckdb_internals  # imports dbt: not before dbt runs

        _dbt_duckdb_internals.drop_environment()
    _LAST_DATABASE[:] = [key]


def dbt_arguments(settings: Settings, user_vars: dict[str, Any] | None = None) -> list[str]:
    """What every invocation passes dbt from ``settings``, instead of process environment.

    The profile's ``path`` reads ``var('lakehouse_warehouse')`` (always a local file: with
    tables on an object store it is in the state folder; a plain ``dbt`` command falls back to
    ``LAKEHOUSE_WAREHOUSE``, then ``LAKEHOUSE_DADOS/warehouse.duckdb``); the values are the same
    on every invocation of a session, so dbt's partial parse is kept. The bronze plugin gets the
    settings in-process (:func:`transform.dbt_plugin.use_settings`).

    ``user_vars`` (a command's own ``--vars``) go into the same ``--vars``: dbt keeps only the
    last of two, so a separate one was silently dropped.
    """
    lakehouse = {
        "lakehouse_dados": str(settings.dados),
        "lakehouse_warehouse": str(settings.warehouse_path),
    }
    return [
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.profiles_dir),
        "--target",
        settings.dbt_target,
        "--vars",
        json.dumps({**(user_vars or {}), **lakehouse}),
        "--no-send-anonymous-usage-stats",
    ]


def _take_vars(args: Sequence[str]) -> tuple[list[str], dict[str, Any] | None]:
    """``args`` without their ``--vars`` (``--vars V`` or ``--vars=V``), and its value as a
    mapping (``None``: none given). A value that is not a YAML/JSON mapping, or that sets the
    lakehouse's own ``lakehouse_dados`` / ``lakehouse_warehouse``, is refused."""
    rest: list[str] = []
    found: dict[str, Any] | None = None
    items = list(args)
    i = 0
    while i < len(items):
        item = items[i]
        if item == "--vars" or item.startswith("--vars="):
            if item == "--vars":
                if i + 1 >= len(items):
                    raise DbtVarsError("--vars needs a value (a YAML or JSON mapping)")
                text, i = items[i + 1], i + 2
            else:
                text, i = item.split("=", 1)[1], i + 1
            try:
                value = yaml.safe_load(text) if text.strip() else {}
            except yaml.YAMLError as exc:
                raise DbtVarsError(f"--vars is not YAML or JSON: {exc}") from exc
            if not isinstance(value, dict):
                raise DbtVarsError(f"--vars must be a mapping of names to values, not {text!r}")
            reserved = sorted({"lakehouse_dados", "lakehouse_warehouse"} & set(value))
            if reserved:
                raise DbtVarsError(
                    f"--vars may not set {', '.join(reserved)}: the lakehouse sets them from "
                    "its settings (LAKEHOUSE_ROOT and the like)"
                )
            found = {**(found or {}), **value}
            continue
        rest.append(item)
        i += 1
    return rest, found


class DbtVarsError(LakehouseError):
    """A command's ``--vars`` that cannot be passed to dbt."""


class DepsError(LakehouseError):
    """The project's dbt packages could not be installed (``dbt deps``)."""


def _write_run_results(result: Any, project: Path) -> None:
    """``run_results.json`` in the project's target folder, as dbt writes it (cheap, unlike the
    manifest): what an analytics engineer reads after a build stays there."""
    if not hasattr(result, "write"):
        return
    try:
        result.write(str(_project_dir(project, "target-path", "target") / "run_results.json"))
    except OSError as exc:
        log.warning("could not write run_results.json: %s", exc)


def _project_dir(project: Path, key: str, default: str) -> Path:
    """A folder ``dbt_project.yml`` names under ``key`` (relative to the project)."""
    try:
        config = yaml.safe_load((project / "dbt_project.yml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    return project / str(config.get(key) or default)


def _packages_dir(project: Path) -> Path:
    """Where ``dbt deps`` installs the project's packages (``packages-install-path``)."""
    return _project_dir(project, "packages-install-path", "dbt_packages")
