"""How deep a record may nest, and how deep a bronze column's type: one rule for the API (a real
server on loopback) and the loader (``docs/loading.md``, "How deep").

- A JSON record nested deeper than ``dialect.MAX_JSON_DEPTH`` levels (512, the record itself
  level 1) is refused by both, saying how deep it is, whatever it holds. Before, the API
  refused it as "nested too deeply" near Python's recursion limit (~1,000, less the stack in
  use) while the loader kept a value holding a repeated key that deep as text.
- A column type nested deeper than ``dialect.MAX_TYPE_DEPTH`` (20) is kept as JSON text: an
  NDJSON object that deep (before: 202, then ``type_conflict`` from Delta past 41 levels, and a
  crash of the loader, ``RecursionError``, past ~300), a Parquet struct, list or map that deep
  (before: 202 then ``type_conflict``, or a bronze table no reader could open again).
"""

from __future__ import annotations

import io
import json

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, post_file

from ingest import validation
from lakehouse import Settings, dialect, parquet
from loader import Loader


def _array(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


def _object(depth: int, inner: bytes = b"1") -> bytes:
    return b'{"a":' * depth + inner + b"}" * depth


_REPEATS = b'{"k":1,"k":2}'
_DEEPEST = dialect.MAX_JSON_DEPTH

#: name → (file, bytes, how deep its record nests when refused; None: loaded)
JSON_CASES: dict[str, tuple[str, bytes, int | None]] = {
    "deepest_ndjson": ("a.ndjson", b'{"c": ' + _array(_DEEPEST - 1) + b"}\n", None),
    "too_deep_ndjson": ("a.ndjson", b'{"c": ' + _array(_DEEPEST) + b"}\n", _DEEPEST + 1),
    "deepest_json_array": ("a.json", b'[{"c": ' + _array(_DEEPEST - 1) + b"}]", None),
    "too_deep_json_array": ("a.json", b'[{"c": ' + _array(_DEEPEST) + b"}]", _DEEPEST + 1),
    # a repeated key deeper than Python's parser goes: the loader kept it as text
    "repeated_key_1100_deep": (
        "a.ndjson",
        b'{"n": 1}\n{"c": ' + _array(1100, _REPEATS) + b"}\n",
        1102,
    ),
    "repeated_key_600_deep_json": ("a.json", b'[{"c": ' + _array(600, _REPEATS) + b"}]", 602),
    "too_deep_objects": ("a.ndjson", b'{"c": ' + _object(_DEEPEST, b"[]") + b"}\n", 514),
    "too_deep_second_record": (
        "a.ndjson",
        b'{"c": 1}\n{"c": 2}\n{"c": ' + _array(5000) + b"}\n",
        5001,
    ),
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_a_record_too_deep_is_refused_by_both_alike(
    one_lakehouse: Settings, api: httpx.Client, case: str
) -> None:
    name, data, depth = JSON_CASES[case]
    r = post_file(api, "t", name, data)
    if depth is None:
        assert r.status_code == 202, r.text
    else:
        assert r.status_code == 400, r.text
        assert f"nested {depth} levels deep; JSON records may nest at most 512" in r.text
    raw = one_lakehouse.raw_dir / "t"
    if depth is not None:  # what the API refused goes straight to the landing zone
        raw.mkdir(parents=True, exist_ok=True)
        (raw / name).write_bytes(data)
    summary = Loader(one_lakehouse).load_pending()
    if depth is None:
        assert summary.quarantined == []
        stored = bronze_table(one_lakehouse, "t").column("c").to_pylist()
        assert stored == [_array(_DEEPEST - 1).decode()]
        return
    assert [q.kind for q in summary.quarantined] == ["unparseable"]
    reason = summary.quarantined[0].reason
    assert f"column 'c': nested {depth} levels deep; JSON records may nest at most 512" in reason


def _type_depth(settings: Settings, table: str) -> int:
    return parquet.type_depth(bronze_table(settings, table).schema.field("c").type)


def test_objects_deeper_than_a_column_type_holds_keep_their_text(
    one_lakehouse: Settings, api: httpx.Client
) -> None:
    """400 objects deep: a struct of 20 levels, the 21st object's JSON text in it."""
    data = b'{"c": ' + _object(400) + b"}\n" + b'{"c": ' + _object(45) + b"}\n"
    assert post_file(api, "t", "a.ndjson", data).status_code == 202
    assert Loader(one_lakehouse).load_pending().quarantined == []
    assert _type_depth(one_lakehouse, "t") == dialect.MAX_TYPE_DEPTH
    values = bronze_table(one_lakehouse, "t").column("c").to_pylist()
    for value, depth in zip(values, (400, 45), strict=True):
        for _ in range(dialect.MAX_TYPE_DEPTH - 1):
            value = value["a"]
        assert json.loads(value["a"]) == json.loads(_object(depth - dialect.MAX_TYPE_DEPTH))
        assert value["a"] == _object(depth - dialect.MAX_TYPE_DEPTH).decode()


def _nested_parquet(depth: int, kind: str) -> tuple[bytes, object]:
    t: pa.DataType = pa.int64()
    value: object = 1
    for _ in range(depth):
        if kind == "struct":
            t, value = pa.struct([("a", t)]), {"a": value}
        elif kind == "list":
            t, value = pa.list_(t), [value]
        else:
            t, value = pa.map_(pa.string(), t), [("k", value)]
    out = io.BytesIO()
    pq.write_table(pa.table({"c": pa.array([value], t)}), out)
    return out.getvalue(), value


@pytest.mark.parametrize(
    ("kind", "depth", "kept"),
    [
        ("struct", 20, True),
        ("struct", 21, False),
        ("struct", 45, False),  # Delta refused the schema: 202, then type_conflict
        ("list", 21, False),
        ("map", 10, True),  # a map is two levels: its entries' struct
        ("map", 11, False),
        ("map", 30, False),  # written, then no reader could open the table
    ],
)
def test_a_parquet_type_deeper_than_a_column_holds_is_kept_as_json_text(
    one_lakehouse: Settings, api: httpx.Client, kind: str, depth: int, kept: bool
) -> None:
    data, value = _nested_parquet(depth, kind)
    assert post_file(api, "t", "a.parquet", data).status_code == 202
    assert Loader(one_lakehouse).load_pending().quarantined == []
    stored = bronze_table(one_lakehouse, "t").column("c")
    if kept:
        assert _type_depth(one_lakehouse, "t") == depth * (2 if kind == "map" else 1)
        return
    assert stored.type == pa.string()
    source = pq.read_table(io.BytesIO(data)).column("c").combine_chunks()
    assert stored.to_pylist() == parquet.json_texts(source).to_pylist()
    text = stored[0].as_py()
    if kind == "struct":
        assert text == _object(depth).decode()
    elif kind == "list":
        assert text == _array(depth).decode()
    else:
        assert text.startswith('[{"key":"k","value":[{"key":"k","value":')
    assert value is not None


def test_json_depth_is_counted_outside_strings() -> None:
    assert dialect.json_depth(b"1") == 0
    assert dialect.json_depth(b'{"a": "[[[[{{"}') == 1
    assert dialect.json_depth(b'[{"a\\"[": [[]]}, []]') == 4
    assert dialect.json_depth(_array(10_000)) == 10_000
    assert dialect.too_deep(_array(_DEEPEST)) is None
    assert dialect.too_deep(_array(_DEEPEST + 1)) is not None


@pytest.mark.parametrize(
    "deep",
    [b'{"d": ' + _array(_DEEPEST) + b"}", b'{"d": ' + b"[" * _DEEPEST, b"[" * (_DEEPEST + 1)],
)
def test_a_body_of_many_shallow_records_finds_its_one_too_deep(deep: bytes) -> None:
    """The API looks at a line's nesting only when the line is longer than the limit (a line
    nested deeper holds more brackets than that): among 3,000 shallow records, more brackets
    than the limit in all, the one too deep is still named, at its line (blank lines counted,
    as every NDJSON refusal names the file's line)."""
    shallow = [b'{"a": [1, {"b": 2}], "c": "x"}'] * 3000
    fine = b"\n".join(shallow) + b"\n"
    assert validation.parse_records(fine, ndjson=True, max_records=10_000).count == 3000
    body = b"\n".join([*shallow[:1700], b"", deep, *shallow[1700:]]) + b"\n"
    with pytest.raises(validation.BodyError) as refused:
        validation.parse_records(body, ndjson=True, max_records=10_000)
    assert refused.value.row == 1701  # 0-based: line 1702, after a blank line
    if deep.endswith(b"}"):
        assert f"nested {_DEEPEST + 1} levels deep" in str(refused.value)
    else:  # cut short: parsed first, as the loader parses (before-stop read B-03, session 17)
        assert str(refused.value) == "Input data was truncated"


def test_a_deep_record_that_is_no_object_is_refused_as_that() -> None:
    """A whole record nested too deep that is no object (an array): refused as no object
    first, as the loader refuses it ("line N: a record must be a JSON object"), its row the
    record's (blank lines not counted). *Before:* (until session 17) the API said it nested
    too deep, the loader that it is no object."""
    shallow = [b'{"a": [1, {"b": 2}], "c": "x"}'] * 3000
    body = b"\n".join([*shallow[:1700], b"", _array(_DEEPEST + 1), *shallow[1700:]]) + b"\n"
    with pytest.raises(validation.RecordsError) as refused:
        validation.parse_records(body, ndjson=True, max_records=10_000)
    assert [(e["row"], e["msg"]) for e in refused.value.errors] == [(1700, dialect.NOT_OBJECT)]


_DEEP_SECOND = (b'{"a": 1}', b'{"s": "[x", "deep": ' + _array(_DEEPEST) + b', "z": [1]}')
_SAID = f"column 'deep': nested {_DEEPEST + 1} levels deep; JSON records may nest at most 512"


@pytest.mark.parametrize(
    ("route", "name", "data", "where"),
    [
        ("records", "application/json", b"[" + b", ".join(_DEEP_SECOND) + b"]", "record 2"),
        ("records", "application/x-ndjson", b"\n".join(_DEEP_SECOND) + b"\n", "line 2"),
        ("files", "a.json", b"[" + b",\n".join(_DEEP_SECOND) + b"]", "record 2"),
        ("files", "a.ndjson", b"\n".join(_DEEP_SECOND) + b"\n", "line 2"),
        ("files", "b.json", b"\n".join(_DEEP_SECOND) + b"\n", "record 2"),  # objects in a row
    ],
)
def test_the_api_names_the_record_and_column_too_deep(
    one_lakehouse: Settings, api: httpx.Client, route: str, name: str, data: bytes, where: str
) -> None:
    """The API named no record nor column of a too-deep ``.json`` array (body or file), only
    how deep; the loader names both (``record 2, column 'deep'``: its records count from 1).
    Now the API names the record or the NDJSON line (from 1, as the loader: session 12), and
    the record's top-level key, in the loader's words after it."""
    if route == "records":
        r = api.post("/v1/tables/t/records", content=data, headers={"content-type": name})
    else:
        r = post_file(api, "t", name, data)
    assert r.status_code == 400, r.text
    # the loader's words, whole (until session 17 "malformed JSON (record 2): column ...")
    assert r.json()["detail"] == f"{where}, {_SAID} levels", r.text
    raw = one_lakehouse.raw_dir / "t"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / ("a.ndjson" if "ndjson" in name else "a.json")).write_bytes(data)
    summary = Loader(one_lakehouse).load_pending()
    assert [q.kind for q in summary.quarantined] == ["unparseable"]
    assert summary.quarantined[0].reason == f"{where}, {_SAID} levels"


def test_too_deep_at_names_the_record_and_its_key_outside_strings() -> None:
    deep = _array(_DEEPEST)
    found = dialect.too_deep_at(b'[{"a": "x]", "k\\"": {"b": ' + deep + b"}}, {}]", array=True)
    assert found == dialect.TooDeep(0, 'k"', _DEEPEST + 2)
    found = dialect.too_deep_at(b'[1, "[", ["s", ' + deep + b"]]", array=True)
    assert found == dialect.TooDeep(2, None, _DEEPEST + 1)  # a record that is no object
    found = dialect.too_deep_at(b'[{"v": [[1]]}, {"v": ' + b"[" * 1500 + b"}]", array=True)
    assert found == dialect.TooDeep(1, "v", 1501, closed=False)  # never closed: as deep as it went
    assert dialect.too_deep_at(b'[{"a": ' + _array(_DEEPEST - 1) + b"}]", array=True) is None
