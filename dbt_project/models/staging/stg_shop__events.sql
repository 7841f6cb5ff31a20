-- Silver clickstream: one row per event_id. Events never change, so the FIRST delivery wins
-- (_ingested_at, then _source_file, ascending) and a retried upload adds nothing. Incremental
-- merge by event_id: a repeat replaces the held copy only if it was ingested earlier (an
-- out-of-order commit), so the result is the same as a full refresh.
{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}

with

source as (

    select * from {{ bronze_since(source('bronze', 'events')) }}

),

renamed as (

    select
        cast(event_id as varchar) as event_id,
        cast(session_id as varchar) as session_id,
        cast(customer_id as bigint) as customer_id,
        cast(lower(trim(event_type)) as varchar) as event_type,
        cast(product_id as bigint) as product_id,
        cast(order_id as bigint) as order_id,
        cast(coalesce(lower(trim(device)), 'unknown') as varchar) as device,
        cast(page_path as varchar) as page_path,
        cast(occurred_at as timestamptz) as occurred_at,
        cast(_ingested_at as timestamptz) as _ingested_at,
        cast(_batch_id as varchar) as _batch_id,
        cast(_source_file as varchar) as _source_file
    from source

),

changed as (

    {{ new_winners(
        'renamed',
        'event_id',
        '_ingested_at asc, _source_file asc',
    ) }}

)

select * from changed
