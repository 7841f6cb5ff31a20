"""The adversary's tools: the documented rule read independently, and the real API and loader.

:func:`expected` reads a landing file by ``docs/loading.md`` with the standard library only (csv
in strict mode, msgspec raw JSON): either the rows bronze must hold (each value as its text as
written), or a refusal and its kind. :func:`same` says whether a value bronze holds is exactly
that text by the rule (typed values only in their canonical spelling; text byte for byte), or
was rescued with it. :func:`run` sends inputs through the real API (FastAPI's TestClient, the
real app) and the real loader (``Loader.load_pending`` on a temporary lakehouse) in one pass.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import msgspec
import pyarrow as pa
from deltalake import DeltaTable
from fastapi.testclient import TestClient

from ingest import create_app
from lakehouse import Settings, dialect
from lakehouse.formats import from_name
from lakehouse.layout import raw_dir, table_path
from lakehouse.storage import arrow_dataset
from loader import Loader

D = decimal.Decimal


def _number(literal: str) -> D | str:
    """A JSON number as a Decimal, or its literal when no Decimal holds its exponent
    (``1e99999999999999999999``: bronze keeps it as text)."""
    try:
        return D(literal)
    except decimal.InvalidOperation:
        return literal


# -- the rule, read independently -----------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    kind: str  # the loader's quarantine kinds (docs/loading.md, Refusals)
    why: str


@dataclass(frozen=True)
class Table:
    header: list[str]
    #: each row: column → the value's text as written (None: null); JSON values keep their kind
    rows: list[dict[str, Any]]


Expected = Refusal | Table


def _csv_text(data: bytes) -> str | Refusal:
    if data[:2] in dialect.BOM_UTF16:
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            return Refusal("encoding", f"not UTF-16: {exc}")
    bad = dialect.first_non_utf8(data)
    if bad is not None:
        return Refusal("encoding", dialect.not_utf8_reason(bad))
    return data.decode("utf-8").removeprefix("\ufeff")


def _from_header(text: str, kind: str, skip_lines: int) -> tuple[str, str] | Refusal:
    """The text from the header line on, and its delimiter."""
    lines = list(dialect.csv_lines(text))  # LF, CRLF, CR: never U+2028, NEL, VT, FF
    text = "".join(lines[skip_lines:])
    if not text.strip("\r\n"):
        return Refusal("empty", "no header")
    table_kind: Literal["csv", "tsv"] = "tsv" if kind == "tsv" else "csv"
    if table_kind == "tsv" and _opens_a_quote(next(dialect.csv_lines(text), "")):
        # a name opening with a quote: quoted as a CSV, or the text itself? refused, unless
        # the table's meta says (docs/loading.md, TSV quoting; none here); the rows' after
        # the names are judged
        return Refusal("unparseable", "a .tsv name opens with a quote")
    chosen = dialect.csv_delimiter(dialect.header_record(text), table_kind)
    if table_kind == "csv" and not text.startswith("sep="):
        # two or more candidates in the header: the one reading every record with the
        # header's field count (docs/loading.md, Delimiter); two: refused; none: the most often
        tables = [d for d in _in_header(text) if _a_table(text, d)]
        if len(tables) > 1:
            return Refusal("unparseable", f"unclear: {tables}")
        if tables:
            return text, tables[0]
    return text, chosen


def _names_then_quotes(header: list[str], text: str, kind: str) -> Refusal | None:
    """The names' refusal, then a .tsv's field opening with a quote (its rows after its names)."""
    problem = dialect.check_names(header)
    if problem is not None:
        return Refusal("invalid_column", problem)
    if kind == "tsv" and _opens_a_quote(text):
        return Refusal("unparseable", "a .tsv field opens with a quote")
    return None


def _opens_a_quote(text: str) -> bool:
    """Whether a TSV field of ``text`` opens with a quote (at a line's start, after a TAB)."""
    return re.search(r'(?:^|[\t\r\n])"', text) is not None


def _in_header(text: str) -> list[str]:
    """The candidate delimiters occurring in the header record outside quoted names (each one
    ending a field: a quote opens a quoted name at the line's start or right after one), when
    two or more do."""
    found: list[str] = []
    at, size = 0, len(text)
    while at < size:  # at a field's start
        if text[at] == '"':
            close = at + 1
            while (close := text.find('"', close)) >= 0 and text[close + 1 : close + 2] == '"':
                close += 2
            if close < 0:
                break
            at = close + 1
        while at < size and text[at] not in (*dialect.DELIMITERS, "\r", "\n"):
            at += 1
        if at >= size or text[at] in "\r\n":
            break
        if text[at] not in found:
            found.append(text[at])
        at += 1
    return found if len(found) > 1 else []


def _a_table(text: str, delimiter: str) -> bool:
    """Whether ``delimiter`` alone reads ``text`` as a table of two or more columns."""
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        return False
    width = len(records[0]) if records else 0
    return width > 1 and all(len(r) in (0, width) for r in records)


def expected_csv(data: bytes, kind: str, skip_lines: int = 0) -> Expected:
    if not data:
        return Refusal("empty", "no bytes")
    text = _csv_text(data)
    if isinstance(text, Refusal):
        return text
    found = _from_header(text, kind, skip_lines)
    if isinstance(found, Refusal):
        return found
    text, delimiter = found
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return Refusal("unparseable", str(exc))
    header, body = records[0], records[1:]
    if not header:
        return Refusal("empty", "line 1, the header, is blank")
    problem = _names_then_quotes(header, text, kind)
    if problem is not None:
        return problem
    rows = []
    # a field is null when unquoted and empty: re-read the raw fields to tell "" from nothing
    quoted = _quoted_empties(text, delimiter)
    for n, record in enumerate(body):
        if record == []:  # a blank line: a null in a one-column file, nothing otherwise
            if len(header) > 1:
                continue
            record = [""]
        if len(record) != len(header):
            return Refusal("column_count", f"record {n + 2} has {len(record)} fields")
        rows.append(
            {
                h: (None if v == "" and (n + 1, i) not in quoted else v)
                for i, (h, v) in enumerate(zip(header, record, strict=True))
            }
        )
    if not rows:
        return Refusal("header_only", "a header and no rows")
    return Table(header, rows)


def _quoted_empties(text: str, delimiter: str) -> set[tuple[int, int]]:
    """(record, field) positions holding a quoted empty field ``""``."""
    found = set()
    record = field_no = 0
    i, n = 0, len(text)
    at_start = True
    while i < n:
        ch = text[i]
        if at_start and ch == '"':
            j = i + 1
            content = []
            while j < n:
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        content.append('"')
                        j += 2
                        continue
                    break
                content.append(text[j])
                j += 1
            if not content:
                found.add((record, field_no))
            i = j + 1
            at_start = False
            continue
        if ch == delimiter:
            field_no += 1
            at_start = True
        elif ch in "\r\n":
            if ch == "\r" and i + 1 < n and text[i + 1] == "\n":
                i += 1
            record += 1
            field_no = 0
            at_start = True
        else:
            at_start = False
        i += 1
    return found


_RAW = msgspec.json.Decoder(dict[str, msgspec.Raw])


def _json_records(text: bytes, ndjson: bool) -> list[bytes]:
    if not ndjson:
        try:
            value = msgspec.json.decode(text, type=msgspec.Raw)
            stripped = bytes(value).lstrip()
            if stripped.startswith(b"["):
                items = msgspec.json.decode(stripped, type=list[msgspec.Raw])
                return [bytes(r) for r in items]
            return [stripped]
        except msgspec.DecodeError:
            pass  # NDJSON in a .json file, or not JSON
    lines = [ln for ln in text.split(b"\n") if ln.strip()]
    return lines


class _Repeated(ValueError):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise _Repeated
    return dict(pairs)


def expected_json(data: bytes, kind: str) -> Expected:
    text = data.removeprefix(dialect.BOM_UTF8)
    bad = dialect.first_non_utf8(data)  # counted from the file's start, its BOM too
    if bad is not None:
        return Refusal("encoding", dialect.not_utf8_reason(bad, json=True))
    records = _json_records(text, kind == "ndjson")
    if not records:
        return Refusal("empty", "no records")
    rows = []
    for raw in records:
        try:
            json.loads(raw, object_pairs_hook=_no_repeats, parse_float=_number, parse_int=_number)
        except _Repeated:  # at any depth
            return Refusal("unparseable", "a duplicate key")
        except ValueError as exc:
            return Refusal("unparseable", f"not one JSON value: {exc}")
        if not raw.lstrip().startswith(b"{"):
            return Refusal("unparseable", "a record is not an object")
        try:
            rows.append({k: bytes(v) for k, v in _RAW.decode(raw).items()})
        except msgspec.DecodeError as exc:
            return Refusal("unparseable", str(exc))
    header = sorted({k for r in rows for k in r})
    if not header:
        return Refusal("empty", "records without keys: no column to store")
    problem = dialect.check_names(header)
    if problem is not None:
        return Refusal("invalid_column", problem)
    return Table(header, rows)


def expected(name: str, data: bytes) -> Expected:
    fmt = from_name(name)
    assert fmt is not None, name
    assert not fmt.gzip, "the corpus holds plain files"
    if fmt.kind in ("csv", "tsv"):
        return expected_csv(data, fmt.kind)
    return expected_json(data, fmt.kind)


# -- one stored value against its text --------------------------------------------------------


def rescued(row: dict[str, Any], column: str) -> Any:
    text = row.get(dialect.RESCUED_DATA)
    if not text:
        return None
    return json.loads(text).get(column)


def same_text(stored: Any, text: str | None) -> bool:
    """Does ``stored`` (a bronze value) say exactly the CSV text ``text`` by the rule?"""
    if text is None:
        return stored is None
    if stored is None:
        return False
    if isinstance(stored, str):
        return stored == text
    if isinstance(stored, bool):
        return text == ("true" if stored else "false")
    if isinstance(stored, int):
        return dialect.fits(text, "HUGEINT") and int(text) == stored
    if isinstance(stored, D):
        number = re.fullmatch(dialect.CANONICAL["NUMBER"], text) is not None
        return number and not re.fullmatch(r"-0(\.0*)?", text) and D(text) == stored
    if isinstance(stored, float):
        return dialect.fits(text, "DOUBLE") and float(text) == stored
    if isinstance(stored, dt.datetime):
        if not dialect.fits(text, "TIMESTAMPTZ"):
            return False
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        got = stored if stored.tzinfo else stored.replace(tzinfo=dt.UTC)
        return parsed == got
    if isinstance(stored, dt.date):
        return dialect.fits(text, "DATE") and stored.isoformat() == text
    return False


def same_json(stored: Any, raw: bytes | None) -> bool:
    """Does ``stored`` say exactly the JSON value written ``raw`` (None: absent)?"""
    if raw is None or raw == b"null":
        return stored is None
    value = json.loads(raw, parse_float=_number, parse_int=_number)
    if isinstance(value, str):
        return stored == value
    if isinstance(value, bool):
        return stored is value or stored == ("true" if value else "false")
    if isinstance(value, D):
        literal = raw.decode()
        if isinstance(stored, str):
            return stored == literal
        return same_text(stored, literal)
    if isinstance(value, dict) and isinstance(stored, dict):  # an object as a struct
        return _same_decoded(stored, value)
    # an array (or an object kept as text): its JSON text, parsed back, is the value
    if not isinstance(stored, str):
        return False
    try:
        return json.loads(stored, parse_float=_number, parse_int=_number) == value
    except ValueError:
        return False


def _same_decoded(stored: Any, value: Any) -> bool:
    """A struct field against a decoded JSON value (numbers as ``Decimal``), by the rule."""
    if value is None:
        return stored is None
    if isinstance(value, dict):
        if not isinstance(stored, dict) or not set(value) <= set(stored):
            return False
        extra = set(stored) - set(value)  # fields other objects brought: null here
        return all(stored[k] is None for k in extra) and all(
            _same_decoded(stored[k], v) for k, v in value.items()
        )
    if isinstance(value, bool):
        return stored is value or stored == ("true" if value else "false")
    if isinstance(value, D):
        if isinstance(stored, str):  # a number kept as text: its literal (1.0e+28 as written)
            number = re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?", stored)
            return number is not None and D(stored) == value
        return same_text(stored, str(value))
    if isinstance(value, str):
        return stored == value
    if not isinstance(stored, str):  # an array: its JSON text
        return False
    try:
        return json.loads(stored, parse_float=_number, parse_int=_number) == value
    except ValueError:
        return False


def row_matches(bronze: dict[str, Any], want: dict[str, Any], header: list[str], js: bool) -> bool:
    for column in header:
        text = want.get(column)
        stored = bronze.get(column)
        ok = same_json(stored, text) if js else same_text(stored, text)
        if not ok:
            back = rescued(bronze, column)
            if back is None:
                return False
            shown = text.decode() if isinstance(text, bytes) else text
            if stored is not None or str(back) != str(shown):
                return False
    return True


def mismatches(bronze: list[dict[str, Any]], table: Table, js: bool) -> list[str]:
    """What of ``table`` bronze does not hold exactly (empty: all of it, and nothing more)."""
    problems = []
    if len(bronze) != len(table.rows):
        problems.append(f"{len(bronze)} rows in bronze, {len(table.rows)} in the file")
    free = list(range(len(bronze)))
    for n, want in enumerate(table.rows):
        hit = next((i for i in free if row_matches(bronze[i], want, table.header, js)), None)
        if hit is None:
            near = {c: bronze[free[0]].get(c) for c in table.header} if free else {}
            problems.append(f"row {n}: {want!r} not in bronze (e.g. {near!r})")
            if len(problems) > 3:
                break
        else:
            free.remove(hit)
    names = set(bronze[0]) if bronze else set()
    missing = [h for h in table.header if bronze and h not in names]
    if missing:
        problems.insert(0, f"columns not kept by name: {missing!r} (bronze has {sorted(names)})")
    return problems


# -- the real API and loader ------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    data: bytes
    table: str
    api_status: int = 0
    api_detail: Any = None
    loaded_rows: list[dict[str, Any]] | None = None
    refused: dict[str, Any] | None = None  # the .error.json
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def api_took(self) -> bool:
        return self.api_status == 202

    @property
    def loader_took(self) -> bool:
        return self.refused is None and self.loaded_rows is not None


def lakehouse(root: Path, **overrides: Any) -> Settings:
    """Settings for a lakehouse in ``root`` (clear ``LAKEHOUSE_*`` variables first)."""
    values: dict[str, Any] = {
        "root": root,
        "dbt_project_dir": root / "dbt_project",
        "api_ready_requires_loader": False,
        "api_min_free_bytes": 0,
        "api_rate_per_token": 0,
        "batch_window_ms": 0,
    }
    values.update(overrides)
    (root / "dbt_project" / "models").mkdir(parents=True, exist_ok=True)
    return Settings(**values)


def declare(
    settings: Settings, table: str, columns: dict[str, str], policy: str | None = None
) -> None:
    """A contract for ``table`` in the lakehouse's dbt project: ``columns`` (name → data_type)
    and, when given, its ``on_mismatch``."""
    declared = "".join(
        f"\n          - {{name: {name}, data_type: {json.dumps(data_type)}}}"
        for name, data_type in columns.items()
    )
    meta = f"\n        meta: {{on_mismatch: {policy}}}" if policy else ""
    contract = (
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        f"      - name: {table}{meta}\n        columns:{declared}\n"
    )
    (settings.dbt_project_dir / "models" / f"{table}.yml").write_text(contract)


def _drop(settings: Settings, table: str, name: str, data: bytes) -> None:
    folder = raw_dir(settings, table)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.part"
    tmp.write_bytes(data)
    os.replace(tmp, folder / name)


def _bronze(settings: Settings, table: str) -> list[dict[str, Any]] | None:
    path = table_path(settings, "bronze", table)
    if not (path / "_delta_log").is_dir():
        return None
    rows: list[dict[str, Any]] = arrow_dataset(DeltaTable(str(path))).to_table().to_pylist()
    return rows


def _error(settings: Settings, table: str) -> dict[str, Any] | None:
    folder = settings.quarantine_dir / table
    if not folder.is_dir():
        return None
    for path in folder.glob("*.error.json"):
        found: dict[str, Any] = json.loads(path.read_text())
        return found
    return None


def run(
    settings: Settings,
    inputs: Iterable[tuple[str, str, bytes]],
    client: TestClient | None = None,
    *,
    rows: bool = True,
) -> dict[str, Outcome]:
    """Each (table, file name, bytes): posted to the API's ``/files``; what it takes is loaded
    as it landed, what it refuses is dropped into the landing zone as is; one loader pass
    loads them all. Returns each table's outcome. ``client``: an API client to reuse;
    ``rows=False``: bronze is not read back (``loaded_rows`` is ``[]`` for a loaded table)."""
    outcomes: dict[str, Outcome] = {}
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(TestClient(create_app(settings)))
        for table, name, data in inputs:
            r = client.post(
                f"/v1/tables/{table}/files?filename={name}",
                content=data,
                headers={"content-type": "application/octet-stream"},
            )
            outcome = Outcome(name, data, table, r.status_code, r.json().get("detail"))
            if r.status_code != 202:
                _drop(settings, table, name, data)
            outcomes[table] = outcome
    Loader(settings).load_pending()
    for table, outcome in outcomes.items():
        outcome.refused = _error(settings, table)
        if outcome.refused is None and rows:
            outcome.loaded_rows = _bronze(settings, table)
        elif (
            outcome.refused is None
            and (table_path(settings, "bronze", table) / "_delta_log").is_dir()
        ):
            outcome.loaded_rows = []
    return outcomes


def alike_at_the_bound(outcome: Outcome) -> None:
    """The API and the loader agree on a file meeting the rescued-text bound: both take it, or
    both refuse it as too large in one set of words (413 and ``too_large``), or both refuse it
    for another reason."""
    refused = outcome.refused
    if refused is None:
        assert outcome.api_status == 202, outcome.api_detail
    elif refused["kind"] == "too_large":
        api = (outcome.api_status, outcome.api_detail)
        assert api == (413, refused["reason"]), (api, refused["reason"])
    else:  # a file neither takes for another reason
        assert outcome.api_status not in (202, 413), (outcome.api_detail, refused)


def post_file(api: httpx.Client, table: str, name: str, data: bytes) -> httpx.Response:
    """``data`` sent as the file ``name`` to ``/files`` of a real server (``api``)."""
    return api.post(
        f"/v1/tables/{table}/files",
        params={"filename": name},
        content=data,
        headers={"content-type": "application/octet-stream"},
        timeout=60,
    )


def bronze_table(settings: Settings, table: str) -> pa.Table:
    """A bronze table as Arrow (dates past Python's, deep types: no Python objects)."""
    return arrow_dataset(DeltaTable(str(table_path(settings, "bronze", table)))).to_table()


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "MANIFEST.tsv").open(newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if not r["path"].startswith("#")]


def held_as_misshapen(settings: Settings, table: str, csv_body: bytes) -> str:
    """A contract the lakehouse reads as misshapen (``contracts.ContractShape``): the API
    answers 503 to a CSV file for ``table`` and the loader holds the same file in the landing
    zone, neither loaded nor quarantined. Returns the API's detail, for the caller's words."""
    with TestClient(create_app(settings)) as client:
        r = client.post(
            f"/v1/tables/{table}/files", content=csv_body, headers={"content-type": "text/csv"}
        )
    assert r.status_code == 503, (r.status_code, r.text)
    folder = raw_dir(settings, table)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.csv").write_bytes(csv_body)
    summary = Loader(settings).load_pending()
    assert not summary.loaded and not summary.quarantined, summary
    assert (folder / "a.csv").exists()  # held, neither loaded nor quarantined
    detail: str = r.json()["detail"]
    return detail


#: A Parquet file read by the API's check (``side`` "api") or the loader (``side`` "loader"),
#: in a child of at most 4 GB of address space (:func:`parquet_sides`): it prints ``rows N``,
#: or ``refused <the API's status or the loader's kind> <the words>`` (the API's refusal of a
#: record: its row from 1 and its column before the words, as the loader words it)
PARQUET_SIDE = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_AS, (4_000_000_000, 4_000_000_000))
    path, side = Path(sys.argv[1]), sys.argv[2]
    if side == "api":
        from ingest.filecheck import FileError, check_file
        from ingest.validation import RecordsError
        from lakehouse.formats import FileFormat
        try:
            print("rows", check_file(path, FileFormat("parquet", False), None))
        except RecordsError as exc:
            e = exc.errors[0]
            print("refused 422", f"record {e['row'] + 1}, column {e['field']!r}: {e['msg']}")
        except FileError as exc:
            print("refused", exc.status, str(exc))
    else:
        from loader.exceptions import FileRejected
        from loader.readers import Source, open_parquet
        try:
            opened = open_parquet(Source(path, "parquet", False), 122_880)
            with opened.stack:
                print("rows", sum(batch.num_rows for batch in opened.batches))
        except FileRejected as exc:
            print("refused", exc.kind, exc.reason)
    """
)


def parquet_side(path: Path, side: str) -> tuple[str, int]:
    """What :data:`PARQUET_SIDE` printed of ``path`` on ``side`` (its one line), and the
    child's peak resident MiB."""
    printed, peak = run_measured(PARQUET_SIDE, str(path), side, timeout=300)
    assert len(printed) == 1, (side, printed)
    return printed[0], peak


def refusal_words(printed: str) -> str:
    """A :data:`PARQUET_SIDE` line without the status or kind of a refusal (``refused 413
    X`` -> ``refused X``): the words the API and the loader share."""
    if not printed.startswith("refused "):
        return printed
    return "refused " + printed.removeprefix("refused ").partition(" ")[2]


def descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, at any depth (the API's ``forkserver``, its Parquet
    workers): read from every process's ``PPid`` (``/proc/<pid>/task/*/children`` needs a
    kernel option)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:  # it ended meanwhile
                continue
            found = re.search(r"^PPid:\s+(\d+)", status, re.M)
            if found:
                parents.setdefault(int(found[1]), []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        out += children
        todo += children
    return out


def peak_mib(pid: int) -> int:
    """The process's peak resident memory (VmHWM) in MiB; 0 for a process that has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(found[1]) // 1024 if found else 0


def tree_peaks(pid: int) -> dict[int, int]:
    """Each of ``pid``'s descendants still running (the API's forkserver and its Parquet
    workers, kept for the process's life), with its peak resident MiB: where the API's check
    of a Parquet file took its memory, which the API process's own peak does not show."""
    return {child: peak_mib(child) for child in descendants(pid)}


#: Printed last by :func:`run_measured`'s child: its own image's peak resident size (VmHWM;
#: ru_maxrss survives exec and would count the forking test process, an xdist worker's GBs)
_PRINT_PEAK = (
    "\nimport re as _re\n"
    'print("peak", int(_re.search(r"VmHWM:\\s+(\\d+) kB",'
    ' open("/proc/self/status").read())[1]) // 1024)\n'
)


def run_measured(code: str, *args: str, timeout: float = 300) -> tuple[list[str], int]:
    """``code`` run by a Python child with ``args``: the lines it printed, and its peak
    resident MiB."""
    out = subprocess.run(
        [sys.executable, "-c", code + _PRINT_PEAK, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    lines = out.stdout.splitlines()
    assert lines and lines[-1].startswith("peak "), out.stdout[-500:]
    return lines[:-1], int(lines[-1].split()[1])
