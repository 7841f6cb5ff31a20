"""What the loader calls "an empty JSON array": a ``.json`` file holding ``[]`` and JSON
whitespace only (space, tab, LF, CR), however much of it. Review findings auditj 01 and
audits 04 (sessions 12, 11): the loader's check was a regex over the file's first 64 KiB with
Python's ``\\s``, run for NDJSON too, so ``[\\f]`` (JSONTestSuite/yyjson
``n_structure_whitespace_formfeed.json``: not JSON) and an NDJSON line ``[]`` (a record that is
not an object) were quarantined ``empty``, where the API refuses them as not JSON / not an
object; and ``[`` + 70,000 spaces + ``]`` was called a file of empty objects."""

from __future__ import annotations

import pytest
from adversary_support import run

from lakehouse.settings import Settings

NOT_EMPTY = {  # refused by both as what they are (unparseable), never "empty"
    "form_feed.json": b"[\x0c]",
    "vertical_tab.json": b"[\x0b]\n",
    "array.ndjson": b"[]\n",
    "spaced_array.ndjson": b"[ ]\n",
    "form_feed_array.ndjson": b"[\x0c]\n",
}
EMPTY = {  # an empty array, the whitespace past the first 64 KiB read
    "long_inside.json": b"[" + b" " * 70_000 + b"]",
    "long_around.json": b" " * 70_000 + b"[" + b"\t\r\n" * 30_000 + b"]" + b"\n" * 70_000,
    "marked.json": b"\xef\xbb\xbf[ ]\n",
}


def _table(name: str) -> str:
    return "ea_" + name.replace(".", "_")


@pytest.mark.parametrize("name", list(NOT_EMPTY))
def test_not_json_or_not_an_object_is_no_empty_file(module_lakehouse: Settings, name: str) -> None:
    outcome = run(module_lakehouse, [(_table(name), name, NOT_EMPTY[name])])[_table(name)]
    assert 400 <= outcome.api_status < 500, outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "unparseable", refused
    assert "empty" not in refused["reason"], refused


@pytest.mark.parametrize("name", list(EMPTY))
def test_an_empty_array_is_named_so_however_long(module_lakehouse: Settings, name: str) -> None:
    outcome = run(module_lakehouse, [(_table(name), name, EMPTY[name])], rows=False)[_table(name)]
    assert outcome.api_status == 422, outcome.api_detail
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "empty", refused
    assert refused["reason"] == "the file is an empty JSON array", refused
