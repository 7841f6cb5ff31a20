"""A column new to the table, whose type the loader infers from the file's first
``chunk_rows`` records, rescues the misfits of its later records: the API counts them against
the rescued-text bound (``lakehouse.rescued``) as the loader does, the type found by the same
rule (``ingest.typecheck.Inferring``), so a file past it gets the loader's ``too_large`` as a
``413`` in its words (docs/loading.md, Mismatches).

Before (fixd s15, fixc s16): the API inferred no type and counted only the columns the table
had, so an 8.8 MB CSV of 2,200,000 records ``1`` then 2,200,000 ``x`` under a
17,500-character name got ``202``; its type was ``BIGINT`` by the first 4 MiB block and the
loader refused the second (34,765,047,477 bytes of ``_rescued_data`` text) as ``too_large``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from adversary_support import lakehouse, run

from ingest.filecheck import FileError, check_file
from lakehouse import dialect, rescued
from lakehouse.formats import FileFormat

NAME = "c" * 17_500


def _file(ones: int, misfits: int, name: str = NAME, misfit: bytes = b"x") -> bytes:
    return name.encode() + b"\n" + b"1\n" * ones + (misfit + b"\n") * misfits


@pytest.mark.parametrize("table", ["existing", "new"])
def test_a_new_columns_later_misfits_are_counted_as_the_loader_counts_them(
    tmp_path: Path, table: str
) -> None:
    """2,200,000 records ``1`` (the first 4 MiB block: ``BIGINT``) then 200,000 ``x``: the
    second block would rescue 3.5 GB; the API's 413 and the loader's too_large, one reason."""
    lake = lakehouse(tmp_path)
    if table == "existing":
        made = run(lake, [("t", "a.csv", b"id\n1\n")], rows=False)["t"]
        assert made.api_status == 202 and made.refused is None, (made.api_detail, made.refused)
    outcome = run(lake, [("t", "b.csv", _file(2_200_000, 200_000))], rows=False)["t"]
    refused = outcome.refused
    assert refused is not None and refused["kind"] == "too_large", refused
    assert "would be rescued into _rescued_data as" in refused["reason"], refused["reason"]
    assert outcome.api_status == 413, (outcome.api_status, outcome.api_detail)
    assert outcome.api_detail == refused["reason"]  # one rule, one set of words


#: Lowered so that small files show it: a CSV block of 4 KiB, a batch's text of 1,000 bytes.
BLOCK, BOUND = 4096, 1_000


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dialect, "CSV_BLOCK_BYTES", BLOCK)
    monkeypatch.setattr(rescued, "RESCUED_BATCH_BYTES", BOUND)


def _check(tmp_path: Path, data: bytes, window: int | None, **kwargs: object) -> int:
    path = tmp_path / "b.csv"
    path.write_bytes(data)
    stored = {"id": pa.int64()}
    return check_file(
        path,
        FileFormat("csv", False),
        None,
        existing=list(stored),
        stored=stored,
        window=window,
        **kwargs,  # type: ignore[arg-type]
    )


#: 3,000 records ``1`` (the first 4 KiB block, 2,047 of them, is the inference window: BIGINT)
#: then 20 of 50 ``x``: 20 x 59 bytes of text in the second block, past 1,000
PAST = _file(3_000, 20, name="n", misfit=b"x" * 50)


@pytest.mark.usefixtures("small")
def test_past_the_window_the_api_counts_the_inferred_type(tmp_path: Path) -> None:
    with pytest.raises(FileError) as refused:
        _check(tmp_path, PAST, window=10)
    assert refused.value.status == 413
    assert "('n' 20 values, 1,180 bytes)" in str(refused.value), refused.value


@pytest.mark.usefixtures("small")
@pytest.mark.parametrize(
    ("data", "window", "kwargs"),
    [
        (PAST, None, {}),  # types not inferred: the column is text, nothing rescued
        (PAST, 5_000, {}),  # every record in the window: its type fits them all
        (PAST, 10, {"rescue": False}),  # quarantine: a misfit refuses the file, nothing rescued
        (_file(3_000, 20, name="n", misfit=b"7"), 10, {}),  # the later values fit BIGINT
        (_file(3_000, 20, name="n", misfit=b"1.5"), 10, {}),  # 20 small misfits: within
    ],
)
def test_within_the_bound_or_nothing_inferred_the_api_takes_it(
    tmp_path: Path, data: bytes, window: int | None, kwargs: dict[str, object]
) -> None:
    assert _check(tmp_path, data, window, **kwargs) == data.count(b"\n") - 1
