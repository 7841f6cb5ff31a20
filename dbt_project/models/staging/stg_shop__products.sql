-- Silver products: the latest version of every product (updated_at, then _ingested_at, then
-- _source_file, all descending). Small: rebuilt whole on every build.
with

source as (

    select * from {{ source('bronze', 'products') }}

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

latest as (

    {{ latest_by_key(
        'renamed',
        'product_id',
        'updated_at desc nulls last, _ingested_at desc, _source_file desc',
    ) }}

)

select * from latest
