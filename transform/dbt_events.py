"""dbt's event manager, without the messages nobody reads (docs/dbt.md, "dbt's events ...").

dbt fires ~670 events in a warm event build of the sample shop (three per SQL statement, several
per node) and turns every one into a protobuf message (``msg_from_base_event``: its text, a
timestamp, the thread's name, the invocation's metadata) before it asks its loggers and callbacks
whether they want it. At ``--log-level warn`` the console logger then formats the line and drops
it (Python's ``logging`` level), and dbt's own callback (``track_behavior_change_warn``, added to
every invocation) reads only ``BehaviorChangeEvent``. That was ~76 ms of CPU per build for
nothing.

:class:`LeanEventManager` is dbt's :class:`~dbt_common.events.event_manager.EventManager` with
one change: an event is handed to dbt's own ``fire_event`` unless it is certain that nothing
would come of it:

* it is not a warning under ``--warn-error`` handling (``force_warn_or_error_handling``, or a
  ``warn`` event while dbt requires warnings to be handled: dbt may raise or silence it);
* no callback may want it: a callback is asked only if it says which events it reads
  (:func:`reading`, or dbt's ``track_behavior_change_warn``); any other callback gets every event;
* no logger would write it: a logger whose filter is dbt's own (none, or the console's
  ``stdout_filter``), whose Python logger would drop the line at its level (dbt sends
  ``PrintEvent``, ``ShowNode`` and ``CompiledNode`` as errors). A logger with another filter,
  or any doubt, and dbt's path runs as before.

So what dbt prints, the callbacks' events and ``--warn-error`` are unchanged
(tests/dbt/test_dbt_events.py compares them with dbt's own manager).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from dbt.tracking import track_behavior_change_warn
from dbt_common.events.base_types import BaseEvent, EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.functions import stdout_filter
from dbt_common.events.logger import PRINT_EVENT_NAMES, NoFilter

__all__ = ["LeanEventManager", "install", "reading"]

#: how dbt's loggers map an event's level to Python's (dbt_common.events.logger.send_to_logger)
_PYTHON_LEVEL = {
    "test": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


class _Reading:
    """A callback that reads only the events named ``names`` (:func:`reading`)."""

    def __init__(self, names: Iterable[str], callback: Callable[[Any], None]) -> None:
        self.event_names = frozenset(names)
        self.callback = callback

    def __call__(self, msg: Any) -> None:
        self.callback(msg)


def reading(names: Iterable[str], callback: Callable[[Any], None]) -> Callable[[Any], None]:
    """``callback`` for ``dbtRunner(callbacks=...)``, saying it reads only the events ``names``
    (e.g. ``NodeFinished``): other events need not be made into messages for it."""
    return _Reading(names, callback)


def _names_read(callback: Any) -> frozenset[str] | None:
    """The events ``callback`` reads; ``None``: any event."""
    names = getattr(callback, "event_names", None)
    if isinstance(names, frozenset):
        return names
    if callback is track_behavior_change_warn:  # dbt's own: `msg.info.name != ...: return`
        return frozenset({"BehaviorChangeEvent"})
    return None


def _quiet(logger: Any, name: str, level: str) -> bool:
    """Whether dbt's ``logger`` certainly writes nothing for the event ``name`` at ``level``."""
    python_logger = getattr(logger, "_python_logger", None)
    if python_logger is None:  # dbt's write_line formats the line, then drops it
        return True
    check = logger.filter
    if isinstance(check, functools.partial) and check.func is stdout_filter:
        if name in ("CacheAction", "CacheDumpGraph") and not check.args[0]:
            return True  # the console's filter drops cache events unless asked for them
    elif check is not NoFilter:
        return False  # someone else's filter: it may read anything of the message
    sent = "error" if name in PRINT_EVENT_NAMES else level  # as dbt's write_line sends it
    python_level = _PYTHON_LEVEL.get(sent)
    return python_level is not None and not python_logger.isEnabledFor(python_level)


class LeanEventManager(EventManager):
    """dbt's EventManager; an event nothing reads is not made into a message (module doc)."""

    def fire_event(
        self,
        e: BaseEvent,
        level: EventLevel | None = None,
        node: Any = None,
        force_warn_or_error_handling: bool = False,
    ) -> None:
        if not force_warn_or_error_handling and self._unread(e, level):
            return
        super().fire_event(e, level, node, force_warn_or_error_handling)

    def _unread(self, e: BaseEvent, level: EventLevel | None) -> bool:
        """Whether dbt's ``fire_event`` would make ``e`` a message that nothing reads."""
        try:
            if os.environ.get("DBT_TEST_BINARY_SERIALIZATION"):
                return False  # dbt's own check of every message
            name = type(e).__name__
            text_level = level.value if level else e.level_tag().value
            if self.require_warn_or_error_handling and text_level == "warn":
                return False  # --warn-error may raise it, or silence it
            for callback in self.callbacks:
                names = _names_read(callback)
                if names is None or name in names:
                    return False
            return all(_quiet(logger, name, text_level) for logger in self.loggers)
        except Exception:  # any doubt: dbt's own path
            return False


def _lazy_messages() -> None:
    """dbt's events make their protobuf message (``pb_msg``, ``ParseDict`` of their fields:
    ~45 ms of CPU per warm build) when first read instead of when built: by dbt's own
    ``BaseEvent.__init__``, called then with the same arguments. An event nothing reads
    (:class:`LeanEventManager`) never makes it; any read (a field, ``pb_msg``, a logger or
    callback's message) sees what dbt would have built."""
    if getattr(BaseEvent, "_lakehouse_lazy", False):
        return
    build = BaseEvent.__init__

    def __init__(self: BaseEvent, *args: Any, **kwargs: Any) -> None:
        object.__setattr__(self, "_lakehouse_args", (args, kwargs))

    def get(self: BaseEvent) -> Any:
        state = self.__dict__
        if "_lakehouse_pb" not in state:
            if "_lakehouse_args" not in state and "pb_msg" in state:
                return state["pb_msg"]  # made before install(), by dbt's own __init__
            args, kwargs = state.pop("_lakehouse_args", ((), {}))
            build(self, *args, **kwargs)
        return state["_lakehouse_pb"]

    def put(self: BaseEvent, value: Any) -> None:
        self.__dict__["_lakehouse_pb"] = value

    BaseEvent.__init__ = __init__  # type: ignore[method-assign]
    BaseEvent.pb_msg = property(get, put)
    BaseEvent._lakehouse_lazy = True  # type: ignore[attr-defined]


def install() -> None:
    """Make dbt's process-wide event manager a :class:`LeanEventManager` (its loggers,
    callbacks and settings kept), its events' messages made when first read
    (:func:`_lazy_messages`); a manager other than dbt's own is left alone."""
    from dbt_common.events import event_manager_client

    _lazy_messages()

    current = event_manager_client.get_event_manager()
    if type(current) is not EventManager:
        return
    lean = LeanEventManager()
    lean.__dict__.update(current.__dict__)
    event_manager_client.ctx_set_event_manager(lean)
