"""A JSON or NDJSON key new to the table, whose type the loader infers from the file's first
``chunk_rows`` records, rescues the misfits of its later records: the API counts them against
the rescued-text bound (``lakehouse.rescued``) as the loader does, the type found by the same
rule (``ingest.typecheck.Inferring``, a struct by ``StructInferring``), so a file past it gets
the loader's ``too_large`` as a ``413`` in its words (docs/loading.md, Mismatches).

The real bound (2 GiB of ``_rescued_data`` text in one batch) needs a JSON file of more than
1.5 GB; here it is lowered, with ``chunk_rows`` and ``read_batch_rows``, so that files of a few
hundred KB show the rule, the API and the loader in one process meeting the same bound.

Before (fixe s17): the API inferred no type for a JSON key new to the table and counted only
the columns the table had: such a file got ``202``, then the loader's ``too_large``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from adversary_support import alike_at_the_bound, lakehouse, run
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse import rescued

#: the loader's window and batch (``chunk_rows``, ``read_batch_rows``) and the bound, lowered
WINDOW, BATCH, BOUND = 1024, 1024, 20_000


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rescued, "RESCUED_BATCH_BYTES", BOUND)


def _records(first: list[object], later: list[object], key: str = "n") -> list[dict[str, object]]:
    return [{"id": i, key: v} for i, v in enumerate(first + later)]


def _body(records: list[dict[str, object]], kind: str) -> bytes:
    if kind == "json":
        return json.dumps(records).encode()
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


#: The first batch (the window) types "n"; 1,024 later values of 40 characters do not fit it:
#: 1,024 x (3 + 4 + 42) = 50,176 bytes of _rescued_data text in the second batch, past 20,000
LONG = "x" * 40
PAST = {
    "bigint": ([7] * WINDOW, [LONG] * BATCH),
    "double": ([1.5] * WINDOW, [LONG] * BATCH),
    "decimal": ([0.1] * WINDOW, [LONG] * BATCH),
    "boolean": ([True] * WINDOW, [LONG] * BATCH),
    "number_as_text": ([7] * WINDOW, ["7" * 40] * BATCH),  # "7..." is no number
    "struct": ([{"a": 1}] * WINDOW, [{"a": LONG}] * BATCH),  # a's value no BIGINT
    "object_then_array": ([{"a": 1}] * WINDOW, [[LONG]] * BATCH),
    "struct_field_past_the_window": ([{"a": 1}] * WINDOW, [{"b": LONG}] * BATCH),
}


def _lake(tmp_path: Path, table: str) -> tuple[object, str]:
    lake = lakehouse(tmp_path, chunk_rows=WINDOW, read_batch_rows=BATCH)
    if table == "existing":  # a table without "n": the key is new to it
        made = run(lake, [("t", "a.ndjson", b'{"id": 1}\n')], rows=False)["t"]
        assert made.api_status == 202 and made.refused is None, (made.api_detail, made.refused)
    return lake, table


@pytest.mark.usefixtures("small")
@pytest.mark.parametrize("kind", ["ndjson", "json"])
@pytest.mark.parametrize("table", ["existing", "new"])
@pytest.mark.parametrize("case", sorted(PAST))
def test_a_new_keys_later_misfits_are_counted_as_the_loader_counts_them(
    tmp_path: Path, case: str, table: str, kind: str
) -> None:
    lake, _ = _lake(tmp_path, table)
    data = _body(_records(*PAST[case]), kind)
    outcome = run(lake, [("t", f"b.{kind}", data)], rows=False)["t"]  # type: ignore[arg-type]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", (case, refused)
    assert "would be rescued into _rescued_data as" in refused["reason"], refused["reason"]
    assert "records 1,025 to 2,048 (one batch)" in refused["reason"], refused["reason"]
    assert outcome.api_status == 413, (outcome.api_status, outcome.api_detail)
    assert outcome.api_detail == refused["reason"]  # one rule, one set of words


#: Files both take: the later values fit the type the window gives, or no type is inferred
#: from it (a string, an array, values of two kinds, a key first seen past the window), or
#: the misfits stay within the bound.
WITHIN = {
    "fit": ([7] * WINDOW, [8] * BATCH),
    "text": (["7"] * WINDOW, [LONG] * BATCH),
    "two_kinds": ([7] * (WINDOW - 1) + ["x"], [LONG] * BATCH),
    "array": ([[1]] * WINDOW, [LONG] * BATCH),
    "late_key": ([None] * WINDOW, [7] * 10 + [LONG] * (BATCH - 10)),
    "few": ([7] * WINDOW, [LONG] * 300 + [8] * (BATCH - 300)),  # 300 x 49: 14,700 bytes
    "double_then_int": ([1.5] * WINDOW, [8] * BATCH),
    "struct_grown_by_nothing": ([{"a": 1}] * WINDOW, [{"a": 2}] * BATCH),
}


@pytest.mark.usefixtures("small")
@pytest.mark.parametrize("kind", ["ndjson", "json"])
@pytest.mark.parametrize("case", sorted(WITHIN))
def test_within_the_bound_both_take_it(tmp_path: Path, case: str, kind: str) -> None:
    lake, _ = _lake(tmp_path, "new")
    data = _body(_records(*WITHIN[case]), kind)
    outcome = run(lake, [("t", f"b.{kind}", data)], rows=False)["t"]  # type: ignore[arg-type]
    assert outcome.refused is None, (case, outcome.refused)
    assert outcome.api_status == 202, (case, outcome.api_status, outcome.api_detail)


#: JSON values a key may hold (numbers as written: ``1.50``, ``-0``, ``1e2``)
_VALUES = st.one_of(
    st.sampled_from(["7", "-0", "1.5", "1.50", "1e2", "0.1", "9223372036854775808", "true"]),
    st.sampled_from(['"7"', '"x"', '"2020-01-01"', "[1]", "{}", "null"]),
    st.sampled_from(['{"a": 1}', '{"a": 1.5}', '{"a": "x"}', '{"b": {"c": true}}', '{"a": [1]}']),
    st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,4})?", fullmatch=True),
)


def _lines(values: list[str], count: int, start: int) -> bytes:
    return b"".join(
        b'{"id": %d, "n": %s}\n' % (start + i, values[i % len(values)].encode())
        for i in range(count)
    )


@settings(max_examples=25, deadline=None)
@given(
    st.lists(_VALUES, min_size=1, max_size=3),
    st.lists(_VALUES, min_size=1, max_size=4),
    st.sampled_from(["ndjson", "json"]),
)
@pytest.mark.slow
def test_the_api_counts_what_the_loader_counts(
    first: list[str], later: list[str], kind: str
) -> None:
    """Any values of a new key in the window (the first batch) and after it, the bound 0:
    both refuse the file in the same words (the same values and bytes), or both take it
    (nothing rescued), or both refuse it for another reason."""
    data = _lines(first, WINDOW, 0) + _lines(later, 8, WINDOW)
    if kind == "json":
        data = b"[" + data.rstrip(b"\n").replace(b"\n", b",\n") + b"]"
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as root:
        patch.setattr(rescued, "RESCUED_BATCH_BYTES", 0)
        lake = lakehouse(Path(root), chunk_rows=WINDOW, read_batch_rows=BATCH)
        outcome = run(lake, [("t", f"b.{kind}", data)], rows=False)["t"]
    alike_at_the_bound(outcome)


@pytest.mark.parametrize("table", ["existing_n", "new"])
def test_a_rescued_number_is_counted_as_written(tmp_path: Path, table: str) -> None:
    """``1.50`` into a ``BIGINT`` column is rescued as written, 4 bytes, and so counted by
    both (found by the property above): the loader counted DuckDB's print of it (``1.5``, 3
    bytes: 80 bytes where the API said 88) before it read the file again keeping literals."""
    lake = lakehouse(tmp_path, chunk_rows=WINDOW, read_batch_rows=BATCH)
    if table == "existing_n":  # "n" a BIGINT column of the table
        made = run(lake, [("t", "a.ndjson", b'{"id": 1, "n": 7}\n')], rows=False)["t"]
        assert made.api_status == 202 and made.refused is None, (made.api_detail, made.refused)
    data = _lines(["7"], WINDOW, 0) + _lines(["1.50"], 8, WINDOW)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rescued, "RESCUED_BATCH_BYTES", 0)
        outcome = run(lake, [("t", "b.ndjson", data)], rows=False)["t"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", refused
    assert "as 88 bytes of JSON text ('n' 8 values, 88 bytes)" in refused["reason"], refused
    assert (outcome.api_status, outcome.api_detail) == (413, refused["reason"])


#: A struct column the table has (``struct<a: int64>``): the loader grows it by the objects of
#: the file's window (here "b", a BIGINT), and rescues a later object with a field it lacks.
STRUCT_PAST = ([{"a": 1, "b": 2}] * WINDOW, [{"a": 1, "c": LONG}] * BATCH)
STRUCT_WITHIN = ([{"a": 1, "b": 2}] * WINDOW, [{"a": 1, "b": 3}] * BATCH)


@pytest.mark.usefixtures("small")
@pytest.mark.parametrize("infer", [True, False])
@pytest.mark.parametrize("case", ["past", "within"])
def test_a_struct_column_is_grown_by_the_window_as_the_loader_grows_it(
    tmp_path: Path, case: str, infer: bool
) -> None:
    """Past the window a field the struct lacks is counted (the API grew the struct by each
    batch's own objects: 202 to a file the loader refused); one the window added is not.
    Whether types are inferred or not (``infer_types``): the loader grows it either way."""
    lake = lakehouse(tmp_path, chunk_rows=WINDOW, read_batch_rows=BATCH)
    made = run(lake, [("t", "a.ndjson", b'{"id": 1, "n": {"a": 1}}\n')], rows=False)["t"]
    assert made.api_status == 202 and made.refused is None, (made.api_detail, made.refused)
    lake = lakehouse(tmp_path, chunk_rows=WINDOW, read_batch_rows=BATCH, infer_types=infer)
    first, later = STRUCT_PAST if case == "past" else STRUCT_WITHIN
    data = _body(_records(first, later), "ndjson")
    outcome = run(lake, [("t", "b.ndjson", data)], rows=False)["t"]
    if case == "within":
        assert outcome.refused is None, outcome.refused
        assert outcome.api_status == 202, outcome.api_detail
        return
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", refused
    assert (outcome.api_status, outcome.api_detail) == (413, refused["reason"])


def _csv_objects(first: str, count: int, later: str, more: int) -> bytes:
    def row(i: int, obj: str) -> bytes:
        return b'%d,"%s"\n' % (i, obj.replace('"', '""').encode())

    return (
        b"id,n\n"
        + b"".join(row(i, first) for i in range(count))
        + b"".join(row(count + i, later) for i in range(more))
    )


@pytest.mark.parametrize("infer", [True, False])
@pytest.mark.parametrize("case", ["past", "within"])
def test_a_csvs_objects_meet_the_struct_the_window_grew(
    tmp_path: Path, case: str, infer: bool
) -> None:
    """A CSV's JSON objects into a struct column (``struct<a: int64>``): its first 4 MiB block
    (143,513 records, the window: ``chunk_rows`` 100,000) adds "b"; 200 later objects holding
    "c" are rescued by the loader, 10,400 bytes past a bound of 5,000 (the API grew the struct
    by each block's own objects: 202), and those holding "b" are not."""
    lake = lakehouse(tmp_path, chunk_rows=100_000)
    made = run(lake, [("t", "a.ndjson", b'{"id": 1, "n": {"a": 1}}\n')], rows=False)["t"]
    assert made.api_status == 202 and made.refused is None, (made.api_detail, made.refused)
    lake = lakehouse(tmp_path, chunk_rows=100_000, infer_types=infer)  # the struct: bronze's
    later = '{"a": 1, "c": "%s"}' % ("x" * 20) if case == "past" else '{"a": 1, "b": 3}'
    data = _csv_objects('{"a": 1, "b": 2}', 200_000, later, 200)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rescued, "RESCUED_BATCH_BYTES", 5_000)
        outcome = run(lake, [("t", "b.csv", data)], rows=False)["t"]
    alike_at_the_bound(outcome)
    assert (outcome.refused is None) == (case == "within"), outcome.refused
