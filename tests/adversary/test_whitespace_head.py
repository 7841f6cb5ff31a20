"""A file is empty by what it holds, not by its first 64 KiB. The loader refused a CSV, NDJSON
or JSON file as ``empty`` "the file is empty" when its first 64 KiB (``readers._PEEK_BYTES``)
were whitespace: 70,000 spaces before a header ``x,y`` (a name may begin with spaces), 70,000
blank lines before an NDJSON record, 70,000 spaces before a JSON array all got 202 from the API
and were then quarantined; FastCSV's one-space file (osiegmar/FastCSV@36e45ee0
lib/src/intTest/resources/spec/spaces-unquoted.yaml, spaces-unquoted-1, Apache-2.0) was
``empty`` to the loader, a blank name to the API; a byte that is not UTF-8 after such a head was
``empty``, not named first (review finding audith 02, HIGH). Now a CSV is empty only when it
holds no byte (a blank line 1 is no header, a blank name is refused as one), a JSON file only
when it holds nothing but JSON whitespace, however long.
"""

from __future__ import annotations

import gzip

import pytest
from adversary_support import run

from lakehouse.settings import Settings

PAD = 70_000  # past the loader's 64 KiB head

LOADS = {
    "spaced_name_csv": ("t.csv", b" " * PAD + b"x,y\n1,2\n"),
    "blank_lines_ndjson": ("t.ndjson", b"\n" * PAD + b'{"a":1}\n'),
    "bom_blank_lines_ndjson": ("t.ndjson", b"\xef\xbb\xbf" + b"\r\n" * PAD + b'{"a":1}\n'),
    "spaced_array_json": ("t.json", b" " * PAD + b'[{"a":1}]'),
    "spaced_object_json": ("t.json", b"\t" * PAD + b'{"a":1}'),
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("case", LOADS)
def test_a_file_whose_head_is_whitespace_loads(
    module_lakehouse: Settings, case: str, gz: bool
) -> None:
    name, data = LOADS[case]
    table = f"{case}_{'gz' if gz else 'plain'}"
    sent = (name + ".gz", gzip.compress(data)) if gz else (name, data)
    out = run(module_lakehouse, [(table, *sent)])[table]
    assert out.api_status == 202, out.api_detail
    assert out.refused is None, out.refused
    assert out.loaded_rows is not None and len(out.loaded_rows) == 1
    values = {k: v for k, v in out.loaded_rows[0].items() if not k.startswith("_")}
    if case == "spaced_name_csv":
        assert values == {" " * PAD + "x": "1", "y": "2"} or values == {" " * PAD + "x": 1, "y": 2}
    else:
        assert list(values) == ["a"]


REFUSED = {
    # FastCSV spaces-unquoted-1: a header of one blank name
    "one_space_csv": ("t.csv", b" ", 422, "invalid_column"),
    "spaces_csv": ("t.csv", b" " * PAD, 422, "invalid_column"),
    "not_utf8_after_spaces_csv": ("t.csv", b" " * PAD + b"x\n1\n\xff\n", 400, "encoding"),
    "blank_json": ("t.json", b"\xef\xbb\xbf" + b" " * PAD, 422, "empty"),
    "blank_ndjson": ("t.ndjson", b"\n" * PAD, 422, "empty"),
    "empty_array_json": ("t.json", b" " * PAD + b"[ ]", 422, "empty"),
    "cut_array_json": ("t.json", b" " * PAD + b'[{"a":1},', 400, "unparseable"),
    "no_bytes_csv": ("t.csv", b"", 422, "empty"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_file_refused_is_refused_by_both_for_what_it_holds(
    module_lakehouse: Settings, case: str
) -> None:
    name, data, status, kind = REFUSED[case]
    out = run(module_lakehouse, [(case, name, data)], rows=False)[case]
    assert out.api_status == status, out.api_detail
    assert out.refused is not None, "loaded"
    assert out.refused["kind"] == kind, out.refused
    if kind == "encoding":
        assert f"byte {PAD + 4}" in out.refused["reason"], out.refused
        assert f"byte {PAD + 4}" in str(out.api_detail)
