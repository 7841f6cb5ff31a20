-- noqa: disable=LT02
{#
    The version watermark (docs/dbt.md, "Incremental on bronze"): an incremental model reads
    only the rows it has not absorbed yet, told by Delta version and by upstream run, not by
    time, so a batch right after a bulk load does not read the bulk load again.

    - `bronze_since(source('bronze', 't'))`, in the FROM of a model: in an incremental run, the
      rows of bronze `t` committed after the version the model last read (the files holding
      them: transform/bronze_since.py walks the Delta log; compaction moves no row in, a
      half-loaded file is invisible by the pin rule); otherwise, or when the log cannot tell
      (a restore, a table created anew, rows of that version rewritten), the whole pinned
      snapshot: a model merged by key with a total order gets the same rows either way.
    - `input_since(ref('m'))`: the oldest `_ingested_at` a row of model `m` changed at since
      this model last read it (each run of `m` through these macros records that bound), so
      `where _ingested_at >= {{ input_since(ref('m')) }}` holds every row of `m` that changed.
      A model `m` that does not record its runs gets the time watermark instead
      (`bronze_watermark`: the newest `_ingested_at` held minus the look-back).
    - `lakehouse_absorb()`, the models' post-hook (dbt_project.yml): makes what the model read
      its new watermark, inside the model's own transaction: a failed run advances nothing.

    Each read is also recorded for the tests and the publish of what changed (changed_since.sql).
#}

{% macro _lh_quote(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{% macro _lh_this(relation) -%}
    database_name = {{ _lh_quote(relation.database) }}
    and schema_name = {{ _lh_quote(relation.schema) }}
    and table_name = {{ _lh_quote(relation.identifier) }}
{%- endmacro %}

{# what a model downstream calls `relation` in its inputs #}
{% macro _lh_input(relation) -%}
    {{- return('ref:' ~ relation.database ~ '.' ~ relation.schema ~ '.' ~ relation.identifier) -}}
{%- endmacro %}

{# whether the plugin created the watermark's tables (not on a read-only file) #}
{% macro _lh_ready() -%}
    {%- set found = run_query(
        "select count(*) from duckdb_tables() where schema_name = '_lakehouse_absorbed'"
        ~ " and table_name = 'pending'"
    ).columns[0].values()[0] -%}
    {{- return(found > 0) -}}
{%- endmacro %}

{# the text of a timestamptz literal (UTC) for the timestamptz column `bound` #}
{% macro _lh_bound_text(bound) -%}
    case
        when isfinite({{ bound }})
            then strftime(timezone('UTC', {{ bound }}), '%Y-%m-%d %H:%M:%S.%f') || '+00'
        else cast({{ bound }} as varchar)
    end
{%- endmacro %}

{# `_ingested_at` bound as the text of a timestamptz literal (UTC), from a one-value query #}
{% macro _lh_bound(expression, relation, default) -%}
    {%- set query -%}
        select {{ _lh_bound_text('bound') }}
        from (select {{ expression }} as bound from {{ relation }})
    {%- endset -%}
    {%- set value = run_query(query).columns[0].values()[0] -%}
    {{- return(default if value is none else value) -}}
{%- endmacro %}

{#
    what the model read from `input`, made its watermark by its post-hook (lakehouse_absorb);
    with `changed`, also the bound recorded for its tests and publish (record_changed_since),
    in the same statement
#}
{% macro _lh_pending(input, input_id, position, since, changed=none) -%}
    {%- set query -%}
        {% if changed is not none -%}
            {{ changed_since_record_sql(changed) }};
        {% endif -%}
        delete from _lakehouse_absorbed.pending
        where {{ _lh_this(this) }} and input = {{ _lh_quote(input) }};
        insert into _lakehouse_absorbed.pending values (
            {{ _lh_quote(this.database) }}, {{ _lh_quote(this.schema) }},
            {{ _lh_quote(this.identifier) }}, {{ _lh_quote(input) }}, {{ _lh_quote(input_id) }},
            {{ position }}, '{{ since }}'::timestamptz
        )
    {%- endset -%}
    {%- do run_query(query) -%}
{%- endmacro %}

{% macro bronze_since(source_relation) -%}
    {%- if not execute or not _lh_ready() -%}
        {{- return(source_relation) -}}
    {%- endif -%}
    {%- set table = source_relation.identifier -%}
    {%- set incremental = is_incremental() -%}
    {#
        one query: the pin (its number of rows, then the one), and in an incremental run what
        the model holds of this table (the same) and the files committed since (bronze_new:
        every entry exact, none by time, their paths; only meant when both are one row of the
        same table id: the branches below check that)
    #}
    {%- set query -%}
        with
        pin as (
            select table_id, version from _lakehouse_absorbed.pins
            where source_table = {{ _lh_quote(table) }}
        ),
        {% if incremental -%}
            held as (
                select input_id, position from _lakehouse_absorbed.inputs
                where {{ _lh_this(this) }} and input = {{ _lh_quote('bronze:' ~ table) }}
            ),
            news as (
                select
                    coalesce(bool_and(n.exact), false) as exact,
                    coalesce(bool_or(not n.exact and n.path = '__by_time__'), false) as by_time,
                    string_agg(n.path, chr(10) order by n.path)
                        filter (where n.exact and n.path is not null) as paths
                from _lakehouse_absorbed.bronze_new as n, pin, held
                where
                    n.source_table = {{ _lh_quote(table) }}
                    and n.table_id = pin.table_id
                    and n.table_id = held.input_id
                    and n.from_version = held.position
                    and n.to_version = pin.version
            )
        {%- else -%}
            held as (select null as input_id, null as position where false),
            news as (select false as exact, false as by_time, null as paths)
        {%- endif %}
        select
            (select count(*) from pin) as pins,
            (select any_value(table_id) from pin) as table_id,
            (select any_value(version) from pin) as pinned,
            (select count(*) from held) as held,
            (select any_value(input_id) from held) as held_id,
            (select any_value(position) from held) as held_position,
            news.exact,
            news.by_time,
            news.paths
        from news
    {%- endset -%}
    {%- set found = run_query(query).rows[0] -%}
    {%- if found[0] != 1 -%}
        {{- return(source_relation) -}}
    {%- endif -%}
    {%- set table_id = found[1] -%}
    {%- set pinned = found[2] -%}
    {%- set relation = source_relation -%}
    {%- set since = '-infinity' -%}
    {%- if incremental -%}
        {%- if found[3] == 1 and found[4] == table_id and found[5] == pinned -%}
            {%- set relation = '(select * from ' ~ source_relation ~ ' where false)' -%}
            {%- set since = 'infinity' -%}
        {%- elif found[3] == 1 and found[4] == table_id -%}
            {%- set exact = found[6] -%}
            {%- set by_time = found[7] -%}
            {%- set paths = [] -%}
            {%- for path in (found[8] or '').split('\n') if path -%}
                {%- do paths.append(_lh_quote(path)) -%}
            {%- endfor -%}
            {%- if exact and paths -%}
                {# can_have_nan: footer float bounds may leave NaN out (Pin.relation) #}
                {%- set relation -%}
                    (select * from {{ source_relation }} where false
                    union all by name
                    select * from read_parquet(
                        [{{ paths | join(', ') }}],
                        union_by_name = true, hive_partitioning = false,
                        can_have_nan = true
                    ))
                {%- endset -%}
                {%- set since = _lh_bound('min(_ingested_at)', relation, 'infinity') -%}
            {%- elif exact -%}
                {%- set relation = '(select * from ' ~ source_relation ~ ' where false)' -%}
                {%- set since = 'infinity' -%}
            {%- elif by_time -%}
                {# not plain local Parquet (object storage, partitions): the time watermark #}
                {%- set since = _lh_bound(
                    'max(_ingested_at) - to_minutes(cast(' ~ var('bronze_lookback_minutes', 10)
                    ~ ' as bigint))',
                    this,
                    '-infinity',
                ) -%}
                {%- set relation = '(select * from ' ~ source_relation
                    ~ " where _ingested_at >= '" ~ since ~ "'::timestamptz)" -%}
            {%- endif -%}
        {%- endif -%}
        {# recorded for the tests and publish, in the same statement as the pending read #}
        {%- do _lh_pending('bronze:' ~ table, table_id, pinned, since, changed=since) -%}
    {%- else -%}
        {%- do _lh_pending('bronze:' ~ table, table_id, pinned, since) -%}
    {%- endif -%}
    {{- return(relation) -}}
{%- endmacro %}

{% macro input_since(relation) -%}
    {{- return(inputs_since([relation])[0]) -}}
{%- endmacro %}

{#
    input_since of each of `relations` (refs), as SQL text in the same order: one look-up of
    the inputs' runs and one write of what the model read, whatever their number
    (changed_keys reads several inputs at once)
#}
{% macro inputs_since(relations) -%}
    {%- if not execute -%}
        {{- return(["'-infinity'::timestamptz"] * (relations | length)) -}}
    {%- endif -%}
    {%- set found = {} -%}
    {%- if _lh_ready() -%}
        {#
            one query, a row per input: its last recorded run, whether this model holds a
            position in its runs (one row), and the oldest bound of the runs after that position
        #}
        {%- set query -%}
            with
            {% for relation in relations -%}
                held_{{ loop.index0 }} as (
                    select count(*) as n, min(position) as position
                    from _lakehouse_absorbed.inputs
                    where {{ _lh_this(this) }} and input = {{ _lh_quote(_lh_input(relation)) }}
                ),
                after_{{ loop.index0 }} as (
                    select min(runs.since) as bound
                    from _lakehouse_absorbed.runs as runs, held_{{ loop.index0 }} as held
                    where {{ _lh_this(relation) }} and held.n = 1 and runs.seq > held.position
                ){{ ',' if not loop.last }}
            {% endfor -%}
            {% for relation in relations -%}
                select
                    {{ loop.index0 }} as i,
                    (
                        select max(seq) from _lakehouse_absorbed.runs
                        where {{ _lh_this(relation) }}
                    ) as last_run,
                    (select n from held_{{ loop.index0 }}) as held,
                    (select {{ _lh_bound_text('bound') }} from after_{{ loop.index0 }}) as since
                {% if not loop.last %}union all{% endif %}
            {% endfor -%}
        {%- endset -%}
        {%- for row in run_query(query).rows -%}
            {%- do found.update({row[0]: row}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set out = [] -%}
    {%- set changed = [] -%}
    {%- set pending = {} -%}
    {%- set watermark = [] -%}
    {%- for relation in relations -%}
        {%- set row = found.get(loop.index0, [loop.index0, none, 0, none]) -%}
        {%- if row[1] is none -%}
            {# the input does not record its runs: the time watermark on this model's rows #}
            {%- if not watermark -%}
                {%- do watermark.append(_lh_bound(
                    'max(_ingested_at) - to_minutes(cast(' ~ var('bronze_lookback_minutes', 10)
                    ~ ' as bigint))',
                    this,
                    '-infinity',
                )) -%}
            {%- endif -%}
            {%- set since = watermark[0] -%}
        {%- else -%}
            {%- set since = '-infinity' -%}
            {%- if row[2] == 1 -%}
                {%- set since = 'infinity' if row[3] is none else row[3] -%}
            {%- endif -%}
            {%- do pending.update({_lh_input(relation): [row[1], since]}) -%}
        {%- endif -%}
        {%- do changed.append(since) -%}
        {%- do out.append("'" ~ since ~ "'::timestamptz") -%}
    {%- endfor -%}
    {#
        recorded for the tests and publish, and (inputs that record their runs) made the
        model's watermark by its post-hook: one statement
    #}
    {%- set query -%}
        {{ changed_since_record_sql(changed | unique | list) }};
        {% if pending -%}
            delete from _lakehouse_absorbed.pending
            where {{ _lh_this(this) }} and input in (
                {%- for input in pending -%}
                    {{ _lh_quote(input) }}{{ ', ' if not loop.last }}
                {%- endfor -%}
            );
            insert into _lakehouse_absorbed.pending values
            {% for input, read in pending.items() -%}
                (
                    {{ _lh_quote(this.database) }}, {{ _lh_quote(this.schema) }},
                    {{ _lh_quote(this.identifier) }}, {{ _lh_quote(input) }}, '', {{ read[0] }},
                    '{{ read[1] }}'::timestamptz
                ){{ ',' if not loop.last }}
            {% endfor -%}
        {%- endif %}
    {%- endset -%}
    {%- do run_query(query) -%}
    {{- return(out) -}}
{%- endmacro %}

{#
    the post-hook of every model (dbt_project.yml): what the model read becomes its watermark.
    The run's bound is the oldest of its inputs' (pending) and of what it recorded for its tests
    and publish (changed_since): an input read another way (the time watermark of an input that
    does not record its runs, `bronze_watermark`, `changed_keys` of a CTE) records only the
    latter, and a model downstream must still see the rows it changed.
#}
{% macro lakehouse_absorb() -%}
    {%- if execute and _lh_ready() -%}
        insert into _lakehouse_absorbed.runs
        select database_name, schema_name, table_name,
            nextval('_lakehouse_absorbed.run_seq'), least(since, {{ changed_since(this) }})
        from (
            select database_name, schema_name, table_name, min(since) as since
            from _lakehouse_absorbed.pending
            where {{ _lh_this(this) }}
            group by database_name, schema_name, table_name
        );
        delete from _lakehouse_absorbed.inputs
        where {{ _lh_this(this) }}
            and input in (
                select input from _lakehouse_absorbed.pending where {{ _lh_this(this) }}
            );
        insert into _lakehouse_absorbed.inputs
        select database_name, schema_name, table_name, input, input_id, position
        from _lakehouse_absorbed.pending
        where {{ _lh_this(this) }};
        delete from _lakehouse_absorbed.pending where {{ _lh_this(this) }};
        {# runs no model downstream still needs (each reads the runs after its position) #}
        delete from _lakehouse_absorbed.runs
        where {{ _lh_this(this) }}
            and seq < least(
                coalesce(
                    (
                        select min(position) from _lakehouse_absorbed.inputs
                        where input = {{ _lh_quote(_lh_input(this)) }}
                    ),
                    9223372036854775807
                ),
                (select max(seq) from _lakehouse_absorbed.runs where {{ _lh_this(this) }})
            )
    {%- endif -%}
{%- endmacro %}
