"""A text meeting a struct column the table has, refused (``on_mismatch: quarantine``): the
loader says why the struct does not take it, in the API's words (``lakehouse.nested.misfits``:
a repeated key, a lone surrogate, a field and its rule), where it said only "does not fit
struct<...>" (review finding revl 02 of session 14, its words; the brief of fixf, session 15).
Under ``rescue`` the API refuses such a text (422: a mismatch is 422 whatever the policy,
docs/api.md) and the loader rescues it into ``_rescued_data``, as for any mismatch. The API
and the loader say it in one set of words (``lakehouse.misfit``; until session 19 the loader
said ``'x' does not fit the struct column's type struct<...>: not a JSON object`` where the API
said ``'x' is not a JSON object, which a struct column takes (...) (bronze's column 'k' is
struct<...>, ...)``)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adversary_support import declare, run

from lakehouse import dialect
from lakehouse.settings import Settings

FIRST = b'{"id":0,"k":{"a":1,"t":"x"}}\n'
TEXTS = {
    "repeat": ('{"a":1,"a":2}', "an object repeats the key 'a'"),
    "surrogate": ('{"a":1,"t":"\\ud800"}', "a string holds a lone UTF-16 surrogate"),
    "misfit": ('{"a":"x"}', "field 'a': \"x\" does not fit BIGINT"),
    "text": ("x", "not a JSON object"),
}


def _file(fmt: str, value: str) -> tuple[str, bytes]:
    if fmt == "csv":
        return "2.csv", ('id,k\n1,"' + value.replace('"', '""') + '"\n2,"{""a"":5}"\n').encode()
    out = io.BytesIO()
    table = pa.table({"id": pa.array([1, 2], pa.int64()), "k": pa.array([value, '{"a":5}'])})
    pq.write_table(table, out)
    return "2.parquet", out.getvalue()


@pytest.mark.parametrize("case", sorted(TEXTS))
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_loader_says_why_a_struct_does_not_take_a_text(
    one_lakehouse: Settings, fmt: str, case: str
) -> None:
    assert run(one_lakehouse, [("t", "1.ndjson", FIRST)])["t"].loaded_rows
    declare(one_lakehouse, "t", {"id": "bigint"}, "quarantine")
    value, why = TEXTS[case]
    outcome = run(one_lakehouse, [("t", *_file(fmt, value))], rows=False)["t"]
    assert outcome.api_status == 422, outcome.api_detail
    said = " ".join(e["msg"] for e in outcome.api_detail)
    assert why in said.replace("is not a JSON object", "not a JSON object"), said
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "type_conflict", refused
    struct = "struct<a: int64, t: string>"
    assert struct in refused["reason"], refused
    # one sentence (lakehouse.misfit), the API's msg after the value's place
    [error] = outcome.api_detail
    where = "line 2" if fmt == "csv" else "record 1"
    assert refused["reason"] == dialect.placed(where, f"column 'k': {error['msg']}"), refused
