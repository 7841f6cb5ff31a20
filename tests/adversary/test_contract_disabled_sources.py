"""A source or source table with ``config: {enabled: false}`` is disabled by dbt (dbt 1.11.1
parse: not in manifest.json's sources, in ``disabled``): it declares nothing, so it is no
contract, and it does not make an enabled declaration of the same table a twin. An
``enabled`` that is not true or false is refused as dbt refuses it (session 14: the lakehouse
enforced a contract dbt had switched off)."""

from __future__ import annotations

from typing import Any

import pytest

from lakehouse.contracts import ContractShape, parse_sources


def _tables(sources: list[dict[str, Any]]) -> list[str]:
    return sorted(parse_sources([("s.yml", {"sources": sources})]))


def test_disabled_tables_and_sources_declare_nothing() -> None:
    sources = [
        {
            "name": "bronze",
            "tables": [
                {"name": "toff", "config": {"enabled": False}},
                {"name": "ton"},
                {"name": "twin", "config": {"enabled": False}},
                {"name": "twin"},
            ],
        },
        {
            "name": "shop",
            "config": {"enabled": False},
            "meta": {"plugin": "lakehouse_bronze"},
            "tables": [{"name": "shopoff"}, {"name": "ton"}],
        },
    ]
    assert _tables(sources) == ["ton", "twin"]


@pytest.mark.parametrize("enabled", ["False", "{{ false }}", 0])
def test_an_enabled_that_is_no_boolean_is_refused(enabled: object) -> None:
    sources = [{"name": "bronze", "tables": [{"name": "t", "config": {"enabled": enabled}}]}]
    with pytest.raises(ContractShape, match=r"config\.enabled is"):
        _tables(sources)
