"""Nested Parquet values (lists, structs, maps) meeting a column bronze already holds otherwise:
the API (a real server on loopback) answers 202 and the loader loads every row, nothing lost.

A nested value has one text, its compact JSON text (``docs/loading.md``, Parquet; the form a
nested NDJSON value kept as text has): a text column stores it, a struct column takes its fields
by the rule, and what fits no column is rescued with it. A struct grows the fields a later file
adds, as an NDJSON object's does. Before, each case was 202 from the API and then
``type_conflict`` in the loader, even under ``rescue`` ("no text form to rescue").
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import bronze_table, post_file

from lakehouse import Settings, parquet
from loader import Loader

_INT = pa.int64()


def _parquet(**columns: pa.Array) -> bytes:
    out = io.BytesIO()
    pq.write_table(
        pa.table({"n": pa.array(range(len(next(iter(columns.values())))))} | columns), out
    )
    return out.getvalue()


def _numbered(first: int, data: bytes) -> bytes:
    """A Parquet file of :func:`_parquet` with its ``n`` counted from ``first``."""
    table = pq.read_table(io.BytesIO(data))
    n = pa.array([first + i for i in range(table.num_rows)], _INT)
    out = io.BytesIO()
    pq.write_table(table.set_column(0, "n", n), out)
    return out.getvalue()


_AB = pa.struct([("a", pa.float64()), ("b", pa.string()), ("l", pa.list_(pa.string()))])
_LISTED = pa.struct([("a", pa.list_(_INT)), ("b", pa.string())])

#: case → its files in order (name, bytes; ``n`` numbers the rows across the files), and per
#: row (by ``n``) the value bronze holds in ``c`` and the text rescued from it (or None)
CASES: dict[str, tuple[list[tuple[str, bytes]], list[tuple[Any, str | None]]]] = {
    "list_into_text": (
        [
            ("a.csv", b"n,c\n0,x\n"),
            ("b.parquet", _parquet(c=pa.array([[1, 2], None, []], pa.list_(_INT)))),
        ],
        [("x", None), ("[1,2]", None), (None, None), ("[]", None)],
    ),
    "struct_into_text": (
        [
            ("a.csv", b"n,c\n0,x\n"),
            ("b.parquet", _parquet(c=pa.array([{"a": 1.5, "b": 'x"é', "l": ["y", None]}], _AB))),
        ],
        [("x", None), ('{"a":1.5,"b":"x\\"é","l":["y",null]}', None)],
    ),
    "map_into_text": (
        [
            ("a.csv", b"n,c\n0,x\n"),
            (
                "b.parquet",
                _parquet(c=pa.array([[("k", 1), ("j", None)]], pa.map_(pa.string(), _INT))),
            ),
        ],
        [("x", None), ('[{"key":"k","value":1},{"key":"j","value":null}]', None)],
    ),
    "struct_fields_by_case": (
        [
            ("a.parquet", _parquet(c=pa.array([{"a": 1}], pa.struct([("a", _INT)])))),
            ("b.parquet", _parquet(c=pa.array([{"A": 2}], pa.struct([("A", _INT)])))),
        ],
        [({"a": 1}, None), (None, '{"A":2}')],
    ),
    "struct_grows": (
        [
            ("a.parquet", _parquet(c=pa.array([{"a": 1}], pa.struct([("a", _INT)])))),
            (
                "b.parquet",
                _parquet(
                    c=pa.array(
                        [{"a": 2, "b": "y"}], pa.struct([("a", pa.int32()), ("b", pa.string())])
                    )
                ),
            ),
        ],
        [({"a": 1, "b": None}, None), ({"a": 2, "b": "y"}, None)],
    ),
    "struct_field_misfits": (
        [
            ("a.parquet", _parquet(c=pa.array([{"a": 1}], pa.struct([("a", _INT)])))),
            ("b.parquet", _parquet(c=pa.array([{"a": "7x"}], pa.struct([("a", pa.string())])))),
        ],
        [({"a": 1}, None), (None, '{"a":"7x"}')],
    ),
    "list_of_other_items": (
        [
            ("a.parquet", _parquet(c=pa.array([[1]], pa.list_(_INT)))),
            ("b.parquet", _parquet(c=pa.array([["x"]], pa.list_(pa.string())))),
        ],
        [([1], None), (None, '["x"]')],
    ),
    "ndjson_then_parquet": (
        [
            ("a.ndjson", b'{"n": 0, "c": "x"}\n{"n": 1, "c": {"a": [1, 2], "b": "\xc3\xa9"}}\n'),
            ("b.parquet", _parquet(c=pa.array([{"a": [1, 2], "b": "é"}], _LISTED))),
        ],
        [("x", None), ('{"a":[1,2],"b":"é"}', None), ('{"a":[1,2],"b":"é"}', None)],
    ),
}


def _rows(settings: Settings, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = bronze_table(settings, table).to_pylist()
    return sorted(rows, key=lambda r: int(r["n"]))


def _send_and_load(settings: Settings, api: httpx.Client, table: str, files: Any) -> None:
    first = 0
    for name, data in files:
        if name.endswith(".parquet"):
            data = _numbered(first, data)
            first += pq.read_metadata(io.BytesIO(data)).num_rows
        else:
            first += data.count(b"\n") - name.endswith(".csv")
        r = post_file(api, table, name, data)
        assert r.status_code == 202, r.text
        summary = Loader(settings).load_pending()
        assert summary.quarantined == [], [q.reason for q in summary.quarantined]


@pytest.mark.parametrize("case", list(CASES))
def test_the_api_takes_it_and_the_loader_keeps_every_value(
    one_lakehouse: Settings, api: httpx.Client, case: str
) -> None:
    settings = one_lakehouse
    files, want = CASES[case]
    _send_and_load(settings, api, case, files)
    rows = _rows(settings, case)
    assert len(rows) == len(want)
    for row, (value, rescued) in zip(rows, want, strict=True):
        assert row["c"] == value, row
        held = json.loads(row["_rescued_data"]) if row.get("_rescued_data") else {}
        assert held.get("c") == rescued, row


_CONTRACT = """\
version: 2
sources:
  - name: bronze
    tables:
      - name: declared
        columns:
          - {name: c, data_type: varchar}
"""


def test_a_declared_text_column_takes_any_parquet_value_as_its_text(
    one_lakehouse: Settings, api: httpx.Client
) -> None:
    """The API refused these with 422 ("column type list<...> does not fit varchar") where the
    loader keeps each value's text: both keep them now. Bytes that are not UTF-8 have no text:
    the API refuses them (a declared column's mismatch is 422), a dropped file is loaded with
    the bytes rescued in base64, as any mismatch of a file nobody waits on."""
    settings = one_lakehouse
    (settings.dbt_project_dir / "models" / "sources.yml").write_text(_CONTRACT)
    values = {
        "a.parquet": pa.array([[1, 2]], pa.list_(_INT)),
        "b.parquet": pa.array([{"a": 1}], pa.struct([("a", _INT)])),
        "c.parquet": pa.array([5], _INT),
    }
    first = 0
    for name, column in values.items():
        r = post_file(api, "declared", name, _numbered(first, _parquet(c=column)))
        assert r.status_code == 202, r.text
        first += 1
    assert Loader(settings).load_pending().quarantined == []
    assert [r["c"] for r in _rows(settings, "declared")] == ["[1,2]", '{"a":1}', "5"]
    r = post_file(api, "declared", "d.parquet", _parquet(c=pa.array([b"\xff"], pa.binary())))
    assert r.status_code == 422, r.text
    assert "bytes that are not UTF-8 (base64 /w==) does not fit VARCHAR" in r.text
    raw = settings.raw_dir / "declared"
    (raw / "d.parquet").write_bytes(_parquet(c=pa.array([b"\xff"], pa.binary())))
    assert Loader(settings).load_pending().quarantined == []
    rows = _rows(settings, "declared")
    assert sorted((r["c"] or "", r["_rescued_data"] or "") for r in rows) == [
        ("", '{"c": {"base64": "/w=="}}'),
        ("5", ""),
        ("[1,2]", ""),
        ('{"a":1}', ""),
    ]


def test_the_json_text_of_nested_values() -> None:
    """The documented form, on sliced arrays (their values start past their buffers')."""
    lists = pa.array([[[1.0, float("nan")]], [None, []], None], pa.list_(pa.list_(pa.float32())))
    assert parquet.json_texts(lists).to_pylist() == ['[[1,"NaN"]]', "[null,[]]", None]
    assert parquet.json_texts(lists.slice(1)).to_pylist() == ["[null,[]]", None]
    maps = pa.array([[(1, 1)], None, [(2, None), (2, 3)]], pa.map_(_INT, _INT)).slice(1)
    assert parquet.json_texts(maps).to_pylist() == [
        None,
        '[{"key":2,"value":null},{"key":2,"value":3}]',
    ]
    typed = pa.array(
        [
            {
                "d": decimal.Decimal("1.50"),
                "t": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                "day": dt.date(2024, 1, 2),
                "ok": True,
                "s": "a\nb\u2028",
                "bytes": b"xy",
                "inf": float("-inf"),
                "zero": -0.0,
            },
            None,
        ],
        pa.struct(
            [
                ("d", pa.decimal128(5, 2)),
                ("t", pa.timestamp("us", tz="UTC")),
                ("day", pa.date32()),
                ("ok", pa.bool_()),
                ("s", pa.string()),
                ("bytes", pa.binary()),
                ("inf", pa.float64()),
                ("zero", pa.float64()),
            ]
        ),
    )
    assert parquet.json_texts(typed).to_pylist() == [
        '{"d":1.50,"t":"2024-01-02 03:04:05.000000Z","day":"2024-01-02","ok":true,'
        '"s":"a\\nb\u2028","bytes":"xy","inf":"-Infinity","zero":-0}',
        None,
    ]
    with pytest.raises(parquet.NoText):
        parquet.json_texts(pa.array([[b"\xff"]], pa.list_(pa.binary())))
