"""The builder thread: load events in, coalesced dbt builds out, failures retried and recorded.

:class:`Builder` is the long-lived thread behind ``lakehouse load|loader|up``: ``submit`` load
events (non-blocking), bursts coalesce into one build of ``source:bronze.<table>+`` for the
tables they touched, failures are recorded in the run ledger and retried with back-off
(tenacity); loading never waits for it. Event builds leave dbt unit tests out (they test the
SQL, not the data: dbt's advice for production); ``lakehouse build`` and CI run them.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, stop_after_attempt, wait_exponential

from lakehouse.events import LoadEvent
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings
from transform.session import BuildResult, DbtSession

__all__ = ["Builder"]

log = logging.getLogger(__name__)


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
        between_builds: Callable[[Callable[[], bool]], object] | None = None,
        between_every_s: float = 60.0,
    ) -> None:
        """``between_builds(should_stop)``: work that must never overlap a build (table
        upkeep), run in this thread at most every ``between_every_s`` while no build is queued;
        it returns soon after ``should_stop()`` turns true (a build is waiting)."""
        self.settings = settings
        self.between_builds = between_builds
        self.between_every_s = between_every_s
        self._between_at = time.monotonic()
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
                self._cond.wait_for(
                    lambda: self._pending or self._stop.is_set() or self._between_due(),
                    timeout=self.between_every_s if self.between_builds else None,
                )
                if self._stop.is_set():
                    break
                between = not self._pending and self._between_due()
                if not self._pending and not between:
                    continue
                self._running = True
            try:
                if between:
                    self._run_between()
                else:
                    if self.debounce_s:
                        self._stop.wait(self.debounce_s)  # let the rest of a burst arrive
                    with self._cond:
                        pending, self._pending = self._pending, {}
                    self._build(pending)
            except Exception:  # never let the builder thread die; loading goes on
                log.exception("builder: unexpected error")
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()

    def _between_due(self) -> bool:
        return (
            self.between_builds is not None
            and time.monotonic() - self._between_at >= self.between_every_s
        )

    def _run_between(self) -> None:
        assert self.between_builds is not None
        try:
            self.between_builds(lambda: bool(self._pending) or self._stop.is_set())
        finally:
            self._between_at = time.monotonic()

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
