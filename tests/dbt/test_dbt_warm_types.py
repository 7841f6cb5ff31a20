"""transform.dbt_warm's kept TypeTesters: the tables dbt makes of query results with a kept one
are those a new one makes, for any rows; kept per thread, by everything a tester is made from."""

from __future__ import annotations

import datetime
import inspect
import threading
from decimal import Decimal
from typing import Any

import agate
from dbt_common.clients import agate_helper
from hypothesis import given, settings
from hypothesis import strategies as st

from transform import dbt_warm

ORIGINAL = getattr(agate_helper.build_type_tester, "__wrapped__", agate_helper.build_type_tester)
COLUMNS = ("a", "b", "c")

# what a DuckDB result holds, and strings that look like every type agate tests for
TEXTS = st.sampled_from(
    [
        "",
        "null",
        "NULL",
        "true",
        "false",
        "1",
        "-7",
        "1.5",
        "1,000",
        "2026-01-02",
        "2026-01-02 03:04:05",
        "2026-01-02T03:04:05Z",
        "tomorrow",
        "abc",
        " 12 ",
    ]
) | st.text(max_size=8)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.dates(),
    st.datetimes(),
    TEXTS,
)


def _table(rows: list[list[Any]], tester: Any) -> tuple[Any, ...]:
    try:
        table = agate.Table(rows, list(COLUMNS), column_types=tester)
    except Exception as exc:  # the same refusal either way
        return ("error", type(exc).__name__, str(exc))
    types = tuple((type(t).__name__, tuple(t.null_values)) for t in table.column_types)
    return (types, [tuple(row.values()) for row in table.rows])


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(VALUES, min_size=3, max_size=3), max_size=6),
    text_columns=st.sets(st.sampled_from(COLUMNS)),
    nulls=st.sampled_from([(), ("null", ""), ["null"]]),
)
def test_a_kept_tester_makes_the_tables_a_new_one_makes(
    rows: list[list[Any]], text_columns: set[str], nulls: Any
) -> None:
    kept = dbt_warm.kept_type_tester(ORIGINAL)
    first = kept(set(text_columns), string_null_values=nulls)
    again = kept(iter(sorted(text_columns)), string_null_values=nulls)  # any iterable
    assert again is first
    for tester in (first, again):
        assert _table(rows, tester) == _table(
            rows, ORIGINAL(set(text_columns), string_null_values=nulls)
        )


def test_kept_per_thread_and_by_what_a_tester_is_made_from() -> None:
    kept = dbt_warm.kept_type_tester(ORIGINAL)
    mine = kept({"a"}, string_null_values=())
    assert kept(["a"], string_null_values=()) is mine
    assert kept({"a"}) is not mine  # other null values: another tester
    assert kept({"a", "b"}, string_null_values=()) is not mine
    assert kept(set(), string_null_values=()) is not mine
    theirs: list[Any] = []
    other = threading.Thread(target=lambda: theirs.append(kept({"a"}, string_null_values=())))
    other.start()
    other.join(30)
    assert theirs and theirs[0] is not mine  # a thread never gets another thread's tester
    # a thread keeps a bounded number
    for n in range(dbt_warm.TESTERS_KEPT + 5):
        kept({f"column_{n}"}, string_null_values=())
    assert len(dbt_warm._TESTERS.kept) <= dbt_warm.TESTERS_KEPT


def test_installed_dbt_makes_result_tables_with_kept_testers() -> None:
    dbt_warm.install()
    assert getattr(agate_helper.build_type_tester, "__wrapped__", None) is ORIGINAL
    data = [{"n": 1, "s": "x", "d": datetime.date(2026, 1, 2), "m": Decimal("1.50")}]
    one = agate_helper.table_from_data_flat(data, ["n", "s", "d", "m"])
    two = agate_helper.table_from_data_flat(data, ["n", "s", "d", "m"])
    assert [type(t) for t in one.column_types] == [type(t) for t in two.column_types]
    assert one.column_types[1] is two.column_types[1]  # the same kept tester's Text
    assert [tuple(r.values()) for r in one.rows] == [
        (1, "x", datetime.date(2026, 1, 2), Decimal("1.50"))
    ]


def test_the_replaced_dbt_function_is_still_dbts() -> None:
    """What kept_type_tester relies on: dbt's Date and DateTime have formats (strptime only)
    and the function makes a new TypeTester of its two arguments and nothing else."""
    source = inspect.getsource(ORIGINAL)
    assert 'agate.data_types.Date(null_values=("null", ""), date_format="%Y-%m-%d")' in source
    assert 'datetime_format="%Y-%m-%d %H:%M:%S"' in source
    assert "return agate.TypeTester(force=force, types=types)" in source
    assert list(inspect.signature(ORIGINAL).parameters) == ["text_columns", "string_null_values"]
