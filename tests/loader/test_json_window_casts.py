"""The first piece's BIGINT and DOUBLE columns are parsed once, by their inference.

Inferring a JSON column's type casts its values (``_json_ints``, ``_json_doubles``: what DuckDB
prints); the batches the type was found by were then cast again by the typer. The inference
now keeps what its test of the found type made (``Inference.made``) and the typer takes it
(``Typer.apply(made=...)``): the same values, one parse fewer per value of the first piece.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse.dialect import MismatchPolicy
from loader import readers
from loader.fitting import Inference, Typer, cast, plan_columns

SETTINGS = {
    "max_examples": 80,
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.function_scoped_fixture],
}

numbers = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.integers(-(2**64), 2**64).map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,17})?([eE][-+]?[0-9]{1,2})?", fullmatch=True),
    st.sampled_from(["-0", "-0.0", "0.0", "1.50", "1e3", "0.1", "-1.0"]),
)
others = st.sampled_from(['"7"', '"x"', "true", "{}", "[1]"])
values = st.one_of(numbers, numbers, numbers, st.just("null"), others)


def duckdb_batches(tmp: Path, batches: list[list[str]]) -> list[pa.Array] | None:
    """Each batch's values as the loader gets them (one key of an NDJSON file read by DuckDB),
    or None when the loader would read the file keeping literals (no printed numbers)."""
    path = tmp / "f.ndjson"
    flat = [v for batch in batches for v in batch]
    path.write_text("".join(f'{{"v": {v}}}\n' for v in flat))
    if readers._needs_literals(path):
        return None
    import duckdb

    sql = f"select v from read_json('{path}', records = true, columns = {{'v': 'JSON'}})"
    column = duckdb.sql(sql).to_arrow_table().column(0).combine_chunks().cast(pa.string())
    out, at = [], 0
    for batch in batches:
        out.append(column.slice(at, len(batch)))
        at += len(batch)
    return out


def typed(texts: list[pa.Array], found: str, policy: MismatchPolicy, made: bool) -> list:
    plans = plan_columns(["v"], declared={}, existing={}, infer=True, inferred=lambda _: found)
    typer = Typer(plans, policy, json_text=True, literal_numbers=False)
    inference = Inference(json=True, literal_numbers=False)
    for text in texts:
        inference.add(text)
    assert inference.result() == found
    out = []
    for j, text in enumerate(texts):
        batch = pa.record_batch([text], names=["v"])
        known = inference.made(found, j) if made else None
        result = typer.apply(batch, inferred_from=True, made={0: known} if known else None)
        out.append(result.column(0))
    return out


@settings(**SETTINGS)
@given(
    batches=st.lists(st.lists(values, min_size=1, max_size=6), min_size=1, max_size=4),
    policy=st.sampled_from(["rescue", "quarantine"]),
)
def test_made_values_are_the_cast_values(
    tmp_path: Path, batches: list[list[str]], policy: MismatchPolicy
) -> None:
    """Whatever the values, the batches and their nulls: what the inference made is exactly
    what the typer's cast gives, and the typed batches are the same with it and without."""
    texts = duckdb_batches(tmp_path, batches)
    if texts is None:
        return
    inference = Inference(json=True, literal_numbers=False)
    for text in texts:
        inference.add(text)
    found = inference.result()
    for j, text in enumerate(texts):
        for data_type in ("BIGINT", "DOUBLE", found):
            made = inference.made(data_type, j)
            if made is None:
                continue
            assert data_type == found, (batches, data_type, found)
            assert text.null_count == 0  # a column with nulls is cast by the typer
            want = cast(text, found)
            assert made.type == want.type
            assert made.equals(want), (batches, made.to_pylist(), want.to_pylist())
            # bit for bit (a negative zero, say): the same kernel over the same text
            assert made.buffers()[1].to_pybytes() == want.buffers()[1].to_pybytes()
    if found not in ("BIGINT", "DOUBLE"):
        assert all(inference.made(found, j) is None for j in range(len(texts)))
        return
    with_made = typed(texts, found, policy, made=True)
    without = typed(texts, found, policy, made=False)
    assert [a.to_pylist() for a in with_made] == [b.to_pylist() for b in without]
    assert [a.type for a in with_made] == [b.type for b in without]


def test_a_batch_typed_by_what_its_inference_made(tmp_path: Path) -> None:
    """A BIGINT column's batches without nulls are its inference's arrays themselves; one with a
    null, or a column refuted from BIGINT to DOUBLE in a later batch, is cast as before."""
    texts = duckdb_batches(tmp_path, [["1", "2", "3"], ["4", "null"], ["5", "6"]])
    assert texts is not None
    inference = Inference(json=True, literal_numbers=False)
    for text in texts:
        inference.add(text)
    assert inference.result() == "BIGINT"
    made = [inference.made("BIGINT", j) for j in range(3)]
    assert made[1] is None  # a null: its part is not the batch's column
    assert made[0] is not None and made[2] is not None
    assert made[0].to_pylist() == [1, 2, 3] and made[2].to_pylist() == [5, 6]
    assert inference.made("DOUBLE", 0) is None
    plans = plan_columns(["v"], declared={}, existing={}, infer=True, inferred=lambda _: "BIGINT")
    typer = Typer(plans, "quarantine", json_text=True, literal_numbers=False)
    batch = pa.record_batch([texts[0]], names=["v"])
    out = typer.apply(batch, inferred_from=True, made={0: made[0]}).column(0)
    assert out.buffers()[1].address == made[0].buffers()[1].address  # not parsed again
    # not a batch the type was found by: checked as before, whatever is offered
    later = typer.apply(batch, inferred_from=False, made={0: made[0]}).column(0)
    assert later.buffers()[1].address != made[0].buffers()[1].address
    assert later.to_pylist() == [1, 2, 3]
    inference.forget()
    assert inference.made("BIGINT", 0) is None

    texts = duckdb_batches(tmp_path, [["1", "2"], ["3", "4.5"]])
    assert texts is not None
    refuted = Inference(json=True, literal_numbers=False)
    for text in texts:
        refuted.add(text)
    assert refuted.result() == "DOUBLE"
    assert refuted.made("BIGINT", 0) is None
    doubles = [refuted.made("DOUBLE", j) for j in range(2)]
    assert [d.to_pylist() for d in doubles if d is not None] == [[1.0, 2.0], [3.0, 4.5]]
