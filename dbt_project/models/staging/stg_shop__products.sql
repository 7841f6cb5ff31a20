-- Silver products: the latest version of every product (updated_at, then _ingested_at, then
-- _source_file, all descending). Incremental merge by product_id: reads only the bronze rows
-- committed since its last run (bronze_since).
{{
    config(
        materialized='incremental',
        unique_key='product_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
with

source as (

    select * from {{ bronze_since(source('bronze', 'products')) }}

),

renamed as (

    select
        cast(product_id as bigint) as product_id,
        cast(upper(trim(sku)) as varchar) as sku,
        cast(product_name as varchar) as product_name,
        cast(lower(trim(category)) as varchar) as category,
        {{ from_cents('unit_price_cents') }} as unit_price,
        cast(is_active as boolean) as is_active,
        cast(updated_at as timestamptz) as updated_at,
        cast(_ingested_at as timestamptz) as _ingested_at,
        cast(_batch_id as varchar) as _batch_id,
        cast(_source_file as varchar) as _source_file
    from source

),

changed as (

    {{ new_winners(
        'renamed',
        'product_id',
        'updated_at desc nulls last, _ingested_at desc, _source_file desc',
    ) }}

)

select * from changed
