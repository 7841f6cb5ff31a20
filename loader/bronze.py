"""Bronze Delta tables: appends that carry their own watermark, so a restart is idempotent.

Every landing file has a batch id (``lakehouse.layout.batch_id_for``). Each append commits, in
the same Delta transaction as the rows, an *app transaction* ``(app_id(batch_id), version)``:

* ``version = n`` (0 < n < COMPLETE): every row of the file before position ``n`` is committed
  (a big file streams in pieces of ``chunk_rows``; piece ``k`` says ``k * chunk_rows``). A
  restart skips ``n`` rows and resumes; when nothing is left, the file was complete;
* ``version = COMPLETE``: every row of the file is in the table (a small file, committed whole,
  often with others in the same commit, or the last piece of a big file);
* ``version = ROLLED_BACK``: the file failed after some pieces were committed; those rows were
  deleted in that same commit and the file is quarantined.

The Delta log is the only truth: a lost ledger row or archive move never duplicates a row.

A final watermark (``COMPLETE``, ``ROLLED_BACK``) carries the time it was set
(``lastUpdated``), so table upkeep can forget old ones (``lakehouse.maintenance``: only while no
file of the table waits in the landing zone); a piece's watermark carries none and is never
forgotten, so a big file always resumes where it stopped.

Every commit also says which files are still open after it (commit metadata
``lakehouse.open_files`` / ``lakehouse.complete``, :mod:`lakehouse.complete`): a file is open from
its first piece until its last one (or its roll-back). Readers pin the newest version at which no
file is open, so nobody reads part of a file.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import TableNotFoundError

from lakehouse import delta_stats
from lakehouse.complete import commit_metadata, last_open_files
from lakehouse.delta_adds import local_folder
from lakehouse.layout import BATCH_ID, BATCH_ID_COLUMN, table_path
from lakehouse.settings import Settings
from loader import own_files

COMPLETE = 2**62
ROLLED_BACK = COMPLETE + 1


def app_id(batch_id: str) -> str:
    return f"lakehouse-loader:{batch_id}"


def watermark(batch_id: str, version: int) -> Transaction:
    """The app transaction of ``batch_id`` at ``version``; a final one is stamped with now."""
    final = version >= COMPLETE
    return Transaction(
        app_id(batch_id), version, last_updated=int(time.time() * 1000) if final else None
    )


class Bronze:
    """One bronze table (created by its first append)."""

    def __init__(self, settings: Settings, table: str) -> None:
        self.name = table
        self.path = table_path(settings, "bronze", table)
        self._storage = settings.storage_options or None
        self._table: DeltaTable | None = None
        self.moved = False

    def refresh(self) -> DeltaTable | None:
        """The table at its latest version (None until the first append).

        Sets ``moved`` when a commit not made through :meth:`append` landed; the caller clears
        it once it has read the watermarks it relies on again.
        """
        before = self._table.version() if self._table is not None else None
        if self._table is None:
            try:
                self._table = DeltaTable(str(self.path), storage_options=self._storage)
            except TableNotFoundError:
                self.moved = False
                return None
        else:
            self._table.update_incremental()
        self.moved = self.moved or self._table.version() != before
        return self._table

    def known_version(self) -> int:
        """The table's version as last read or written here (-1: no table yet)."""
        return self._table.version() if self._table is not None else -1

    def schema(self) -> pa.Schema | None:
        table = self._table or self.refresh()
        return pa.schema(table.schema().to_arrow()) if table is not None else None

    def watermark(self, batch_id: str) -> int:
        """Rows of ``batch_id`` committed (0 if none), or ``COMPLETE`` / ``ROLLED_BACK``."""
        table = self._table or self.refresh()
        if table is None:
            return 0
        return int(table.transaction_version(app_id(batch_id)) or 0)

    def open_files(self) -> frozenset[str]:
        """Batch ids with some but not all of their rows in the table (from the last commit)."""
        table = self._table or self.refresh()
        return last_open_files(table) if table is not None else frozenset()

    def append(
        self,
        data: pa.Table | pa.RecordBatchReader,
        watermarks: Mapping[str, int],
        *,
        rows: int | None = None,
    ) -> int:
        """Append ``data`` and set each batch's watermark in the same commit; the new version.
        ``rows``: how many ``data`` holds when known before it is read (our own files are then
        two when that is enough rows, ``loader.own_files.SPLIT``)."""
        txns = [watermark(b, v) for b, v in watermarks.items()]
        opened = set(self.open_files())
        for batch_id, mark in watermarks.items():
            if 0 < mark < COMPLETE:
                opened.add(batch_id)
            else:
                opened.discard(batch_id)
        # bounds delta-rs writes wrong (wide decimals; floats, which leave NaN out) kept out of
        # the statistics, and float columns' out of the Parquet footers
        columns = {f.name: f for f in data.schema}
        if self._table is not None:
            delta_stats.guard(self._table, data.schema)
            columns = {f.name: f for f in pa.schema(self._table.schema().to_arrow())} | columns
        commit = CommitProperties(app_transactions=txns, custom_metadata=commit_metadata(opened))
        folder = local_folder(str(self.path), self._storage)
        configuration = delta_stats.stats_configuration(data.schema)  # of a new table
        if folder is not None and (
            own_files.fits(self._table, data)
            if self._table is not None
            else own_files.fits_new(data)
        ):
            # files written as the reader yields them (one, as delta-rs writes a piece, or two)
            if (
                own_files.append(self._table, folder, data, commit, total=rows)  # the same log
                if self._table is not None
                else own_files.create(folder, data, configuration, commit, total=rows)
            ):
                return self._written()
            data = pa.Table.from_batches([], data.schema)  # no row: delta-rs commits it as ever
        # against the snapshot the watermarks were read from: a concurrent commit of the same
        # file (another worker) makes Delta refuse this one instead of writing it twice
        write_deltalake(
            self._table if self._table is not None else str(self.path),
            data,
            mode="append",
            schema_mode="merge",
            storage_options=None if self._table is not None else self._storage,
            configuration=None if self._table is not None else configuration or None,
            writer_properties=delta_stats.writer_properties(pa.schema(columns.values())),
            commit_properties=commit,
        )
        return self._written()

    def _written(self) -> int:
        table = self.refresh()
        assert table is not None  # just written
        self.moved = False  # our own commit (the lock keeps other writers out meanwhile)
        return table.version()

    def roll_back(self, batch_id: str) -> int:
        """Delete the rows of a partly committed batch and mark it ``ROLLED_BACK`` atomically."""
        if not BATCH_ID.fullmatch(batch_id):  # it goes into a predicate
            raise ValueError(f"not a batch id: {batch_id!r}")
        table = self.refresh()
        assert table is not None  # a partly committed batch means the table exists
        table.delete(
            f"{BATCH_ID_COLUMN} = '{batch_id}'",
            commit_properties=CommitProperties(
                app_transactions=[watermark(batch_id, ROLLED_BACK)],
                custom_metadata=commit_metadata(self.open_files() - {batch_id}),
            ),
        )
        table.update_incremental()
        return table.version()
