"""dbt's per-invocation work that depends only on what has not changed, done once per process.

A warm event build of the sample shop runs ``dbt build`` on a kept manifest
(transform.session). Before dbt runs its first node, every invocation again:

* scans every folder of ``sys.path`` for modules named ``dbt_*`` (``set_up_plugin_manager``:
  ``pkgutil.iter_modules`` over site-packages, ~10 ms of CPU), to find dbt plugins;
* links the manifest into its graph, summarises it twice (each node made a dict) and adds the
  test edges (``Compiler.compile``, ~13 ms of CPU), although the manifest is the same object,
  unchanged since the last build.

Besides, on dbt's threads: every query result becomes an agate table, for which dbt makes a
new ``TypeTester`` (``agate_helper.build_type_tester``: seven agate types, two of them
``parsedatetime`` calendars whose constants are built anew, ~0.5 ms of CPU each time, ~39 times
per warm build of the sample shop, all under the GIL the build's threads share).

All are kept here, each under a key that holds everything its result is made from, so a kept
result is the one dbt would make again:

* **Plugins**: the ``PluginManager`` dbt made for a project name, kept while ``sys.path`` (the
  folders ``pkgutil`` scans, and the working directory when an entry is ``''``) holds the same
  entries with the same modification times (a package installed or removed changes its folder's
  time). A plugin is imported once, as before; its hooks are the objects dbt made.
* **Type testers**: the ``TypeTester`` dbt made for a set of text-only columns and string
  null values, kept per thread, at most 64 per thread. Neither agate nor dbt writes to a tester
  or its types after making them (``TypeTester.run`` only reads them; dbt's ``Date`` and
  ``DateTime`` have formats, so they cast with ``strptime`` and never read their calendars nor
  the day the ``DateTime`` was made), so the tables made with a kept one are those a new one
  makes. Per thread all the same: dbt's threads never share one of them.
* **Graph**: the graph ``Compiler.compile`` built for a manifest, kept while it is the same
  manifest object and every input of the graph is the same (each node, source, exposure,
  function, metric, semantic model, unit test and saved query: its id, resource type, the
  nodes it depends on and whether it is enabled; dbt's ``USE_FAST_TEST_EDGES`` flag; whether
  test edges are added). What ``compile`` does besides making the graph is still done on every
  call: the target folder, ``manifest.build_parent_and_child_maps()``, ``graph_summary.json``
  (with this invocation's id), ``graph.gpickle`` when dbt writes JSON, and the stats event. The
  caller gets its own copy of the graph (dbt's selection copies it anyway).

:func:`install` puts them in place for this process (the session calls it before each
invocation; a second call does nothing). tests/dbt/test_dbt_warm.py compares each with dbt's
own result and pins the dbt functions they replace.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

__all__ = [
    "CHECKED_VERSIONS",
    "TESTERS_KEPT",
    "graph_inputs",
    "install",
    "kept_type_tester",
    "plugin_stamp",
]

#: dbt-core versions whose ``set_up_plugin_manager`` and ``Compiler.compile`` were read
CHECKED_VERSIONS = ("1.11.",)

_INSTALLED: list[bool] = []
_LOCK = threading.Lock()
#: (project name, plugin_stamp()) -> the PluginManager dbt made for them
_PLUGINS: dict[tuple[str, tuple[Any, ...]], Any] = {}
#: dbt's own ``Compiler.compile`` (once :func:`install` replaced it)
_ORIGINAL_COMPILE: Any = None
#: the last graph made: (manifest, key, its networkx graph, its summaries)
_GRAPH: list[tuple[Any, tuple[Any, ...], Any, dict[str, Any]]] = []
#: ``summaries``: where ``Linker.get_graph_summary`` results go while a graph is being made
_RECORDING = threading.local()
#: ``kept``: this thread's TypeTesters by (text-only columns, string null values)
_TESTERS = threading.local()
#: the most TypeTesters a thread keeps (dbt's queries have a few shapes of text-only columns)
TESTERS_KEPT = 64


def install() -> None:
    """Keep dbt's plugin manager and compiled graph between invocations (module docstring)."""
    with _LOCK:
        if _INSTALLED:
            return
        import dbt.cli.requires as requires
        import dbt.plugins as plugins
        import dbt_common.clients.agate_helper as agate_helper
        from dbt.compilation import Compiler, Linker

        original_plugins = plugins.set_up_plugin_manager

        def set_up_plugin_manager(project_name: str) -> None:
            key = (project_name, plugin_stamp())
            with _LOCK:
                kept = _PLUGINS.get(key)
            if kept is not None:
                plugins.PLUGIN_MANAGER = kept
                return
            original_plugins(project_name)
            with _LOCK:
                _PLUGINS.clear()  # only the newest: an old stamp never comes back
                _PLUGINS[key] = plugins.PLUGIN_MANAGER

        requires.set_up_plugin_manager = set_up_plugin_manager  # type: ignore[attr-defined]
        global _ORIGINAL_COMPILE
        _ORIGINAL_COMPILE = Compiler.compile
        Compiler.compile = _compile_keeping_graph(Compiler.compile)  # type: ignore[method-assign]
        Linker.get_graph_summary = _recording(Linker.get_graph_summary)  # type: ignore[method-assign]
        agate_helper.build_type_tester = kept_type_tester(agate_helper.build_type_tester)
        _INSTALLED.append(True)


def kept_type_tester(original: Any) -> Any:
    """dbt's ``build_type_tester``, its result kept per thread by what it is made from."""

    def build_type_tester(text_columns: Any, string_null_values: Any = ("null", "")) -> Any:
        columns = tuple(text_columns)
        nulls = None if string_null_values is None else tuple(string_null_values)
        key = (frozenset(columns), nulls)
        kept: dict[Any, Any] | None = getattr(_TESTERS, "kept", None)
        if kept is None:
            kept = _TESTERS.kept = {}
        tester = kept.get(key)
        if tester is None:
            if len(kept) >= TESTERS_KEPT:
                kept.clear()
            tester = kept[key] = original(columns, string_null_values=nulls)
        return tester

    build_type_tester.__wrapped__ = original  # type: ignore[attr-defined]
    return build_type_tester


def plugin_stamp() -> tuple[Any, ...]:
    """What ``pkgutil.iter_modules()`` reads: each ``sys.path`` entry (``''``: the working
    directory) with its modification time (``None``: not there)."""
    stamp: list[tuple[str, int | None]] = []
    for entry in list(sys.path):
        path = entry or os.getcwd()
        try:
            mtime: int | None = os.stat(path).st_mtime_ns
        except OSError:
            mtime = None
        stamp.append((path, mtime))
    return tuple(stamp)


def graph_inputs(manifest: Any) -> tuple[Any, ...]:
    """Everything of ``manifest`` the graph is made from (``Linker.link_graph``,
    ``add_test_edges``): each member's id, resource type, the nodes it depends on, enabled."""
    out: list[Any] = []
    for collection in (
        manifest.nodes,
        manifest.sources,
        manifest.exposures,
        manifest.functions,
        manifest.metrics,
        manifest.semantic_models,
        manifest.saved_queries,
        manifest.unit_tests,
    ):
        members = []
        for unique_id, node in collection.items():
            depends_on = getattr(node, "depends_on", None)
            config = getattr(node, "config", None)
            members.append(
                (
                    unique_id,
                    node.unique_id,
                    str(getattr(node, "resource_type", "")),
                    tuple(getattr(depends_on, "nodes", None) or ()),
                    getattr(config, "enabled", None),
                )
            )
        out.append(tuple(members))
    return tuple(out)


def _compile_keeping_graph(original: Any) -> Any:
    def compile(self: Any, manifest: Any, write: bool = True, add_test_edges: bool = False) -> Any:
        from dbt.compilation import Linker, _generate_stats, print_compile_stats
        from dbt.flags import get_flags
        from dbt.graph.graph import Graph
        from dbt_common.invocation import get_invocation_id

        flags = get_flags()  # type: ignore[no-untyped-call]
        fast_edges = bool(getattr(flags, "USE_FAST_TEST_EDGES", False))
        key = (add_test_edges, fast_edges, graph_inputs(manifest))
        with _LOCK:
            kept = (
                _GRAPH[0] if _GRAPH and _GRAPH[0][0] is manifest and _GRAPH[0][1] == key else None
            )
        if kept is None:
            recorded: list[Any] = []
            _RECORDING.summaries = recorded
            try:
                graph = original(self, manifest, write, add_test_edges)
            finally:
                _RECORDING.summaries = None
            names = ["linked", "with_test_edges"] if add_test_edges else ["linked"]
            with _LOCK:
                if len(recorded) == len(names):
                    summaries = dict(zip(names, recorded, strict=True))
                    _GRAPH[:] = [(manifest, key, graph.graph.copy(), summaries)]
                else:  # not what this module read of dbt: nothing kept
                    _GRAPH.clear()
            return graph
        _, _, digraph, summaries = kept
        self.initialize()
        if add_test_edges:
            manifest.build_parent_and_child_maps()
        _write_summary(self, {"_invocation_id": get_invocation_id(), **summaries})
        linker = Linker()
        linker.graph = digraph.copy()
        if write:
            self.write_graph_file(linker, manifest)
        if self.config.args.which != "list":
            print_compile_stats(_generate_stats(manifest))
        return Graph(linker.graph)

    return compile


def _recording(original: Any) -> Any:
    def get_graph_summary(self: Any, manifest: Any) -> Any:
        summary = original(self, manifest)
        recorded = getattr(_RECORDING, "summaries", None)
        if recorded is not None:
            recorded.append(summary)
        return summary

    return get_graph_summary


def _write_summary(compiler: Any, summaries: dict[str, Any]) -> None:
    """``graph_summary.json`` as ``Compiler.compile`` writes it (a failure only noted)."""
    from dbt_common.events.functions import fire_event
    from dbt_common.events.types import Note

    path = os.path.join(compiler.config.project_target_path, "graph_summary.json")
    with open(path, "w") as out_stream:
        try:
            out_stream.write(json.dumps(summaries))
        except Exception as e:  # as dbt: non-essential information
            fire_event(
                Note(msg=f"An error was encountered writing the graph summary information: {e}")
            )
