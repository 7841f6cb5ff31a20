"""A declared type holds a value only when it keeps it exactly, in the API and the loader alike.

docs/loading.md, "Types": a value that does not fit its column's declared type is a mismatch,
never rounded or widened; the table's ``on_mismatch`` says what happens to it (``quarantine``:
the file is refused ``type_conflict``; ``rescue``: null in the column, the text in
``_rescued_data``). The API answers 422 for the same bytes. Each case goes through the real API
and the real loader (``adversary_support.run``).
"""

from __future__ import annotations

import json

import pytest
from adversary_support import Outcome, declare, run

from lakehouse import dialect
from lakehouse.settings import Settings


def _is_mismatch(outcome: Outcome, policy: str, misfits: dict[str, str]) -> None:
    """The API refused the file; the loader quarantined it (``quarantine``) or stored null in
    each column of ``misfits`` and its text in ``_rescued_data`` (``rescue``)."""
    assert outcome.api_status == 422, outcome.api_detail
    if policy == "quarantine":
        assert outcome.refused is not None, outcome.loaded_rows
        assert outcome.refused["kind"] == "type_conflict"
        return
    assert outcome.loaded_rows is not None, outcome.refused
    (row,) = [r for r in outcome.loaded_rows if r["_rescued_data"] is not None]
    assert json.loads(row["_rescued_data"]) == misfits
    assert all(row[name] is None for name in misfits), row


#: Numbers of at most 6 digits a float32 does not hold: below its normal range it keeps fewer
#: digits (1.23456e-44 is 1.2611686e-44), below 1.4e-45 none (3e-46 is 0.0); 3.4e38 is a finite
#: float32 beyond the rule's exponent bound (37).
OUT_OF_FLOAT = {
    "3e-46": "0." + "0" * 45 + "3",
    "1.23456e-44": "0." + "0" * 43 + "123456",
    "3.4e38": "34" + "0" * 37,
}


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize("kind", ["csv", "ndjson"])
@pytest.mark.parametrize("name", list(OUT_OF_FLOAT))
def test_a_number_beyond_float32s_range_is_a_mismatch_of_a_real_column(
    module_lakehouse: Settings, policy: str, kind: str, name: str
) -> None:
    value = OUT_OF_FLOAT[name]
    assert not dialect.fits(value, "real")
    table = f"float_range_{policy}_{kind}_{list(OUT_OF_FLOAT).index(name)}"
    declare(module_lakehouse, table, {"x": "real"}, policy)
    data = f"x\n{value}\n" if kind == "csv" else f'{{"x": {value}}}\n'
    outcome = run(module_lakehouse, [(table, f"a.{kind}", data.encode())])[table]
    _is_mismatch(outcome, policy, {"x": value})


@pytest.mark.parametrize("policy", ["quarantine", "rescue"])
@pytest.mark.parametrize(
    ("a_type", "a", "b"),
    [
        ("utinyint", "-1", "-1"),
        ("utinyint", "300", "18446744073709551616"),
        ("usmallint", "-1", "1"),
        ("uinteger", "4294967296", "1"),
    ],
)
@pytest.mark.parametrize("kind", ["csv", "ndjson"])
def test_a_later_file_is_held_to_the_declared_unsigned_range(
    module_lakehouse: Settings, policy: str, a_type: str, a: str, b: str, kind: str
) -> None:
    """An unsigned column is stored in a wider signed type (``UTINYINT`` as Int16): a file
    after the first is held to the declared range, not the storage type's."""
    table = f"unsigned_{policy}_{kind}_{a_type}_{a.strip('-')}"
    declare(module_lakehouse, table, {"a": a_type, "b": "ubigint"}, policy)
    first = b"a,b\n1,1\n" if kind == "csv" else b'{"a": 1, "b": 1}\n'
    assert run(module_lakehouse, [(table, f"first.{kind}", first)])[table].loader_took
    data = f"a,b\n{a},{b}\n" if kind == "csv" else f'{{"a": {a}, "b": {b}}}\n'
    later = run(module_lakehouse, [(table, f"later.{kind}", data.encode())])[table]
    _is_mismatch(later, policy, {"a": a} | ({} if dialect.fits(b, "UBIGINT") else {"b": b}))
