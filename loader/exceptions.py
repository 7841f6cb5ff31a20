"""Errors of the loader.

LakehouseError (lakehouse.exceptions)
└── LoaderError           the loader cannot do its job (settings, storage, another loader)
    ├── LoaderBusyError   another loader holds the lock on this lakehouse
    └── FileRejected      one landing file cannot be loaded: it goes to quarantine, others flow
ReadAgain                 a file must be read again another way (nothing read of it is kept)
FileChanging              another process began to write or cut a file while it was read: it
                          is left for the next pass (nothing read of it is kept)
"""

from __future__ import annotations

from typing import Any, Literal

from lakehouse.exceptions import LakehouseError

RejectKind = Literal[
    "unsupported",  # a file name whose format the loader does not read; a foreign ARROW:schema
    "empty",  # no bytes, or no records
    "header_only",  # a CSV with a header and no rows
    "encoding",  # not UTF-8 (nor UTF-16 with a BOM)
    "unparseable",  # not valid CSV / JSON / Parquet
    "column_count",  # CSV rows whose column count differs from the header
    "type_conflict",  # a value that does not fit the bronze table's type
    "required",  # a required column (contract: not_null, primary_key) missing or null
    "invalid_column",  # a column name bronze cannot hold
    "too_large",  # gzip past max_inflated_bytes / max_inflate_ratio; a Parquet batch too large
    "unwritable",  # bronze's writer panicked on it alike, time after time
    "killed_loader",  # the loader's process ended while reading it, READ_DEATHS times in a row
]


class LoaderError(LakehouseError):
    pass


class LoaderBusyError(LoaderError):
    pass


class FileRejected(LoaderError):
    """A file that cannot be loaded, with what is known about where and why."""

    def __init__(
        self,
        kind: RejectKind,
        reason: str,
        *,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.kind: RejectKind = kind
        self.reason = reason
        self.line = line
        self.column = column
        self.value = value
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "detail": self.detail,
        }


class ReadAgain(Exception):
    """A landing file must be read again, another way: what was read of it is dropped (pieces
    committed are rolled back) and the loader reads it from the start.

    ``exact``: every JSON number as its literal (the reader met a number whose double may not be
    its literal); ``every_key``: list every key of a JSON file before reading (a key appeared
    after the records the columns were found from); ``block``: read a CSV file by blocks of this
    many bytes (a record longer than the blocks it was read by); ``big_records``: read a JSON
    file with DuckDB's bound on a record raised to hold the file's longest one (DuckDB refused
    a record past its default bound); ``split_escapes``: read PostgreSQL's text format with
    each separator a backslash escapes made the escape meaning the same (the scan met one,
    ``lakehouse.pgtext.Unescaped``).
    """

    def __init__(
        self,
        why: str,
        *,
        exact: bool = False,
        every_key: bool = False,
        block: int = 0,
        big_records: bool = False,
        split_escapes: bool = False,
    ) -> None:
        super().__init__(why)
        self.exact = exact
        self.every_key = every_key
        self.block = block
        self.big_records = big_records
        self.split_escapes = split_escapes


class FileChanging(Exception):
    """Another process opened a landing file to write, or cut it short, while the loader read it
    through a memory map (the read lease showed the break, ``loader.readers``): what was read
    is dropped and the file is left where it is for the next pass, read whole once it is."""
