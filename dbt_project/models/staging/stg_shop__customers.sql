-- Silver customers: the latest version of every customer (updated_at, then _ingested_at, then
-- _source_file, all descending). Incremental merge by customer_id: reads only the bronze rows
-- committed since its last run (bronze_since).
{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}
with

source as (

    select * from {{ bronze_since(source('bronze', 'customers')) }}

),

renamed as (

    select
        cast(customer_id as bigint) as customer_id,
        cast(lower(trim(email)) as varchar) as email,
        cast(first_name as varchar) as first_name,
        cast(last_name as varchar) as last_name,
        cast(upper(trim(country_code)) as varchar) as country_code,
        cast(created_at as timestamptz) as created_at,
        cast(updated_at as timestamptz) as updated_at,
        cast(_ingested_at as timestamptz) as _ingested_at,
        cast(_batch_id as varchar) as _batch_id,
        cast(_source_file as varchar) as _source_file
    from source

),

changed as (

    {{ new_winners(
        'renamed',
        'customer_id',
        'updated_at desc nulls last, _ingested_at desc, _source_file desc',
    ) }}

)

select * from changed
