"""A JSON file's keys taken from DuckDB's detection (``readers.DETECTED_KEYS``) give what the
key pass gives (``readers._json_keys`` over the first records, then DuckDB's detection).

Without the key pass, the file is parsed once less for its keys; what that pass refused or
found must still be refused or found: a ``null`` record (which DuckDB's detection reads as a
row of nulls), a record that is not an object, a key repeated or differing only by case, a
name the loader refuses, a key first seen after the sample, and the keys' first-seen order.
The sample is made small here (``SAMPLE_RECORDS``) so that records after it are met too. Each
file is read with and without the detected keys, reading again as the loader does
(:class:`ReadAgain`); the outcome must be the same: the columns in order and every value, or
the same refusal with the same reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse import Settings, dialect
from loader import readers
from loader.exceptions import FileRejected, ReadAgain
from loader.loading import Loader
from tests.loader.loader_support import bronze, drop

SAMPLE = 6

#: keys that clash by case, look like DuckDB's renames, are refused or escaped
KEYS = ["a", "A", "b", "a_1", "A_1", "c_2", "é", "É", "", " ", "_batch_id", "x.y", "\u00e9"]
values = st.sampled_from(["1", '"s"', "null", "true", "[1]", '{"k": 2}', "1.5", '"\\u0041"'])
keys = st.sampled_from(KEYS).map(json.dumps) | st.sampled_from(['"\\u0061"', '"\\u0041"'])
objects = st.lists(st.tuples(keys, values), max_size=4).map(
    lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
)
# mostly plain records with the same keys, so that most files load
plain = st.sampled_from(['{"a": 1, "b": "x"}', '{"b": null, "a": 2}', '{"a": 3}', '{"b": 4}'])
records = st.one_of(
    plain,
    plain,
    plain,
    objects,
    st.sampled_from(["null", " null\t", "{}", '{"a": null, "b": null}', "5", '"x"', "[1]"]),
)
files = st.lists(records, min_size=1, max_size=3 * SAMPLE)


def read(path: Path, *, detected: bool) -> tuple[Any, ...]:
    """Open the file as the loader does (reading again as asked), every batch drained."""
    every_key = exact = False
    readers.DETECTED_KEYS = detected
    while True:
        con = duckdb.connect()
        try:
            source = readers.detect(path)
            with readers.open_json(
                source, batch_rows=4, database=con, exact=exact, every_key=every_key
            ) as text:
                table = pa.Table.from_batches(list(text.batches))
                return ("loaded", text.names, table.to_pylist())
        except ReadAgain as again:
            assert (again.every_key and not every_key) or (again.exact and not exact), again
            every_key, exact = every_key or again.every_key, exact or again.exact
        except FileRejected as exc:
            return ("refused", exc.kind, exc.reason, exc.line, exc.column)
        finally:
            con.close()


@pytest.fixture
def small_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "SAMPLE_RECORDS", SAMPLE)
    monkeypatch.setattr(readers, "DETECTED_KEYS", True)


@pytest.mark.slow
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(lines=files, kind=st.sampled_from(["ndjson", "json"]))
def test_detected_keys_read_as_the_key_pass(
    tmp_path: Path, small_sample: None, lines: list[str], kind: str
) -> None:
    path = tmp_path / f"f.{kind}"
    text = "\n".join(lines) + "\n"
    if kind == "json":
        text = "[" + ",\n".join(lines) + "]\n"
    path.write_text(text, encoding="utf-8")
    assert read(path, detected=True) == read(path, detected=False)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # a null record among the sample's: refused, as the key pass refuses it
        (['{"a": 1}', "null", '{"a": 2}'], ("refused", "unparseable")),
        (['{"a": 1}', " null\r"], ("refused", "unparseable")),
        # an empty object and one of nulls are rows of nulls
        (['{"a": 1}', "{}", '{"a": 2}'], ("loaded", ["a"])),
        (['{"a": 1, "b": 2}', '{"b": null, "a": null}'], ("loaded", ["a", "b"])),
        # keys by first sight; a key differing by case refused; a name like DuckDB's renames
        (['{"b": 1}', '{"a": 2, "c": 3}', '{"c": 4, "d": 5}'], ("loaded", ["b", "a", "c", "d"])),
        (['{"a": 1}', '{"A": 2}'], ("refused", "invalid_column")),
        (['{"a": 1, "a_1": 2}'], ("loaded", ["a", "a_1"])),
        # a key first seen after the sample: read again with every key
        ([*['{"a": 1}'] * (SAMPLE + 2), '{"a": 2, "z": 3}'], ("loaded", ["a", "z"])),
    ],
)
def test_detected_keys_cases(
    tmp_path: Path, small_sample: None, lines: list[str], expected: tuple[Any, ...]
) -> None:
    path = tmp_path / "f.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = read(path, detected=True)
    assert got[:2] == expected
    assert got == read(path, detected=False)


def test_null_record_in_the_sample_refuses_the_file_in_the_loader(
    tmp_path: Path, small_sample: None
) -> None:
    """Through the loader: the null record's file quarantined with the key pass's reason, the
    empty object's file loaded with its row of nulls, both as without the detected keys."""
    outcomes = []
    for detected in (True, False):
        readers.DETECTED_KEYS = detected
        settings_ = Settings(root=tmp_path / str(detected))
        drop(settings_, "t", "nulls.ndjson", '{"a": 1}\nnull\n{"a": 2}\n')
        drop(settings_, "u", "empty.ndjson", '{"a": 1}\n{}\n{"a": 2}\n')
        summary = Loader(settings_).load_pending()
        reasons = sorted(q.reason for q in summary.quarantined)
        rows = bronze(settings_, "u").select(["a"]).to_pylist()
        outcomes.append((reasons, rows))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == [f"line 2: {dialect.NOT_OBJECT}"]
    assert outcomes[0][1] == [{"a": 1}, {"a": None}, {"a": 2}]


@pytest.mark.parametrize("detected", [True, False])
@pytest.mark.parametrize("kind", ["ndjson", "json"])
def test_a_null_record_after_the_sample_is_refused_not_a_row_of_nulls(
    tmp_path: Path, small_sample: None, detected: bool, kind: str
) -> None:
    """DuckDB reads a ``null`` record as a row of nulls; after the first records (no key pass
    over them) it was loaded so. Now a row of nulls there makes the file read exactly, which
    refuses the ``null`` record (naming its line), and keeps an empty object or one of nulls
    as a row of nulls."""
    lines = ['{"a": 1, "b": "x"}'] * (SAMPLE + 3)
    path = tmp_path / f"f.{kind}"

    def write(records: list[str]) -> None:
        text = "\n".join(records) + "\n"
        path.write_text("[" + ",\n".join(records) + "]\n" if kind == "json" else text)

    write([*lines, "null", '{"a": 2, "b": "y"}'])
    got = read(path, detected=detected)
    assert got[:2] == ("refused", "unparseable")
    assert dialect.NOT_OBJECT in got[2]
    assert got[3] == (SAMPLE + 4 if kind == "ndjson" else None)  # its line, in NDJSON
    for empty in ("{}", '{"b": null, "a": null}'):
        write([*lines, empty, '{"a": 2, "b": "y"}'])
        got = read(path, detected=detected)
        assert got[:2] == ("loaded", ["a", "b"])
        assert got[2][-2:] == [{"a": None, "b": None}, {"a": "2", "b": '"y"'}]
        assert len(got[2]) == SAMPLE + 5
