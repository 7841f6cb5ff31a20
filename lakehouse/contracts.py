"""Table contracts, read from the dbt ``bronze`` source YAML: one schema for dbt and API clients.

A bronze table declared under ``sources: [{name: bronze, tables: [...]}]`` in any YAML file dbt
reads (under each resource path of ``dbt_project.yml``: ``models/``, ``macros/``, ``tests/``,
``seeds/``, ``snapshots/``, ``analyses/``, ``functions/`` by default; not a file
``.dbtignore`` names; an installed package's too) has a contract, read with the config
``dbt_project.yml`` gives it as dbt 1.11 applies it:

- its columns, each with an optional ``data_type`` in DuckDB's spelling (``bigint``,
  ``decimal(12,2)``, ``timestamp with time zone``, ...);
- required columns: a ``not_null`` test (``data_tests:`` or ``tests:``, the column's or the
  table's with ``column_name:``) that fails a build for one null (enabled, not limited by
  ``where:``, not ``severity: warn``, an ``error_if`` one failure meets; run by dbt's own
  macros, not the dbt project's: ``_test_applies``)
  or a ``not_null`` constraint (``constraints: [{type: not_null}]``);
- keys: ``meta: {primary_key: [...]}`` on the table (or under ``config: {meta: ...}``, or on the
  source, whose meta dbt merges into each of its tables'); key columns are required too;
- how its files are read (``lakehouse.dialect``), also in the table's ``meta``:
  ``on_mismatch: rescue|quarantine``, ``infer_types: true|false``, ``skip_lines: N``; unset,
  the settings of the same names decide (``skip_lines``: 0); ``delimiter: ','|';'|'|'|TAB``
  (a ``.csv``'s, the only one read), unset: by the rule; ``tsv_quoting: csv|none|postgres``
  (a ``.tsv``'s quoting: as a CSV quotes, none at all, or PostgreSQL's text format), unset:
  a ``.tsv`` field opening with a quote refuses the file (``docs/loading.md``, CSV and TSV).

Columns the contract does not name are allowed (bronze keeps them). A table without an entry has
no contract. A YAML file that does not parse and could name the ``bronze`` source leaves every
table's contract unknown (:class:`ContractsUnreadable`: the API refuses writes, the loader holds
the files) until it parses: its tables may be past the error. Readers are cheap to call
repeatedly: :class:`ContractStore` re-reads the YAML only when a file changed, and at most every
``refresh_s`` seconds.
"""

from __future__ import annotations

import codecs
import fnmatch
import functools
import hashlib
import logging
import operator
import os
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pathspec
import pyarrow as pa
import yaml

from lakehouse import dialect, parquet
from lakehouse.dialect import (
    DELIMITERS,
    MISMATCH_POLICIES,
    TSV_QUOTINGS,
    MismatchPolicy,
    TsvQuoting,
)
from lakehouse.exceptions import LakehouseError
from lakehouse.layout import TABLE_NAME
from lakehouse.settings import Settings

log = logging.getLogger(__name__)

SOURCE_NAME = "bronze"

Kind = Literal[
    "integer", "float", "decimal", "string", "boolean", "date", "timestamp", "time", "uuid", "any"
]

#: What a value of each canonical type (:func:`lakehouse.dialect.type_name`) looks like; a type
#: not here is ``any`` (bronze keeps it as text: docs/loading.md, Types).
_KINDS: dict[str, Kind] = {
    **dict.fromkeys([*dialect.INT_RANGES, "HUGEINT"], "integer"),
    "DOUBLE": "float",
    "FLOAT": "float",
    "DECIMAL": "decimal",
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "DATE": "date",
    **dict.fromkeys(dialect.TIMESTAMP_DIGITS, "timestamp"),
    "TIMESTAMPTZ": "timestamp",
    "TIME": "time",
    "UUID": "uuid",
}


def normalize_type(data_type: str) -> str:
    """``decimal(12, 2)`` → ``DECIMAL``; ``int8`` → ``BIGINT``; ``timestamp with time zone`` →
    ``TIMESTAMPTZ``: the loader's names (:func:`lakehouse.dialect.base_type`), one table."""
    return dialect.base_type(data_type)


def type_kind(data_type: str | None) -> Kind:
    """What a value of ``data_type`` must look like in JSON; ``any`` when not checked."""
    if not data_type:
        return "any"
    if data_type.strip().endswith("]"):  # a list type such as INTEGER[]
        return "any"
    return _KINDS.get(normalize_type(data_type), "any")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    data_type: str | None = None
    required: bool = False
    description: str = ""
    #: the struct type of the bronze column this one is judged by (:func:`as_loaded`: a JSON
    #: object must fit it as the loader fits it, ``lakehouse.nested.misfits``); not part of
    #: the contract's text
    struct: pa.StructType | None = None

    @property
    def kind(self) -> Kind:
        return type_kind(self.data_type)

    @property
    def int_range(self) -> tuple[int, int] | None:
        if self.kind != "integer" or self.data_type is None:
            return None
        return dialect.integer_range(self.data_type)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "data_type": self.data_type,
            "required": self.required,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Contract:
    table: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    source_file: str | None = None
    on_mismatch: MismatchPolicy | None = None
    infer_types: bool | None = None
    skip_lines: int = 0
    #: the delimiter of the table's ``.csv`` files (None: by the rule, ``dialect.csv_header``)
    delimiter: str | None = None
    #: how the table's ``.tsv`` files quote (None: a field opening with a quote is refused)
    tsv_quoting: TsvQuoting | None = None
    #: (column, type declared, type bronze's column holds) for each declared column judged by
    #: the table's type instead (:func:`as_loaded`); not part of the contract's text
    judged_by_table: tuple[tuple[str, str, str], ...] = ()

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def absent(self, names: Collection[str]) -> list[str]:
        """The required columns (``not_null``, key) a file of these column ``names`` lacks:
        the API refuses such a file (422), and the loader under ``on_mismatch: quarantine``."""
        return [name for name in self.required if name not in names]

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "columns": [c.as_dict() for c in self.columns],
            "primary_key": list(self.primary_key),
            "source_file": self.source_file,
            "on_mismatch": self.on_mismatch,
            "infer_types": self.infer_types,
            "skip_lines": self.skip_lines,
            "delimiter": self.delimiter,
            "tsv_quoting": self.tsv_quoting,
        }


@dataclass(frozen=True, slots=True)
class NotNullConfig:
    """What dbt 1.11 makes of a ``not_null`` test of a bronze column beyond its own entry
    (:meth:`_Project.test_config`)."""

    #: the config ``dbt_project.yml`` gives it, under the test's own
    project: Mapping[str, Any] = field(default_factory=dict)
    #: a root project's config of a package's test, over the test's own
    over: Mapping[str, Any] = field(default_factory=dict)
    #: the root project's ``flags: {require_generic_test_arguments_property: ...}`` (dbt
    #: 1.11's default: true): whether a test's ``arguments:`` are read as its arguments
    arguments: bool = True
    #: the dbt project's own macros dbt runs for the test in place of its own
    #: (:data:`TEST_MACROS`), each named with its file: its SQL decides what fails
    overrides: tuple[str, ...] = ()


def _test_of(entry: Any, test: str) -> tuple[bool, Any, str]:
    """Whether a ``data_tests`` entry is dbt's generic ``test``, with its arguments and its
    namespace (``""`` or ``"dbt"``), in each form dbt 1.11 reads: ``not_null``,
    ``dbt.not_null``, ``{not_null: {...}}``, ``{dbt.not_null: {...}}``, ``{test_name:
    not_null, name: ..., ...}`` (the entry its own arguments)."""
    for namespace in ("", "dbt"):
        name = f"{namespace}.{test}" if namespace else test
        if entry == name:
            return True, None, namespace
        if isinstance(entry, Mapping) and name in entry:
            return True, entry[name], namespace
        if isinstance(entry, Mapping) and entry.get("test_name") == name:
            return True, entry, namespace
    return False, None, ""


def _names_test(
    entries: Any,
    test: str,
    defaults: Callable[[Any, str], NotNullConfig] | None = None,
    where: str = "",
) -> bool:
    """Whether a ``tests``/``data_tests``/``constraints`` list holds ``test`` that refuses a
    null (a test judged with the project's config for it, ``defaults(arguments, namespace)``:
    :meth:`_Project.test_config`; :func:`_test_applies`); ``where`` names the list for a
    :class:`ContractShape`."""
    named = False
    for entry in entries or ():  # each judged: a later one dbt refuses is no less refused
        if isinstance(entry, Mapping) and entry.get("type") == test:
            named = True
            continue
        found, given, namespace = _test_of(entry, test)
        if not found:
            continue
        config = defaults(given, namespace) if defaults else NotNullConfig()
        if _test_applies(given, config, where):
            named = True
    return named


#: The ``where`` of this project's tests by default (``dbt_project.yml``): the rows a build may
#: have changed since the model last passed its tests (``macros/changed_since.sql``), which
#: for bronze are every row a load adds; so a test with it judges every row sent.
CHANGED_ROWS = "__changed_rows__"

#: The config keys of a test that decide whether it refuses a null (:func:`_test_applies`),
#: read wherever dbt 1.11 reads them: ``dbt_project.yml``'s ``data_tests:``, the test's own
#: ``config:``, its top level and its ``arguments:`` (dbt's ``TestBuilder.CONFIG_ARGS``).
TEST_CONFIG_KEYS = ("enabled", "where", "severity", "error_if", "fail_calc", "limit")

#: An ``error_if`` the lakehouse can judge: dbt writes ``<fail_calc> <error_if>`` into its SQL,
#: and a comparison with a whole number (``!= 0``, dbt's default; ``> 10``) is judged here.
_ERROR_IF = re.compile(r"\s*(!=|<>|>=|<=|==|=|>|<)\s*([+-]?[0-9]+)\s*")

#: A ``fail_calc`` that counts a not_null test's failing rows (dbt's default ``count(*)``).
_COUNTS = ("count(*)", "count(1)")

#: dbt 1.11's test severities (``SEVERITY_PATTERN``: either, in any case).
_SEVERITY = re.compile(r"warn|error", re.IGNORECASE)


def _test_applies(arguments: Any, config: NotNullConfig | None = None, where: str = "") -> bool:
    """Whether a ``not_null`` test, its entry's arguments (``{not_null: {config: {severity:
    warn}}}``; its ``arguments:`` merged over them unless ``config.arguments`` is false, as
    dbt's ``require_generic_test_arguments_property`` says) over the project's test config
    (``config.project``, the entry's own winning) as dbt 1.11 reads them, refuses a row for
    its null: it is enabled, judges every row and fails a
    build for one null. A disabled test is no test; one limited by ``where:`` judges only the
    rows dbt selects, which the lakehouse cannot (dbt does); an empty ``where`` (dbt filters
    nothing) and :data:`CHANGED_ROWS` (every row a load adds) limit nothing. A test of
    ``severity: warn`` (any case) only warns, and one whose ``error_if`` the failures one null
    row counts (1; 0 under ``limit: 0``) do not meet (``> 10``), or no failure meets too
    (``= 0``), does not fail for one null: the data is allowed, the column not required.
    ``config.over``: the root project's config of a package's test, which wins over the
    test's own.
    A test dbt runs through the dbt project's own
    macros (``config.overrides``: the project overrides :data:`TEST_MACROS`) is a
    :class:`ContractShape` unless disabled or ``severity: warn``: what fails it is that SQL's,
    the lakehouse cannot judge it (required, a row it accepts would be refused; not, a null it
    refuses would load without a word). A severity dbt
    refuses, an ``error_if`` that is no comparison with a whole number, a ``fail_calc`` that is
    no count of rows or a ``limit`` that is no whole number is a :class:`ContractShape`: the
    lakehouse cannot judge it (named by ``where``)."""
    config = config or NotNullConfig()
    settings = dict(config.project)
    if isinstance(arguments, Mapping):
        nested = arguments.get("arguments")
        if config.arguments and isinstance(nested, Mapping):
            # dbt 1.11 merges them over the test's arguments, their config: too
            arguments = {**arguments, **nested}
        own = arguments.get("config")
        settings.update(arguments)
        settings.update(own if isinstance(own, Mapping) else {})
    settings.update(config.over)
    narrowed = settings.get("where") not in (None, "", CHANGED_ROWS)
    if settings.get("enabled", True) is False or (narrowed and not config.overrides):
        return False
    said = f"{where}: its not_null" if where else "a not_null test"
    severity = settings.get("severity")
    if severity is None:
        severity = "error"
    if not isinstance(severity, str) or not _SEVERITY.fullmatch(severity):
        raise ContractShape(f"{said} has severity {severity!r}, not warn or error (dbt refuses it)")
    if severity.lower() == "warn":
        return False  # dbt's TestRunner warns, whatever SQL the project's macros made
    if config.overrides:
        raise ContractShape(
            f"{said} is run by the dbt project's own {', '.join(config.overrides)} in place of"
            " dbt's: whether one null fails it is that SQL's, which the lakehouse does not run"
            " (a not_null constraint or meta.primary_key requires a column without it)"
        )
    fail_calc = settings.get("fail_calc")
    if fail_calc is not None and re.sub(r"\s+", "", str(fail_calc)).lower() not in _COUNTS:
        raise ContractShape(
            f"{said} counts its failures by fail_calc {fail_calc!r}, which the lakehouse cannot"
            " judge (dbt writes it into its SQL): count(*), dbt's default, is judged"
        )
    limit = settings.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        raise ContractShape(f"{said} has limit {limit!r}, not a whole number")
    error_if = settings.get("error_if")
    condition = _ERROR_IF.fullmatch("!= 0" if error_if is None else str(error_if))
    if condition is None:
        raise ContractShape(
            f"{said} has error_if {error_if!r}, which the lakehouse cannot judge (dbt writes it"
            " into its SQL): a comparison with a whole number is judged ('!= 0', '> 10')"
        )
    one = 1 if limit is None or limit >= 1 else 0  # the failures dbt counts of one null row
    return _compares(condition, one) and not _compares(condition, 0)


def _compares(condition: re.Match[str], count: int) -> bool:
    """Whether ``count`` meets an ``error_if`` (:data:`_ERROR_IF`), as SQL compares them."""
    return _OPERATORS[condition[1]](count, int(condition[2]))


_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "!=": operator.ne,
    "<>": operator.ne,
    "=": operator.eq,
    "==": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class ContractShape(ValueError):
    """A bronze source's YAML that parses but is not shaped as dbt's (``meta:`` a list,
    ``columns:`` a mapping, a column without a name, an ``on_mismatch`` that is no policy):
    read as a file that does not parse, never skipped (its declarations would vanish)."""


def _listed(node: Mapping[str, Any], key: str, where: str) -> list[Any]:
    """``node[key]`` as the list dbt writes there (absent or empty: none)."""
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ContractShape(f"{where}: {key} is a {_kind(value)}, not a list")
    return value


def _mapping(node: Any, where: str) -> Mapping[str, Any]:
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise ContractShape(f"{where} is a {_kind(node)}, not a mapping")
    return node


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "mapping"
    return "string" if isinstance(value, str) else type(value).__name__


def _meta(node: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``node``'s meta as dbt merges it: its ``meta:``, then its ``config: {meta:}`` (which
    wins, key by key: dbt 1.11)."""
    config = _mapping(node.get("config"), f"{where}: config")
    meta = dict(_mapping(node.get("meta"), f"{where}: meta"))
    meta.update(_mapping(config.get("meta"), f"{where}: config.meta"))
    return meta


def _contract(
    table: Mapping[str, Any],
    source_file: str,
    source_meta: Mapping[str, Any] | None = None,
    tests: Callable[[str, Any, str], NotNullConfig] | None = None,
    over_meta: Mapping[str, Any] | None = None,
    arguments: bool = True,
) -> Contract | None:
    """The contract of one source ``table`` (None: it names no bronze table); ``source_meta``
    the meta it is merged over (the project's and its source's), ``tests(column, arguments)``
    the project's config of a ``not_null`` test of one of its columns, ``over_meta`` the meta
    merged over it (a root project's over a package's source table, dbt 1.11), ``arguments``
    whether dbt reads a test's ``arguments:`` (:class:`NotNullConfig`)."""
    entry = table.get("name")
    if not isinstance(entry, str):
        raise ContractShape(f"a table of source {SOURCE_NAME!r} has no name (dbt refuses it)")
    _no_jinja(entry, f"a table of source {SOURCE_NAME!r}: its name")
    _no_jinja(table.get("identifier"), f"table {entry!r}: its identifier")
    # the bronze table dbt reads for this entry is its ``identifier`` when given (dbt's
    # source('bronze', name) compiles to bronze.<identifier>), else its name
    identifier = table.get("identifier")
    if identifier is not None and not isinstance(identifier, str):
        raise ContractShape(
            f"table {entry!r} of source {SOURCE_NAME!r}: identifier is a {_kind(identifier)}, "
            "not a table name"
        )
    name = entry if identifier is None else identifier
    said = "table" if identifier is None else f"table {entry!r}: identifier"
    if TABLE_NAME.fullmatch(name.lower()) and not TABLE_NAME.fullmatch(name):
        raise ContractShape(  # DuckDB reads names in any case: 'T' would be bronze 't'
            f"{said} {name!r} of source {SOURCE_NAME!r}: bronze table names are lowercase "
            f"(write {name.lower()!r})"
        )
    if not TABLE_NAME.fullmatch(name):  # no bronze table can have it: it declares none
        return None
    where = f"table {name!r}" if identifier is None else f"table {name!r} (entry {entry!r})"
    # dbt merges the source's meta into each of its tables' (the table's keys win)
    meta = {**(source_meta or {}), **_meta(table, where), **(over_meta or {})}
    for key in _SETTINGS:
        _no_jinja(meta.get(key), f"{where}: meta.{key}")
    keys = meta.get("primary_key") or []
    if not isinstance(keys, str | list):
        raise ContractShape(f"{where}: meta.primary_key is a {_kind(keys)}, not a list")
    primary_key = (keys,) if isinstance(keys, str) else tuple(str(k) for k in keys)
    _policies(meta, where)
    # a table's own not_null tests name their column (``column_name:``), required as a key is
    tested = _table_not_nulls(table, tests, where, arguments)
    keys_folded = {k.lower() for k in (*primary_key, *tested)}  # one name whatever its case
    columns: list[Column] = []
    for i, col in enumerate(_listed(table, "columns", where)):
        if not isinstance(col, Mapping) or not isinstance(col.get("name"), str):
            raise ContractShape(f"{where}: columns[{i}] is no mapping with a name")
        _no_jinja(col["name"], f"{where}: a column's name")
        column = f"{where}: column {col['name']!r}"
        _check_column(col, columns, column)
        defaults = functools.partial(tests, col["name"]) if tests else None
        required = (
            _names_test(col.get("data_tests"), "not_null", defaults, f"{column}: data_tests")
            or _names_test(col.get("tests"), "not_null", defaults, f"{column}: tests")
            or _names_test(col.get("constraints"), "not_null")
            or col["name"].lower() in keys_folded
        )
        data_type = str(col.get("data_type") or "") or None
        _check_decimal(data_type, f"{where}: column {col['name']!r}")
        _check_duckdb_reads(data_type, f"{where}: column {col['name']!r}")
        if data_type is not None and normalize_type(data_type) in NESTED_RULES:
            # "object"/"unfit" name no DuckDB type (kept as text, as any such name): quoted, as a
            # user type's name, so it is never taken for the rule of a nested column the table
            # has (as_loaded), which the API judges by its name
            data_type = f'"{data_type.strip()}"'
        columns.append(
            Column(
                name=col["name"],
                data_type=data_type,
                required=required,
                description=str(col.get("description") or ""),
            )
        )
    listed = {column.name.lower() for column in columns}
    # a key the table does not list under ``columns:`` (dbt's sources need not list any) is a
    # required column of no declared type, as if listed; a listed column in another case is
    # the key's (names are one whatever their case)
    unlisted: dict[str, str] = {}
    for k in (*primary_key, *tested):
        if k.lower() not in listed:
            unlisted.setdefault(k.lower(), k)
    columns += [Column(name=k, data_type=None, required=True) for k in unlisted.values()]
    policy = meta.get("on_mismatch")
    infer = meta.get("infer_types")
    skip = meta.get("skip_lines")
    delimiter = meta.get("delimiter")
    quoting = meta.get("tsv_quoting")
    return Contract(
        name,
        tuple(columns),
        primary_key,
        source_file,
        on_mismatch=policy if policy in MISMATCH_POLICIES else None,
        infer_types=infer if isinstance(infer, bool) else None,
        skip_lines=skip if isinstance(skip, int) and not isinstance(skip, bool) and skip > 0 else 0,
        delimiter=delimiter if delimiter in DELIMITERS else None,
        tsv_quoting=quoting if quoting in TSV_QUOTINGS else None,
    )


#: A column name SQL reads as itself, unquoted (``id``, ``_k2``): what a table-level test's
#: ``column_name`` may be for the lakehouse to judge it (:func:`_table_not_nulls`).
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _table_not_nulls(
    table: Mapping[str, Any],
    tests: Callable[[str, Any, str], NotNullConfig] | None,
    where: str,
    arguments_read: bool = True,
) -> list[str]:
    """The columns a table's own ``not_null`` tests (``data_tests: [{not_null: {column_name:
    id}}]`` on the table, the column under ``arguments:`` too) judge on every row, as dbt 1.11
    runs them (a source's table-level generic test, named as a column's). A ``column_name``
    that is no column's name (an expression such as ``coalesce(a, b)``, which dbt writes into
    its SQL) is a misshapen contract: the lakehouse cannot judge it, and dropping it would
    leave a null the test refuses loaded without a word. ``arguments_read`` false (dbt's
    ``require_generic_test_arguments_property: false``): a ``column_name`` under
    ``arguments:`` is no column's (dbt passes the mapping to the test as an argument of that
    name, and the test names no column)."""
    names: list[str] = []
    for key in ("data_tests", "tests"):
        for entry in _listed(table, key, where):
            found, given, _namespace = _test_of(entry, "not_null")
            if not found or not isinstance(given, Mapping):
                continue
            arguments = given.get("arguments")
            column = given.get("column_name")
            if column is None and arguments_read and isinstance(arguments, Mapping):
                column = arguments.get("column_name")
            if column is None:
                continue
            _no_jinja(column, f"{where}: its not_null under {key}")
            if not isinstance(column, str) or not _PLAIN_NAME.fullmatch(column):
                raise ContractShape(
                    f"{where}: its not_null under {key} judges {column!r}, which is no column"
                    " name the lakehouse can judge (dbt writes it into its SQL): test a column"
                    " by its name (under columns:, or column_name: its name)"
                )
            defaults = functools.partial(tests, column) if tests else None
            if _names_test([entry], "not_null", defaults, f"{where}: {key}"):
                names.append(column)
    return names


#: The meta keys a contract reads (:func:`_contract`).
_SETTINGS = (
    "primary_key",
    "on_mismatch",
    "infer_types",
    "skip_lines",
    "delimiter",
    "tsv_quoting",
)


def _no_jinja(value: Any, where: str) -> None:
    """:class:`ContractShape` for a contract value holding Jinja (``{{ dbt.type_bigint() }}``,
    ``{% if ... %}``): dbt renders it (macros, vars) and the lakehouse cannot, so its text
    would be taken for what dbt never reads (a type no table has, kept as text; a name no
    column has) without a word."""
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            raise ContractShape(
                f"{where} holds Jinja ({value!r}), which dbt renders and the lakehouse does not:"
                " write the value itself"
            )
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _no_jinja(k, where)
            _no_jinja(v, where)
    elif isinstance(value, list):
        for v in value:
            _no_jinja(v, where)


def _check_column(col: Mapping[str, Any], columns: list[Column], column: str) -> None:
    """:class:`ContractShape` for a column dbt refuses or one declared twice by one name
    (case twins are judged as names: docs/loading.md): which declaration would be meant?
    Also for Jinja in what the contract reads of it: its type and its ``not_null`` tests and
    constraints (:func:`_no_jinja`; another test's or a description's Jinja is dbt's alone)."""
    _no_jinja(col.get("data_type"), f"{column}: data_type")
    if any(c.name == col["name"] for c in columns):
        raise ContractShape(f"{column} is declared twice (which declaration is meant?)")
    for key in ("data_tests", "tests", "constraints"):
        for entry in _listed(col, key, column):
            if _test_of(entry, "not_null")[0] or (
                isinstance(entry, Mapping) and entry.get("type") == "not_null"
            ):
                _no_jinja(entry, f"{column}: its not_null under {key}")
    if col.get("data_type") is not None and not isinstance(col.get("data_type"), str):
        raise ContractShape(f"{column}: data_type is a {_kind(col['data_type'])}, not a type")


#: DECIMAL widths DuckDB and Delta (Arrow's decimal128) hold.
DECIMAL_WIDTHS = range(1, 39)


def _check_decimal(data_type: str | None, where: str) -> None:
    """:class:`ContractShape` for a DECIMAL no table can hold (``decimal(40,2)``: width past
    38; ``decimal(5,7)``: scale past width; ``decimal(0,0)``): DuckDB refuses the type, and the
    loader's cast to it could only fail. So is one whose parameters are not a width and a
    scale (``decimal(5,-1)``: a negative scale, which pyarrow allows and Parquet, DuckDB and
    Delta do not; ``decimal(5,x)``): it was read as no DECIMAL at all, and its column's values
    stored as text, the declaration ignored without a word."""
    if not data_type or dialect.base_type(data_type) != "DECIMAL":
        return
    params = dialect.decimal_params(data_type)
    if params is None:
        given = dialect.type_name(data_type).removeprefix("DECIMAL")
        signed = re.fullmatch(r"\(\d+,(-\d+)\)", given)
        why = (
            f"its scale {signed[1]} is negative (Parquet's, DuckDB's and Delta's decimals have"
            " none)"
            if signed
            else f"its parameters {given} are not a width and a scale (DuckDB refuses them)"
        )
        raise ContractShape(
            f"{where} is declared {data_type!r}: no table holds that DECIMAL, {why}"
        )
    width, scale = params
    if width not in DECIMAL_WIDTHS:
        why = f"its width {width} is not 1 to 38"
    elif scale > width:
        why = f"its scale {scale} is greater than its width {width}"
    else:
        return
    raise ContractShape(
        f"{where} is declared {data_type!r}: no table holds that DECIMAL, {why} (DuckDB's and "
        "Delta's limits)"
    )


def _check_duckdb_reads(data_type: str | None, where: str) -> None:
    """:class:`ContractShape` for a ``data_type`` DuckDB refuses as a type: its parser
    (``bigint not null``, ``integer unsigned``, ``int primary key``, ``big int``, ``int(11)``,
    ``timestamp(12)``: a constraint or another database's word written into the type) or its
    binder (``float(54)``, ``tinyint(1)``, ``timestamptz(3)``). Kept as text, the declared type
    vanished without a word. A name DuckDB does not know (``money``: its catalog's error) is
    a type name not in the table, kept as text, as documented."""
    if not data_type or read_without_duckdb(data_type):
        return
    words = duckdb_refusal(data_type)
    if words is not None:
        raise ContractShape(
            f"{where} is declared {data_type!r}, which DuckDB does not read as a type ({words}):"
            " write the type alone (a constraint such as not null goes under constraints: or"
            " data_tests:)"
        )


#: Type spellings DuckDB reads, whatever their case (each checked against :func:`duckdb_refusal`
#: by tests/ingest/test_contract_types_without_duckdb.py): a contract declaring only these, and
#: DECIMALs of plain parameters (:data:`_PLAIN_DECIMAL`), is read without importing DuckDB (the
#: API's process: 46 MiB more resident once it is imported, 135 -> 181 MiB).
PLAIN_TYPES = frozenset(
    "bigint int8 long integer int int4 signed smallint int2 short tinyint int1 hugeint ubigint"
    " uinteger usmallint utinyint uhugeint double float8 real float4 float boolean bool logical"
    " varchar text string char bpchar date time timestamp datetime timestamptz timestamp_s"
    " timestamp_ms timestamp_us timestamp_ns blob bytea binary varbinary uuid interval".split()
) | {"double precision", "timestamp with time zone"}
#: ``decimal(p)``, ``decimal(p,s)``, ``numeric(p, s)``: read by DuckDB once :func:`_check_decimal`
#: has found the width and scale within its limits.
_PLAIN_DECIMAL = re.compile(r"(?:decimal|numeric)\(\d{1,2}(?:, ?\d{1,2})?\)", re.IGNORECASE)
#: ``varchar(255)``, ``character varying(20)``, ``char(3)`` (DuckDB reads the length and keeps
#: none), ``timestamp(3)`` / ``datetime(3)`` (a precision DuckDB maps to its timestamp types),
#: bare ``numeric`` / ``decimal``: the spellings exported contracts carry most.
_PLAIN_SIZED = re.compile(
    r"(?:varchar|char|character|character varying|bpchar)\(\d{1,9}\)"
    r"|(?:timestamp|datetime)\([0-9]\)|numeric|decimal",
    re.IGNORECASE,
)


def read_without_duckdb(data_type: str) -> bool:
    """Whether ``data_type`` is a spelling DuckDB is known to read as a type (:data:`PLAIN_TYPES`,
    a plain DECIMAL, a sized text or timestamp), so its check needs no DuckDB
    (:func:`duckdb_refusal` would say None)."""
    return (
        data_type.lower() in PLAIN_TYPES
        or _PLAIN_DECIMAL.fullmatch(data_type) is not None
        or _PLAIN_SIZED.fullmatch(data_type) is not None
    )


@functools.lru_cache(maxsize=1024)
def duckdb_refusal(data_type: str) -> str | None:
    """DuckDB's words refusing ``data_type`` as a type (its parser's or binder's error), or
    None when it reads it, or knows no type of that name (a catalog error). Asked of a
    database of its own, with no access to files, and only bound, never run: a text that
    smuggles more than a type into the query (``int)) t, error('x') x, ...``, a ``;``) is
    refused as no one type, never executed."""
    import duckdb

    con = duckdb.connect(config={"enable_external_access": False})
    try:
        sql = f"select typeof(cast(NULL as {data_type})) t"
        if len(con.extract_statements(sql)) != 1:
            return "it is not one type"
        if con.sql(sql).columns != ["t"]:  # bound (type-checked), not executed
            return "it is not one type"
        # the text alone as one type: a comment in it (`bigint)) t --`) passes the query
        duckdb.type(data_type)
    except duckdb.CatalogException:
        return None
    except duckdb.InvalidInputException:  # the query read it, the text alone is no type
        return "it is not one type"
    except duckdb.Error as exc:  # the parser's, the binder's
        return str(exc).splitlines()[0]
    finally:
        con.close()
    return None


def _policies(meta: Mapping[str, Any], where: str) -> None:
    """:class:`ContractShape` for a table setting that is none of its values (``on_mismatch:
    drop``: the default policy would apply without a word)."""
    policy = meta.get("on_mismatch")
    if policy is not None and policy not in MISMATCH_POLICIES:
        raise ContractShape(
            f"{where}: meta.on_mismatch is {policy!r}, not one of {', '.join(MISMATCH_POLICIES)}"
        )
    infer = meta.get("infer_types")
    if infer is not None and not isinstance(infer, bool):
        raise ContractShape(f"{where}: meta.infer_types is {infer!r}, not true or false")
    skip = meta.get("skip_lines")
    if skip is not None and (not isinstance(skip, int) or isinstance(skip, bool) or skip < 0):
        raise ContractShape(f"{where}: meta.skip_lines is {skip!r}, not a count of lines")
    delimiter = meta.get("delimiter")
    if delimiter is not None and delimiter not in DELIMITERS:
        raise ContractShape(
            f"{where}: meta.delimiter is {delimiter!r}, not one bronze reads (',', ';', '|' or"
            " a TAB)"
        )
    quoting = meta.get("tsv_quoting")
    if quoting is not None and quoting not in TSV_QUOTINGS:
        raise ContractShape(
            f"{where}: meta.tsv_quoting is {quoting!r}, not one of {', '.join(TSV_QUOTINGS)}"
        )


def check_meta(meta: Mapping[str, Any], where: str) -> None:
    """:class:`ContractShape` for a table setting of ``meta`` that is none of its values."""
    _policies(meta, where)


#: The dbt-duckdb plugin serving bronze tables to dbt (``transform/dbt_plugin.py``, its alias
#: in ``profiles.yml``): a source table whose meta names it reads ``dados/bronze/<identifier>``
#: (``dados/ops`` with ``meta: {folder: ops}``), whatever the source's name.
PLUGIN = "lakehouse_bronze"


def _declares_bronze(named: bool, meta: Mapping[str, Any]) -> bool:
    """Whether a source table (its meta merged as dbt merges it) is a bronze table's
    declaration: one the plugin serves from bronze (any source's, ``meta: {plugin:
    lakehouse_bronze}``, no ``folder`` or ``folder: bronze``), or one of the source named
    ``bronze`` that names no plugin (another plugin's, or the plugin's ``ops`` folder, reads
    no bronze table)."""
    plugin = meta.get("plugin")
    if plugin is None:
        return named
    return bool(plugin == PLUGIN and meta.get("folder", "bronze") == "bronze")


def _enabled(node: Mapping[str, Any], where: str) -> bool | None:
    """A source's or table's ``config: {enabled: ...}`` (None: unset; dbt 1.11: a disabled
    one is not in the manifest's sources, its tests disabled); :class:`ContractShape` when
    not true/false (dbt refuses ``"{{ false }}"``, rendered to the string ``'False'``)."""
    enabled = _mapping(node.get("config"), f"{where}: config").get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise ContractShape(f"{where}: config.enabled is {enabled!r}, not true or false")
    return enabled


def _source_contracts(
    source: Mapping[str, Any], source_file: str, project: _Project, folders: _Folders
) -> Iterator[Contract]:
    """The bronze contracts one source declares (:func:`_declares_bronze`), read with the
    project's config of each of its tables (``folders``: the file's, :class:`_Folders`)."""
    _no_jinja(source.get("name"), "a source's name")  # it may render to 'bronze'
    named = source.get("name") == SOURCE_NAME
    if not named and PLUGIN not in repr(source) + repr(project):
        return  # neither the bronze source nor one the plugin may serve
    label = f"source {source.get('name')!r}"
    source_meta = _meta(source, label)
    source_enabled = _enabled(source, label)
    for i, table in enumerate(_listed(source, "tables", label)):
        if not isinstance(table, Mapping):
            raise ContractShape(f"{label}: tables[{i}] is not a mapping")
        fqn = [*folders.sources, str(source.get("name")), str(table.get("name"))]
        project_meta, project_enabled = project.source_config(fqn)
        over_meta, over_enabled = (
            project.over.source_config(fqn, project.name) if project.over else ({}, None)
        )
        # dbt 1.11: the table's config over its source's over the project's (the deepest
        # level of dbt_project.yml's sources: winning there), and a root project's over a
        # package's all; disabled: not in the manifest
        enabled = over_enabled
        for given in (_enabled(table, f"{label}, table {table.get('name')!r}"), source_enabled):
            enabled = given if enabled is None else enabled
        for given in (project_enabled, True):
            enabled = given if enabled is None else enabled
        if not enabled:
            continue
        merged = {**project_meta, **source_meta}  # the project's meta under the YAML's
        meta = {**merged, **_meta(table, f"table {table.get('name')!r}"), **over_meta}
        for key in ("plugin", "folder"):  # which folder dbt reads the table from
            _no_jinja(meta.get(key), f"{label}, table {table.get('name')!r}: meta.{key}")
        tests = functools.partial(
            project.test_config, folders.tests, str(source.get("name")), table.get("name")
        )
        if _declares_bronze(named, meta) and (
            contract := _contract(
                table, source_file, merged, tests, over_meta, project.arguments_read
            )
        ):
            yield contract


def parse_sources(
    documents: Iterable[tuple[str, Any]],
    project: _Project | None = None,
    folders: _Folders | None = None,
) -> dict[str, Contract]:
    """Contracts from parsed YAML documents ``(file name, document)``: the ``bronze`` source's
    tables and those the plugin serves from bronze (:func:`_declares_bronze`), read with the
    config ``dbt_project.yml`` gives them (``project``; ``folders``: the documents' folders,
    :class:`_Folders`). Raises
    :class:`ContractShape` where a document's bronze source is not shaped as dbt's
    (``sources:`` or ``tables:`` not a list included)."""
    contracts: dict[str, Contract] = {}
    declared_by: dict[str, str] = {}  # a table → the source declaring it
    for source_file, doc in documents:
        if not isinstance(doc, Mapping):
            continue
        sources = doc.get("sources")
        if isinstance(sources, Mapping) and sources.get("name") == SOURCE_NAME:
            raise ContractShape("sources is a mapping, not a list")
        for source in sources if isinstance(sources, list) else ():
            if not isinstance(source, Mapping):
                continue
            label = f"source {source.get('name')!r}"
            for contract in _source_contracts(
                source, source_file, project or _Project(), folders or _Folders()
            ):
                first = declared_by.get(contract.table)
                if first == label:
                    raise ContractShape(
                        f"table {contract.table!r} is declared twice in {label} (dbt refuses"
                        " a project declaring it twice)"
                    )
                if first is not None:
                    raise ContractShape(
                        f"table {contract.table!r} is declared twice, in {first} and {label},"
                        f" both read as bronze {contract.table!r} (which declaration is meant?)"
                    )
                contracts[contract.table] = contract
                declared_by[contract.table] = label
    return contracts


#: dbt_project.yml's keys naming the folders whose YAML dbt reads, each with dbt's default and
#: the deprecated key it falls back to (dbt 1.11, ``dbt.config.project``: ``all_source_paths``)
_PATH_KEYS: tuple[tuple[str, str | None, str], ...] = (
    ("model-paths", "source-paths", "models"),
    ("seed-paths", "data-paths", "seeds"),
    ("snapshot-paths", None, "snapshots"),
    ("analysis-paths", None, "analyses"),
    ("macro-paths", None, "macros"),
    ("test-paths", None, "tests"),
    ("function-paths", None, "functions"),
)


def _project(folder: Path, *, package: bool = False) -> Mapping[str, Any]:
    """``folder``'s ``dbt_project.yml`` parsed (none: empty; a package's: refused, as dbt
    refuses it); the parser's error for one that does not."""
    project_file = folder / "dbt_project.yml"
    try:
        text = project_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if package:
            raise ContractShape(
                "there is none, and dbt refuses an installed package without one"
            ) from None
        text = ""
    return _mapping(yaml.safe_load(text), "dbt_project.yml")


def _levels(block: Mapping[str, Any], fqn: Sequence[str]) -> Iterator[dict[str, Any]]:
    """The config each level of a ``dbt_project.yml`` block (``sources:``, ``data_tests:``)
    gives a node of path ``fqn``, the top first, as dbt 1.11 reads them
    (``dbt.utils.fqn_search``, ``ContextConfigGenerator._project_configs``): a level is the
    mapping under the next name of the path (the walk stops at the first name missing); its
    config is each key prefixed ``+`` (``+meta``) and each key whose value is no mapping
    (``enabled: false``): ``meta: {...}`` without its ``+`` names a level, not the meta."""
    level: Any = block
    for depth in range(len(fqn) + 1):
        yield {
            (key[1:].strip() if isinstance(key, str) and key.startswith("+") else key): value
            for key, value in level.items()
            if (isinstance(key, str) and key.startswith("+")) or not isinstance(value, Mapping)
        }
        if depth == len(fqn) or not isinstance(level.get(fqn[depth]), Mapping):
            return
        level = level[fqn[depth]]


@dataclass(frozen=True, slots=True)
class _Folders:
    """The folders of a YAML file as dbt names its nodes by them (the fqn, between the
    project's name and the node's): a source's, from the resource path it was found under
    (``models/staging/s.yml``: ``staging``); a test's, from the project's folder less its
    first folder (``more/deep/x/s.yml`` under the model path ``more/deep``: ``deep``, ``x``;
    dbt 1.11 ``SchemaGenericTestParser``)."""

    sources: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    #: the second resource path the file is under (``models/staging`` beside ``models``):
    #: dbt reads it twice, and refuses a project declaring its sources so twice
    twice: str | None = None


#: dbt 1.10's behaviour flag for a test's ``arguments:`` (:attr:`_Project.arguments_read`)
_ARGUMENTS_FLAG = "require_generic_test_arguments_property"

#: dbt 1.11's ``ProjectFlags`` (``dbt.contracts.project``): what each flag of ``flags:``
#: takes. One of another kind makes dbt read none of ``flags:`` (``read_project_flags``
#: drops the block's ``ValidationError``), without a word; names it does not know it keeps.
#: ``tests/adversary/test_contract_project_config.py`` holds this to dbt's own schema.
_FLAG_KINDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "cache_selected_only", "debug", "fail_fast", "partial_parse", "populate_cache",
            "static_parser", "use_colors", "use_colors_file", "use_experimental_parser",
            "version_check", "warn_error", "write_json",
        ),
        "true, false or null",
    ),
    **dict.fromkeys(
        ("indirect_selection", "log_format", "log_format_file", "log_level", "log_level_file"),
        "a text or null",
    ),
    "printer_width": "an integer or null",
    "warn_error_options": "a mapping of texts or lists of texts, or null",
    **dict.fromkeys(
        (
            "send_anonymous_usage_stats",
            "require_batched_execution_for_custom_microbatch_strategy",
            "require_event_names_in_deprecations",
            "require_explicit_package_overrides_for_builtin_materializations",
            "require_resource_names_without_spaces", "source_freshness_run_project_hooks",
            "skip_nodes_if_on_run_start_fails", "state_modified_compare_more_unrendered_values",
            "state_modified_compare_vars", "require_yaml_configuration_for_mf_time_spines",
            "require_nested_cumulative_type_params", "validate_macro_args",
            "require_all_warnings_handled_by_warn_error", _ARGUMENTS_FLAG,
            "require_unique_project_resource_names",
            "require_ref_searches_node_package_before_root",
        ),
        "true or false",
    ),
}  # fmt: skip


def _takes(kind: str, value: Any) -> bool:
    """Whether dbt's schema takes ``value`` for a flag of ``kind`` (:data:`_FLAG_KINDS`)."""
    if value is None:
        return kind.endswith("or null")
    if kind.startswith("true"):
        return isinstance(value, bool)
    if kind.startswith("a text"):
        return isinstance(value, str)
    if kind.startswith("an integer"):
        # JSON Schema's integer: a number of no fraction, 80.0 too (not a boolean)
        whole = isinstance(value, float) and value.is_integer()
        return whole or (isinstance(value, int) and not isinstance(value, bool))
    return isinstance(value, Mapping) and all(
        isinstance(k, str)
        and (isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v)))
        for k, v in value.items()
    )


def _flag_dbt_drops(flags: Mapping[str, Any]) -> str | None:
    """The first flag of ``flags:`` whose value dbt's schema does not take, said as words
    (None: dbt reads the block)."""
    for name, value in flags.items():
        kind = _FLAG_KINDS.get(name)
        if kind is not None and not _takes(kind, value):
            return f"flags.{name} is {value!r}, not {kind}"
    return None


#: The macros deciding what dbt 1.11 counts as a ``not_null`` test's failures, and whether
#: they fail a build: the test's SQL (``test_not_null``, a ``{% test not_null %}`` block too,
#: and the bodies it dispatches to), the rows it reads (``get_where_subquery``) and their limit,
#: the count and comparisons around them (``get_test_sql``) and the ``test`` materialization
#: running them. dbt runs the root project's own definition of any in place of its own, and,
#: for a test an installed package declares, the package's too (but its ``default__`` and
#: ``duckdb__`` bodies, which dispatch finds in the root project or dbt, and its
#: materialization); another package's, only when the root project's ``dispatch:`` searches it
#: for dbt's macros (held to ``dbt test`` in tests/adversary/test_contract_test_macros.py).
TEST_MACROS = frozenset(
    {
        *(f"{prefix}{name}" for prefix in ("", "default__", "duckdb__") for name in (
            "test_not_null", "get_test_sql", "get_where_subquery"
        )),
        "get_limit_subquery_sql",
        "default__get_limit_sql",
        "duckdb__get_limit_sql",
        "materialization test",
    }
)  # fmt: skip

#: Macros of the lakehouse's own dbt project that are no override (:data:`TEST_MACROS`), by
#: :func:`macro_digest` of their text: its ``__changed_rows__`` scoping of a test's rows
#: (dbt_project/macros/changed_since.sql: every row a load adds, :data:`CHANGED_ROWS`), and
#: ``changed_since``, which it calls. Any other text under these names is an override.
KNOWN_MACROS = {
    "duckdb__get_where_subquery": (
        "9416966cb20dd3c7c5a3a56a30095469afebc0fa194a8fedf1ae3609bd1ffafc"
    ),
    "changed_since": "bbab73eba229d1e3d3ce8ef25ad67d776f350632a28086a1d76eb8b220142680",
}


def macro_digest(sql: str) -> str:
    """SHA-256 of a macro's text (``{%`` to ``%}``, as dbt keeps it: ``macro_sql``) with its
    whitespace runs made one space."""
    return hashlib.sha256(" ".join(sql.split()).encode("utf-8")).hexdigest()


#: A top-level block of a dbt macro file: ``{% macro name(...) %}``, ``{% test name(...) %}``
#: (``data_test``), ``{% materialization name, default %}``, to its end tag
_BLOCK = re.compile(
    r"\{%-?\s*(macro|test|data_test|materialization)\s+(\w+)(.*?)-?%\}.*?\{%-?\s*end\1\s*-?%\}",
    re.S,
)
_COMMENT = re.compile(r"\{#.*?#\}", re.S)
#: the materializations dbt 1.11 runs for this adapter: the default's and duckdb's
_FOR_DUCKDB = re.compile(r"""\s*,\s*(default|adapter\s*=\s*(['"])duckdb\2)\s*""")


def _macro_definitions(files: Mapping[Path, bool], root: Path) -> tuple[tuple[str, str], ...]:
    """The :data:`TEST_MACROS` defined in ``files`` (each: whether it is a macro file, else a
    generic test file, where dbt reads ``test`` blocks alone), each (its name, its path from
    ``root``), but the lakehouse's own (:data:`KNOWN_MACROS`)."""
    found: list[tuple[str, str, str]] = []
    for path, macros in sorted(files.items()):
        try:
            text = _COMMENT.sub("", path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue  # gone since listed, or unreadable: dbt cannot read it either
        place = os.path.relpath(path, root)
        for block in _BLOCK.finditer(text):
            kind, name, rest = block[1], block[2], block[3]
            if kind in ("test", "data_test"):
                name = f"test_{name}"
            elif not macros:
                continue
            elif kind == "materialization":
                if not _FOR_DUCKDB.fullmatch(rest):
                    continue
                name = f"materialization {name}"
            found.append((name, place, macro_digest(block[0])))
    digests = {name: {digest for n, _, digest in found if n == name} for name in KNOWN_MACROS}
    known = all(d <= {KNOWN_MACROS[n]} for n, d in digests.items())
    return tuple(
        (name, place)
        for name, place, _ in found
        if name in TEST_MACROS and not (known and name in KNOWN_MACROS)
    )


def _dispatched(project: Mapping[str, Any], name: Any) -> tuple[str, ...]:
    """The packages a root project's ``dispatch:`` of dbt's own macros (``macro_namespace:
    dbt``) searches before dbt (dbt 1.11 searches its ``search_order``): their ``default__``
    and ``duckdb__`` bodies of :data:`TEST_MACROS` run in place of dbt's
    (:func:`_dispatch_overrides`)."""
    dispatch = project.get("dispatch")
    found: list[str] = []
    for entry in dispatch if isinstance(dispatch, list) else ():
        if not isinstance(entry, Mapping) or entry.get("macro_namespace") != "dbt":
            continue
        order = entry.get("search_order")
        for package in order if isinstance(order, list) else ():
            if package not in (name, "dbt", *found):
                found.append(package)
    return tuple(found)


def _dispatch_overrides(
    dispatched: Sequence[str],
    installed: Mapping[Any, tuple[tuple[str, str], ...] | None],
) -> tuple[tuple[str, str], ...]:
    """What the packages ``dispatched`` (:func:`_dispatched`) run in place of dbt's macros:
    the ``default__``/``duckdb__`` bodies of :data:`TEST_MACROS` each defines (``installed``:
    a package's name → its definitions, each (its name, where it is); None: two installed
    packages have that name, and which dbt reads is not known here, so the dispatch itself is
    named). A package not installed adds nothing: dbt 1.11 then finds its own macros."""
    found: list[tuple[str, str]] = []
    for package in dispatched:
        if not isinstance(package, str) or package not in installed:
            continue
        defined = installed[package]
        if defined is None:
            found.append(("dbt's macros", f"dispatched to {package!r} by dbt_project.yml"))
            continue
        found.extend(d for d in defined if d[0].startswith(("default__", "duckdb__")))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class _Project:
    """What ``dbt_project.yml`` configures of the bronze sources' tables and their tests: its
    ``name``, its ``sources:`` and ``data_tests:`` (or ``tests:``) blocks."""

    name: str | None = None
    sources: Mapping[str, Any] = field(default_factory=dict)
    tests: Mapping[str, Any] = field(default_factory=dict)
    #: an installed package's: the root project's config, applied over the package's own
    #: and its YAML's (dbt 1.11 ``calculate_node_config``: the active project's last)
    over: _Project | None = None
    #: whether dbt reads a test's ``arguments:`` as its arguments: the root project's
    #: ``flags: {require_generic_test_arguments_property: ...}`` (dbt 1.11: true unless
    #: said; a package's flags are not read)
    arguments_read: bool = True
    #: the macros of :data:`TEST_MACROS` dbt runs from this project's own (and, for a
    #: package, the root project's) in place of dbt's, each (its name, where it is)
    overrides: tuple[tuple[str, str], ...] = ()
    #: the packages the root project's ``dispatch:`` searches first for dbt's macros
    #: (:func:`_dispatched`; a package's: the root project's)
    dispatched: tuple[str, ...] = ()

    @classmethod
    def read(cls, project: Mapping[str, Any], over: _Project | None = None) -> _Project:
        name = project.get("name")
        sources = _mapping(project.get("sources"), "dbt_project.yml: sources")
        tests = project.get("data_tests", project.get("tests"))
        flags = _mapping(project.get("flags"), "dbt_project.yml: flags")
        arguments_read = flags.get(_ARGUMENTS_FLAG, True)
        if not isinstance(arguments_read, bool):
            raise ContractShape(  # dbt 1.11 then ignores the whole flags: block, unsaid
                f"dbt_project.yml: flags.{_ARGUMENTS_FLAG} is {arguments_read!r}, not true or"
                " false (dbt then reads none of flags:, this one true)"
            )
        dropped = _flag_dbt_drops(flags) if arguments_read is False else None
        if dropped is not None:  # dbt reads none of flags:, this one true, unsaid
            raise ContractShape(
                f"dbt_project.yml: {dropped}, so dbt reads none of flags:, and"
                f" {_ARGUMENTS_FLAG}: false is not read (dbt reads it true)"
            )
        return cls(
            name if isinstance(name, str) else None,
            sources,
            _mapping(tests, "dbt_project.yml: data_tests"),
            over,
            over.arguments_read if over is not None else arguments_read,
            (),
            _dispatched(project, name) if over is None else over.dispatched,
        )

    def _fqn(self, path: Sequence[str], package: str | None) -> list[str]:
        """A node's path from the top of a block: ``path`` under the name of the project it
        is in (``package``; None: this one's), in its own project's blocks and the root's."""
        name = self.name if package is None else package
        return [] if name is None else [name, *path]

    def source_config(
        self, path: Sequence[str], package: str | None = None
    ) -> tuple[dict[str, Any], bool | None]:
        """The meta and ``enabled`` (None: unset) ``sources:`` gives the source table of path
        ``path`` (its folders, source name, table name): each level's ``+meta`` merged over
        the level above's key by key, the deepest ``enabled`` winning (dbt 1.11)."""
        meta: dict[str, Any] = {}
        enabled: bool | None = None
        where = "dbt_project.yml: sources"
        fqn = self._fqn(path, package)
        for i, config in enumerate(_levels(self.sources, fqn)):
            at = ": ".join([where, *fqn[:i]])
            meta.update(_mapping(config.get("meta"), f"{at}: +meta"))
            if "enabled" in config:
                _no_jinja(config["enabled"], f"{at}: +enabled")
                if not isinstance(config["enabled"], bool):
                    raise ContractShape(
                        f"{at}: +enabled is {config['enabled']!r}, not true or false"
                    )
                enabled = config["enabled"]
        return meta, enabled

    def test_config(
        self,
        folders: Sequence[str],
        source: str,
        table: Any,
        column: str,
        arguments: Any,
        namespace: str = "",
    ) -> NotNullConfig:
        """The config (``where``, ``enabled``, ``severity``, ...) ``data_tests:`` gives a
        ``not_null`` test of ``column`` (its ``arguments``: the entry's mapping, or None) of a
        source's table,
        the deepest level winning: the top, the project's name, the YAML file's folders
        (:class:`_Folders`), the test's name (its ``name:``, else dbt's
        ``source_not_null_<source>_<table>_<column>``, ``dbt_`` before it for
        ``dbt.not_null``, the column's other characters than
        letters, digits and ``_`` each run one ``_``). dbt applies the test's own config over
        it (:func:`_test_applies`), and a package's test the root project's over that (the
        second of the two)."""
        given = arguments.get("name") if isinstance(arguments, Mapping) else None
        clean = re.sub("[^0-9a-zA-Z_]+", "_", column)
        name = f"source_not_null_{source}_{table}_{clean}"
        name = given if isinstance(given, str) else f"{namespace}_{name}" if namespace else name
        over = self.over.test_config_at([*folders, name], self.name) if self.over else {}
        overrides = tuple(
            f"{macro} ({place})"
            for macro, place in self.overrides
            # dbt.not_null is dbt's own test, its dispatched SQL the project's still
            if not (namespace == "dbt" and macro == "test_not_null")
        )
        return NotNullConfig(
            self.test_config_at([*folders, name], None), over, self.arguments_read, overrides
        )

    def test_config_at(self, path: Sequence[str], package: str | None) -> dict[str, Any]:
        """The config (:data:`TEST_CONFIG_KEYS`: ``where``, ``enabled``, ``severity``, ...)
        ``data_tests:`` gives the test of path ``path`` (in the project named ``package``;
        None: this one)."""
        config: dict[str, Any] = {}
        for level in _levels(self.tests, self._fqn(path, package)):
            for key in TEST_CONFIG_KEYS:
                if key in level:
                    _no_jinja(level[key], f"dbt_project.yml: data_tests: +{key}")
                    config[key] = level[key]
        return config


def _project_paths(project: Mapping[str, Any]) -> list[str]:
    """The folders (relative to the dbt project) whose YAML files dbt reads: every resource
    path of ``dbt_project.yml`` (``project``), dbt's defaults where unset (no
    ``dbt_project.yml``: the defaults). Raises :class:`ContractShape` for a
    ``dbt_project.yml`` dbt would not read so: which files declare the sources would be
    unknown."""
    _Project.read(project)
    paths: set[str] = set()
    for key, deprecated, default in _PATH_KEYS:
        value = project.get(key)
        if value is None and deprecated is not None:
            value = project.get(deprecated)
        if value is None:
            value = [default]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ContractShape(f"dbt_project.yml: {key} is no list of folders")
        for folder in value:
            if "{{" in folder or "{%" in folder:
                raise ContractShape(
                    f"dbt_project.yml: {key} holds Jinja ({folder!r}), which dbt renders and"
                    " the lakehouse does not: write the folder itself"
                )
        paths.update(v.rstrip("/") for v in value)
    return sorted(paths)


#: A file name dbt reads as YAML (``dbt.parser.search.filesystem_search``'s ``[!.#~]*.yml``
#: and ``[!.#~]*.yaml``, matched ignoring case by ``dbt_common``'s ``find_matching``): not one
#: starting with ``.`` (a macOS AppleDouble ``._x.yml``, an editor's temporary), ``#`` or ``~``.
_YAML_FILE = re.compile(
    f"{fnmatch.translate('[!.#~]*.yml')}|{fnmatch.translate('[!.#~]*.yaml')}", re.IGNORECASE
)


def _yaml_found(
    project: Path, folders: Iterable[str], ignored: pathspec.PathSpec | None
) -> dict[Path, _Folders]:
    """The YAML files dbt reads in the dbt project ``project`` (``dbt.parser.read_files``),
    each with its folders as dbt names its nodes by them (:class:`_Folders`): each
    ``*.yml``/``*.yaml`` under each of its resource paths (``folders``,
    :func:`_project_paths`, walked as ``os.walk`` walks them) that its ``.dbtignore``
    (``ignored``, :func:`_dbtignore`) does not name, its path from the project's folder
    matched as ``git`` matches ``.gitignore`` (dbt's ``find_matching``)."""
    found: dict[Path, _Folders] = {}
    for folder in folders:
        for here, _dirs, files in os.walk(project / folder):
            for f in files:
                path = Path(here) / f
                if not _YAML_FILE.match(f):
                    continue
                under = os.path.relpath(path, project / folder)
                if ignored is not None and ignored.match_file(os.path.join(folder, under)):
                    continue
                if path in found:  # under two resource paths (models, models/staging)
                    found[path] = replace(found[path], twice=folder)
                    continue
                found[path] = _Folders(
                    Path(under).parts[:-1], Path(os.path.relpath(path, project)).parts[1:-1]
                )
    return {p: found[p] for p in sorted(found) if p.is_file()}


def _dbtignore(project: Path) -> pathspec.PathSpec | None:
    """The dbt project's ``.dbtignore`` (None: it has none): the files dbt does not read, in
    ``.gitignore``'s patterns (dbt 1.11 ``generate_dbt_ignore_spec``)."""
    try:
        text = (project / ".dbtignore").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return pathspec.PathSpec.from_lines("gitwildmatch", text.splitlines())


@dataclass(frozen=True, slots=True)
class _DbtProject:
    """One dbt project whose YAML dbt reads: the root project, or a package installed in its
    ``packages-install-path`` (``dbt_packages/<package>/``, each read as dbt reads it); its
    config (:class:`_Project`) and its YAML files."""

    folder: Path
    config: _Project
    files: dict[Path, _Folders]
    #: the root project's: where its packages are installed
    packages: Path | None = None
    #: the files whose blocks dbt reads as macros (true) or generic tests (false)
    macros: dict[Path, bool] = field(default_factory=dict)


def _macro_files(
    project: Path, config: Mapping[str, Any], ignored: pathspec.PathSpec | None
) -> dict[Path, bool]:
    """The ``.sql`` files of the dbt project ``project`` whose blocks dbt 1.11 reads as
    macros (under its ``macro-paths``: true) or generic tests (under ``<test-path>/generic``:
    false), but those ``.dbtignore`` names (``ignored``)."""
    found: dict[Path, bool] = {}
    for key, macros in (("macro-paths", True), ("test-paths", False)):
        value = config.get(key)
        folders = value if isinstance(value, list) else [key.split("-")[0] + "s"]
        for folder in folders:
            if not isinstance(folder, str):
                continue
            under = folder if macros else os.path.join(folder, "generic")
            for here, _dirs, files in os.walk(project / under):
                for f in files:
                    path = Path(here) / f
                    if not f.lower().endswith(".sql"):
                        continue
                    name = os.path.relpath(path, project)
                    if ignored is not None and ignored.match_file(name):
                        continue
                    found.setdefault(path, macros)
    return found


#: a top-level ``config:`` key of a ``profiles.yml`` (:func:`_with_profile_flags`)
_PROFILE_CONFIG = re.compile(r"""^["']?config["']?[ \t]*:""", re.MULTILINE)


def _with_profile_flags(project: Mapping[str, Any], settings: Settings) -> Mapping[str, Any]:
    """The root ``dbt_project.yml`` (``project``) with the flags dbt 1.11 reads for it: its
    ``flags:``, else the ``config:`` of the ``profiles.yml`` dbt runs with (deprecated, still
    read: ``read_project_flags``); both set is a :class:`ContractShape` (dbt refuses it). A
    ``profiles.yml`` that cannot be read says nothing here (dbt cannot run with it)."""
    try:
        text = (settings.profiles_dir / "profiles.yml").read_text("utf-8")
        if not _PROFILE_CONFIG.search(text):
            return project  # no config: key (the YAML is parsed only when it may have one)
        profile = yaml.safe_load(text)
    except (OSError, UnicodeError, yaml.YAMLError):
        return project
    config = profile.get("config") if isinstance(profile, Mapping) else None
    if not config:
        return project
    if project.get("flags"):
        raise ContractShape(
            "it has flags: and profiles.yml has config: (dbt refuses both: which is meant?)"
        )
    return {**project, "flags": config}


def _dbt_projects(settings: Settings) -> tuple[list[_DbtProject], list[Unreadable]]:
    """The dbt projects whose YAML dbt reads (:class:`_DbtProject`), and the files that say
    which they are and cannot be read (a ``dbt_project.yml`` or ``.dbtignore`` that does not
    parse, or whose paths are no list of folders or hold Jinja; a package without a
    ``dbt_project.yml``): while one is, which files declare the sources is unknown. A root
    project's ``dbt_project.yml`` that cannot be read leaves its model paths read."""
    unreadable: list[Unreadable] = []
    projects: list[_DbtProject] = []
    root = settings.dbt_project_dir
    root_config: _Project | None = None
    install = "dbt_packages"
    queue = [root]  # the root, then its packages as its dbt_project.yml names their folder
    for folder in queue:
        package = folder != root
        read = "dbt_project.yml"
        project: Mapping[str, Any] = {}
        try:
            project = _project(folder, package=package)
            if not package:
                project = _with_profile_flags(project, settings)
            paths = _project_paths(project)
            config = _Project.read(project, over=root_config)
            if not package:
                install = project.get("packages-install-path", install)
                if not isinstance(install, str) or "{{" in install or "{%" in install:
                    raise ContractShape(
                        f"dbt_project.yml: packages-install-path is {install!r}, not a folder"
                        " (dbt renders Jinja, the lakehouse does not)"
                    )
                root_config = config
                folders = root / install
                queue += sorted(
                    p
                    for p in (folders.iterdir() if folders.is_dir() else ())
                    if p.is_dir() and not p.name.startswith("__")
                )
            read = ".dbtignore"
            ignored = _dbtignore(folder)
        except (OSError, UnicodeError, yaml.YAMLError, ContractShape) as exc:
            # which folders dbt reads is unknown: any of them may declare any table
            shown = _shown(settings, folder / read)
            reason = f"cannot be read: {exc.strerror or exc}" if isinstance(exc, OSError) else None
            unreadable.append(Unreadable(shown, reason or _reason(exc)))
            if package:
                continue
            paths, config, ignored = ["models"], _Project(), None
        files = _yaml_found(folder, paths, ignored)
        macros = _macro_files(folder, project, ignored)
        installed = None if package else root / install
        projects.append(_DbtProject(folder, config, files, installed, macros))
    return projects, unreadable


def _joined(node: Any) -> Any:
    """A parsed YAML document with every string's UTF-16 surrogate pairs joined, as JSON reads
    them: a double-quoted ``"\\ud83d\\ude00"`` (what ``json.dumps`` writes for U+1F600; JSON is
    YAML) is two lone surrogates to PyYAML, U+1F600 to JSON and to the file holding the column.
    A string still holding a lone surrogate is no text (no file can hold it as UTF-8): the
    document is refused as one that does not parse (``UnicodeError``)."""
    if isinstance(node, str):
        if not any("\ud800" <= ch <= "\udfff" for ch in node):
            return node
        return node.encode("utf-16", "surrogatepass").decode("utf-16")
    if isinstance(node, Mapping):
        return {_joined(k): _joined(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_joined(v) for v in node]
    return node


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A YAML file of the dbt project that does not parse: ``path`` as shown
    (relative to the dbt project), ``reason`` the parser's words and place."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path} does not parse ({self.reason})"


class ContractsUnreadable(LakehouseError):
    """The bronze contracts cannot be read: a YAML file of the dbt project does not
    parse, and it may declare any table (the list of its tables may be past the error). Every
    table's files are held until it parses: the API refuses writes (503), the loader leaves
    the files in the landing zone (docs/loading.md, Declared types win)."""

    def __init__(self, unreadable: tuple[Unreadable, ...]) -> None:
        self.unreadable = unreadable
        files = "; ".join(str(u) for u in unreadable)
        super().__init__(
            f"the bronze contracts cannot be read: {files}; a file of the dbt project that does"
            " not parse may declare any table, so no table is loaded without its contract"
            " until it parses"
        )


@dataclass(frozen=True, slots=True)
class Contracts:
    """What the dbt project's YAML declares now: each bronze table's contract, and the files
    that do not parse (while there is one, no table's contract is known)."""

    tables: dict[str, Contract]
    unreadable: tuple[Unreadable, ...] = ()

    def checked(self) -> dict[str, Contract]:
        """The contracts; raises :class:`ContractsUnreadable` while a file does not parse."""
        if self.unreadable:
            raise ContractsUnreadable(self.unreadable)
        return self.tables


def _reason(exc: Exception) -> str:
    """A YAML error in one line, with its place (line and column, from 1)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        problem = exc.problem or exc.context or "does not parse"
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(exc, UnicodeError):  # _joined
        return "a string holds a lone UTF-16 surrogate, which no text can hold"
    return " ".join(str(exc).split())


def _may_declare_bronze(text: str) -> bool:
    """Whether a YAML text could name the ``bronze`` source: it holds the word, or an escape
    (a double-quoted ``"\\x62ronze"``) that could spell it, or a NUL (no YAML holds one: the
    file is UTF-16 or UTF-32 text read as UTF-8, its letters apart, ``b\\0r\\0o\\0...``). A
    file that does none of these declares no bronze table whatever else it says, so its parse
    error holds no table back. *Before:* (until session 13) a UTF-16 file declaring the source
    was taken for one naming none, and its contract vanished without a word (revl 07)."""
    return SOURCE_NAME in text or "\\" in text or "\0" in text


_WIDE_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _not_utf8(data: bytes, at: int) -> str:
    """Why a YAML file's bytes are no text dbt reads: not UTF-8 at byte ``at``, and the
    encoding its byte-order mark names, if it has one (Windows tools save UTF-16 so)."""
    for mark, name in _WIDE_MARKS:
        if data.startswith(mark):
            return f"not UTF-8 at byte {at}: {name} text (its byte-order mark); save it as UTF-8"
    return f"not UTF-8 at byte {at}"


def read_contracts(settings: Settings) -> Contracts:
    """Every bronze table's contract, read now, and the YAML files that do not parse (one
    holding a lone surrogate, :func:`_joined`, or text that is not UTF-8, included) and could
    declare a bronze table (:func:`_may_declare_bronze`). A file that does not parse and
    cannot name the source is logged and skipped: it declares no contract either way."""
    contracts: dict[str, Contract] = {}
    declared_in: dict[str, tuple[str, Path]] = {}  # a table → the file declaring it, its project
    projects, unreadable = _dbt_projects(settings)
    found_in = [(path, folders, p) for p in projects for path, folders in p.files.items()]
    root = settings.dbt_project_dir
    # the macros dbt runs for a not_null test in place of its own (TEST_MACROS): the root
    # project's, and a package's own for the tests it declares
    overrides = {p.folder: _macro_definitions(p.macros, root) for p in projects}
    # the installed packages' definitions by the package's name (a root project's dispatch:
    # names packages so); two of one name: neither is known
    names = [p.config.name for p in projects if p.folder != root]
    installed = {
        p.config.name: overrides[p.folder] if names.count(p.config.name) == 1 else None
        for p in projects
        if p.folder != root
    }
    for path, folders, dbt_project in found_in:
        project = dbt_project.config
        # a package's own, for its tests, but for the bodies dbt's dispatch finds in the root
        # project or dbt alone and the materialization (a package's is not used: dbt 1.11's
        # require_explicit_package_overrides_for_builtin_materializations)
        own = tuple(
            (name, place)
            for name, place in (overrides[dbt_project.folder] if dbt_project.folder != root else ())
            if not name.startswith(("default__", "duckdb__", "materialization "))
        )
        dispatched = _dispatch_overrides(project.dispatched, installed)
        project = replace(project, overrides=(*dispatched, *overrides.get(root, ()), *own))
        shown = _shown(settings, path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # removed since listed: it declares nothing now
        except OSError as exc:
            unreadable.append(Unreadable(shown, f"cannot be read: {exc.strerror or exc}"))
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:  # it may hold anything, if it may name the source
            if _may_declare_bronze(data.decode("utf-8", "replace")):
                unreadable.append(Unreadable(shown, _not_utf8(data, exc.start)))
            else:
                log.warning(
                    "%s is not UTF-8 at byte %d; it names no bronze source, so no contract is lost",
                    shown,
                    exc.start,
                )
            continue
        try:
            document = _joined(yaml.safe_load(text))
            found = parse_sources([(str(path), document)], project, folders)
            if found and folders.twice is not None:
                raise ContractShape(
                    f"it is under two resource paths of dbt_project.yml (the second"
                    f" {folders.twice!r}): dbt reads it twice and refuses a project declaring"
                    " a source table twice"
                )
            for table in found.keys() & contracts.keys():
                first, in_project = declared_in[table]
                raise ContractShape(
                    f"table {table!r} is declared in {first} too "
                    + (
                        "(dbt refuses a project declaring a source table twice)"
                        if in_project == dbt_project.folder
                        else "(another dbt project's: which declaration is meant?)"
                    )
                )
            contracts.update(found)
            declared_in.update(dict.fromkeys(found, (shown, dbt_project.folder)))
        except (UnicodeError, yaml.YAMLError, ContractShape) as exc:
            if _may_declare_bronze(text):
                unreadable.append(Unreadable(shown, _reason(exc)))
            else:
                log.warning(
                    "%s does not parse (%s); it names no bronze source, so no contract is lost",
                    shown,
                    _reason(exc),
                )
    return Contracts(contracts, tuple(unreadable))


def _shown(settings: Settings, path: Path) -> str:
    """``path`` as the dbt project's folder name and the path inside it."""
    project = settings.dbt_project_dir
    try:
        return str(Path(project.name) / path.relative_to(project))
    except ValueError:
        return str(path)


def load_contracts(settings: Settings) -> dict[str, Contract]:
    """Every bronze table's contract, read now; raises :class:`ContractsUnreadable` while a
    YAML file that may declare one does not parse (:func:`read_contracts`)."""
    return read_contracts(settings).checked()


@dataclass
class ContractStore:
    """Cached contracts; re-read when a YAML file changed, at most every ``refresh_s``."""

    settings: Settings
    refresh_s: float = 2.0
    _contracts: Contracts = field(default_factory=lambda: Contracts({}))
    _stamp: tuple[tuple[str, int, int], ...] | None = None
    _checked: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _current_stamp(self) -> tuple[tuple[str, int, int], ...]:
        stamp = []
        projects, _unreadable = _dbt_projects(self.settings)
        for path in [
            *(p.packages for p in projects if p.packages),  # a package more or less
            *(p.folder / name for p in projects for name in ("dbt_project.yml", ".dbtignore")),
            *(path for p in projects for path in p.files),
            *(path for p in projects for path in p.macros),  # an override more or less
            self.settings.profiles_dir / "profiles.yml",  # its config: (dbt's flags)
        ]:
            try:
                st = path.stat()
            except OSError:
                continue
            stamp.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(stamp)

    def read(self) -> Contracts:
        """The contracts and the files that do not parse, as the YAML is now."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= self.refresh_s:
                stamp = self._current_stamp()
                if stamp != self._stamp:
                    self._contracts = read_contracts(self.settings)
                    self._stamp = stamp
                self._checked = now  # after the read: a read that raised is tried again
            return self._contracts

    def all(self) -> dict[str, Contract]:
        """Every contract; raises :class:`ContractsUnreadable` while a YAML file that may
        declare one does not parse."""
        return self.read().checked()

    def get(self, table: str) -> Contract | None:
        """``table``'s contract (None: it has none); raises :class:`ContractsUnreadable`
        while a YAML file that may declare it does not parse."""
        return self.all().get(table)


def as_loaded(contract: Contract, stored: Mapping[str, pa.DataType]) -> Contract:
    """``contract`` with each declared column the bronze table already has (``stored``: its
    columns' Arrow types) judged as the loader judges it: by the table's type when the
    declaration came after the table and declares a type whose values need not fit the
    table's (``varchar`` or ``decimal(10,2)`` over a ``BIGINT`` column, ``timestamp`` over a
    ``DATE``: the loader keeps the table's type, ``parquet.column_rule``). A declaration whose
    values all fit the table's column (``integer`` over ``BIGINT``), or over a text column
    (which takes any value), is judged as declared: the API may be stricter, never looser.
    The columns so judged are in ``judged_by_table`` (the API names both types)."""
    judged: list[tuple[str, str, str]] = []
    columns = []
    for column in contract.columns:
        rule = _table_rule(column, stored.get(column.name))
        if rule is not None and column.data_type is not None:
            shown = str(stored[column.name]) if rule in NESTED_RULES else rule
            judged.append((column.name, column.data_type, shown))
            struct = stored[column.name] if rule == parquet.OBJECT else None
            column = replace(column, data_type=rule.lower(), struct=struct)
        columns.append(column)
    if not judged:
        return contract
    return replace(contract, columns=tuple(columns), judged_by_table=tuple(judged))


def with_table_columns(
    contract: Contract | None,
    table: str,
    stored: Mapping[str, pa.DataType],
    only: Collection[str] | None = None,
) -> Contract | None:
    """Under ``on_mismatch: quarantine``: ``contract`` (None: the table has none) with each
    column the table has that it does not declare judged by the table's type, as the loader
    judges it (``parquet.column_rule``; a value that does not fit refuses the file, so the API
    refuses it too); a text column takes any value and is left out. Each so judged is in
    ``judged_by_table`` with no declared type (``""``). ``only``: those columns alone (the
    required ones of no declared type, judged so under either policy: :func:`untyped_required`)."""
    declared = {c.name for c in contract.columns if c.data_type} if contract else set()
    columns = list(contract.columns) if contract else []
    judged = list(contract.judged_by_table) if contract else []
    # a name the contract spells otherwise (but for case) is refused by its own rule
    named = {dialect.name_key(c.name): c.name for c in columns}
    for name, typ in stored.items():
        if name in declared or name in dialect.RESERVED_COLUMNS:
            continue
        if only is not None and name not in only:
            continue
        if named.get(dialect.name_key(name), name) != name:
            continue
        rule = parquet.column_rule(typ, None) or parquet.UNFIT
        if rule == "VARCHAR":
            continue
        struct = typ if rule == parquet.OBJECT else None
        judged.append((name, "", str(typ) if rule in NESTED_RULES else rule))
        at = next((i for i, c in enumerate(columns) if c.name == name), None)
        if at is None:
            columns.append(Column(name, data_type=rule.lower(), struct=struct))
        else:  # named without a type (a description, not_null): keeps its other settings
            columns[at] = replace(columns[at], data_type=rule.lower(), struct=struct)
    if len(judged) == (len(contract.judged_by_table) if contract else 0):
        return contract
    base = contract if contract is not None else Contract(table=table, columns=())
    return replace(base, columns=tuple(columns), judged_by_table=tuple(judged))


def untyped_required(contract: Contract | None) -> list[str]:
    """The required columns (``Contract.required``) the contract gives no type: the loader
    judges their values by the table's type and refuses a file where one does not fit, under
    either policy (a required column's value is never rescued), so the API judges them so too
    (:func:`with_table_columns` with ``only``)."""
    if contract is None:
        return []
    typed = {c.name for c in contract.columns if c.data_type}
    return [name for name in contract.required if name not in typed]


def judged(
    contract: Contract | None, table: str, stored: Mapping[str, pa.DataType], quarantine: bool
) -> Contract | None:
    """``contract`` (None: the table has none) with the columns bronze already has (``stored``:
    their Arrow types) judged as the loader judges them, the API and the loader alike: a
    declared column by the table's type when a later declaration differs from it
    (:func:`as_loaded`); under ``on_mismatch: quarantine`` the columns the contract does not
    declare too (:func:`with_table_columns`: a value that does not fit them refuses the file);
    under either policy the required columns it gives no type (:func:`untyped_required`: a
    required column's value is never rescued)."""
    untyped = untyped_required(contract)
    loaded = as_loaded(contract, stored) if contract is not None else None
    if quarantine:
        return with_table_columns(loaded, table, stored)
    return with_table_columns(loaded, table, stored, only=untyped) if untyped else loaded


#: The rules of a nested column the table has (``parquet.OBJECT``, ``parquet.UNFIT``): judged
#: so by the API whatever type a later contract declares (``ingest.typecheck``).
NESTED_RULES = frozenset({parquet.OBJECT, parquet.UNFIT})


def _table_rule(column: Column, stored: pa.DataType | None) -> str | None:
    """The table's rule for ``column`` when it is not the declared type's (None: it is, or
    every value of the declared type fits the table's column)."""
    if stored is None or column.data_type is None:
        return None
    if pa.types.is_string(stored):  # takes any text; bytes only where they are UTF-8 text
        return "VARCHAR" if dialect.type_name(column.data_type) == dialect.BYTES else None
    if pa.types.is_nested(stored):  # a struct takes objects only, a list or map only null
        return parquet.OBJECT if pa.types.is_struct(stored) else parquet.UNFIT
    if (pa.types.is_binary(stored) or pa.types.is_large_binary(stored)) and (
        dialect.type_name(column.data_type) != dialect.BYTES
    ):  # bytes the table has: a Parquet file's bytes join them, no text does (as the loader)
        return parquet.UNFIT
    rule = parquet.column_rule(stored, column.data_type)
    if rule is None:
        return None
    try:
        declared = parquet.storage_type(column.data_type)
    except ValueError:
        return None
    if declared == stored or parquet.widens_to(declared, stored) or _within(declared, stored):
        return None
    return rule


def _within(declared: pa.DataType, stored: pa.DataType) -> bool:
    """Whether every value of a decimal or integer type is a value of a decimal ``stored``
    (``decimal(10,2)`` in ``decimal(38,2)``, ``bigint`` in ``decimal(20,0)``)."""
    if not pa.types.is_decimal(stored):
        return False
    if pa.types.is_decimal(declared):
        whole = declared.precision - declared.scale
        return bool(declared.scale <= stored.scale and whole <= stored.precision - stored.scale)
    if pa.types.is_integer(declared):  # int8 .. int64: 3, 5, 10, 19 digits
        digits = {8: 3, 16: 5, 32: 10, 64: 19}[declared.bit_width]
        return bool(digits <= stored.precision - stored.scale)
    return False
