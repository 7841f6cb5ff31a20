"""Column names equal but for Unicode normalization (NFC ``café`` and NFD ``cafe\\u0301``: macOS
file names and exports, some Excel builds, copy-paste) are twins as names differing only by case
are: refused with a reason naming both, by the API and the loader alike (one rule,
``lakehouse.dialect.name_key``). Before (revl s14 12) a file spelling a declared column the
other way bypassed its contract (a text in a declared bigint: 202), and a table split into two
columns that print the same."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from adversary_support import declare, lakehouse, run

from lakehouse import dialect

NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")


@pytest.mark.parametrize(("declared", "sent"), [(NFC, NFD), (NFD, NFC)], ids=["nfc-nfd", "nfd-nfc"])
def test_a_name_equal_but_for_normalization_is_not_a_new_column(
    tmp_path: Path, declared: str, sent: str
) -> None:
    settings = lakehouse(tmp_path)
    declare(settings, "t", {declared: "bigint"}, "quarantine")
    out = run(settings, [("t", "a.csv", f"{sent}\nabc\n".encode())])["t"]
    assert out.api_status == 422, (out.api_status, out.loaded_rows)
    assert out.refused is not None and out.refused["kind"] == "invalid_column", out.loaded_rows
    assert "only by Unicode normalization" in out.refused["reason"], out.refused


def test_a_table_does_not_split_into_twins(tmp_path: Path) -> None:
    settings = lakehouse(tmp_path)
    run(settings, [("t", "a.csv", f"id,{NFC}\n1,5\n".encode())])
    out = run(settings, [("t", "b.csv", f"id,{NFD}\n2,6\n".encode())])["t"]
    names = sorted({k for r in out.loaded_rows or [] for k in r if not k.startswith("_")})
    assert out.api_status == 422, (out.api_status, names)
    assert out.refused is not None and out.refused["kind"] == "invalid_column", names


def test_twins_in_one_file_are_refused() -> None:
    found = dialect.name_problem(["id", NFC, NFD])
    assert found is not None and found[0] == NFD
    assert "differs only by Unicode normalization from" in found[1]
    found = dialect.name_problem(["id", "Café", NFD])
    assert found is not None and "only by case and Unicode normalization" in found[1]
    found = dialect.name_problem(["id", "ID"])  # case twins keep their words
    assert found == (
        "ID",
        "column 'ID' differs only by case from column 'id' (column names are case-insensitive"
        " in Delta and DuckDB)",
    )
