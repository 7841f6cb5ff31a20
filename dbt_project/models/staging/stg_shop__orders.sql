-- Silver orders: the latest version of every order (updated_at, then _ingested_at, then
-- _source_file, all descending). Incremental: reads only the bronze rows committed since its last
-- run (bronze_since) and merges the new winners by order_id.
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}

with

source as (

    select * from {{ bronze_since(source('bronze', 'orders')) }}

),

renamed as (

    select
        cast(order_id as bigint) as order_id,
        cast(customer_id as bigint) as customer_id,
        cast(lower(trim(status)) as varchar) as order_status,
        cast(ordered_at as timestamptz) as ordered_at,
        {{ from_cents('shipping_cents') }} as shipping_amount,
        cast(updated_at as timestamptz) as updated_at,
        cast(_ingested_at as timestamptz) as _ingested_at,
        cast(_batch_id as varchar) as _batch_id,
        cast(_source_file as varchar) as _source_file
    from source

),

changed as (

    {{ new_winners(
        'renamed',
        'order_id',
        'updated_at desc nulls last, _ingested_at desc, _source_file desc',
    ) }}

)

select * from changed
