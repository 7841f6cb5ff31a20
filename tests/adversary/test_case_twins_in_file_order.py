"""Keys equal but for case, in any order over a file's records: the API's file check and the
loader's reading name the same pair in the same order (issue #8, session 18).

The rule (docs/loading.md, Column names): a JSON file's keys are judged in the order the file
first gives them, record after record, each record's in its order, so the second seen is named
beside the first. *Before:* the API judged the keys sorted (``{"b": 1, "B": 2}``: "column 'b'
differs only by case from column 'B'" to the API, the other way round to the loader), and with
a contract its fast test listed them in the contract's order.

Each side is its own code on a real file: the API's ``ingest.filecheck.check_file`` (what
``/files`` runs) and the loader's ``loader.readers.open_json`` (DuckDB) with the names check the
loader runs on what it opened (``Loader._check_names``). The HTTP round trip of the same shapes
is in ``test_refusal_words_sweep.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.filecheck import FileError, check_file
from ingest.validation import BodyError, RecordsError
from lakehouse.contracts import Column, Contract
from lakehouse.formats import from_name
from loader.exceptions import FileRejected
from loader.loading import Loader
from loader.readers import detect, open_json

#: names of two case families, a name of its own, and two blank ones (named by their place)
KEYS = ["id", "Id", "ID", "x", "X", "n", "", " "]
records = st.lists(
    st.dictionaries(st.sampled_from(KEYS), st.integers(0, 9), min_size=1, max_size=4),
    min_size=1,
    max_size=5,
)
#: a contract declaring one spelling of each family (or none), its keys as integers
contracts = st.sampled_from([None, ("id", "x"), ("ID", "n"), ("Id", "X", "n")])


def _api(path: Path, contract: Contract | None) -> str:
    kind = from_name(path.name)
    assert kind is not None
    try:
        check_file(path, kind, contract)
    except RecordsError as exc:
        return str(exc.errors[0]["msg"])
    except (BodyError, FileError) as exc:
        return str(exc)
    return "taken"


def _loader(path: Path, contract: Contract | None) -> str:
    try:
        with open_json(detect(path), batch_rows=1024) as text:
            Loader._check_names(text.names, None, contract or Contract("t", ()))
    except FileRejected as exc:
        return exc.reason
    return "taken"


def _file(folder: Path, rows: list[dict[str, Any]], ext: str) -> Path:
    lines = [json.dumps(r) for r in rows]
    text = "\n".join(lines) + "\n" if ext == "ndjson" else "[" + ",\n".join(lines) + "]"
    path = folder / f"a.{ext}"
    path.write_text(text)
    return path


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=records, declared=contracts, ext=st.sampled_from(["ndjson", "json"]))
def test_both_sides_name_case_twins_in_the_files_order(
    tmp_path: Path, rows: list[dict[str, Any]], declared: tuple[str, ...] | None, ext: str
) -> None:
    contract = (
        None
        if declared is None
        else Contract("t", tuple(Column(name, "bigint") for name in declared))
    )
    path = _file(tmp_path, rows, ext)
    assert _api(path, contract) == _loader(path, contract), rows
