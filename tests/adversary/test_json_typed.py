"""Property: the typed reading of NDJSON gives bronze exactly what the JSON text reading gives.

``loader.readers._json_typed`` reads an NDJSON file into typed columns with DuckDB's own typed
``read_json`` (what the raw limit reads) when its keys each hold one kind of value; the file's
bytes are searched for any value breaking that (``TypedKinds``, with the number prefilter), and
the file is then read again as JSON text. Every file here is loaded twice into a fresh table: as
the loader reads it, and with the typed reading turned off (the JSON text reading, judged by the
rule elsewhere: ``test_properties``, ``test_json_paths``). Bronze must hold the same columns,
types and values, or both refuse the file for the same reason. The files are made to tempt the
typed reading: keys of one kind with now and then a value of another, numbers near the digits a
double keeps, strings that look like numbers, dates, booleans or keys, escapes, odd key names,
blanks around colons, nesting.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from adversary_support import lakehouse
from deltalake import DeltaTable
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import FAST

from lakehouse import Settings
from lakehouse.layout import raw_dir, table_path
from lakehouse.storage import arrow_dataset
from loader import Loader, readers

LINEAGE = ("_ingested_at", "_batch_id", "_source_file")

ints = st.one_of(
    st.integers(-(10**15), 10**15),
    st.sampled_from([0, -1, 10**15 - 1, 10**16 - 1, -(10**16) + 1, 2**53, 2**53 + 1]),
).map(str)
decimals = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,7})\.[0-9]{1,7}", fullmatch=True),
    st.sampled_from(
        ["0.00001", "-0.0", "0.0", "1.50", "0.1", "123456789012.345", "0.000000001", "99.990"]
    ),
)
strings = st.one_of(
    st.text(max_size=6),
    st.sampled_from(
        ["5", "1.5", "true", "null", "2024-01-01", "12:00:00", "a\\b", 'q"t', '"k": 1', "é", "\x00"]
    ),
).map(lambda t: json.dumps(t, ensure_ascii=False))
ascii_strings = st.text(st.characters(codec="ascii", exclude_characters='"\\'), max_size=6).map(
    json.dumps
)
booleans = st.sampled_from(["true", "false"])
others = st.sampled_from(
    ['{"b": 1}', "[1, 2.50]", "[]", "{}", '"x"', "7", "7.5", "true", '"\\u0041"', "1e3", "-0"]
)
KINDS: dict[str, st.SearchStrategy[str]] = {
    "int": ints,
    "decimal": decimals,
    "number": st.one_of(ints, decimals),
    "string": st.one_of(ascii_strings, ascii_strings, strings),
    "boolean": booleans,
}
names = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
    st.sampled_from(["a b", "Ação", "x:y", 'q"t', "a,b", "日付", "A", "k", "1"]),
)
blanks = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def typed_files(draw: st.DrawFn) -> bytes:
    """NDJSON of 1 to 12 records; each key of one kind, now and then a null, a missing key or
    (one file in a few) a value of another kind; blanks around the colons."""
    keys = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    kinds = [draw(st.sampled_from(list(KINDS))) for _ in keys]
    odd = draw(st.booleans()) and draw(st.booleans())
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        parts = []
        for key, kind in zip(keys, kinds, strict=True):
            choice = draw(st.integers(0, 19))
            if choice == 0:
                continue  # the key is missing
            if choice == 1:
                value = "null"
            elif choice == 2 and odd:
                value = draw(others)
            else:
                value = draw(KINDS[kind])
            colon = draw(blanks) + ":" + draw(blanks)
            parts.append(json.dumps(key, ensure_ascii=False) + colon + value)
        rows.append("{" + ", ".join(parts) + "}")
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("json-typed"))


_tables = itertools.count()


def _normal(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float):
        return (value, math.copysign(1.0, value))  # -0.0 apart from 0.0
    return value


def outcome(settings: Settings, data: bytes) -> tuple[Any, ...]:
    """The file loaded into a fresh table: bronze's schema and rows (lineage columns left
    out), or the quarantine's kind and reason."""
    table = f"t{next(_tables)}"
    folder = raw_dir(settings, table)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "f.ndjson").write_bytes(data)
    Loader(settings).load_pending()
    errors = list((settings.quarantine_dir / table).glob("*.error.json"))
    if errors:
        error = json.loads(errors[0].read_text())
        reason = re.sub(r'in file "[^"]*"', "in file ...", error["reason"])  # (its path)
        return ("refused", error["kind"], reason)
    data_table = arrow_dataset(DeltaTable(str(table_path(settings, "bronze", table)))).to_table()
    kept = data_table.drop_columns([c for c in LINEAGE if c in data_table.column_names])
    rows = [tuple(_normal(v) for v in r.values()) for r in kept.to_pylist()]
    return ("loaded", [(f.name, str(f.type)) for f in kept.schema], rows)


class Readings:
    """Counts the files the typed reading took (and kept to the end)."""

    def __init__(self) -> None:
        self.typed = 0

    def wrap(self, typed: Callable[..., Any]) -> Callable[..., Any]:
        def reading(*args: Any, **kwargs: Any) -> Any:
            found = typed(*args, **kwargs)
            if found is not None:
                self.typed += 1
            return found

        return reading


@pytest.fixture(scope="module")
def both(root: Path) -> Iterator[Callable[[bytes], tuple[tuple[Any, ...], tuple[Any, ...]]]]:
    """Loads a file as the loader reads it and with the typed reading off."""
    typed = lakehouse(root / "typed")
    text = lakehouse(root / "text")

    def load(data: bytes) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(readers, "_json_typed", lambda *_a, **_k: None)
            slow = outcome(text, data)
        return outcome(typed, data), slow

    yield load


@settings(**(FAST | {"max_examples": 60}))
@given(data=typed_files())
def test_the_typed_reading_gives_what_the_json_text_reading_gives(
    both: Callable[[bytes], tuple[tuple[Any, ...], tuple[Any, ...]]], data: bytes
) -> None:
    fast, slow = both(data)
    assert fast == slow, data


@pytest.mark.parametrize(
    ("body", "typed"),
    [
        # one kind per key: read typed
        (b'{"a": 1, "b": "x", "c": 1.5, "d": true}\n{"a": 2, "b": "y", "c": 2, "d": null}\n', True),
        (b'{"t": "2024-01-01 00:00:00", "n": 0.00001}\n{"t": "x", "n": 3}\n', True),
        (b'{"a" :1}\n{"a":\t-2}\n{}\n', True),
        (b'{"a": 1}\n{"a": 1.5}\n', True),  # numbers: DOUBLE either way
        # another kind later, or a value the type cannot give as the rule does: JSON text
        (b'{"a": 1}\n{"a": "1"}\n', False),
        (b'{"a": "x"}\n{"a": 5}\n', False),
        (b'{"a": true}\n{"a": 1}\n', False),
        (b'{"a": 1.5}\n{"a": 1234567890123456}\n', False),
        (b'{"a": "x"}\n{"a": {"b": 1}}\n', False),
        (b'{"a": "x"}\n{"a": ["y"]}\n', False),
        (b'{"a": "x\\"y"}\n', False),
        (b'{"a": "x"}\n{"\\u0061": 5}\n', False),
        (b'{"a": 1, "a": 2}\n', False),
        (b'{"a": 1e3}\n', False),
        (b'{"a": "12:00:00"}\n', False),
        # whatever either reading makes of these, both make the same (None: either reading)
        (b'\xef\xbb\xbf{"a": 1}\n{"a": 2}\n', True),
        (b'{"a": 1}\r\n\r\n{"a": 2}\r\n', True),
        (b'{"a": "x\xff"}\n', None),
        (b'{"a": "x\x01y"}\n', None),
        (b'{"a": 1} x\n', None),
        (b'{"a": 1}\n[1]\n', None),
        (b'{"a": 1}\n{"A": 2}\n', None),
        (b'{"a": null}\n{"a": null}\n', None),
        (b'{"a": 1, "b": 2}\n{"b": 3}\n{"c": "late"}\n', None),
        (b'{"a": "\xc3\xa9", "\xc3\xa9": 1.25}\n', True),
    ],
)
def test_the_typed_reading_takes_files_of_one_kind_per_key(
    both: Callable[[bytes], tuple[tuple[Any, ...], tuple[Any, ...]]],
    monkeypatch: pytest.MonkeyPatch,
    body: bytes,
    typed: bool | None,
) -> None:
    counted = Readings()
    monkeypatch.setattr(readers, "_json_typed", counted.wrap(readers._json_typed))
    scans: list[int] = []
    scan = readers._scan_file

    def scanned(*args: Any, **kwargs: Any) -> int:
        scans.append(verdict := scan(*args, **kwargs))
        return verdict

    monkeypatch.setattr(readers, "_scan_file", scanned)
    fast, slow = both(body)
    assert fast == slow
    took = counted.typed > 0 and readers._AS_TEXT not in scans and readers._EXACT not in scans
    assert typed is None or took == typed, (counted.typed, scans)


def test_a_typed_column_the_table_holds_as_another_type_is_read_as_text(tmp_path: Path) -> None:
    """A second file's key of one kind meets the table's column of another type: the rule's
    answer (the JSON text reading), not the typed reading's."""
    settings = lakehouse(tmp_path)
    folder = raw_dir(settings, "t")
    folder.mkdir(parents=True)
    (folder / "1.ndjson").write_bytes(b'{"a": 1.5, "b": "x"}\n')
    Loader(settings).load_pending()
    (folder / "2.ndjson").write_bytes(b'{"a": 2, "b": "y"}\n{"a": 3, "b": "z"}\n')
    Loader(settings).load_pending()
    table = arrow_dataset(DeltaTable(str(table_path(settings, "bronze", "t")))).to_table()
    assert table.schema.field("a").type == pa.float64()
    assert sorted(table.column("a").to_pylist()) == [1.5, 2.0, 3.0]
