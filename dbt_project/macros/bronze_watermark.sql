{#
    The filter an incremental silver model puts on its bronze source: rows ingested from
    `bronze_lookback_minutes` before the newest `_ingested_at` the model already holds.

    The watermark is read when the model runs and written into the SQL as a constant, so DuckDB
    pushes the filter down into the Arrow scan of the pinned bronze snapshot (Parquet row groups
    wholly older than the watermark are skipped) instead of reading every bronze row.

    Why it is correct:
    - retries: a failed build changed nothing, so the next one re-reads from the same watermark;
      re-reading a row is harmless because the model merges by key and picks the winner with a
      total ordering (latest_by_key), comparing new rows with the ones it already holds;
    - out-of-order arrival: a record whose business time is older than the version the model
      holds loses to it (the ordering looks at `updated_at` first, not at arrival); bronze
      commits whose `_ingested_at` is slightly older than one already seen (two writers, clock
      steps) are still read thanks to the look-back window;
    - full refresh: no filter at all, the same SQL over every bronze row gives the same answer.

    The watermark is recorded (changed_since.sql): the model's tests and its publish look at
    its rows from there on.
#}
{% macro bronze_watermark(column='_ingested_at') -%}
    {%- set watermark = '-infinity' -%}
    {%- if execute -%}
        {%- set query -%}
            select
                strftime(
                    max({{ column }})
                    - to_minutes(cast({{ var('bronze_lookback_minutes', 10) }} as bigint)),
                    '%Y-%m-%d %H:%M:%S.%f+00'
                )
            from {{ this }}
        {%- endset -%}
        {%- set held = run_query(query).columns[0].values()[0] -%}
        {%- if held is not none -%}
            {%- set watermark = held -%}
        {%- endif -%}
        {%- do record_changed_since(watermark) -%}
    {%- endif -%}
    {{ column }} >= '{{ watermark }}'::timestamptz
{%- endmacro %}
