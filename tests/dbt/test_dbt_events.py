"""transform.dbt_events: dbt's event manager without the messages nobody reads.

The lean manager must print what dbt's own prints, hand every callback the events it reads, and
raise where ``--warn-error`` makes dbt raise; and it must skip the message of an event that
nothing reads (what it is for: without it, dbt makes every event a message).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dbt.tracking import track_behavior_change_warn
from dbt_common.events import event_manager as dbt_event_manager
from dbt_common.events import event_manager_client
from dbt_common.events.base_types import BaseEvent, EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.functions import get_stdout_config
from dbt_common.events.logger import LineFormat, LoggerConfig
from dbt_common.events.types import BehaviorChangeEvent, Formatting, Note, PrintEvent
from dbt_common.exceptions.events import EventCompilationError

from transform import dbt_events
from transform.dbt_events import LeanEventManager, reading


def _events() -> list[tuple[BaseEvent, EventLevel | None]]:
    """dbt's events at every level, the console's special cases among them."""
    from dbt.adapters.events.types import CacheAction, ConnectionUsed, SQLQuery

    return [
        (Note(msg="an info note"), None),
        (Note(msg="a debug note"), EventLevel.DEBUG),
        (Note(msg="a warn note"), EventLevel.WARN),
        (Note(msg="an error note"), EventLevel.ERROR),
        (Note(msg="a test-level note"), EventLevel.TEST),
        (Formatting(msg="----"), None),
        (PrintEvent(msg="printed whatever the level"), None),
        (SQLQuery(conn_name="master", sql="select 1", node_info={}), None),
        (ConnectionUsed(conn_type="duckdb", conn_name="master", node_info={}), None),
        (CacheAction(action="add_relation", ref_key={}, ref_key_2={}, ref_key_3={}), None),
        (
            BehaviorChangeEvent(
                flag_name="some_flag", flag_source="dbt", description="d", docs_url="u"
            ),
            None,
        ),
    ]


def _console(level: EventLevel, cache_events: bool, stream: io.StringIO) -> LoggerConfig:
    config = get_stdout_config(LineFormat.PlainText, False, level, cache_events)
    config.output_stream = stream
    return config


def _lines(stream: io.StringIO) -> list[str]:
    return [
        re.sub(r"^\d\d:\d\d:\d\d(\.\d+)?\s+", "", line) for line in stream.getvalue().splitlines()
    ]


def _fire_all(
    manager: Any, loggers: list[LoggerConfig], callbacks: list[Callable[[Any], None]]
) -> None:
    for config in loggers:
        manager.add_logger(config)
    for callback in callbacks:
        manager.add_callback(callback)
    for event, level in _events():
        manager.fire_event(event, level=level)


@pytest.mark.parametrize(
    "level",
    [EventLevel.DEBUG, EventLevel.INFO, EventLevel.WARN, EventLevel.ERROR, EventLevel.TEST],
)
@pytest.mark.parametrize("cache_events", [False, True])
def test_the_console_prints_what_dbt_prints(level: EventLevel, cache_events: bool) -> None:
    printed = []
    for manager in (EventManager(), LeanEventManager()):
        stream = io.StringIO()
        _fire_all(manager, [_console(level, cache_events, stream)], [track_behavior_change_warn])
        printed.append(_lines(stream))
    assert printed[0] == printed[1]
    assert printed[0], "dbt printed nothing: the comparison would prove nothing"


def test_callbacks_get_the_events_they_read() -> None:
    got: dict[str, list[str]] = {"any": [], "some": []}
    dbts: list[str] = []
    for manager in (EventManager(), LeanEventManager()):
        seen: list[str] = []
        _fire_all(manager, [], [lambda msg, seen=seen: seen.append(msg.info.name)])  # type: ignore[misc]
        dbts.append(",".join(seen))
    assert dbts[0] == dbts[1]  # a callback that does not say what it reads gets everything
    # alone, a callback that says what it reads gets at least those events
    _fire_all(
        LeanEventManager(),
        [],
        [reading({"Note", "PrintEvent"}, lambda msg: got["some"].append(msg.info.name))],
    )
    assert got["some"] == ["Note"] * 5 + ["PrintEvent"]
    # beside one that reads everything, dbt hands it every message, as before
    got["some"].clear()
    _fire_all(
        LeanEventManager(),
        [],
        [
            reading({"Note"}, lambda msg: got["some"].append(msg.info.name)),
            lambda msg: got["any"].append(msg.info.name),
        ],
    )
    assert got["some"] == got["any"] and len(got["any"]) == len(_events())


def test_unread_events_are_not_made_into_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the lean manager is for: at --log-level warn with dbt's own callback and a callback
    reading NodeFinished, only the warnings, errors and printed events become messages."""
    made: list[str] = []
    real = dbt_event_manager.msg_from_base_event

    def counting(event: BaseEvent, level: EventLevel | None = None) -> Any:
        made.append(type(event).__name__)
        return real(event, level=level)

    monkeypatch.setattr(dbt_event_manager, "msg_from_base_event", counting)
    stream = io.StringIO()
    read: list[str] = []
    callbacks = [track_behavior_change_warn, reading({"NodeFinished"}, read.append)]
    _fire_all(LeanEventManager(), [_console(EventLevel.WARN, False, stream)], callbacks)
    assert sorted(made) == ["BehaviorChangeEvent", "Note", "Note", "PrintEvent"]
    assert sorted(m.info.name for m in read) == sorted(made)  # dbt hands it what was made
    made.clear()
    _fire_all(EventManager(), [_console(EventLevel.WARN, False, io.StringIO())], callbacks)
    assert len(made) == len(_events())  # dbt's own makes every one


def test_an_unknown_filter_gets_every_message() -> None:
    seen: list[str] = []

    def filter_all(msg: Any) -> bool:
        seen.append(msg.info.name)
        return False

    config = LoggerConfig(name="someone_else", level=EventLevel.ERROR, filter=filter_all)
    config.output_stream = io.StringIO()
    _fire_all(LeanEventManager(), [config], [])
    assert len(seen) == len(_events())


@pytest.mark.parametrize("lean", [False, True])
def test_warn_error_raises_as_in_dbt(lean: bool) -> None:
    manager = LeanEventManager() if lean else EventManager()
    manager.add_logger(_console(EventLevel.ERROR, False, io.StringIO()))
    manager.require_warn_or_error_handling = True
    manager.warn_error = True
    manager.fire_event(Note(msg="info is fine"))
    with pytest.raises(EventCompilationError):
        manager.fire_event(Note(msg="a warning is an error"), level=EventLevel.WARN)
    with pytest.raises(EventCompilationError):
        manager.fire_event(Note(msg="forced"), force_warn_or_error_handling=True)


@pytest.fixture
def dbts_manager() -> Iterator[None]:
    before = event_manager_client.get_event_manager()
    event_manager_client.ctx_set_event_manager(EventManager())
    yield
    event_manager_client.ctx_set_event_manager(before)


@pytest.mark.usefixtures("dbts_manager")
def test_install_keeps_loggers_callbacks_and_settings() -> None:
    stream = io.StringIO()
    event_manager_client.add_logger_to_manager(_console(EventLevel.INFO, False, stream))
    event_manager_client.add_callback_to_manager(track_behavior_change_warn)
    event_manager_client.get_event_manager().require_warn_or_error_handling = True
    dbt_events.install()
    manager = event_manager_client.get_event_manager()
    assert type(manager) is LeanEventManager
    assert manager.callbacks == [track_behavior_change_warn]
    assert manager.require_warn_or_error_handling
    manager.fire_event(Note(msg="still printed"))
    assert _lines(stream) == ["still printed"]
    dbt_events.install()  # once is enough
    assert event_manager_client.get_event_manager() is manager


def test_an_events_message_is_made_when_first_read_as_dbt_makes_it() -> None:
    from dbt.adapters.events.types import SQLQuery
    from dbt_common.events.types import Note as NoteType
    from google.protobuf.json_format import ParseDict

    dbt_events.install()
    event = SQLQuery(conn_name="master", sql="select 1", node_info={"unique_id": "model.x"})
    assert "_lakehouse_pb" not in event.__dict__  # nothing read it: no message made
    assert event.sql == "select 1" and event.node_info.unique_id == "model.x"
    expected = ParseDict(
        {"conn_name": "master", "sql": "select 1", "node_info": {"unique_id": "model.x"}},
        type(event.pb_msg)(),
    )
    assert event.pb_msg == expected
    note = Note(msg=123)  # type: ignore[arg-type]  # dbt makes `msg` text
    assert isinstance(note, NoteType) and note.msg == "123"
    printed = Formatting("a positional message")
    assert printed.msg == "a positional message"
    lines: list[str] = []
    manager = LeanEventManager()
    manager.add_callback(lambda msg: lines.append(msg.data.msg))
    manager.fire_event(Note(msg="read by a callback"))
    assert lines == ["read by a callback"]


def test_an_event_made_before_install_keeps_its_message() -> None:
    """An event dbt made before :func:`dbt_events.install` holds its message as dbt's own
    ``__init__`` set it; reading it afterwards gives that message, not an empty one (found in
    review)."""
    dbt_events.install()
    made = Note.__new__(Note)  # as dbt's own __init__ leaves it: the message in its __dict__
    made.__dict__["pb_msg"] = type(Note(msg="x").pb_msg)(msg="made before install")
    assert made.pb_msg.msg == "made before install"
