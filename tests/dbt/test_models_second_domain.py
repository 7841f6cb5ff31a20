"""Another dbt project works: a small library domain instead of the sample shop.

A user deletes the sample models and writes their own: staging and marts that read
``source('bronze', ...)``, no paths, no ``meta.publish`` (the folder decides), the runtime's
``profiles.yml`` copied beside them. They drop CSVs into the landing zone, the loader loads them,
the builder builds and publishes, and their marts are gold Delta tables.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from textwrap import dedent

import pytest
from dbt_harness import REPO
from deltalake import DeltaTable

from lakehouse import LoadEvent, Settings, get_settings, list_tables
from loader import Loader
from transform import Builder

PROJECT = {
    "dbt_project.yml": """
        name: library
        version: "1.0.0"
        config-version: 2
        profile: lakehouse
        models:
          library:
            marts:
              +materialized: table
    """,
    "models/staging/_sources.yml": """
        version: 2
        sources:
          - name: bronze
            meta: {plugin: lakehouse_bronze}
            tables:
              - name: books
                meta: {primary_key: [book_id]}
                columns:
                  - {name: book_id, data_type: bigint, data_tests: [not_null]}
                  - {name: title, data_type: varchar, data_tests: [not_null]}
              - name: loans
                meta: {primary_key: [loan_id]}
                columns:
                  - {name: loan_id, data_type: bigint, data_tests: [not_null]}
                  - {name: book_id, data_type: bigint, data_tests: [not_null]}
                  - {name: loaned_on, data_type: date, data_tests: [not_null]}
                  - {name: returned_on, data_type: date}
    """,
    "models/staging/stg_library__books.sql": """
        select
            cast(book_id as bigint) as book_id,
            cast(title as varchar) as title
        from {{ source('bronze', 'books') }}
    """,
    "models/staging/stg_library__loans.sql": """
        select
            cast(loan_id as bigint) as loan_id,
            cast(book_id as bigint) as book_id,
            cast(loaned_on as date) as loaned_on,
            cast(returned_on as date) as returned_on
        from {{ source('bronze', 'loans') }}
    """,
    "models/marts/loans_per_book.sql": """
        with

        books as (select * from {{ ref('stg_library__books') }}),

        loans as (select * from {{ ref('stg_library__loans') }})

        select
            books.book_id,
            books.title,
            cast(count(loans.loan_id) as bigint) as loans_count,
            cast(count(loans.loan_id) filter (where loans.returned_on is null) as bigint)
                as open_loans_count
        from books
        left join loans on books.book_id = loans.book_id
        group by books.book_id, books.title
    """,
    "models/marts/_marts.yml": """
        version: 2
        models:
          - name: loans_per_book
            columns:
              - name: book_id
                data_tests: [unique, not_null]
    """,
}
LANDING = {
    "books/books.csv": "book_id,title\n1,Ensaio sobre a Cegueira\n2,Os Maias\n3,Mensagem\n",
    "loans/loans-2026-01.csv": (
        "loan_id,book_id,loaned_on,returned_on\n"
        "10,1,2026-01-02,2026-01-20\n"
        "11,1,2026-01-21,\n"
        "12,2,2026-01-05,2026-01-09\n"
    ),
}


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in __import__("os").environ if k.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(key)
    get_settings.cache_clear()
    project = tmp_path / "library_dbt"
    for name, text in PROJECT.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip())
    shutil.copy(REPO / "profiles.yml", project / "profiles.yml")
    return Settings(
        root=tmp_path / "lakehouse",
        dbt_project_dir=project,
        profiles_dir=project,
        batch_window_ms=0,
    )


def test_a_second_domain_gets_its_marts_as_gold_delta(library: Settings) -> None:
    for name, text in LANDING.items():
        path = library.raw_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    events: list[LoadEvent] = []
    summary = Loader(library, on_event=events.append).load_pending()
    assert len(summary.loaded) == 2 and not summary.quarantined
    builder = Builder(library)
    builder.start()
    try:
        for event in events:
            builder.submit(event)
        assert builder.wait_idle(180)
        result = builder.last_result
        assert result is not None and result.success, result and result.error
    finally:
        builder.stop()

    assert list_tables(library, "silver") == ["stg_library__books", "stg_library__loans"]
    assert list_tables(library, "gold") == ["loans_per_book"]
    gold = DeltaTable(str(library.dados / "gold" / "loans_per_book")).to_pyarrow_table()
    rows = {
        r["book_id"]: (r["title"], r["loans_count"], r["open_loans_count"])
        for r in gold.to_pylist()
    }
    assert rows == {
        1: ("Ensaio sobre a Cegueira", 2, 1),
        2: ("Os Maias", 1, 0),
        3: ("Mensagem", 0, 0),
    }
    # nothing of the sample shop leaked in
    assert not any(name.startswith("stg_shop") for name in list_tables(library, "silver"))
