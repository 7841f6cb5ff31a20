"""Properties of the JSON typing shortcuts in ``loader.fitting`` against the rule itself.

The loader types DuckDB's JSON text with shortcuts: a BIGINT column by one cast
(``_json_ints``), strings unquoted by a byte slice with one search for escapes
(``json_text``). Each must give the rule's answer (``lakehouse.dialect``) on what DuckDB prints
for any JSON value a file may hold, a file DuckDB may not keep being read exactly anyway
(``readers._needs_literals``).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse import dialect
from loader import readers
from loader.fitting import Inference, _json_ints, json_text

SETTINGS = {
    "max_examples": 60,
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.function_scoped_fixture],
}

numbers = st.one_of(
    st.integers(-(10**16), 10**16).map(str),
    st.integers(-(2**70), 2**70).map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
)
strings = st.text(st.characters(exclude_categories=("Cs",)), max_size=6).map(json.dumps)
others = st.sampled_from(["true", "false", "null", "{}", '{"a": 1}', "[1, 2.50]", '"\\u00e9"'])
values = st.one_of(numbers, numbers, strings, others)


def duckdb_json_text(tmp: Path, literals: list[str]) -> pa.Array:
    """The values as the loader gets them: one key of an NDJSON file, read by DuckDB."""
    path = tmp / "f.ndjson"
    path.write_text("".join(f'{{"v": {v}}}\n' for v in literals))
    sql = f"select v from read_json('{path}', records = true, columns = {{'v': 'JSON'}})"
    return duckdb.sql(sql).to_arrow_table().column(0).combine_chunks().cast(pa.string())


@settings(**SETTINGS)
@given(literals=st.lists(values, min_size=1, max_size=8))
def test_bigint_by_one_cast_is_the_rule(tmp_path: Path, literals: list[str]) -> None:
    text = duckdb_json_text(tmp_path, literals)
    if readers._needs_literals(tmp_path / "f.ndjson"):
        return  # read exactly: literal_numbers, the rule's own regular expressions
    present = [v for v in literals if v != "null"]
    rule = all(dialect.fits(v, "BIGINT") for v in present)  # a string is quoted: no fit
    assert (_json_ints(text.drop_null()) is not None) == rule, (literals, text.to_pylist())
    inference = Inference(json=True, literal_numbers=False)
    inference.add(text)
    exact = Inference(json=True)  # the regular expression on the same text
    exact.add(text)
    assert inference.result() == exact.result()
    ints = _json_ints(text)
    if ints is not None:
        assert ints.to_pylist() == [None if v == "null" else int(v) for v in literals]


@settings(**SETTINGS)
@given(
    items=st.lists(st.one_of(st.none(), strings, numbers, others), min_size=1, max_size=8),
    cut=st.integers(0, 3),
)
def test_json_text_is_each_value_as_written(items: list[str | None], cut: int) -> None:
    """Strings unquoted and unescaped, anything else as it is; on a slice of an array too."""
    array = pa.array([None, *items, '"x"'], pa.string()).slice(1 + min(cut, len(items) - 1))
    want = [
        None if t is None else (json.loads(t) if t.startswith('"') else t)
        for t in array.to_pylist()
    ]
    assert json_text(array).to_pylist() == want


def test_json_text_of_strings_only_with_and_without_escapes() -> None:
    plain = pa.array(['"a"', None, '"b c"', '""'])
    assert json_text(plain).to_pylist() == ["a", None, "b c", ""]
    escaped = pa.array(['"a\\"b"', '"x"', '"\\u00e9\\n"'])
    assert json_text(escaped).to_pylist() == ['a"b', "x", "é\n"]
    # an escape outside the slice does not matter, one inside does
    both = pa.array(['"\\\\"', '"y"', '"z"'])
    assert json_text(both.slice(1)).to_pylist() == ["y", "z"]
    assert json_text(both.slice(0, 1)).to_pylist() == ["\\"]
