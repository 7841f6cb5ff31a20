"""Parquet summary files (review finding revp 07): the ``_metadata`` a Spark, Dask or pyarrow
writer leaves beside its data files is a footer whose row groups are in those files, no rows of
its own. Named ``_metadata`` or ``_common_metadata`` it is set aside, as a ``_SUCCESS`` is,
saying so; under a data file's name (``summary.parquet``) the API (422) and the loader
(``unsupported``) refuse it in one set of words. *Before:* both refused it in thrift's words
("Couldn't deserialize thrift: No more data to read. Deserializing page header failed.").
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
from adversary_support import run

from lakehouse.settings import Settings
from loader import Loader

ROWS = pa.table({"id": [1, 2]})


def _data_and_summaries() -> tuple[bytes, bytes, bytes]:
    """A data file, the ``_metadata`` naming it and the ``_common_metadata`` beside them, as
    pyarrow's ``write_metadata`` writes them (pyarrow's documented recipe)."""
    data, collected = io.BytesIO(), []
    pq.write_table(ROWS, data, metadata_collector=collected)
    collected[0].set_file_path("part-0.parquet")
    summary, common = io.BytesIO(), io.BytesIO()
    pq.write_metadata(ROWS.schema, summary, metadata_collector=collected)
    pq.write_metadata(ROWS.schema, common)
    return data.getvalue(), summary.getvalue(), common.getvalue()


def test_summary_files_by_name_are_set_aside(settings: Settings) -> None:
    data, summary, common = _data_and_summaries()
    folder = settings.raw_dir / "t" / "out"
    folder.mkdir(parents=True)
    for name, content in (
        ("part-0.parquet", data),
        ("_metadata", summary),
        ("_common_metadata", common),
    ):
        (folder / name).write_bytes(content)

    done = Loader(settings).load_pending()

    assert [f.file for f in done.loaded] == ["out/part-0.parquet"]
    assert not done.quarantined
    assert sorted((a.file, a.reason) for a in done.set_aside) == [
        (
            "out/_common_metadata",
            "a Parquet summary file (_common_metadata) holds no rows: they are in the data files",
        ),
        (
            "out/_metadata",
            "a Parquet summary file (_metadata) holds no rows: they are in the data files",
        ),
    ]
    assert (settings.archive_dir / "t" / "out___metadata").read_bytes() == summary
    assert not any(folder.iterdir())


def test_a_summary_under_a_data_name_is_refused_by_both_in_one_set_of_words(
    module_lakehouse: Settings,
) -> None:
    _, summary, _ = _data_and_summaries()
    table = "summary_named_parquet"
    outcome = run(module_lakehouse, [(table, "summary.parquet", summary)], rows=False)[table]
    said = (
        "a Parquet summary file (_metadata) holds no rows: its footer counts 2 records in row "
        "groups of other files; send those"
    )
    assert outcome.api_status == 422 and outcome.api_detail == said, outcome.api_detail
    assert outcome.refused is not None, "202 then refused: the API must refuse it too"
    assert outcome.refused["kind"] == "unsupported", outcome.refused
    assert outcome.refused["reason"] == said, outcome.refused
