"""The vectorized rule (loader.fitting) gives the answers of the rule itself (lakehouse.dialect)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from lakehouse import dialect
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
    "2024-01-02T13:45:00Z",
    "2024-01-02T13:45:00+01:00",
    "2024-01-02T24:00:00",
    "2024-02-30 00:00:00",
    "12:02:55",
    "",
    "NA",
    "ação",
    "1234567.25",
    "100000000000000000000",
    "0.000001",
    "123456789012345678",
    "1234567890123456789",
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
    "TIMESTAMPTZ",
    "VARCHAR",
]


@pytest.mark.parametrize("data_type", TYPES)
def test_vectorized_fits_agrees_with_the_rule(data_type: str) -> None:
    got = fits(pa.array([*TEXTS, None]), data_type).to_pylist()
    want = [dialect.fits(t, data_type) for t in TEXTS]
    assert dict(zip(TEXTS, got[:-1], strict=True)) == dict(zip(TEXTS, want, strict=True))
    assert got[-1] is None


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
