-- Silver order lines: the latest version of every line (updated_at, then _ingested_at, then
-- _source_file, all descending); lines sent again unchanged collapse into one. Incremental merge
-- by order_line_id.
{{
    config(
        materialized='incremental',
        unique_key='order_line_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}

with

source as (

    select * from {{ bronze_since(source('bronze', 'order_lines')) }}

),

renamed as (

    select
        cast(order_line_id as bigint) as order_line_id,
        cast(order_id as bigint) as order_id,
        cast(line_number as integer) as line_number,
        cast(product_id as bigint) as product_id,
        cast(quantity as integer) as quantity,
        {{ from_cents('unit_price_cents') }} as unit_price,
        {{ from_cents('discount_cents') }} as discount_amount,
        cast(updated_at as timestamptz) as updated_at,
        cast(_ingested_at as timestamptz) as _ingested_at,
        cast(_batch_id as varchar) as _batch_id,
        cast(_source_file as varchar) as _source_file
    from source

),

changed as (

    {{ new_winners(
        'renamed',
        'order_line_id',
        'updated_at desc nulls last, _ingested_at desc, _source_file desc',
    ) }}

)

select * from changed
