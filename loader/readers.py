"""Landing files → Arrow record batches, streaming: memory follows the batch, not the file.

Formats by name: ``.csv``, ``.tsv``, ``.json`` (an array of objects or NDJSON), ``.ndjson`` /
``.jsonl``, ``.parquet``, each optionally ``.gz``. CSV and JSON are read by DuckDB (dialect
and type sniffing, parallel parsing, gzip built in); Parquet by pyarrow, batch by batch.

CSV rules: a header line is required; delimiter, quoting and types are sniffed (``.tsv`` is
tab-separated); an unquoted empty field and ``NA``, ``N/A``, ``NULL``, ``null`` are null, a quoted
empty field (``""``) is an empty string; UTF-8 (a UTF-16 file with a byte-order mark is read as
UTF-16). Every row must have the header's column count (``csv_max_bad_rows`` tolerates that many
that do not). Columns the bronze table already has are parsed straight into the table's types.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.formats import SUFFIXES as _SUFFIXES
from lakehouse.formats import Kind
from loader.exceptions import FileRejected, RejectKind

log = logging.getLogger(__name__)

NULL_STRINGS = ("", "NA", "N/A", "NULL", "null")
_PEEK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    kind: Kind
    gzip: bool


def detect(path: Path) -> Source:
    """The format of a landing file, from its name (``FileRejected`` if not one we read)."""
    name = path.name.lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[: -len(".gz")]
    kind = _SUFFIXES.get(Path(name).suffix)
    if kind is None:
        known = ", ".join(sorted(_SUFFIXES))
        raise FileRejected(
            "unsupported", f"unsupported file type {path.name!r}: expected {known} (or .gz)"
        )
    return Source(path, kind, compressed)


def _peek(source: Source) -> bytes:
    """The first bytes of the (decompressed) content."""
    try:
        if source.gzip:
            with gzip.open(source.path, "rb") as f:
                return f.read(_PEEK_BYTES)
        with source.path.open("rb") as f:
            return f.read(_PEEK_BYTES)
    except (OSError, EOFError) as exc:
        raise FileRejected("unparseable", f"cannot read the file: {exc}") from exc


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _struct(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in mapping.items()) + "}"


_LINE = re.compile(r"(?:on Line|in line):? (\d+)", re.IGNORECASE)
_COLUMN = re.compile(r'column "([^"]+)"')
_TELLING = re.compile(
    r"could not convert|expected number of columns|malformed json|failed to cast|"
    r"transform error|not utf-8|parquet|magic",
    re.IGNORECASE,
)


_INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: Finds the first row (1-based, in file order) where ``column`` holds ``value``; None if unknown.
Locate = Callable[[str, str], int | None]
_NOT_AN_INTEGER = re.compile(
    r'column "(?P<column>[^"]+)" to \w+: (?P<value>.*) is not an integer'
    r"|string '(?P<value2>.*)' to \w+ when casting from source column (?P<column2>\S+)"
)


def _exact_integers(
    rel: duckdb.DuckDBPyRelation, reread: Callable[[dict[str, str]], duckdb.DuckDBPyRelation]
) -> tuple[duckdb.DuckDBPyRelation, Locate | None]:
    """Integer columns take integers only: no value is rounded on its way into bronze.

    DuckDB's readers round a ``2.5`` (CSV text) or ``1.5`` (JSON number) read into an integer
    column, whether the type was sniffed from the first rows or given by the table, which would
    silently change data. So integer columns are re-read as text (``reread`` maps column → type
    overrides) and cast only when the text holds no ``.``/exponent; any other value fails the
    file as a type conflict naming the column and the value (then it is quarantined). The
    locator finds the offending row afterwards, on that error path only.
    """
    integers = {
        name: str(t)
        for name, t in zip(rel.columns, rel.types, strict=True)
        if str(t) in _INTEGER_TYPES
    }
    if not integers:
        return rel, None
    text = reread(dict.fromkeys(integers, "VARCHAR"))
    exprs = []
    for name in text.columns:
        q = _ident(name)
        if name not in integers:
            exprs.append(q)
            continue
        kind = integers[name]
        message = _sql_str(f'Could not convert a value of column "{name}" to {kind}: ')
        # text that is no number at all fails the cast itself, naming the column and value
        exprs.append(
            f"case when contains({q}, '.') or contains({q}, 'e') or contains({q}, 'E')"
            f" then error({message} || {q} || ' is not an integer')"
            f" else cast({q} as {kind}) end as {q}"
        )

    def locate(column: str, value: str) -> int | None:
        sql = (
            f"select rn from (select row_number() over () as rn, {_ident(column)} as v"
            f" from _text) where v = {_sql_str(value)} order by rn limit 1"
        )
        try:
            found = text.query("_text", sql).fetchall()  # type: ignore[union-attr]
        except duckdb.Error:
            return None
        return int(found[0][0]) if found else None

    return text.project(", ".join(exprs)), locate


def rejection(
    exc: BaseException,
    hints: dict[str, str] | None = None,
    locate_line: Locate | None = None,
) -> FileRejected:
    """A reader error as a quarantine reason, with the line and column when the reader says.

    ``locate_line(column, value)`` finds the line of a value :func:`_exact_integers` refused.
    """
    if isinstance(exc, FileRejected):
        return exc
    text = str(exc)
    line_match = _LINE.search(text)
    column_match = _COLUMN.search(text)
    line = int(line_match.group(1)) if line_match else None
    column = column_match.group(1) if column_match else None
    refused = _NOT_AN_INTEGER.search(text)
    if refused:
        column = column or refused["column"] or refused["column2"]
        if line is None and locate_line is not None:
            line = locate_line(column, refused["value"] or refused["value2"])
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    telling = [ln for ln in lines if _TELLING.search(ln)]
    summary = (telling or lines or [type(exc).__name__])[0]
    summary = re.sub(r"^[\w ]*Error: ", "", summary)
    kind: RejectKind = "unparseable"
    if "unicode" in text.lower() or "utf-8" in text.lower() or "utf8" in text.lower():
        kind, summary = "encoding", "the file is not UTF-8 encoded (nor UTF-16 with a BOM)"
    elif "non-record JSON" in text:
        summary = "top-level JSON values must be objects (one record each)"
    elif "Expected Number of Columns" in text or "column count" in text.lower():
        kind = "column_count"
    elif "convert" in text.lower() or "cast" in text.lower():
        kind = "type_conflict"
        if column and hints and column in hints:
            summary += f" (the bronze table's column {column!r} is {hints[column]})"
    where = f" (line {line})" if line is not None and str(line) not in summary else ""
    return FileRejected(
        kind, f"{summary}{where}", line=line, column=column, detail=text[:4000] or None
    )


class Batches:
    """An open landing file: its Arrow ``schema`` and its record batches (iterate once)."""

    def __init__(self, schema: pa.Schema, reader: pa.RecordBatchReader, stack: ExitStack) -> None:
        self.schema = schema
        self._reader = reader
        self._stack = stack
        self.hints: dict[str, str] = {}
        #: Finds the line of a refused value (see :func:`rejection`).
        self.locate_line: Locate | None = None
        #: Called once the last batch was read (checks that need the whole file).
        self.finish: Callable[[], None] | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            while True:
                try:
                    batch = self._reader.read_next_batch()
                except StopIteration:
                    if self.finish is not None:
                        self.finish()
                    return
                if batch.num_rows:
                    yield batch
        except FileRejected:
            raise
        except Exception as exc:  # any reader failure is about this file's content
            raise rejection(exc, self.hints, self.locate_line) from exc

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Batches:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_batches(
    source: Source,
    *,
    hints: dict[str, str],
    batch_rows: int,
    max_bad_rows: int = 0,
    scratch: Path | None = None,
    database: duckdb.DuckDBPyConnection | None = None,
) -> Batches:
    """Open ``source`` for streaming; ``hints`` maps known columns to DuckDB types.

    ``database``: a DuckDB connection to open a cursor on (a new connection costs ~25 ms).
    """
    head = _peek(source)
    if not head.strip():
        raise FileRejected("empty", "the file is empty")
    if source.kind == "json" and re.fullmatch(rb"(\xef\xbb\xbf)?\s*\[\s*\]\s*", head):
        raise FileRejected("empty", "the file is an empty JSON array")
    if source.kind == "parquet":
        return _open_parquet(source, batch_rows, scratch)
    con = _cursor(database)
    stack = ExitStack()
    stack.callback(con.close)
    line: Locate | None = None
    try:
        if source.kind in ("csv", "tsv"):
            relation, locate = _csv_relation(con, source, head, hints, max_bad_rows)
            line_one = 2  # the line after the header
        else:
            _check_json_array_end(source, head)
            relation, locate = _json_relation(con, source, hints)
            line_one = 1 if source.kind == "ndjson" else 0  # 0: no lines in a JSON array
        if locate is not None and line_one:
            line = _lines(locate, line_one)
        reader = relation.to_arrow_reader(batch_rows)
        batches = Batches(reader.schema, reader, stack)
        batches.hints = hints
        batches.locate_line = line
        if max_bad_rows and source.kind in ("csv", "tsv"):
            batches.finish = lambda: _check_rejects(con, max_bad_rows)
        return batches
    except FileRejected:
        stack.close()
        raise
    except Exception as exc:
        rejected = rejection(exc, hints, line)  # before closing: it may query the file again
        stack.close()
        raise rejected from exc


def _check_rejects(con: duckdb.DuckDBPyConnection, max_bad_rows: int) -> None:
    """With ``csv_max_bad_rows``: rows skipped for their column count, within the tolerance.

    A value that does not fit its column is never tolerated (it is a type conflict).
    """
    rejects = con.sql(
        "select line, error_type, column_name, error_message from reject_errors order by line"
    ).fetchall()
    for line, kind, column, message in rejects:
        if kind == "CAST":
            raise FileRejected(
                "type_conflict", f"{message} (line {line})", line=int(line), column=column
            )
    if len(rejects) > max_bad_rows:
        line = int(rejects[0][0])
        raise FileRejected(
            "column_count",
            f"{len(rejects)} rows have another column count than the header (first: line "
            f"{line}); csv_max_bad_rows tolerates {max_bad_rows}",
            line=line,
        )
    if rejects:
        lines = ", ".join(str(r[0]) for r in rejects)
        log.warning("skipped %d rows with another column count (lines %s)", len(rejects), lines)


def _cursor(database: duckdb.DuckDBPyConnection | None) -> duckdb.DuckDBPyConnection:
    con = database.cursor() if database is not None else duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con


#: The column that tells which file a row came from when several are read at once.
FILE_COLUMN = "__lakehouse_source_path"


def first_line(source: Source) -> bytes | None:
    """The header line of a small CSV file that :func:`open_many` may read with others.

    None when there is no complete first line, or when the file's dialect may differ from the
    one :func:`open_many` gives (quote and escape ``"``): one scan of many files sniffs the
    first file only, so a file read alone would be parsed another way. That is a file longer
    than the peek (its bytes are not all seen) or holding ``'`` or ``\\`` (which the sniffer may
    take as its quote or escape); such a file is read on its own.
    """
    head = _peek(source)
    end = head.find(b"\n")
    if end <= 0 or len(head) >= _PEEK_BYTES or b"'" in head or b"\\" in head:
        return None
    return head[:end]


def open_many(
    sources: list[Source],
    *,
    hints: dict[str, str],
    batch_rows: int,
    database: duckdb.DuckDBPyConnection | None = None,
) -> Batches | None:
    """Read several small files of one kind in one DuckDB scan (the many-small-files path).

    Only when every column is already known (``hints``), so the files are parsed into the
    table's types and no file's values are re-typed by its neighbours. None when not eligible;
    any error means the caller reads the files one by one, to say which file is bad.
    The batches carry :data:`FILE_COLUMN`.
    """
    kind = sources[0].kind
    compression = "gzip" if sources[0].gzip else "none"
    paths = "[" + ", ".join(_sql_str(str(s.path)) for s in sources) + "]"
    if kind in ("csv", "tsv"):
        reader = "read_csv"
        options = [
            "header = true",
            "skip = 0",
            "quote = '\"'",  # given, not sniffed: the sniffer would look at the first file only
            "escape = '\"'",
            "allow_quoted_nulls = false",
            "nullstr = [" + ", ".join(_sql_str(n) for n in NULL_STRINGS) + "]",
        ]
        if kind == "tsv":
            options.append("delim = '\t'")
    elif kind == "ndjson":
        reader = "read_json"
        options = ["format = 'newline_delimited'", "records = 'true'"]
    else:
        return None
    options += [f"compression = {_sql_str(compression)}", f"filename = {_sql_str(FILE_COLUMN)}"]
    con = _cursor(database)
    stack = ExitStack()
    stack.callback(con.close)
    try:
        sniff = ["sample_size = -1", "maximum_sample_files = -1"] if reader == "read_json" else []
        query = f"select * from {reader}({paths}, {', '.join([*options, *sniff])})"
        columns = [row[0] for row in con.sql(f"describe {query}").fetchall()]
        names = [c for c in columns if c != FILE_COLUMN]
        if not names or any(c not in hints for c in names) or _renamed(names):
            stack.close()
            return None
        typed = {c: hints[c] for c in names}
        key = "types" if reader == "read_csv" else "columns"

        def read(overrides: dict[str, str]) -> duckdb.DuckDBPyRelation:
            types = f"{key} = {_struct(typed | overrides)}"
            return con.sql(f"select * from {reader}({paths}, {', '.join([*options, types])})")

        arrow = _exact_integers(read({}), read)[0].to_arrow_reader(batch_rows)
        return Batches(arrow.schema, arrow, stack)
    except Exception:
        stack.close()
        raise


def _lines(locate: Locate, first_line: int) -> Locate:
    def line(column: str, value: str) -> int | None:
        row = locate(column, value)
        return None if row is None else row - 1 + first_line

    return line


def _csv_relation(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    head: bytes,
    hints: dict[str, str],
    max_bad_rows: int,
) -> tuple[duckdb.DuckDBPyRelation, Locate | None]:
    encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    nulls = "[" + ", ".join(_sql_str(s) for s in NULL_STRINGS) + "]"
    options = [
        "header = true",
        "skip = 0",  # the header is the first line (no sniffed preamble that eats rows)
        "allow_quoted_nulls = false",
        f"nullstr = {nulls}",
        f"compression = {_sql_str('gzip' if source.gzip else 'none')}",
        f"encoding = {_sql_str(encoding)}",
    ]
    if max_bad_rows:
        options += ["ignore_errors = true", "store_rejects = true"]
    delim = "\t" if source.kind == "tsv" else None
    path = _sql_str(str(source.path))

    def relation(delimiter: str | None, types: dict[str, str]) -> duckdb.DuckDBPyRelation:
        opts = [*options, f"delim = {_sql_str(delimiter)}"] if delimiter else list(options)
        if types:
            opts.append(f"types = {_struct(types)}")
        return con.sql(f"select * from read_csv({path}, {', '.join(opts)})")

    try:
        rel = relation(delim, {})
        if len(rel.columns) == 1 and delim is None:
            # The sniffer falls back to one column when rows disagree on their column count;
            # a header line holding a likely delimiter says that is what happened.
            guess = _likely_delimiter(head)
            if guess is not None:
                delim = guess
                rel = relation(delim, {})
    except duckdb.Error as exc:
        raise _column_count_problem(head, delim) or rejection(exc, hints) from exc
    types = _overrides(rel, hints)
    final = relation(delim, types) if types else rel
    return _exact_integers(final, lambda text: relation(delim, types | text))


def _overrides(rel: duckdb.DuckDBPyRelation, hints: dict[str, str]) -> dict[str, str]:
    """The hinted columns whose sniffed type differs from the hint."""

    def spelled(t: str) -> str:
        return t.upper().replace(" ", "").replace("TIMESTAMPWITHTIMEZONE", "TIMESTAMPTZ")

    return {
        name: hints[name]
        for name, sniffed in zip(rel.columns, rel.types, strict=True)
        if name in hints and spelled(str(sniffed)) != spelled(hints[name])
    }


def _header_line(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    return text.splitlines()[0] if text else ""


def _likely_delimiter(head: bytes) -> str | None:
    header = re.sub(r'"[^"]*"', "", _header_line(head))
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else None


def _column_count_problem(head: bytes, delim: str | None) -> FileRejected | None:
    """Find the first row whose column count differs from the header's (in the first lines)."""
    delimiter = delim or _likely_delimiter(head)
    if delimiter is None:
        return None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if len(head) == _PEEK_BYTES:  # the last line may be cut short
        text = text[: text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    expected: int | None = None
    for row in reader:
        if expected is None:
            expected = len(row)
            continue
        if row and len(row) != expected:
            line = reader.line_num
            return FileRejected(
                "column_count",
                f"line {line} has {len(row)} columns, the header has {expected}",
                line=line,
            )
    return None


def _check_json_array_end(source: Source, head: bytes) -> None:
    """DuckDB forgives a JSON array cut short (``[{...},``); a truncated file is not loaded."""
    if source.gzip or not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        return
    with source.path.open("rb") as f:
        f.seek(max(0, source.path.stat().st_size - 64))
        tail = f.read().rstrip()
    if not tail.endswith(b"]"):
        raise FileRejected("unparseable", "the JSON array does not end with ']' (truncated?)")


def _json_relation(
    con: duckdb.DuckDBPyConnection, source: Source, hints: dict[str, str]
) -> tuple[duckdb.DuckDBPyRelation, Locate | None]:
    fmt = "newline_delimited" if source.kind == "ndjson" else "auto"
    options = [
        f"format = {_sql_str(fmt)}",
        "records = 'true'",
        f"compression = {_sql_str('gzip' if source.gzip else 'none')}",
    ]
    path = _sql_str(str(source.path))
    rel = con.sql(f"select * from read_json({path}, {', '.join(options)})")
    if _renamed(rel.columns):
        _check_key_case(con, path, options[0], options[2])
    # A key whose values have no one type (1 here, "x" there) is sniffed as JSON, whose values
    # are JSON text ('"x"', quotes and all); read as VARCHAR it holds 'x', as a file of strings
    # only does, and '1'.
    loose = {
        name
        for name, sniffed in zip(rel.columns, rel.types, strict=True)
        if str(sniffed) == "JSON" and name not in hints
    }
    typed = {
        name: hints.get(name, "VARCHAR" if name in loose else str(sniffed))
        for name, sniffed in zip(rel.columns, rel.types, strict=True)
    }

    def read(overrides: dict[str, str]) -> duckdb.DuckDBPyRelation:
        columns = f"columns = {_struct(typed | overrides)}"
        return con.sql(f"select * from read_json({path}, {', '.join([*options, columns])})")

    if loose or _overrides(rel, hints):
        rel = read({})
    return _exact_integers(rel, read)


#: DuckDB's name for a JSON key whose name another key has, case aside: ``A`` → ``A_1``.
_RENAMED_KEY = re.compile(r"(.+)_\d+")


def _renamed(columns: list[str]) -> bool:
    """Whether a sniffed column may be a key DuckDB renamed (then the keys are checked)."""
    lower = {c.lower() for c in columns}
    return any(
        (m := _RENAMED_KEY.fullmatch(c)) is not None and m[1].lower() in lower for c in columns
    )


def _check_key_case(con: duckdb.DuckDBPyConnection, path: str, fmt: str, compression: str) -> None:
    """Refuse a file with keys that differ only by case (``a`` and ``A``).

    Column names are case-insensitive (DuckDB, Delta): DuckDB would read the second as ``A_1``,
    a column no key has, and its values would be lost on the way to bronze.
    """
    keys = con.sql(
        f"select distinct unnest(json_keys(json)) from read_json_objects({path}, {fmt}, "
        f"{compression}) where json_type(json) = 'OBJECT'"
    ).fetchall()
    spellings: dict[str, list[str]] = {}
    for (key,) in keys:
        spellings.setdefault(key.lower(), []).append(key)
    for names in spellings.values():
        if len(names) > 1:
            a, b = sorted(names)[:2]
            raise FileRejected(
                "invalid_column",
                f"keys {a!r} and {b!r} differ only by case; column names are "
                "case-insensitive, so one of them would be lost",
                column=b,
            )


def _open_parquet(source: Source, batch_rows: int, scratch: Path | None) -> Batches:
    stack = ExitStack()
    try:
        path = source.path
        if source.gzip:  # Parquet needs random access: decompress to a scratch file first
            tmp = stack.enter_context(tempfile.TemporaryDirectory(dir=scratch))
            path = Path(tmp) / "data.parquet"
            with gzip.open(source.path, "rb") as src, path.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        parquet = stack.enter_context(pq.ParquetFile(path))
        reader = pa.RecordBatchReader.from_batches(
            parquet.schema_arrow, parquet.iter_batches(batch_size=batch_rows)
        )
        return Batches(parquet.schema_arrow, reader, stack)
    except FileRejected:
        stack.close()
        raise
    except Exception as exc:
        stack.close()
        raise rejection(exc) from exc
