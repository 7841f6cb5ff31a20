"""An unquoted empty field ending a CSV's last record, after a quoted field on that record and
with no line end after it (``2,"y",`` at the end of the file), is null, for the API's values
pass as for the loader (docs/loading.md, Nulls). pyarrow reads it as ``''`` there (null with a
line end after it); the loader added the line end, the API's values pass did not: a column
declared ``not_null`` got 202 and then the loader's ``required`` refusal, a declared number or
date column a 422 "'' does not fit" for a field that holds no value (review finding auditc 03,
session 12; JuliaData/CSV.jl test/testfiles/issue_207.csv). Both read through
``lakehouse.dialect.LineEnded`` now."""

from __future__ import annotations

from pathlib import Path

import pytest
from adversary_support import declare, run

from lakehouse.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data"


def test_a_required_column_null_at_the_files_end_is_refused_by_the_api(
    one_lakehouse: Settings,
) -> None:
    (one_lakehouse.dbt_project_dir / "models" / "t.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n      - name: t\n        columns:\n"
        "          - name: f\n            data_type: varchar\n            tests: [not_null]\n"
    )
    outcome = run(one_lakehouse, [("t", "t.csv", b'a,e,f\n1,x,y\n2,"y",')])["t"]
    assert outcome.refused is not None and outcome.refused["kind"] == "required", outcome
    assert outcome.api_status == 422, outcome.api_detail


@pytest.mark.parametrize(
    ("data_type", "value"),
    [("double", b"1.5"), ("bigint", b"5"), ("date", b"2024-01-02"), ("varchar", b"v")],
)
@pytest.mark.parametrize("end", [b"", b"\r"])
@pytest.mark.parametrize("delimiter", [b",", b";"])
def test_a_null_at_the_files_end_is_no_misfit(
    module_lakehouse: Settings, data_type: str, value: bytes, end: bytes, delimiter: bytes
) -> None:
    table = f"ln_{data_type}_{len(end)}_{ord(delimiter)}"
    declare(module_lakehouse, table, {"f": data_type})
    data = b"a,e,f\n1,x," + value + b"\n2," + b'"y",' + end
    data = data.replace(b",", delimiter)
    outcome = run(module_lakehouse, [(table, "t.csv", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None and outcome.loaded_rows is not None, outcome.refused
    assert sorted(str(r["f"]) for r in outcome.loaded_rows) == sorted(["None", value.decode()])


def test_the_corpus_file_with_its_sniffed_types(module_lakehouse: Settings) -> None:
    data = (DATA / "csvjl" / "issue_207.csv").read_bytes()
    assert not data.endswith(b"\n") and data.endswith(b'",')
    declare(module_lakehouse, "ln_corpus", {"a": "bigint", "d": "double", "f": "double"})
    outcome = run(module_lakehouse, [("ln_corpus", "issue_207.csv", data)])["ln_corpus"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.loaded_rows is not None, outcome.refused
    assert sorted(str(r["f"]) for r in outcome.loaded_rows) == ["-0.002033899", "None"]
