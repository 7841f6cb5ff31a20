"""The landing dialect's rule, as data: fits, inference, names, delimiter, encoding."""

from __future__ import annotations

import pytest

from lakehouse.dialect import (
    MAX_COLUMNS,
    check_names,
    csv_delimiter,
    first_non_utf8,
    fits,
    header_record,
    infer,
    json_column_type,
    text_encoding,
    type_name,
)

FITS = [
    ("0", "BIGINT", True),
    ("-7", "BIGINT", True),
    ("9223372036854775807", "BIGINT", True),
    ("9223372036854775808", "BIGINT", False),
    ("-0", "BIGINT", False),
    ("00077", "BIGINT", False),
    ("-007", "BIGINT", False),
    ("+1", "BIGINT", False),
    ("0x1F", "BIGINT", False),
    ("1_000", "BIGINT", False),
    ("0b101", "BIGINT", False),
    ("1e3", "BIGINT", False),
    (" 2", "BIGINT", False),
    ("2.0", "BIGINT", False),
    ("128", "TINYINT", False),
    ("127", "int1", True),
    ("0.1", "DOUBLE", True),
    ("8", "DOUBLE", True),
    ("1.50", "DOUBLE", True),
    ("0.30000000000000004", "DOUBLE", True),
    ("0.1234567890123456789", "DOUBLE", False),
    ("12345678901234567.89", "DOUBLE", False),
    ("1.0000000000000000001", "DOUBLE", False),
    ("99999999999999999999", "DOUBLE", False),
    (".5", "DOUBLE", False),
    ("1.", "DOUBLE", False),
    ("1e5", "DOUBLE", False),
    ("-0.0", "DOUBLE", False),
    ("NaN", "DOUBLE", False),
    ("123456", "FLOAT", True),
    ("1234567", "FLOAT", False),
    ("0." + "0" * 36 + "1", "REAL", True),  # 1e-37: float32's normal range
    ("0." + "0" * 37 + "999999", "REAL", False),  # 9.99999e-38: fewer digits in a float32
    ("0." + "0" * 45 + "3", "REAL", False),  # 3e-46: a float32 0.0
    ("0." + "0" * 400 + "1", "FLOAT4", False),  # a float64 0.0 too: not zero
    ("0.000", "FLOAT", True),
    ("1" + "0" * 37, "FLOAT", True),
    ("1" + "0" * 38, "FLOAT", False),
    ("1.25", "DECIMAL(10,2)", True),
    ("1.5", "decimal(10, 2)", True),
    ("1.005", "DECIMAL(10,2)", False),
    ("123456789", "DECIMAL(10,2)", False),
    ("12345678", "numeric(10,2)", True),
    ("true", "BOOLEAN", True),
    ("True", "BOOLEAN", False),
    ("1", "BOOLEAN", False),
    ("2024-02-29", "DATE", True),
    ("2023-02-29", "DATE", False),
    ("2024-1-2", "DATE", False),
    ("03/04/2024", "DATE", False),
    ("2024-01-02 13:45:00", "DATE", False),
    ("2024-01-02 13:45:00", "TIMESTAMP", True),
    ("2024-01-02T13:45:00.123456", "TIMESTAMP", True),
    ("2024-01-02T13:45:00.1234567", "TIMESTAMP", False),
    ("2024-01-02T13:45:00Z", "TIMESTAMP", False),
    ("2024-01-02T13:45:00Z", "timestamp with time zone", True),
    ("2024-01-02T13:45:00+01:00", "TIMESTAMPTZ", True),
    ("2024-01-02T25:45:00", "TIMESTAMPTZ", False),
    ("12:02:55", "TIMESTAMP", False),
    ("anything at all", "VARCHAR", True),
    ("12:02:55", "TIME", True),  # kept as text
    ("9" * 5000, "BIGINT", False),  # past int()'s 4,300 digits: no ValueError
    ("-" + "9" * 5000, "UBIGINT", False),
    ("9" * 20, "UBIGINT", False),
    ("18446744073709551615", "UBIGINT", True),
]


@pytest.mark.parametrize(("text", "data_type", "expected"), FITS)
def test_fits(text: str, data_type: str, expected: bool) -> None:
    assert fits(text, data_type) is expected


INFER = [
    (["1", "2"], "BIGINT"),
    (["1", "2.5"], "DOUBLE"),
    (["00077"], "VARCHAR"),
    (["0x1F", "-007"], "VARCHAR"),
    (["0.1234567890123456789", "12345678901234567.89"], "DECIMAL(38,19)"),
    (["99999999999999999999"], "DECIMAL(38,0)"),
    (["1" * 40], "VARCHAR"),
    (["true", "false"], "BOOLEAN"),
    (["2024-01-01"], "DATE"),
    (["2024-01-01", "2024-01-02 13:45:00"], "VARCHAR"),  # a date is no timestamp text
    (["03/04/2024", "12/31/2024"], "VARCHAR"),
    (["12:02:55"], "VARCHAR"),
    (["NA", "1"], "VARCHAR"),
    ([" 2", "3"], "VARCHAR"),
    ([None, None], "VARCHAR"),
    ([None, "5"], "BIGINT"),
]


@pytest.mark.parametrize(("texts", "expected"), INFER)
def test_infer(texts: list[str | None], expected: str) -> None:
    assert infer(texts) == expected


def test_json_column_type() -> None:
    assert json_column_type(["number", "number"], ["1", "2"]) == "BIGINT"
    assert json_column_type(["number"], ["99999999999999999999"]) == "DECIMAL(38,0)"
    assert json_column_type(["number"], ["1.0000000000000000001"]) == "DECIMAL(38,19)"
    assert json_column_type(["string"], ["2024-01-01"]) == "VARCHAR"
    assert json_column_type(["number", "string"], ["1", "x"]) == "VARCHAR"
    assert json_column_type(["boolean"], ["true"]) == "BOOLEAN"
    assert json_column_type(["nested"], ["[1.0,2.0]"]) == "VARCHAR"
    assert json_column_type(["object"], ['{"c":1}']) == "STRUCT"
    assert json_column_type([], []) == "VARCHAR"


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        ([" barks", "dog"], None),
        (["Contact Phone Number", "a.b", "ção"], None),
        (["id", ""], "blank"),
        (["id", "  "], "blank"),
        (["id", "id"], "repeats"),
        (["ID", "id"], "only by case"),
        (["a\x00b"], "control"),
        (["a\nb"], "control"),
        (["_batch_id"], "reserved"),
        (["_Rescued_Data"], "reserved"),
        ([f"c{i}" for i in range(MAX_COLUMNS + 1)], "at most"),
    ],
)
def test_check_names(names: list[str], problem: str | None) -> None:
    found = check_names(names)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("a,b,c", ","),
        ("a;b;c", ";"),
        ("a|b", "|"),
        ("a\tb", "\t"),
        ("abc", ","),
        ("a;b,c", ","),  # a tie
        ('"x;y;z",b', ","),  # inside quotes does not count
        ("a;b;c,d", ";"),
    ],
)
def test_csv_delimiter(header: str, delimiter: str) -> None:
    assert csv_delimiter(header) == delimiter
    assert csv_delimiter(header, "tsv") == "\t"


def test_header_record_spans_a_quoted_newline() -> None:
    assert header_record('a,"b\nc",d\r\n1,2,3') == 'a,"b\nc",d'


def test_encoding() -> None:
    assert text_encoding("\ufeffa".encode("utf-16")) == "utf-16"
    assert text_encoding(b"\xef\xbb\xbfa,b") == "utf-8"
    assert first_non_utf8("a,b\n1,café\n".encode("latin-1")) == 9
    assert first_non_utf8("é".encode()[:1], final=False) is None
    assert first_non_utf8("é".encode()[:1]) == 0


def test_type_names() -> None:
    assert type_name("timestamp with time zone") == "TIMESTAMPTZ"
    assert type_name("numeric(12, 2)") == "DECIMAL(12,2)"
    assert type_name("int8") == "BIGINT"
    assert type_name("varchar(20)") == "VARCHAR"
