"""transform.dbt_warm: dbt's plugins and graph made once, the same as dbt makes them each time.

A kept graph must be the graph dbt's own ``Compiler.compile`` makes of the same manifest (nodes,
edges and their data, ``graph_summary.json`` but for the invocation id), made again when
anything it is made from changes; a kept plugin manager must be the one dbt would find, found
again when a folder of ``sys.path`` changes (a plugin installed). The dbt functions replaced
are pinned, so a dbt upgrade that moves them fails here first.
"""

from __future__ import annotations

import inspect
import json
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from dbt.compilation import Compiler, Linker
from runtime_support import append_bronze, orders, project_settings, write_project

from transform import DbtSession, dbt_warm

MODELS = {
    "models/staging/stg_orders.sql": "select * from {{ source('bronze', 'orders') }}",
    "models/marts/totals.sql": (
        "select customer_id, count(*) as n from {{ ref('stg_orders') }} group by 1"
    ),
    "models/marts/_marts.yml": """
        version: 2
        models:
          - name: totals
            columns:
              - name: customer_id
                data_tests: [not_null, unique]
        """,
}


def test_the_replaced_dbt_functions_are_still_dbts() -> None:
    assert version("dbt-core").startswith(dbt_warm.CHECKED_VERSIONS), version("dbt-core")
    import dbt.cli.requires as requires
    import dbt.plugins as plugins

    assert "set_up_plugin_manager(project_name=project.project_name)" in inspect.getsource(
        requires.project
    )
    assert "PLUGIN_MANAGER = PluginManager.from_modules(project_name)" in inspect.getsource(
        plugins.set_up_plugin_manager
    )
    source = inspect.getsource(dbt_warm._compile_keeping_graph)
    assert "original(self, manifest, write, add_test_edges)" in source
    compiled = dbt_warm._ORIGINAL_COMPILE or Compiler.compile
    params = list(inspect.signature(compiled).parameters)
    assert params == ["self", "manifest", "write", "add_test_edges"]
    text = inspect.getsource(compiled)
    for step in (
        "self.initialize()",
        "linker.link_graph(manifest)",
        'summaries["linked"] = linker.get_graph_summary(manifest)',
        "manifest.build_parent_and_child_maps()",
        "linker.add_test_edges(manifest)",
        'summaries["with_test_edges"] = linker.get_graph_summary(manifest)',
        '"graph_summary.json"',
        "self.write_graph_file(linker, manifest)",
        "print_compile_stats(stats)",
        "return Graph(linker.graph)",
    ):
        assert step in text, step


@pytest.fixture
def graphs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, Any, bool]]]:
    """Each compile of a build: (the graph dbt_warm gave, dbt's own of the same manifest,
    whether it was kept)."""
    dbt_warm.install()
    warm = Compiler.compile
    seen: list[tuple[Any, Any, bool]] = []

    def compile(self: Any, manifest: Any, write: bool = True, add_test_edges: bool = False) -> Any:
        kept = bool(dbt_warm._GRAPH) and dbt_warm._GRAPH[0][0] is manifest
        graph = warm(self, manifest, write, add_test_edges)
        path = Path(self.config.project_target_path) / "graph_summary.json"
        summary = json.loads(path.read_text())
        own = dbt_warm._ORIGINAL_COMPILE(self, manifest, write, add_test_edges)
        own_summary = json.loads(path.read_text())
        assert summary.pop("_invocation_id") == own_summary.pop("_invocation_id")
        assert summary == own_summary
        seen.append((graph, own, kept))
        return graph

    monkeypatch.setattr(Compiler, "compile", compile)
    yield seen


def _same(a: Any, b: Any) -> None:
    assert sorted(a.graph.nodes(data=True)) == sorted(b.graph.nodes(data=True))
    assert sorted(a.graph.edges(data=True)) == sorted(b.graph.edges(data=True))


@pytest.mark.slow
def test_a_kept_graph_is_dbts_graph_of_the_manifest(
    tmp_path: Path, graphs: list[tuple[Any, Any, bool]]
) -> None:
    settings = project_settings(tmp_path, write_project(tmp_path / "project", MODELS))
    append_bronze(settings, "orders", orders(1, 5))
    session = DbtSession(settings)
    for first in (1, 10):
        append_bronze(settings, "orders", orders(first + 5, 5))
        assert session.build(["source:bronze.orders+"]).success
    assert [kept for _, _, kept in graphs] == [False, True]
    for graph, own, _ in graphs:
        _same(graph, own)
    assert any(d.get("edge_type") == "parent_test" for *_, d in graphs[1][0].graph.edges(data=True))
    # a change to the project: a new parse, a new manifest, its graph made anew
    (settings.dbt_project_dir / "models/marts/more.sql").write_text(
        "select * from {{ ref('totals') }}"
    )
    append_bronze(settings, "orders", orders(20, 5))
    result = session.build(["source:bronze.orders+"])
    assert result.success, result.failures
    assert graphs[-1][2] is False
    assert "model.lakehouse.more" in graphs[-1][0].graph
    _same(graphs[-1][0], graphs[-1][1])


def test_the_graph_is_made_again_when_an_input_of_it_changes(tmp_path: Path) -> None:
    settings = project_settings(tmp_path, write_project(tmp_path / "project", MODELS))
    session = DbtSession(settings)
    manifest = session._manifest()
    before = dbt_warm.graph_inputs(manifest)
    assert dbt_warm.graph_inputs(manifest) == before
    node = manifest.nodes["model.lakehouse.totals"]
    node.depends_on.nodes.append("model.lakehouse.elsewhere")
    try:
        assert dbt_warm.graph_inputs(manifest) != before
    finally:
        node.depends_on.nodes.remove("model.lakehouse.elsewhere")
    assert dbt_warm.graph_inputs(manifest) == before
    node.config.enabled = False
    try:
        assert dbt_warm.graph_inputs(manifest) != before
    finally:
        node.config.enabled = True


def test_a_plugin_installed_is_found_a_kept_manager_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dbt.cli.requires as requires
    import dbt.plugins as plugins

    dbt_warm.install()
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    requires.set_up_plugin_manager("lakehouse")
    kept = plugins.PLUGIN_MANAGER
    requires.set_up_plugin_manager("lakehouse")
    assert plugins.PLUGIN_MANAGER is kept  # nothing changed: the same manager
    assert not any(type(p).__name__ == "WarmTestPlugin" for p in kept._plugins)
    stamp = dbt_warm.plugin_stamp()
    (folder / "dbt_lakehouse_warm_test_plugin.py").write_text(
        textwrap.dedent(
            """
            from dbt.plugins.manager import dbtPlugin

            class WarmTestPlugin(dbtPlugin):
                def initialize(self) -> None:
                    pass

            plugins = [WarmTestPlugin]
            """
        )
    )
    assert dbt_warm.plugin_stamp() != stamp  # the folder's time moved
    try:
        requires.set_up_plugin_manager("lakehouse")
        found = plugins.PLUGIN_MANAGER
        assert found is not kept
        assert any(type(p).__name__ == "WarmTestPlugin" for p in found._plugins)
    finally:
        sys.modules.pop("dbt_lakehouse_warm_test_plugin", None)
        (folder / "dbt_lakehouse_warm_test_plugin.py").unlink()
        requires.set_up_plugin_manager("lakehouse")  # the plugin gone: not kept either
    assert not any(type(p).__name__ == "WarmTestPlugin" for p in plugins.PLUGIN_MANAGER._plugins)


def test_the_linker_summary_is_recorded_only_while_a_graph_is_made() -> None:
    dbt_warm.install()
    assert getattr(dbt_warm._RECORDING, "summaries", None) is None
    assert Linker.get_graph_summary.__name__ == "get_graph_summary"
