-- Silver payments: the latest version of every payment (updated_at, then _ingested_at, then
-- _source_file, all descending). Incremental merge by payment_id.
{{
    config(
        materialized='incremental',
        unique_key='payment_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
    )
}}

with

source as (

    select * from {{ bronze_since(source('bronze', 'payments')) }}

),

renamed as (

    select
        cast(payment_id as bigint) as payment_id,
        cast(order_id as bigint) as order_id,
        cast(lower(trim(payment_method)) as varchar) as payment_method,
        cast(lower(trim(status)) as varchar) as payment_status,
        {{ from_cents('amount_cents') }} as amount,
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
        'payment_id',
        'updated_at desc nulls last, _ingested_at desc, _source_file desc',
    ) }}

)

select * from changed
