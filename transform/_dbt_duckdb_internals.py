"""The only module that touches dbt-duckdb's private internals; everything else uses its plugin API.

Checked against dbt-duckdb 1.11.1 (uv.lock), whose code this relies on:

* ``dbt.adapters.duckdb.connections.DuckDBConnectionManager._ENV`` / ``._LOCK``: the
  process-wide environment (one DuckDB database per process) and the lock that guards it.
  dbt-duckdb replaces the environment only when the credentials change, and after an
  invocation on another target can run the next one against the old database, so
  :func:`drop_environment` closes it when this process switches targets.
* ``Environment.load_source(plugin_name, source_config)``, which ``DuckDBRelation`` calls
  (``DuckDBConnectionManager.env().load_source(...)``) for every ``source()`` whose source has
  ``meta: {plugin: ...}``. The stock local environment re-registers the plugin's data and
  re-creates the source view on every such call, from every dbt thread at once;
  :func:`route_load_source` sends the calls for one plugin elsewhere, on the environment
  instance only.

``tests/dbt/test_dbt_duckdb_internals.py`` fails when an upgrade moves or reshapes any of these:
re-read the above in the new version, then add it to :data:`CHECKED_VERSIONS`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.duckdb.utils import SourceConfig

__all__ = ["CHECKED_VERSIONS", "drop_environment", "environment", "route_load_source"]

#: dbt-duckdb versions whose internals were read against this module.
CHECKED_VERSIONS = ("1.11.1",)

#: set on an environment whose ``load_source`` we rerouted: the stock method it replaced
_ORIGINAL = "_lakehouse_original_load_source"


def environment() -> Any:
    """dbt-duckdb's process-wide environment (``None`` before dbt opened a connection)."""
    return DuckDBConnectionManager._ENV


def lock() -> threading.RLock:
    """The lock dbt-duckdb holds while it creates or replaces the environment."""
    guard: threading.RLock = DuckDBConnectionManager._LOCK
    return guard


def drop_environment() -> None:
    """Close and forget the process-wide environment; dbt-duckdb creates a new one when needed."""
    with lock():
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None


def route_load_source(plugin_name: str, handler: Callable[[SourceConfig], None]) -> None:
    """Send the current environment's ``load_source`` calls for ``plugin_name`` to ``handler``.

    Other plugins keep the stock path. Rerouting the same environment again replaces the
    handler (never wraps a wrapper). Nothing happens before the environment exists.
    """
    env = environment()
    if env is None or not hasattr(env, "load_source"):
        return
    original = getattr(env, _ORIGINAL, None) or env.load_source

    def load_source(name: str, source_config: SourceConfig) -> None:
        if name == plugin_name:
            handler(source_config)
        else:
            original(name, source_config)

    setattr(env, _ORIGINAL, original)
    env.load_source = load_source


def is_routed(env: Any) -> bool:
    """Whether :func:`route_load_source` rerouted ``env``."""
    return getattr(env, _ORIGINAL, None) is not None
