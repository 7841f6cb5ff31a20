"""A real PostgreSQL's ``COPY ... TO STDOUT (FORMAT text, HEADER)`` through the API and the
loader under ``meta: {tsv_quoting: postgres}``: bronze holds the table, value for value, null
and '' apart (issue #8; until session 17 the text format was read as ``tsv_quoting: none``
alone: '' stored null, null the text ``\\N``, ``\\t`` the two characters). And the other way:
what PostgreSQL's ``COPY ... FROM`` reads a field as, ``lakehouse.pgtext`` reads it as, or
refuses it (the server started on loopback by ``postgres_server``, tests/storage/conftest.py)."""

from __future__ import annotations

import io
import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from adversary.adversary_support import lakehouse, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse import dialect, pgtext
from lakehouse.settings import Settings

pytestmark = pytest.mark.postgres

#: hostile values of a text column: PostgreSQL's escapes, its null's spelling as text, the
#: characters a line or a field could end at, a quote (no quoting), non-ASCII
HOSTILE: list[str | None] = [
    None,
    "",
    "\\N",
    "\\",
    "\\\\N",
    "\\.",
    ".",
    "tab\there",
    "two\nlines",
    "cr\rlf\r\n",
    "back\\slash\\",
    '"quoted"',
    '"a""b"',
    "\b\f\v\x01\x1b\x7f",
    "\x85\u2028\u2029 NEL and line separators",
    "é € 😀 ünïcödé",
    " ",
    "\t",
    "\\x41\\101",
]


@pytest.fixture
def pg(postgres_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    return lakehouse(tmp_path)


def _postgres(settings: Settings, table: str) -> None:
    (settings.dbt_project_dir / "models" / f"{table}.yml").write_text(
        "version: 2\nsources:\n  - name: bronze\n    tables:\n"
        f"      - name: {table}\n        meta: {{tsv_quoting: postgres, infer_types: false}}\n"
    )


def _copy_out(conn: psycopg.Connection, table: str) -> bytes:
    with conn.cursor() as cur, cur.copy(f"copy {table} to stdout (format text, header)") as copy:
        return b"".join(bytes(block) for block in copy)


def test_a_table_of_hostile_values_copied_out_is_bronze_value_for_value(
    pg: psycopg.Connection, lake: Settings
) -> None:
    pg.execute('create table h (id int, "t\\x" text, "ünï cödé" text, j json)')
    with pg.cursor() as cur:
        for i, v in enumerate(HOSTILE):
            other = HOSTILE[-1 - i]
            j = None if v is None else json.dumps({"v": v}, ensure_ascii=False)
            cur.execute("insert into h values (%s, %s, %s, %s)", (i, v, other, j))
    data = _copy_out(pg, "h")
    assert b"\\N" in data and b"\\t" in data and b"\\\\" in data  # the format's escapes
    held = {
        str(r[0]): list(r[1:])
        for r in pg.execute('select id, "t\\x", "ünï cödé", j::text from h').fetchall()
    }
    _postgres(lake, "h")
    outcome = run(lake, [("h", "h.tsv", data)])["h"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    stored = {r["id"]: [r["t\\x"], r["ünï cödé"], r["j"]] for r in outcome.loaded_rows or []}
    assert stored == held
    assert stored["0"][0] is None and stored["1"][0] == ""  # null and '' apart


def test_a_table_copied_out_its_separators_escaped_raw_is_bronze_value_for_value(
    pg: psycopg.Connection, lake: Settings
) -> None:
    """The hostile values' export with each ``\\t`` ``\\n`` ``\\r`` written as a backslash
    then the TAB, LF or CR (as MySQL's ``INTO OUTFILE`` writes a TAB or LF in a value; a
    record then spans lines): PostgreSQL's ``COPY ... FROM`` reads the table back, and the
    API (202) and the loader store it value for value (until session 19 both refused the
    file, "it ends with a backslash, which escapes the TAB or line end after it ...")."""
    pg.execute("create table h (id int, a text, b text)")
    with pg.cursor() as cur:
        for i, v in enumerate(HOSTILE):
            cur.execute("insert into h values (%s, %s, %s)", (i, v, HOSTILE[-1 - i]))
    held = {str(r[0]): list(r[1:]) for r in pg.execute("select id, a, b from h").fetchall()}
    raw = {b"t": b"\\\t", b"n": b"\\\n", b"r": b"\\\r"}
    data = re.sub(rb"\\(.)", lambda m: raw.get(m[1], m[0]), _copy_out(pg, "h"))
    assert all(escape in data for escape in raw.values())
    pg.execute("create table back (id int, a text, b text)")
    with pg.cursor() as cur, cur.copy("copy back from stdin (format text, header)") as copy:
        copy.write(data)
    rows = pg.execute("select id, a, b from back").fetchall()
    assert {str(r[0]): list(r[1:]) for r in rows} == held
    _postgres(lake, "h")
    outcome = run(lake, [("h", "h.tsv", data)])["h"]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    assert {r["id"]: [r["a"], r["b"]] for r in outcome.loaded_rows or []} == held


_SEEN: list[int] = []


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.sampled_from(HOSTILE),
            st.text(st.characters(blacklist_categories=("Cs",), min_codepoint=1), max_size=6),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_copied_out_loads_back(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory, values: list[str | None]
) -> None:
    table = f"r_{len(_SEEN)}"
    _SEEN.append(1)
    lake = lakehouse(tmp_path_factory.mktemp("lake"))
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"create table {table} (id int, v text)")
        with conn.cursor() as cur:
            cur.executemany(f"insert into {table} values (%s, %s)", list(enumerate(values)))
        data = _copy_out(conn, table)
    _postgres(lake, table)
    outcome = run(lake, [(table, "x.tsv", data)])[table]
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, outcome.refused
    stored = {int(r["id"]): r["v"] for r in outcome.loaded_rows or []}
    assert stored == dict(enumerate(values))


# -- COPY ... FROM: PostgreSQL's reading of a field, and ours ------------------------------------

#: fields PostgreSQL reads though its COPY TO never writes them so
FIELDS = [
    "\\x",
    "\\xg",
    "\\x4",
    "\\x414",
    "\\1234",
    "\\7",
    "\\101\\x42\\C",
    '\\q\\ \\"',
    "x\\N",
    "\\\\N",
    "\\xc3\\xa9",
    "\\303\\251",
    "\\\u00e9",
    "\\b\\f\\n\\r\\t\\v",
    "\\777",
    "\\xff",
    "\\0",
    "\\400",
    "a\\.b",
    "\\.",
    "\\xe2\\x82",
    "x\x00y",  # a NUL as written: "invalid byte sequence for encoding "UTF8": 0x00"
]


def _copy_in(conn: psycopg.Connection, field: str) -> tuple[str | None] | str:
    """The value PostgreSQL's ``COPY ... FROM STDIN (FORMAT text)`` reads ``field`` (then a
    TAB and ``z``) as, or its error's class."""
    table = f"c_{uuid.uuid4().hex[:8]}"
    conn.execute(f"create table {table} (a text, b text)")
    try:
        with conn.cursor() as cur, cur.copy(f"copy {table} from stdin (format text)") as copy:
            copy.write(f"{field}\tz\n".encode())
    except psycopg.Error as exc:
        return type(exc).__name__
    rows = conn.execute(f"select a, b from {table}").fetchall()
    assert len(rows) <= 1
    return (rows[0][0],) if rows and rows[0][1] == "z" else f"read as {rows!r}"


@pytest.mark.parametrize("field", FIELDS)
def test_a_field_reads_as_postgresql_reads_it_or_is_refused(
    pg: psycopg.Connection, field: str
) -> None:
    theirs = _copy_in(pg, field)
    try:
        ours: tuple[str | None] | None = (pgtext.value(field),)
    except pgtext.PgTextError:
        ours = None
    if ours is not None:
        assert ours == theirs
    else:  # refused: PostgreSQL refuses it too, or reads another row than the line holds
        assert not isinstance(theirs, tuple), theirs


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(
        alphabet=st.sampled_from(["\\", "x", "0", "1", "7", "8", "a", "F", "N", ".", "é", "q"]),
        max_size=8,
    )
)
def test_any_escapes_read_as_postgresql_reads_them(postgres_url: str, field: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        theirs = _copy_in(conn, field)
    try:
        ours: tuple[str | None] | None = (pgtext.value(field),)
    except pgtext.PgTextError:
        ours = None
    if ours is not None:
        assert ours == theirs
    else:
        assert not isinstance(theirs, tuple), theirs


def _copy_file_in(conn: psycopg.Connection, data: bytes, width: int) -> int | None:
    """None when PostgreSQL's ``COPY ... FROM STDIN (FORMAT text, HEADER)`` of ``data`` into a
    table of ``width`` text columns reads it, else the line its error names."""
    table = f"f_{uuid.uuid4().hex[:8]}"
    conn.execute(f"create table {table} ({', '.join(f'c{i} text' for i in range(width))})")
    try:
        with (
            conn.cursor() as cur,
            cur.copy(f"copy {table} from stdin (format text, header)") as copy,
        ):
            copy.write(data)
    except psycopg.Error as exc:
        context = exc.diag.context or ""
        assert ", line " in context, (exc, context)
        return int(context.split(", line ")[1].split(":")[0].split(",")[0])
    return None


ENDS = ["\n", "\r\n", "\r"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.integers(min_value=1, max_value=2),
    st.sampled_from(ENDS),
    st.lists(st.tuples(st.sampled_from(["x", "", "\\N"]), st.sampled_from(ENDS)), max_size=8),
)
def test_a_line_end_or_an_empty_line_is_refused_where_postgresql_refuses_it(
    postgres_url: str, width: int, end: str, rows: list[tuple[str, str]]
) -> None:
    """Lines ended by LF, CRLF or CR, some empty: ``pgtext.rows_problem`` (the API's and the
    loader's scan) refuses the file exactly when PostgreSQL's COPY FROM does (it takes the line
    end from the first line; an empty line is one empty field), naming the line it names."""
    header = "\t".join(f"c{i}" for i in range(width))
    body = "".join(("\t".join([v] * width) if v else "") + e for v, e in rows)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        theirs = _copy_file_in(conn, (header + end + body).encode(), width)
    text = io.StringIO(header + end + body, newline="")  # read as the API and the loader do
    first = pgtext.line_end(text.readline())  # CR then a body's LF: CRLF
    found = pgtext.rows_problem(pgtext.chunks(text), 2, header.split("\t"), first)
    assert (found.line if found is not None else None) == theirs, (body, found)


def _read_as_bronze(data: bytes) -> list[tuple[str | None, ...]] | str:
    """The rows of a two-column text-format file (header ``a b``) as the API and the loader
    read it (``pgtext.rows_problem``, then pyarrow's split with the readers' options and
    ``pgtext.values``), or why it is refused."""
    text = io.StringIO(data.decode(), newline="")
    header = text.readline()
    end = pgtext.line_end(header)
    try:
        names = pgtext.names(header.removesuffix(end).split("\t"), 1)
        found = pgtext.rows_problem(pgtext.chunks(text), 2, names, end)
    except pgtext.Refused as exc:
        return exc.reason
    if found is not None:
        return found.reason
    try:
        table = pacsv.read_csv(
            dialect.LineEnded(pgtext.Unescaped(io.BytesIO(data))),  # the readers' stream
            parse_options=pacsv.ParseOptions(
                delimiter="\t", quote_char=False, newlines_in_values=True, ignore_empty_lines=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[pgtext.NULL],
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:  # a field count: the loader's column_count
        return str(exc)
    columns = [pgtext.values(c.combine_chunks()).to_pylist() for c in table.columns]
    return list(zip(*columns, strict=True))


def _copy_rows_in(conn: psycopg.Connection, data: bytes) -> list[tuple[str | None, ...]] | str:
    table = f"w_{uuid.uuid4().hex[:8]}"
    conn.execute(f"create table {table} (a text, b text)")
    try:
        with (
            conn.cursor() as cur,
            cur.copy(f"copy {table} from stdin (format text, header)") as copy,
        ):
            copy.write(data)
    except psycopg.Error as exc:
        return type(exc).__name__
    return [tuple(r) for r in conn.execute(f"select a, b from {table}").fetchall()]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(ENDS),
    st.text(
        alphabet=st.sampled_from([*"\\\\\t\n\rx40N.é", "\x00"]),
        max_size=14,
    ),
)
def test_a_file_read_reads_as_postgresql_reads_it(postgres_url: str, end: str, body: str) -> None:
    """Whole files of backslashes, TABs, line ends (LF, CRLF, CR files), escapes and NULs:
    what the API and the loader read, PostgreSQL 15's ``COPY ... FROM (FORMAT text, HEADER)``
    reads row for row. Refused where it reads otherwise: a backslash before a TAB or a line end
    (one field or one record where the split makes two), a backslash ending the file (which it
    drops), ``\\.``; or refuses (a NUL, bytes no UTF-8, a line end not the first line's)."""
    data = ("a\tb" + end + body).encode()
    ours = _read_as_bronze(data)
    if isinstance(ours, str):
        return
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        theirs = _copy_rows_in(conn, data)
    assert ours == theirs, (data, ours, theirs)


@pytest.mark.parametrize(
    ("data", "read"),
    [
        (b"a\tb\nx\\\ty\tz\n", [("x\ty", "z")]),  # \ TAB: one field
        (b"a\tb\nx\\\\\ty\n", [("x\\", "y")]),  # a pair, then the separator
        (b"a\tb\nx\\\\\\\ty\tz\n", [("x\\\ty", "z")]),  # a pair, then \ TAB
        (b"a\tb\nxy\\\n2\tz\n", [("xy\n2", "z")]),  # \ LF: one record
        (b"a\tb\r\nxy\\\r2\tz\r\n", [("xy\r2", "z")]),  # \ CR in a CRLF file
        (b"a\tb\nxy\\\r2\tz\n", [("xy\r2", "z")]),  # \ CR in a LF file
        (b"a\tb\r\nxy\\\n2\tz\r\n", [("xy\n2", "z")]),  # \ LF in a CRLF file
        (b"a\tb\rxy\\\r\\\n2\tz\r", [("xy\r\n2", "z")]),  # \ CR, \ LF in a CR file
        (b"a\tb\nx\ty\\\r\n", [("x", "y\r")]),  # \ CR before the LF ending the line
        (b"a\tb\nx\ty\\\n", [("x", "y\n")]),  # \ LF last in the file: the record ends there
    ],
    ids=[
        "tab",
        "pair_tab",
        "pair_escaped_tab",
        "lf",
        "cr_in_crlf",
        "cr_in_lf",
        "lf_in_crlf",
        "cr_lf_in_cr",
        "cr_before_lf",
        "lf_last",
    ],
)
def test_a_backslash_escaping_a_separator_reads_as_postgresql_reads_it(
    pg: psycopg.Connection, data: bytes, read: list[tuple[str, str]]
) -> None:
    """PostgreSQL 15's reading of a backslash before a TAB, LF or CR, that character in the
    value (a record going on to the next line): the API's and the loader's reading
    (``_read_as_bronze``: their scan, stream and split) reads so (until session 19 it refused
    the file)."""
    assert _copy_rows_in(pg, data) == read
    assert _read_as_bronze(data) == read


#: a value's characters, those a field or a record could end at most often
_TEXT = st.text(alphabet=st.sampled_from([*"\\\t\n\rxN.é"]), max_size=5)


_RAW = {"t": "\t", "n": "\n", "r": "\r"}


def _tabs_escaped_raw(field: str, raw: list[bool]) -> str:
    """``field`` (as COPY writes it) with its ``\\t`` ``\\n`` ``\\r`` escapes written as a
    backslash and the TAB, LF or CR where ``raw`` says (in turn; as MySQL's ``INTO OUTFILE``
    writes a TAB or LF in a value)."""
    turns = iter(raw * (1 + len(field)))

    def written(m: re.Match[str]) -> str:
        return "\\" + _RAW[m[1]] if m[1] in _RAW and next(turns) else m[0]

    return re.sub(r"\\(.)", written, field, flags=re.S)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.lists(st.lists(st.one_of(st.none(), _TEXT), min_size=2, max_size=2), max_size=4),
    st.lists(st.booleans(), min_size=1, max_size=4),
)
def test_a_separator_escaped_by_a_backslash_reads_as_postgresql_reads_it(
    postgres_url: str, end: str, rows: list[list[str | None]], raw: list[bool]
) -> None:
    """Rows as COPY writes them (lines ended by LF, CRLF or CR), some of their ``\\t``
    ``\\n`` ``\\r`` written as a backslash then the TAB, LF or CR: PostgreSQL 15's ``COPY
    ... FROM`` reads the values; the API's and the loader's reading (``_read_as_bronze``) reads
    the same rows, none refused."""
    out = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
    fields = [["\\N" if v is None else "".join(out.get(c, c) for c in v) for v in r] for r in rows]
    data = f"a\tb{end}" + "".join(
        "\t".join(_tabs_escaped_raw(f, raw) for f in r) + end for r in fields
    )
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        theirs = _copy_rows_in(conn, data.encode())
    assert theirs == [tuple(r) for r in rows]
    assert _read_as_bronze(data.encode()) == theirs, data


@pytest.mark.parametrize(
    ("data", "read"),
    [
        (b"a\tb\nx\ty\\", [("x", "y")]),  # the file's last byte: dropped
    ],
    ids=["file_end"],
)
def test_a_backslash_ending_the_file_is_refused_where_postgresql_drops_it(
    pg: psycopg.Connection, data: bytes, read: list[tuple[str, str]]
) -> None:
    """PostgreSQL 15 drops a backslash ending the file (copyfromparse.c); this reading refuses
    it, naming it (a value it would change: ``docs/loading.md``; before a TAB, LF or CR: read
    so since session 19, above)."""
    assert _copy_rows_in(pg, data) == read
    reason = _read_as_bronze(data)
    assert isinstance(reason, str) and "ends " in reason and "with a backslash" in reason
