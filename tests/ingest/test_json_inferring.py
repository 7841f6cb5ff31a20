"""The type the API finds for a JSON key new to the table (``ingest.typecheck.JsonInferring``,
a part at a time, no value kept) is the one the loader gives it from the same values: its
``loader.fitting.Inference`` of JSON text, then ``loader.loading``'s struct of the objects
(``nested.infer_struct``). The API counts the later records' misfits of that type against the
rescued-text bound as the loader rescues them (tests/adversary/test_rescued_bound_new_key.py;
fixe s17: the API inferred no type for a JSON key)."""

from __future__ import annotations

import json

import msgspec
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.typecheck import JsonInferring
from ingest.validation import json_texts
from lakehouse import dialect, nested, parquet
from loader.fitting import OBJECT, ColumnPlan, Inference
from loader.loading import _struct_or_text
from loader.readers import _raw_text


def _loaders(parts: list[list[str | None]]) -> tuple[str, pa.DataType | None]:
    """The loader's type of a key holding these JSON texts (None: absent or null), its batches
    ``parts``: as its exact reading gives them (``readers._raw_text``), inferred, and a column
    of objects given its struct (``loading._struct_or_text``)."""
    texts = [
        [None if t is None else _raw_text(msgspec.Raw(t.encode())) for t in part] for part in parts
    ]
    inference = Inference(json=True)
    for part in texts:
        inference.add(pa.array(part, pa.string()))
    found = inference.result()
    batches = [pa.record_batch([pa.array(part, pa.string())], names=["k"]) for part in texts]
    plan = _struct_or_text(ColumnPlan("k", found, "inferred"), batches, ["k"], json=True)
    return plan.data_type, plan.stored if plan.data_type == OBJECT else None


def _apis(parts: list[list[str | None]]) -> tuple[str, pa.DataType | None]:
    inferring = JsonInferring()
    for part in parts:
        raws = [msgspec.Raw(b"" if t is None else t.encode()) for t in part]
        inferring.add(*json_texts(raws))
    return inferring.result()


def _obj(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in dict(pairs).items()) + "}"


numbers = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["-0", "0.10", "1.50", "9223372036854775808", "1e400", "-0.0", "1E2"]),
)
strings = st.one_of(
    st.text(max_size=4).map(json.dumps),
    st.sampled_from(['"true"', '"1"', '"2024-01-01"', '"1.5"', '""']),
)
scalars = st.one_of(st.sampled_from(["true", "false", "null"]), numbers, strings)
#: values of objects whose keys repeat across objects (a field's values typed together), a
#: name bronze could not keep ("", "A" beside "a") sometimes
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(st.sampled_from(["a", "b", "c", "A", ""]), inner), max_size=3).map(_obj),
    ),
    max_leaves=8,
)
booleans = st.sampled_from(["true", "false"])
integers = st.from_regex(r"-?[1-9][0-9]{0,20}|0", fullmatch=True)


def shaped_objects(depth: int) -> st.SearchStrategy[st.SearchStrategy[str]]:
    """Objects of one shape: each key's values of one kind or null (a struct's fields, nested
    ``depth`` more), "A" beside "a" sometimes (no struct: text)."""
    kinds: list[st.SearchStrategy[st.SearchStrategy[str]]] = [
        st.just(k) for k in (booleans, integers, numbers, strings, values)
    ]
    if depth:
        kinds.append(shaped_objects(depth - 1))
    field = st.one_of(*kinds).map(lambda k: st.one_of(k, st.just("null")))
    return st.dictionaries(
        st.sampled_from(["a", "b", "c", "A"]), field, min_size=1, max_size=3
    ).map(
        lambda shape: st.fixed_dictionaries({}, optional=shape).map(lambda d: _obj(list(d.items())))
    )


kinds = st.one_of(
    st.sampled_from([booleans, numbers, integers, strings, values, st.none()]),
    shaped_objects(2),
)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
@pytest.mark.slow
def test_the_apis_json_inference_is_the_loaders(data: st.DataObject) -> None:
    """Columns of one kind of value or two, in parts: one answer, a struct's fields too."""
    drawn = st.one_of(*data.draw(st.lists(kinds, min_size=1, max_size=2)))
    parts = data.draw(st.lists(st.lists(drawn, max_size=12), min_size=1, max_size=4))
    parts = [[None if t == "null" else t for t in part] for part in parts]
    assert _apis(parts) == _loaders(parts), parts


def _deep(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    "parts",
    [
        [["1", "2"], ['"x"']],
        [["1.5"], ["2"]],
        [["0.10"], ["-3.125"]],
        [["1." + "0" * 37], ["12"]],  # 37 decimals and 2 digits: past 38, not a decimal
        [["true"], [None, "false"]],
        [[None], [None]],
        [['{"a": 1}'], ['{"a": 1.5, "b": {"c": true}}']],
        [['{"a": 1}'], ['{"a": "x"}']],  # a field of two kinds: text
        [['{"a": {"b": 1}}'], ['{"a": {"b": 2.5}, "A": 1}']],  # "a" and "A": text
        [["{}"], ["{}"]],  # no field: text
        [['{"a": 1}'], ["[1]"]],  # an array: text
        [[_deep(dialect.MAX_TYPE_DEPTH)], [_deep(dialect.MAX_TYPE_DEPTH + 1)]],
        [['{"a": [1]}'], ['{"a": null, "b": null}']],
    ],
)
def test_edge_keys_are_inferred_alike(parts: list[list[str | None]]) -> None:
    assert _apis(parts) == _loaders(parts), parts


def test_a_struct_is_found_field_by_field() -> None:
    """Not only alike: the struct the rule gives (the loader's, ``nested.infer_struct``)."""
    rule, struct = _apis([['{"a": 1, "b": {"c": 0.5}}'], ['{"a": 2, "d": true}']])
    assert rule == parquet.OBJECT
    expected = nested.infer_struct(
        [{"a": nested.Number("1"), "b": {"c": nested.Number("0.5")}}, {"a": 2, "d": True}]
    )
    assert struct == expected
    assert struct == pa.struct(
        [("a", pa.int64()), ("b", pa.struct([("c", pa.float64())])), ("d", pa.bool_())]
    )
