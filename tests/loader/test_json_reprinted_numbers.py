"""A number inside an object or an array, or moved to ``_rescued_data``, is kept as written.

DuckDB prints nested JSON values again (``{"x":1.5}`` for ``{"x": 1.50}``, ``1e-13`` for
``0.0000000000001``): a review found those reprints stored as the text, and the type of a
nested field depending on which reader a file happened to get. Such a file is read again by
the exact reader; both readings now give the same, as written.
"""

from __future__ import annotations

import pytest
from loader_support import bronze, drop

from lakehouse.settings import Settings
from loader.loading import Loader

#: a 17-digit integer sends a file to the exact reader at once
EXACT = ', "z": 12345678901234567'


def _rows(settings: Settings, body: str) -> list[dict[str, object]]:
    drop(settings, "t", "f.ndjson", body)
    done = Loader(settings).load_pending()
    assert not done.quarantined, done.quarantined
    keep = [c for c in bronze(settings, "t").column_names if c in ("id", "o", "l", "n")]
    return sorted(bronze(settings, "t").select(keep).to_pylist(), key=lambda r: str(r["id"]))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"id": 1, "o": {"x": 1.50}}\n{"id": 2, "o": {"x": "s"}}\n',
            [{"id": 1, "o": {"x": "1.50"}}, {"id": 2, "o": {"x": "s"}}],
        ),
        ('{"id": 1, "l": [1.50, 2]}\n', [{"id": 1, "l": "[1.50,2]"}]),
        ('{"id": 1, "l": [1, 2]}\n', [{"id": 1, "l": "[1,2]"}]),
    ],
)
def test_nested_numbers_are_kept_as_written(
    tmp_path_factory: pytest.TempPathFactory, body: str, expected: list[dict[str, object]]
) -> None:
    plain = _rows(Settings(root=tmp_path_factory.mktemp("plain")), body)
    exact = _rows(
        Settings(root=tmp_path_factory.mktemp("exact")), body.replace("}\n", EXACT + "}\n")
    )
    assert plain == exact == expected


def test_both_readers_type_a_nested_field_alike(tmp_path_factory: pytest.TempPathFactory) -> None:
    body = '{"id": 1, "o": {"x": 1.5, "y": 0.0000000000001}}\n'
    plain = _rows(Settings(root=tmp_path_factory.mktemp("plain")), body)
    exact = _rows(
        Settings(root=tmp_path_factory.mktemp("exact")), body.replace("}\n", EXACT + "}\n")
    )
    assert plain == exact


@pytest.mark.parametrize("literal", ["1.50", "0.0000000000001", "2.0"])
def test_a_rescued_number_is_kept_as_written(settings: Settings, literal: str) -> None:
    drop(settings, "t", "a.ndjson", '{"id": 1, "n": 5}\n')
    Loader(settings).load_pending()
    drop(settings, "t", "b.ndjson", '{"id": 2, "n": ' + literal + "}\n")
    Loader(settings).load_pending()
    rows = {r["id"]: r for r in bronze(settings, "t").to_pylist()}
    assert rows[2]["n"] is None
    # the number itself, as written: not a string (which "1.50" would be), not its double
    assert rows[2]["_rescued_data"] == '{"n": ' + literal + "}"
