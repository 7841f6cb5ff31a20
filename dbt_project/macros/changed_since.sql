{#
    Which rows of a model a build may have changed, so its data tests and its publish look at
    those rows only instead of the whole table (docs/dbt.md, "Tests and publish of what
    changed").

    `_lakehouse_changed.since` holds, per DuckDB table (and its `table_oid`: a table rebuilt
    from scratch is a new table), the `bronze_watermark` each incremental run of the model used
    since the model last passed its tests and was published. A model whose rows all carry
    `_ingested_at` = the newest `_ingested_at` of the rows they were computed from (docs/dbt.md,
    "Incremental on bronze") changed no row older than the oldest of them. No entry for the
    table as it is now (a table model, a full refresh, a new DuckDB file, a model that did not
    run since its last publish) means: every row may have changed, and everything is tested.
    The plugin empties the table whenever dbt opens the DuckDB file: DuckDB numbers tables
    anew on each open, so an entry of an earlier process could match a table rebuilt since.

    The table is created by the bronze plugin when dbt opens the DuckDB file
    (transform/dbt_plugin.py). The runtime (transform/publish.py) reads the same entries for its
    diff and deletes them once the model is published; a plain `dbt build` only adds entries,
    so its tests are never narrower than the lakehouse's.
#}

{# called by bronze_watermark() in an incremental run: rows from `since` on may change #}
{% macro record_changed_since(since) %}
    {%- if execute -%}
        {%- do run_query(changed_since_record_sql(since)) -%}
    {%- endif -%}
{% endmacro %}

{#
    the statement record_changed_since runs (bronze_since.sql runs it with others, at once);
    `since` may be a list: an entry for each, in one statement
#}
{% macro changed_since_record_sql(since) -%}
    {%- set sinces = [since] if since is string else since -%}
    insert into _lakehouse_changed.since
    select t.database_name, t.schema_name, t.table_name, t.table_oid, s.since
    from duckdb_tables() as t, (
        values
    {%- for one in sinces %}
            ('{{ one }}'::timestamptz){{ ',' if not loop.last }}
    {%- endfor %}
    ) as s (since)
    where t.database_name = '{{ this.database }}'
        and t.schema_name = '{{ this.schema }}'
        and t.table_name = '{{ this.identifier }}'
{%- endmacro %}

{# the oldest `_ingested_at` a row of `relation` changed at may have ('-infinity': any) #}
{% macro changed_since(relation) -%}
    coalesce(
        (
            select min(c.since)
            from _lakehouse_changed.since as c
            inner join duckdb_tables() as t
                on
                    c.database_name = t.database_name
                    and c.schema_name = t.schema_name
                    and c.table_name = t.table_name
                    and c.table_oid = t.table_oid
            where
                t.database_name = '{{ relation.database }}'
                and t.schema_name = '{{ relation.schema }}'
                and t.table_name = '{{ relation.identifier }}'
        ),
        '-infinity'::timestamptz
    )
{%- endmacro %}

{#
    A data test configured `where: "__changed_rows__"` (the project's default for generic tests,
    dbt_project.yml) tests the rows of its model that may have changed since the model last
    passed its tests: row by row tests (not_null, accepted_values, relationships) and a
    `unique` of a model merged by that key. A model without `_ingested_at` is tested whole,
    every time.
    Any other `where` works as in dbt.
#}
{% macro duckdb__get_where_subquery(relation) %}
    {%- set where = config.get('where', '') -%}
    {%- set names = [] -%}
    {%- if where == '__changed_rows__' and execute -%}
        {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- endif -%}
    {%- if where == '__changed_rows__' and '_ingested_at' in names | map('lower') | list -%}
        {%- set where = '_ingested_at >= ' ~ changed_since(relation) -%}
    {%- elif where == '__changed_rows__' -%}
        {%- set where = '' -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}
