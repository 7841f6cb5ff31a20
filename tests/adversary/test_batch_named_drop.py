"""A dropped file named like an API batch is that batch only when the API wrote it.

docs/loading.md: the batch id is a file's identity when the API wrote it. The loader took any
name of the shape ``bat_<32 hex>`` for the batch, so an operator who corrected an archived API
file and dropped it back under its name got "already in bronze": the file archived, its rows
never loaded. A file of such a name that is not the batch the ledger recorded (another size or
table, or the same size and other content: the API records the content identity of each file it
lands) is identified by its content, as any dropped file, and loads.
"""

from __future__ import annotations

import pytest
from adversary_support import _bronze, _drop, run

from lakehouse.layout import batch_id_of, content_digest
from lakehouse.ledger import Ledger
from lakehouse.settings import Settings
from loader import Loader


@pytest.mark.parametrize(
    ("fixed", "values"),
    [
        (b"id,v\n1,FIXED\n2,new\n", ["FIXED", "a", "new"]),  # another size
        (b"id,v\n1,b\n", ["a", "b"]),  # the same size, other content
    ],
    ids=["other_size", "same_size"],
)
def test_new_content_under_a_loaded_batch_name_loads(
    module_lakehouse: Settings, fixed: bytes, values: list[str]
) -> None:
    settings = module_lakehouse
    table = f"batch_named_drop_{len(values)}"
    first = run(settings, [(table, "a.csv", b"id,v\n1,a\n")])[table]
    assert first.api_status == 202
    rows = _bronze(settings, table)
    assert rows is not None
    batch_id = rows[0]["_batch_id"]
    _drop(settings, table, f"{batch_id}.csv", fixed)
    summary = Loader(settings).load_pending()
    assert not summary.skipped, summary.skipped
    assert sorted(r["v"] for r in _bronze(settings, table) or []) == values
    (other,) = {r["_batch_id"] for r in _bronze(settings, table) or []} - {batch_id}
    assert other != batch_id


def test_the_same_bytes_under_the_batch_name_are_still_that_batch(
    module_lakehouse: Settings,
) -> None:
    settings = module_lakehouse
    table = "batch_named_again"
    data = b"id,v\n1,a\n"
    assert run(settings, [(table, "a.csv", data)])[table].api_status == 202
    rows = _bronze(settings, table)
    assert rows is not None
    _drop(settings, table, f"{rows[0]['_batch_id']}.csv", data)  # the API's file, again
    summary = Loader(settings).load_pending()
    assert [s.batch_id for s in summary.skipped] == [rows[0]["_batch_id"]]
    assert len(_bronze(settings, table) or []) == 1


def test_the_api_records_the_content_identity_of_what_it_lands(
    module_lakehouse: Settings,
) -> None:
    """The identity the loader gives the same bytes dropped (``layout.content_digest``)."""
    settings = module_lakehouse
    table = "batch_named_hash"
    data = b"id,v\n1,a\n"
    assert run(settings, [(table, "a.csv", data)])[table].api_status == 202
    rows = _bronze(settings, table)
    assert rows is not None
    batch = Ledger.of(settings).get_batch(rows[0]["_batch_id"])
    assert batch is not None and batch.content_hash is not None
    digest = content_digest(table)
    digest.update(data)
    assert batch.content_hash == digest.hexdigest()
    assert "content_hash" not in batch.as_dict()  # not shown to clients
    # the same bytes dropped under another name: the loader's identity is the API's
    _drop(settings, table, "copy.csv", data)
    Loader(settings).load_pending()
    ids = {r["_batch_id"] for r in _bronze(settings, table) or []}
    assert batch_id_of(batch.content_hash, "copy.csv") in ids
