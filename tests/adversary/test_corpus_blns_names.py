"""The Big List of Naughty Strings (tests/data/blns) as column names, through the real API and the
real loader: a CSV header, NDJSON keys and Parquet column names (and as a struct's field names
in NDJSON and Parquet). test_corpus.py sends them as values; here they name the columns.

The names the rule keeps (``dialect.check_names``: no blank name, no control character, no
bronze column's name, no two alike but for case or Unicode normalization) are sent many to a
file, no two of one file alike (``dialect.name_key``): the API answers 202 and bronze keeps each
column by its name, each value exact (``adversary_support.mismatches``). Each name the rule
refuses is sent alone, beside ``zz_id``: refused by both, the API's 4xx and the loader's
``invalid_column``. A corpus guard (review revc, session 17): all agreed on main when written.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import Outcome, Table, bronze_table, expected, mismatches, run

from lakehouse import dialect
from lakehouse.settings import Settings

BLNS: list[str] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "blns" / "blns.json").read_text()
)
NAMES = [s for s in dict.fromkeys(BLNS) if s and s != "zz_id"]
KEPT = [s for s in NAMES if dialect.check_names([s, "zz_id"]) is None]
REFUSED = [s for s in NAMES if s not in KEPT]


def _buckets(names: list[str]) -> list[list[str]]:
    """``names`` in groups with no two alike by ``dialect.name_key`` (nor like ``zz_id``)."""
    groups: list[tuple[set[str], list[str]]] = []
    for name in names:
        key = dialect.name_key(name)
        group = next((g for g in groups if key not in g[0]), None)
        if group is None:
            group = ({dialect.name_key("zz_id")}, [])
            groups.append(group)
        group[0].add(key)
        group[1].append(name)
    return [g[1] for g in groups]


BUCKETS = _buckets(KEPT)


def _csv(names: list[str]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([*names, "zz_id"])
    writer.writerow([*(f"v{i}" for i in range(len(names))), "1"])
    return out.getvalue().encode()


def _ndjson(names: list[str]) -> bytes:
    record = {**{n: f"v{i}" for i, n in enumerate(names)}, "zz_id": 1}
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()


def _nested(names: list[str]) -> bytes:
    record = {"zz_id": 1, "s": {n: i for i, n in enumerate(names)}}
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()


def _parquet(names: list[str], *, struct: bool = True) -> bytes:
    """A column of each name (its one value ``v<i>``), ``zz_id``, and a struct ``s`` of a field
    of each name (its value ``i``) when ``struct``."""
    columns: dict[str, pa.Array] = {n: pa.array([f"v{i}"]) for i, n in enumerate(names)}
    columns["zz_id"] = pa.array([1])
    if struct:
        fields = pa.struct([(n, pa.int64()) for n in names])
        columns["s"] = pa.array([{n: i for i, n in enumerate(names)}], fields)
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


CASES: dict[str, tuple[str, bytes]] = {}
for _i, _names in enumerate(BUCKETS):
    CASES[f"kept{_i}-csv"] = ("a.csv", _csv(_names))
    CASES[f"kept{_i}-ndjson"] = ("a.ndjson", _ndjson(_names))
    CASES[f"kept{_i}-struct"] = ("a.ndjson", _nested(_names))
    CASES[f"kept{_i}-parquet"] = ("a.parquet", _parquet(_names))
for _i, _name in enumerate(REFUSED):
    CASES[f"refused{_i}-csv"] = ("a.csv", _csv([_name]))
    CASES[f"refused{_i}-ndjson"] = ("a.ndjson", _ndjson([_name]))
    CASES[f"refused{_i}-parquet"] = ("a.parquet", _parquet([_name], struct=False))


@pytest.fixture(scope="module")
def outcomes(module_lakehouse: Settings) -> dict[str, Outcome]:
    tables = {key: f"bn{i}" for i, key in enumerate(CASES)}
    by_table = run(module_lakehouse, [(tables[k], *CASES[k]) for k in CASES])
    return {key: by_table[table] for key, table in tables.items()}


def _parquet_mismatches(settings: Settings, outcome: Outcome) -> list[str]:
    """What of the Parquet file bronze does not hold by name and value."""
    stored = bronze_table(settings, outcome.table).to_pylist()
    source = pq.read_table(io.BytesIO(outcome.data)).to_pylist()
    if len(stored) != len(source):
        return [f"{len(stored)} rows in bronze, {len(source)} in the file"]
    return [
        f"{column!r}: {row.get(column)!r} stored, {value!r} sent"
        for row, want in zip(stored, source, strict=True)
        for column, value in want.items()
        if column not in row or row[column] != value
    ]


def _said(detail: object) -> str:
    if isinstance(detail, list):
        return " ".join(str(e.get("msg")) for e in detail if isinstance(e, dict))
    return str(detail)


def test_the_list_is_here_and_split_as_the_rule_says() -> None:
    assert len(NAMES) > 500 and 0 < len(REFUSED) < 10, (len(NAMES), REFUSED)
    assert sum(map(len, BUCKETS)) == len(KEPT)
    for names in BUCKETS:  # no two names of a file alike
        assert dialect.check_names([*names, "zz_id"]) is None


@pytest.mark.parametrize("case", [k for k in CASES if k.startswith("kept")])
def test_a_kept_name_keeps_its_column_and_value(
    outcomes: dict[str, Outcome], module_lakehouse: Settings, case: str
) -> None:
    name, data = CASES[case]
    outcome = outcomes[case]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    if name.endswith(".parquet"):
        assert _parquet_mismatches(module_lakehouse, outcome) == []
        return
    want = expected(name, data)
    assert isinstance(want, Table), want
    assert outcome.loaded_rows is not None, "nothing in bronze"
    assert mismatches(outcome.loaded_rows, want, js=name.endswith(".ndjson")) == []


@pytest.mark.parametrize("case", [k for k in CASES if k.startswith("refused")])
def test_a_refused_name_is_refused_alike(outcomes: dict[str, Outcome], case: str) -> None:
    outcome = outcomes[case]
    assert 400 <= outcome.api_status < 500, (outcome.api_status, outcome.api_detail)
    assert outcome.refused is not None, outcome.loaded_rows
    assert outcome.refused["kind"] == "invalid_column", outcome.refused
    said, reason = _said(outcome.api_detail), outcome.refused["reason"]
    assert said == reason, (said, reason)
