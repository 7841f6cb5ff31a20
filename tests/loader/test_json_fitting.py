"""Properties of the JSON typing shortcuts in ``loader.fitting`` against the rule itself.

The loader types DuckDB's JSON text with shortcuts: a BIGINT column by one cast
(``_json_ints``), a DOUBLE column by a look at its bytes and one cast (``_json_doubles``),
strings unquoted by a byte slice with one search for escapes (``json_text``). Each must give
the rule's answer (``lakehouse.dialect``) on what DuckDB prints for any JSON value a file may
hold, a file DuckDB may not keep being read exactly anyway (``readers._needs_literals``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse import dialect
from lakehouse.dialect import MismatchPolicy
from loader import readers
from loader.exceptions import FileRejected, ReadAgain
from loader.fitting import (
    Inference,
    Mismatch,
    Typer,
    _every_match,
    _json_doubles,
    _json_ints,
    first_bytes,
    json_text,
    plan_columns,
    starts_with_byte,
    storage_type,
)

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


@settings(**SETTINGS)
@given(
    items=st.lists(
        st.one_of(st.none(), st.just(""), strings, numbers, others, st.text(max_size=4)),
        max_size=10,
    ),
    start=st.integers(0, 4),
    stop=st.integers(0, 4),
)
def test_first_bytes_answer_as_starts_with(items: list[str | None], start: int, stop: int) -> None:
    """The checks of a JSON text column read each value's first byte once (``first_bytes``):
    the same masks as ``pc.starts_with``, and the same values from ``json_text``, with nulls,
    empty values, non-ASCII text and slices (a null or empty value last: its start is the end
    of the bytes)."""
    whole = pa.array([*items, None, ""], pa.string())
    array = whole.slice(min(start, len(whole)), max(0, len(whole) - start - stop))
    lead = first_bytes(array)
    assert lead is not None
    for char in '"{[':
        want = pc.starts_with(array, char).to_pylist()
        assert starts_with_byte(array, ord(char), lead).to_pylist() == want, (char, items)
    if all(v is None or not v.startswith('"') or _loads(v) is not None for v in array.to_pylist()):
        assert json_text(array, lead).to_pylist() == json_text(array).to_pylist()


def _loads(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def test_first_bytes_of_values_without_bytes() -> None:
    empty = pa.array(["", None, ""], pa.string())
    assert first_bytes(empty).to_pylist() == [0, None, 0]  # type: ignore[union-attr]
    assert first_bytes(pa.array([], pa.string())).to_pylist() == []  # type: ignore[union-attr]
    assert first_bytes(pa.array([1], pa.int64())) is None


def test_first_bytes_of_null_values_holding_bytes() -> None:
    """A null value may hold bytes (Arrow leaves them to the writer): they are not its first
    byte, whether the other values are empty or not, in any slice."""
    values = pa.array(['"a"', "x{", "[1]", ""], pa.string())
    validity = pa.array([True, False, True, True]).buffers()[1]
    array = pa.Array.from_buffers(pa.string(), 4, [validity, *values.buffers()[1:]])
    assert first_bytes(array).to_pylist() == [ord('"'), None, ord("["), 0]  # type: ignore[union-attr]
    assert first_bytes(array.slice(0, 3)).to_pylist() == [ord('"'), None, ord("[")]  # type: ignore[union-attr]
    assert first_bytes(array.slice(1, 1)).to_pylist() == [None]  # type: ignore[union-attr]


plain_numbers = st.from_regex(r"-?(0|[1-9][0-9]{0,13})(\.[0-9]{1,6})?", fullmatch=True)
edges = st.sampled_from(
    ["-0.0", "0.0", "1.0", "100.0", "0.0000001", "1.50", "123456789012345", '"5"', '"1.5"', "[]"]
)


def literal_lists(edge_cases: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """Up to 8 JSON values of one key: plain numbers, ``edge_cases``, any value, nulls."""
    return st.lists(
        st.one_of(plain_numbers, plain_numbers, edge_cases, values, st.just("null")),
        min_size=1,
        max_size=8,
    )


def _rule_doubles(text: pa.Array) -> pa.Array | None:
    """The DOUBLE shortcut as it was: every value a canonical number (the rule's regular
    expression over the joined values) of at most 15 characters, then one cast."""
    longest = pc.max(pc.binary_length(text)).as_py() or 0
    if _every_match(text, dialect.NUMBER_TEXT) and longest <= 15:
        return pc.cast(text, pa.float64())
    return None


double_edges = st.sampled_from(
    ["-0.0", "-0.00", "-0", "0.0", "0", "-0.5", "0.0000001", "1e5", "1.5E-3", "1.50", "0.1",
     "123456789012345", "1234567890123.5", "12345678901234.5", "99999999999999999", '"1.5"',
     '"-0.0"', "true", "[1.5]", '{"a": 1.5}']
)  # fmt: skip


@settings(**{**SETTINGS, "max_examples": 150})
@given(
    literals=literal_lists(double_edges),
    cut=st.integers(0, 3),
)
def test_doubles_by_their_bytes_and_one_cast_are_the_rule(
    tmp_path: Path, literals: list[str], cut: int
) -> None:
    """On what DuckDB prints for any JSON value (a slice of the column too): a DOUBLE column
    is typed at once exactly when every value is a canonical number of at most 15 characters,
    as the rule's regular expression says, with the same values (``-0.0``, ``1e-7``, a quoted
    number, a long one: the whole path); so is the inferred type."""
    text = duckdb_json_text(tmp_path, literals)
    if readers._needs_literals(tmp_path / "f.ndjson"):
        return  # read exactly: literal_numbers, the rule's own regular expressions
    text = text.slice(min(cut, len(text) - 1))
    fast, rule = _json_doubles(text), _rule_doubles(text)
    assert (fast is None) == (rule is None), (literals, text.to_pylist())
    if fast is not None and rule is not None:
        assert fast.equals(rule)
        assert fast.type == pa.float64()
    inference = Inference(json=True, literal_numbers=False)
    inference.add(text)
    exact = Inference(json=True)
    exact.add(text)
    assert inference.result() == exact.result()


@settings(**{**SETTINGS, "max_examples": 200})
@given(
    items=st.lists(
        st.one_of(
            st.none(),
            plain_numbers,
            double_edges,
            st.from_regex(r"[-+./0-9eE]{0,16}", fullmatch=True),
            st.text(max_size=4),
        ),
        max_size=8,
    ),
    cut=st.integers(0, 3),
)
def test_canonical_numbers_pass_the_double_shortcut_whatever_printed_them(
    items: list[str | None], cut: int
) -> None:
    """Any text (not only what DuckDB prints): where the rule's check takes every value, so
    does the shortcut, with the same values; where it takes a value the rule does not, the
    text holds what no JSON value printed by DuckDB holds (``01``, ``+1``, ``.5``, ``1.``)."""
    whole = pa.array([None, *items], pa.string())
    text = whole.slice(min(cut, len(whole) - 1))
    fast, rule = _json_doubles(text), _rule_doubles(text)
    if rule is not None:
        assert fast is not None and fast.equals(rule), text.to_pylist()
    elif fast is not None:
        odd = [v for v in text.to_pylist() if v is not None and not _printed_number(v)]
        assert odd, text.to_pylist()


def _printed_number(text: str) -> bool:
    """Whether ``text`` is a JSON number as DuckDB prints one without an exponent, not a
    negative zero."""
    return re.fullmatch(dialect.NUMBER_TEXT, text) is not None


def test_double_shortcut_cases() -> None:
    assert _json_doubles(pa.array(["0.0", None, "-1.25", "7"])).to_pylist() == [  # type: ignore[union-attr]
        0.0,
        None,
        -1.25,
        7.0,
    ]
    for refused in (["-0.0"], ["1", "-0.0"], ["1e-7"], ['"1.5"'], ["1234567890123.45"], ["true"]):
        assert _json_doubles(pa.array(refused)) is None, refused
    assert _json_doubles(pa.array([], pa.string())).to_pylist() == []  # type: ignore[union-attr]
    assert _json_doubles(pa.array([None, None], pa.string())).to_pylist() == [None, None]  # type: ignore[union-attr]
    # the bytes looked at are the slice's own: a quote outside it does not matter
    assert _json_doubles(pa.array(['"x"', "1.5"]).slice(1)).to_pylist() == [1.5]  # type: ignore[union-attr]


def _outcome(typer: Typer, batch: pa.RecordBatch, window: bool) -> tuple[object, ...]:
    """What typing one batch gives: the typed batch and the rescued count, or the refusal."""
    try:
        out = typer.apply(batch, inferred_from=window)
    except (ReadAgain, Mismatch, FileRejected) as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "row", None))
    return ("typed", out.schema, out.to_pydict(), typer.rescued)


@settings(**{**SETTINGS, "max_examples": 150})
@given(
    literals=literal_lists(edges),
    data_type=st.sampled_from(["BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN", "DECIMAL(38,2)"]),
    origin=st.sampled_from(["declared", "existing", "inferred"]),
    window=st.booleans(),
    policy=st.sampled_from(["rescue", "quarantine"]),
    cut=st.integers(0, 2),
)
@pytest.mark.slow
def test_shortcuts_type_as_the_whole_path(
    tmp_path: Path,
    literals: list[str],
    data_type: str,
    origin: str,
    window: bool,
    policy: MismatchPolicy,
    cut: int,
) -> None:
    """The typer's whole-column shortcuts (a BIGINT or DOUBLE column whose every value fits,
    a column of strings only) give the whole path's answer on what DuckDB prints for any JSON
    value: the same typed values, rescues and refusals (``Typer.shortcuts`` off: every check
    value by value, as before the shortcuts)."""
    text = duckdb_json_text(tmp_path, literals)
    if readers._needs_literals(tmp_path / "f.ndjson"):
        return  # read exactly: literal_numbers, no shortcut
    batch = pa.record_batch([text], names=["v"]).slice(min(cut, len(text) - 1))
    if window:  # the batch the inferred type was found by
        inference = Inference(json=True, literal_numbers=False)
        inference.add(batch.column(0))
        data_type, origin = inference.result(), "inferred"
        if data_type == "OBJECT":
            return  # a struct: typed value by value (nested), no shortcut
    stored = storage_type(data_type)
    plans = plan_columns(
        ["v"],
        declared={"v": data_type} if origin == "declared" else {},
        existing={"v": stored} if origin == "existing" else {},
        infer=True,
        inferred=lambda _: data_type,
    )
    answers = []
    for shortcuts in (True, False):
        typer = Typer(plans, policy, json_text=True, literal_numbers=False)
        typer.shortcuts = shortcuts
        answers.append(_outcome(typer, batch, window))
    assert answers[0] == answers[1], (literals, data_type, origin, window)


@pytest.mark.slow
def test_shortcuts_type_json_test_suite_values_as_the_whole_path(
    tmp_path: Path, shared_dir: Path
) -> None:
    """nst/JSONTestSuite's ``y_``/``i_`` values (in ``../shared/data/badinput``; skipped when
    absent), each beside plain numbers and a string in one column: typed with the shortcuts on
    and off, every plan and policy, the same answer."""
    folder = shared_dir / "data" / "badinput" / "JSONTestSuite" / "test_parsing"
    if not folder.is_dir():
        pytest.skip("JSONTestSuite is absent")
    compared = 0
    for path in sorted(folder.glob("[yi]_*.json")):
        try:
            json.loads(path.read_bytes())
            value = path.read_text(encoding="utf-8").strip().replace("\r", " ").replace("\n", " ")
        except ValueError:
            continue  # not one JSON value in UTF-8: no record to wrap it in
        for literals in ([value], ["1", value, "2"], ["1.5", value], ['"x"', value]):
            try:
                text = duckdb_json_text(tmp_path, literals)
            except duckdb.Error:
                continue  # DuckDB refuses the file: no column to type
            if readers._needs_literals(tmp_path / "f.ndjson"):
                continue
            batch = pa.record_batch([text], names=["v"])
            for data_type in ("BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN"):
                for origin in ("declared", "existing"):
                    plans = plan_columns(
                        ["v"],
                        declared={"v": data_type} if origin == "declared" else {},
                        existing={"v": storage_type(data_type)} if origin == "existing" else {},
                        infer=True,
                        inferred=lambda _: "VARCHAR",
                    )
                    for policy in ("rescue", "quarantine"):
                        answers = []
                        for shortcuts in (True, False):
                            typer = Typer(plans, policy, json_text=True, literal_numbers=False)
                            typer.shortcuts = shortcuts
                            answers.append(_outcome(typer, batch, False))
                        assert answers[0] == answers[1], (path.name, literals, data_type, origin)
                        compared += 1
    assert compared > 500
