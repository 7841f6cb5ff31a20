"""Property: a generated landing file is kept exactly, or refused (or rescued) saying why.

Hypothesis writes CSV (delimiters, quoting, line endings, byte-order marks, UTF-16), NDJSON and
JSON files whose values are adversarial: leading zeros, long digits, exponents, hex-looking and
``_``-grouped digits, dates in several orders, ``NA``/``NULL`` text, leading and trailing spaces,
quotes, embedded LF/CR, mixed nesting, naughty unicode (blns). Each file goes through the real
API (``POST /files``) and, as it landed (or as it was, when the API refused it), through the
real loader into bronze, and is read back:

- the rule read independently (``adversary_support.expected``) says load: bronze holds every
  row, every value exactly its text (or rescued with it), the API answered 202;
- it says refuse: the loader quarantined it with a reason, the API answered a 4xx.

The default profile is small (a few dozen files, several columns each); ``-m slow`` runs many.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from adversary_support import Outcome, Refusal, Table, expected, mismatches, run
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ingest import create_app
from lakehouse import Settings

BLNS: list[str] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "blns" / "blns.json").read_text()
)

ADVERSARIAL = [
    "0", "007", "-007", "00077", "1", "-1", "+1", "-0", "0.0", "-0.0", "1.0", "1.50", "1.005",
    ".5", "5.", "1e3", "1E-7", "0x1F", "0b101", "1_000", "1,000", "99999999999999999999",
    "0.1234567890123456789", "12345678901234567.89", "1.0000000000000000001",
    "9223372036854775807", "9223372036854775808", "2024-01-01", "2024-02-30", "03/04/2024",
    "12/31/2024", "31.12.2024", "2024-01-02 13:45:00", "2024-01-02T13:45:00Z",
    "2024-01-02T13:45:00+05:30", "12:02:55", "true", "false", "True", "TRUE", "yes", "NA",
    "N/A", "NULL", "null", "None", "NaN", "inf", "-Infinity", "", " ", " 2", "2 ", "  x  ",
    'a"b', '"', '""', "a,b", "a;b", "a|b", "a\tb", "a\nb", "a\rb", "a\r\nb", "\n", "#2", "ação",
    "\u00e9", "e\u0301", "\u200b", "\ufeffx", "\U0001f600", "\u202eevil",
]  # fmt: skip
NAUGHTY = [s for s in BLNS if "\x00" not in s]


def text_values() -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.sampled_from(ADVERSARIAL),
        st.sampled_from(NAUGHTY),
        st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,25})?", fullmatch=True),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
    )


#: A column: a name, and a kind of values (one kind per column lets types be inferred).
column_kinds = st.sampled_from(["mixed", "digits", "decimals", "dates", "bools"])
KIND_VALUES = {
    "digits": st.one_of(st.none(), st.from_regex(r"-?(0|[1-9][0-9]{0,20})", fullmatch=True)),
    "decimals": st.one_of(st.none(), st.from_regex(r"-?[0-9]{1,3}\.[0-9]{1,22}", fullmatch=True)),
    "dates": st.one_of(
        st.none(), st.dates().map(str), st.sampled_from(["03/04/2024", "2024-01-02 13:45:00"])
    ),
    "bools": st.one_of(st.none(), st.sampled_from(["true", "false", "True", "1", "0"])),
}
names = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
    st.sampled_from([" barks", "a b", "Ação", "#id", "x.y", 'q"t', "a,b", "日付", "A", "a"]),
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, bytes]:
    width = draw(st.integers(1, 4))
    header = draw(st.lists(names, min_size=width, max_size=width))
    kinds = draw(st.lists(column_kinds, min_size=width, max_size=width))
    rows = draw(
        st.lists(
            st.tuples(*[KIND_VALUES[k] if k != "mixed" else text_values() for k in kinds]),
            min_size=1,
            max_size=12,
        )
    )
    tsv = draw(st.booleans())
    delimiter = "\t" if tsv else draw(st.sampled_from([",", ",", ";", "|"]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quote_all = draw(st.booleans())

    def field(value: str | None) -> str:
        if value is None:
            return ""  # an unquoted empty field: null
        needs = value == "" or any(c in value for c in (delimiter, '"', "\r", "\n"))
        return '"' + value.replace('"', '""') + '"' if quote_all or needs else value

    lines = [delimiter.join(field(h) for h in header)]
    lines += [delimiter.join(field(v) for v in row) for row in rows]
    text = end.join(lines) + draw(st.sampled_from([end, ""]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-bom", "utf-16"]))
    if encoding == "utf-16":
        data = ("\ufeff" + text).encode("utf-16-le")
    else:
        data = (("\ufeff" if encoding == "utf-8-bom" else "") + text).encode("utf-8", "replace")
    return ("f.tsv" if tsv else "f.csv"), data


json_literals = st.sampled_from(
    [
        "0", "-0", "1", "007", "1.0", "1.50", "1e3", "1E+2", "-1e-7", "99999999999999999999",
        "1.0000000000000000001", "0.1", "12345678901234567.89", "1e400", "true", "false",
        "null", '"NA"', '"00077"', '"2024-01-01"', '"a\\nb"', '"\\u00e9"', '"x"', "[]", "{}",
        "[1.0, 2.0]", '["x", "y"]', '{"b": null, "c": 1}', '{"a": {"b": [1, "x", null]}}',
        "[99999999999999999999]", '[{"k": 1}, 2, "3"]',
    ]
)  # fmt: skip
json_values = st.one_of(
    json_literals,
    st.sampled_from(NAUGHTY).map(json.dumps),
    st.from_regex(r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?", fullmatch=True),
)


@st.composite
def json_files(draw: st.DrawFn) -> tuple[str, bytes]:
    keys = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    records = draw(
        st.lists(
            st.dictionaries(st.sampled_from(keys), json_values, min_size=1),
            min_size=1,
            max_size=10,
        )
    )
    texts = ["{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in r.items()) + "}" for r in records]
    shape = draw(st.sampled_from(["ndjson", "ndjson-crlf", "array", "json-lines"]))
    bom = "\ufeff" if draw(st.booleans()) else ""
    if shape == "array":
        return "f.json", (bom + "[\n" + ",\n".join(texts) + "\n]").encode()
    end = "\r\n" if shape == "ndjson-crlf" else "\n"
    name = "f.json" if shape == "json-lines" else "f.ndjson"
    return name, (bom + end.join(texts) + end).encode()


_tables = itertools.count()


@pytest.fixture(scope="module")
def api(module_lakehouse: Settings) -> Iterator[tuple[Settings, TestClient]]:
    with TestClient(create_app(module_lakehouse)) as client:
        yield module_lakehouse, client


def check(api: tuple[Settings, TestClient], name: str, data: bytes) -> None:
    table = f"p{next(_tables)}"
    outcome: Outcome = run(api[0], [(table, name, data)], api[1])[table]
    want = expected(name, data)
    if isinstance(want, Refusal):
        assert outcome.refused is not None, f"loaded, but the rule refuses it: {want}"
        assert 400 <= outcome.api_status < 500, (outcome.api_status, outcome.api_detail)
        return
    assert isinstance(want, Table)
    assert outcome.api_status == 202, outcome.api_detail
    assert outcome.refused is None, f"quarantined: {outcome.refused}"
    assert outcome.loaded_rows is not None
    js = name.endswith((".json", ".ndjson"))
    assert mismatches(outcome.loaded_rows, want, js) == []


FAST: dict[str, Any] = {
    "max_examples": 15,
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # no shrinking in the default suite: a failure is reported at once (-m slow shrinks)
    "phases": [Phase.explicit, Phase.generate],
}
SLOW = FAST | {"max_examples": 400, "derandomize": False, "phases": list(Phase)}


@settings(**FAST)
@given(file=csv_files())
def test_csv_files_are_kept_exactly_or_refused(
    api: tuple[Settings, TestClient], file: tuple[str, bytes]
) -> None:
    check(api, *file)


@settings(**FAST)
@given(file=json_files())
def test_json_files_are_kept_exactly_or_refused(
    api: tuple[Settings, TestClient], file: tuple[str, bytes]
) -> None:
    check(api, *file)


def answers_by_the_rule(client: TestClient, name: str, data: bytes) -> None:
    r = client.post(
        f"/v1/tables/t/files?filename={name}",
        content=data,
        headers={"content-type": "application/octet-stream"},
    )
    want = expected(name, data)
    if isinstance(want, Refusal):
        assert 400 <= r.status_code < 500, (want, r.text)
    else:
        assert r.status_code == 202, (want, r.text)
        assert r.json()["records"] == len(want.rows)


API_ONLY = FAST | {"max_examples": 60, "phases": list(Phase)}


@settings(**API_ONLY)
@given(file=st.one_of(csv_files(), json_files()))
def test_the_api_answers_by_the_rule(
    api: tuple[Settings, TestClient], file: tuple[str, bytes]
) -> None:
    """Without the loader: the API takes what the rule loads, refuses what it refuses."""
    answers_by_the_rule(api[1], *file)


@pytest.mark.slow
@settings(**(SLOW | {"max_examples": 2000}))
@given(file=st.one_of(csv_files(), json_files()))
def test_the_api_answers_by_the_rule_many(
    api: tuple[Settings, TestClient], file: tuple[str, bytes]
) -> None:
    answers_by_the_rule(api[1], *file)


@pytest.mark.slow
@settings(**SLOW)
@given(file=csv_files())
def test_many_csv_files(api: tuple[Settings, TestClient], file: tuple[str, bytes]) -> None:
    check(api, *file)


@pytest.mark.slow
@settings(**SLOW)
@given(file=json_files())
def test_many_json_files(api: tuple[Settings, TestClient], file: tuple[str, bytes]) -> None:
    check(api, *file)
