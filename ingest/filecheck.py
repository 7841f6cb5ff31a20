"""A file is checked before it lands: it parses, and it fits the table's contract.

Every check streams (bounded memory), except a ``.json`` array, which must fit in
``api_max_body_bytes`` (send NDJSON for more). Errors name the row (0-based data row) and field.
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingest.validation import BodyError, RecordsError, column_type, parse_records, record_error
from lakehouse.contracts import Column, Contract
from lakehouse.formats import FileFormat, InflateError, InflateLimitError, open_bounded

CHUNK = 8 * 1024**2


class FileError(ValueError):
    """The file does not parse (400), or is too large to check (413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


#: Bounds on a gzipped file's inflated bytes and ratio (max_inflated_bytes, max_inflate_ratio).
Bounds = tuple[int, float]


@contextmanager
def _open(path: Path, kind: FileFormat, bounds: Bounds) -> Iterator[IO[bytes]]:
    with open_bounded(path, kind.gzip, *bounds) as f:
        yield f


def _check_ndjson(
    path: Path, kind: FileFormat, bounds: Bounds, contract: Contract | None, max_errors: int
) -> int:
    rows = 0
    rest = b""
    with _open(path, kind, bounds) as f:
        while True:
            block = f.read(CHUNK)
            data = rest + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            chunk, rest = data[:cut], data[cut:]
            if chunk.strip():
                try:
                    rows += parse_records(
                        chunk,
                        ndjson=True,
                        contract=contract,
                        max_records=2**62,
                        max_errors=max_errors,
                    ).count
                except RecordsError as exc:
                    raise exc.shifted(rows) from None
                except BodyError as exc:
                    if exc.row is not None:
                        exc.row += rows
                    raise
            if not block:
                return rows


def _check_json(
    path: Path,
    kind: FileFormat,
    bounds: Bounds,
    contract: Contract | None,
    max_errors: int,
    max_bytes: int,
) -> int:
    with _open(path, kind, bounds) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileError(f"a .json file above {max_bytes} bytes: send it as NDJSON", 413)
    head = data.lstrip()[:1]
    if head == b"{" and data.strip().count(b"\n"):  # NDJSON in a .json file, or one object
        try:
            return parse_records(data, ndjson=True, contract=contract, max_errors=max_errors).count
        except BodyError:
            pass
    return parse_records(
        data, ndjson=False, contract=contract, max_records=2**62, max_errors=max_errors
    ).count


def _check_column(
    values: list[Any], column_type: Any, name: str, offset: int, errors: list[dict[str, Any]]
) -> None:
    try:
        msgspec.convert(values, list[column_type | None], strict=False)
        return
    except msgspec.ValidationError:
        pass
    for i, value in enumerate(values):
        try:
            msgspec.convert(value, column_type | None, strict=False)
        except msgspec.ValidationError as exc:
            msg = str(exc).split(" - at ", 1)[0]
            errors.append(record_error(offset + i, name, f"{msg} (value {value!r})", "type_error"))
            return


def _check_csv(
    path: Path,
    kind: FileFormat,
    bounds: Bounds,
    contract: Contract | None,
    max_errors: int,
    delimiter: str,
) -> int:
    with _open(path, kind, bounds) as f:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        try:
            header = next(csv.reader(text, delimiter=delimiter), None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise FileError(f"the header does not parse: {exc}") from None
    if not header or not any(h.strip() for h in header):
        raise FileError("the file has no header line")
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise RecordsError(
            [record_error(None, d, "duplicate column name", "duplicate_key") for d in dupes]
        )
    errors: list[dict[str, Any]] = []
    columns = [c for c in (contract.columns if contract else ()) if c.name in header]
    if contract:
        errors += [
            record_error(None, c.name, "required column missing from the header", "missing")
            for c in contract.columns
            if c.required and c.name not in header
        ]
    rows = 0
    with _open(path, kind, bounds) as f:
        try:
            reader = pacsv.open_csv(
                f,
                read_options=pacsv.ReadOptions(block_size=CHUNK),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False
                ),
            )
            for batch in reader:
                for column in columns:
                    array = batch.column(column.name)
                    array = pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
                    values = array.to_pylist()
                    if column.required and array.null_count:
                        first = values.index(None)
                        errors.append(
                            record_error(rows + first, column.name, "required", "missing")
                        )
                    _check_column(values, column_type(column), column.name, rows, errors)
                rows += batch.num_rows
                if len(errors) >= max_errors:
                    break
        except (pa.ArrowException, UnicodeDecodeError, OSError, EOFError, zlib.error) as exc:
            raise FileError(f"the file does not parse as CSV: {exc}") from None
    if errors:
        raise RecordsError(errors[:max_errors], truncated=len(errors) > max_errors)
    return rows


_ARROW_KINDS = {
    "integer": pa.types.is_integer,
    "float": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t),
    "decimal": lambda t: (
        pa.types.is_decimal(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
    ),
    "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "boolean": pa.types.is_boolean,
    "date": pa.types.is_date,
    "timestamp": pa.types.is_timestamp,
    "time": pa.types.is_time,
    "uuid": lambda t: pa.types.is_string(t) or pa.types.is_fixed_size_binary(t),
}


_FROM_TEXT = {"decimal", "date", "timestamp", "time", "uuid"}


def _is_text(typ: pa.DataType) -> bool:
    return bool(pa.types.is_string(typ) or pa.types.is_large_string(typ))


def _parquet_schema(
    schema: pa.Schema, contract: Contract | None, errors: list[dict[str, Any]]
) -> list[Column]:
    """Check the file's columns against the contract; return text columns to check by value."""
    text_columns: list[Column] = []
    for column in contract.columns if contract else ():
        if column.name not in schema.names:
            if column.required:
                errors.append(record_error(None, column.name, "required column missing", "missing"))
            continue
        typ = schema.field(column.name).type
        ok = _ARROW_KINDS.get(column.kind)
        if ok is None or ok(typ):
            continue
        if _is_text(typ) and column.kind in _FROM_TEXT:
            text_columns.append(column)  # castable text: its values are checked
        else:
            msg = f"column type {typ} does not fit {column.data_type}"
            errors.append(record_error(None, column.name, msg, "type_error"))
    return text_columns


def _check_parquet(path: Path, contract: Contract | None, max_errors: int) -> int:
    errors: list[dict[str, Any]] = []
    required = [c.name for c in (contract.columns if contract else ()) if c.required]
    rows = 0
    try:
        pf = pq.ParquetFile(path)
        text_columns = _parquet_schema(pf.schema_arrow, contract, errors)
        for batch in pf.iter_batches(batch_size=65_536):  # decodes every page: it reads whole
            for name in required:
                if name in batch.schema.names and batch.column(name).null_count:
                    first = batch.column(name).is_null().to_pylist().index(True)
                    errors.append(record_error(rows + first, name, "required", "missing"))
            for column in text_columns:
                values = batch.column(column.name).to_pylist()
                _check_column(values, column_type(column), column.name, rows, errors)
            rows += batch.num_rows
            if len(errors) >= max_errors:
                break
    except (pa.ArrowException, OSError) as exc:
        raise FileError(f"the file does not parse as Parquet: {exc}") from None
    if errors:
        raise RecordsError(errors[:max_errors], truncated=len(errors) > max_errors)
    return rows


def check_file(
    path: Path,
    kind: FileFormat,
    contract: Contract | None,
    *,
    max_errors: int = 20,
    max_json_bytes: int = 16 * 1024**2,
    max_inflated_bytes: int = 16 * 1024**3,
    max_inflate_ratio: float = 250.0,
) -> int:
    """Rows in the file at ``path``; raises FileError, BodyError or RecordsError."""
    bounds = (max_inflated_bytes, max_inflate_ratio)
    try:
        if kind.kind == "ndjson":
            return _check_ndjson(path, kind, bounds, contract, max_errors)
        if kind.kind == "json":
            return _check_json(path, kind, bounds, contract, max_errors, max_json_bytes)
        if kind.kind in ("csv", "tsv"):
            delimiter = "\t" if kind.kind == "tsv" else ","
            return _check_csv(path, kind, bounds, contract, max_errors, delimiter)
        return _check_parquet(path, contract, max_errors)
    except InflateLimitError as exc:
        raise FileError(str(exc), 413) from None
    except InflateError as exc:
        raise FileError(str(exc)) from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip errors surface as these
        raise FileError(f"the file cannot be read: {exc}") from None
