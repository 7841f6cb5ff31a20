"""The builder thread: load events in, coalesced dbt builds out, failures retried and recorded.

:class:`Builder` is the long-lived thread behind ``lakehouse load|loader|up``: ``submit`` load
events (non-blocking); loading never waits for it. When builds run (docs/dbt.md):

* **Settle window.** A build starts once no commit has arrived for ``build_settle_ms`` and the
  loader has no file in hand (``busy``), or ``build_settle_max_ms`` after the first pending
  commit, whichever is first: files of related tables that arrive together build together, and
  a steady stream of commits still gets built. With ``build_settle_early`` it starts at once
  when nothing more can be coming: the loader holds no file and the landing zone holds none to
  load nor a write in progress (``lakehouse.layout.landing_in_flight``).
* **One build for everything pending**: ``source:bronze.<table>+`` for every table with a pending
  commit, plus every table whose last build failed (owed), plus the tables no build of this
  process has started from yet (the session adds those).
* **Retries re-pin and merge.** A failed build is retried with back-off; each attempt pins the
  newest bronze versions and first takes in every commit that arrived meanwhile (its selectors
  too), so a build that failed its tests on data a later commit completes (orders before their
  payments) converges as soon as that commit is in, without another load of the same table. A
  commit arriving during the back-off cuts it short (after a settle window).
* **Batch states** (the run ledger): a batch is ``published`` by the first build that read its
  bronze version and published everything downstream of its table; ``failed`` only when the
  latest build that covered it failed (after its retries), with that build's id and why. A
  failed table is owed: the next build, whatever triggered it, includes it again.

Event builds leave dbt unit tests out (they test the SQL, not the data: dbt's advice for
production); ``lakehouse build`` and CI run them. ``request`` runs a build asked for by a
command (``lakehouse build`` sent to a running service) on this same thread, between event
builds, with its own selection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lakehouse.events import LoadEvent
from lakehouse.history import HistoryPublished, publish_history
from lakehouse.layout import landing_in_flight
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings, require_dbt_project
from transform.session import BuildRequest, BuildResult, DbtSession

__all__ = ["Builder", "HistoryRefresh", "RunLog", "record_build", "retry_request"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class RunLog:
    """What the builds of this process did, for a command's final summary."""

    builds: int = 0
    published: dict[str, int] = field(default_factory=dict)
    unchanged: set[str] = field(default_factory=set)
    not_published: dict[str, str] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)
    unfed: set[str] = field(default_factory=set)

    def add(self, result: BuildResult) -> None:
        self.builds += 1
        self.unfed.update(result.unfed)
        for target, version in result.published.items():
            self.published[target] = version
            if target in result.unchanged:
                self.unchanged.add(target)
            else:
                self.unchanged.discard(target)
        self.not_published.update(result.not_published)
        self.kept.update(result.kept)
        for unique_id in list(self.not_published):
            if result.published_ids.get(unique_id):
                del self.not_published[unique_id]


class Builder:
    """One thread, one warm dbt, one build at a time; load events coalesce into builds."""

    def __init__(
        self,
        settings: Settings,
        *,
        attempts: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        busy: Callable[[], bool] | None = None,
        between_builds: Callable[[Callable[[], bool]], object] | None = None,
        between_every_s: float = 60.0,
        on_result: Callable[[BuildResult], None] | None = None,
        history_every_s: float | None = None,
    ) -> None:
        """``between_builds(should_stop)``: work that must never overlap a build (table
        upkeep), run in this thread at most every ``between_every_s`` while no build is queued;
        it returns soon after ``should_stop()`` turns true (a build is waiting).
        ``on_result(result)``: after every build attempt (metrics).
        ``history_every_s``: :meth:`refresh_history` by itself, at most that often, while no
        build is queued and some build finished since the last one (``None``: only when
        called). A build of the history's models that failed is tried again then, not on a
        timer of its own."""
        require_dbt_project(settings)  # before any load: builds could never run
        self.settings = settings
        self.on_result = on_result
        self.between_builds = between_builds
        self.between_every_s = between_every_s
        self._between_at = time.monotonic()
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.settle_s = settings.build_settle_ms / 1000
        self.settle_max_s = settings.build_settle_max_ms / 1000
        #: start before the window ends when nothing can be coming (a landing zone in a bucket
        #: cannot be seen cheaply: the window then runs its course)
        self.settle_early = settings.build_settle_early and settings.landing_store is None
        #: whether the loader holds files it has not committed yet (they build with the rest)
        self.busy = busy
        self.ledger = Ledger.of(settings)
        self.builds = 0
        self.last_result: BuildResult | None = None
        self.run = RunLog()
        self._cond = threading.Condition()
        self._pending: dict[str, set[str]] = {}  # table -> batch ids
        self._first_at = 0.0  # when the oldest pending commit arrived
        self._last_at = 0.0  # when the newest did
        self._owed: dict[str, set[str]] = {}  # tables whose last build failed -> batch ids
        self._requests: list[tuple[Callable[[], Any], Future[Any]]] = []
        self._running = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: DbtSession | None = None
        self._covered: set[str] = set()  # bronze tables a successful build has started from
        self.history_every_s = history_every_s
        self._history_at = time.monotonic()
        self._history_seen = 0  # self.builds when the history was last refreshed
        self._history_failed = False  # the last build of the history's models failed
        self.last_history: HistoryRefresh | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lakehouse-builder", daemon=True)
        self._thread.start()

    def submit(self, event: LoadEvent) -> None:
        """Queue a build for ``event``'s table (returns at once; commits coalesce).

        A piece of a file that is not its last builds nothing: builds cannot see it yet.
        """
        if not event.complete:
            return
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first_at = now
            self._last_at = now
            self._pending.setdefault(event.table, set()).update(event.batch_ids)
            self._cond.notify_all()

    def request(self, request: BuildRequest) -> Future[BuildResult]:
        """Run a build with its own selection on the builder thread; its result, later.

        ``request.failed`` adds every table whose latest build failed (owed, or ``failed``
        batches in the ledger) and the selection of the latest build if it failed.
        """
        return self.call(lambda: self._run_resolved(request))

    def call(self, work: Callable[[], T]) -> Future[T]:
        """Run ``work`` on the builder thread, between builds (``lakehouse docs`` while up)."""
        future: Future[T] = Future()
        with self._cond:
            self._requests.append((work, future))
            self._cond.notify_all()
        return future

    def session(self) -> DbtSession:
        """The warm dbt session (builder thread only)."""
        if self._session is None:
            self._session = DbtSession(self.settings)
        return self._session

    def state(self) -> dict[str, Any]:
        """What the builder is doing, for ``lakehouse status`` while it runs."""
        with self._cond:
            return {
                "running": self._running,
                "pending": sorted(self._pending),
                "owed": sorted(self._owed),
                "queued_requests": len(self._requests),
                "builds": self.builds,
                "last_build_id": self.last_result.build_id if self.last_result else None,
                "settle_ms": self.settings.build_settle_ms,
                "settle_max_ms": self.settings.build_settle_max_ms,
                "settle_early": self.settle_early,
            }

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued or running (False if ``timeout`` passed first)."""
        with self._cond:
            return self._cond.wait_for(self._idle, timeout)

    def _idle(self) -> bool:
        return not self._pending and not self._requests and not self._running

    @property
    def owed(self) -> dict[str, set[str]]:
        """Tables whose latest build failed (the next build includes them), with batch ids."""
        with self._cond:
            return {table: set(ids) for table, ids in self._owed.items()}

    def stop(self) -> None:
        """Stop after the running build (queued events are dropped; bronze keeps the data)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._cond:
            requests, self._requests = self._requests, []
        for _, future in requests:
            future.cancel()

    # -- the thread ------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(
                    lambda: (
                        self._pending
                        or self._requests
                        or self._stop.is_set()
                        or self._between_due()
                        or self._history_due()
                    ),
                    timeout=self._wait_s(),
                )
                if self._stop.is_set():
                    break
                request = self._requests.pop(0) if self._requests else None
                history = request is None and not self._pending and self._history_due()
                between = (
                    request is None and not self._pending and not history and self._between_due()
                )
                if request is None and not self._pending and not between and not history:
                    continue
                self._running = True
            try:
                if request is not None:
                    self._run_request(*request)
                elif history:
                    self.refresh_history()
                elif between:
                    self._run_between()
                else:
                    self._settle()
                    if not self._stop.is_set():  # stopping: bronze keeps the data
                        self._build_pending()
            except Exception:  # never let the builder thread die; loading goes on
                log.exception("builder: unexpected error")
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()

    def _wait_s(self) -> float | None:
        """How long the idle loop may sleep before timed work (upkeep, history) may be due."""
        waits = [self.between_every_s] if self.between_builds else []
        if self.history_every_s is not None:
            waits.append(max(self.history_every_s, 0.05))
        return min(waits) if waits else None

    def _history_due(self) -> bool:
        return (
            self.history_every_s is not None
            and self.builds > self._history_seen  # a failed model waits for the next build too
            and time.monotonic() - self._history_at >= self.history_every_s
        )

    def refresh_history(self) -> HistoryRefresh:
        """Builder thread: the run ledger's new history into ``dados/ops/batches``
        (lakehouse.history), then, when it took in anything (or its models failed last time),
        a build of what the project reads from it (its sources with ``meta: {folder: ops}``;
        the sample's ``pipeline_latency``). A project without such a source gets the table
        only. Never raises: what failed is logged and in the answer."""
        self._history_seen = self.builds
        refresh = HistoryRefresh()
        try:
            refresh.history = publish_history(self.settings)
            sources = sorted(self.session().declared_ops())
            if sources and (refresh.history.rows or self._history_failed):
                select = [f"source:{source}.{table}+" for source, table in sources]
                refresh.build, _ = self._run(BuildRequest(select, unit_tests=False), history=True)
                self._history_failed = not refresh.build.success
        except Exception as exc:  # the history is a record: it must never stop the builder
            log.exception("builder: the pipeline history could not be refreshed")
            refresh.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._history_at = time.monotonic()
        self.last_history = refresh
        return refresh

    def history_now(self, timeout: float) -> HistoryRefresh:
        """:meth:`refresh_history` on the builder thread, between builds; wait for it."""
        return self.call(self.refresh_history).result(timeout)

    def _between_due(self) -> bool:
        return (
            self.between_builds is not None
            and time.monotonic() - self._between_at >= self.between_every_s
        )

    def _run_between(self) -> None:
        assert self.between_builds is not None
        try:
            self.between_builds(
                lambda: bool(self._pending) or bool(self._requests) or self._stop.is_set()
            )
        finally:
            self._between_at = time.monotonic()

    def _settle(self) -> None:
        """Wait for quiet: no commit for ``settle_s`` and the loader idle, at most ``settle_max_s``
        after the first pending commit; with ``settle_early``, only until nothing more can be
        coming (the loader idle and nothing in the landing zone: :meth:`_nothing_coming`)."""
        while not self._stop.is_set():
            with self._cond:
                now = time.monotonic()
                deadline = self._first_at + self.settle_max_s
                last_at = self._last_at
            quiet_at = last_at + self.settle_s
            if now >= deadline:
                return
            early = self.settle_early and now < quiet_at
            if (now >= quiet_at or early) and not self._loader_busy():
                if now >= quiet_at or self._nothing_coming():
                    return
            if early:  # the loader lets go of a file just after its commit: look again soon
                wake = min(deadline, quiet_at, now + min(0.05, max(0.005, (now - last_at) / 4)))
            else:
                wake = min(deadline, quiet_at if now < quiet_at else now + 0.05)
            with self._cond:
                if self._last_at == last_at and not self._stop.is_set():
                    self._cond.wait(max(wake - time.monotonic(), 0))

    def _nothing_coming(self) -> bool:
        """No file in the landing zone that a load may still come from (landing_in_flight)."""
        try:
            found = landing_in_flight(self.settings)
        except OSError:  # cannot tell: the window runs its course
            log.exception("builder: the landing zone cannot be read")
            return False
        return found is None

    def _loader_busy(self) -> bool:
        try:
            return bool(self.busy and self.busy())
        except Exception:  # a probe must never stall the builder
            log.exception("builder: the loader probe failed")
            return False

    def _take_pending(self, into: dict[str, set[str]]) -> None:
        with self._cond:
            pending, self._pending = self._pending, {}
        for table, ids in pending.items():
            into.setdefault(table, set()).update(ids)

    def _build_pending(self) -> None:
        """One build of everything pending and owed, retried (re-pinned, merged) until it
        succeeds or the attempts run out."""
        batch: dict[str, set[str]] = {}
        self._take_pending(batch)
        for table, ids in self.owed.items():
            batch.setdefault(table, set()).update(ids)
        for attempt in range(1, self.attempts + 1):
            if attempt > 1:
                self._backoff(attempt)
                if self._stop.is_set():
                    return
                self._take_pending(batch)  # commits that arrived meanwhile join the retry
            select = [f"source:bronze.{table}+" for table in sorted(batch)]
            request = BuildRequest(select, unit_tests=False)
            result, _ = self._run(request, final=attempt == self.attempts, batch=batch)
            if result.success or self._stop.is_set():
                return

    def _backoff(self, attempt: int) -> None:
        """The back-off before attempt ``attempt``; a new commit cuts it short (then settles)."""
        delay = min(self.backoff_s * 2 ** (attempt - 2), self.max_backoff_s)
        with self._cond:
            arrived = self._cond.wait_for(lambda: self._pending or self._stop.is_set(), delay)
        if arrived and not self._stop.is_set():
            self._settle()

    def _run(
        self,
        request: BuildRequest,
        *,
        final: bool = True,
        batch: dict[str, set[str]] | None = None,
        history: bool = False,
    ) -> tuple[BuildResult, int]:
        """One build, recorded; ``history``: a build of the history's models (not counted in
        ``builds`` or ``last_result``, and it adds no bronze table to its selection)."""
        try:
            build_id = self.ledger.start_build(request.describe())
        except Exception:  # the ledger is a record: a build must not wait on it
            log.exception("builder: the run ledger cannot record a new build; building anyway")
            build_id = 0
        try:
            result = self.session().build(request, covered=None if history else self._covered)
        except Exception as exc:
            log.exception("build %s crashed", build_id)
            result = BuildResult(
                success=False, failures=[f"{type(exc).__name__}: {exc}"], attributed=False
            )
        result.build_id = build_id or None
        if not history:
            self.builds += 1
            self.last_result = result
        self.run.add(result)
        if result.success:
            self._covered |= set(result.pinned)
        attempts = self.attempts if batch is not None else 1
        # owed before the ledger says failed: whoever sees the failed batch sees it owed too
        self._settle_owed(result, batch or {}, final=final)
        try:
            if build_id:
                record_build(
                    self.ledger,
                    build_id,
                    result,
                    final=final,
                    batch=batch,
                    attempts=attempts,
                    request=request,
                )
        except Exception:  # published all the same; the batches' states catch up next build
            log.exception("builder: cannot record build %s in the run ledger", build_id)
        _log_build(build_id, list(request.select), result)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:  # metrics must not fail a build
                log.exception("build result handler failed")
        return result, build_id

    def _settle_owed(self, result: BuildResult, batch: dict[str, set[str]], *, final: bool) -> None:
        """Tables whose latest build failed are owed to the next build; covered ones are not."""
        covered = set(batch) | set(result.read_versions)
        failed = result.failed_tables(covered)
        with self._cond:
            for table in covered - failed:
                self._owed.pop(table, None)
            if final and not self._stop.is_set():
                for table in failed:
                    self._owed.setdefault(table, set()).update(batch.get(table, ()))

    def _run_request(self, work: Callable[[], Any], future: Future[Any]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            value = work()
        except BaseException as exc:
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            log.exception("builder: a requested job failed")
            return
        future.set_result(value)

    def _run_resolved(self, request: BuildRequest) -> BuildResult:
        if request.failed:
            resolved = retry_request(self.ledger, request, owed=self.owed)
            if resolved is None:
                return BuildResult(success=True, note="nothing failed: nothing to retry")
            request = resolved
        return self._run(request)[0]


@dataclass
class HistoryRefresh:
    """What :meth:`Builder.refresh_history` did."""

    history: HistoryPublished | None = None
    #: the build of the history's models (None: none ran)
    build: BuildResult | None = None
    error: str | None = None


def record_build(
    ledger: Ledger,
    build_id: int,
    result: BuildResult,
    *,
    final: bool = True,
    batch: Mapping[str, set[str]] | None = None,
    attempts: int = 1,
    request: BuildRequest | None = None,
) -> None:
    """The build's outcome in the run ledger, and the batches it covered.

    A batch is ``published`` by this build when the build read its bronze table at or after
    the batch's version and nothing downstream of that table failed in the build. With
    ``final`` (no retry follows), the batches of the tables it failed for (those pinned, and
    ``batch``'s) are ``failed``, naming this build and why.
    """
    ledger.finish_build(
        build_id,
        "succeeded" if result.success else "failed",
        read_versions=result.read_versions,
        published=result.published,
        error=result.error,
        detail={
            "not_published": result.not_published,
            "kept": result.kept,
            **({"request": request.as_dict()} if request is not None else {}),
        },
    )
    batch = batch or {}
    failed = result.failed_tables(set(result.read_versions) | set(batch))
    clean = {t: v for t, v in result.read_versions.items() if t not in failed}
    if clean:
        ledger.mark_published(build_id, clean)
    if not final:
        return
    error = {
        "error": f"build {build_id} failed"
        + (f" after {attempts} attempts" if attempts > 1 else ""),
        "build_id": build_id,
        "detail": result.error,
    }
    for table in sorted(failed):
        ledger.mark_build_failed(
            build_id,
            table,
            error,
            up_to_version=result.pinned.get(table),
            batch_ids=sorted(batch.get(table, ())),
        )


def retry_request(
    ledger: Ledger, base: BuildRequest, *, owed: Iterable[str] = ()
) -> BuildRequest | None:
    """``lakehouse retry``: ``base`` plus what failed; ``None`` when nothing did.

    What failed: every table with ``failed`` batches in the ledger or owed by a running builder
    (``source:bronze.<table>+``), and the selection of the latest build if it failed (a failed
    build of everything is retried as a build of everything).
    """
    tables = set(owed) | set(ledger.tables_in_state("failed"))
    select = [f"source:bronze.{t}+" for t in sorted(tables)]
    exclude = list(base.exclude)
    latest = ledger.builds(limit=1)
    if latest and latest[0].state == "failed":
        last = BuildRequest.from_dict(latest[0].detail.get("request") or {})
        if not last.select:  # it built everything: so does its retry
            select = []
            tables = {"*"}
        select += list(last.select)
        exclude += list(last.exclude)
    if not select and not tables:
        return None
    return BuildRequest(
        [*base.select, *select] if select else [],
        exclude,
        full_refresh=base.full_refresh,
        vars=base.vars,
        unit_tests=base.unit_tests,
    )


def _log_build(build_id: int, select: list[str], result: BuildResult) -> None:
    """One line per build and one per publish, with versions and durations as fields."""
    fields = {
        "build_id": build_id,
        "select": select,
        "read_versions": result.read_versions,
        "duration_s": round(result.seconds, 3),
        "dbt_s": round(result.dbt_seconds, 3),
    }
    if not result.success:
        log.warning(
            "build %s failed: %s",
            build_id,
            result.error,
            extra={"event": "build", "success": False, "error": result.error, **fields},
        )
        return
    log.info(
        "build %s built in %.2fs (read %s)",
        build_id,
        result.seconds,
        result.read_versions,
        extra={"event": "build", "success": True, **fields},
    )
    changed = {t: v for t, v in result.published.items() if t not in result.unchanged}
    log.info(
        "build %s published %s in %.2fs",
        build_id,
        changed or "nothing new",
        result.publish_seconds,
        extra={
            "event": "publish",
            "build_id": build_id,
            "published": changed,
            "unchanged": sorted(result.unchanged),
            "duration_s": round(result.publish_seconds, 3),
        },
    )
