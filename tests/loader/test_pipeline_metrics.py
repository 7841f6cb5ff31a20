"""The pipeline's Prometheus metrics count quarantined batches and rescued values per table
(read from the run ledger when scraped, as ``lakehouse status`` reads them)."""

from __future__ import annotations

from textwrap import dedent

from loader_support import drop
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lakehouse.metrics import PipelineMetrics
from lakehouse.settings import Settings
from loader import Loader

CONTRACT = """
    version: 2
    sources:
      - name: bronze
        tables:
          - name: orders
            columns:
              - {name: id, data_type: bigint}
              - {name: amount, data_type: "decimal(10,2)"}
          - name: strict_orders
            meta: {on_mismatch: quarantine}
            columns:
              - {name: id, data_type: bigint}
"""


def _scrape(metrics: PipelineMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_quarantined_and_rescued_counts_per_table(settings: Settings) -> None:
    project = settings.root / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "_sources.yml").write_text(dedent(CONTRACT))
    settings = settings.model_copy(update={"dbt_project_dir": project})
    metrics = PipelineMetrics(settings)
    before = _scrape(metrics)  # no ledger yet: no table, and the scrape works
    assert not any(name.startswith("lakehouse_rescued") for name, _ in before)

    drop(settings, "orders", "a.csv", "id,amount\n1,1.5\n2,1.005\n3,x\n")  # two rescued
    drop(settings, "orders", "b.csv", "id,amount\n4,2.25\n")  # none
    drop(settings, "orders", "c.csv", "id,amount\nseven,3\n")  # one
    drop(settings, "strict_orders", "a.csv", "id\n1\nnot a number\n")  # quarantined
    summary = Loader(settings).load_pending()
    assert len(summary.loaded) == 3 and len(summary.quarantined) == 1

    after = _scrape(metrics)
    orders, strict = (("table", "orders"),), (("table", "strict_orders"),)
    assert after[("lakehouse_rescued_values", orders)] == 3
    assert after[("lakehouse_rescued_batches", orders)] == 2
    assert after[("lakehouse_quarantined_batches", orders)] == 0
    assert after[("lakehouse_quarantined_batches", strict)] == 1
    assert after[("lakehouse_rescued_values", strict)] == 0
    assert after[("lakehouse_batches", (("state", "quarantined"),))] == 1
