"""The vectorized rule (loader.fitting) gives the answers of the rule itself (lakehouse.dialect)."""

from __future__ import annotations

import decimal
import json

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lakehouse import dialect
from loader import fitting
from loader.fitting import ColumnPlan, Inference, Mismatch, Typer, fits, json_text

TEXTS = [
    "0",
    "-7",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "-0",
    "-0.0",
    "00077",
    "-007",
    "+1",
    "0x1F",
    "1_000",
    "0b101",
    "1e3",
    " 2",
    "2.0",
    "128",
    "127",
    "0.1",
    "8",
    "1.50",
    "0.30000000000000004",
    "0.1234567890123456789",
    "12345678901234567.89",
    "1.0000000000000000001",
    "99999999999999999999",
    "1" * 39,
    ".5",
    "1.",
    "NaN",
    "inf",
    "1.005",
    "1.25",
    "123456789",
    "12345678",
    "true",
    "True",
    "false",
    "2024-02-29",
    "2023-02-29",
    "2024-1-2",
    "0000-01-01",
    "03/04/2024",
    "2024-01-02 13:45:00",
    "2024-01-02T13:45:00.123456",
    "2024-01-02T13:45:00.1234567",
    "2024-01-02T13:45:00.123",
    "2024-01-02 13:45:00.120000",
    "2024-01-02 13:45:00.000",
    "2024-01-02 13:45:00.1234",
    "2024-01-02T13:45:00Z",
    "2024-01-02T13:45:00+01:00",
    "2024-01-02T24:00:00",
    "2024-02-30 00:00:00",
    "12:02:55",
    "12:02:55.123456789",
    "24:00:00",
    "1:02:03",
    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0",
    "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "1.5000",
    "1.5001",
    "-0.100",
    "12345678.9900",
    "1." + "0" * 50,
    "",
    "NA",
    "ação",
    "1234567.25",
    "100000000000000000000",
    "0.000001",
    "123456789012345678",
    "1234567890123456789",
    # FLOAT's exponent bounds: below float32's normal range it holds fewer digits, then none
    "0." + "0" * 36 + "1",  # 1e-37
    "-0." + "0" * 37 + "999999",  # -9.99999e-38
    "0." + "0" * 45 + "3",  # 3e-46: a float32 0.0
    "0." + "0" * 43 + "123456",  # 1.23456e-44: a float32 1.2611686e-44
    "0." + "0" * 400 + "1",  # float64 0.0 too
    "0.000",
    "1" + "0" * 37,  # 1e37
    "999999" + "0" * 32,  # 9.99999e37
    "1" + "0" * 38,  # 1e38
    "34" + "0" * 37,  # 3.4e38: a finite float32, beyond the rule
    "1" + "0" * 400,
]
TYPES = [
    "BIGINT",
    "INTEGER",
    "TINYINT",
    "UBIGINT",
    "DOUBLE",
    "FLOAT",
    "DECIMAL(10,2)",
    "DECIMAL(38,0)",
    "BOOLEAN",
    "DATE",
    "TIMESTAMP",
    "TIMESTAMP_MS",
    "TIMESTAMP_S",
    "TIMESTAMPTZ",
    "VARCHAR",
    "TIME",
    "UUID",
]


@pytest.mark.parametrize("data_type", TYPES)
def test_vectorized_fits_agrees_with_the_rule(data_type: str) -> None:
    got = fits(pa.array([*TEXTS, None]), data_type).to_pylist()
    want = [dialect.fits(t, data_type) for t in TEXTS]
    assert dict(zip(TEXTS, got[:-1], strict=True)) == dict(zip(TEXTS, want, strict=True))
    assert got[-1] is None


@pytest.mark.parametrize("data_type", TYPES)
def test_a_column_whose_every_value_fits_agrees_with_the_rule(data_type: str) -> None:
    """The whole-column check (one pass over the values joined) gives the rule's answers: for
    the column of every text that fits, with nulls among them, sliced out of a larger batch."""
    fitting_texts = [t for t in TEXTS if dialect.fits(t, data_type)]
    column = pa.array(["x", *fitting_texts, None, *fitting_texts, "y"], pa.string())
    inner = column.slice(1, len(column) - 2)
    assert fits(inner, data_type).to_pylist() == [*[True] * len(fitting_texts), None] + [
        True
    ] * len(fitting_texts)
    whole = fits(column, data_type).to_pylist()
    assert whole[0] is dialect.fits("x", data_type)
    assert whole[-1] is dialect.fits("y", data_type)


@pytest.mark.parametrize("data_type", ["BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "DECIMAL(10,2)"])
def test_a_value_holding_the_separator_byte_is_checked_alone(data_type: str) -> None:
    """The whole-column check joins values with the byte 0xFF (never in UTF-8): a value that
    holds it anyway (an Arrow string built from unchecked bytes) must not pass as two."""
    samples = {
        "BIGINT": b"1",
        "DOUBLE": b"1.5",
        "DATE": b"2024-01-01",
        "TIMESTAMP": b"2024-01-01 00:00:00",
        "DECIMAL(10,2)": b"1.5",
    }
    good = samples[data_type]
    data = good + b"\xff" + good + good
    offsets = pa.array([0, len(good) * 2 + 1, len(data)], pa.int32())
    column = pa.Array.from_buffers(pa.string(), 2, [None, offsets.buffers()[1], pa.py_buffer(data)])
    assert fits(column, data_type).to_pylist() == [False, True]


_TEXT_ALPHABET = "0129-.:+eTZ x\n"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(_TEXT_ALPHABET, max_size=12),
            st.from_regex(dialect.NUMBER_TEXT, fullmatch=True),
            st.from_regex(dialect.TIMESTAMP_TEXT, fullmatch=True),
        ),
        max_size=8,
    ),
    st.sampled_from(
        [
            "BIGINT",
            "DOUBLE",
            "FLOAT",
            "DECIMAL(10,2)",
            "DATE",
            "TIMESTAMP",
            "TIMESTAMP_MS",
            "TIMESTAMP_S",
            "TIMESTAMPTZ",
        ]
    ),
)
def test_vectorized_fits_agrees_with_the_rule_on_generated_columns(
    texts: list[str | None], data_type: str
) -> None:
    got = fits(pa.array(texts, pa.string()), data_type).to_pylist()
    assert got == [None if t is None else dialect.fits(t, data_type) for t in texts]


_FLOAT_NUMBERS = st.builds(
    lambda digits, exponent, negative: (
        ("-" if negative and digits else "") + format(decimal.Decimal(digits).scaleb(exponent), "f")
    ),
    st.integers(0, 10**7),
    st.integers(-52, 40),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_FLOAT_NUMBERS, min_size=1, max_size=8))
def test_float_fits_agrees_with_the_rule_and_keeps_the_number(texts: list[str]) -> None:
    """Numbers around float32's bounds (1e-45 .. 3.4e38, 6 digits): the vectorized FLOAT test
    gives the rule's answers, and every number that fits is the float32's shortest text."""
    column = pa.array(texts, pa.string())
    got = fits(column, "FLOAT").to_pylist()
    assert got == [dialect.fits(t, "FLOAT") for t in texts]
    kept = fitting.cast(column, "FLOAT", pa.array(got)).cast(pa.string()).to_pylist()
    for text, ok, stored in zip(texts, got, kept, strict=True):
        if ok:
            assert decimal.Decimal(stored) == decimal.Decimal(text), (text, stored)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.from_regex(dialect.INTEGER_TEXT, fullmatch=True), min_size=1, max_size=8),
    st.lists(st.from_regex(dialect.TIMESTAMP_TEXT, fullmatch=True), min_size=1, max_size=8),
)
def test_columns_of_canonical_texts_agree_with_the_rule(ints: list[str], stamps: list[str]) -> None:
    """Columns where every value has the canonical form (the whole-column path), with values
    beyond the type's range or no real date among them."""
    for texts, data_type in ((ints, "BIGINT"), (ints, "INTEGER"), (stamps, "TIMESTAMP")):
        got = fits(pa.array(texts, pa.string()), data_type).to_pylist()
        assert got == [dialect.fits(t, data_type) for t in texts]


@pytest.mark.parametrize(
    "texts",
    [
        ["1", "2"],
        ["1", "2.5"],
        ["00077"],
        ["0.1234567890123456789", "12345678901234567.89"],
        ["99999999999999999999"],
        ["1" * 40],
        ["true", "false"],
        ["2024-01-01"],
        ["2024-01-02 13:45:00"],
        ["03/04/2024"],
        [None, None],
        [None, "5"],
        ["NA", "1"],
    ],
)
def test_inference_agrees_with_the_rule(texts: list[str | None]) -> None:
    inference = Inference()
    for half in (texts[: len(texts) // 2], texts[len(texts) // 2 :]):
        inference.add(pa.array(half, pa.string()))
    assert inference.result() == dialect.infer(texts)


_INFER_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(TEXTS),
    st.sampled_from(["true", "false", "1" * 38, "0." + "1" * 37, "2024-01-02T13:45:00"]),
    st.from_regex(dialect.INTEGER_TEXT, fullmatch=True),
    st.from_regex(dialect.NUMBER_TEXT, fullmatch=True),
    st.from_regex(dialect.DATE_TEXT, fullmatch=True),
    st.from_regex(dialect.TIMESTAMP_TEXT, fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(_INFER_TEXTS, max_size=6), min_size=1, max_size=6),
    st.lists(st.booleans(), min_size=6, max_size=6),
    st.booleans(),
)
@pytest.mark.slow
def test_inference_settled_as_batches_come_agrees_with_the_rule(
    batches: list[list[str | None]], settle_after: list[bool], on_threads: bool
) -> None:
    """The reader settles a column's candidates after some batches (on the typing threads,
    while it reads the next); the type is the rule's over all the values whatever the
    batches and the settling."""
    inference = Inference()
    pending = []
    for texts, settle in zip(batches, settle_after, strict=False):
        inference.add(pa.array(texts, pa.string()))
        if settle and on_threads:
            pending.append(fitting.beside(inference.settle))
        elif settle:
            inference.settle()
    for work in pending:
        if work is not None:
            work.result()
    values = [t for texts in batches for t in texts]
    assert inference.result() == dialect.infer(values)


def _batch(**columns: list[str | None]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({k: pa.array(v, pa.string()) for k, v in columns.items()})


def test_typer_rescues_what_does_not_fit() -> None:
    plans = [
        ColumnPlan("n", "BIGINT", "existing", pa.int64()),
        ColumnPlan("t", "VARCHAR", "inferred"),
        ColumnPlan("a", "DECIMAL(10,2)", "declared", pa.decimal128(10, 2)),
    ]
    typer = Typer(plans, "rescue")
    out = typer.apply(_batch(n=["1", "00077", None], t=["x", "y", "z"], a=["1.005", "2", None]))
    assert out.column("n").to_pylist() == [1, None, None]
    assert out.column("a").to_pylist()[1] == pa.scalar(2, pa.decimal128(10, 2)).as_py()
    rescued = [
        None if r is None else json.loads(r) for r in out.column("_rescued_data").to_pylist()
    ]
    assert rescued == [{"a": "1.005"}, {"n": "00077"}, None]
    assert typer.rescued == 2


def test_typer_quarantines() -> None:
    existing = [ColumnPlan("d", "DATE", "existing", pa.date32())]
    with pytest.raises(Mismatch) as refused:
        Typer(existing, "quarantine").apply(_batch(d=["2024-01-01", "2024-01-02 13:45:00"]))
    assert (refused.value.column, refused.value.row) == ("d", 1)
    assert refused.value.value == "2024-01-02 13:45:00"


def test_json_text_unquotes_strings_only() -> None:
    texts = pa.array(['"x"', '"a\\"b\\u00e9"', "1.50", "[1,2]", None, '"NA"'])
    assert json_text(texts).to_pylist() == ["x", 'a"b\u00e9', "1.50", "[1,2]", None, "NA"]


_CAST_ALPHABET = "0123456789-+xXabfABF _.eE:/T\n\t\u0663\uff11"  # Arabic-Indic 3, fullwidth 1
_NEAR_INTS = st.from_regex(r"[-+ ]?0?[xX]?[0-9a-fA-F_]{1,20}[ \n]?", fullmatch=True)
_NEAR_DATES = st.from_regex(r"[-+ ]?[0-9]{1,5}[-/][0-9]{1,2}[-/][0-9]{1,2}[ TZ]?", fullmatch=True)


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        st.text(_CAST_ALPHABET, max_size=22),
        _NEAR_INTS,
        _NEAR_DATES,
        st.from_regex(dialect.INTEGER_TEXT, fullmatch=True),
        st.from_regex(dialect.DATE_TEXT, fullmatch=True),
    ),
    st.sampled_from(["BIGINT", "DATE"]),
)
@example("0000-01-01", "DATE")
@example("0000-02-29", "DATE")
@example("0x1F", "BIGINT")
@example("-0x1F", "BIGINT")
@example("00077", "BIGINT")
@example("-0", "BIGINT")
@example("-9223372036854775808", "BIGINT")
@pytest.mark.slow
def test_the_cast_fast_path_takes_only_what_the_rule_takes(text: str, data_type: str) -> None:
    """``BIGINT`` and ``DATE`` columns are fitted by Arrow's cast and a cheap check when the
    whole column casts: Arrow takes more than the rule (hex ``0x1F``, ``00077``, ``-0``, year
    ``0000``); none of it may pass, and what passes is the rule's value."""
    fast = fitting._cast_fits(pa.array([text, None], pa.string()), data_type)
    if fast is not None:
        assert dialect.fits(text, data_type), text
        assert fast.to_pylist()[1] is None
        if data_type == "BIGINT":
            assert fast.to_pylist()[0] == int(text)
        else:
            assert fast.to_pylist()[0].isoformat() == text
    got = fits(pa.array([text, text, None], pa.string()), data_type).to_pylist()
    assert got == [dialect.fits(text, data_type)] * 2 + [None]


#: Near a timestamp, 19 characters long and not: Arrow's parser takes an offset (``+01``,
#: ``+01:00``, ``Z``), a fraction, a date alone; the rule takes none of them.
_NEAR_STAMPS = st.from_regex(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ Tt_]?[0-9]{1,2}(?:[:+-][0-9]{2}){0,3}(?:[.Z][0-9]{0,3})?",
    fullmatch=True,
)
_STAMP_ALPHABET = "0123456789-: T+Z.\n"


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.from_regex(dialect.TIMESTAMP_TEXT, fullmatch=True),
            _NEAR_STAMPS,
            st.text(_STAMP_ALPHABET, min_size=19, max_size=19),
        ),
        min_size=1,
        max_size=6,
    )
)
@example(["2024-01-01 00:00:00", "2024-01-01 00:00+01"])
@example(["2024-01-01 00:00:00", "2024-01-01 00+01:00"])
@example(["2024-01-01T23:59:59", "2024-01-01 24:00:00"])
@example(["2024-01-01 00:00:00", "0000-01-01 00:00:00"])
@example(["2024-01-01 00:00:00", "2023-02-29 00:00:00"])
@example(["2024-01-01 00:00:00", "2024-01-01 00:00:60"])
@example(["2024-01-01 00:00:00", None, "2024-01-01 00:00:0Z"])
@pytest.mark.slow
def test_the_timestamp_fast_path_agrees_with_the_rule(texts: list[str | None]) -> None:
    """A ``TIMESTAMP`` column of 19-character texts is fitted by Arrow's cast and a look at
    two bytes, not the regular expression; Arrow's parser takes offsets (``hh:mm+hh``,
    ``hh+hh:mm``) in 19 characters too. The fast path answers only when every text fits the
    rule, and then with the values the rule's path casts (``_castable``); the column's answer
    is the rule's either way."""
    column = pa.array(texts, pa.string())
    expected = [None if t is None else dialect.fits(t, "TIMESTAMP") for t in texts]
    fast = fitting._cast_fits(column, "TIMESTAMP")
    if fast is not None:
        assert all(ok is not False for ok in expected), texts
        slow = fitting._castable(
            column, pa.timestamp("us"), pa.array([ok is True for ok in expected]), "TIMESTAMP"
        )[1]
        assert slow is not None
        assert fast.equals(slow.cast(pa.timestamp("us", tz="UTC")))
    # the same texts as a slice of a longer column (its bytes start past the buffer's start)
    sliced = pa.array(["1999-12-31T23-59-59", None, *texts], pa.string()).slice(2)
    fast_sliced = fitting._cast_fits(sliced, "TIMESTAMP")
    assert (fast_sliced is None) == (fast is None)
    if fast is not None and fast_sliced is not None:
        assert fast_sliced.equals(fast)
    ok, values = fitting.fits_and_values(column, "TIMESTAMP")
    assert ok.to_pylist() == expected
    if values is not None and all(e is not False for e in expected):
        assert [v is None for v in values.to_pylist()] == [t is None for t in texts]
