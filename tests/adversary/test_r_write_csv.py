"""Files as R writes them by default (docs/loading.md, Column names): ``write.csv(df)`` writes
the row names as a first column whose name is ``""``; bronze refuses a blank name (it is no
name a query can use, and renaming it would be a silent change), and both the API and the
loader say so naming the column's place in the file truthfully (``column 1``, counted from 1
as an editor shows it, after a byte-order mark and ``skip_lines`` alike). ``write.table(df,
sep = "\\t")`` writes no name at all for the row names: its header has one field fewer than
every row, refused naming line 2. ``row.names = FALSE`` writes what bronze loads."""

from __future__ import annotations

import pytest
from adversary_support import declare, run

from lakehouse.settings import Settings

#: write.csv(data.frame(id = 1:2, name = c("a", "b"))), R 4.x, byte for byte
R_WRITE_CSV = b'"","id","name"\n"1",1,"a"\n"2",2,"b"\n'
#: the same, row.names = FALSE
R_NO_ROW_NAMES = b'"id","name"\n1,"a"\n2,"b"\n'
#: write.table(..., sep = "\t", quote = FALSE): no name for the row names
R_WRITE_TABLE = b"id\tname\n1\t1\ta\n2\t2\tb\n"


@pytest.mark.parametrize(
    ("name", "data", "place"),
    [
        ("r.csv", R_WRITE_CSV, 1),
        ("bom.csv", b"\xef\xbb\xbf" + R_WRITE_CSV, 1),  # fileEncoding = "UTF-8-BOM"
        ("third.csv", b'"id","name",""\n1,"a","x"\n', 3),
        ("spaces.csv", b'id," ",name\n1,x,a\n', 2),
    ],
)
def test_a_blank_name_is_refused_naming_its_place_alike(
    module_lakehouse: Settings, name: str, data: bytes, place: int
) -> None:
    table = f"rcsv_{name.split('.')[0]}"
    outcome = run(module_lakehouse, [(table, name, data)])[table]
    blank = "' '" if name == "spaces.csv" else "''"
    words = f"column {place} has a blank name ({blank})"
    assert outcome.api_status == 422, outcome.api_detail
    assert words in str(outcome.api_detail), outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "invalid_column", refused
    assert words in refused["reason"], refused


def test_a_blank_name_is_refused_alike_under_a_contract_and_skip_lines(
    module_lakehouse: Settings,
) -> None:
    table = "rcsv_contract"
    declare(module_lakehouse, table, {"id": "integer"})
    path = module_lakehouse.dbt_project_dir / "models" / f"{table}.yml"
    path.write_text(
        path.read_text().replace(
            "- name: rcsv_contract", "- name: rcsv_contract\n        meta: {skip_lines: 1}"
        )
    )
    outcome = run(module_lakehouse, [(table, "t.csv", b"exported by R\n" + R_WRITE_CSV)])[table]
    assert outcome.api_status == 422, outcome.api_detail
    assert "column 1 has a blank name ('')" in str(outcome.api_detail), outcome.api_detail
    assert outcome.refused is not None, outcome.loaded_rows
    assert "column 1 has a blank name ('')" in outcome.refused["reason"], outcome.refused


def test_write_table_row_names_refuse_line_2_and_row_names_false_loads(
    module_lakehouse: Settings,
) -> None:
    outcome = run(module_lakehouse, [("rcsv_table", "t.tsv", R_WRITE_TABLE)])["rcsv_table"]
    assert outcome.api_status == 400, outcome.api_detail
    assert "line 2 has 3 fields, the header has 2" in str(outcome.api_detail)
    assert outcome.refused is not None
    assert "line 2 has 3 fields, the header has 2" in outcome.refused["reason"], outcome.refused
    good = run(module_lakehouse, [("rcsv_good", "g.csv", R_NO_ROW_NAMES)])["rcsv_good"]
    assert good.api_status == 202 and good.refused is None, (good.api_detail, good.refused)
    assert sorted((r["id"], r["name"]) for r in good.loaded_rows or []) == [(1, "a"), (2, "b")]
