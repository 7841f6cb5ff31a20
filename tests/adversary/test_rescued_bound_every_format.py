"""The rescued-text bound (``lakehouse.rescued``, ``docs/loading.md``, Mismatches) is one count
on both sides, for every format: a batch whose values that do not fit the table's columns would
make more ``_rescued_data`` text than the bound gets the API's ``413`` and the loader's
``too_large`` in the same words, a CSV, an NDJSON and a Parquet struct column alike.

Before (session 14 review, findings readB 01 and 04): the API counted a Parquet file's
top-level columns only; a CSV, an NDJSON file or a Parquet struct column past the bound got
``202``, then the loader's ``too_large``. The bound is lowered here (both sides read it when
they count) so that small files show what a 360 MB CSV record of control characters, or a
gzipped NDJSON file inflating past 1 GiB, does at the real one."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse import parquet, rescued

#: The bound, lowered: 1,000 bytes of ``_rescued_data`` text a batch.
BOUND = 1_000
ROWS = 122_880  # read_batch_rows' default: one batch


@pytest.fixture
def low_bound(monkeypatch: pytest.MonkeyPatch, parquet_checked_here: None) -> None:
    """The bound lowered in this process, where the API's Parquet checks run too (the
    ``parquet_checked_here`` fixture: its worker processes would not see the patch)."""
    monkeypatch.setattr(rescued, "RESCUED_BATCH_BYTES", BOUND)


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _csv(rows: int, value: bytes) -> bytes:
    return b"id,n\n" + b"".join(b"%d,%s\n" % (i, value) for i in range(rows))


def _ndjson(rows: int, value: str) -> bytes:
    return b"".join(
        json.dumps({"id": i, "n": value}, ensure_ascii=True).encode() + b"\n" for i in range(rows)
    )


def _struct(rows: int, value: str) -> bytes:
    return _parquet(pa.table({"id": list(range(rows)), "n": pa.array([{"a": value}] * rows)}))


#: Each format's first file (bronze's ``n`` becomes ``BIGINT``, a struct of one), and a file
#: whose every ``n`` does not fit it: 10 values of 50 control characters (each 6 bytes of
#: JSON, ``\\u0001``), 3,090 bytes of ``_rescued_data`` text in one batch.
CASES = {
    "csv": ("a.csv", b"id,n\n1,5\n", "b.csv", _csv(10, b"\x01" * 50), 3_090),
    "csv.gz": ("a.csv", b"id,n\n1,5\n", "b.csv.gz", gzip.compress(_csv(10, b"\x01" * 50)), 3_090),
    "ndjson": ("a.ndjson", b'{"id":1,"n":5}\n', "b.ndjson", _ndjson(10, "\x01" * 50), 3_090),
    "parquet struct": (
        "a.parquet",
        _parquet(pa.table({"id": [1], "n": pa.array([{"a": 5}])})),
        "b.parquet",
        _struct(10, "\x01" * 50),
        3_710,  # each value's JSON text, {"a": "\u0001..."}, in a JSON string: 371 bytes
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.usefixtures("low_bound")
def test_past_the_bound_the_api_and_the_loader_refuse_alike(tmp_path: Path, case: str) -> None:
    from adversary_support import lakehouse, run

    first_name, first, name, data, size = CASES[case]
    lake = lakehouse(tmp_path)
    made = run(lake, [("t", first_name, first)], rows=False)["t"]
    assert made.api_status == 202 and made.refused is None, (made.api_detail, made.refused)
    outcome = run(lake, [("t", name, data)], rows=False)["t"]
    words = (
        "records 1 to 10 (one batch): the values that do not fit their columns would be rescued"
        f" into _rescued_data as {size:,} bytes of JSON text ('n' 10 values, {size:,} bytes),"
        f" more than one Arrow array holds for a batch ({BOUND:,} bytes, 2 GiB)"
    )
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", refused
    assert words in refused["reason"], refused["reason"]
    api = outcome.api_status, outcome.api_detail  # the route's, its Parquet check here too
    assert api[0] == 413, api
    assert api[1] == refused["reason"]  # one rule, one set of words


#: Within the bound: 2 such values (618 bytes; the struct's 742) load, each rescued as sent.
WITHIN = {
    "csv": ("b.csv", _csv(2, b"\x01" * 50)),
    "csv.gz": ("b.csv.gz", gzip.compress(_csv(2, b"\x01" * 50))),
    "ndjson": ("b.ndjson", _ndjson(2, "\x01" * 50)),
    "parquet struct": ("b.parquet", _struct(2, "\x01" * 50)),
}


@pytest.mark.parametrize("case", list(WITHIN))
@pytest.mark.usefixtures("low_bound")
def test_within_the_bound_both_take_it(tmp_path: Path, case: str) -> None:
    from adversary_support import lakehouse, run

    first_name, first, *_ = CASES[case]
    name, data = WITHIN[case]
    lake = lakehouse(tmp_path)
    assert run(lake, [("t", first_name, first)], rows=False)["t"].refused is None
    outcome = run(lake, [("t", name, data)])["t"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    rows = outcome.loaded_rows
    assert rows is not None
    kept = [json.loads(r["_rescued_data"]) for r in rows if r["_rescued_data"] is not None]
    sent = "\x01" * 50
    struct = json.dumps({"a": sent}, ensure_ascii=False, separators=(",", ":"))  # its JSON text
    want = {"n": struct} if "struct" in case else {"n": sent}
    assert len(kept) == 2 and all(k == want for k in kept), kept


@pytest.mark.usefixtures("low_bound")
def test_the_api_counts_a_csv_without_a_contract(tmp_path: Path) -> None:
    """No contract: the API reads the values of the columns the table has with a type that
    not every text fits, when the file's size could pass the bound; a column the table keeps
    as text rescues nothing, whatever the file's size."""
    from ingest.filecheck import FileError, check_file
    from lakehouse.formats import FileFormat

    path = tmp_path / "b.csv"
    path.write_bytes(_csv(2_000, b"x"))  # 2,000 x 10 bytes: one block
    kind = FileFormat("csv", False)
    stored = {"id": pa.int64(), "n": pa.int64()}
    with pytest.raises(FileError) as refused:
        check_file(path, kind, None, existing=["id", "n"], stored=stored)
    assert refused.value.status == 413
    assert "records 1 to 2,000 (one batch)" in str(refused.value), refused.value
    assert check_file(path, kind, None, existing=["id", "n"], stored=stored, rescue=False) == 2_000
    stored = {"id": pa.int64(), "n": pa.string()}
    assert check_file(path, kind, None, existing=["id", "n"], stored=stored) == 2_000


#: Parquet types whose values' text is never longer than ``rescued.MOST_TEXT_BYTES`` (its
#: extreme values, each as the loader makes it: ``parquet.texts_and_gaps``)
def _decimal(precision: int, scale: int) -> pa.Array:
    whole = "9" * (precision - scale) or "0"
    text = "-" + whole + ("." + "9" * scale if scale else "")
    return pa.array([text]).cast(pa.decimal256(precision, scale))


_EXTREMES = [
    pa.array([-(2**63), 2**63 - 1], pa.int64()),
    pa.array([2**64 - 1], pa.uint64()),
    pa.array([-128], pa.int8()),
    pa.array([-1.7976931348623157e308, 2.2250738585072014e-308, 5e-324], pa.float64()),
    pa.array([-3.4028234663852886e38, 1.401298464324817e-45], pa.float32()),
    _decimal(76, 0),
    _decimal(76, 38),
    _decimal(76, 76),
    pa.array([-(2**31), 2**31 - 1], pa.date32()),
    pa.array([-(2**63), 2**63 - 1], pa.date64()),
    pa.array([-(2**63), 2**63 - 1], pa.timestamp("ns")),
    pa.array([-(2**63) + 1, 2**63 - 1], pa.timestamp("s")),
    pa.array([-(2**63) + 1, 2**63 - 1], pa.timestamp("s", "America/Argentina/ComodRivadavia")),
    pa.array([-(2**63) + 1], pa.duration("ns")),
    pa.array([2**63 - 1], pa.time64("ns")),
    pa.array([-(2**31)], pa.time32("s")),
    pa.array([True, False]),
]


@pytest.mark.parametrize("values", _EXTREMES, ids=lambda a: str(a.type))
def test_a_fixed_width_values_text_is_within_its_bound(values: pa.Array) -> None:
    """The first count of a Parquet column that is no text makes no text: each value's is at
    most ``rescued.MOST_TEXT_BYTES`` bytes of plain characters (6 bytes a byte is not needed)."""
    try:
        texts, _ = parquet.texts_and_gaps(values)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, parquet.NoText):
        return  # no text: the loader refuses the file, rescues nothing
    most = rescued.most_value_bytes(values)
    assert most is not None
    assert most >= rescued.json_string_bytes(texts), texts.to_pylist()


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=30))
def test_the_first_count_is_no_less_than_the_exact_one(values: list[int | None]) -> None:
    column = pa.array(values, pa.int64())
    texts, _ = parquet.texts_and_gaps(column)
    most = rescued.most_value_bytes(column)
    assert most is not None and most >= rescued.json_string_bytes(texts)


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.binary(max_size=12), st.text(max_size=12)), max_size=20))
def test_the_first_count_of_text_or_bytes(values: list[bytes | str | None]) -> None:
    column = pa.array([v.encode() if isinstance(v, str) else v for v in values], pa.binary())
    texts, gaps = parquet.texts_and_gaps(column)
    wrong = pa.array([v is not None for v in values])
    exact = rescued.text_sizes("b", texts, wrong, True, gaps, column)[1]
    most = rescued.most_value_bytes(column)
    assert most is not None
    assert rescued.entry_bytes("b", len(column) - column.null_count, most) >= exact


def _later_misfits(rows: int, fit: int, dumps: bool) -> bytes:
    """``rows`` records, the first ``fit`` with ``n`` a number, the others ``"x"`` (each
    rescued as 10 bytes, ``"n": "x"`` and 4)."""
    records = [{"id": i, "n": i if i < fit else "x"} for i in range(rows)]
    if dumps:
        return json.dumps(records).encode()
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


@pytest.mark.parametrize("name", ["b.ndjson", "b.ndjson.gz", "b.json", "b.json.gz"])
@pytest.mark.usefixtures("low_bound")
def test_a_json_file_is_counted_per_the_loaders_batch(tmp_path: Path, name: str) -> None:
    """The API counts a JSON file by the loader's batches (``read_batch_rows`` records): 2,048
    records whose second 1,024 each rescue 10 bytes are refused at that batch, by both, in
    the same words; a gzipped file and a ``.json`` array alike."""
    from adversary_support import lakehouse, run

    lake = lakehouse(tmp_path, read_batch_rows=1_024)
    assert run(lake, [("t", "a.ndjson", b'{"id":1,"n":5}\n')], rows=False)["t"].refused is None
    data = _later_misfits(2_048, 1_024, ".json" in name and "ndjson" not in name)
    outcome = run(lake, [("t", name, gzip.compress(data) if name.endswith(".gz") else data)])["t"]
    words = (
        "records 1,025 to 2,048 (one batch): the values that do not fit their columns would be"
        " rescued into _rescued_data as 10,240 bytes of JSON text ('n' 1,024 values, 10,240"
        " bytes)"
    )
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", refused
    assert words in refused["reason"], refused["reason"]
    assert outcome.api_status == 413, (outcome.api_status, outcome.api_detail)
    assert outcome.api_detail == refused["reason"]


def test_a_struct_column_at_the_real_bound(tmp_path: Path) -> None:
    """At the real bound (review finding readB 04): a 59 KB file of 245,760 structs ``{a:
    "5"}`` then ``{a: "x"}`` (neither a number) under a 17,500-character name the table has as
    ``struct<a: int64>``: its first batch would rescue 2,152,980,480 bytes (each value's JSON
    text in a JSON string, the name on every record), refused by the API and the loader in the
    same words (before: the API's 202)."""
    from adversary_support import lakehouse, run

    name = "c" * 17_500
    lake = lakehouse(tmp_path)
    first = _parquet(pa.table({name: pa.array([{"a": 5}])}))
    assert run(lake, [("t", "a.parquet", first)], rows=False)["t"].refused is None
    values = pa.array([{"a": "5"}] * ROWS + [{"a": "x"}] * ROWS)
    data = _parquet(pa.table({name: values}))
    assert len(data) < 100_000
    outcome = run(lake, [("t", "b.parquet", data)], rows=False)["t"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", refused
    words = "records 1 to 122,880 (one batch): the values that do not fit their columns would be"
    words += " rescued into _rescued_data as 2,152,980,480 bytes of JSON text"
    assert refused["reason"].startswith(words), refused["reason"]
    assert (outcome.api_status, outcome.api_detail) == (413, refused["reason"])


_fields = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["1.5", "-0.0", "1e400", "2020-02-30", "2020-01-01", "true", "NULL", "{}"]),
    st.sampled_from(["2020-01-01 00:00:00", "2020-01-01T00:00:00Z", '{"a": 1}', "[1]"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")),
)

#: A first file's value of ``n``, making bronze's column BIGINT, DOUBLE, DATE, BOOLEAN,
#: TIMESTAMP or a struct
_FIRST = [5, 1.5, "2020-01-01", True, "2020-01-01 00:00:00", {"a": 1}]


def _json_value(text: str) -> object:
    """A field's text as a JSON file sends it: a JSON value when it is one, else a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@settings(max_examples=25, deadline=None)
@given(
    st.lists(_fields, min_size=1, max_size=12),
    st.sampled_from(["csv", "ndjson"]),
    st.sampled_from(_FIRST),
)
@pytest.mark.slow
def test_the_api_counts_what_the_loader_counts(values: list[str], kind: str, made: object) -> None:
    """Any texts into a column the table has (of each type), the bound 0: both refuse the file
    in the same words (the same values and bytes), or both take it (nothing rescued), or both
    refuse it for another reason."""
    import csv
    import tempfile

    from adversary_support import alike_at_the_bound, lakehouse, run

    if kind == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["id", "n"])
        writer.writerows([i, v] for i, v in enumerate(values))
        data = out.getvalue().encode()
        out = io.StringIO(newline="")
        shown = made if isinstance(made, str) else json.dumps(made).lower()
        csv.writer(out, lineterminator="\n").writerows([["id", "n"], [1, shown]])
        first = out.getvalue().encode()
    else:
        data = b"".join(
            json.dumps({"id": i, "n": _json_value(v)}).encode() + b"\n"
            for i, v in enumerate(values)
        )
        first = json.dumps({"id": 1, "n": made}).encode() + b"\n"
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as root:
        patch.setattr(rescued, "RESCUED_BATCH_BYTES", 0)
        lake = lakehouse(Path(root))
        assert run(lake, [("t", f"a.{kind}", first)], rows=False)["t"].refused is None
        outcome = run(lake, [("t", f"b.{kind}", data)], rows=False)["t"]
    alike_at_the_bound(outcome)  # 1e400 sent as Infinity (no JSON): refused by both
