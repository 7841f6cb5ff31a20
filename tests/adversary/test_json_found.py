"""JSON inputs the adversary found mishandled (from nst/JSONTestSuite's y_/i_ cases wrapped as
values, and simdjson's examples), through the real API (``/files`` and ``/records``) and the
real loader in one pass.

- Records that are all empty objects (JSONTestSuite ``y_object_empty``,
  ``i_structure_UTF-8_BOM_empty_object``): the API answered 202, the loader quarantined the
  file (``empty``: no keys, no column to store). Now the API refuses them too (422).
- A JSON file the loader's parser refused was called "not valid UTF-8" when its name held
  ``utf8`` (the parser's message quotes the path), and one holding bytes that are not UTF-8 was
  called unparseable where the API named the byte; now the first byte that is not UTF-8 is
  the reason, or the parser's own when every byte is UTF-8.
- An object value repeating a key (``y_object_duplicated_key`` as a value): the API refused it
  (422), the loader stored a struct holding the last value only, the first dropped without a
  word. Now the loader refuses the file (``unparseable``), as ``docs/loading.md`` says. The
  same object kept as text (in a key of several kinds, an array, or rescued from a typed
  column) was stored with both keys: now refused too.
- A byte that is not UTF-8 in a JSON file with a byte-order mark was named 3 bytes short of
  where it is (counted in the reader's copy without the mark); now at its offset in the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from adversary_support import (
    Outcome,
    Table,
    _bronze,
    _drop,
    _error,
    expected,
    lakehouse,
    mismatches,
    run,
)
from fastapi.testclient import TestClient

from ingest import create_app
from lakehouse import Settings, dialect
from loader import Loader

#: name → (bytes, ("load", rows) or ("refuse", quarantine kind))
CASES: dict[str, tuple[bytes, tuple[str, int | str]]] = {
    "empty_objects.ndjson": (b"{}\n{}\n", ("refuse", "empty")),
    "empty_object_array.json": (b"[{}]", ("refuse", "empty")),
    "bom_empty_object.json": (dialect.BOM_UTF8 + b"{}", ("refuse", "empty")),
    "empty_then_keys.ndjson": (b'{}\n{"a":1}\n', ("load", 2)),
    "nested_repeated_key.ndjson": (b'{"v": {"a":"b","a":"c"}}\n', ("refuse", "unparseable")),
    "nested_repeated_key_same_value.json": (
        b'[{"v": {"a":"b","a":"b"}}]',
        ("refuse", "unparseable"),
    ),
    "deeper_repeated_key.ndjson": (
        b'{"v": {"w": {"x": 1}}}\n{"v": {"w": {"x": 1, "x": 2}}}\n',
        ("refuse", "unparseable"),
    ),
    "nested_keys_differ.ndjson": (b'{"v": {"a":"b","A":"c"}}\n', ("load", 1)),
    # an object kept as text (a key of several kinds, an array): it was stored, both keys
    "text_column_repeated_key.ndjson": (
        b'{"v": 1}\n{"v": {"a":"b","a":"c"}}\n',
        ("refuse", "unparseable"),
    ),
    "array_repeated_key.ndjson": (b'{"c": [{"a":1,"a":2}]}\n', ("refuse", "unparseable")),
    "array_repeated_key_exact.ndjson": (  # 1.50: read exactly (msgspec, not DuckDB)
        b'{"c": [1.50, {"a":1,"a":2}]}\n',
        ("refuse", "unparseable"),
    ),
    "deep_array_repeated_key.json": (
        b'[{"c": "x"}, {"c": [[{"k": [{"a":1,"a":2}]}]]}]',
        ("refuse", "unparseable"),
    ),
    # strings that read like such objects, and objects whose keys differ: loaded as text
    "string_like_repeated_key.ndjson": (
        b'{"v": 1}\n{"v": "{\\"a\\":1,\\"a\\":2}"}\n{"c": ["{\\"a\\":1,\\"a\\":2}"]}\n',
        ("load", 3),
    ),
    "text_column_keys_differ.ndjson": (
        b'{"v": 1}\n{"v": {"a":"b","A":"c"}}\n{"c": [{"a":1},{"a":2}]}\n',
        ("load", 3),
    ),
    # a file whose name says utf8 and whose JSON is malformed was refused as "not valid UTF-8"
    "export_utf8.ndjson": (b'{"a": 1,}\n', ("refuse", "unparseable")),
    "bom_inside_a_value_UTF-8.ndjson": (b'{"v": \xef\xbb\xbf{}}\n', ("refuse", "unparseable")),
    # not UTF-8 (JSONTestSuite i_string_UTF-16LE_with_BOM, also as a value): the API said so,
    # the loader called it unparseable
    "utf16le_bom.json": (b'\xff\xfe[\x00"\x00\xe9\x00"\x00]\x00', ("refuse", "encoding")),
    "utf16le_bom_value.ndjson": (
        b'{"v": \xff\xfe[\x00"\x00\xe9\x00"\x00]\x00}\n',
        ("refuse", "encoding"),
    ),
}
NAMES = list(CASES)


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> tuple[dict[str, Outcome], dict[str, Outcome]]:
    files = [(f"f{i}", name, CASES[name][0]) for i, name in enumerate(NAMES)]
    records: dict[str, Outcome] = {}
    with TestClient(create_app(module_lakehouse)) as client:
        for i, name in enumerate(NAMES):
            data = CASES[name][0]
            kind = "x-ndjson" if name.endswith(".ndjson") else "json"
            r = client.post(
                f"/v1/tables/r{i}/records",
                content=data,
                headers={"content-type": f"application/{kind}"},
            )
            records[name] = Outcome(name, data, f"r{i}", r.status_code, r.json().get("detail"))
        by_table = run(module_lakehouse, files, client)  # loads /records' landings too
    for outcome in records.values():
        outcome.refused = _error(module_lakehouse, outcome.table)
        if outcome.refused is None:
            outcome.loaded_rows = _bronze(module_lakehouse, outcome.table)
    return {name: by_table[f"f{i}"] for i, name in enumerate(NAMES)}, records


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("route", ["files", "records"])
def test_the_api_and_the_loader_agree_by_the_rule(
    outcomes: tuple[dict[str, Outcome], dict[str, Outcome]], route: str, name: str
) -> None:
    outcome = outcomes[0 if route == "files" else 1][name]
    verdict, detail = CASES[name][1]
    if verdict == "refuse":
        assert 400 <= outcome.api_status < 500, (outcome.api_status, outcome.api_detail)
        assert outcome.api_detail
        if route == "files":  # a refused body lands nothing; a refused file is dropped as is
            assert outcome.refused is not None, "loaded, but the rule refuses it"
            assert outcome.refused["kind"] == detail, outcome.refused
        return
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert outcome.loaded_rows is not None
    want = expected(name, CASES[name][0])
    assert isinstance(want, Table)
    assert len(want.rows) == detail
    assert mismatches(outcome.loaded_rows, want, js=True) == []


@pytest.mark.parametrize("chunk_rows", [1_000, 1])
def test_a_repeated_key_in_an_object_of_a_struct_column_refuses_the_file(
    tmp_path: Path, module_lakehouse: Settings, chunk_rows: int
) -> None:
    """The table has the struct ``v`` already; the object comes in the records the types are
    found from, or (``chunk_rows=1``) after them, typed into the struct one by one."""
    settings = lakehouse(tmp_path, chunk_rows=chunk_rows)
    _drop(settings, "later", "first.ndjson", b'{"v": {"a": "b"}}\n')
    Loader(settings).load_pending()
    second = b'{"v": {"a": "b"}}\n{"v": {"a": "c"}}\n{"v": {"a": "b", "a": "c"}}\n'
    _drop(settings, "later", "second.ndjson", second)
    summary = Loader(settings).load_pending()
    [refused] = summary.quarantined
    assert (refused.file, refused.kind) == ("second.ndjson", "unparseable")
    assert "line 3, column 'v': an object repeats the key 'a'" in refused.reason
    assert [r["v"] for r in _bronze(settings, "later") or []] == [{"a": "b"}]


@pytest.mark.parametrize("chunk_rows", [1_000, 1])
def test_a_repeated_key_in_an_object_rescued_from_a_typed_column_refuses_the_file(
    tmp_path: Path, module_lakehouse: Settings, chunk_rows: int
) -> None:
    """The table holds ``v BIGINT``; an object (or an array holding one) does not fit it and
    would be rescued as its text, both keys kept: the file is refused as the API refuses it."""
    settings = lakehouse(tmp_path, chunk_rows=chunk_rows)
    _drop(settings, "typed", "first.ndjson", b'{"v": 1}\n')
    Loader(settings).load_pending()
    second = b'{"v": 2}\n{"v": {"a": 1}}\n{"v": [{"a": 1, "a": 2}]}\n'
    _drop(settings, "typed", "second.ndjson", second)
    summary = Loader(settings).load_pending()
    [refused] = summary.quarantined
    assert (refused.file, refused.kind) == ("second.ndjson", "unparseable")
    assert "line 3, column 'v': an object repeats the key 'a'" in refused.reason
    assert [r["v"] for r in _bronze(settings, "typed") or []] == [1]


@pytest.mark.parametrize("name", ["f.ndjson", "f.json.gz", "f.csv"])
def test_a_byte_that_is_not_utf8_after_a_bom_is_named_where_it_is_in_the_file(
    tmp_path: Path, module_lakehouse: Settings, name: str
) -> None:
    """The JSON reader reads a file with a UTF-8 byte-order mark through a copy without it:
    the byte was named at its offset in that copy, 3 bytes short of where it is in the file as
    sent (a .gz file: as inflated), where the CSV reader names it."""
    import gzip

    if name.endswith(".csv"):
        data = dialect.BOM_UTF8 + b"a\n" + b"x\n" * 5000 + b"caf\xe9\n"
    else:
        data = dialect.BOM_UTF8 + b'{"a":"x"}\n' * 5000 + b'{"a":"caf\xe9"}\n'
    at = data.index(b"\xe9")
    sent = gzip.compress(data) if name.endswith(".gz") else data
    out = run(lakehouse(tmp_path), [("t", name, sent)], rows=False)["t"]
    assert 400 <= out.api_status < 500, out.api_detail
    assert out.refused is not None, out.loaded_rows
    assert out.refused["kind"] == "encoding", out.refused
    json = not name.endswith((".csv", ".csv.gz"))
    assert out.refused["reason"] == dialect.not_utf8_reason(at, json=json), out.refused["reason"]
